"""``/cds-services``: the CDS Hooks 2.0 service (contract section 7), for EHRs.

Every call carries the EHR's signed JWT (``Authorization: Bearer``), checked by ``services.ehr_tokens``
against the issuers configured in ``CDS_HOOKS_ISSUERS``; its ``aud`` must be the URL called, which is
``CDS_HOOKS_BASE_URL`` (or the request's own root) with the request's path. No API key is involved: the
evaluations a hook call stores are audited on the channel ``cds`` without a key.
"""

from __future__ import annotations

import functools

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services import cds_hooks, ehr_tokens

from .body import json_body
from .caller import caller
from .constants import JSON
from .errors import Problem
from .responses import json_response
from .schemas.cds_hooks import CardsSchema, DiscoverySchema, FeedbackAnswerSchema
from .state import state

blp = Blueprint("cds-hooks", __name__, url_prefix="/cds-services",
                description="CDS Hooks 2.0 service for EHRs: discovery, order-sign and order-select, feedback. "
                            "Every call carries the EHR's signed JWT (ES384 or RS384).")
SECURITY = [{"ehrJwt": []}]
JWKS = "cds-hooks:jwks"


def _jwks() -> ehr_tokens.JwksCache:
    cache = current_app.extensions.get(JWKS)
    if cache is None:
        issuers = ehr_tokens.parse_issuers(current_app.config.get("CDS_HOOKS_ISSUERS"))
        cache = current_app.extensions[JWKS] = ehr_tokens.JwksCache(issuers)
    return cache


def base_url() -> str:
    return (current_app.config.get("CDS_HOOKS_BASE_URL") or request.url_root).rstrip("/")


def ehr_jwt(view):
    """Check the EHR's JWT before the view; a 401 problem otherwise."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else None
        try:
            accepted = ehr_tokens.verify(token, audience=base_url() + request.path, jwks=_jwks(),
                                         uow=state().unit_of_work(),
                                         skew_seconds=current_app.config["CDS_HOOKS_JWT_SKEW_SECONDS"],
                                         clock=state().clock)
        except ehr_tokens.TokenRefused as exc:
            raise Problem(401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="cds-services"'}) from None
        g.log_fields = {"issuer": accepted.iss}
        return view(*args, **kwargs)

    return checked


@blp.route("")
class Discovery(MethodView):

    @blp.doc(summary="CDS Hooks discovery", security=SECURITY,
             description="The service `tms-eligibility`, for the hooks `order-sign` and `order-select`, with its "
                         "prefetch templates.")
    @blp.response(200, DiscoverySchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @ehr_jwt
    def get(self):
        return json_response(cds_hooks.discovery())


@blp.route("/tms-eligibility")
class Hook(MethodView):

    @blp.doc(summary="Answer an order-sign or order-select hook", security=SECURITY,
             description="With a TMS ServiceRequest (CPT 90867, 90868 or 90869) among the draft orders (for "
                         "order-select, among the selections): reads the patient's record from the prefetch, or "
                         "from `fhirServer` with `fhirAuthorization` for what is not prefetched, evaluates it "
                         "against the configured policies (`CDS_HOOKS_POLICIES`), stores the evaluation (reviewable "
                         "like any), and answers one card per policy. Without a TMS order: `{\"cards\": []}` and "
                         "nothing stored. Prefetch missing with no `fhirServer`, or a server that cannot be "
                         "read: 412.",
             requestBody={"required": True, "content": {JSON: {"schema": {"type": "object"}}}})
    @blp.response(200, CardsSchema)
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    @ehr_jwt
    def post(self):
        received = json_body(JSON, "the hook request")
        s = state()
        try:
            answer = cds_hooks.answer_hook(s.unit_of_work(), s.library, received.document,
                                           caller("cds", success=200), review_base=base_url(),
                                           policies=current_app.config.get("CDS_HOOKS_POLICIES") or None,
                                           clock=s.clock)
        except cds_hooks.PrefetchUnavailable as exc:
            raise Problem(412, str(exc)) from None
        g.log_fields = {**g.get("log_fields", {}), "cards": len(answer["cards"])}
        return json_response(answer)


@blp.route("/tms-eligibility/feedback")
class Feedback(MethodView):

    @blp.doc(summary="Feedback on cards", security=SECURITY,
             description="Records each `accepted` or `overridden` outcome in the audit trail (`cds.feedback`), with "
                         "the card's evaluation.",
             requestBody={"required": True, "content": {JSON: {"schema": {"type": "object"}}}})
    @blp.response(200, FeedbackAnswerSchema)
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    @ehr_jwt
    def post(self):
        received = json_body(JSON, "the feedback")
        s = state()
        recorded = cds_hooks.record_feedback(s.unit_of_work(), received.document, caller("cds", success=200),
                                             clock=s.clock)
        return json_response({"recorded": recorded})
