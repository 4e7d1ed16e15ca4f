"""A therapy is data: a test-only therapy with its own policy loads, evaluates, checks and is compared
with no TMS declaration, no TMS policy and no change to the engine (``tests/therapy_fixture``)."""

import shutil
from pathlib import Path

import pytest

from eligibility import InvalidSubmission, load_library
from eligibility.checks import check_policy
from eligibility.comparison import comparison_markdown
from eligibility.library import CATALOGUE_DIR, rules_dir

FIXTURE = Path(__file__).resolve().parent / "therapy_fixture"


@pytest.fixture(scope="module")
def light_rules(tmp_path_factory) -> Path:
    """A rules directory holding the catalogues and the light-therapy fixture, and nothing of TMS."""
    rules = tmp_path_factory.mktemp("rules")
    shutil.copytree(rules_dir() / CATALOGUE_DIR, rules / CATALOGUE_DIR)
    shutil.copytree(FIXTURE, rules, dirs_exist_ok=True)
    return rules


@pytest.fixture(scope="module")
def light(light_rules):
    return load_library(light_rules, default_policies=("light-demo",))


def document(**more) -> dict:
    return {"as_of": "2026-12-01", "patient": {"age": 40}, "diagnoses": [{"code": "F33.1"}],
            "medication_trials": [{"drug": "sertraline", "daily_dose_mg": 100, "duration_weeks": 6,
                                   "episode": "current", "outcome": "no_response"}],
            "safety": {"retinal_disease": False}, **more}


def test_a_library_of_another_therapy_loads_without_tms(light):
    assert list(light.therapies) == ["light@1"] and list(light.policies) == ["light-demo"]


def test_it_evaluates_with_its_own_safety_screen_and_request_defaults(light):
    result = light.evaluate(light.load(document(safety={"retinal_disease": True, "photosensitising_medication": True})))
    light_result = result.result("light-demo")
    assert light_result.determination == "contraindicated"
    assert light_result.criterion("no-retinal-disease").evidence == ("/safety/retinal_disease",)
    assert light_result.cautions[0].detail == "A photosensitising medication is taken (light 10000 lux requested)."


def test_its_submission_refuses_the_other_therapys_fields(light):
    with pytest.raises(InvalidSubmission) as refused:
        light.load(document(safety={"intracranial_metal": False}))
    assert "/safety/intracranial_metal" in refused.value.errors
    with pytest.raises(InvalidSubmission) as refused:
        light.load(document(request={"protocol": "rtms_10hz"}))
    assert "/request/protocol" in refused.value.errors


def test_its_cases_pass_and_exercise_every_rule(light):
    report = check_policy(light, light.policy("light-demo"))
    assert report.ok, [c.failures for c in report.cases if c.failures] + report.unexercised


def test_the_comparison_names_the_therapy(light):
    markdown = comparison_markdown(light.policies.values(), first=light.default_policies)
    assert markdown.startswith("# Light therapy policies side by side")
    assert "`light-demo`" in markdown and "No retinal disease" in markdown
