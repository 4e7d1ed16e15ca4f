"""The CDS Hooks service: the EHR's JWT, discovery, hooks answered with cards from stored evaluations, feedback."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from ..fhir.support import fhir_example
from .cds_support import (
    HOOK_PATH,
    ISSUER,
    SERVICE_URL,
    Ehr,
    FakeFhirServer,
    bearer,
    history_prefetch,
    tms_service_request,
)
from .conftest import assert_problem, authorised, rows


@pytest.fixture
def cds_app(make_cds_app):
    return make_cds_app("tms-clinical")


def hook_request(prefetch: dict | None, *, orders=None, hook="order-sign", patient="p-1", **more) -> dict:
    orders = [tms_service_request(f"Patient/{patient}")] if orders is None else orders
    request = {"hookInstance": "4b3e1c0a-5a77-4f5e-9c55-0d9e8f1d2a11", "hook": hook,
               "context": {"userId": "Practitioner/dr-1", "patientId": patient,
                           "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                           "entry": [{"resource": o} for o in orders]}}, **more}
    if hook == "order-select":
        request["context"]["selections"] = [f"ServiceRequest/{o['id']}" for o in orders]
    if prefetch is not None:
        request["prefetch"] = prefetch
    return request


def call(client, ehr, document, path=HOOK_PATH, **token):
    return client.post(path, data=json.dumps(document), content_type="application/json",
                       headers=bearer(ehr.token(aud="http://localhost" + path, **token)))


def unsigned(header: dict, payload: dict) -> str:
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part(header)}.{part(payload)}."


# -- the EHR's JWT ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kid", ["es-1", "rs-1"])
def test_discovery_answers_an_es384_or_rs384_token_with_the_service_for_both_hooks(cds_app, ehr, kid):
    response = cds_app.test_client().get("/cds-services", headers=bearer(
        ehr.token(kid, aud="http://localhost/cds-services")))
    assert response.status_code == 200, response.get_data(as_text=True)
    services = response.get_json()["services"]
    assert [(s["id"], s["hook"]) for s in services] == [("tms-eligibility", "order-sign"),
                                                        ("tms-eligibility", "order-select")]
    assert set(services[0]["prefetch"]) == {"patient", "conditions", "medicationRequests", "medicationStatements",
                                            "observations", "procedures"}
    assert services[0]["prefetch"]["patient"] == "Patient/{{context.patientId}}"


def _refused_tokens(ehr):
    now = time.time()
    claims = {"iss": ISSUER, "aud": SERVICE_URL, "exp": int(now + 300), "iat": int(now), "jti": "j-1"}
    return {
        "no token": None,
        "wrong aud": ehr.token(aud="https://elsewhere.example/cds-services/tms-eligibility"),
        "expired": ehr.token(issued=now - 3600, lifetime=300),
        "issued in the future": ehr.token(issued=now + 3600),
        "unknown kid": jwt.encode(claims, ehr.keys["es-1"][1], algorithm="ES384", headers={"kid": "nope"}),
        "alg none": unsigned({"alg": "none", "typ": "JWT", "kid": "es-1"}, claims),
        "HS256": jwt.encode(claims, "a shared secret that is long enough for hs256", algorithm="HS256",
                            headers={"kid": "es-1"}),
        "unknown issuer": ehr.token(iss="https://other-ehr.example"),
        "key of another algorithm": ehr.token("rs-1", alg="RS256"),
        "signed by another key": jwt.encode(claims, Ehr().keys["es-1"][1], algorithm="ES384",
                                            headers={"kid": "es-1"}),
        "no jti": jwt.encode({k: v for k, v in claims.items() if k != "jti"}, ehr.keys["es-1"][1],
                             algorithm="ES384", headers={"kid": "es-1"}),
    }


@pytest.mark.parametrize("case", ["no token", "wrong aud", "expired", "issued in the future", "unknown kid",
                                  "alg none", "HS256", "unknown issuer", "key of another algorithm",
                                  "signed by another key", "no jti"])
def test_a_token_that_is_not_acceptable_is_a_401_problem(cds_app, ehr, case):
    token = _refused_tokens(ehr)[case]
    headers = bearer(token) if token else {}
    response = cds_app.test_client().post(HOOK_PATH, data=json.dumps(hook_request(None)),
                                          content_type="application/json", headers=headers)
    problem = assert_problem(response, 401)
    assert "Bearer" in response.headers["WWW-Authenticate"]
    assert token is None or token not in problem["detail"]


def test_a_replayed_jti_is_refused_within_its_lifetime(cds_app, ehr):
    client = cds_app.test_client()
    token = ehr.token(aud="http://localhost/cds-services")
    assert client.get("/cds-services", headers=bearer(token)).status_code == 200
    assert_problem(client.get("/cds-services", headers=bearer(token)), 401)
    assert client.get("/cds-services", headers=bearer(ehr.token(aud="http://localhost/cds-services"))).status_code \
        == 200


def test_without_configured_issuers_every_call_is_refused(make_app, ehr):
    app = make_app()
    assert_problem(app.test_client().get("/cds-services", headers=bearer(
        ehr.token(aud="http://localhost/cds-services"))), 401)


# -- hooks ------------------------------------------------------------------------------------------------

def test_an_order_sign_with_a_tms_order_gets_a_card_from_a_stored_evaluation(cds_app, ehr):
    prefetch = history_prefetch(fhir_example("classic-trd"), "p-1")
    response = call(cds_app.test_client(), ehr, hook_request(prefetch))
    assert response.status_code == 200, response.get_data(as_text=True)
    (card,) = response.get_json()["cards"]
    assert card["indicator"] == "info" and len(card["summary"]) < 140
    assert card["summary"].startswith("TMS order meets the criteria")
    assert card["source"]["label"] == "TMS eligibility project (clinical default, independent of any payer)"
    link = card["links"][0]
    assert link["type"] == "absolute" and link["url"].startswith("http://localhost/review/evaluations/")
    evaluation_id = link["url"].rsplit("/", 1)[1]
    stored = authorised(cds_app, "clinician").get(f"/v1/evaluations/{evaluation_id}").get_json()
    assert stored["results"][0]["determination"] == "meets_criteria"
    assert stored["mapping"]["fields"]["/request/sessions"] == ["ServiceRequest/tms-order-1"]


def test_a_contraindication_is_a_critical_card_saying_what_is_not_met(cds_app, ehr):
    prefetch = history_prefetch(fhir_example("aneurysm-clip"), "p-1")
    (card,) = call(cds_app.test_client(), ehr, hook_request(prefetch)).get_json()["cards"]
    assert card["indicator"] == "critical"
    assert "(not met)" in card["detail"]


def test_an_incomplete_record_is_a_warning_card_saying_what_to_add(cds_app, ehr):
    prefetch = history_prefetch(fhir_example("incomplete-referral"), "p-1")
    (card,) = call(cds_app.test_client(), ehr, hook_request(prefetch, hook="order-select")).get_json()["cards"]
    assert card["indicator"] == "warning"
    assert "(unknown)" in card["detail"] and "  - Add: " in card["detail"]


def test_without_a_tms_order_there_are_no_cards_and_nothing_is_stored(cds_app, ehr):
    other = {**tms_service_request("Patient/p-1"), "code": {"coding": [{"system": "http://snomed.info/sct",
                                                                        "code": "726551006"}]}}
    before = rows(cds_app)
    response = call(cds_app.test_client(), ehr, hook_request(None, orders=[other]))
    assert response.status_code == 200 and response.get_json() == {"cards": []}
    assert rows(cds_app) == before


def test_missing_prefetch_without_a_fhir_server_is_a_412(cds_app, ehr):
    prefetch = history_prefetch(fhir_example("classic-trd"), "p-1")
    del prefetch["observations"]
    before = rows(cds_app)
    assert_problem(call(cds_app.test_client(), ehr, hook_request(prefetch)), 412)
    assert rows(cds_app) == before


def test_missing_prefetch_is_fetched_from_the_fhir_server_with_the_hooks_authorization(cds_app, ehr):
    records = history_prefetch(fhir_example("classic-trd"), "p-1")
    prefetch = {"patient": records["patient"]}
    with FakeFhirServer(records, token="T-123").running() as fhir:
        request = hook_request(prefetch, fhirServer=fhir.url,
                               fhirAuthorization={"access_token": "T-123", "token_type": "Bearer",
                                                  "expires_in": 300, "scope": "user/*.read", "subject": "tms"})
        response = call(cds_app.test_client(), ehr, request)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["cards"][0]["indicator"] == "info"
    assert sorted(path.split("?")[0] for path, _ in fhir.requests) == [
        "/r4/Condition", "/r4/MedicationRequest", "/r4/MedicationStatement", "/r4/Observation", "/r4/Procedure"]
    assert {auth for _, auth in fhir.requests} == {"Bearer T-123"}


def test_a_fhir_server_that_refuses_is_a_412(cds_app, ehr):
    records = history_prefetch(fhir_example("classic-trd"), "p-1")
    with FakeFhirServer(records, token="right").running() as fhir:
        request = hook_request({"patient": records["patient"]}, fhirServer=fhir.url,
                               fhirAuthorization={"access_token": "wrong", "token_type": "Bearer"})
        assert_problem(call(cds_app.test_client(), ehr, request), 412)


def test_a_request_that_is_not_a_hook_request_is_a_422(cds_app, ehr):
    problem = assert_problem(call(cds_app.test_client(), ehr, {"hook": "patient-view"}), 422)
    assert {"/hook", "/hookInstance", "/context"} <= set(problem["errors"])
    local = hook_request(None, fhirServer="file:///etc")
    assert set(assert_problem(call(cds_app.test_client(), ehr, local), 422)["errors"]) == {"/fhirServer"}


def test_feedback_on_a_card_goes_into_the_audit_trail_with_its_evaluation(cds_app, ehr):
    client = cds_app.test_client()
    prefetch = history_prefetch(fhir_example("classic-trd"), "p-1")
    card = call(client, ehr, hook_request(prefetch)).get_json()["cards"][0]
    evaluation_id = card["links"][0]["url"].rsplit("/", 1)[1]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden",
                              "overrideReason": {"reason": {"code": "patient-ineligible", "display": "Ineligible"}},
                              "outcomeTimestamp": "2026-11-02T10:00:00Z"}]}
    response = call(client, ehr, feedback, path=HOOK_PATH + "/feedback")
    assert response.status_code == 200 and response.get_json() == {"recorded": 1}
    trail = authorised(cds_app, "admin").get("/v1/audit?action=cds.feedback").get_json()["items"]
    assert [(e["outcome"], e["channel"], e["evaluation_id"]) for e in trail] == [
        ("overridden", "cds", evaluation_id)]
    assert_problem(call(client, ehr, {"feedback": [{"card": card["uuid"]}]}, path=HOOK_PATH + "/feedback"), 422)
