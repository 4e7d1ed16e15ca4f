"""TMS courses: start one, record its sessions, ratings and adverse events, end it, read and list them, and evaluate
its next step through the policies (contract section 5).

Each write holds the course (``Courses.lock``) for its unit of work, checks the write against the course
as it then stands (``eligibility.courses.checks``), stores it with its audit row, and answers the course as
it now is. The audit rows hold ids only (the course, the evaluation it links), never a score, a date or an
event. A refused write stores nothing: a bad date, a record on an ended course or a rating of another scale's
item is ``Invalid`` (422), ending an ended course is ``CourseConflict`` (409), an unknown course ``NotFound``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from eligibility import InvalidSubmission, Library
from eligibility.courses import (
    AdverseEvent,
    CourseEnd,
    Rating,
    Session,
    alerts,
    check_end,
    check_new_course,
    check_record,
    next_submission,
)

from .audit import Caller, cursor_seq, page_of
from .clock import Clock, to_second, utc_now
from .course_records import CourseRecord, Entry
from .documents import dumps
from .errors import Invalid, NotFound, ServiceError
from .evaluations import EVALUATION_ID, Answered, evaluate, new_evaluation_id
from .records import Page, Received
from .unit_of_work import UnitOfWork

COURSE_ID = re.compile(r"[0-9a-f]{32}")
ANY_ALERT = "any"
SCAN_BATCH = 100  # courses read at a time while looking for those with an alert


def new_course_id() -> str:
    """A new course id: 32 random hex digits."""
    return uuid.uuid4().hex


class CourseConflict(ServiceError):
    """The course has already ended (on ``end.date``, for ``end.reason``): it cannot end again."""

    def __init__(self, course_id: str, end: CourseEnd):
        super().__init__(f"course {course_id} ended on {end.date.isoformat()}")
        self.course_id, self.end = course_id, end


@dataclass(frozen=True)
class NewCourse:
    """A validated request to start a course (the API's schema has checked the words, ranges and which fields are
    required)."""

    planned_sessions: int
    start_date: date
    baseline: Rating
    kind: str = "initial"
    protocol: str | None = None
    taper_sessions: int = 0
    evaluation_id: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class NextRequest:
    """A validated request for a course's next step."""

    kind: str
    as_of: date | None = None
    policies: list[str] | None = None
    sessions: int | None = None
    protocol: str | None = None


_WHAT = {Session: ("session", "course.session", "Invalid session"),
         Rating: ("rating", "course.rating", "Invalid rating"),
         AdverseEvent: ("adverse event", "course.adverse_event", "Invalid adverse event")}


def _invalid(problems: dict, title: str) -> Invalid:
    detail = " ".join(message for messages in problems.values() for message in messages)
    return Invalid(detail, problems, title=title)


def _check_id(course_id: str) -> None:
    if not COURSE_ID.fullmatch(course_id):
        raise NotFound("course", course_id)


def start_course(uow: UnitOfWork, new: NewCourse, caller: Caller, *, clock: Clock = utc_now,
                 new_id: Callable[[], str] = new_course_id) -> CourseRecord:
    """Store a new course with its audit row; answer it.

    :raises Invalid: the baseline is after the start, or no evaluation has ``evaluation_id``.
    """
    now = clock()
    problems = check_new_course(new.start_date, new.baseline)
    with uow:
        if new.evaluation_id is not None and (not EVALUATION_ID.fullmatch(new.evaluation_id)
                                              or uow.evaluations.review_status(new.evaluation_id) is None):
            problems["/evaluation_id"] = ["No evaluation has this id: a course links the evaluation that found the "
                                          "patient suitable (leave it out to start a course without one)."]
        if problems:
            raise _invalid(dict(sorted(problems.items())), "Invalid course")
        actor = caller.actor.key_id if caller.actor else None
        record = CourseRecord(id=new_id(), created_at=to_second(now), created_by=actor,
                              evaluation_id=new.evaluation_id, reference=new.reference, kind=new.kind,
                              protocol=new.protocol, planned_sessions=new.planned_sessions,
                              taper_sessions=new.taper_sessions, start_date=new.start_date, baseline=new.baseline)
        uow.courses.add(record)
        uow.audit.add(caller.event("course.create", "success", now, course_id=record.id,
                                   evaluation_id=new.evaluation_id))
        stored = uow.courses.get(record.id)
        uow.commit()
    return stored


def read_course(uow: UnitOfWork, course_id: str, caller: Caller, *, clock: Clock = utc_now) -> CourseRecord:
    """The course with its records, next steps, progress and alerts; the read is audited.

    :raises NotFound: no course has this id.
    """
    _check_id(course_id)
    with uow:
        found = uow.courses.get(course_id)
        if found is None:
            raise NotFound("course", course_id)
        uow.audit.add(caller.event("course.read", "success", clock(), course_id=course_id))
        uow.commit()
    return found


def record(uow: UnitOfWork, course_id: str, value: Session | Rating | AdverseEvent, caller: Caller, *,
           clock: Clock = utc_now) -> CourseRecord:
    """Add a session, rating or adverse event to an active course, audited; answer the course as it now is.

    :raises NotFound: no course has this id.
    :raises Invalid: the course has ended, or the record is dated before its start.
    """
    what, action, title = _WHAT[type(value)]
    _check_id(course_id)
    now = clock()
    with uow:
        if uow.courses.lock(course_id) is None:
            raise NotFound("course", course_id)
        course = uow.courses.get(course_id).course()
        problems = check_record(course, value.date, what)
        if problems:
            raise _invalid(problems, title)
        uow.courses.add_record(course_id, Entry(value, to_second(now), caller.actor.key_id if caller.actor else None))
        uow.audit.add(caller.event(action, "success", now, course_id=course_id))
        stored = uow.courses.get(course_id)
        uow.commit()
    return stored


def end_course(uow: UnitOfWork, course_id: str, end: CourseEnd, caller: Caller, *,
               clock: Clock = utc_now) -> CourseRecord:
    """End an active course, audited; answer it.

    :raises NotFound: no course has this id.
    :raises CourseConflict: it has already ended.
    :raises Invalid: the end is before the start or before what is recorded.
    """
    _check_id(course_id)
    now = clock()
    with uow:
        state = uow.courses.lock(course_id)
        if state is None:
            raise NotFound("course", course_id)
        found = uow.courses.get(course_id)
        if state == "ended":
            raise CourseConflict(course_id, found.end)
        problems = check_end(found.course(), end)
        if problems:
            raise _invalid(problems, "Invalid end")
        uow.courses.end(course_id, replace(found, end=end, ended_at=to_second(now),
                                           ended_by=caller.actor.key_id if caller.actor else None))
        uow.audit.add(caller.event("course.end", "success", now, course_id=course_id))
        stored = uow.courses.get(course_id)
        uow.commit()
    return stored


def list_courses(uow: UnitOfWork, caller: Caller, *, limit: int, cursor: str | None = None,
                 status: str | None = None, alert: str | None = None, evaluation_id: str | None = None,
                 clock: Clock = utc_now) -> Page[CourseRecord]:
    """Courses newest first, a page at a time: active or ended ones, those with an alert of a code (or ``any``
    alert), those started from or evaluated by an evaluation; the listing is audited.

    Alerts are computed from each course's records as it is read, never stored, so a filter on them reads
    courses a batch at a time until the page is full.
    """
    before = cursor_seq(cursor)
    with uow:
        found: list[CourseRecord] = []
        while len(found) <= limit:
            batch = uow.courses.page(limit=SCAN_BATCH if alert else limit + 1, before_seq=before, status=status,
                                     evaluation_id=evaluation_id)
            found += [c for c in batch if alert is None or _has_alert(c, alert)]
            if alert is None or len(batch) < SCAN_BATCH:
                break
            before = batch[-1].seq
        uow.audit.add(caller.event("course.list", "success", clock()))
        uow.commit()
    return page_of(found, limit, lambda c: c.seq)


def _has_alert(course: CourseRecord, code: str) -> bool:
    raised = {a.code for a in alerts(course.course())}
    return bool(raised) if code == ANY_ALERT else code in raised


def next_step(uow: UnitOfWork, library: Library, course_id: str, request: NextRequest, caller: Caller, *,
              clock: Clock = utc_now, new_id: Callable[[], str] = new_evaluation_id) -> Answered:
    """Evaluate the course's next step: the course's evaluation's submission with this course added and the request
    replaced (``eligibility.courses.next_submission``), evaluated and stored as any evaluation is (reviewable),
    and linked to the course in the same unit of work, with an audit row of its own.

    :raises NotFound: no course has this id.
    :raises Invalid: the course has no evaluation to start from, or the submission built is invalid (its
        errors point into it).
    """
    _check_id(course_id)
    with uow:
        found = uow.courses.get(course_id)
        if found is None:
            raise NotFound("course", course_id)
        if found.evaluation_id is None:
            raise Invalid("This course has no evaluation to start from: its next step is evaluated from the "
                          "submission of the evaluation the course was started with.",
                          {"/evaluation_id": ["Missing: the course was started without an evaluation_id. Evaluate "
                                              "the referral (POST /v1/evaluations) and start the course from it."]},
                          title="Course has no evaluation")
        stored = uow.evaluations.get(found.evaluation_id, submission=True)
    course = found.course()
    # Default: today, or the course's last record or end if that is later (a record is never after as_of).
    as_of = request.as_of or max(d for d in (clock().date(), course.last_recorded_date(),
                                             course.end.date if course.end else None) if d is not None)
    document, warnings = next_submission(json.loads(stored.submission), course, kind=request.kind,
                                         as_of=as_of, sessions=request.sessions, protocol=request.protocol,
                                         policies=request.policies)
    text = dumps(document)

    def link(uow: UnitOfWork, evaluation_id: str, now: datetime) -> None:
        uow.courses.link(course_id, evaluation_id, request.kind, to_second(now))
        uow.audit.add(caller.event("course.next", "success", now, course_id=course_id, evaluation_id=evaluation_id))

    try:
        return evaluate(uow, library, Received(document, text, text.encode()), caller, clock=clock, new_id=new_id,
                        warnings=tuple(warnings), also=link, on_behalf_of=stored.client_id)
    except InvalidSubmission as exc:
        raise Invalid(f"The submission made from the course and its evaluation is invalid ({len(exc.errors)} "
                      "field(s)); the errors point into it.", exc.errors, title="Invalid next step") from None
