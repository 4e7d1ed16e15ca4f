"""``/v1/keys`` and ``/v1/audit``: managing API keys and reading the audit trail (role admin)."""

from __future__ import annotations

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug import Response

from eligibility.schemas import pointer_errors
from storage.store import KeyRecord

from . import access, audit
from .access import requires
from .body import json_body
from .errors import Problem
from .schemas import AuditArgsSchema, AuditListSchema, KeyListSchema, KeyRequestSchema, KeySchema, NewKeySchema
from .service import NEXT_LINK_HEADER, NO_STORE, dumps, next_link, page_of, service

JSON = "application/json"

keys_blp = Blueprint("keys", __name__, url_prefix="/v1/keys", description="API keys (role admin).")
audit_blp = Blueprint("audit", __name__, url_prefix="/v1/audit", description="The audit trail (role admin).")

_key_request = KeyRequestSchema()


def _time(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def key_document(record: KeyRecord) -> dict:
    return {"id": record.id, "name": record.name, "role": record.role, "created_at": _time(record.created_at),
            "revoked_at": _time(record.revoked_at)}


def _json(document, status: int = 200, **headers) -> Response:
    return Response(dumps(document), status=status, content_type=JSON, headers={"Cache-Control": NO_STORE, **headers})


@keys_blp.route("")
class Keys(MethodView):

    @requires("admin", action="key.list")
    @keys_blp.doc(summary="Every API key (never the keys themselves)")
    @keys_blp.response(200, KeyListSchema)
    @keys_blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self):
        return _json({"items": [key_document(k) for k in service().store.list_keys()]})

    @requires("admin", action="key.create")
    @keys_blp.doc(summary="Create an API key", description="The answer holds the key itself, once: the service "
                                                           "keeps only its hash.",
                  requestBody={"required": True, "content": {JSON: {"schema": KeyRequestSchema}}})
    @keys_blp.response(201, NewKeySchema, description="Created.")
    @keys_blp.alt_response(400, response="BAD_REQUEST")
    @keys_blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @keys_blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @keys_blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @keys_blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self):
        document, _, _ = json_body()
        try:
            data = _key_request.load(document if isinstance(document, dict) else {"": document})
            if not data["name"].strip():
                raise ma.ValidationError({"name": ["The name is blank."]})
        except ma.ValidationError as exc:
            errors = pointer_errors(exc.messages)
            raise Problem(422, f"{len(errors)} field(s) are invalid; every one is listed in errors.",
                          title="Invalid key request", errors=errors) from None
        record, key = access.create_key(service().store, data["name"], data["role"], channel="api",
                                        actor=g.principal, status=201)
        g.log_fields = {"key_id": record.id}
        return _json({**key_document(record), "key": key}, 201, Location=f"/v1/keys/{record.id}")


@keys_blp.route("/<key_id>")
class KeyById(MethodView):

    @requires("admin", action="key.revoke")
    @keys_blp.doc(summary="Revoke an API key",
                  description="The key fails from the next request on, in every worker, and its review-page "
                              "sessions end. Revoking a revoked key changes nothing and answers the same.")
    @keys_blp.response(200, KeySchema, description="Revoked (now or before).")
    @keys_blp.alt_response(404, response="NOT_FOUND")
    @keys_blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def delete(self, key_id: str):
        done = access.revoke_key(service().store, key_id, channel="api", actor=g.principal, status=200)
        if done is None:
            raise Problem(404, f"No API key has the id {key_id!r}.")
        g.log_fields = {"key_id": key_id}
        return _json(key_document(done[0]))


@audit_blp.route("")
class Audit(MethodView):

    @requires("admin", action="audit.read")
    @audit_blp.doc(summary="The audit trail, newest first",
                   description="One row per evaluation created, read, listed or reviewed, key created or revoked, "
                               "review-page session and refused attempt (403): ids, never clinical content. "
                               "`tms-eligibility audit export` writes every row as JSON lines.")
    @audit_blp.arguments(AuditArgsSchema, location="query", as_kwargs=True)
    @audit_blp.response(200, AuditListSchema, headers=NEXT_LINK_HEADER)
    @audit_blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, limit: int, cursor: str | None = None, evaluation_id: str | None = None,
            actor_key_id: str | None = None, action: str | None = None):
        store = service().store
        rows = store.audit_page(limit + 1, int(cursor) if cursor else None, evaluation_id=evaluation_id,
                                actor_key_id=actor_key_id, action=action)
        store.audit(audit.event("audit.read", status=200))
        page, next_cursor = page_of(rows, limit, lambda row: row["seq"])
        headers = next_link(audit_blp.url_prefix, limit=limit, cursor=next_cursor, evaluation_id=evaluation_id,
                            actor_key_id=actor_key_id, action=action)
        return _json({"items": [audit.wire(r) for r in page], "next_cursor": next_cursor}, **headers)
