"""The review page's own routes under generated input: whatever a client puts in a query string or a form, the
page answers with a page, a redirect or a 4xx, never a 5xx.

schemathesis (``tests/robustness/test_fuzz.py``) covers the JSON API from its OpenAPI document; the page's
routes are not in that document, so their parameters are generated here with Hypothesis instead: unicode
digits ("²", "٣"), numbers past 2**63, NUL-free control characters, long strings, and the values the routes
do know, signed in with a real session and a valid CSRF token (so each request reaches the code behind the
token check).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import example, issue_key, post

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# Text a client can send: unicode (no NUL or surrogates, which the test client cannot encode), the numbers
# that broke ASCII and 64-bit checks, and the routes' own words.
edge = st.sampled_from(["", "0", "1", "-1", "²", "٣", "9999999999999999999", "1e309", "NaN", " 1", "1 ",
                        "accept", "override", "meets_criteria", "contraindicated", "pending", "all", "oldest",
                        "tms-clinical", "aetna-cpb-0469", "any", "active", "ended", "retreatment", "x" * 5000])
text = st.one_of(edge, st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                               max_size=40))
NAMES = ("status", "policy", "determination", "cursor", "sort", "mine", "recorded", "course", "alert",
         "evaluation", "decision", "reason", "amends", "attested", "date", "kind", "sessions", "as_of", "policies",
         "instrument", "score", "item9", "pulses", "completed", "description", "severity", "key")
fields = st.fixed_dictionaries({}, optional={name: text for name in NAMES})  # each name present or not


@pytest.fixture
def signed_in(app):
    """A clinician's and a technician's signed-in test clients, a stored evaluation and a course of it."""
    intake = app.test_client()
    intake.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {issue_key(app, 'intake')}"
    evaluation_id = post(intake, example("classic-trd")).get_json()["id"]
    clinician_key, technician_key = issue_key(app, "clinician"), issue_key(app, "technician")
    api = app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {clinician_key}"
    course = api.post("/v1/courses", json={"kind": "initial", "protocol": "rtms_10hz", "planned_sessions": 30,
                                           "start_date": "2026-11-02", "evaluation_id": evaluation_id,
                                           "baseline": {"instrument": "phq-9", "score": 22, "date": "2026-11-01"}})
    assert course.status_code == 201, course.get_data(as_text=True)
    browsers = {}
    for role, key in (("clinician", clinician_key), ("technician", technician_key)):
        browser = app.test_client()
        token = CSRF.search(browser.get("/review/sign-in").get_data(as_text=True)).group(1)
        assert browser.post("/review/sign-in", data={"key": key, "csrf_token": token}).status_code == 303
        browsers[role] = browser
    return browsers, evaluation_id, course.get_json()["id"]


def _token(browser, path: str) -> str:
    found = CSRF.search(browser.get(path).get_data(as_text=True))
    return found.group(1) if found else ""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=fields, form=fields, which=st.integers(0, 9), path_id=st.one_of(st.none(), text))
def test_no_page_route_answers_a_server_error(signed_in, query, form, which, path_id):
    browsers, evaluation_id, course_id = signed_in
    clinician, technician = browsers["clinician"], browsers["technician"]
    # a generated id is one path segment, quoted as a browser would send it
    evaluation, course = quote(path_id or evaluation_id, safe=""), quote(path_id or course_id, safe="")
    evaluation_page, course_page = f"/review/evaluations/{evaluation_id}", f"/review/courses/{course_id}"
    requests = [
        (clinician, "GET", "/review/queue", None),
        (clinician, "GET", f"/review/evaluations/{evaluation}", None),
        (clinician, "GET", f"/review/evaluations/{evaluation}/packet", None),
        (clinician, "POST", f"/review/evaluations/{evaluation}", evaluation_page),
        (clinician, "GET", "/review/courses", None),
        (technician, "GET", "/review/courses/open", None),
        (technician, "GET", f"/review/courses/{course}", None),
        (technician, "POST", f"/review/courses/{course}/{('sessions', 'ratings', 'adverse-events')[which % 3]}",
         course_page),
        (clinician, "POST", f"/review/courses/{course}/{('end', 'next')[which % 2]}", course_page),
        (clinician.application.test_client(), "POST", "/review/sign-in", "/review/sign-in"),
    ]
    browser, method, path, token_page = requests[which]
    if method == "GET":
        response = browser.get(path, query_string=query)
    else:
        data = {**form, "csrf_token": _token(browser, token_page)}
        response = browser.post(path, query_string=query, data=data)
    assert response.status_code < 500, (method, path, query, form, response.get_data(as_text=True)[:500])
