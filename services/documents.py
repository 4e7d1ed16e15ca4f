"""The documents the service stores and answers (contract section 2): an evaluation's body, its review member,
and the one JSON serialisation they are written with.

The stored body of an evaluation never changes: its ``results`` and every other member stay the bytes
answered at creation. Its ``review`` member was stored as ``{"status":"pending"}``; a reviewed
evaluation is answered as the stored bytes with that member replaced by the current review,
serialised afresh (``splice``). A pending evaluation is answered as stored, with no work at all.
"""

from __future__ import annotations

import orjson

from eligibility.results import Evaluation

from .records import ReviewRecord
from .vocabulary import REVIEW_STATUS, overall_review_status

PENDING_REVIEW = {"status": "pending"}
PENDING_MEMBER = '"review":{"status":"pending"}'


def dumps(document) -> str:
    """The one JSON serialisation of every body the service writes: compact, UTF-8 (the bytes of
    ``json.dumps(document, ensure_ascii=False, separators=(",", ":"))`` for every evaluation of the
    benchmark mix, at a tenth of the cost)."""
    return orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS).decode()


def evaluation_document(evaluation: Evaluation, evaluation_id: str, created_at: str,
                        review: dict | None = None) -> dict:
    """The body answered when ``evaluation`` was created, member for member in the contract's order."""
    return {"id": evaluation_id, "created_at": created_at, "as_of": evaluation.as_of.isoformat(),
            "reference": evaluation.reference, "results": [r.to_wire() for r in evaluation.results],
            "review": review or PENDING_REVIEW, "warnings": [w.to_wire() for w in evaluation.warnings]}


def _current(reviews: list[ReviewRecord]) -> dict:
    """The current review of one scope (the last of ``reviews``) with the ones it amended in ``earlier``."""
    *earlier, current = reviews
    document = {"status": REVIEW_STATUS[current.decision], **current.to_wire()}
    if earlier:
        document["earlier"] = [r.to_wire() for r in earlier]
    return document


def review_document(reviews: list[ReviewRecord], policy_ids: tuple[str, ...] = ()) -> dict:
    """The ``review`` member: pending, or the current review of every result with the ones it amended in
    ``earlier``; once some policy's result has its own review, ``policies`` lists each policy of the evaluation
    (``policy_ids``, in result order) with its own current review, or ``pending``."""
    if not reviews:
        return dict(PENDING_REVIEW)
    whole = [r for r in reviews if r.policy is None]
    document = _current(whole) if whole else {"status": overall_review_status(reviews)}
    reviewed = list(dict.fromkeys(r.policy for r in reviews if r.policy is not None))
    if reviewed:
        order = list(policy_ids) + [p for p in reviewed if p not in policy_ids]
        document["policies"] = [
            _current(scope) if (scope := [r for r in reviews if r.policy == policy]) else
            {"policy": policy, "status": "pending"} for policy in order]
    return document


def splice(result: str, review: dict) -> str:
    """The stored body with its ``review`` member replaced; every other byte as stored.

    The member is found as text: inside a JSON string every quote is escaped, so the unescaped
    ``"review":{"status":"pending"}`` occurs only as the top-level member the service wrote.
    """
    at = result.rindex(PENDING_MEMBER)
    return result[:at] + '"review":' + dumps(review) + result[at + len(PENDING_MEMBER):]


def answer(result: str, reviews: list[ReviewRecord], policy_ids: tuple[str, ...] = ()) -> str:
    """What a stored evaluation is answered as: its stored bytes, with the current review if it has one."""
    return splice(result, review_document(reviews, policy_ids)) if reviews else result
