"""``/v1/courses``: a TMS course and its monitoring (contract section 5), through ``services.courses``.

Clinicians start, list, end a course and evaluate its next step; clinicians and technicians read a course and
record its sessions, ratings and adverse events. Every answer with a course in it is the course as it now
is, with its ``progress`` and ``alerts``.
"""

from __future__ import annotations

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from eligibility.courses import AdverseEvent, CourseEnd, Rating, Session
from eligibility.schemas import pointer_errors
from services import courses
from services.courses import CourseConflict, NewCourse, NextRequest
from services.records import Received

from .access import requires
from .caller import caller
from .constants import JSON, LOCATION_HEADER, NEXT_LINK_HEADER
from .errors import Problem
from .responses import Answer, json_post, json_response, next_link
from .schemas.courses import (
    AdverseEventRequestSchema,
    CourseArgsSchema,
    CourseListSchema,
    CourseRequestSchema,
    CourseSchema,
    EndRequestSchema,
    NextRequestSchema,
    RatingRequestSchema,
    SessionRequestSchema,
)
from .schemas.evaluations import EvaluationSchema
from .state import state

blp = Blueprint("courses", __name__, url_prefix="/v1/courses",
                description="TMS courses: sessions, ratings, adverse events, progress and alerts, and the next step "
                            "through the policies.")

_SCHEMAS = {name: schema() for name, schema in (
    ("course", CourseRequestSchema), ("session", SessionRequestSchema), ("rating", RatingRequestSchema),
    ("adverse event", AdverseEventRequestSchema), ("end", EndRequestSchema), ("next step", NextRequestSchema))}


def load(what: str, document) -> dict:
    """A request body validated by its schema (422 with every problem keyed by JSON Pointer)."""
    try:
        return _SCHEMAS[what].load(document if isinstance(document, dict) else {"": document})
    except ma.ValidationError as exc:
        errors = pointer_errors(exc.messages)
        raise Problem(422, f"{len(errors)} field(s) of the {what} are invalid; every one is listed in errors.",
                      title=f"Invalid {what}", errors=errors) from None


def new_course(data: dict) -> NewCourse:
    b = data["baseline"]
    return NewCourse(planned_sessions=data["planned_sessions"], start_date=data["start_date"],
                     baseline=Rating(b["instrument"], b["score"], b["date"]), kind=data["kind"],
                     protocol=data["protocol"], taper_sessions=data["taper_sessions"],
                     evaluation_id=data["evaluation_id"], reference=data["reference"])


# What each record's request becomes.
RECORDS = {
    "session": lambda d: Session(d["date"], d["completed"], d["motor_threshold_percent"], d["intensity_percent_mt"],
                                 d["pulses"]),
    "rating": lambda d: Rating(d["instrument"], d["score"], d["date"], d["item9"]),
    "adverse event": lambda d: AdverseEvent(d["date"], d["kind"], d["severity"], d["action"]),
}


def conflict(exc: CourseConflict) -> Problem:
    end = exc.end
    return Problem(409, f"This course already ended on {end.date.isoformat()} ({end.reason.replace('_', ' ')}); an "
                        "ended course cannot end again.", slug="course-ended", title="Course already ended")


def _course_answer(record, status: int = 201) -> Answer:
    g.log_fields = {"course_id": record.id}
    return Answer(record.to_wire(), status, f"{blp.url_prefix}/{record.id}")


_WRITE_ERRORS = (400, 404, 413, 415, 422, 503)


def _errors(*statuses: int):
    """Document the problem answers of a write."""
    names = {400: "BAD_REQUEST", 404: "NOT_FOUND", 409: "CONFLICT", 413: "REQUEST_ENTITY_TOO_LARGE",
             415: "UNSUPPORTED_MEDIA_TYPE", 422: "UNPROCESSABLE_ENTITY", 503: "SERVICE_UNAVAILABLE"}

    def decorate(view):
        for status in statuses:
            view = blp.alt_response(status, response=names[status])(view)
        return view

    return decorate


@blp.route("")
class Courses(MethodView):

    @requires("clinician", action="course.create")
    @blp.doc(summary="Start a course",
             description="A course from its first session: linked to the evaluation that found the patient "
                         "suitable (optional, but its next step needs it), with the planned sessions and taper and "
                         "the baseline rating every improvement is measured from. 422 for a baseline after the "
                         "start or an unknown evaluation.",
             requestBody={"required": True, "content": {JSON: {"schema": CourseRequestSchema}}})
    @blp.response(201, CourseSchema, headers=LOCATION_HEADER, description="Started.")
    @_errors(400, 413, 415, 422, 503)
    @json_post
    def post(self, received: Received):
        s = state()
        made = courses.start_course(s.unit_of_work(), new_course(load("course", received.document)),
                                    caller(success=201), clock=s.clock)
        return _course_answer(made)

    @requires("clinician", action="course.list")
    @blp.doc(summary="Courses, newest first",
             description="One page at a time, like the review queue: active or ended courses, those with an alert "
                         "of a code (or `any`), those of an evaluation; each with its progress and alerts.")
    @blp.arguments(CourseArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, CourseListSchema, headers=NEXT_LINK_HEADER)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, limit: int, cursor: str | None = None, status: str | None = None, alert: str | None = None,
            evaluation_id: str | None = None):
        s = state()
        page = courses.list_courses(s.unit_of_work(), caller(success=200), limit=limit, cursor=cursor, status=status,
                                    alert=alert, evaluation_id=evaluation_id, clock=s.clock)
        body = {"items": [c.summary() for c in page.items], "next_cursor": page.next_cursor}
        return json_response(body, **next_link(blp.url_prefix, limit=limit, cursor=page.next_cursor, status=status,
                                               alert=alert, evaluation_id=evaluation_id))


@blp.route("/<course_id>")
class CourseById(MethodView):

    @requires("clinician", "technician", action="course.read")
    @blp.doc(summary="A course", description="The course with its sessions, ratings and adverse events, its "
                                             "next-step evaluations, and its progress and alerts as of its records.")
    @blp.response(200, CourseSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, course_id: str):
        s = state()
        found = courses.read_course(s.unit_of_work(), course_id, caller(success=200), clock=s.clock)
        g.log_fields = {"course_id": course_id}
        return json_response(found.to_wire())


def _record_view(what: str, schema, summary: str):
    class RecordView(MethodView):

        @requires("clinician", "technician", action=f"course.{what.replace(' ', '_')}")
        @blp.doc(summary=summary,
                 description=f"Adds the {what} to an active course and answers the course as it now is. 422 for a "
                             f"{what} dated before the course's start, or on an ended course"
                             + (", or an `item9` on a rating that is not a PHQ-9" if what == "rating" else "") + ".",
                 requestBody={"required": True, "content": {JSON: {"schema": schema}}})
        @blp.response(201, CourseSchema, headers=LOCATION_HEADER, description="Recorded.")
        @_errors(*_WRITE_ERRORS)
        @json_post
        def post(self, received: Received, course_id: str):
            s = state()
            value = RECORDS[what](load(what, received.document))
            recorded = courses.record(s.unit_of_work(), course_id, value, caller(success=201), clock=s.clock)
            return _course_answer(recorded)

    RecordView.__name__ = f"Course{what.title().replace(' ', '')}s"
    return RecordView


blp.route("/<course_id>/sessions")(_record_view("session", SessionRequestSchema, "Record a delivered session"))
blp.route("/<course_id>/ratings")(_record_view("rating", RatingRequestSchema, "Record a rating"))
blp.route("/<course_id>/adverse-events")(_record_view("adverse event", AdverseEventRequestSchema,
                                                      "Record an adverse event"))


@blp.route("/<course_id>/end")
class CourseEnding(MethodView):

    @requires("clinician", action="course.end")
    @blp.doc(summary="End a course",
             description="Ends an active course (it then takes no more records). 409 if it has already ended; 422 "
                         "for an end before the start or before what is recorded.",
             requestBody={"required": True, "content": {JSON: {"schema": EndRequestSchema}}})
    @blp.response(200, CourseSchema, description="Ended.")
    @_errors(*_WRITE_ERRORS, 409)
    @json_post
    def post(self, received: Received, course_id: str):
        data = load("end", received.document)
        s = state()
        try:
            ended = courses.end_course(s.unit_of_work(), course_id, CourseEnd(data["date"], data["reason"]),
                                       caller(success=200), clock=s.clock)
        except CourseConflict as exc:
            raise conflict(exc) from None
        return _course_answer(ended, 200)


@blp.route("/<course_id>/next")
class CourseNextStep(MethodView):

    @requires("clinician", action="course.next")
    @blp.doc(summary="Evaluate the course's next step",
             description="Builds a submission from the course's evaluation's submission, with this course added to "
                         "`tms_courses` (the sessions delivered, its protocol, its `improvement_percent` on the "
                         "baseline's scale, its `end_date` once ended, episode `current`) and `request` set to the "
                         "`kind`, `sessions` and `protocol` asked for; the course's ratings are not added to "
                         "`scales` (they measure response, not the episode's severity). Evaluates it under the "
                         "policies asked for and stores it as any evaluation (reviewable), linked to the course. "
                         "422 naming `/evaluation_id` for a course started without an evaluation; 422 with "
                         "pointers into the submission made when it is invalid (an `as_of` before its dates).",
             requestBody={"required": True, "content": {JSON: {"schema": NextRequestSchema}}})
    @blp.response(201, EvaluationSchema, headers=LOCATION_HEADER, description="Evaluated, stored and linked.")
    @_errors(*_WRITE_ERRORS)
    @json_post
    def post(self, received: Received, course_id: str):
        data = load("next step", received.document)
        s = state()
        answered = courses.next_step(s.unit_of_work(), s.library, course_id, NextRequest(**data),
                                     caller(success=201), clock=s.clock)
        g.log_fields = {"course_id": course_id, "evaluation_id": answered.id, "outcomes": answered.outcomes}
        return Answer(answered.body, 201, f"/v1/evaluations/{answered.id}")
