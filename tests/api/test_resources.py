"""Policies, health, readiness, the OpenAPI document and the docs page."""

from __future__ import annotations

import json
import re

import openapi_spec_validator

from .conftest import assert_problem


def test_policies_lists_every_loaded_policy_with_version_and_digest(app, client):
    body = client.get("/v1/policies").get_json()
    library = app.extensions["tms-eligibility"].library
    assert [p["id"] for p in body["items"]] == list(library.policies)
    assert body["default_policies"] == ["tms-clinical"]
    item = body["items"][0]
    policy = library.policies[item["id"]]
    assert (item["version"], item["digest"], item["effective_date"]) == (
        policy.version, policy.digest, policy.effective_date.isoformat())


def test_a_policy_shows_sources_with_unconfirmed_marks_parameters_and_criteria_titles(app, client):
    body = client.get("/v1/policies/tms-clinical").get_json()
    policy = app.extensions["tms-eligibility"].library.policies["tms-clinical"]
    assert [c["title"] for c in body["criteria"]] == [c.title for c in policy.criteria]
    assert {s["key"]: s["status"] for s in body["sources"]} == {k: s.status for k, s in policy.sources.items()}
    unconfirmed = [p["name"] for p in body["parameters"] if p["status"] == "unconfirmed"]
    assert unconfirmed == [n for n, note in policy.parameter_notes.items() if note["status"] == "unconfirmed"]


def test_an_unknown_policy_is_404(client):
    assert_problem(client.get("/v1/policies/nope"), 404)


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["checks"]["database"]["ok"] and ready["checks"]["policies"]["ok"]


def test_readiness_fails_before_migrations(make_app, tmp_path):
    client = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}").test_client()
    body = assert_problem(client.get("/readyz"), 503)
    assert not body["checks"]["database"]["ok"] and "db upgrade" in body["checks"]["database"]["detail"]


def test_every_response_carries_the_callers_request_id_or_a_new_one(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/nowhere").headers["X-Request-Id"]


def test_the_openapi_document_is_valid_openapi_3_1(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    openapi_spec_validator.validate(spec)


def test_the_document_covers_every_route_and_error(app, client):
    spec = client.get("/openapi.json").get_json()
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule) for r in app.url_map.iter_rules()
              if r.endpoint not in ("static",) and not r.endpoint.startswith(("docs.", "review_page."))}
    assert routes == set(spec["paths"])
    post = spec["paths"]["/v1/evaluations"]["post"]
    assert {"200", "201", "400", "413", "415", "422", "503", "default"} <= set(post["responses"])
    submission = spec["components"]["schemas"]["Submission"]
    assert submission["additionalProperties"] is False and "patient" in submission["required"]
    loaded = sorted(app.extensions["tms-eligibility"].library.policies)
    assert submission["properties"]["policies"]["items"]["enum"] == loaded
    assert spec["components"]["schemas"]["Patient"]["properties"]["age"]["maximum"] == 130


def test_docs_render_from_assets_the_app_serves_itself(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets)
    for asset in assets:
        with client.get(asset) as response:  # static files are streamed: close them
            assert response.status_code == 200, asset
    assert 'data-spec="/openapi.json"' in html


def test_the_openapi_document_is_served_as_json(client):
    response = client.get("/openapi.json")
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data())["info"]["title"] == "TMS eligibility"
