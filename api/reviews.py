"""Clinician reviews: recording one (the API and the review page share this), and showing the current one.

The stored response body of an evaluation never changes: its ``results`` and every other member stay
the bytes answered at creation. Its ``review`` member was stored as ``{"status":"pending"}``; a GET of
a reviewed evaluation answers the stored bytes with that member replaced by the current review,
serialised afresh (``splice``). A pending evaluation is answered as stored, with no work at all.

A review is ``accept`` (the clinician agrees with a determination of the results) or ``override``
(the clinician's own determination, with a required reason). An evaluation has one current review;
a second review is refused (409) unless it names the review it amends (``amends``) and says why, and
then the earlier one stays visible under ``review.earlier``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug import Response

from eligibility.schemas import pointer_errors
from storage.store import REVIEW_STATUS, EvaluationRecord, NewReview, Principal, ReviewConflict, ReviewRecord

from . import audit
from .access import requires
from .body import json_body
from .errors import Problem
from .schemas import ConflictProblemSchema, ReviewRequestSchema, ReviewSchema
from .service import EVALUATION_ID, NO_STORE, dumps, service

JSON = "application/json"
PENDING_MEMBER = '"review":{"status":"pending"}'
DETERMINATION_LABELS = {"meets_criteria": "Meets criteria", "does_not_meet_criteria": "Does not meet criteria",
                        "insufficient_information": "Insufficient information",
                        "contraindicated": "Contraindicated"}

_request_schema = ReviewRequestSchema()

blp = Blueprint("reviews", __name__, url_prefix="/v1/evaluations",
                description="Clinician review of stored evaluations.")


# -- the review member ------------------------------------------------------------------------------------

def _entry(review: ReviewRecord) -> dict:
    return {"number": review.number, "decision": review.decision, "determination": review.determination,
            "reason": review.reason, "reviewed_at": review.reviewed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "reviewer": {"key_id": review.reviewer.key_id, "name": review.reviewer.name,
                         "role": review.reviewer.role}}


def review_document(reviews: list[ReviewRecord]) -> dict:
    """The ``review`` member: pending, or the current review with the ones it amended in ``earlier``."""
    if not reviews:
        return {"status": "pending"}
    *earlier, current = reviews
    document = {"status": REVIEW_STATUS[current.decision], **_entry(current)}
    if earlier:
        document["earlier"] = [_entry(r) for r in earlier]
    return document


def splice(result: str, review: dict) -> str:
    """The stored body with its ``review`` member replaced; every other byte as stored.

    The member is found as text: inside a JSON string every quote is escaped, so the unescaped
    ``"review":{"status":"pending"}`` occurs only as the top-level member the service wrote.
    """
    at = result.rindex(PENDING_MEMBER)
    return result[:at] + '"review":' + dumps(review) + result[at + len(PENDING_MEMBER):]


def body(record: EvaluationRecord) -> str:
    """What GET answers for a stored evaluation."""
    if not record.reviews:
        return record.result
    return splice(record.result, review_document(record.reviews))


# -- recording one -----------------------------------------------------------------------------------------

def load_request(document) -> dict:
    """A review request validated (422 with every problem keyed by JSON Pointer); reason stripped."""
    try:
        data = _request_schema.load(document if isinstance(document, dict) else {"": document})
    except ma.ValidationError as exc:
        errors = pointer_errors(exc.messages)
        raise Problem(422, f"{len(errors)} field(s) of the review are invalid; every one is listed in errors.",
                      title="Invalid review", errors=errors) from None
    reason = (data.get("reason") or "").strip()
    data["reason"] = reason or None
    return data


def _invalid(detail: str) -> Problem:
    return Problem(422, detail, title="Invalid review", errors={"/determination": [detail]})


def _determination(decision: str, determination: str | None, policies: list[dict]) -> str:
    """The review's determination, checked against the evaluation's results (422 if it cannot be)."""
    found = list(dict.fromkeys(p["determination"] for p in policies))
    named = ", ".join(f"{p['id']}: {p['determination']}" for p in policies)
    if decision == "accept":
        if determination is None:
            if len(found) != 1:
                raise _invalid(f"The results differ ({named}); name the determination you accept.")
            return found[0]
        if determination not in found:
            raise _invalid(f"An accept agrees with a result ({named}); to disagree, override.")
        return determination
    if found == [determination]:
        raise _invalid(f"Every result is already {determination}; accept it (with a reason, if you wish).")
    return determination


def record(evaluation_id: str, data: dict, reviewer: Principal, channel: str, status: int | None) -> EvaluationRecord:
    """Record a validated review of ``evaluation_id`` by ``reviewer``; return the evaluation with its reviews.

    :raises Problem: 404 (no such evaluation), 409 (already reviewed, or ``amends`` is not the current
        review), 422 (the determination does not fit the results).
    """
    now = datetime.now(UTC).replace(microsecond=0)

    def decide(policies: list[dict]) -> NewReview:
        return NewReview(decision=data["decision"],
                         determination=_determination(data["decision"], data.get("determination"), policies),
                         reason=data["reason"], reviewer_key_id=reviewer.key_id, reviewed_at=now)

    try:
        found = service().store.review(evaluation_id, data.get("amends"), decide,
                                       audit.event("evaluation.review", status=status, channel=channel,
                                                   actor=reviewer))
    except ReviewConflict as exc:
        raise conflict(exc.current, data.get("amends")) from None
    if found is None:
        raise Problem(404, f"No evaluation has the id {evaluation_id!r}.")
    return found


def conflict(current: int | None, amends: int | None) -> Problem:
    if current is None:
        detail = f"This evaluation has no review to amend (amends: {amends}); send its first review without amends."
    elif amends is None:
        detail = (f"This evaluation already has a review (number {current}). To amend it, send \"amends\": "
                  f"{current} with a reason; the earlier review stays visible.")
    else:
        detail = f"Review {current} is this evaluation's current review, not {amends}; amend the current one."
    return Problem(409, detail, slug="review-conflict", title="Review conflict", extra={"current_review": current})


# -- the endpoint ------------------------------------------------------------------------------------------

@blp.route("/<evaluation_id>/review")
class EvaluationReview(MethodView):

    @requires("clinician", action="evaluation.review")
    @blp.doc(summary="Record a clinician's review",
             description="`accept` a determination of the results, or `override` it with the clinician's own "
                         "determination and a reason. One review per evaluation: a second is a 409 unless it "
                         "amends the current one (`amends`: its number, with a reason), which stays visible in "
                         "`review.earlier`. The evaluation's results never change; its GET shows the current "
                         "review.",
             requestBody={"required": True, "content": {JSON: {"schema": ReviewRequestSchema}}})
    @blp.response(201, ReviewSchema, description="Recorded; the evaluation's review as its GET now shows it.",
                  headers={"Location": {"description": "The evaluation's URL.", "schema": {"type": "string"}}})
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, schema=ConflictProblemSchema, content_type="application/problem+json",
                      description="Already reviewed (send `amends`), or `amends` is not the current review.")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, evaluation_id: str):
        document, _, _ = json_body()
        data = load_request(document)
        if not EVALUATION_ID.fullmatch(evaluation_id):
            raise Problem(404, f"No evaluation has the id {evaluation_id!r}.")
        found = record(evaluation_id, data, g.principal, "api", 201)
        g.log_fields = {"evaluation_id": evaluation_id, "review": found.reviews[-1].number}
        return Response(dumps(review_document(found.reviews)), status=201, content_type=JSON,
                        headers={"Location": f"/v1/evaluations/{evaluation_id}", "Cache-Control": NO_STORE})
