"""The CDS Hooks service against material written elsewhere: the CDS Hooks specification's example JWT and JWK
Set, HL7 Da Vinci CRD's CRDServiceRequest.json and the Inferno CRD test kit's hook requests
(tests/fixtures/cds-hooks/README.md says where each comes from)."""

from __future__ import annotations

import json

import pytest

from services import ehr_tokens
from services.memory import InMemoryUnitOfWork

from ..fhir.support import fhir_example
from .cds_support import HOOK_PATH, FakeFhirServer, bearer, fixture, history_prefetch, with_tms_order
from .conftest import rows

INDICATORS = {"info", "warning", "critical"}


def assert_valid_card(card: dict) -> None:
    """The specification's card rules (CDS Hooks 2.0, "Card Attributes" and "Use of JSON")."""
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
    assert card["indicator"] in INDICATORS
    assert isinstance(card["source"], dict) and isinstance(card["source"]["label"], str) and card["source"]["label"]
    if "url" in card["source"]:
        assert card["source"]["url"].startswith(("http://", "https://"))
    assert isinstance(card.get("uuid"), str) and card["uuid"]
    if "detail" in card:
        assert isinstance(card["detail"], str)
    if "suggestions" in card:
        assert card.get("selectionBehavior") in ("at-most-one", "any")
        assert all(isinstance(s.get("uuid"), str) and s.get("label") for s in card["suggestions"])
    if "overrideReasons" in card:
        assert all(r.get("display") for r in card["overrideReasons"])
    for link in card.get("links", []):
        assert link["label"] and link["type"] in ("absolute", "smart")
        assert link["type"] != "absolute" or link["url"].startswith(("http://", "https://"))

    def no_empty(value, where):
        assert value is not None and value != "" and value != [] and value != {}, where
        if isinstance(value, dict):
            for k, v in value.items():
                no_empty(v, f"{where}/{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                no_empty(v, f"{where}/{i}")

    no_empty(card, "card")


# -- the specification's example token --------------------------------------------------------------------

def test_the_specifications_example_token_verifies_against_its_example_jwk_set():
    example = fixture("spec-jwt-example.json")
    issuer = example["payload"]["iss"]
    jwks = ehr_tokens.JwksCache({issuer: ehr_tokens.Issuer(issuer, "published")}, reader=lambda _: example["jwks"])
    # The example expired in 2015: only its signature, algorithm, kid, issuer and aud are checked here.
    accepted = ehr_tokens.verify(example["token"], audience=example["payload"]["aud"], jwks=jwks,
                                 uow=InMemoryUnitOfWork(), check_expiry=False)
    assert accepted.iss == issuer and accepted.tenant == example["payload"]["tenant"]


def test_the_specifications_example_token_is_refused_as_expired_and_for_another_audience():
    example = fixture("spec-jwt-example.json")
    issuer = example["payload"]["iss"]
    jwks = ehr_tokens.JwksCache({issuer: ehr_tokens.Issuer(issuer, "published")}, reader=lambda _: example["jwks"])
    with pytest.raises(ehr_tokens.TokenRefused, match="expired"):
        ehr_tokens.verify(example["token"], audience=example["payload"]["aud"], jwks=jwks, uow=InMemoryUnitOfWork())
    with pytest.raises(ehr_tokens.TokenRefused, match="aud"):
        ehr_tokens.verify(example["token"], audience="https://cds.example.org/cds-services/tms-eligibility",
                          jwks=jwks, uow=InMemoryUnitOfWork(), check_expiry=False)


# -- Da Vinci CRD and Inferno requests --------------------------------------------------------------------

@pytest.fixture
def cds_app(make_cds_app):
    return make_cds_app("tms-clinical", "aetna-cpb-0469")


def call(app, ehr, document):
    return app.test_client().post(HOOK_PATH, data=json.dumps(document), content_type="application/json",
                                  headers=bearer(ehr.token(aud="http://localhost" + HOOK_PATH)))


@pytest.mark.parametrize("name", ["CRDServiceRequest.json", "order_sign_hook_request.json",
                                  "order_select_hook_request.json"])
def test_a_published_request_without_a_tms_order_gets_no_cards_and_stores_nothing(cds_app, ehr, name):
    before = rows(cds_app)
    response = call(cds_app, ehr, fixture(name))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"cards": []}
    assert rows(cds_app) == before


def test_the_crd_request_with_a_tms_order_gets_valid_cards_reading_the_rest_from_its_fhir_server(cds_app, ehr):
    request = fixture("CRDServiceRequest.json")
    patient_id = request["context"]["patientId"]
    request = with_tms_order(request, f"http://example.org/fhir/Patient/{patient_id}")
    records = history_prefetch(fhir_example("classic-trd"), patient_id)
    token = request["fhirAuthorization"]["access_token"]
    with FakeFhirServer(records, token=token).running() as fhir:
        request["fhirServer"] = fhir.url  # the published request names a server that does not exist
        response = call(cds_app, ehr, request)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards = response.get_json()["cards"]
    assert len(cards) == 2
    for card in cards:
        assert_valid_card(card)
    assert [c["indicator"] for c in cards] == ["info", "warning"]  # Aetna asks who orders: not in the record
    assert cards[1]["source"]["label"] == "Aetna, a CVS Health company"
    assert {f"Bearer {token}"} == {auth for _, auth in fhir.requests}


@pytest.mark.parametrize("name", ["order_sign_hook_request.json", "order_select_hook_request.json"])
def test_the_inferno_requests_with_a_tms_order_get_valid_cards_from_their_prefetch(cds_app, ehr, name):
    request = fixture(name)
    patient_id = request["context"]["patientId"]
    request = with_tms_order(request, f"Patient/{patient_id}")
    request["prefetch"] = history_prefetch(fhir_example("aneurysm-clip"), patient_id)
    response = call(cds_app, ehr, request)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards = response.get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["critical", "critical"]
    for card in cards:
        assert_valid_card(card)


def test_an_order_select_whose_tms_order_is_not_selected_gets_no_cards(cds_app, ehr):
    request = with_tms_order(fixture("order_select_hook_request.json"), "Patient/example")
    request["context"]["selections"] = request["context"]["selections"][:-1]
    request["prefetch"] = history_prefetch(fhir_example("classic-trd"), "example")
    assert call(cds_app, ehr, request).get_json() == {"cards": []}
