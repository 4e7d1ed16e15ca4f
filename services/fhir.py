"""FHIR R4 input (contract section 6): a Bundle mapped to a submission, evaluated and stored like any other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from eligibility import Library
from eligibility.fhir import load_bundle

from .audit import Caller
from .clock import Clock, utc_now
from .documents import dumps
from .evaluations import Answered, evaluate, new_evaluation_id
from .records import Received
from .unit_of_work import UnitOfWork


@dataclass(frozen=True)
class FhirAnswered:
    """The stored evaluation (its body holds the ``mapping``), and the mapping report itself."""

    answered: Answered
    mapping: dict
    submission: dict


def evaluate_bundle(uow: UnitOfWork, library: Library, bundle: Received, caller: Caller, *,
                    as_of: date | None = None,
                    policies: list[str] | None = None, idempotency_key: str | None = None, clock: Clock = utc_now,
                    new_id: Callable[[], str] = new_evaluation_id,
                    also: Callable[[UnitOfWork, str, datetime], None] | None = None) -> FhirAnswered:
    """Map a FHIR R4 Bundle to a submission and evaluate and store it (``evaluations.evaluate``), with the
    mapping report as the stored body's ``mapping`` member. The stored submission is the one mapped, so the
    review page shows what was evaluated. Without ``as_of`` the evaluation is for the clock's today, written
    into the stored submission. An Idempotency-Key is bound to the Bundle's bytes with the query's policies and
    ``as_of``.

    :raises eligibility.fhir.InvalidBundle: not a FHIR R4 Bundle the service reads, or what it records breaks
        the submission contract; each problem keyed by a JSON Pointer into the Bundle. Nothing is stored.
    """
    today = clock().date()
    _, mapped = load_bundle(library, bundle.document, today=today, as_of=as_of or today, policies=policies)
    text = dumps(mapped.submission)
    query = dumps({"policies": policies, "as_of": as_of.isoformat() if as_of else None}).encode()
    received = Received(mapped.submission, text, bundle.raw + b"\n" + query)
    answered = evaluate(uow, library, received, caller, idempotency_key=idempotency_key, clock=clock,
                        new_id=new_id, also=also, members={"mapping": mapped.mapping})
    return FhirAnswered(answered, mapped.mapping, mapped.submission)
