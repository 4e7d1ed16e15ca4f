"""FHIR R4 Bundle -> submission: what is read, what is left out and why, and what is never inferred."""

from datetime import date

import pytest

from eligibility.fhir import InvalidBundle, load_bundle, map_bundle, validate_bundle

from ..support import example
from .support import (
    EXAMPLE_NAMES,
    bundle,
    condition,
    fhir_example,
    labels,
    medication_request,
    reported,
    tms_order,
)

AS_OF = date(2026, 11, 2)


def mapped(library, document, **kwargs):
    validate_bundle(document)
    return map_bundle(document, library.catalogue, as_of=AS_OF, **kwargs)


def both(library, name):
    """The example Bundle's results and its JSON twin's, as the contract's objects."""
    twin = example(name)
    as_of = date.fromisoformat(twin["as_of"]) if "as_of" in twin else None
    submission, _ = load_bundle(library, fhir_example(name), today=AS_OF, as_of=as_of, policies=twin.get("policies"))
    return ([r.to_wire() for r in library.evaluate(submission).results],
            [r.to_wire() for r in library.evaluate(library.load(twin, today=AS_OF)).results])


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_example_bundle_evaluates_to_its_twins_determinations(library, name):
    from_bundle, from_twin = both(library, name)
    assert [(r["policy"]["id"], r["determination"]) for r in from_bundle] == \
        [(r["policy"]["id"], r["determination"]) for r in from_twin]


@pytest.mark.parametrize("name", [n for n in EXAMPLE_NAMES if n != "incomplete-referral"])
def test_each_complete_example_bundle_gives_its_twins_criterion_statuses(library, name):
    # the incomplete referral's twin states an age and no severity; its Bundle records neither age nor the
    # same facts, so only its determination is compared
    from_bundle, from_twin = both(library, name)
    assert [[(c["id"], c["status"]) for c in r["criteria"]] for r in from_bundle] == \
        [[(c["id"], c["status"]) for c in r["criteria"]] for r in from_twin]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_the_report_names_every_resource_of_each_example(library, name):
    document = fhir_example(name)
    assert reported(mapped(library, document).mapping) == labels(document)


def test_a_completed_prescription_without_a_recorded_reason_has_no_outcome(library):
    document = bundle(medication_request("36437", mg=100, start="2026-01-01", end="2026-03-01"))
    trial = mapped(library, document).submission["medication_trials"][0]
    assert trial == {"drug": "sertraline", "daily_dose_mg": 100, "start_date": "2026-01-01", "end_date": "2026-03-01"}


def test_an_active_prescription_is_ongoing_and_a_suspected_intolerance_is_an_intolerance(library):
    reason = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-status-reason",
                          "code": "sintol"}]}
    document = bundle(medication_request("36437", mg=50, status="active"),
                      medication_request("4493", mg=20, status="stopped", statusReason=reason))
    trials = mapped(library, document).submission["medication_trials"]
    assert [t.get("outcome") for t in trials] == ["ongoing", "intolerance"]


def test_the_daily_dose_is_the_dose_times_the_timing(library):
    document = bundle(medication_request("39786", mg=75, frequency=3),
                      medication_request("42347", mg=300, frequency=1, period=2, unit="d"),
                      medication_request("15996", mg=15))
    del document["entry"][3]["resource"]["dosageInstruction"][0]["timing"]
    result = mapped(library, document)
    trials = result.submission["medication_trials"]
    assert [t.get("daily_dose_mg") for t in trials] == [225, 150, None]
    assert {"resource": "MedicationRequest/r2", "element": "dosage",
            "reason": "No dose in mg with a timing that says how often: no daily dose."} in result.mapping["ignored"]


def test_a_product_code_is_read_by_its_name_and_an_unknown_ingredient_is_kept_as_rxnorm(library):
    product = medication_request("312940", mg=50)
    product["medicationCodeableConcept"]["coding"][0]["display"] = "sertraline 50 MG Oral Tablet"
    document = bundle(product, medication_request("999999", mg=10))
    trials = mapped(library, document).submission["medication_trials"]
    assert [t.get("drug") or t.get("rxnorm") for t in trials] == ["sertraline", "999999"]


def test_an_intolerance_record_gives_the_outcome_of_that_drugs_trial(library):
    allergy = {"resourceType": "AllergyIntolerance", "type": "intolerance", "category": ["medication"],
               "patient": {"reference": "Patient/pat"},
               "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "36437"}]}}
    document = bundle(medication_request("36437", mg=100, start="2026-01-01", end="2026-03-01"), allergy)
    result = mapped(library, document)
    assert result.submission["medication_trials"][0]["outcome"] == "intolerance"
    assert result.mapping["fields"]["/medication_trials/0/outcome"] == ["MedicationRequest/r0", "AllergyIntolerance/r1"]


def test_records_of_another_patient_and_inactive_or_refuted_conditions_are_ignored_with_reasons(library):
    other = condition("F31.9")
    other["subject"] = {"reference": "Patient/someone-else"}
    document = bundle(condition("F33.2", onset="2026-01-01"), other, condition("F31.9", clinical="resolved"),
                      condition("F20.9", verification="refuted"), condition("F41.1", clinical=None))
    result = mapped(library, document)
    assert result.submission["diagnoses"] == [{"code": "F33.2"}]
    assert result.submission["current_episode"] == {"onset": "2026-01-01", "severity": "severe",
                                                    "psychotic_features": False}
    reasons = {item["resource"]: item["reason"] for item in result.mapping["ignored"]}
    assert reasons["Condition/r1"].startswith("It is about another patient")
    assert reasons["Condition/r2"] == "Clinical status resolved: not an active diagnosis."
    assert reasons["Condition/r3"] == "Verification status refuted."
    assert reasons["Condition/r4"].startswith("No clinical status")


def test_a_snomed_depression_code_is_read_and_an_unknown_one_is_reported(library):
    document = bundle(condition("75084000", system="http://snomed.info/sct"),
                      condition("44054006", system="http://snomed.info/sct"))
    result = mapped(library, document)
    assert result.submission["diagnoses"] == [{"code": "F32.2"}]
    assert [i["resource"] for i in result.mapping["ignored"]] == ["Condition/r1"]


def test_nothing_recorded_leaves_the_lists_and_the_safety_screen_out(library):
    result = mapped(library, bundle(patient={"birthDate": "1980-01-02", "gender": "male"}))
    assert result.submission == {"patient": {"birth_date": "1980-01-02", "sex": "male"}}


def test_psychotherapy_sessions_make_one_trial_and_a_cpt_code_alone_is_not_a_modality(library):
    cbt = {"system": "http://snomed.info/sct", "code": "228557008"}
    sessions = [{"resourceType": "Procedure", "status": "completed", "performedDateTime": day,
                 "code": {"coding": [cbt, {"system": "http://www.ama-assn.org/go/cpt", "code": "90837"}]}}
                for day in ("2026-02-01", "2026-02-08", "2026-02-15")]
    bare = {"resourceType": "Procedure", "status": "completed", "performedDateTime": "2026-03-01",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "90834"}]}}
    result = mapped(library, bundle(*sessions, bare))
    assert result.submission["psychotherapy_trials"] == [
        {"modality": "cbt", "start_date": "2026-02-01", "sessions": 3, "end_date": "2026-02-15"}]
    assert result.mapping["ignored"][0]["resource"] == "Procedure/r3"


def test_the_tms_order_is_the_request_and_another_order_is_ignored(library):
    document = bundle(tms_order(30), tms_order(code="90801"))
    result = mapped(library, document)
    assert result.submission["request"] == {"sessions": 30}
    assert result.mapping["ignored"] == [{"resource": "ServiceRequest/r1", "element": "code",
                                          "reason": "Not a TMS order (CPT 90867-90869)."}]


def test_records_dated_after_as_of_are_left_out(library):
    late = {"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-12-01", "valueInteger": 9,
            "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]}}
    result = mapped(library, bundle(late))
    assert "scales" not in result.submission
    assert result.mapping["ignored"][0]["reason"] == "Dated after as_of (2026-11-02)."


def test_an_invalid_bundle_is_refused_with_pointers_into_it():
    document = bundle(condition("F33.2"), patient={"birthDate": "1980-13-45", "colour": "blue"})
    del document["entry"][1]["resource"]["subject"]
    document["entry"].append({"resource": {"resourceType": "Observation", "status": "final", "valueInteger": "9",
                                           "subject": {"reference": "Patient/pat"}, "code": {"text": "x"}}})
    with pytest.raises(InvalidBundle) as refused:
        validate_bundle(document)
    assert set(refused.value.errors) == {"/entry/0/resource/birthDate", "/entry/0/resource/colour",
                                         "/entry/1/resource/subject", "/entry/2/resource/valueInteger"}


@pytest.mark.parametrize(("document", "pointer"), [
    ({"resourceType": "Patient"}, "/resourceType"),
    ({"resourceType": "Bundle", "type": "document", "entry": []}, "/type"),
    ({"resourceType": "Bundle", "type": "collection", "entry": []}, "/entry"),
    ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Nonsense"}}]},
     "/entry/0/resource/resourceType"),
])
def test_what_is_not_a_bundle_of_one_patient_is_refused(document, pointer):
    with pytest.raises(InvalidBundle) as refused:
        validate_bundle(document)
    assert pointer in refused.value.errors


def test_a_recorded_value_the_contract_refuses_is_keyed_at_its_resource(library):
    score = {"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-10-01", "valueInteger": 40,
             "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]}}
    with pytest.raises(InvalidBundle) as refused:
        load_bundle(library, bundle(score), today=AS_OF)
    assert list(refused.value.errors) == ["/entry/1/resource"]
    assert refused.value.errors["/entry/1/resource"][0].startswith("/scales/0/score: ")


def test_a_resource_type_the_mapping_does_not_read_is_checked_then_ignored(library):
    coverage = {"resourceType": "Coverage", "id": "cov", "status": "active",
                "beneficiary": {"reference": "Patient/pat"}, "payor": [{"reference": "Organization/o"}]}
    result = mapped(library, bundle(coverage))
    assert result.mapping["ignored"] == [{"resource": "Coverage/cov",
                                          "reason": "Coverage is not a resource the mapping reads."}]


def test_dispenses_without_a_prescription_in_the_bundle_make_one_trial_to_the_end_of_the_last_supply(library):
    def dispense(day, supply=28):
        return {"resourceType": "MedicationDispense", "status": "completed", "whenHandedOver": day,
                "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                          "code": "36437"}]},
                "subject": {"reference": "Patient/pat"}, "daysSupply": {"value": supply, "unit": "day"},
                "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                                       "doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}]}]}

    result = mapped(library, bundle(dispense("2026-01-05"), dispense("2026-02-02"), dispense("2026-03-02", 10**9)))
    assert result.submission["medication_trials"] == [
        {"drug": "sertraline", "start_date": "2026-01-05", "daily_dose_mg": 100}]
    assert result.mapping["fields"]["/medication_trials/0/drug"] == [
        "MedicationDispense/r0", "MedicationDispense/r1", "MedicationDispense/r2"]
