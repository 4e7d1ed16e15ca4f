"""How trials are judged under the readings of the corrected policy versions (catalogue 2026-12-01, tms@1.1).

Each test states one principle: a threshold the catalogue lacks is a question, not a "no"; the maximum is
the label's outpatient one for the formulation and age; a recorded response is not a failure; a trial
belongs to the episode it overlaps; an implant is judged by where it is; a disputed class is unknown.
"""

import pytest

from .support import classic, section, shared_library, summary_of

CATALOGUE, THERAPY = "2026-12-01", "tms@1.1"


def counts(parameters: dict) -> dict:
    return {"counts": {"ad": {"source": "medication_trials", "episodes": ["current"], **parameters}}}


MAXIMUM = counts({"roles": ["monotherapy"], "categories": ["antidepressant"], "min_weeks": 8,
                  "dose": "outpatient_maximum_or_tolerated", "response_above_percent": 50})
AUGMENTATION = counts({"roles": ["augmentation"], "min_weeks": 8, "dose": "adequate"})


def summary(document: dict, parameters: dict):
    return summary_of(shared_library(), document, parameters, catalogue=CATALOGUE, therapy=THERAPY)


def judged(parameters, *trials, **document):
    """((qualifying, possible), summary) of ``trials`` counted under ``parameters``."""
    s = summary({**classic(), "medication_trials": list(trials), **document}, parameters)
    ad = section(s, "ad")
    return (ad["count"], ad["possible"]), s


def trial(drug, dose, weeks=10, outcome="no_response", **more):
    return {"drug": drug, "daily_dose_mg": dose, "duration_weeks": weeks, "episode": "current", "outcome": outcome,
            **more}


@pytest.mark.parametrize(("item", "expected"), [
    (trial("venlafaxine", 225, formulation="er"), (1, 1)),   # ER's label maximum
    (trial("venlafaxine", 225), (1, 1)),                     # 225 is the outpatient maximum of IR and ER alike
    (trial("paroxetine", 50, formulation="ir"), (1, 1)),
    (trial("paroxetine", 50, formulation="er"), (0, 1)),     # CR goes to 62.5: tolerability decides
    (trial("desvenlafaxine", 50), (1, 1)),                   # the recommended dose is the label's ceiling
    (trial("trazodone", 400), (1, 1)),                       # 600 is for inpatients
    (trial("amitriptyline", 150), (1, 1)),
])
def test_the_maximum_is_what_an_outpatient_trial_can_reach(item, expected):
    assert judged(MAXIMUM, item)[0] == expected


def test_the_maximum_depends_on_the_patients_age():
    young, _ = judged(MAXIMUM, trial("citalopram", 20), patient={"age": 44})
    old, _ = judged(MAXIMUM, trial("citalopram", 20), patient={"age": 65})
    assert young == (0, 1) and old == (1, 1)


def test_an_unknown_formulation_is_asked_when_it_decides():
    (count, possible), s = judged(MAXIMUM, trial("paroxetine", 50))
    assert (count, possible) == (0, 1)
    assert "/medication_trials/0/formulation" in [p for p, _ in s.refs("@ad.missing")]


@pytest.mark.parametrize("drug", ["lithium"])
def test_a_missing_dose_threshold_is_a_question_not_a_no(drug):
    (count, possible), s = judged(AUGMENTATION, {**trial(drug, 900), "role": "augmentation"})
    assert (count, possible) == (0, 1)
    [(pointer, question)] = s.refs("@ad.missing")
    assert pointer == "/medication_trials/0/adequacy_attested" and "no sourced minimum adequate dose" in question
    attested, _ = judged(AUGMENTATION, {**trial(drug, 900), "role": "augmentation", "adequacy_attested": True})
    refused, _ = judged(AUGMENTATION, {**trial(drug, 900), "role": "augmentation", "adequacy_attested": False})
    assert attested == (1, 1) and refused == (0, 0)


def test_esketamine_without_a_threshold_is_unknown_not_failed():
    assert judged(MAXIMUM, trial("esketamine", 84, weeks=8))[0] == (0, 1)


@pytest.mark.parametrize(("outcome", "improvement", "expected"), [
    ("partial_response", 70, (0, 1)),  # the label says failure, the number says response: the clinician decides
    ("unknown", 70, (0, 0)),           # a response, not a failure
    ("no_response", 30, (1, 1)),       # both say failure
    ("response", 20, (0, 1)),          # the label says response, the number says otherwise
    ("response", 80, (0, 0)),
])
def test_a_response_is_not_a_failure(outcome, improvement, expected):
    assert judged(MAXIMUM, trial("sertraline", 200, outcome=outcome, improvement_percent=improvement))[0] == expected


def test_intolerance_counts_only_at_a_therapeutic_dose_where_the_policy_says_so():
    parameters = counts({"roles": ["monotherapy"], "intolerance_outcomes": ["intolerance"], "min_weeks": 6,
                         "dose": "adequate", "intolerance_dose": "adequate"})
    low, s = judged(parameters, trial("sertraline", 25, weeks=1, outcome="intolerance"))
    assert low == (0, 0) and "below the therapeutic dose of 50 mg/day" in s.text("ad.excluded")
    assert judged(parameters, trial("sertraline", 50, weeks=1, outcome="intolerance"))[0] == (1, 1)


def test_a_duration_left_to_the_physician_is_asked_below_the_reference():
    parameters = counts({"roles": ["monotherapy"], "min_weeks": 6, "dose": "adequate", "judged_by_physician": True})
    assert judged(parameters, trial("sertraline", 100, weeks=5))[0] == (0, 1)
    assert judged(parameters, trial("sertraline", 100, weeks=5, adequacy_attested=True))[0] == (1, 1)


def test_an_augmenting_agent_used_off_label_is_a_question_for_the_physician():
    olanzapine = {**trial("olanzapine", 10), "role": "augmentation"}
    assert judged(AUGMENTATION, {**olanzapine, "augments": "fluoxetine"})[0] == (1, 1)
    (count, possible), s = judged(AUGMENTATION, {**olanzapine, "augments": "sertraline"})
    assert (count, possible) == (0, 1) and "labelled as augmentation only with fluoxetine" in s.text("ad.undetermined")
    assert judged(AUGMENTATION, {**olanzapine, "augments": "sertraline", "adequacy_attested": False})[0] == (0, 0)
    assert judged(AUGMENTATION, olanzapine)[0] == (0, 1)


def test_a_dose_at_the_labelled_maximum_is_adequate_where_no_minimum_is_sourced():
    assert judged(counts({"dose": "adequate"}), trial("gepirone", 72.6))[0] == (1, 1)
    assert judged(counts({"dose": "adequate"}), trial("gepirone", 36.3), patient={"age": 40})[0] == (0, 1)


def test_a_trial_started_before_the_onset_counts_when_it_ran_into_the_episode():
    ran_in = {"drug": "sertraline", "daily_dose_mg": 200, "duration_weeks": 40, "start_date": "2025-01-10",
              "end_date": "2026-03-01", "outcome": "no_response"}  # classic(): onset 2025-08-01
    (count, _), s = judged(MAXIMUM, ran_in)
    assert count == 1 and "2025-01-10" in section_text(s)
    stated_previous = {**ran_in, "episode": "previous"}
    (count, possible), s = judged(MAXIMUM, stated_previous)
    assert (count, possible) == (0, 1) and "given as the previous episode" in s.refs("@ad.missing")[0][1]


def section_text(s) -> str:
    return s.text("ad.qualifying") + s.context.sub.medication_trials[0].episode_basis


@pytest.mark.parametrize(("pair", "fewest", "most"), [
    (("sertraline", "venlafaxine"), 2, 2),
    (("trazodone", "vortioxetine"), 1, 2),  # serotonin modulators by one grouping, SARI and multimodal by another
    (("sertraline", "escitalopram"), 1, 1),
])
def test_disputed_classes_make_the_class_count_a_range(pair, fewest, most):
    doses = {"sertraline": 200, "venlafaxine": 225, "trazodone": 400, "vortioxetine": 20, "escitalopram": 20}
    _, s = judged(MAXIMUM, *(trial(d, doses[d]) for d in pair))
    assert (section(s, "ad")["classes"], section(s, "ad")["classes_possible"]) == (fewest, most)


@pytest.mark.parametrize(("safety", "at_site", "elsewhere"), [
    ({"implants": [{"kind": "spinal_cord_stimulator", "location": "back"}]}, False, True),
    ({"implants": [{"kind": "spinal_cord_stimulator"}]}, False, True),       # where it is by definition
    ({"implants": [{"kind": "other_neurostimulator"}]}, None, None),          # location not given
    ({"implants": [{"kind": "deep_brain_stimulator"}]}, True, None),
    ({"implants": [{"kind": "vagus_nerve_stimulator"}]}, True, None),         # the lead is in the neck
    ({"implanted_neurostimulator": True}, None, None),                        # v1: where, not said
    ({"implanted_neurostimulator": False}, False, None),
    ({"implants": []}, False, None),                                          # a complete, empty list
    ({}, None, None),                                                         # not screened
])
def test_a_neurostimulator_is_judged_by_where_it_is(safety, at_site, elsewhere):
    s = summary({**classic(), "safety": safety}, {})
    assert s.value("implant.neurostimulator.at_site") is at_site
    assert s.value("implant.neurostimulator.elsewhere") is elsewhere


def test_intracranial_metal_stays_at_the_site_without_a_location():
    s = summary({**classic(), "safety": {"intracranial_metal": True}}, {})
    assert s.value("implant.metal.at_site") is True and s.refs("@implant.metal") == ["/safety/intracranial_metal"]


def test_a_disputed_scale_band_is_unknown_between_its_readings():
    parameters = {"scales": {"severity": {"window_days": 90, "thresholds": {"hamd-17": [19, 24]}}}}

    def reaches(score):
        document = {**classic(), "scales": [{"instrument": "hamd-17", "score": score, "date": "2026-10-20"}]}
        return summary(document, parameters).value("scale.severity.reaches")

    assert (reaches(24), reaches(22), reaches(18)) == (True, None, False)


def test_sessions_not_stated_are_not_36_under_the_v1_1_reading():
    document = {**classic(), "request": {"kind": "initial"}}
    v11 = summary(document, {})
    v1 = summary_of(shared_library(), document, {}, therapy="tms@1")
    assert v11.value("request.sessions") is None and v1.value("request.sessions") == 36
    assert v11.value("request.protocol") == v1.value("request.protocol") == "rtms_10hz"


@pytest.mark.parametrize(("onset", "as_of", "years"), [
    ("2023-04-03", "2028-04-03", 5.0),        # exactly five calendar years, two leap days between
    ("2023-04-03", "2028-04-04", 5.0027),     # a day more
    ("2023-04-04", "2028-04-03", 4.9973),
    ("2024-02-29", "2029-02-28", 5.0),        # a leap-day onset reaches its anniversary on 28 February
])
def test_the_episode_age_counts_calendar_years(onset, as_of, years):
    document = {**classic(), "as_of": as_of, "current_episode": {"onset": onset}}
    assert summary(document, {}).value("episode.onset_years") == years


def test_a_floor_below_the_physicians_judgement_is_never_adequate():
    therapy = {"counts": {"ad": {"source": "psychotherapy_trials", "episodes": ["current"], "min_sessions": 8,
                                 "judged_by_physician": True, "floor_sessions": 6}}}

    def psychotherapy(sessions, **more):
        document = {**classic(), "psychotherapy_trials": [
            {"modality": "cbt", "sessions": sessions, "episode": "current", "outcome": "no_response", **more}]}
        ad = section(summary(document, therapy), "ad")
        return ad["count"], ad["possible"]

    assert psychotherapy(1) == (0, 0)                               # below the floor: not adequate
    assert psychotherapy(6) == (0, 1)                               # the physician judges between
    assert psychotherapy(6, adequacy_attested=True) == (1, 1)
    assert psychotherapy(12) == (1, 1)
    assert psychotherapy(12, adequacy_attested=False) == (0, 0)     # their "not adequate" stands


def test_a_class_only_another_grouping_names_is_undecided():
    parameters = counts({"classes": ["ssri", "snri"], "dose": "adequate", "min_weeks": 6})
    assert judged(parameters, trial("vilazodone", 40))[0] == (0, 1)   # SPARI, or an SSRI by another grouping
    assert judged(parameters, trial("mirtazapine", 45))[0] == (0, 0)


def test_a_device_with_a_part_in_the_head_is_at_the_site_wherever_its_generator_is():
    s = summary({**classic(), "safety": {"implants": [{"kind": "deep_brain_stimulator", "location": "chest"}]}}, {})
    assert s.value("implant.neurostimulator.at_site") is True
    s = summary({**classic(), "safety": {"implants": [{"kind": "ocular_implant"}]}}, {})
    assert s.value("implant.metal.at_site") is True


@pytest.mark.parametrize("safety", [
    {"cochlear_implant": True, "implants": []},                                       # yes, but the list is empty
    {"implanted_neurostimulator": False, "implants": [{"kind": "deep_brain_stimulator"}]},  # no, but one is listed
])
def test_a_screen_answer_the_implant_list_contradicts_is_unknown(safety):
    group = "cochlear" if "cochlear_implant" in safety else "neurostimulator"
    s = summary({**classic(), "safety": safety}, {})
    assert s.value(f"implant.{group}.at_site") is None and "disagree" not in s.text(f"implant.{group}.text")
    assert "but the implant list" in s.text(f"implant.{group}.text")
