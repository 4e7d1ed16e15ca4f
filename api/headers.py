"""Headers every response carries, whatever answered it (a view, an error handler, the docs, the page)."""

from __future__ import annotations

from flask import Flask, request
from werkzeug import Response

HSTS = "max-age=31536000"  # a year; no includeSubDomains: the service cannot speak for the other host names


def security_headers(response: Response) -> Response:
    """``nosniff`` always; HSTS when the request came over TLS (a browser ignores it over plain HTTP)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(security_headers)
