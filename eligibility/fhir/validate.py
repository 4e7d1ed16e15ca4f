"""Structural validation of a FHIR R4 Bundle, every problem keyed by a JSON Pointer into the Bundle.

The R4 (4.0.1) models of ``fhirclient`` check each element's name, type, cardinality and primitive format
(dates, codes, ids); unknown elements and R5-only elements are refused. Profiles (US Core) and terminology are
not checked: the mapping reads the codes it knows and reports the rest as ignored. On top of the models, the
Bundle must be of type ``collection``, ``searchset`` or ``transaction`` and hold exactly one ``Patient``, and
only R4 resource types (those the mapping does not read are checked, then reported as ignored).
"""

from __future__ import annotations

import re

from fhirclient.models.allergyintolerance import AllergyIntolerance
from fhirclient.models.bundle import Bundle, BundleEntry
from fhirclient.models.condition import Condition
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirelementfactory import FHIRElementFactory
from fhirclient.models.medicationdispense import MedicationDispense
from fhirclient.models.medicationrequest import MedicationRequest
from fhirclient.models.medicationstatement import MedicationStatement
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.models.procedure import Procedure
from fhirclient.models.resource import Resource
from fhirclient.models.servicerequest import ServiceRequest

from ..errors import InvalidSubmission

BUNDLE_TYPES = ("collection", "searchset", "transaction")
RESOURCE_TYPES = ("Patient", "Condition", "MedicationRequest", "MedicationStatement", "MedicationDispense",
                  "Observation", "Procedure", "AllergyIntolerance", "ServiceRequest")
MODELS = {m.resource_type: m for m in (Patient, Condition, MedicationRequest, MedicationStatement,
                                       MedicationDispense, Observation, Procedure, AllergyIntolerance,
                                       ServiceRequest)}
_OBJECT = re.compile(r"<fhirclient\.models\.[\w.]+\.(\w+) object at 0x[0-9a-fA-F]+>")
_NAMED = re.compile(r'^(?:Non-optional property|Superfluous entry|Property) "([^"]+)"')


class InvalidBundle(InvalidSubmission):
    """The body is not a FHIR R4 Bundle the service reads; ``errors`` maps JSON Pointers into it to messages."""


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _flatten(error: Exception, pointer: str, out: dict[str, list[str]]) -> None:
    if isinstance(error, FHIRValidationError):
        here = pointer
        if error.path:
            here += "".join("/" + _escape(part) for part in str(error.path).split("."))
        for inner in error.errors:
            _flatten(inner, here, out)
        return
    message = _OBJECT.sub(r"\1", str(error.args[0] if error.args else error))
    named = _NAMED.match(message)
    where = f"{pointer}/{_escape(named[1])}" if named else pointer
    out.setdefault(where or "/", []).append(message)


def _is_resource_type(kind) -> bool:
    """Whether ``kind`` names an R4 resource (the factory answers a bare Element for any other name)."""
    if not isinstance(kind, str):
        return False
    if kind in MODELS:
        return True
    try:
        return isinstance(FHIRElementFactory.instantiate(kind, None), Resource)
    except (TypeError, ValueError, AttributeError, KeyError, FHIRValidationError):
        return False


def _check(model, part: dict, pointer: str, errors: dict[str, list[str]]) -> None:
    try:
        model(part)
    except FHIRValidationError as exc:
        _flatten(exc, pointer, errors)
    except RecursionError:
        errors.setdefault(pointer or "/", []).append("Nested too deeply to be read.")
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # shapes the models do not anticipate
        errors.setdefault(pointer or "/", []).append("Not valid FHIR R4: " + _OBJECT.sub(r"\1", str(exc)))


def validate_bundle(document) -> None:
    """Check ``document`` is a FHIR R4 Bundle the mapping reads; raise ``InvalidBundle`` with every problem found."""
    errors: dict[str, list[str]] = {}
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise InvalidBundle({"/resourceType": ["The body must be a FHIR R4 resource of type Bundle."]})
    if document.get("type") not in BUNDLE_TYPES:
        errors["/type"] = [f"The Bundle's type must be one of {', '.join(BUNDLE_TYPES)}."]
    entries = document.get("entry") if isinstance(document.get("entry"), list) else []
    patients = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            errors.setdefault(f"/entry/{i}", []).append("Each entry must hold a resource.")
            continue
        kind = resource.get("resourceType")
        if kind == "Patient":
            patients.append(i)
        elif not _is_resource_type(kind):
            errors.setdefault(f"/entry/{i}/resource/resourceType", []).append(
                f"{kind!r} is not a FHIR R4 resource type.")
    if len(patients) != 1:
        where = "/entry" if not patients else f"/entry/{patients[1]}/resource"
        errors.setdefault(where, []).append(f"The Bundle must hold exactly one Patient; it holds {len(patients)}.")
    # Each part on its own, so that every bad entry is reported (the models stop at the first bad list item).
    _check(Bundle, {k: v for k, v in document.items() if k != "entry"}, "", errors)
    for i, entry in enumerate(entries):
        if isinstance(entry, dict):
            _check(BundleEntry, {k: v for k, v in entry.items() if k != "resource"}, f"/entry/{i}", errors)
            resource = entry.get("resource")
            if isinstance(resource, dict) and _is_resource_type(resource.get("resourceType")):
                model = MODELS.get(resource["resourceType"])
                if model is None:  # a type the mapping does not read: checked all the same, then reported ignored
                    _check(lambda r: FHIRElementFactory.instantiate(r["resourceType"], r), resource,
                           f"/entry/{i}/resource", errors)
                else:
                    _check(model, resource, f"/entry/{i}/resource", errors)
    if errors:
        raise InvalidBundle(errors)
