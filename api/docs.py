"""``/openapi.json`` and ``/docs``: the OpenAPI 3.1 document and Swagger UI, all served by the app itself."""

from __future__ import annotations

from flask import Blueprint, url_for
from werkzeug import Response

from .constants import JSON
from .state import state

bp = Blueprint("docs", __name__)

SWAGGER_UI_VERSION = "5.35.0"  # vendored in api/static/swagger-ui (see VENDORED.md there)

# Only this origin: the page must render where there is no internet, and must not leak that it is used.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TMS eligibility API</title>
<link rel="stylesheet" href="{css}">
</head>
<body data-spec="{spec}">
<div id="swagger-ui"></div>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""


@bp.get("/openapi.json")
def openapi():
    return Response(state().static_bodies["openapi"], content_type=JSON)


@bp.get("/docs")
def docs():
    page = PAGE.format(css=url_for("static", filename="swagger-ui/swagger-ui.css"), spec=url_for("docs.openapi"),
                       bundle=url_for("static", filename="swagger-ui/swagger-ui-bundle.js"),
                       init=url_for("static", filename="docs.js"))
    return Response(page, content_type="text/html; charset=utf-8", headers={"Content-Security-Policy": DOCS_CSP})
