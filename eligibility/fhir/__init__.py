"""FHIR R4 input: a Bundle validated (``validate``), mapped to a submission with a report (``mapping``), and
loaded as a submission whose refusals point into the Bundle (``load_bundle``)."""

from __future__ import annotations

from datetime import date

from ..errors import InvalidSubmission
from ..library import Library
from ..model import Submission
from .mapping import Mapped, is_tms_order, map_bundle
from .validate import InvalidBundle, validate_bundle

__all__ = ["InvalidBundle", "Mapped", "is_tms_order", "load_bundle", "map_bundle", "validate_bundle"]


def load_bundle(library: Library, document, *, today: date, as_of: date | None = None,
                policies: list[str] | None = None) -> tuple[Submission, Mapped]:
    """The submission a FHIR R4 Bundle gives, validated, with the mapping report.

    :raises InvalidBundle: the Bundle is not valid FHIR R4, or what it records breaks the submission contract
        (a score out of range, a period that ends before it starts); each problem is keyed by a JSON Pointer
        into the Bundle (or, for a query parameter, its name).
    """
    validate_bundle(document)
    mapped = map_bundle(document, library.catalogue, as_of=as_of or today, policies=policies,
                        as_of_given=as_of is not None)
    try:
        submission = library.load(mapped.submission, today=today)
    except InvalidSubmission as exc:
        errors: dict[str, list[str]] = {}
        for pointer, messages in exc.errors.items():
            where = _parameter(pointer) or mapped.bundle_pointer(pointer)
            errors.setdefault(where, []).extend(f"{pointer}: {m}" if where != pointer else m for m in messages)
        raise InvalidBundle(errors) from None
    return submission, mapped


def _parameter(pointer: str) -> str | None:
    if pointer == "/as_of":
        return "as_of"
    if pointer.startswith("/policies"):
        return "policy"
    return None
