"""Every failure as an RFC 9457 problem response (``application/problem+json``), mapped in one place.

Views raise ``Problem`` (or let a domain or service exception through: ``problem_for`` says what each
service refusal is on the wire); ``register_error_handlers`` turns each into the one documented shape
``ProblemSchema``: ``type, title, status, detail,
instance, request_id`` and, for 422, ``errors`` keyed by JSON Pointer. No error is ever an HTML
page, and no client input reaches a 500: those are faults of the service, logged without content.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, current_app, g, request
from werkzeug import Response
from werkzeug.exceptions import HTTPException

from eligibility import EngineError, InvalidSubmission
from eligibility.schemas import pointer_errors
from services.errors import (
    ClinicalKeyRefused,
    DatabaseUnavailable,
    Forbidden,
    IdempotencyKeyReused,
    Invalid,
    KeyNameTaken,
    NotAuthenticated,
    NotFound,
    ReviewConflict,
    ServiceError,
)

from .constants import PROBLEM_JSON

PROBLEM_BASE = "https://tms-eligibility.invalid/problems/"

log = logging.getLogger("api")

# status -> (type slug, title) for the problems the service answers with
TYPES = {
    400: ("malformed-request", "Malformed request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("body-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Invalid submission"),
    500: ("internal", "Internal error"),
    503: ("unavailable", "Service unavailable"),
}


class Problem(Exception):
    """An error answer: ``status``, a ``detail`` sentence, optional ``errors``, extension members and headers."""

    def __init__(self, status: int, detail: str, *, slug: str | None = None, title: str | None = None,
                 errors: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None,
                 extra: dict | None = None):
        super().__init__(detail)
        default_slug, default_title = TYPES.get(status, ("error", "Error"))
        self.status, self.detail = status, detail
        self.slug, self.title = slug or default_slug, title or default_title
        self.errors, self.headers, self.extra = errors, headers or {}, extra or {}

    def document(self) -> dict:
        body = {"type": PROBLEM_BASE + self.slug, "title": self.title, "status": self.status, "detail": self.detail,
                "instance": request.path}
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def validation_problem(errors: dict[str, list[str]], instance: str) -> dict:
    """The problem document (RFC 9457) for an invalid submission: the API's 422 and the command line's."""
    return {"type": PROBLEM_BASE + "validation", "title": "Invalid submission", "status": 422,
            "detail": f"{len(errors)} field(s) are invalid; every one is listed in errors.", "instance": instance,
            "errors": errors}


def problem_for(exc: ServiceError) -> Problem:
    """A service refusal as the problem the API answers with."""
    if isinstance(exc, NotFound):
        return Problem(404, f"No {exc.what} has the id {exc.id!r}.")
    if isinstance(exc, IdempotencyKeyReused):
        return Problem(422, "This Idempotency-Key was first used with a different body; use a new key for a new "
                            "submission.", slug="idempotency-key-reused", title="Idempotency-Key reused",
                       errors={"": ["The body differs from the first request sent with this Idempotency-Key."]})
    if isinstance(exc, ReviewConflict):
        return _review_conflict(exc.current, exc.amends, exc.policy)
    if isinstance(exc, Invalid):
        return Problem(422, exc.detail, title=exc.title, errors=exc.errors)
    if isinstance(exc, Forbidden):
        return Problem(403, f"This needs a key with the role {' or '.join(exc.allowed)}; this key's role is "
                            f"{exc.role}.")
    if isinstance(exc, NotAuthenticated):
        return Problem(401, "The API key is unknown or revoked.")
    if isinstance(exc, KeyNameTaken):
        return Problem(409, f"The unrevoked key {exc.key_id} already has this name; a key's name says who acts in "
                            "reviews and the audit trail, so it must be unique among unrevoked keys. Revoke that "
                            "key first or choose another name.", slug="key-name-taken", title="Key name taken")
    if isinstance(exc, ClinicalKeyRefused):
        return Problem(403, f"An admin key may not make a {exc.role} key: that role reads clinical data. Make it "
                            "with 'tms-eligibility keys create' on the server, or have the deployment allow it "
                            "(TMS_ADMIN_MAY_CREATE_CLINICAL_KEYS=1).", slug="clinical-key-refused",
                       title="Clinical key refused")
    raise TypeError(f"no problem for {type(exc).__name__}")


def _review_conflict(current: int | None, amends: int | None, policy: str | None = None) -> Problem:
    what = "This evaluation" if policy is None else f"This evaluation's result under {policy}"
    whose = "this evaluation's current review" if policy is None else f"the current review of the result under {policy}"
    if current is None:
        detail = f"{what} has no review to amend (amends: {amends}); send its first review without amends."
    elif amends is None:
        detail = (f"{what} already has a review (number {current}). To amend it, send \"amends\": "
                  f"{current} with a reason; the earlier review stays visible.")
    else:
        detail = f"Review {current} is {whose}, not {amends}; amend the current one."
    return Problem(409, detail, slug="review-conflict", title="Review conflict", extra={"current_review": current})


def problem_response(document: dict, headers: dict | None = None) -> Response:
    document["request_id"] = g.get("request_id")
    # The standard library, not orjson's bytes-then-decode: a problem may echo a megabyte-long pointer,
    # and one copy fewer keeps a hostile body's memory bounded (tests/robustness/test_hostile.py).
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=document["status"], headers=headers, content_type=PROBLEM_JSON)


def _problem(exc: Problem):
    return problem_response(exc.document(), exc.headers)


def _http(exc: HTTPException):
    if exc.code is None or exc.code < 400:  # a routing redirect is not an error
        return exc
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    messages = (getattr(exc, "data", None) or {}).get("messages")
    if exc.code == 422 and messages:  # webargs: invalid query parameters, as {location: {name: [...]}}
        errors = {}
        for by_name in messages.values():
            errors.update(pointer_errors(by_name))
        return _problem(Problem(422, f"{len(errors)} query parameter(s) are invalid; every one is listed in errors.",
                                title="Invalid query parameters", errors=errors))
    detail = {
        404: f"Nothing is at {request.path}.",
        405: f"{request.method} is not allowed on {request.path}.",
        413: f"The request body is larger than this service accepts ({current_app.config['MAX_CONTENT_LENGTH']} "
             "bytes).",
    }.get(exc.code, exc.description)
    return _problem(Problem(exc.code, detail, title=TYPES.get(exc.code, (None, exc.name))[1], headers=headers))


def _refused(exc: ServiceError):
    return _problem(problem_for(exc))


def _invalid(exc: InvalidSubmission):
    return problem_response(validation_problem(exc.errors, request.path))


def _unavailable(exc: DatabaseUnavailable):
    log.error("database unavailable", extra={"fields": {"error": str(exc)}})
    return _problem(Problem(503, "The database is unavailable; nothing was stored. Retry shortly "
                                 "(with the same Idempotency-Key, if one was sent).",
                            headers={"Retry-After": "1"}))


def _engine(exc: EngineError):
    # Fail closed: no determination is better than a wrong one. The message names rules, never values.
    log.error("engine error", extra={"fields": {"error": str(exc)}})
    return _problem(Problem(500, "The rules engine failed on this submission; nothing was stored.",
                            slug="engine-failure", title="Evaluation failed"))


def _unexpected(exc: Exception):
    log.error("unhandled exception", exc_info=exc)
    return _problem(Problem(500, "The service failed; nothing was stored."))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(Problem, _problem)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(ServiceError, _refused)
    app.register_error_handler(InvalidSubmission, _invalid)
    app.register_error_handler(DatabaseUnavailable, _unavailable)
    app.register_error_handler(EngineError, _engine)
    app.register_error_handler(Exception, _unexpected)
