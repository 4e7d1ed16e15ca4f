"""Access control: API keys with one role each, checked on every ``/v1`` request.

The keys themselves (how they are made, kept and looked up) are ``services.keys``'. Here: a view says
which roles may call it with ``@requires``; a ``/v1`` view without it is refused to everyone (fail
closed), and a test checks every route has one. A request's key comes as ``Authorization: Bearer``;
without a valid one the answer is a 401, with a key of the wrong role a 403 (which is audited).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g, request

from services import audit, keys
from services.errors import Forbidden
from services.records import Principal

from .caller import caller
from .constants import ROLES
from .errors import Problem, problem_for
from .state import state

REALM = 'Bearer realm="tms-eligibility"'


@dataclass(frozen=True)
class Access:
    """Who may call a view, and the audit action a refused attempt is recorded as."""

    roles: tuple[str, ...]
    action: str


def requires(*roles: str, action: str) -> Callable:
    """Mark a view method: only keys with one of ``roles`` may call it."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def mark(view):
        view.access = Access(tuple(roles), action)
        return view

    return mark


def access_of(view_function, method: str) -> Access | None:
    """The ``Access`` of the method that answers ``method`` on a view (``None``: unmarked or no such method)."""
    cls = getattr(view_function, "view_class", None)
    handler = view_function
    if cls is not None:
        handler = getattr(cls, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(cls, "get", None)
    return getattr(handler, "access", None)


# -- the check on every /v1 request ---------------------------------------------------------------------

def _unauthorized(detail: str, error: str | None = None) -> Problem:
    challenge = REALM + (f', error="{error}"' if error else "")
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


def bearer_principal() -> Principal:
    """The principal of the request's ``Authorization: Bearer`` key; raise a 401 problem without one."""
    header = request.headers.get("Authorization")
    if not header:
        raise _unauthorized("Send an API key: Authorization: Bearer <key>.")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise _unauthorized("Send the API key as Authorization: Bearer <key>.", "invalid_request")
    principal = keys.authenticate(state().unit_of_work(), key.strip())
    if principal is None:
        raise _unauthorized("The API key is unknown or revoked.", "invalid_token")
    return principal


def _authorize() -> None:
    if not (request.path.startswith("/v1/") or request.path == "/v1"):
        return
    if request.routing_exception is not None or request.endpoint is None:
        return  # 404 and 405 answer as they would for anyone: the routes are public in /openapi.json
    view = current_app.view_functions[request.endpoint]
    access = access_of(view, request.method)
    if access is None:
        if request.method == "OPTIONS":
            return  # Flask's automatic answer: the allowed methods, nothing else
        raise RuntimeError(f"{request.endpoint} {request.method} has no @requires: refused to everyone")
    principal = g.principal = bearer_principal()
    if principal.role not in access.roles:
        s = state()
        audit.record_denial(s.unit_of_work(), caller(actor=principal, denied=403), access.action, clock=s.clock)
        raise problem_for(Forbidden(principal.role, access.roles))


def init_app(app: Flask) -> None:
    app.before_request(_authorize)
