"""Validation of submissions: every problem reported at once, keyed by JSON Pointer."""

from datetime import date

import pytest

from eligibility import InvalidSubmission

from .support import classic, example

TODAY = date(2026, 11, 2)


def problems(library, document) -> dict:
    with pytest.raises(InvalidSubmission) as caught:
        library.load(document, today=TODAY)
    return caught.value.errors


def test_the_invalid_example_lists_all_five_problems_by_pointer(library):
    errors = problems(library, example("invalid"))
    assert set(errors) == {"/patient/age", "/diagnoses/0/code", "/scales/0/score", "/medication_trials/0/dose",
                           "/favourite_colour"}
    assert all(errors.values())


def test_patient_is_required_but_may_be_empty(library):
    assert "/patient" in problems(library, {})
    assert library.load({"patient": {}}, today=TODAY).patient.age is None


@pytest.mark.parametrize(("patch", "pointer"), [
    ({"scales": [{"instrument": "phq-9", "score": 12, "date": "2026-11-03"}]}, "/scales/0/date"),
    ({"current_episode": {"onset": "2027-01-01"}}, "/current_episode/onset"),
    ({"patient": {"birth_date": "2027-01-01"}}, "/patient/birth_date"),
    ({"medication_trials": [{"drug": "sertraline", "start_date": "2026-12-01"}]}, "/medication_trials/0/start_date"),
    ({"tms_courses": [{"end_date": "2026-12-01"}]}, "/tms_courses/0/end_date"),
])
def test_dates_after_as_of_are_refused(library, patch, pointer):
    assert pointer in problems(library, {**classic(), **patch})


def test_an_end_before_its_start_is_refused(library):
    trial = {"drug": "sertraline", "start_date": "2026-05-01", "end_date": "2026-04-01"}
    assert "/medication_trials/0/end_date" in problems(library, {**classic(), "medication_trials": [trial]})


def test_age_and_birth_date_must_agree_on_as_of(library):
    errors = problems(library, {"patient": {"age": 30, "birth_date": "1971-03-14"}})
    assert "55" in errors["/patient/age"][0]
    assert library.load({"patient": {"age": 55, "birth_date": "1971-03-14"}}, today=TODAY).patient.age == 55


@pytest.mark.parametrize(("trial", "pointer"), [
    ({"drug": "sertraline", "daily_dose_mg": 0}, "/medication_trials/0/daily_dose_mg"),
    ({"drug": "sertraline", "duration_weeks": -1}, "/medication_trials/0/duration_weeks"),
    ({"drug": "sertraline", "adherence_percent": 101}, "/medication_trials/0/adherence_percent"),
    ({"drug": "sertraline", "outcome": "cured"}, "/medication_trials/0/outcome"),
    ({"daily_dose_mg": 50}, "/medication_trials/0"),
    ({"rxnorm": "RX123"}, "/medication_trials/0/rxnorm"),
    ({"drug": "sertraline", "rxnorm": "15996"}, "/medication_trials/0/rxnorm"),
    ({"drug": "sertraline", "daily_dose_mg": "50"}, "/medication_trials/0/daily_dose_mg"),
    ({"drug": "sertraline", "dose_limited_by_tolerability": "yes"},
     "/medication_trials/0/dose_limited_by_tolerability"),
])
def test_bad_trial_fields_are_refused_at_their_pointer(library, trial, pointer):
    assert pointer in problems(library, {**classic(), "medication_trials": [trial]})


def test_a_trial_naming_only_an_rxcui_is_accepted(library):
    submission = library.load({**classic(), "medication_trials": [{"rxnorm": "15996"}]}, today=TODAY)
    assert submission.medication_trials[0].drug.name == "mirtazapine"


def test_an_unknown_drug_is_kept_not_refused(library):
    submission = library.load({**classic(), "medication_trials": [{"drug": "notadrugamine"}]}, today=TODAY)
    assert submission.medication_trials[0].drug is None


@pytest.mark.parametrize(("instrument", "score", "ok"), [
    ("phq-9", 27, True), ("phq-9", 28, False), ("cgi-s", 0, False), ("cgi-s", 7, True), ("madrs", 60, True),
])
def test_scores_must_fall_inside_their_instrument_range(library, instrument, score, ok):
    document = {**classic(), "scales": [{"instrument": instrument, "score": score, "date": "2026-10-01"}]}
    if ok:
        library.load(document, today=TODAY)
    else:
        assert "/scales/0/score" in problems(library, document)


def test_unknown_and_duplicate_policies_are_refused(library):
    errors = problems(library, {**classic(), "policies": ["tms-clinical", "no-such-policy", "tms-clinical"]})
    assert set(errors) == {"/policies/1", "/policies/2"}


def test_arrays_over_their_limit_are_refused(library):
    scales = [{"instrument": "phq-9", "score": 12, "date": "2026-10-01"}] * 201
    assert "/scales" in problems(library, {**classic(), "scales": scales})


def test_non_finite_numbers_are_refused(library):
    document = {**classic(), "scales": [{"instrument": "phq-9", "score": float("nan"), "date": "2026-10-01"}]}
    assert "/scales/0/score" in problems(library, document)


def test_null_means_not_known(library):
    submission = library.load({"patient": {"age": None}, "diagnoses": None, "safety": {"cochlear_implant": None}},
                              today=TODAY)
    assert submission.patient.age is None and submission.diagnoses is None
    assert submission.safety.cochlear_implant is None


def test_a_document_that_is_not_an_object_is_refused(library):
    assert "" in problems(library, ["not", "an", "object"])


def test_derivations_happen_once_at_load(library):
    document = {**classic(), "patient": {"birth_date": "1971-03-14"},
                "medication_trials": [{"drug": "duloxetine", "start_date": "2025-09-01", "end_date": "2025-10-27"}]}
    submission = library.load(document, today=TODAY)
    assert (submission.patient.age, submission.patient.age_source) == (55, "birth_date")
    trial = submission.medication_trials[0]
    assert (trial.duration_weeks, trial.weeks_source, trial.episode, trial.episode_source) == (8.0, "dates",
                                                                                               "current", "dates")
    assert submission.diagnoses[0].code == "F33.2"


def test_an_oversized_list_is_refused_without_reading_its_items(library):
    errors = problems(library, {"patient": {}, "psychotherapy_trials": [{}] * 10_000})
    assert errors == {"/psychotherapy_trials": ["Length must be between 0 and 50."]}


@pytest.mark.parametrize("number", [10**400, -(10**400), 1e308 * 10])
def test_numbers_too_large_for_a_float_are_refused(library, number):
    document = {"patient": {}, "scales": [{"instrument": "phq-9", "score": number, "date": "2026-10-01"}]}
    assert "/scales/0/score" in problems(library, document)


def test_the_schema_is_built_once_per_library(library):
    assert library.schema() is library.schema()
