"""Derivations made once from a submission: age, weeks, episode, ICD-10-CM codes."""

from datetime import date

import pytest

from eligibility.codes import compile_code_set, is_icd10cm, normalise_icd10cm
from eligibility.model import age_on, episode_of, weeks_between


@pytest.mark.parametrize(("birth", "as_of", "age"), [
    ("2008-11-02", "2026-11-02", 18),  # the 18th birthday itself
    ("2008-11-03", "2026-11-02", 17),  # the day before it
    ("2000-02-29", "2026-02-28", 25),  # a leap-day birthday is not reached on 28 February
    ("2000-02-29", "2026-03-01", 26),
])
def test_age_counts_whole_years_on_as_of(birth, as_of, age):
    assert age_on(date.fromisoformat(birth), date.fromisoformat(as_of)) == age


def test_weeks_between_dates_is_days_over_seven_to_one_decimal():
    assert weeks_between(date(2025, 9, 1), date(2025, 10, 27)) == 8.0
    assert weeks_between(date(2025, 9, 1), date(2025, 9, 11)) == 1.4


def test_a_trial_started_on_the_onset_belongs_to_the_current_episode():
    onset = date(2025, 8, 1)
    assert episode_of(date(2025, 8, 1), None, onset, ongoing=False)[0] == "current"
    assert episode_of(date(2025, 7, 1), date(2025, 7, 31), onset, ongoing=False)[0] == "previous"


def test_a_trial_active_during_the_episode_belongs_to_it_wherever_it_started():
    onset = date(2025, 8, 1)
    episode, basis = episode_of(date(2024, 1, 10), date(2025, 12, 1), onset, ongoing=False)
    assert episode == "current" and "2024-01-10" in basis and "2025-12-01" in basis
    assert episode_of(date(2024, 1, 10), None, onset, ongoing=True)[0] == "current"
    assert episode_of(date(2024, 1, 10), date(2025, 8, 1), onset, ongoing=False)[0] == "current"  # the onset day


def test_a_trial_started_before_the_onset_with_no_end_is_not_placed():
    episode, basis = episode_of(date(2024, 1, 10), None, date(2025, 8, 1), ongoing=False)
    assert episode is None and "no end_date" in basis


@pytest.mark.parametrize(("given", "normalised"), [
    ("F332", "F33.2"), ("f33.2", "F33.2"), (" F33.41 ", "F33.41"), ("F32A", "F32.A"), ("F31", "F31"),
])
def test_icd10cm_codes_are_normalised_with_their_dot(given, normalised):
    assert is_icd10cm(given)
    assert normalise_icd10cm(given) == normalised


@pytest.mark.parametrize("bad", ["depression", "F3", "332", "F33.22222", "FF3.2", ""])
def test_strings_outside_icd10cm_shape_are_refused(bad):
    assert not is_icd10cm(bad)


def test_code_sets_match_codes_categories_and_category_ranges():
    mdd = compile_code_set(["F32.0", "F33.4"])
    assert "F32.0" in mdd and "F33.41" in mdd and "F33.42" in mdd
    assert "F32.1" not in mdd and "F33.3" not in mdd
    psychotic = compile_code_set(["F31", "F20-F29"])
    assert "F31.81" in psychotic and "F20.9" in psychotic and "F25.0" in psychotic and "F29" in psychotic
    assert "F30.1" not in psychotic and "F32.3" not in psychotic and "E20.0" not in psychotic


def test_a_malformed_code_pattern_is_refused():
    with pytest.raises(ValueError, match="not an ICD-10-CM"):
        compile_code_set(["F33.2x"])
