"""The review page: server-rendered HTML for clinicians at ``/review/``, on the same store and rules as the API.

Sign in with a clinician key; the page keeps a server-side session (table ``web_sessions``): the
cookie holds a random token, the database its hash, the signed-in key and the session's CSRF token.
Every page request is one lookup of that session joined to an unrevoked key, so revoking the key or
signing out ends it at once. The cookie is ``HttpOnly`` and ``SameSite=Strict`` (and ``Secure``,
named ``__Host-…``, when ``TMS_SECURE_COOKIES`` is on); every form carries a CSRF token (before
sign-in, a double-submit cookie). The session slides: it ends after ``TMS_SESSION_IDLE_MINUTES``
without use. Pages are plain HTML and CSS from the app itself, no script; the CSP allows nothing else.
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import timedelta

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, url_for
from werkzeug import Response

from services import evaluations, reviews, sessions
from services.documents import review_document
from services.errors import DatabaseUnavailable, Forbidden, NotAuthenticated, NotFound, ServiceError

from .caller import caller
from .constants import DETERMINATIONS, NO_STORE, REVIEW_STATUSES
from .errors import Problem, problem_for
from .reviews import load_request
from .state import state

bp = Blueprint("review_page", __name__, url_prefix="/review", template_folder="templates")

PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'")
SIGN_IN_COOKIE = "tms_review_sign_in"  # the double-submit CSRF token of the sign-in form

DETERMINATION_LABELS = {"meets_criteria": "Meets criteria", "does_not_meet_criteria": "Does not meet criteria",
                        "insufficient_information": "Insufficient information",
                        "contraindicated": "Contraindicated"}
STATUS_LABELS = {"met": "Met", "not_met": "Not met", "unknown": "Unknown"}
REVIEW_LABELS = {"pending": "Pending review", "accepted": "Accepted", "overridden": "Overridden"}
ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV", 5: "V"}
FIELD_LABELS = {
    "patient": "Patient", "current_episode": "Current episode", "safety": "Safety screen", "request": "Request",
    "ordering_clinician": "Ordering clinician", "birth_date": "date of birth", "ect_candidate": "ECT candidate",
    "substance_use_past_90_days": "substance use in the past 90 days", "ketamine_or_esketamine_current":
    "ketamine or esketamine now", "daily_dose_mg": "daily dose (mg)", "duration_weeks": "weeks at that dose",
    "dose_limited_by_tolerability": "dose limited by tolerability", "adherence_percent": "adherence (%)",
    "medication_trials": "Medication trial", "psychotherapy_trials": "Psychotherapy trial", "scales": "Scales",
    "ect_courses": "ECT courses", "tms_courses": "TMS courses", "diagnoses": "Diagnoses",
}
# For each list in a submission: the columns of its evidence table (heading, how to read an item).
COLUMNS = {
    "medication_trials": ("Medication trials", [
        ("Drug", lambda t: t.get("drug") or (f"RxNorm {t['rxnorm']}" if t.get("rxnorm") else None)),
        ("Daily dose", lambda t: _number(t.get("daily_dose_mg"), " mg")),
        ("Weeks", lambda t: _number(t.get("duration_weeks"))),
        ("Dates", lambda t: _span(t)),
        ("Episode", lambda t: t.get("episode")),
        ("Role", lambda t: t.get("role")),
        ("Outcome", lambda t: _outcome(t)),
    ]),
    "psychotherapy_trials": ("Psychotherapy trials", [
        ("Modality", lambda t: t.get("modality")), ("Sessions", lambda t: _number(t.get("sessions"))),
        ("Weeks", lambda t: _number(t.get("duration_weeks"))), ("Dates", lambda t: _span(t)),
        ("Episode", lambda t: t.get("episode")), ("Outcome", lambda t: _outcome(t)),
    ]),
    "ect_courses": ("ECT courses", [
        ("Sessions", lambda t: _number(t.get("sessions"))), ("Ended", lambda t: t.get("end_date")),
        ("Episode", lambda t: t.get("episode")), ("Outcome", lambda t: _outcome(t)),
    ]),
    "tms_courses": ("TMS courses", [
        ("Protocol", lambda t: t.get("protocol")), ("Sessions", lambda t: _number(t.get("sessions"))),
        ("Ended", lambda t: t.get("end_date")), ("Episode", lambda t: t.get("episode")),
        ("Outcome", lambda t: _outcome(t)),
    ]),
    "scales": ("Rating scales", [
        ("Instrument", lambda s: (s.get("instrument") or "").upper() or None),
        ("Score", lambda s: _number(s.get("score"))), ("Date", lambda s: s.get("date")),
    ]),
    "diagnoses": ("Diagnoses", [("Code", lambda d: d.get("code")), ("Description", lambda d: d.get("description"))]),
}


def _number(value, unit: str = "") -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value}{unit}"


def _span(item: dict) -> str | None:
    start, end = item.get("start_date"), item.get("end_date")
    if not start and not end:
        return None
    return f"{start or '?'} to {end or 'ongoing'}"


def _outcome(item: dict) -> str | None:
    outcome = item.get("outcome")
    if outcome is None:
        return None
    text = outcome.replace("_", " ")
    if item.get("improvement_percent") is not None:
        text += f" ({_number(item['improvement_percent'])}% better)"
    return text


def _token(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


_ABSENT = object()


def resolve(document, pointer: str):
    """Follow an RFC 6901 pointer; ``_ABSENT`` where it leads nowhere (a field the submission left out)."""
    node = document
    for token in _token(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _ABSENT
    return node


def field_label(pointer: str) -> str:
    """``/current_episode/severity`` as "Current episode › severity"; list items numbered from 1."""
    parts = []
    for token in _token(pointer):
        if token.isdigit():
            parts[-1] = f"{parts[-1]} {int(token) + 1}"
        else:
            parts.append(FIELD_LABELS.get(token, token.replace("_", " ")))
    return " › ".join(parts) or "The submission"


def value_text(value) -> str:
    if value is _ABSENT or value is None:
        return "not stated"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {value_text(v)}" for k, v in value.items()) or "nothing"
    if isinstance(value, float | int):
        return _number(value)
    return str(value).replace("_", " ") if str(value).islower() and " " not in str(value) else str(value)


def evidence_tables(submission: dict, pointers: list[str]) -> list[dict]:
    """The submission's items a criterion points to, as tables: one per list (trials, scales, ...), one of fields."""
    tables: dict[str, dict] = {}
    for pointer in pointers:
        tokens = _token(pointer)
        value = resolve(submission, pointer)
        if len(tokens) == 2 and tokens[0] in COLUMNS and tokens[1].isdigit() and isinstance(value, dict):
            heading, columns = COLUMNS[tokens[0]]
            table = tables.setdefault(tokens[0], {"heading": heading, "columns": ["#"] + [c[0] for c in columns],
                                                  "rows": []})
            table["rows"].append([str(int(tokens[1]) + 1)]
                                 + [value_text(read(value)) if read(value) is not None else "—"
                                    for _, read in columns])
        else:
            table = tables.setdefault("", {"heading": "Fields", "columns": ["Field", "Value"], "rows": []})
            table["rows"].append([field_label(pointer), value_text(value)])
    return list(tables.values())


def safe_url(url: str) -> str | None:
    """Only http(s) links are rendered as links."""
    return url if url.startswith(("https://", "http://")) else None


def measures_rows(measures: dict) -> list[tuple[str, str]]:
    def known(value, render=str):
        return "unknown" if value is None else render(value)

    rows = [("Failed adequate antidepressant trials, current episode",
             known(measures.get("failed_adequate_trials_current_episode"))),
            ("Antidepressant classes failed", known(measures.get("antidepressant_classes_failed"))),
            ("Trials stopped for intolerance, current episode",
             known(measures.get("intolerant_trials_current_episode"))),
            ("Augmentation trials failed", known(measures.get("augmentation_trials_failed"))),
            ("Psychotherapy trials failed", known(measures.get("psychotherapy_trials_failed")))]
    score, span, band = (measures.get("maudsley_score"), measures.get("maudsley_score_range"),
                         measures.get("maudsley_band"))
    if score is not None:
        maudsley = str(score)
    elif span:
        maudsley = f"{span[0]}–{span[1]} (not every component is known)"
    elif measures.get("failed_adequate_trials_current_episode") == 0:
        maudsley = "not staged: no failed adequate trial"
    else:
        maudsley = "unknown"
    if band:
        maudsley += f", {band}"
    components = measures.get("maudsley_components") or {}
    if components:
        maudsley += " — " + ", ".join(f"{k.replace('_', ' ')} {known(v)}" for k, v in components.items())
    rows.append(("Maudsley Staging Method (3–15)", maudsley))
    rows.append(("Thase–Rush stage (0–V)", known(measures.get("thase_rush_stage"), lambda s: ROMAN.get(s, str(s)))))
    return [r for r in rows if r[1] != "unknown" or "Maudsley" in r[0] or "Thase" in r[0] or "Failed adequate"
            in r[0]]


# -- sessions -----------------------------------------------------------------------------------------

def _cookie_name() -> str:
    return "__Host-tms_review" if current_app.config["SECURE_COOKIES"] else "tms_review"


def _set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Strict",
                        secure=current_app.config["SECURE_COOKIES"])


def _idle() -> timedelta:
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def _load_session() -> None:
    g.session = None
    token = request.cookies.get(_cookie_name())
    s = state()
    found = sessions.resume_session(s.unit_of_work(), token, idle=_idle(), clock=s.clock)
    if found is not None:
        g.session, g.principal, g.csrf = token, found.principal, found.csrf_token


def _check_csrf(expected: str | None) -> None:
    sent = request.form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Problem(400, "The form is out of date or was not sent from this page; reload it and try again.",
                      slug="csrf", title="Form expired")


def _page(template: str, status: int = 200, **context) -> Response:
    html = render_template(f"review/{template}", determination_labels=DETERMINATION_LABELS,
                           status_labels=STATUS_LABELS, review_labels=REVIEW_LABELS,
                           principal=g.get("principal") if g.get("session") else None, csrf=g.get("csrf"),
                           **context)
    return Response(html, status=status, content_type="text/html; charset=utf-8")


@bp.before_request
def _before() -> Response | None:
    _load_session()
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
        return _page("error.html", 404, title="Not found", detail="There is no evaluation with that id.")
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
    _set_cookie(response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@bp.post("/sign-in")
def sign_in_post():
    _check_csrf(request.cookies.get(SIGN_IN_COOKIE))
    s = state()
    try:
        started = sessions.start_session(s.unit_of_work(), request.form.get("key", "").strip(),
                                         caller("page", denied=403), idle=_idle(), clock=s.clock)
    except NotAuthenticated:
        return sign_in("That key is unknown or revoked.", 401)
    except Forbidden as exc:
        return sign_in(f"This page is for clinician keys; that key's role is {exc.role}.", 403)
    token = started.token
    response = redirect(url_for("review_page.queue"), 303)
    _set_cookie(response, _cookie_name(), token)
    response.delete_cookie(SIGN_IN_COOKIE, path="/")
    return response


@bp.post("/sign-out")
def sign_out():
    _check_csrf(g.csrf)
    s = state()
    sessions.end_session(s.unit_of_work(), g.session, caller("page"), clock=s.clock)
    response = redirect(url_for("review_page.sign_in"), 303)
    response.delete_cookie(_cookie_name(), path="/", secure=current_app.config["SECURE_COOKIES"],
                           httponly=True, samesite="Strict")
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
    cursor = args.get("cursor", "")
    cursor = cursor if cursor.isdigit() and 0 < len(cursor) < 19 else None
    limit = 25
    page = evaluations.queue(s.unit_of_work(), caller("page", success=200), limit=limit, cursor=cursor,
                             review_status=None if status == "all" else status, policy=policy,
                             determination=determination, clock=s.clock)
    next_cursor = page.next_cursor
    older = None
    if next_cursor:
        older = url_for("review_page.queue", status=status, policy=policy or "", determination=determination or "",
                        cursor=next_cursor)
    return _page("queue.html", items=page.items, older=older, chosen_status=status, policy=policy,
                 determination=determination,
                 policies=list(library.policies.values()), statuses=REVIEW_STATUSES, determinations=DETERMINATIONS)


def _evaluation_page(evaluation_id: str, status: int = 200, form: dict | None = None, errors: dict | None = None,
                     notice: str | None = None):
    s = state()
    found = evaluations.read_evaluation(s.unit_of_work(), evaluation_id, caller("page", success=status),
                                        submission=True, clock=s.clock)
    document = json.loads(found.result)
    submission = json.loads(found.submission)
    review = review_document(found.reviews)
    current = found.reviews[-1] if found.reviews else None
    results = []
    for result in document["results"]:
        titles = {c["id"]: c["title"] for c in result["criteria"]}
        criteria = [{**c, "tables": evidence_tables(submission, c["evidence"]),
                     "branches": [{**b, "tables": evidence_tables(submission, b["evidence"])}
                                  for b in c.get("branches", [])]}
                    for c in result["criteria"]]
        missing = [{**m, "label": field_label(m["field"]), "criterion": titles.get(m["needed_for"], m["needed_for"])}
                   for m in result["missing_information"]]
        results.append({**result, "criteria": criteria, "missing": missing,
                        "measure_rows": measures_rows(result["measures"])})
    form = form or {"decision": "", "determination": "", "reason": ""}
    return _page("evaluation.html", status, evaluation=document, results=results, review=review,
                 reviews=found.reviews, current=current, form=form, errors=errors or {}, notice=notice,
                 determinations=DETERMINATIONS, safe_url=safe_url)


@bp.get("/evaluations/<evaluation_id>")
def evaluation(evaluation_id: str):
    recorded = request.args.get("recorded")
    notice = f"Review {recorded} recorded." if recorded and recorded.isdigit() else None
    return _evaluation_page(evaluation_id, notice=notice)


@bp.post("/evaluations/<evaluation_id>")
def review(evaluation_id: str):
    _check_csrf(g.csrf)
    form = {k: request.form.get(k, "") for k in ("decision", "determination", "reason", "amends")}
    document = {"decision": form["decision"] or None, "determination": form["determination"] or None,
                "reason": form["reason"] or None}
    if form["amends"]:
        document["amends"] = int(form["amends"]) if form["amends"].isdigit() else form["amends"]
    s = state()
    try:
        request_ = load_request({k: v for k, v in document.items() if v is not None or k == "decision"})
        recorded = reviews.record_review(s.unit_of_work(), evaluation_id, request_, caller("page", success=303),
                                         clock=s.clock)
    except (Problem, ServiceError) as exc:
        problem = exc if isinstance(exc, Problem) else problem_for(exc)
        if problem.status not in (409, 422):
            raise
        errors = {pointer.lstrip("/") or "form": messages for pointer, messages in (problem.errors or {}).items()}
        if problem.status == 409:
            errors["form"] = [problem.detail]
        return _evaluation_page(evaluation_id, problem.status, form, errors)
    return redirect(url_for("review_page.evaluation", evaluation_id=evaluation_id,
                            recorded=recorded[-1].number, _anchor="review"), 303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
