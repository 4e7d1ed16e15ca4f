"""Small FHIR R4 Bundles for the tests, built from parts."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
FHIR_EXAMPLES = ROOT / "examples" / "fhir"
EXAMPLE_NAMES = ("classic-trd", "aneurysm-clip", "incomplete-referral", "long-history", "adolescent")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"


def fhir_example(name: str) -> dict:
    return json.loads((FHIR_EXAMPLES / f"{name}.json").read_text())


def bundle(*resources, patient: dict | None = None, kind: str = "collection") -> dict:
    """A Bundle of one Patient (``pat``) and ``resources`` (given ids ``r0``, ``r1``... unless they have one)."""
    entries = [{"fullUrl": "urn:uuid:patient", "resource": {"resourceType": "Patient", "id": "pat",
                                                            **(patient or {})}}]
    for i, resource in enumerate(resources):
        resource = {"id": f"r{i}", **resource}
        if resource["resourceType"] in ("Condition", "Observation", "MedicationRequest", "MedicationStatement",
                                        "Procedure", "ServiceRequest") and "subject" not in resource:
            resource["subject"] = {"reference": "Patient/pat"}
        entries.append({"resource": resource})
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def medication_request(rxcui: str, *, mg=None, frequency=1, period=1, unit="d", start=None, end=None,
                       status="completed", **extra) -> dict:
    dosage = {"timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": unit}}}
    if mg is not None:
        dosage["doseAndRate"] = [{"doseQuantity": {"value": mg, "unit": "mg", "system": "http://unitsofmeasure.org",
                                                   "code": "mg"}}]
    if start or end:
        dosage["timing"]["repeat"]["boundsPeriod"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    return {"resourceType": "MedicationRequest", "status": status, "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxcui}]},
            "dosageInstruction": [dosage], **extra}


def condition(code: str, *, system: str = ICD, clinical: str | None = "active", onset: str | None = None,
              verification: str | None = None) -> dict:
    resource = {"resourceType": "Condition", "code": {"coding": [{"system": system, "code": code}]}}
    if clinical:
        resource["clinicalStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]}
    if verification:
        resource["verificationStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]}
    if onset:
        resource["onsetDateTime"] = onset
    return resource


def tms_order(sessions=None, code="90867", status="active") -> dict:
    resource = {"resourceType": "ServiceRequest", "status": status, "intent": "order",
                "code": {"coding": [{"system": CPT, "code": code}]}}
    if sessions is not None:
        resource["quantityQuantity"] = {"value": sessions}
    return resource


def labels(bundle_document: dict) -> set[str]:
    """``ResourceType/id`` of every entry."""
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle_document["entry"]}


def reported(mapping: dict) -> set[str]:
    """Every resource the report names: used for some field, or ignored."""
    used = {label for sources in mapping["fields"].values() for label in sources}
    return used | {item["resource"] for item in mapping["ignored"]}
