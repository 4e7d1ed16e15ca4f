"""The review page's session on the HTTP side: the cookies, the CSRF checks, and the session of each request.

The session itself (its token, hash, sliding expiry, absolute lifetime and audit rows) is
``services.sessions``'; here the cookie that carries its token (``HttpOnly``, ``SameSite=Strict``, and
``Secure`` with the ``__Host-`` name unless ``TMS_SECURE_COOKIES`` says otherwise or, by default, the page
is reached over plain HTTP at a loopback address) and the forms' CSRF tokens (before sign-in, a
double-submit cookie, named the same way).
"""

from __future__ import annotations

import hmac
import ipaddress
from datetime import timedelta

from flask import current_app, g, request
from werkzeug import Response

from services import sessions

from ..errors import Problem
from ..state import state

SESSION_COOKIE = "tms_review"
SIGN_IN_COOKIE = "tms_review_sign_in"  # the double-submit CSRF token of the sign-in form


def loopback_http() -> bool:
    """Whether this request is plain HTTP to a loopback host name or address (the one place a cookie without
    ``Secure`` is safe)."""
    if request.is_secure:
        return False
    host = request.host
    name = host[1:host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0] if host.count(":") == 1 \
        else host
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def secure() -> bool:
    """Whether the page's cookies get ``Secure`` and the ``__Host-`` name (``TMS_SECURE_COOKIES``)."""
    setting = current_app.config["SECURE_COOKIES"]
    return not loopback_http() if setting == "auto" else bool(setting)


def _named(name: str) -> str:
    return f"__Host-{name}" if secure() else name


def cookie_name() -> str:
    return _named(SESSION_COOKIE)


def sign_in_cookie_name() -> str:
    return _named(SIGN_IN_COOKIE)


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Strict", secure=secure())


def delete_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=secure(), httponly=True, samesite="Strict")


def delete_session_cookie(response: Response) -> None:
    delete_cookie(response, cookie_name())


def idle() -> timedelta:
    """How long a session lasts without use (``TMS_SESSION_IDLE_MINUTES``)."""
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def lifetime() -> timedelta:
    """How long a session lasts at most, however busy (``TMS_SESSION_LIFETIME_HOURS``)."""
    return timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])


def load_session() -> None:
    """Put the request's live session (``g.session``: its token), principal and CSRF token on ``g``."""
    g.session = None
    token = request.cookies.get(cookie_name())
    s = state()
    found = sessions.resume_session(s.unit_of_work(), token, idle=idle(), lifetime=lifetime(), clock=s.clock)
    if found is not None:
        g.session, g.principal, g.csrf = token, found.principal, found.csrf_token


def check_csrf(expected: str | None) -> None:
    """A 400 problem unless the form's ``csrf_token`` is ``expected``."""
    sent = request.form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Problem(400, "The form is out of date or was not sent from this page; reload it and try again.",
                      slug="csrf", title="Form expired")
