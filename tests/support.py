"""Builders shared by the tests: the shared examples and classic treatment-resistant cases."""

import json
import shutil
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from eligibility import load_library

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AS_OF = "2026-11-02"


def copy_rules_base(target: Path) -> Path:
    """Make ``target`` a rules directory without policies: the drug catalogues and the therapies."""
    from eligibility.library import CATALOGUE_DIR, rules_dir
    from eligibility.therapy import THERAPIES_DIR

    for folder in (CATALOGUE_DIR, THERAPIES_DIR):
        shutil.copytree(rules_dir() / folder, Path(target) / folder)
    return Path(target)


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


# The classic treatment-resistant case that meets every policy, written out here rather than taken from a
# policy file. It states the TMS history (none), which a description of the case could leave implicit.
CLASSIC = {
    "as_of": "2026-11-02",
    "patient": {"age": 44},
    "current_episode": {"onset": "2025-11-01", "severity": "severe", "psychotic_features": False, "catatonia": False},
    "diagnoses": [{"code": "F33.2"}],
    "scales": [{"instrument": "phq-9", "score": 19, "date": "2026-10-02"},
               {"instrument": "phq-9", "score": 22, "date": "2026-10-26"}],
    "medication_trials": [
        {"drug": "escitalopram", "daily_dose_mg": 20, "duration_weeks": 8, "episode": "current",
         "outcome": "no_response", "adherence_percent": 90},
        {"drug": "venlafaxine", "daily_dose_mg": 375, "duration_weeks": 10, "episode": "current",
         "outcome": "partial_response", "adherence_percent": 90},
        {"drug": "aripiprazole", "daily_dose_mg": 5, "duration_weeks": 8, "episode": "current", "role": "augmentation",
         "outcome": "no_response", "adherence_percent": 90},
    ],
    "psychotherapy_trials": [{"modality": "cbt", "sessions": 16, "duration_weeks": 16, "episode": "current",
                              "outcome": "no_response"}],
    "tms_courses": [],  # no earlier TMS: Noridian tells a new course (20 + 5) from an extension (10 + 6) by it
    "safety": {field: False for field in (
        "intracranial_metal", "cochlear_implant", "implanted_neurostimulator", "cardiac_device", "seizure_history",
        "neurological_condition", "active_suicidal_intent", "substance_use_past_90_days",
        "ketamine_or_esketamine_current")},
    "request": {"kind": "initial", "protocol": "rtms_10hz", "sessions": 25},
    "ordering_clinician": {"role": "psychiatrist"},
}


def contract_determination(criteria) -> str:
    """The contract's precedence, spelled out independently of the engine's ``determine``, over
    (kind, status) pairs as they appear on the wire."""
    pairs = [(str(kind), str(status)) for kind, status in criteria]
    if any(kind == "contraindication" and status == "not_met" for kind, status in pairs):
        return "contraindicated"
    if any(status == "not_met" for _, status in pairs):
        return "does_not_meet_criteria"
    if any(status == "unknown" for _, status in pairs):
        return "insufficient_information"
    return "meets_criteria"


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


# -- summaries under a policy's parameters alone (tests of the facts) ------------------------------------

FIRST_CATALOGUE = "2026-11-25"  # the catalogue the first dose rules were written against


def summary_of(library, document, parameters, catalogue=FIRST_CATALOGUE, therapy="tms@1"):
    """The summary under a policy reading only ``parameters``, the named catalogue version and therapy."""
    from eligibility.facts import FactSpec, registry, summarise

    spec, therapy = FactSpec.parse(parameters), library.therapies[therapy]
    policy = SimpleNamespace(facts=spec, therapy=therapy, registry=registry(spec, therapy), fact_fields=None)
    return summarise(library.load({"as_of": AS_OF, **document}), policy, library.catalogues[catalogue],
                     every_field=True)


def section(summary, prefix: str) -> dict:
    """The summary's fields under ``prefix`` (``ad`` gives count, possible, ...)."""
    return {k[len(prefix) + 1:]: v for k, v in summary.values.items() if k.startswith(prefix + ".")}
