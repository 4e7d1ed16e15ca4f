"""The summary fact: counts under a policy's parameters, scale selection and the words of reasons."""

import copy
import json

import pytest

from eligibility import InvalidPolicy
from eligibility.facts import FactSpec, summarise
from eligibility.library import rules_dir
from eligibility.policy import compile_policy

from .support import AS_OF, classic, section, summary_of

ANTIDEPRESSANTS = {"counts": {"ad": {
    "source": "medication_trials", "episodes": ["current"], "roles": ["monotherapy"], "categories": ["antidepressant"],
    "intolerance_outcomes": ["intolerance"], "min_weeks": 6, "dose": "maximum_labelled_or_tolerated",
    "min_adherence_percent": 80}}}


def trials(*items):
    return {**classic(), "medication_trials": list(items)}


def test_counts_separate_qualifying_from_possible_trials(library):
    s = summary_of(library, trials(
        {"drug": "sertraline", "daily_dose_mg": 200, "duration_weeks": 6, "episode": "current",
         "outcome": "no_response", "adherence_percent": 80},                          # qualifies (at the maximum)
        {"drug": "venlafaxine", "daily_dose_mg": 225, "duration_weeks": 8, "episode": "current",
         "outcome": "no_response", "adherence_percent": 95},                          # below 375: tolerability unknown
        {"drug": "bupropion", "daily_dose_mg": 450, "duration_weeks": 5.9, "episode": "current",
         "outcome": "no_response", "adherence_percent": 95},                          # too short
    ), ANTIDEPRESSANTS)
    assert section(s, "ad") == {"listed": True, "count": 1, "possible": 2, "classes": 1, "classes_possible": 2}
    assert "5.9 weeks is short of 6" in s.text("ad.excluded")
    assert s.refs("@ad.missing") == [("/medication_trials/1/dose_limited_by_tolerability",
                                      "whether 225 mg/day (below the maximum labelled dose of 375 mg/day) was the "
                                      "highest tolerated dose")]


@pytest.mark.parametrize(("adherence", "counts"), [(79, 0), (80, 1), (None, 0)])
def test_adherence_is_a_threshold_when_the_policy_sets_one(library, adherence, counts):
    trial = {"drug": "sertraline", "daily_dose_mg": 200, "duration_weeks": 8, "episode": "current",
             "outcome": "no_response", "adherence_percent": adherence}
    s = summary_of(library, trials({k: v for k, v in trial.items() if v is not None}), ANTIDEPRESSANTS)
    assert section(s, "ad")["count"] == counts
    assert section(s, "ad")["possible"] == (1 if adherence != 79 else 0)


def test_a_tolerability_limited_dose_counts_as_the_maximum_tolerated(library):
    trial = {"drug": "venlafaxine", "daily_dose_mg": 150, "duration_weeks": 8, "episode": "current",
             "outcome": "no_response", "adherence_percent": 90, "dose_limited_by_tolerability": True}
    assert section(summary_of(library, trials(trial), ANTIDEPRESSANTS), "ad")["count"] == 1
    below_minimum = {**trial, "daily_dose_mg": 75}
    assert section(summary_of(library, trials(below_minimum), ANTIDEPRESSANTS), "ad")["possible"] == 0


def test_an_unknown_outcome_may_still_be_intolerance(library):
    trial = {"drug": "sertraline", "daily_dose_mg": 25, "duration_weeks": 1, "episode": "current"}
    s = summary_of(library, trials(trial), ANTIDEPRESSANTS)
    assert (section(s, "ad")["count"], section(s, "ad")["possible"]) == (0, 1)


def test_a_list_not_given_is_not_an_empty_list(library):
    s = summary_of(library, {**classic(), "medication_trials": None}, ANTIDEPRESSANTS)
    assert section(s, "ad") == {"listed": False}
    assert s.refs("@ad.missing")[0][0] == "/medication_trials"
    assert section(summary_of(library, trials(), ANTIDEPRESSANTS), "ad")["possible"] == 0


SCORES = {**classic(), "current_episode": {}, "scales": [
    {"instrument": "phq-9", "score": 14, "date": "2026-09-01"},
    {"instrument": "phq-9", "score": 22, "date": "2026-10-20"},
    {"instrument": "phq-9", "score": 12, "date": "2026-01-02"}]}


@pytest.mark.parametrize(("select", "score"), [(None, 22), ("latest", 22), ("lowest", 14)])
def test_a_scale_reads_the_latest_or_the_lowest_score_in_its_window(library, select, score):
    scale = {"window_days": 90, "thresholds": {"phq-9": 15}} | ({"select": select} if select else {})
    s = summary_of(library, SCORES, {"scales": {"phq9": scale}})
    assert section(s, "scale.phq9")["score"] == score and section(s, "scale.phq9")["in_window"] == 2


def test_a_scale_selection_must_be_known():
    with pytest.raises(ValueError, match=r"select: must be one of \['latest', 'lowest'\]"):
        FactSpec.parse({"scales": {"phq9": {"window_days": 90, "thresholds": {"phq-9": 15}, "select": "mean"}}})


def test_the_asserted_fact_holds_only_the_fields_the_rules_test(library):
    policy = library.policy("tms-clinical")
    s = summarise(library.load({"as_of": AS_OF, **classic()}), policy, library.catalogue)

    def paths(node, prefix=""):
        for key, value in node.items():
            yield from paths(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]

    assert set(paths(s.fact)) - {"t"} <= policy.fact_fields


def test_every_fact_value_a_reason_may_name_is_printed(library):
    policy = library.policy("tms-clinical")
    document = {**classic(), "current_episode": {**classic()["current_episode"], "ect_candidate": True},
                "patient": {"age": 44, "sex": "female", "pregnant": False}}
    s = summarise(library.load({"as_of": AS_OF, **document}), policy, library.catalogue, every_field=True)
    assert s.text("episode.ect_candidate") == "yes" and s.text("pregnant") == "no"
    assert s.text("safety.intracranial_metal") == "no" and s.text("sex") == "female"
    assert s.text("antidepressants.count") == "2" and s.text("episode.severity") == "severe"
    assert s.text("safety.seizure_history") == "not given"
    assert s.text("scale.severity.text") == "PHQ-9 22 on 2026-10-20"


@pytest.fixture
def clinical():
    return json.loads((rules_dir() / "tms-clinical" / "1.0.0.json").read_text())


def test_titles_may_name_parameters(clinical):
    document = copy.deepcopy(clinical)
    age = next(c for c in document["criteria"] if c["id"] == "age")
    age["title"] = "Age {param.adult_age} or over, or {param.adolescent_min_age} to 17 as adjunct treatment"
    criterion = next(c for c in compile_policy(document).criteria if c.id == "age")
    assert criterion.title == "Age 18 or over, or 15 to 17 as adjunct treatment" == criterion.leaves[0].title


def test_a_title_may_not_name_a_patients_fact(clinical):
    index = next(i for i, c in enumerate(clinical["criteria"]) if c["id"] == "age")
    clinical["criteria"][index]["title"] = "Age {age}"
    with pytest.raises(InvalidPolicy, match=rf"/criteria/{index}/title: unknown placeholder"):
        compile_policy(clinical, "x.json")
