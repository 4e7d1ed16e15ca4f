"""Builders shared by the tests: the shared examples and a classic treatment-resistant case."""

import json
from functools import cache
from pathlib import Path

from eligibility import load_library

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AS_OF = "2026-11-02"


@cache
def shared_library():
    """The library every test uses (policies register once per process anyway)."""
    return load_library()


def example(name: str) -> dict:
    """A sample submission from ``examples/``."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def classic() -> dict:
    """An adult with severe recurrent MDD and two failed adequate trials; every safety answer false."""
    return {
        "patient": {"age": 44},
        "current_episode": {"onset": "2025-08-01", "severity": "severe", "psychotic_features": False},
        "diagnoses": [{"code": "F33.2"}],
        "scales": [{"instrument": "phq-9", "score": 22, "date": "2026-10-20"}],
        "medication_trials": [
            {"drug": "sertraline", "daily_dose_mg": 150, "duration_weeks": 10, "episode": "current",
             "outcome": "no_response"},
            {"drug": "venlafaxine", "daily_dose_mg": 225, "duration_weeks": 8, "episode": "current",
             "outcome": "partial_response"},
        ],
        "safety": {"intracranial_metal": False, "cochlear_implant": False, "implanted_neurostimulator": False},
    }


def resolve(document, pointer: str):
    """Follow an RFC 6901 JSON Pointer into ``document``; raise ``KeyError`` if it leads nowhere."""
    node = document
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise KeyError(pointer)
    return node
