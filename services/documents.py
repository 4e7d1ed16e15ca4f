"""The result document of a stored evaluation (contract section 2): the domain's results in the
service's envelope (id, creation time, review)."""

from __future__ import annotations

from eligibility.results import Evaluation

PENDING_REVIEW = {"status": "pending"}


def evaluation_document(evaluation: Evaluation, evaluation_id: str, created_at: str,
                        review: dict | None = None) -> dict:
    """The body answered when ``evaluation`` was created, member for member in the contract's order."""
    return {"id": evaluation_id, "created_at": created_at, "as_of": evaluation.as_of.isoformat(),
            "reference": evaluation.reference, "results": [r.to_wire() for r in evaluation.results],
            "review": review or PENDING_REVIEW, "warnings": [w.to_wire() for w in evaluation.warnings]}
