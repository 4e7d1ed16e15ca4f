"""The domain's course monitoring (eligibility.courses): progress, every status and alert at its boundaries, what a
course refuses, and the submission of its next step."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from eligibility.courses import (
    ALERT_CODES,
    REMISSION,
    AdverseEvent,
    Course,
    CourseEnd,
    Rating,
    Session,
    alerts,
    check_end,
    check_new_course,
    check_record,
    improvement,
    next_submission,
    progress,
    remission_cut_off,
)

START = date(2026, 12, 1)


def day(n: int) -> date:
    return START + timedelta(days=n)


def course(baseline=("phq-9", 20), *, planned=30, taper=6, **more) -> Course:
    instrument, score = baseline
    return Course(START, planned, Rating(instrument, score, day(-1)), taper_sessions=taper, protocol="rtms_10hz",
                  **more)


def rated(c: Course, *scores, instrument=None, every=7, **more) -> Course:
    """``c`` with ratings of ``scores`` (on the baseline's instrument unless given), the n-th on day ``every`` × n."""
    n = len(c.ratings)
    new = tuple(Rating(instrument or c.baseline.instrument, s, day(every * (n + i + 1)), seq=n + i + 1, **more)
                for i, s in enumerate(scores))
    return replace(c, ratings=c.ratings + new)


def sessions(c: Course, count: int, *, first=0, completed=True) -> Course:
    new = tuple(Session(day(first + i), completed, seq=len(c.sessions) + i + 1) for i in range(count))
    return replace(c, sessions=c.sessions + new)


def event(c: Course, kind: str, when: int, severity="moderate", action="none") -> Course:
    return replace(c, adverse_events=c.adverse_events + (AdverseEvent(day(when), kind, severity, action,
                                                                      seq=len(c.adverse_events) + 1),))


def codes(c: Course) -> list[str]:
    return [a.code for a in alerts(c)]


# -- progress ---------------------------------------------------------------------------------------------------

def test_a_new_course_has_everything_to_give_and_nothing_known_of_its_response():
    p = progress(course())
    assert p.to_wire() == {"sessions_delivered": 0, "sessions_planned": 36, "sessions_remaining": 36, "latest": None,
                           "improvement_percent": None, "response": None, "remission": None, "status": "unknown"}
    assert alerts(course()) == ()


def test_sessions_delivered_count_completed_sessions_and_remaining_never_goes_below_zero():
    c = sessions(course(planned=2, taper=1), 2)
    c = sessions(c, 1, first=2, completed=False)
    assert (progress(c).sessions_delivered, progress(c).sessions_remaining) == (2, 1)
    c = sessions(c, 3, first=3)
    assert (progress(c).sessions_delivered, progress(c).sessions_planned, progress(c).sessions_remaining) == (5, 3, 0)


@pytest.mark.parametrize(("latest", "percent", "response", "status"), [
    (10, 50.0, True, "responding"),  # 50.0 %: a response
    (10.02, 49.9, False, "partial"),  # 49.9 %
    (15, 25.0, False, "partial"),
    (15.02, 24.9, False, "no_change"),
    (24, -20.0, False, "worsening"),
    (23.98, -19.9, False, "no_change"),
    (20, 0.0, False, "no_change"),
])
def test_improvement_response_and_the_status_bands_at_their_boundaries(latest, percent, response, status):
    p = progress(rated(course(("bdi-ii", 20)), latest))  # BDI-II: no remission cut-off to get in the way
    assert (p.improvement_percent, p.response, p.status) == (percent, response, status)
    assert p.remission is None


def test_improvement_is_rounded_to_one_decimal_half_away_from_zero():
    assert improvement(22, 6) == 72.7
    assert improvement(22, 18) == 18.2
    assert improvement(8, 7.99) == 0.1  # 0.125 -> 0.1
    assert improvement(40, 39.98) == 0.1  # 0.05 -> 0.1 (half up, not to even)
    assert improvement(40, 40.02) == -0.1
    assert improvement(0, 3) is None


@pytest.mark.parametrize(("instrument", "baseline", "at", "above"), [
    ("phq-9", 22, 4, 5), ("hamd-17", 24, 7, 8), ("qids-sr16", 18, 5, 6), ("madrs", 34, 10, 11)])
def test_remission_at_each_instruments_cut_off(instrument, baseline, at, above):
    assert progress(rated(course((instrument, baseline)), at)).remission is True
    assert progress(rated(course((instrument, baseline)), at)).status == "remitted"
    assert progress(rated(course((instrument, baseline)), above)).remission is False
    assert REMISSION[instrument].at_most == at and REMISSION[instrument].sources


@pytest.mark.parametrize("instrument", ["hamd-24", "bdi-ii", "ids-c30", "cgi-s"])
def test_an_instrument_without_a_sourced_cut_off_has_no_remission(instrument):
    p = progress(rated(course((instrument, 6)), 1))
    assert remission_cut_off(instrument) is None
    assert (p.remission, p.response, p.status) == (None, True, "responding")


def test_latest_is_the_latest_rating_on_the_baseline_scale_by_date_then_as_recorded():
    c = rated(course(), 12)  # day 7
    c = replace(c, ratings=c.ratings + (Rating("phq-9", 9, day(7), seq=5), Rating("madrs", 3, day(30), seq=6),
                                        Rating("phq-9", 15, day(3), seq=7)))
    p = progress(c)
    assert p.latest.to_wire() == {"instrument": "phq-9", "score": 9, "date": day(7).isoformat()}
    assert p.improvement_percent == 55.0


def test_the_worked_example_of_the_contract_22_18_13_9_6():
    c = rated(sessions(course(("phq-9", 22)), 25), 18, 13, 9, 6)
    p = progress(c)
    assert (p.improvement_percent, p.response, p.remission, p.status) == (72.7, True, False, "responding")
    assert progress(rated(c, 4)).status == "remitted"


# -- alerts -----------------------------------------------------------------------------------------------------

def test_a_seizure_is_critical_and_dated_by_the_latest():
    c = event(course(), "seizure", 3, "serious", "stopped")
    [a] = alerts(c)
    assert (a.code, a.severity, a.date) == ("seizure", "critical", day(3))
    assert "serious" in a.text and "stopped" in a.text
    [a] = alerts(event(c, "seizure", 9))
    assert a.date == day(9) and "2 seizures" in a.text


@pytest.mark.parametrize(("item9", "raised"), [(0, False), (1, True), (3, True), (None, False)])
def test_suicidality_from_phq9_item9_at_one_or_more(item9, raised):
    c = rated(course(), 15, item9=item9)
    assert ("suicidality" in codes(c)) is raised


def test_suicidality_from_a_worsening_suicidality_event_and_mania_from_a_hypomania_event():
    c = event(course(), "worsening_suicidality", 2)
    assert [(a.code, a.severity) for a in alerts(c)] == [("suicidality", "critical")]
    c = event(c, "hypomania_or_mania", 4)
    assert codes(c) == ["suicidality", "mania"]
    assert [a.severity for a in alerts(c)] == ["critical", "critical"]


def test_other_adverse_events_raise_no_alert():
    c = course()
    for kind in ("headache", "scalp_discomfort", "facial_twitching", "dizziness", "syncope", "hearing_change",
                 "other"):
        c = event(c, kind, 1)
    assert codes(c) == []


@pytest.mark.parametrize(("latest", "raised"), [(24, True), (23.9, False), (27, True)])
def test_worsening_at_20_percent_worse_than_baseline(latest, raised):
    c = rated(course(), latest)
    assert ("worsening" in codes(c)) is raised
    if raised:
        assert alerts(c)[0].severity == "warning"


def test_worsening_stays_once_raised_and_says_the_latest_is_better():
    c = rated(course(), 25, 12)
    [a] = alerts(c)
    assert a.code == "worsening" and a.date == day(7) and "the latest since, 12" in a.text


@pytest.mark.parametrize(("gap", "raised"), [(14, False), (15, True)])
def test_a_rating_is_overdue_when_the_latest_session_is_more_than_14_days_after_the_latest_rating(gap, raised):
    c = rated(course(), 15, every=2)  # rated on day 2
    c = replace(c, sessions=(Session(day(2 + gap), seq=1),))
    assert ("rating_overdue" in codes(c)) is raised
    if raised:
        assert alerts(c)[0].date == day(2 + gap)


@pytest.mark.parametrize(("gap", "raised"), [(14, False), (15, True)])
def test_without_a_rating_the_start_is_the_reference(gap, raised):
    c = replace(course(), sessions=(Session(day(gap), seq=1),))
    assert ("rating_overdue" in codes(c)) is raised


def test_a_rating_on_another_scale_keeps_a_rating_from_being_overdue_but_is_flagged():
    c = rated(course(), 15, instrument="madrs", every=10)
    c = replace(c, sessions=(Session(day(20), seq=1),))
    assert codes(c) == ["instrument_changed"]
    assert alerts(c)[0].severity == "info" and "MADRS" in alerts(c)[0].text


def test_over_planned_when_more_sessions_are_delivered_than_planned_and_taper():
    c = sessions(course(planned=3, taper=1), 4)
    assert codes(c) == []
    c = sessions(c, 1, first=4, completed=False)
    assert codes(c) == []  # a stopped session is not delivered
    c = sessions(c, 1, first=5)
    [a] = alerts(c)
    assert (a.code, a.severity, a.date) == ("over_planned", "warning", day(5))


def test_an_ended_course_has_no_operational_alerts_but_keeps_the_clinical_ones():
    c = sessions(course(planned=1, taper=0), 20)
    c = event(rated(c, 25, every=1), "seizure", 5)
    assert set(codes(c)) == {"seizure", "worsening", "rating_overdue", "over_planned"}
    ended = replace(c, end=CourseEnd(day(20), "stopped_adverse_event"))
    assert codes(ended) == ["seizure", "worsening"]


def test_alerts_are_ordered_most_severe_first():
    c = rated(course(), 26, instrument=None)
    c = rated(c, 9, instrument="madrs")
    c = event(c, "hypomania_or_mania", 2)
    c = event(c, "seizure", 1)
    assert codes(c) == ["seizure", "mania", "worsening", "instrument_changed"]
    assert set(ALERT_CODES) == {"seizure", "suicidality", "mania", "worsening", "rating_overdue", "over_planned",
                                "instrument_changed"}


# -- what a course refuses --------------------------------------------------------------------------------------

def test_a_baseline_after_the_start_is_refused():
    assert check_new_course(START, Rating("phq-9", 20, START)) == {}
    assert list(check_new_course(START, Rating("phq-9", 20, day(1)))) == ["/baseline/date"]


def test_a_record_before_the_start_or_on_an_ended_course_is_refused():
    c = course()
    assert check_record(c, START, "session") == {}
    assert check_record(c, day(400), "session") == {}  # the domain has no clock: a future date is not refused
    assert list(check_record(c, day(-1), "rating")) == ["/date"]
    ended = replace(c, end=CourseEnd(day(5), "completed"))
    assert list(check_record(ended, day(3), "session")) == [""]


def test_an_end_before_the_start_or_before_what_is_recorded_is_refused():
    c = rated(sessions(course(), 3), 15)  # sessions to day 2, a rating on day 7
    assert list(check_end(c, CourseEnd(day(-1), "other"))) == ["/date"]
    assert "2026-12-08" in check_end(c, CourseEnd(day(6), "completed"))["/date"][0]
    assert check_end(c, CourseEnd(day(7), "completed")) == {}


# -- the next step ----------------------------------------------------------------------------------------------

def test_the_next_submission_adds_the_course_and_asks_for_the_next_step():
    stored = {"as_of": "2026-11-02", "policies": ["tms-clinical"], "patient": {"age": 44, "birth_date": "1982-05-01"},
              "scales": [{"instrument": "phq-9", "score": 22, "date": "2026-10-20"}],
              "tms_courses": [{"sessions": 30, "episode": "previous", "end_date": "2020-01-01"}],
              "request": {"kind": "initial", "sessions": 36, "protocol": "itbs"}}
    c = replace(rated(sessions(course(("phq-9", 22)), 30), 18, 13, 9, 6), end=CourseEnd(day(40), "completed"))
    built, warnings = next_submission(stored, c, kind="retreatment", as_of=date(2027, 6, 1), sessions=30,
                                      policies=["aetna-cpb-0469"])
    assert built["tms_courses"][1] == {"sessions": 30, "episode": "current", "protocol": "rtms_10hz",
                                       "improvement_percent": 72.7, "end_date": day(40).isoformat()}
    assert built["request"] == {"kind": "retreatment", "protocol": "rtms_10hz", "sessions": 30}
    assert (built["as_of"], built["policies"], built["patient"]) == ("2027-06-01", ["aetna-cpb-0469"],
                                                                     {"birth_date": "1982-05-01"})
    assert built["scales"] == stored["scales"]  # the course's ratings are not the episode's severity
    assert warnings == []
    assert stored["patient"]["age"] == 44 and len(stored["tms_courses"]) == 1  # the stored submission is untouched


def test_the_next_submission_says_when_earlier_courses_were_not_listed_and_leaves_unknowns_out():
    c = course()
    built, warnings = next_submission({"patient": {}}, c, kind="extension", as_of=day(3))
    assert built["tms_courses"] == [{"sessions": 0, "episode": "current", "protocol": "rtms_10hz"}]
    assert built["request"] == {"kind": "extension", "protocol": "rtms_10hz"}
    assert [w[0] for w in warnings] == ["/tms_courses"]
    worse = rated(course(("phq-9", 9)), 27)
    assert next_submission({"patient": {}, "tms_courses": []}, worse, kind="extension",
                           as_of=day(9))[0]["tms_courses"][0]["improvement_percent"] == -100.0
