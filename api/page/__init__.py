"""The review page: server-rendered HTML for clinicians at ``/review/``, on the same store and rules as the API.

Sign in with a clinician key (a technician's opens courses only); the page keeps a server-side session
(table ``web_sessions``): the cookie holds a random token, the database its hash, the signed-in key and
the session's CSRF token.
Every page request is one lookup of that session joined to an unrevoked key, so revoking the key or
signing out ends it at once. The cookie is ``HttpOnly`` and ``SameSite=Strict`` (and ``Secure``,
named ``__Host-…``, except over plain HTTP at a loopback address); every form carries a CSRF token (before
sign-in, a double-submit cookie). The session slides: it ends after ``TMS_SESSION_IDLE_MINUTES``
without use. Pages are plain HTML and CSS from the app itself, no script; the CSP allows nothing else.

``view_model`` builds what a page shows, ``session`` carries the session and the CSRF tokens over HTTP,
``routes`` holds the blueprint, ``courses`` the TMS courses' routes (and who may open each route), ``chart``
a course's SVG chart; the sessions themselves are ``services.sessions``'.
"""

from __future__ import annotations

from flask import Flask

from . import courses  # noqa: F401  (the course routes join the blueprint)
from .routes import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
