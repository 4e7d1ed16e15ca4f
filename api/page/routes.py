"""The review page's routes: sign in and out, the queue, an evaluation with its review form.

Each route turns a request into one use case of ``services`` and its answer into HTML; every page gets
the same security headers, and every refusal an error page.
"""

from __future__ import annotations

import json
import re
import secrets

from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug import Response

from services import evaluations, reviews, sessions
from services.audit import cursor_seq
from services.errors import DatabaseUnavailable, Forbidden, NotAuthenticated, NotFound, ServiceError

from ..caller import caller
from ..constants import DETERMINATIONS, NO_STORE, REVIEW_STATUSES
from ..errors import Problem, problem_for
from ..reviews import load_request
from ..state import state
from .session import (
    check_csrf,
    cookie_name,
    delete_cookie,
    delete_session_cookie,
    idle,
    lifetime,
    load_session,
    set_cookie,
    sign_in_cookie_name,
)
from .summary import page_model, short_title
from .view_model import DETERMINATION_LABELS, REVIEW_LABELS, STATUS_LABELS, evidence_tables, for_display, safe_url

# The templates are the app's (api/templates/review/), found through the app's own template folder.
bp = Blueprint("review_page", __name__, url_prefix="/review")

ASCII_NUMBER = re.compile(r"[0-9]{1,9}")
PAGE_ROLES = ("clinician", "technician")  # who may sign in; what each may open: api/page/courses.py
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'")


def _page(template: str, status: int = 200, **context) -> Response:
    html = render_template(f"review/{template}", determination_labels=DETERMINATION_LABELS,
                           status_labels=STATUS_LABELS, review_labels=REVIEW_LABELS,
                           principal=g.get("principal") if g.get("session") else None, csrf=g.get("csrf"),
                           **context)
    return Response(html, status=status, content_type="text/html; charset=utf-8")


@bp.before_request
def _before() -> Response | None:
    load_session()
    if request.endpoint in ("review_page.sign_in", "review_page.sign_in_post") or g.session is not None:
        return None
    return redirect(url_for("review_page.sign_in"), 303)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Cache-Control"] = NO_STORE
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.errorhandler(Problem)
def _problem_page(exc: Problem):
    return _page("error.html", exc.status, title=exc.title, detail=exc.detail)


@bp.errorhandler(ServiceError)
def _refused_page(exc: ServiceError):
    if isinstance(exc, NotFound):
        return _page("error.html", 404, title="Not found", detail=f"There is no {exc.what} with that id.")
    return _problem_page(problem_for(exc))


@bp.errorhandler(DatabaseUnavailable)
def _unavailable_page(exc):
    return _page("error.html", 503, title="Service unavailable", detail="The database is unavailable; try again "
                                                                        "shortly.")


# -- routes ----------------------------------------------------------------------------------------------

@bp.get("/")
def home():
    return redirect(url_for("review_page.queue"), 303)


@bp.get("/sign-in")
def sign_in(error: str | None = None, status: int = 200):
    if g.session is not None and error is None:
        return redirect(url_for("review_page.queue"), 303)
    token = secrets.token_urlsafe(32)
    response = _page("sign_in.html", status, sign_in_csrf=token, error=error)
    set_cookie(response, sign_in_cookie_name(), token, max_age=3600)
    return response


@bp.post("/sign-in")
def sign_in_post():
    check_csrf(request.cookies.get(sign_in_cookie_name()))
    s = state()
    try:
        started = sessions.start_session(s.unit_of_work(), request.form.get("key", "").strip(),
                                         caller("page", denied=403), idle=idle(), lifetime=lifetime(), clock=s.clock,
                                         roles=PAGE_ROLES)
    except NotAuthenticated:
        return sign_in("That key is unknown or revoked.", 401)
    except Forbidden as exc:
        return sign_in(f"This page is for clinician and technician keys; that key's role is {exc.role}.", 403)
    response = redirect(url_for("review_page.queue"), 303)
    set_cookie(response, cookie_name(), started.token)
    delete_cookie(response, sign_in_cookie_name())
    return response


@bp.post("/sign-out")
def sign_out():
    check_csrf(g.csrf)
    s = state()
    sessions.end_session(s.unit_of_work(), g.session, caller("page"), clock=s.clock)
    response = redirect(url_for("review_page.sign_in"), 303)
    delete_session_cookie(response)
    return response


@bp.get("/queue")
def queue():
    args = request.args
    status = args.get("status", "pending")
    status = status if status in REVIEW_STATUSES or status == "all" else "pending"
    s = state()
    library = s.library
    policy = args.get("policy") if args.get("policy") in library.policies else None
    determination = args.get("determination") if args.get("determination") in DETERMINATIONS else None
    cursor = args.get("cursor") if cursor_seq(args.get("cursor")) is not None else None
    sort = "oldest" if args.get("sort") == "oldest" else "newest"
    mine = args.get("mine") == "1"
    limit = 25
    page = evaluations.queue(s.unit_of_work(), caller("page", success=200), limit=limit, cursor=cursor,
                             review_status=None if status == "all" else status, policy=policy,
                             determination=determination, oldest_first=sort == "oldest",
                             reviewed_by=g.principal.key_id if mine else None, detail=True, clock=s.clock)
    next_cursor = page.next_cursor
    older = None
    if next_cursor:
        older = url_for("review_page.queue", status=status, policy=policy or "", determination=determination or "",
                        sort=sort, mine="1" if mine else "", cursor=next_cursor)
    return _page("queue.html", items=page.items, older=older, chosen_status=status, policy=policy,
                 determination=determination, sort=sort, mine=mine, me=g.principal.key_id, short_title=short_title,
                 policies=list(library.policies.values()), statuses=REVIEW_STATUSES, determinations=DETERMINATIONS)


def _evaluation_page(evaluation_id: str, status: int = 200, form: dict | None = None, errors: dict | None = None,
                     notice: str | None = None, policy: str | None = None):
    s = state()
    found = evaluations.read_evaluation(s.unit_of_work(), evaluation_id, caller("page", success=status),
                                        submission=True, clock=s.clock)
    model = page_model(found, s.library, policy)
    form = form or {"decision": "", "determination": "", "reason": "",
                    "attested": list(model["current"].attested or ()) if model["current"] else []}
    return _page("evaluation.html", status, **model, form=form, errors=errors or {}, notice=notice,
                 determinations=DETERMINATIONS, safe_url=safe_url)


@bp.get("/evaluations/<evaluation_id>")
def evaluation(evaluation_id: str):
    recorded = request.args.get("recorded")
    notice = f"Review {recorded} recorded." if recorded and ASCII_NUMBER.fullmatch(recorded) else None
    return _evaluation_page(evaluation_id, notice=notice, policy=request.args.get("policy") or None)


@bp.get("/evaluations/<evaluation_id>/packet")
def packet(evaluation_id: str):
    """One policy's prior-authorisation packet, to print: its determination, criteria with reasons, evidence
    and sources, the attestations, the reviewer and the time."""
    s = state()
    found = evaluations.read_evaluation(s.unit_of_work(), evaluation_id, caller("page", success=200),
                                        submission=True, clock=s.clock)
    model = page_model(found, s.library, request.args.get("policy") or None)
    if model["chosen"] is None:
        raise NotFound("policy of this evaluation", request.args.get("policy") or "")
    submission = for_display(json.loads(found.submission), s.library.catalogue)
    result = model["chosen_result"]
    criteria = [{**c, "tables": evidence_tables(submission, c["evidence"])} for c in result["criteria"]]
    return _page("packet.html", **model, result=result, criteria=criteria, safe_url=safe_url)


@bp.post("/evaluations/<evaluation_id>")
def review(evaluation_id: str):
    check_csrf(g.csrf)
    form = {k: request.form.get(k, "") for k in ("decision", "determination", "reason", "amends", "policy")}
    form["attested"] = request.form.getlist("attested")
    document = {"decision": form["decision"] or None, "determination": form["determination"] or None,
                "reason": form["reason"] or None}
    if form["amends"]:
        # ASCII digits only ("²".isdigit() is true); a number out of range is the schema's to refuse (422)
        document["amends"] = int(form["amends"]) if ASCII_NUMBER.fullmatch(form["amends"]) else form["amends"]
    if form["policy"]:
        document["policy"] = form["policy"]
        document["attested"] = form["attested"]
    s = state()
    try:
        request_ = load_request({k: v for k, v in document.items() if v is not None or k == "decision"})
        recorded = reviews.record_review(s.unit_of_work(), evaluation_id, request_,
                                         caller("page", success=303, replayed=303), clock=s.clock)
    except (Problem, ServiceError) as exc:
        problem = exc if isinstance(exc, Problem) else problem_for(exc)
        if problem.status not in (409, 422):
            raise
        errors = {pointer.lstrip("/") or "form": messages for pointer, messages in (problem.errors or {}).items()}
        if problem.status == 409:
            errors["form"] = [problem.detail]
        return _evaluation_page(evaluation_id, problem.status, form, errors, policy=form["policy"] or None)
    scope = [r for r in recorded if r.policy == (form["policy"] or None)]
    return redirect(url_for("review_page.evaluation", evaluation_id=evaluation_id, policy=form["policy"] or None,
                            recorded=scope[-1].number, _anchor="review"), 303)


