"""POST /v1/fhir/evaluations: a FHIR R4 Bundle evaluated, stored and reviewable, with its mapping report."""

from __future__ import annotations

import json

import pytest

from ..fhir.support import bundle, condition, fhir_example
from .conftest import assert_problem, issue_key, review, rows
from .test_page import sign_in

FHIR = "application/fhir+json"


def post_bundle(client, document, query="?policy=tms-clinical&as_of=2026-11-02", **headers):
    body = document if isinstance(document, bytes | str) else json.dumps(document)
    return client.post("/v1/fhir/evaluations" + query, data=body, content_type=FHIR, headers=headers)


def test_a_bundle_is_evaluated_stored_with_its_mapping_and_read_back_byte_for_byte(client):
    created = post_bundle(client, fhir_example("classic-trd"))
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert [r["determination"] for r in body["results"]] == ["meets_criteria"]
    assert body["as_of"] == "2026-11-02" and body["review"] == {"status": "pending"}
    assert body["mapping"]["fields"]["/scales/0/score"] == ["Observation/obs-4"]
    assert body["mapping"]["ignored"] == []
    assert created.headers["Location"] == f"/v1/evaluations/{body['id']}"
    fetched = client.get(created.headers["Location"])
    assert fetched.get_data() == created.get_data()


def test_an_evaluation_from_a_bundle_is_reviewable_like_any(client, clinician):
    evaluation_id = post_bundle(client, fhir_example("aneurysm-clip")).get_json()["id"]
    assert review(clinician, evaluation_id, decision="accept").status_code == 201
    reviewed = clinician.get(f"/v1/evaluations/{evaluation_id}").get_json()
    assert reviewed["review"]["status"] == "accepted"
    assert reviewed["results"][0]["determination"] == "contraindicated"
    assert "mapping" in reviewed


def test_the_policies_of_the_query_are_evaluated_in_order(client):
    body = post_bundle(client, fhir_example("long-history"),
                       "?policy=aetna-cpb-0469&policy=tms-clinical&as_of=2026-11-02").get_json()
    assert [(r["policy"]["id"], r["determination"]) for r in body["results"]] == [
        ("aetna-cpb-0469", "insufficient_information"), ("tms-clinical", "meets_criteria")]


def test_an_invalid_bundle_is_a_422_with_pointers_into_it_and_stores_nothing(app, client):
    document = bundle(condition("F33.2"), patient={"birthDate": "not a date"})
    before = rows(app)
    problem = assert_problem(post_bundle(client, document), 422)
    assert set(problem["errors"]) == {"/entry/0/resource/birthDate"}
    assert problem["title"] == "Invalid FHIR Bundle"
    assert rows(app) == before


@pytest.mark.parametrize(("query", "key"), [("?policy=nonesuch", "policy"), ("?as_of=yesterday", "as_of")])
def test_bad_query_parameters_are_422_problems_keyed_by_name(client, query, key):
    problem = assert_problem(post_bundle(client, bundle(), query), 422)
    assert any(k == key or k.startswith(key) or k.startswith("/" + key) for k in problem["errors"]), problem


def test_a_bundle_is_read_as_fhir_json_or_json_and_anything_else_is_a_415(client):
    as_json = client.post("/v1/fhir/evaluations?policy=tms-clinical,aetna-cpb-0469&as_of=2026-11-02",
                          data=json.dumps(fhir_example("classic-trd")), content_type="application/json")
    assert as_json.status_code == 201
    assert [r["policy"]["id"] for r in as_json.get_json()["results"]] == ["tms-clinical", "aetna-cpb-0469"]
    response = client.post("/v1/fhir/evaluations", data=json.dumps(bundle()), content_type="text/plain")
    assert_problem(response, 415)


def test_the_idempotency_key_replays_the_same_bundle_and_query(client):
    first = post_bundle(client, fhir_example("classic-trd"), **{"Idempotency-Key": "k-1"})
    again = post_bundle(client, fhir_example("classic-trd"), **{"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_data() == first.get_data()
    other = post_bundle(client, fhir_example("classic-trd"), "?policy=aetna-cpb-0469&as_of=2026-11-02",
                        **{"Idempotency-Key": "k-1"})
    assert_problem(other, 422)


def test_the_review_page_shows_an_evaluation_made_from_a_bundle(app, client):
    evaluation_id = post_bundle(client, fhir_example("classic-trd")).get_json()["id"]
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    page = browser.get(f"/review/evaluations/{evaluation_id}")
    assert page.status_code == 200
    assert evaluation_id.encode() in page.get_data()
