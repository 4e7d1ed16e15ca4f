"""The review page's session on the HTTP side: the cookie, the CSRF checks, and the session of each request.

The session itself (its token, hash, sliding expiry and audit rows) is ``services.sessions``'; here the
cookie that carries its token (``HttpOnly``, ``SameSite=Strict``, and ``Secure`` with the ``__Host-``
name when ``TMS_SECURE_COOKIES`` is on) and the forms' CSRF tokens (before sign-in, a double-submit
cookie).
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from flask import current_app, g, request
from werkzeug import Response

from services import sessions

from ..errors import Problem
from ..state import state

SIGN_IN_COOKIE = "tms_review_sign_in"  # the double-submit CSRF token of the sign-in form


def cookie_name() -> str:
    return "__Host-tms_review" if current_app.config["SECURE_COOKIES"] else "tms_review"


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Strict",
                        secure=current_app.config["SECURE_COOKIES"])


def delete_session_cookie(response: Response) -> None:
    response.delete_cookie(cookie_name(), path="/", secure=current_app.config["SECURE_COOKIES"],
                           httponly=True, samesite="Strict")


def idle() -> timedelta:
    """How long a session lasts without use (``TMS_SESSION_IDLE_MINUTES``)."""
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def load_session() -> None:
    """Put the request's live session (``g.session``: its token), principal and CSRF token on ``g``."""
    g.session = None
    token = request.cookies.get(cookie_name())
    s = state()
    found = sessions.resume_session(s.unit_of_work(), token, idle=idle(), clock=s.clock)
    if found is not None:
        g.session, g.principal, g.csrf = token, found.principal, found.csrf_token


def check_csrf(expected: str | None) -> None:
    """A 400 problem unless the form's ``csrf_token`` is ``expected``."""
    sent = request.form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Problem(400, "The form is out of date or was not sent from this page; reload it and try again.",
                      slug="csrf", title="Form expired")
