"""Access control: every /v1 endpoint against every role (the technician's included), 401 and 403 as problems,
revocation at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from api import access
from services import keys
from services.audit import Caller

from .conftest import assert_problem, authorised, example, issue_key, post

ROLES = ("intake", "clinician", "admin", "technician")

# (method, path template, body) -> the roles that may call it; every other role gets a 403.
MATRIX = [
    ("POST", "/v1/evaluations", "submission", {"intake"}),
    ("GET", "/v1/evaluations/{id}", None, {"intake", "clinician"}),
    ("GET", "/v1/evaluations?review_status=pending", None, {"clinician"}),
    ("POST", "/v1/evaluations/{id}/review", "review", {"clinician"}),
    ("GET", "/v1/policies", None, {"intake", "clinician", "admin", "technician"}),
    ("GET", "/v1/policies/tms-clinical", None, {"intake", "clinician", "admin", "technician"}),
    ("GET", "/v1/keys", None, {"admin"}),
    ("POST", "/v1/keys", "key", {"admin"}),
    ("DELETE", "/v1/keys/{spare}", None, {"admin"}),
    ("GET", "/v1/audit", None, {"admin"}),
    ("POST", "/v1/courses", "course", {"clinician"}),
    ("GET", "/v1/courses?status=active", None, {"clinician"}),
    ("GET", "/v1/courses/{course}", None, {"clinician", "technician"}),
    ("POST", "/v1/courses/{course}/sessions", "session", {"clinician", "technician"}),
    ("POST", "/v1/courses/{course}/ratings", "rating", {"clinician", "technician"}),
    ("POST", "/v1/courses/{course}/adverse-events", "adverse event", {"clinician", "technician"}),
    ("POST", "/v1/courses/{fresh course}/end", "end", {"clinician"}),
    ("POST", "/v1/courses/{course}/next", "next", {"clinician"}),
]
SUCCESS = {"POST /v1/evaluations": 201, "POST /v1/evaluations/{id}/review": 201, "POST /v1/keys": 201,
           "POST /v1/courses": 201, "POST /v1/courses/{course}/sessions": 201,
           "POST /v1/courses/{course}/ratings": 201, "POST /v1/courses/{course}/adverse-events": 201,
           "POST /v1/courses/{course}/next": 201}
TODAY = datetime.now(UTC).date()
OPEN = ["/healthz", "/readyz", "/openapi.json", "/docs"]


def _bodies() -> dict:
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    course = {"planned_sessions": 30, "start_date": (TODAY - timedelta(days=5)).isoformat(),
              "baseline": {"instrument": "phq-9", "score": 20, "date": (TODAY - timedelta(days=6)).isoformat()}}
    return {"submission": example("classic-trd"), "key": json.dumps({"name": "matrix", "role": "admin"}),
            "review": json.dumps({"decision": "accept"}), None: None, "course": json.dumps(course),
            "session": json.dumps({"date": yesterday}),
            "rating": json.dumps({"instrument": "phq-9", "score": 12, "date": yesterday}),
            "adverse event": json.dumps({"date": yesterday, "kind": "headache", "severity": "mild",
                                         "action": "none"}),
            "end": json.dumps({"date": TODAY.isoformat(), "reason": "completed"}),
            "next": json.dumps({"kind": "extension", "as_of": TODAY.isoformat()})}


def test_the_role_matrix(app):
    """Each role, no key, a malformed header, an unknown key and a revoked key against each endpoint."""
    clients = {role: authorised(app, role) for role in ROLES}
    evaluation_id = post(clients["intake"], example("classic-trd")).get_json()["id"]

    def new_course() -> str:
        body = {**json.loads(_bodies()["course"]), "evaluation_id": evaluation_id}
        return clients["clinician"].post("/v1/courses", json=body).get_json()["id"]

    course_id = new_course()
    revoked = authorised(app, "admin", issue_key(app, "admin", "to revoke"))
    unit_of_work = app.extensions["tms-eligibility"].unit_of_work
    keys.revoke_key(unit_of_work(), next(k.id for k in keys.list_keys(unit_of_work()) if k.name == "to revoke"),
                    Caller())
    anonymous = app.test_client()
    unknown = app.test_client()
    unknown.environ_base["HTTP_AUTHORIZATION"] = "Bearer tms_" + "x" * 43
    malformed = app.test_client()
    malformed.environ_base["HTTP_AUTHORIZATION"] = "Basic dXNlcjpwYXNz"
    for method, template, body_name, allowed in MATRIX:
        for who, client in [*clients.items(), ("none", anonymous), ("unknown", unknown), ("malformed", malformed),
                            ("revoked", revoked)]:
            spare = keys.create_key(unit_of_work(), f"spare {method} {template} {who}", "intake", Caller()).record.id
            path = template.replace("{fresh course}", new_course() if "{fresh course}" in template else "") \
                .format(id=evaluation_id, spare=spare, course=course_id)
            if "review" in template:  # a fresh evaluation, so that every allowed review is a first review
                path = template.format(id=post(clients["intake"], example("classic-trd")).get_json()["id"])
            body = _bodies()[body_name]
            response = client.open(path, method=method, data=body,
                                   content_type="application/json" if body else None)
            if who in allowed:
                expected = SUCCESS.get(f"{method} {template}", 200)
                assert response.status_code == expected, (method, template, who, response.get_data(as_text=True))
            elif who in ROLES:
                problem = assert_problem(response, 403)
                assert who in problem["detail"]
            else:
                assert_problem(response, 401)
                assert response.headers["WWW-Authenticate"].startswith('Bearer realm="tms-eligibility"')


@pytest.mark.parametrize("path", OPEN)
def test_health_openapi_and_docs_need_no_key(app, path):
    with app.test_client().get(path) as response:
        assert response.status_code == 200


def test_a_revoked_key_fails_at_once_also_in_another_worker(make_app):
    """Two apps on one database stand for two gunicorn workers: a revocation in one holds in the other."""
    worker_a, worker_b = make_app(), make_app()
    key = issue_key(worker_a, "intake")
    client_a, client_b = authorised(worker_a, "intake", key), authorised(worker_b, "intake", key)
    assert post(client_a, example("classic-trd")).status_code == 201
    assert client_b.get("/v1/policies").status_code == 200
    admin = authorised(worker_b, "admin")
    key_id = next(k["id"] for k in admin.get("/v1/keys").get_json()["items"] if k["role"] == "intake")
    revoked = admin.delete(f"/v1/keys/{key_id}")
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert_problem(post(client_a, example("classic-trd")), 401)
    assert_problem(client_b.get("/v1/policies"), 401)
    assert admin.delete(f"/v1/keys/{key_id}").status_code == 200  # again: unchanged
    assert_problem(admin.delete("/v1/keys/0000000000000000"), 404)


def test_a_new_key_is_shown_once_and_stored_only_as_its_hash(app, admin):
    created = admin.post("/v1/keys", json={"name": "Grace Hopper", "role": "admin"})
    assert created.status_code == 201
    body = created.get_json()
    key = body["key"]
    assert keys.KEY_SHAPE.fullmatch(key) and body["role"] == "admin" and body["revoked_at"] is None
    listed = admin.get("/v1/keys").get_json()["items"]
    assert key not in json.dumps(listed) and any(k["id"] == body["id"] for k in listed)
    import sqlalchemy as sa

    from storage.tables import api_keys
    with app.extensions["tms-eligibility"].database.engine.connect() as conn:
        stored = conn.execute(sa.select(api_keys).where(api_keys.c.id == body["id"])).mappings().one()
    assert key not in json.dumps({k: str(v) for k, v in stored.items()})
    assert stored["key_hash"] == keys.token_hash(key)
    assert authorised(app, "admin", key).get("/v1/keys").status_code == 200


@pytest.mark.parametrize("document", [{"name": "", "role": "intake"}, {"name": "x", "role": "root"},
                                      {"name": "a\nb", "role": "intake"}, {"name": "x"}, {"name": "x" * 101,
                                                                                           "role": "admin"},
                                      {"name": "x", "role": "admin", "extra": 1}, {"name": "   ", "role": "admin"}])
def test_bad_key_requests_are_422(admin, document):
    assert_problem(admin.post("/v1/keys", json=document), 422)


def test_every_v1_route_declares_its_roles(app):
    """Fail closed: a /v1 view without @requires would be refused to everyone, so none may lack it."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert access.access_of(app.view_functions[rule.endpoint], method), (rule.rule, method)


def test_the_openapi_document_describes_the_scheme_and_every_401_and_403(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            if path.startswith("/v1"):
                assert operation["security"] == [{"apiKey": []}], (path, method)
                assert {"401", "403"} <= set(operation["responses"]), (path, method)
                assert set(operation["x-roles"]) <= set(ROLES)
            elif path.startswith("/cds-services"):  # the EHR's signed JWT, not an API key
                assert operation["security"] == [{"ehrJwt": []}], (path, method)
                assert "401" in operation["responses"], (path, method)
            else:
                assert operation["security"] == [], (path, method)
    assert spec["components"]["securitySchemes"]["ehrJwt"]["bearerFormat"] == "JWT"
    assert spec["paths"]["/v1/evaluations"]["post"]["x-roles"] == ["intake"]
    assert spec["paths"]["/v1/evaluations/{evaluation_id}/review"]["post"]["x-roles"] == ["clinician"]
    assert "UNAUTHORIZED" in spec["components"]["responses"] and "FORBIDDEN" in spec["components"]["responses"]


def test_a_denied_attempt_is_audited_and_a_missing_key_is_not(app, client):
    admin = authorised(app, "admin")
    assert_problem(client.get("/v1/audit"), 403)
    assert_problem(app.test_client().get("/v1/audit"), 401)
    rows = admin.get("/v1/audit").get_json()["items"]
    denied = [r for r in rows if r["outcome"] == "denied"]
    assert [(r["action"], r["actor_role"], r["status"]) for r in denied] == [("audit.read", "intake", 403)]
