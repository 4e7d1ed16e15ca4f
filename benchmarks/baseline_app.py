"""The HTTP benchmark's baseline: the stack's ceiling for the service's POST.

A bare Flask app that reads the body, parses it with the standard library and loads it with the
service's own submission schema (``eligibility.schemas.SubmissionSchema``, built by the library as the
service builds it, so drug names and policy ids are checked the same way), then answers 201 with a
small body. No evaluation, no storage, no logging: what is left of the service's request path is what
the benchmark measures against this. ``benchmarks/http.py`` runs it under the service's gunicorn
settings (``benchmarks/baseline_conf.py``).
"""

from __future__ import annotations

import json

from flask import Flask, request
from werkzeug import Response

import eligibility
from eligibility import InvalidSubmission
from eligibility.schemas import load_submission


def create_app() -> Flask:
    app = Flask(__name__)
    schema = eligibility.load_library().schema()

    @app.post("/v1/evaluations")
    def evaluate():
        try:
            load_submission(json.loads(request.get_data()), schema)
        except (ValueError, InvalidSubmission):
            return Response('{"status":422}', status=422, content_type="application/problem+json")
        return Response('{"status":"parsed"}', status=201, content_type="application/json")

    @app.get("/healthz")
    def health():
        return Response('{"status":"ok"}', content_type="application/json")

    return app
