"""Invariants of course monitoring over generated courses: a better rating never takes a response away, and an
alert, once raised, is not lowered by later records (except the two that describe the active course as it stands)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eligibility.courses import (
    ADVERSE_EVENT_ACTIONS,
    ADVERSE_EVENT_KINDS,
    ADVERSE_EVENT_SEVERITIES,
    INSTRUMENTS,
    AdverseEvent,
    Course,
    CourseEnd,
    Rating,
    Session,
    alerts,
    progress,
)
from eligibility.model import INSTRUMENT_RANGES

START = date(2026, 12, 1)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TRANSIENT = {"rating_overdue", "over_planned"}


def day(n: int) -> date:
    return START + timedelta(days=n)


@st.composite
def rating(draw, instrument=None, days=None):
    days = days if days is not None else st.integers(0, 70)
    instrument = instrument or draw(st.sampled_from(INSTRUMENTS))
    low, high = INSTRUMENT_RANGES[instrument]
    score = draw(st.one_of(st.integers(low, high), st.floats(low, high, allow_nan=False).map(lambda f: round(f, 2))))
    item9 = draw(st.one_of(st.none(), st.integers(0, 3))) if instrument == "phq-9" else None
    return Rating(instrument, score, day(draw(days)), item9)


@st.composite
def record(draw, instrument: str):
    kind = draw(st.sampled_from(["session", "rating", "rating", "event"]))
    when = day(draw(st.integers(0, 70)))
    if kind == "session":
        return Session(when, draw(st.booleans()) or draw(st.booleans()))
    if kind == "rating":
        return draw(rating(draw(st.sampled_from([instrument, instrument, None]))))  # mostly the baseline's scale
    return AdverseEvent(when, draw(st.sampled_from(ADVERSE_EVENT_KINDS)),
                        draw(st.sampled_from(ADVERSE_EVENT_SEVERITIES)), draw(st.sampled_from(ADVERSE_EVENT_ACTIONS)))


def add(course: Course, item, seq: int) -> Course:
    item = replace(item, seq=seq)
    if isinstance(item, Session):
        return replace(course, sessions=course.sessions + (item,))
    if isinstance(item, Rating):
        return replace(course, ratings=course.ratings + (item,))
    return replace(course, adverse_events=course.adverse_events + (item,))


@st.composite
def courses(draw):
    baseline = draw(rating(days=st.integers(-7, 0)))
    course = Course(START, draw(st.integers(1, 40)), replace(baseline, item9=None),
                    taper_sessions=draw(st.integers(0, 6)))
    for seq, item in enumerate(draw(st.lists(record(baseline.instrument), max_size=25)), start=1):
        course = add(course, item, seq)
    return course


def codes(course: Course) -> set[str]:
    return {a.code for a in alerts(course)}


@SETTINGS
@given(courses(), st.data())
def test_a_rating_better_than_every_earlier_one_never_removes_a_response(course, data):
    before = progress(course)
    instrument = course.baseline.instrument
    earlier = [r for r in course.ratings if r.instrument == instrument]
    low, _ = INSTRUMENT_RANGES[instrument]
    best = min([course.baseline.score, *(r.score for r in earlier)])
    if best <= low:
        return  # nothing can be better
    score = data.draw(st.floats(low, best, exclude_max=True, allow_nan=False), label="score")
    latest = max((r.date for r in earlier), default=START)
    when = latest + timedelta(days=data.draw(st.integers(0, 14), label="days later"))
    after = progress(add(course, Rating(instrument, score, when), seq=1000))
    if before.response:
        assert after.response is True
    if before.remission:
        assert after.remission is True
    assert after.improvement_percent is None or before.improvement_percent is None or \
        after.improvement_percent >= before.improvement_percent


@SETTINGS
@given(courses(), st.data())
def test_alerts_never_disappear_when_later_records_are_added(course, data):
    before = codes(course)
    later = data.draw(st.lists(record(course.baseline.instrument), min_size=1, max_size=5), label="later")
    after_course = course
    for seq, item in enumerate(later, start=1000):
        after_course = add(after_course, item, seq)
    assert before - TRANSIENT <= codes(after_course)


@SETTINGS
@given(courses(), st.integers(0, 80), st.sampled_from(["completed", "stopped_adverse_event", "other"]))
def test_ending_a_course_lowers_only_the_operational_alerts(course, when, reason):
    ended = replace(course, end=CourseEnd(day(when), reason))
    assert codes(course) - TRANSIENT == codes(ended)


@SETTINGS
@given(courses())
def test_progress_is_consistent(course):
    p = progress(course)
    assert p.sessions_planned == course.planned_sessions + course.taper_sessions
    assert p.sessions_remaining == max(p.sessions_planned - p.sessions_delivered, 0)
    assert (p.latest is None) == (p.response is None) or course.baseline.score == 0
    if p.response is not None:
        assert p.response == (p.improvement_percent >= 50)
    if p.status == "remitted":
        assert p.remission is True
    elif p.status == "responding":
        assert p.response is True
    elif p.status == "unknown":
        assert p.improvement_percent is None
    for a in alerts(course):
        assert a.severity == {"seizure": "critical", "suicidality": "critical", "mania": "critical",
                              "instrument_changed": "info"}.get(a.code, "warning")
