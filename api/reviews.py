"""``/v1/evaluations/<id>/review``: a clinician's review of a stored evaluation (``services.reviews``).

The evaluation's stored results never change; its GET shows the current review in its ``review``
member (``services.documents``).
"""

from __future__ import annotations

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from eligibility.schemas import pointer_errors
from services import reviews
from services.documents import review_document
from services.records import Received
from services.reviews import ReviewRequest

from .access import requires
from .caller import caller
from .constants import JSON, LOCATION_HEADER, PROBLEM_JSON
from .errors import Problem
from .responses import Answer, json_post
from .schemas.reviews import ConflictProblemSchema, ReviewRequestSchema, ReviewSchema
from .state import state

_request_schema = ReviewRequestSchema()

blp = Blueprint("reviews", __name__, url_prefix="/v1/evaluations",
                description="Clinician review of stored evaluations.")


def load_request(document) -> ReviewRequest:
    """A review request validated (422 with every problem keyed by JSON Pointer); reason stripped."""
    try:
        data = _request_schema.load(document if isinstance(document, dict) else {"": document})
    except ma.ValidationError as exc:
        errors = pointer_errors(exc.messages)
        raise Problem(422, f"{len(errors)} field(s) of the review are invalid; every one is listed in errors.",
                      title="Invalid review", errors=errors) from None
    attested = data.get("attested")
    return ReviewRequest(decision=data["decision"], determination=data.get("determination"),
                         reason=(data.get("reason") or "").strip() or None, amends=data.get("amends"),
                         policy=data.get("policy"),
                         attested=None if attested is None else tuple(dict.fromkeys(attested)))


@blp.route("/<evaluation_id>/review")
class EvaluationReview(MethodView):

    @requires("clinician", action="evaluation.review")
    @blp.doc(summary="Record a clinician's review",
             description="`accept` a determination of the results, or `override` it with the clinician's own "
                         "determination and a reason. One review per evaluation: a second is a 409 unless it "
                         "amends the current one (`amends`: its number, with a reason), which stays visible in "
                         "`review.earlier`. With `policy`, the review concerns that policy's result alone, with "
                         "the same rules per policy (one current review per policy, amended by number), and may "
                         "record the policy's documentation requirements attested (`attested`). The same request "
                         "sent again by the same clinician while its review is current (a double click) records "
                         "nothing and is answered 200 with the review as it is. The evaluation's results never "
                         "change; its GET shows the current review, and each policy's in `review.policies`.",
             requestBody={"required": True, "content": {JSON: {"schema": ReviewRequestSchema}}})
    @blp.response(201, ReviewSchema, description="Recorded; the evaluation's review as its GET now shows it.",
                  headers=LOCATION_HEADER)
    @blp.alt_response(200, schema=ReviewSchema, headers=LOCATION_HEADER, success=True,
                      description="The same request as the current review of its scope, by the same clinician: "
                                  "nothing recorded; the review as it is.")
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, schema=ConflictProblemSchema, content_type=PROBLEM_JSON,
                      description="Already reviewed (send `amends`), or `amends` is not the current review.")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    @json_post
    def post(self, received: Received, evaluation_id: str):
        s = state()
        recorded = reviews.record_review(s.unit_of_work(), evaluation_id, load_request(received.document),
                                         caller(success=201, replayed=200), clock=s.clock)
        g.log_fields = {"evaluation_id": evaluation_id, "review": recorded[-1].number,
                        "replayed": recorded.replayed}
        return Answer(review_document(recorded, recorded.policy_ids), 200 if recorded.replayed else 201,
                      f"/v1/evaluations/{evaluation_id}")
