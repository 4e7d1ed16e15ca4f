"""Generic engine extensions made for the payer policies (issue 7), each tested on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eligibility import InvalidPolicy, load_library
from eligibility.facts import FactSpec, summarise
from eligibility.policy import compile_policy

CLASSIC = Path(__file__).resolve().parents[1].parent / "shared" / "examples" / "classic-trd.json"

FULL = {
    "as_of": "2026-11-02",
    "patient": {"age": 44, "sex": "female", "pregnant": False},
    "current_episode": {"onset": "2025-08-01", "severity": "severe", "psychotic_features": False, "catatonia": False,
                        "ect_candidate": True},
    "diagnoses": [{"code": "F33.2"}],
    "scales": [{"instrument": "phq-9", "score": 22, "date": "2026-10-20"}],
    "medication_trials": [{"drug": "sertraline", "daily_dose_mg": 150, "duration_weeks": 10, "episode": "current",
                           "outcome": "no_response"}],
    "psychotherapy_trials": [],
    "safety": {"intracranial_metal": False, "cochlear_implant": False},
    "ordering_clinician": {"role": "psychiatrist"},
}


@pytest.fixture(scope="module")
def library():
    return load_library()


def _flatten(node, prefix=""):
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, f"{path}.")
        else:
            yield path, value


def test_every_fact_value_a_template_may_name_is_rendered(library):
    """A placeholder the vocabulary allows must print the fact's value, never 'not given', when it is known."""
    policy = library.policy("tms-clinical")
    summary = summarise(library.load(FULL), policy.facts, library.catalogue)
    vocabulary = policy.facts.vocabulary()
    named = {path for path, _ in _flatten(summary.fact)} & vocabulary
    assert {"age", "sex", "pregnant", "episode.severity", "episode.onset_days", "episode.ect_candidate",
            "safety.intracranial_metal", "antidepressants.count", "antidepressants.classes"} <= named
    assert not [name for name in named if name not in summary.text]
    assert summary.text["episode.severity"] == "severe"
    assert summary.text["episode.ect_candidate"] == "yes"
    assert summary.text["antidepressants.count"] == "1"


def test_stated_severity_is_named_in_the_reason(library):
    document = json.loads(CLASSIC.read_text(encoding="utf-8"))
    result = library.evaluate(library.load(document)).result("tms-clinical")
    severity = next(c for c in result["criteria"] if c["id"] == "severity")
    assert severity["reason"].startswith("The current episode's stated severity is severe;")


SCORES = {**FULL, "scales": [{"instrument": "phq-9", "score": 14, "date": "2026-09-01"},
                             {"instrument": "phq-9", "score": 22, "date": "2026-10-20"},
                             {"instrument": "phq-9", "score": 12, "date": "2026-01-02"}]}


@pytest.mark.parametrize(("select", "score"), [(None, 22), ("latest", 22), ("lowest", 14)])
def test_scale_select_latest_or_lowest_within_the_window(library, select, score):
    """'lowest' reads 'persistently at least': the worst score inside the window decides (the one
    from January is outside the 90 days)."""
    scale = {"window_days": 90, "thresholds": {"phq-9": 15}} | ({"select": select} if select else {})
    spec = FactSpec.parse({"scales": {"phq9": scale}})
    summary = summarise(library.load(SCORES), spec, library.catalogue)
    assert summary.fact["scale"]["phq9"]["score"] == score
    assert summary.fact["scale"]["phq9"]["in_window"] == 2


def test_scale_select_must_be_known():
    with pytest.raises(ValueError, match=r"parameters.scales.phq9.select: must be one of \['latest', 'lowest'\]"):
        FactSpec.parse({"scales": {"phq9": {"window_days": 90, "thresholds": {"phq-9": 15}, "select": "mean"}}})


def _clinical_document() -> dict:
    path = Path(__file__).resolve().parents[1] / "rules" / "tms-clinical" / "1.0.0.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_titles_fill_parameter_placeholders_at_load():
    document = _clinical_document()
    age = next(c for c in document["criteria"] if c["id"] == "age")
    age["title"] = "Age {param.adult_age} or over, or {param.adolescent_min_age} to 17 as adjunct treatment"
    policy = compile_policy(document)
    criterion = next(c for c in policy.criteria if c.id == "age")
    assert criterion.title == "Age 18 or over, or 15 to 17 as adjunct treatment"
    assert criterion.leaves[0].title == criterion.title


def test_a_title_may_not_name_a_fact():
    document = _clinical_document()
    index = next(i for i, c in enumerate(document["criteria"]) if c["id"] == "age")
    document["criteria"][index]["title"] = "Age {age}"
    with pytest.raises(InvalidPolicy, match=rf"/criteria/{index}/title: unknown placeholder \{{age\}}"):
        compile_policy(document, "x.json")


def test_a_schema_alternative_says_why_each_branch_failed():
    """A parameter object without sources matches neither form; the message must say what is missing."""
    document = _clinical_document()
    del document["parameters"]["adult_age"]["sources"]
    with pytest.raises(InvalidPolicy, match=r"/parameters/adult_age: .*'sources' is a required property"):
        compile_policy(document, "x.json")
