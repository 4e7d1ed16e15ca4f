"""``/v1/evaluations``: evaluate a submission and store it; read it back; the review queue."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug import Response

from services.documents import evaluation_document
from storage.store import DuplicateKey, NewEvaluation, Stored, audit_policies

from . import audit
from .access import requires
from .body import json_body
from .errors import Problem
from .reviews import body as evaluation_body
from .schemas import EvaluationListSchema, EvaluationSchema, QueueArgsSchema, submission_doc_schema
from .service import EVALUATION_ID, NEXT_LINK_HEADER, NO_STORE, dumps, next_link, page_of, service

blp = Blueprint("evaluations", __name__, url_prefix="/v1/evaluations",
                description="Evaluate a submission against policies; read stored evaluations.")

JSON = "application/json"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")

_LOCATION = {"Location": {"description": "The evaluation's URL.", "schema": {"type": "string"}}}
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


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise Problem(400, "Idempotency-Key must be 1 to 255 visible ASCII characters.")
    return key


def _evaluation_response(body: str, evaluation_id: str, status: int) -> Response:
    return Response(body, status=status, content_type=JSON,
                    headers={"Location": f"{blp.url_prefix}/{evaluation_id}", "Cache-Control": NO_STORE})


def _replay(stored: Stored, body_digest: str) -> Response:
    if stored.body_digest != body_digest:
        raise Problem(422, "This Idempotency-Key was first used with a different body; use a new key for a new "
                           "submission.", slug="idempotency-key-reused", title="Idempotency-Key reused",
                      errors={"": ["The body differs from the first request sent with this Idempotency-Key."]})
    policies = [r["policy"] for r in json.loads(stored.result)["results"]]
    service().store.audit(audit.event("evaluation.create", "replayed", 200, evaluation_id=stored.id,
                                      policies=audit_policies(policies)))
    g.log_fields = {"evaluation_id": stored.id, "replayed": True}
    return _evaluation_response(stored.result, stored.id, 200)


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
    @blp.response(201, EvaluationSchema, headers=_LOCATION, description="Evaluated and stored.")
    @blp.alt_response(200, schema=EvaluationSchema, headers=_LOCATION, success=True,
                      description="A repeat of an earlier request with the same Idempotency-Key and body: the "
                                  "evaluation stored then.")
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self):
        svc = service()
        key = _idempotency_key()
        document, raw, text = json_body()
        body_digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if key is not None and (stored := svc.store.by_key(key)) is not None:
            return _replay(stored, body_digest)
        submission = svc.library.load(document)
        evaluation = svc.library.evaluate(submission)
        evaluation_id, created_at = uuid.uuid4().hex, datetime.now(UTC).replace(microsecond=0)
        body = dumps(evaluation_document(evaluation, evaluation_id, created_at.strftime("%Y-%m-%dT%H:%M:%SZ")))
        try:
            svc.store.add(NewEvaluation(
                id=evaluation_id, created_at=created_at, as_of=submission.as_of, reference=submission.reference,
                request_id=g.request_id, idempotency_key=key, body_digest=body_digest,
                submission=text, result=body,
                policies=[{"position": i, "policy_id": r.policy.id, "policy_version": r.policy.version,
                           "policy_digest": r.policy.digest, "determination": r.determination.value}
                          for i, r in enumerate(evaluation.results)]),
                audit.event("evaluation.create", status=201, evaluation_id=evaluation_id,
                            policies=audit_policies([r.policy.to_wire() for r in evaluation.results])))
        except DuplicateKey as exc:  # a concurrent request with the same key committed first
            return _replay(exc.stored, body_digest)
        g.log_fields = {"evaluation_id": evaluation_id,
                        "outcomes": {r.policy.id: r.determination.value for r in evaluation.results}}
        return _evaluation_response(body, evaluation_id, 201)

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
        items = service().store.queue(review_status, limit + 1, int(cursor) if cursor else None, policy=policy,
                                      determination=determination,
                                      audit=audit.event("evaluation.list", status=200))
        page, next_cursor = page_of(items, limit, lambda item: item.seq)
        body = {"items": [{"id": i.id, "created_at": i.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "as_of": i.as_of.isoformat(), "reference": i.reference,
                           "review": {"status": i.review_status}, "policies": i.policies} for i in page],
                "next_cursor": next_cursor}
        headers = {"Cache-Control": NO_STORE, **next_link(blp.url_prefix, limit=limit, cursor=next_cursor,
                                                           review_status=review_status, policy=policy,
                                                           determination=determination)}
        return Response(dumps(body), status=200, content_type=JSON, headers=headers)


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
        found = None
        if EVALUATION_ID.fullmatch(evaluation_id):
            found = service().store.read(evaluation_id, audit.event("evaluation.read", status=200))
        if found is None:
            raise Problem(404, f"No evaluation has the id {evaluation_id!r}.")
        g.log_fields = {"evaluation_id": evaluation_id}
        return Response(evaluation_body(found), status=200, content_type=JSON, headers={"Cache-Control": NO_STORE})
