"""``/v1/keys``: managing API keys (role admin), through ``services.keys``."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from eligibility.schemas import pointer_errors
from services import keys
from services.records import Received

from .access import requires
from .caller import caller
from .constants import JSON
from .errors import Problem
from .responses import Answer, json_post, json_response
from .schemas.keys import KeyListSchema, KeyRequestSchema, KeySchema, NewKeySchema
from .state import state

blp = Blueprint("keys", __name__, url_prefix="/v1/keys", description="API keys (role admin).")

_key_request = KeyRequestSchema()


def load_request(document) -> dict:
    """A key request validated (422 with every problem keyed by JSON Pointer)."""
    try:
        data = _key_request.load(document if isinstance(document, dict) else {"": document})
        if not data["name"].strip():
            raise ma.ValidationError({"name": ["The name is blank."]})
    except ma.ValidationError as exc:
        errors = pointer_errors(exc.messages)
        raise Problem(422, f"{len(errors)} field(s) are invalid; every one is listed in errors.",
                      title="Invalid key request", errors=errors) from None
    return data


@blp.route("")
class Keys(MethodView):

    @requires("admin", action="key.list")
    @blp.doc(summary="Every API key (never the keys themselves)")
    @blp.response(200, KeyListSchema)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self):
        return json_response({"items": [k.to_wire() for k in keys.list_keys(state().unit_of_work())]})

    @requires("admin", action="key.create")
    @blp.doc(summary="Create an API key", description="The answer holds the key itself, once: the service keeps "
                                                       "only its hash. An admin makes admin keys only (403 for a "
                                                       "role that reads clinical data, audited) unless the "
                                                       "deployment sets TMS_ADMIN_MAY_CREATE_CLINICAL_KEYS=1; "
                                                       "names are unique among unrevoked keys (409).",
             requestBody={"required": True, "content": {JSON: {"schema": KeyRequestSchema}}})
    @blp.response(201, NewKeySchema, description="Created.")
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(409, response="CONFLICT", description="An unrevoked key already has this name.")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    @json_post
    def post(self, received: Received):
        data = load_request(received.document)
        s = state()
        made = keys.create_key(s.unit_of_work(), data["name"], data["role"], caller(success=201, denied=403),
                               clock=s.clock, clinical=current_app.config["ADMIN_MAY_CREATE_CLINICAL_KEYS"])
        g.log_fields = {"key_id": made.record.id}
        return Answer({**made.record.to_wire(), "key": made.key}, 201, f"/v1/keys/{made.record.id}")


@blp.route("/<key_id>")
class KeyById(MethodView):

    @requires("admin", action="key.revoke")
    @blp.doc(summary="Revoke an API key",
             description="The key fails from the next request on, in every worker, and its review-page "
                         "sessions end. Revoking a revoked key changes nothing and answers the same.")
    @blp.response(200, KeySchema, description="Revoked (now or before).")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def delete(self, key_id: str):
        s = state()
        revoked = keys.revoke_key(s.unit_of_work(), key_id, caller(success=200, unchanged=200), clock=s.clock)
        g.log_fields = {"key_id": key_id}
        return json_response(revoked.record.to_wire())
