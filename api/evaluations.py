"""``/v1/evaluations``: evaluate a submission and store it; read it back; the review queue."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from services import evaluations
from services.records import Received

from .access import requires
from .caller import caller
from .constants import JSON, LOCATION_HEADER, NEXT_LINK_HEADER
from .responses import Answer, json_post, json_response, next_link
from .schemas.evaluations import EvaluationListSchema, EvaluationSchema, QueueArgsSchema, submission_doc_schema
from .state import state

blp = Blueprint("evaluations", __name__, url_prefix="/v1/evaluations",
                description="Evaluate a submission against policies; read stored evaluations.")

_IDEMPOTENCY_KEY_DOC = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    "description": "Makes a retry safe: the first request with a key stores its evaluation; a later one with the "
                   "same key and the same body bytes gets that evaluation again (200, same id) and stores nothing; "
                   "the same key with a different body is a 422. Keys are kept as long as the evaluation.",
}
_REQUEST_ID_DOC = {
    "name": "X-Request-Id", "in": "header", "required": False,
    "schema": {"type": "string"},
    "description": "Echoed in the response and logs when it is 1 to 128 characters of `[A-Za-z0-9._:/+=@-]`; any "
                   "other value is not refused but replaced by a new id, as is a missing one.",
}


@blp.route("")
class Evaluations(MethodView):

    @requires("intake", action="evaluation.create")
    @blp.doc(
        summary="Evaluate a submission",
        description="Validates the submission (every problem at once, as a 422), evaluates it against the "
                    "requested policies (or the defaults), stores it, and returns the result. Nothing is stored "
                    "for a request answered with an error.",
        parameters=[_IDEMPOTENCY_KEY_DOC, _REQUEST_ID_DOC],
        requestBody={"required": True, "content": {JSON: {"schema": submission_doc_schema}}},
    )
    @blp.response(201, EvaluationSchema, headers=LOCATION_HEADER, description="Evaluated and stored.")
    @blp.alt_response(200, schema=EvaluationSchema, headers=LOCATION_HEADER, success=True,
                      description="A repeat of an earlier request with the same Idempotency-Key and body: the "
                                  "evaluation stored then.")
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    @json_post(idempotent=True)
    def post(self, received: Received, idempotency_key: str | None):
        s = state()
        answered = evaluations.evaluate(s.unit_of_work(), s.library, received, caller(success=201, replayed=200),
                                        idempotency_key=idempotency_key, clock=s.clock)
        if answered.replayed:
            g.log_fields = {"evaluation_id": answered.id, "replayed": True}
        else:
            g.log_fields = {"evaluation_id": answered.id, "outcomes": answered.outcomes}
        return Answer(answered.body, 200 if answered.replayed else 201, f"{blp.url_prefix}/{answered.id}")

    @requires("clinician", action="evaluation.list")
    @blp.doc(summary="The review queue",
             description="Evaluations newest first, one page at a time, filtered by review status, policy and "
                         "determination.",
             parameters=[_REQUEST_ID_DOC])
    @blp.arguments(QueueArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, EvaluationListSchema, headers=NEXT_LINK_HEADER)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, limit: int, review_status: str | None = None, cursor: str | None = None,
            policy: str | None = None, determination: str | None = None):
        s = state()
        page = evaluations.queue(s.unit_of_work(), caller(success=200), limit=limit, cursor=cursor,
                                 review_status=review_status, policy=policy, determination=determination,
                                 clock=s.clock)
        body = {"items": [item.to_wire() for item in page.items], "next_cursor": page.next_cursor}
        return json_response(body, **next_link(blp.url_prefix, limit=limit, cursor=page.next_cursor,
                                               review_status=review_status, policy=policy,
                                               determination=determination))


@blp.route("/<evaluation_id>")
class EvaluationById(MethodView):

    @requires("intake", "clinician", action="evaluation.read")
    @blp.doc(summary="A stored evaluation",
             description="The bytes answered when the evaluation was created, however the policies have changed "
                         "since, except its `review` member, which shows the current review.",
             parameters=[_REQUEST_ID_DOC])
    @blp.response(200, EvaluationSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, evaluation_id: str):
        s = state()
        found = evaluations.read_evaluation(s.unit_of_work(), evaluation_id, caller(success=200), clock=s.clock)
        g.log_fields = {"evaluation_id": evaluation_id}
        return json_response(found.body)
