"""POST and GET /v1/evaluations and the review queue, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from storage.tables import evaluation_policies, evaluations

from .conftest import EXPECTED, authorised, example, post, rows


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_is_created_with_its_documented_determination_and_read_back_byte_for_byte(client, name):
    created = post(client, example(name))
    assert created.status_code == 201
    body = created.get_json()
    assert [r["determination"] for r in body["results"]] == [EXPECTED[name]]
    assert body["review"] == {"status": "pending"}
    assert created.headers["Location"] == f"/v1/evaluations/{body['id']}"
    assert created.headers["Cache-Control"] == "no-store"
    fetched = client.get(created.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.get_data() == created.get_data()


def test_the_result_has_the_contracts_members_in_request_order(client):
    submission = json.loads(example("classic-trd"))
    body = post(client, submission).get_json()
    assert list(body) == ["id", "created_at", "as_of", "reference", "results", "review", "warnings"]
    assert body["as_of"] == "2026-11-02" and body["reference"] == "referral-1001"
    assert body["created_at"].endswith("Z")
    result = body["results"][0]
    assert result["policy"]["id"] == "tms-clinical" and result["policy"]["digest"].startswith("sha256:")
    assert {"criteria", "missing_information", "cautions", "documentation_requirements", "measures"} <= set(result)


def test_a_stored_evaluation_holds_what_the_issue_lists_and_nothing_else_is_written(app, client):
    raw = example("classic-trd")
    response = post(client, raw, **{"X-Request-Id": "req-123"})
    body = response.get_json()
    with app.extensions["tms-eligibility"].database.engine.connect() as conn:
        row = conn.execute(sa.select(evaluations).where(evaluations.c.id == body["id"])).mappings().one()
        policy_rows = conn.execute(sa.select(evaluation_policies)).mappings().all()
    assert row["submission"] == raw.decode() and row["result"] == response.get_data(as_text=True)
    assert row["as_of"].isoformat() == "2026-11-02" and row["reference"] == "referral-1001"
    assert row["request_id"] == "req-123" and row["review_status"] == "pending"
    assert row["idempotency_key"] is None and row["body_digest"].startswith("sha256:")
    policy = body["results"][0]["policy"]
    assert [(p["position"], p["policy_id"], p["policy_version"], p["policy_digest"], p["determination"])
            for p in policy_rows] == [(0, "tms-clinical", policy["version"], policy["digest"], "meets_criteria")]
    assert rows(app) == {"evaluations": 1, "evaluation_policies": 1}


def test_get_returns_the_stored_bytes_even_when_the_stored_result_differs_from_a_fresh_evaluation(app, client):
    created = post(client, example("classic-trd"))
    evaluation_id = created.get_json()["id"]
    altered = created.get_data(as_text=True).replace('"reason":"', '"reason":"(as first stored) ', 1)
    with app.extensions["tms-eligibility"].database.engine.begin() as conn:
        conn.execute(evaluations.update().where(evaluations.c.id == evaluation_id).values(result=altered))
    assert client.get(f"/v1/evaluations/{evaluation_id}").get_data(as_text=True) == altered


def test_the_default_policies_come_from_configuration(make_app, tmp_path):
    app = make_app(DEFAULT_POLICIES=("tms-clinical",))
    client = authorised(app, "intake")
    body = post(client, {"patient": {}}).get_json()
    assert [r["policy"]["id"] for r in body["results"]] == ["tms-clinical"]


def test_unknown_evaluation_ids_are_404_problems(client):
    for path in ("/v1/evaluations/" + "0" * 32, "/v1/evaluations/not-an-id", "/v1/evaluations/%00"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_the_queue_lists_newest_first_in_pages_joined_by_cursors(client, clinician):
    ids = [post(client, example(name)).get_json()["id"] for name in ("classic-trd", "aneurysm-clip",
                                                                      "incomplete-referral")]
    client = clinician
    first = client.get("/v1/evaluations?review_status=pending&limit=2")
    assert first.status_code == 200
    page = first.get_json()
    assert [i["id"] for i in page["items"]] == ids[::-1][:2]
    assert page["items"][0]["policies"][0]["determination"] == "insufficient_information"
    assert first.headers["Link"] == f'</v1/evaluations?limit=2&cursor={page["next_cursor"]}&review_status=pending>; ' \
                                    'rel="next"'
    second = client.get(f"/v1/evaluations?review_status=pending&limit=2&cursor={page['next_cursor']}").get_json()
    assert [i["id"] for i in second["items"]] == ids[:1]
    assert second["next_cursor"] is None
    assert client.get("/v1/evaluations?review_status=accepted").get_json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "cursor=abc", "cursor=0", "review_status=done"])
def test_bad_queue_parameters_are_422_problems_keyed_by_parameter(clinician, query):
    response = clinician.get(f"/v1/evaluations?{query}")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["/" + query.split("=")[0]]
