"""Schema fuzzing: schemathesis generates requests from ``/openapi.json`` and checks every answer.

Every documented operation is called, with a key of a role that may call it, with valid and invalid data
(schemathesis's examples, coverage and fuzzing phases), in process through WSGI, on SQLite and on
PostgreSQL. The checks: no 5xx; the status code, content type, headers and body of every response are what
the document says; a request that breaks the schema is refused (unknown query parameters aside: they are
ignored); and every 4xx is a problem document whose ``status`` and ``request_id`` match the response.
The budget (at least 2,000 requests per database) is asserted at the end; the time taken is printed.

Not checked: ``positive_data_acceptance``. A body that the document allows can still be refused with a 422
for rules JSON Schema cannot state (a score outside its instrument's range, ``end_date`` before
``start_date``, an ``Idempotency-Key`` reused with another body), so that check would fail on correct
behaviour.

A longer run (the examples are per operation, for ``POST /v1/evaluations``; the other operations get a quarter):

    TMS_FUZZ_EXAMPLES=5000 TMS_FUZZ_RANDOM=1 python -m pytest -p no:randomly tests/robustness/test_fuzz.py -s

``TMS_FUZZ_RANDOM=1`` draws new data each run; by default the run is derandomised, so CI is repeatable.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from api import access, create_app
from tests.api.conftest import issue_key

pytestmark = pytest.mark.fuzz

DEFAULT_EXAMPLES = 600
EXAMPLES = int(os.environ.get("TMS_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
RANDOM = os.environ.get("TMS_FUZZ_RANDOM") == "1"
BUDGET_REQUESTS = 2000
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "request_id"}

load_all_checks()
CHECK_NAMES = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_headers_conformance", "response_schema_conformance")
CHECKS_RUN = [CHECKS.get_one(name) for name in CHECK_NAMES]
_NEGATIVE_DATA_REJECTION = CHECKS.get_one("negative_data_rejection")


def invalid_requests_are_refused(ctx, response, case):
    """schemathesis's ``negative_data_rejection``, less one false alarm: the service ignores query parameters
    it does not know (webargs' default for the query string), which schemathesis reports for some names
    (``?=true``, ``?8=null``) as invalid data accepted. A case with such a parameter is not judged here."""
    declared = {parameter.name for parameter in case.operation.query}
    if case.query and set(case.query) - declared:
        return None
    return _NEGATIVE_DATA_REJECTION(ctx, response, case)

# database kind -> operation label -> requests sent; database kind -> seconds spent fuzzing it
SENT: dict[str, Counter] = defaultdict(Counter)
SECONDS: dict[str, float] = defaultdict(float)


def every_error_is_a_problem(ctx, response, case):
    """Each 4xx and 5xx is ``application/problem+json`` with the RFC 9457 members, its status and request id."""
    assert "x-request-id" in response.headers, "no X-Request-Id header"
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.split(";")[0].strip() == "application/problem+json", \
        f"{response.status_code} answered with {content_type!r}, not a problem"
    body = response.json()
    assert isinstance(body, dict) and set(body) >= PROBLEM_MEMBERS, f"problem members missing: {body}"
    assert body["status"] == response.status_code, body
    assert body["request_id"] == response.headers["x-request-id"][0], body
    if response.status_code == 422:
        assert isinstance(body.get("errors"), dict) and body["errors"], body
    return None


def _document() -> dict:
    """The service's OpenAPI document (building an app opens no database connection)."""
    app = create_app({"DATABASE_URL": "sqlite://", "LOG_LEVEL": "WARNING"})
    return json.loads(app.extensions["tms-eligibility"].static_bodies["openapi"])


schema = schemathesis.openapi.from_dict(_document())
fuzz_settings = dict(deadline=None, derandomize=not RANDOM, database=None, suppress_health_check=list(HealthCheck))


def _roles(app) -> dict[tuple[str, str], str]:
    """(method, OpenAPI path) -> a role whose key may call it (from the views' ``@requires``)."""
    roles = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods:
            found = access.access_of(app.view_functions[rule.endpoint], method)
            if found is not None:
                roles[(method, path)] = found.roles[0]
    return roles


@pytest.fixture
def fuzzed_app(request, make_app):
    """An app on the test's database with a key of each role, and (method, path) -> Authorization header.
    The time the test takes is added to its database's total."""
    started = time.monotonic()
    app = make_app(LOG_LEVEL="WARNING")
    keys = {role: issue_key(app, role) for role in access.ROLES}
    yield app, {where: {"Authorization": f"Bearer {keys[role]}"} for where, role in _roles(app).items()}
    SECONDS[request.node.callspec.params["database"]] += time.monotonic() - started


def _call(case, request, fuzzed_app):
    """Send the case with a key whose role may call its operation; check the answer."""
    kind = request.node.callspec.params["database"]
    app, headers = fuzzed_app
    case.call_and_validate(app=app, headers=headers.get((case.method.upper(), case.path), {}), checks=CHECKS_RUN,
                           additional_checks=[invalid_requests_are_refused, every_error_is_a_problem])
    SENT[kind][case.operation.label] += 1


@schema.include(method="POST", path="/v1/evaluations").parametrize()
@settings(max_examples=EXAMPLES, **fuzz_settings)
def test_evaluations_post(case, request, fuzzed_app):
    _call(case, request, fuzzed_app)


@schema.exclude(method="POST", path="/v1/evaluations").parametrize()
@settings(max_examples=max(EXAMPLES // 4, 1), **fuzz_settings)
def test_every_other_operation(case, request, fuzzed_app):
    _call(case, request, fuzzed_app)


def test_the_budget_was_spent():
    """At least 2,000 requests per database when the whole module ran; the time is printed, not asserted (it swings
    with the machine's load)."""
    if not SENT:
        pytest.skip("the fuzzing tests did not run")
    for kind, counts in SENT.items():
        total, seconds = sum(counts.values()), SECONDS[kind]
        print(f"\nschemathesis on {kind}: {total} requests in {seconds:.1f} s: {dict(counts)}")
        assert len(counts) >= 12, f"{kind}: only {sorted(counts)} were called"
        assert total >= BUDGET_REQUESTS, f"{kind}: only {total} requests"
