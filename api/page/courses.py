"""The review page's courses: the active-course list with alert filters (clinicians), a course with its alerts, chart,
records and forms (clinicians and technicians), and the forms that record sessions, ratings and adverse events,
end a course or evaluate its next step.

The routes join the review page's blueprint, so they share its session, CSRF checks, headers and error pages.
Who may open what is decided here for every page route (``PAGE_ROLES``; a route not listed is the clinicians'):
a technician signs in to find a course by its id and record what happens in it, and is refused the queue,
evaluations and reviews. Forms are read with the API's own request schemas, so the page accepts and refuses
what the API does.
"""

from __future__ import annotations

import re

from flask import g, redirect, request, url_for
from werkzeug import Response

from eligibility.courses import (
    ADVERSE_EVENT_ACTIONS,
    ADVERSE_EVENT_KINDS,
    ADVERSE_EVENT_SEVERITIES,
    ALERT_CODES,
    END_REASONS,
    INSTRUMENTS,
    NEXT_KINDS,
    CourseEnd,
)
from services import audit, courses
from services.audit import cursor_seq
from services.courses import CourseConflict, NextRequest
from services.errors import ServiceError

from ..caller import caller
from ..courses import RECORDS, conflict, load
from ..errors import Problem, problem_for
from ..state import state
from .chart import course_chart
from .routes import _page as page
from .routes import bp
from .session import check_csrf

CLINICIAN, BOTH = ("clinician",), ("clinician", "technician")
# Who may open each page route; any other route of the page is the clinicians' only.
PAGE_ROLES = {
    "review_page.sign_in": BOTH, "review_page.sign_in_post": BOTH, "review_page.sign_out": BOTH,
    "review_page.course_lookup": BOTH, "review_page.course": BOTH, "review_page.course_record": BOTH,
}
# The audit action of a page route a technician is refused.
DENIED_ACTIONS = {"review_page.evaluation": "evaluation.read", "review_page.review": "evaluation.review",
                  "review_page.courses": "course.list", "review_page.course_end": "course.end",
                  "review_page.course_next": "course.next"}
FORMS = {"sessions": "session", "ratings": "rating", "adverse-events": "adverse event"}
NOTICES = {"session": "Session recorded.", "rating": "Rating recorded.", "adverse-event": "Adverse event recorded.",
           "end": "Course ended."}
SEVERITY_WORDS = {"critical": "Critical", "warning": "Warning", "info": "Note"}
STATUS_WORDS = {"remitted": "In remission", "responding": "Responding (50% or more)", "partial": "Partial (25-49%)",
                "no_change": "No change", "worsening": "Worsening (20% or more worse)", "unknown": "Not known yet"}
COURSE_ID = re.compile(r"[0-9a-f]{32}")


@bp.before_request
def _page_roles() -> Response | None:
    """After the session is loaded: a signed-in key whose role may not open this route is refused (403, audited),
    except that a technician's landing (the queue) is the course finder."""
    if g.get("session") is None:
        return None
    role = g.principal.role
    if role in PAGE_ROLES.get(request.endpoint, CLINICIAN):
        return None
    if request.endpoint in ("review_page.home", "review_page.queue") and request.method == "GET":
        return redirect(url_for("review_page.course_lookup"), 303)
    s = state()
    audit.record_denial(s.unit_of_work(), caller("page", denied=403), DENIED_ACTIONS.get(request.endpoint, "page"),
                        clock=s.clock)
    raise Problem(403, f"This part of the review page is for clinicians; you are signed in as a {role}.",
                  title="Not for this role")


def _page(template: str, status: int = 200, **context) -> Response:
    return page(template, status, severity_words=SEVERITY_WORDS, status_words=STATUS_WORDS, **context)


# -- the list --------------------------------------------------------------------------------------------------

@bp.get("/courses", endpoint="courses")
def course_list():
    args = request.args
    status = args.get("status", "active")
    status = status if status in ("active", "ended", "all") else "active"
    alert = args.get("alert") if args.get("alert") in (*ALERT_CODES, "any") else None
    evaluation = args.get("evaluation") if COURSE_ID.fullmatch(args.get("evaluation", "")) else None
    cursor = args.get("cursor") if cursor_seq(args.get("cursor")) is not None else None
    s = state()
    page = courses.list_courses(s.unit_of_work(), caller("page", success=200), limit=25, cursor=cursor,
                                status=None if status == "all" else status, alert=alert, evaluation_id=evaluation,
                                clock=s.clock)
    older = None
    if page.next_cursor:
        older = url_for("review_page.courses", status=status, alert=alert or "", evaluation=evaluation or "",
                        cursor=page.next_cursor)
    return _page("courses.html", items=[c.summary() for c in page.items], older=older, chosen_status=status,
                 alert=alert, evaluation=evaluation, alert_codes=ALERT_CODES)



# -- one course ------------------------------------------------------------------------------------------------

@bp.get("/courses/open")
def course_lookup():
    wanted = request.args.get("course", "").strip().lower()
    if wanted:
        if COURSE_ID.fullmatch(wanted):
            return redirect(url_for("review_page.course", course_id=wanted), 303)
        return _page("course_lookup.html", 422, wanted=wanted, error="A course id is 32 letters and digits (0-9, a-f).")
    return _page("course_lookup.html", wanted="", error=None)


def _blank_forms(today: str, instrument: str) -> dict:
    return {"session": {"date": today, "completed": "true"}, "rating": {"date": today, "instrument": instrument},
            "adverse event": {"date": today}, "end": {"date": today}, "next step": {"kind": "extension"}}


def _course_page(course_id: str, status: int = 200, form: str | None = None, values: dict | None = None,
                 errors: dict | None = None, notice: str | None = None) -> Response:
    s = state()
    found = courses.read_course(s.unit_of_work(), course_id, caller("page", success=status), clock=s.clock)
    today = (s.clock().date()).isoformat()
    forms = _blank_forms(today, found.baseline.instrument)
    if form is not None:
        forms[form] = values or {}
    return _page("course.html", status, course=found.to_wire(), chart=course_chart(found), forms=forms,
                 form_errors={form: errors or {}} if form else {}, notice=notice, instruments=INSTRUMENTS,
                 event_kinds=ADVERSE_EVENT_KINDS, event_severities=ADVERSE_EVENT_SEVERITIES,
                 event_actions=ADVERSE_EVENT_ACTIONS, end_reasons=END_REASONS, next_kinds=NEXT_KINDS,
                 policies=list(s.library.policies.values()), clinician=g.principal.role == "clinician")


@bp.get("/courses/<course_id>")
def course(course_id: str):
    notice = NOTICES.get(request.args.get("recorded", ""))
    return _course_page(course_id, notice=notice)


def _number(text: str):
    text = text.strip()
    if not text:
        return None
    try:
        return int(text) if re.fullmatch(r"-?[0-9]+", text) else float(text)
    except ValueError:
        return text  # the schema says what is wrong with it


def _document(fields: dict[str, str], numbers: tuple[str, ...] = (), flags: tuple[str, ...] = ()) -> dict:
    """A form as the JSON body the API would get: blank fields left out, numbers as numbers, checkboxes as booleans."""
    document = {}
    for name, value in fields.items():
        if name in flags:
            document[name] = value == "true"
        elif value.strip():
            document[name] = _number(value) if name in numbers else value.strip()
    return document


def _refused(course_id: str, form: str, values: dict, exc: Exception) -> Response:
    problem = exc if isinstance(exc, Problem) else conflict(exc) if isinstance(exc, CourseConflict) \
        else problem_for(exc)
    if problem.status not in (409, 422):
        raise exc
    errors = {pointer.lstrip("/") or "form": messages for pointer, messages in (problem.errors or {}).items()}
    if problem.status == 409 or not errors:
        errors.setdefault("form", []).append(problem.detail)
    return _course_page(course_id, problem.status, form, values, errors)


@bp.post("/courses/<course_id>/<any(sessions, ratings, 'adverse-events'):records>")
def course_record(course_id: str, records: str):
    check_csrf(g.csrf)
    what = FORMS[records]
    names = {"session": ("date", "motor_threshold_percent", "intensity_percent_mt", "pulses", "completed"),
             "rating": ("instrument", "score", "date", "item9"),
             "adverse event": ("date", "kind", "severity", "action")}[what]
    values = {name: request.form.get(name, "") for name in names}
    if what == "session":
        values["completed"] = "true" if request.form.get("completed") else "false"
    document = _document(values, numbers=("motor_threshold_percent", "intensity_percent_mt", "pulses", "score",
                                          "item9"), flags=("completed",))
    s = state()
    try:
        courses.record(s.unit_of_work(), course_id, RECORDS[what](load(what, document)), caller("page", success=303),
                       clock=s.clock)
    except (Problem, ServiceError) as exc:
        return _refused(course_id, what, values, exc)
    return redirect(url_for("review_page.course", course_id=course_id, recorded=what.replace(" ", "-"),
                            _anchor="record"), 303)


@bp.post("/courses/<course_id>/end")
def course_end(course_id: str):
    check_csrf(g.csrf)
    values = {name: request.form.get(name, "") for name in ("date", "reason")}
    s = state()
    try:
        data = load("end", _document(values))
        courses.end_course(s.unit_of_work(), course_id, CourseEnd(data["date"], data["reason"]),
                           caller("page", success=303), clock=s.clock)
    except (Problem, ServiceError) as exc:
        return _refused(course_id, "end", values, exc)
    return redirect(url_for("review_page.course", course_id=course_id, recorded="end"), 303)


@bp.post("/courses/<course_id>/next")
def course_next(course_id: str):
    check_csrf(g.csrf)
    values = {name: request.form.get(name, "") for name in ("kind", "sessions", "as_of")}
    document = _document(values, numbers=("sessions",))
    chosen = request.form.getlist("policies")
    if chosen:
        document["policies"] = chosen
    s = state()
    try:
        answered = courses.next_step(s.unit_of_work(), s.library, course_id, NextRequest(**load("next step", document)),
                                     caller("page", success=303), clock=s.clock)
    except (Problem, ServiceError) as exc:
        return _refused(course_id, "next step", {**values, "policies": chosen}, exc)
    return redirect(url_for("review_page.evaluation", evaluation_id=answered.id), 303)
