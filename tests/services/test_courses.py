"""TMS courses on the in-memory unit of work: start, record, end, list with alert filters, and the next step through
the policies; every write audited by ids, every refusal storing nothing."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from eligibility.courses import AdverseEvent, CourseEnd, Rating, Session
from services import courses, evaluations
from services.courses import CourseConflict, NewCourse, NextRequest
from services.errors import Invalid, NotFound

from ..support import example
from .conftest import api, principal, received

START = date(2026, 11, 9)


@pytest.fixture
def clinician(uow):
    return principal(uow, "clinician", "Dr Course")


@pytest.fixture
def technician(uow):
    return principal(uow, "technician", "TMS operator")


@pytest.fixture
def evaluation(uow, library, clock):
    return evaluations.evaluate(uow, library, received(example("classic-trd")), api(), clock=clock)


def start(uow, clock, clinician, evaluation_id=None, **more):
    new = NewCourse(planned_sessions=30, taper_sessions=6, start_date=START, protocol="rtms_10hz",
                    baseline=Rating("phq-9", 22, START - timedelta(days=1)), evaluation_id=evaluation_id,
                    reference="course-1", **more)
    return courses.start_course(uow, new, api(clinician, success=201), clock=clock)


def test_a_course_is_started_read_and_audited_by_ids_only(uow, clock, clinician, evaluation):
    made = start(uow, clock, clinician, evaluation.id)
    assert (made.status, made.evaluation_id, made.created_by, made.seq) == ("active", evaluation.id,
                                                                             clinician.key_id, 1)
    read = courses.read_course(uow, made.id, api(clinician), clock=clock)
    assert read.to_wire()["progress"]["sessions_planned"] == 36
    rows = [(r.action, r.course_id, r.evaluation_id) for r in uow.store.audit if r.action.startswith("course.")]
    assert rows == [("course.create", made.id, evaluation.id), ("course.read", made.id, None)]


def test_an_unknown_evaluation_or_a_baseline_after_the_start_is_refused_and_nothing_is_stored(uow, clock, clinician):
    with pytest.raises(Invalid) as raised:
        start(uow, clock, clinician, "f" * 32)
    assert list(raised.value.errors) == ["/evaluation_id"]
    with pytest.raises(Invalid) as raised:
        courses.start_course(uow, NewCourse(30, START, Rating("phq-9", 20, START + timedelta(days=1))),
                             api(clinician), clock=clock)
    assert list(raised.value.errors) == ["/baseline/date"]
    assert uow.store.courses == {} and not [r for r in uow.store.audit if r.action.startswith("course.")]


def test_records_are_added_by_the_technician_and_answer_the_course_as_it_now_is(uow, clock, clinician, technician):
    course_id = start(uow, clock, clinician).id
    by = api(technician, success=201)
    courses.record(uow, course_id, Session(START, motor_threshold_percent=52, intensity_percent_mt=120,
                                           pulses=3000), by, clock=clock)
    now = courses.record(uow, course_id, Rating("phq-9", 11, START, item9=1), by, clock=clock)
    now = courses.record(uow, course_id, AdverseEvent(START, "headache", "mild", "none"), by, clock=clock)
    wire = now.to_wire()
    assert wire["progress"]["improvement_percent"] == 50.0 and wire["progress"]["status"] == "responding"
    assert [a["code"] for a in wire["alerts"]] == ["suicidality"]
    assert wire["sessions"][0]["recorded_by"] == technician.key_id
    assert [r.action for r in uow.store.audit][-3:] == ["course.session", "course.rating", "course.adverse_event"]
    assert all(r.course_id == course_id for r in uow.store.audit[-3:])


def test_a_record_before_the_start_or_on_an_ended_course_is_refused_and_ending_twice_is_a_conflict(
        uow, clock, clinician):
    course_id = start(uow, clock, clinician).id
    with pytest.raises(Invalid) as raised:
        courses.record(uow, course_id, Rating("phq-9", 12, START - timedelta(days=1)), api(clinician), clock=clock)
    assert list(raised.value.errors) == ["/date"]
    courses.record(uow, course_id, Session(START + timedelta(days=2)), api(clinician), clock=clock)
    with pytest.raises(Invalid):
        courses.end_course(uow, course_id, CourseEnd(START + timedelta(days=1), "completed"), api(clinician),
                           clock=clock)
    ended = courses.end_course(uow, course_id, CourseEnd(START + timedelta(days=2), "stopped_patient_choice"),
                               api(clinician), clock=clock)
    assert ended.status == "ended" and ended.to_wire()["end"] == {"date": "2026-11-11",
                                                                 "reason": "stopped_patient_choice"}
    with pytest.raises(CourseConflict):
        courses.end_course(uow, course_id, CourseEnd(START + timedelta(days=3), "completed"), api(clinician),
                           clock=clock)
    with pytest.raises(Invalid) as raised:
        courses.record(uow, course_id, Session(START + timedelta(days=2)), api(clinician), clock=clock)
    assert list(raised.value.errors) == [""]
    assert len(uow.store.courses[course_id].records[Session]) == 1


def test_an_unknown_course_is_not_found(uow, clock, clinician):
    for course_id in ("0" * 32, "not-an-id"):
        with pytest.raises(NotFound):
            courses.read_course(uow, course_id, api(clinician), clock=clock)
        with pytest.raises(NotFound):
            courses.record(uow, course_id, Session(START), api(clinician), clock=clock)


def test_the_list_pages_newest_first_and_filters_by_status_alert_and_evaluation(uow, clock, clinician, evaluation):
    made = [start(uow, clock, clinician, evaluation.id if i == 0 else None).id for i in range(5)]
    courses.record(uow, made[1], AdverseEvent(START, "seizure", "serious", "stopped"), api(clinician), clock=clock)
    courses.record(uow, made[3], Rating("madrs", 20, START), api(clinician), clock=clock)
    courses.end_course(uow, made[4], CourseEnd(START, "other"), api(clinician), clock=clock)

    def ids(**filters):
        return [c.id for c in courses.list_courses(uow, api(clinician), limit=10, **filters).items]

    assert ids() == made[::-1]
    assert ids(status="active") == made[3::-1]
    assert ids(status="ended") == [made[4]]
    assert ids(alert="seizure") == [made[1]]
    assert ids(alert="any") == [made[3], made[1]]
    assert ids(evaluation_id=evaluation.id) == [made[0]]
    first = courses.list_courses(uow, api(clinician), limit=2, clock=clock)
    assert [c.id for c in first.items] == [made[4], made[3]] and first.next_cursor
    second = courses.list_courses(uow, api(clinician), limit=2, cursor=first.next_cursor, clock=clock)
    assert [c.id for c in second.items] == [made[2], made[1]]
    page = courses.list_courses(uow, api(clinician), limit=1, alert="any", clock=clock)
    assert [c.id for c in page.items] == [made[3]] and page.next_cursor
    page = courses.list_courses(uow, api(clinician), limit=1, alert="any", cursor=page.next_cursor, clock=clock)
    assert [c.id for c in page.items] == [made[1]] and page.next_cursor is None


def test_the_next_step_is_evaluated_stored_and_linked(uow, library, clock, clinician, evaluation, ids):
    course_id = start(uow, clock, clinician, evaluation.id).id
    for n in range(20):
        courses.record(uow, course_id, Session(START + timedelta(days=n)), api(clinician), clock=clock)
    courses.record(uow, course_id, Rating("phq-9", 13, START + timedelta(days=14)), api(clinician), clock=clock)
    answered = courses.next_step(uow, library, course_id, NextRequest("extension", as_of=date(2026, 12, 1),
                                                                      policies=["cms-lcd-l37086"], sessions=16),
                                 api(clinician, success=201), clock=clock, new_id=ids)
    body = json.loads(answered.body)
    [result] = body["results"]
    assert result["policy"]["id"] == "cms-lcd-l37086"
    limit = next(c for c in result["criteria"] if c["id"] == "session-limit")
    assert limit["status"] == "met" and "40.9%" in limit["reason"]
    submission = json.loads(uow.store.evaluations[answered.id].new.submission)
    assert submission["tms_courses"] == [{"sessions": 20, "episode": "current", "protocol": "rtms_10hz",
                                          "improvement_percent": 40.9}]
    assert submission["request"] == {"kind": "extension", "protocol": "rtms_10hz", "sessions": 16}
    assert [w["field"] for w in body["warnings"]] == ["/tms_courses"]  # the referral did not list TMS history
    read = courses.read_course(uow, course_id, api(clinician), clock=clock)
    assert [(n.evaluation_id, n.kind) for n in read.next_steps] == [(answered.id, "extension")]
    rows = [(r.action, r.course_id, r.evaluation_id) for r in uow.store.audit if r.evaluation_id == answered.id]
    assert rows == [("evaluation.create", None, answered.id), ("course.next", course_id, answered.id)]


def test_a_next_step_without_an_evaluation_or_with_an_invalid_submission_stores_nothing(uow, library, clock,
                                                                                       clinician, evaluation):
    lone = start(uow, clock, clinician).id
    with pytest.raises(Invalid) as raised:
        courses.next_step(uow, library, lone, NextRequest("extension"), api(clinician), clock=clock)
    assert list(raised.value.errors) == ["/evaluation_id"] and "evaluation" in raised.value.detail
    linked = start(uow, clock, clinician, evaluation.id).id
    count = len(uow.store.evaluations)
    with pytest.raises(Invalid) as raised:  # as_of before the referral's own scores
        courses.next_step(uow, library, linked, NextRequest("extension", as_of=date(2026, 1, 1)), api(clinician),
                          clock=clock)
    assert "/scales/0/date" in raised.value.errors
    assert len(uow.store.evaluations) == count and not uow.store.courses[linked].next_steps


def test_the_next_step_is_evaluated_as_of_today_or_the_course_s_last_record_if_later(uow, library, clock, clinician,
                                                                                    evaluation):
    course_id = start(uow, clock, clinician, evaluation.id).id
    later = clock().date() + timedelta(days=3)
    courses.record(uow, course_id, Session(later), api(clinician), clock=clock)
    answered = courses.next_step(uow, library, course_id, NextRequest("maintenance"), api(clinician), clock=clock)
    assert json.loads(answered.body)["as_of"] == later.isoformat()
    answered = courses.next_step(uow, library, course_id, NextRequest("maintenance", as_of=later + timedelta(days=1)),
                                 api(clinician), clock=clock)
    assert json.loads(answered.body)["as_of"] == (later + timedelta(days=1)).isoformat()
