"""``/v1/fhir/evaluations``: a FHIR R4 Bundle evaluated and stored like any submission (contract section 6)."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from eligibility.fhir import InvalidBundle
from services import fhir
from services.records import Received

from .access import requires
from .caller import caller
from .constants import FHIR_JSON, JSON, LOCATION_HEADER
from .errors import problem_response, validation_problem
from .evaluations import _IDEMPOTENCY_KEY_DOC, _REQUEST_ID_DOC
from .responses import Answer, json_post
from .schemas.fhir import FhirArgsSchema, FhirEvaluationSchema
from .state import state

blp = Blueprint("fhir", __name__, url_prefix="/v1/fhir",
                description="Evaluate a FHIR R4 Bundle: mapped to a submission, evaluated and stored like any.")

_BUNDLE_DOC = {
    "type": "object", "required": ["resourceType"],
    "description": "A FHIR R4 Bundle (`collection`, `searchset` or `transaction`) holding one Patient and any of "
                   "Condition, MedicationRequest, MedicationStatement, MedicationDispense, Observation, Procedure, "
                   "AllergyIntolerance and ServiceRequest; other R4 resources are checked and reported as ignored. "
                   "How each is read: docs/fhir-mapping.md.",
    "properties": {"resourceType": {"const": "Bundle"}, "type": {"enum": ["collection", "searchset", "transaction"]},
                   "entry": {"type": "array", "items": {"type": "object"}}},
}


@blp.errorhandler(InvalidBundle)
def _invalid_bundle(exc: InvalidBundle):
    document = validation_problem(exc.errors, "/v1/fhir/evaluations")
    document.update(title="Invalid FHIR Bundle", detail=f"{len(exc.errors)} problem(s), each keyed by a JSON "
                                                        "Pointer into the Bundle (or a query parameter's name).")
    return problem_response(document)


@blp.route("/evaluations")
class FhirEvaluations(MethodView):

    @requires("intake", action="evaluation.create")
    @blp.doc(
        summary="Evaluate a FHIR R4 Bundle",
        description="Validates the Bundle as FHIR R4 (a 422 with pointers into it otherwise), maps it to a "
                    "submission, evaluates it against the policies in the query (or the defaults), stores it like "
                    "any evaluation (reviewable, in the queue) and returns the result with its `mapping`: each "
                    "submission field filled with the resources it came from, each resource or element ignored "
                    "with the reason. Nothing the EHR does not record is inferred.",
        parameters=[_IDEMPOTENCY_KEY_DOC, _REQUEST_ID_DOC],
        requestBody={"required": True, "content": {FHIR_JSON: {"schema": _BUNDLE_DOC}, JSON: {"schema": _BUNDLE_DOC}}},
    )
    @blp.arguments(FhirArgsSchema, location="query", as_kwargs=True)
    @blp.response(201, FhirEvaluationSchema, headers=LOCATION_HEADER, description="Evaluated and stored.")
    @blp.alt_response(200, schema=FhirEvaluationSchema, headers=LOCATION_HEADER, success=True,
                      description="A repeat with the same Idempotency-Key, Bundle and query: the evaluation "
                                  "stored then.")
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    @json_post(idempotent=True, media_type=FHIR_JSON, what="the FHIR R4 Bundle", also=(JSON,))
    def post(self, received: Received, idempotency_key: str | None, policy=None, as_of=None):
        s = state()
        policies = [p.strip() for value in policy or [] for p in value.split(",") if p.strip()] or None
        done = fhir.evaluate_bundle(s.unit_of_work(), s.library, received, caller(success=201, replayed=200),
                                    as_of=as_of, policies=policies, idempotency_key=idempotency_key, clock=s.clock)
        answered = done.answered
        g.log_fields = {"evaluation_id": answered.id, "replayed": True} if answered.replayed else \
            {"evaluation_id": answered.id, "outcomes": answered.outcomes}
        return Answer(answered.body, 200 if answered.replayed else 201, f"/v1/evaluations/{answered.id}")
