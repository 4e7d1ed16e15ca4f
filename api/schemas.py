"""marshmallow schemas of every request and response: the single source of the OpenAPI document.

The submission itself is the domain's ``eligibility.schemas.SubmissionSchema`` (the same schema
the CLI validates with). The response schemas here describe what the domain and the views
produce; bodies are serialised once with ``json.dumps`` rather than dumped through these, and the
test suite validates every response against the generated document so the two cannot drift.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from eligibility.schemas import SubmissionSchema

from .constants import (
    CHANNELS,
    DECISIONS,
    DETERMINATIONS,
    KINDS,
    OUTCOMES,
    REASON_MAX,
    REVIEW_STATUSES,
    ROLES,
    STATUSES,
)


def _doc(text: str, **more) -> dict:
    return {"metadata": {"description": text, **more}}


def _nullable(field_cls, *args, text: str, **kwargs):
    return field_cls(*args, allow_none=True, **_doc(text), **kwargs)


def _pointers():
    return fields.List(fields.String(), required=True, **_doc("JSON Pointers (RFC 6901) into the submission."))


def _urls():
    return fields.List(fields.String(), required=True, **_doc("URLs of the sources this rests on."))


class OutputSchema(ma.Schema):
    """A response body: documented, never used to load."""


# -- problems ---------------------------------------------------------------------------------------

class ProblemSchema(OutputSchema):
    """An RFC 9457 problem: the body of every error response."""

    type = fields.String(required=True, **_doc("A URI naming the kind of problem."))
    title = fields.String(required=True, **_doc("A short summary of the kind of problem."))
    status = fields.Integer(required=True, **_doc("The HTTP status code."))
    detail = fields.String(required=True, **_doc("What went wrong with this request, in a sentence."))
    instance = fields.String(required=True, **_doc("The request path."))
    request_id = fields.String(required=True, **_doc("The request's X-Request-Id, to quote when asking for help."))
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         **_doc("422 only: every invalid field, keyed by JSON Pointer into the submission "
                                "(or `/<parameter>` for a query parameter), each with its messages; "
                                "all problems are listed at once.",
                                example={"/patient/age": ["Must be greater than or equal to 0 and less than "
                                                          "or equal to 130."]}))


class CheckSchema(OutputSchema):
    ok = fields.Boolean(required=True)
    detail = fields.String(required=True)


class ChecksSchema(OutputSchema):
    policies = fields.Nested(CheckSchema, required=True, **_doc("Policies loaded and registered."))
    database = fields.Nested(CheckSchema, required=True,
                             **_doc("Database reachable and migrated to the revision this code expects."))


class NotReadyProblemSchema(ProblemSchema):
    checks = fields.Nested(ChecksSchema, required=True)


# -- evaluation results -----------------------------------------------------------------------------

class PolicyRefSchema(OutputSchema):
    id = fields.String(required=True)
    version = fields.String(required=True)
    title = fields.String(required=True)
    digest = fields.String(required=True, **_doc("sha256 of the policy file's canonical JSON: which rules ran."))
    effective_date = fields.Date(required=True)


class _CriterionBaseSchema(OutputSchema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES),
                           **_doc("`met`: the requirement holds (for exclusions and contraindications: the "
                                  "exclusion is absent); `not_met`: it does not; `unknown`: the submission lacks "
                                  "what it needs."))
    reason = fields.String(required=True, **_doc("One sentence a clinician can check."))
    evidence = _pointers()
    sources = _urls()
    rule = fields.String(**_doc("The name of the policy rule that decided it."))


class BranchSchema(_CriterionBaseSchema):
    """One alternative of an any-of or all-of criterion."""


class CriterionSchema(_CriterionBaseSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    branches = fields.List(fields.Nested(BranchSchema),
                           **_doc("For a criterion with alternatives (any-of) or parts (all-of): each, "
                                  "combined by Kleene logic."))


class MissingInformationSchema(OutputSchema):
    field = fields.String(required=True, **_doc("JSON Pointer to what the submission should add."))
    needed_for = fields.String(required=True, **_doc("The id of the criterion it would decide."))
    detail = fields.String(required=True)


class CautionSchema(OutputSchema):
    id = fields.String(required=True)
    detail = fields.String(required=True)
    sources = _urls()


class DocumentationRequirementSchema(OutputSchema):
    id = fields.String(required=True)
    detail = fields.String(required=True)
    sources = _urls()


class MaudsleyComponentsSchema(OutputSchema):
    duration = _nullable(fields.Integer, text="1-3 points: episode duration.")
    severity = _nullable(fields.Integer, text="1-5 points: symptom severity.")
    treatment_failures = _nullable(fields.Integer, text="0-5 points: failed antidepressant trials.")
    augmentation = _nullable(fields.Integer, text="0-1 point: augmentation used.")
    ect = _nullable(fields.Integer, text="0-1 point: ECT used.")


class MeasuresSchema(OutputSchema):
    """Staging measures under this policy's own adequacy rules; ``null`` where the submission cannot tell."""

    failed_adequate_trials_current_episode = _nullable(
        fields.Integer, text="Antidepressant trials in the current episode that were adequate by this policy's "
                             "dose and duration rules and failed.")
    intolerant_trials_current_episode = _nullable(
        fields.Integer, text="Antidepressant trials in the current episode stopped for intolerance.")
    antidepressant_classes_failed = _nullable(
        fields.Integer, text="Distinct antidepressant classes among the failed adequate trials.")
    augmentation_trials_failed = _nullable(fields.Integer, text="Failed augmentation trials counted by this policy.")
    psychotherapy_trials_failed = _nullable(fields.Integer, text="Failed psychotherapy trials counted by this policy.")
    augmentation_used = _nullable(fields.Boolean, text="Any augmentation in the current episode.")
    ect_used = _nullable(fields.Boolean, text="Any ECT in the current episode.")
    maudsley_score = _nullable(fields.Integer, text="Maudsley Staging Method total (3-15), when every component "
                                                    "is known.")
    maudsley_score_range = fields.List(fields.Integer(), validate=validate.Length(equal=2), allow_none=True,
                                       **_doc("The lowest and highest total the known components allow; null "
                                              "with no failed adequate trial (nothing to stage)."))
    maudsley_band = _nullable(fields.String, validate=validate.OneOf(("mild", "moderate", "severe")),
                              text="The MSM band (3-6 mild, 7-10 moderate, 11-15 severe), when the range "
                                   "settles it.")
    maudsley_components = fields.Nested(MaudsleyComponentsSchema, allow_none=True)
    thase_rush_stage = _nullable(fields.Integer, validate=validate.Range(0, 5),
                                 text="Thase-Rush stage 0-5 (0-V), when an adequate trial allows staging.")


class ResultSchema(OutputSchema):
    policy = fields.Nested(PolicyRefSchema, required=True)
    determination = fields.String(
        required=True, validate=validate.OneOf(DETERMINATIONS),
        **_doc("The first that applies: `contraindicated` (a contraindication criterion is not met), "
               "`does_not_meet_criteria` (another criterion is not met), `insufficient_information` (a criterion "
               "is unknown), `meets_criteria` (every criterion is met)."))
    criteria = fields.List(fields.Nested(CriterionSchema), required=True)
    missing_information = fields.List(fields.Nested(MissingInformationSchema), required=True,
                                      **_doc("What would turn each unknown criterion into a verdict."))
    cautions = fields.List(fields.Nested(CautionSchema), required=True,
                           **_doc("Relative contraindications and warnings to weigh; they do not change the "
                                  "determination."))
    documentation_requirements = fields.List(fields.Nested(DocumentationRequirementSchema), required=True,
                                             **_doc("What the policy demands that no rule can check, for the "
                                                    "clinician to attest; does not change the determination."))
    measures = fields.Nested(MeasuresSchema, required=True)


class ReviewerSchema(OutputSchema):
    key_id = fields.String(required=True, **_doc("The id of the clinician's API key."))
    name = fields.String(required=True, **_doc("The key's name: the clinician."))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class _ReviewEntrySchema(OutputSchema):
    number = fields.Integer(required=True, **_doc("1 for the first review; each amendment adds one."))
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    determination = fields.String(required=True, validate=validate.OneOf(DETERMINATIONS),
                                  **_doc("The clinician's determination: for `accept`, the results' one it "
                                         "accepts; for `override`, the clinician's own."))
    reason = _nullable(fields.String, required=True, text="The clinician's reason (required for an override "
                                                          "and an amendment).")
    reviewed_at = fields.DateTime(required=True, **_doc("UTC, to the second."))
    reviewer = fields.Nested(ReviewerSchema, required=True)


class EarlierReviewSchema(_ReviewEntrySchema):
    """A review that a later one amended; kept and shown."""


class ReviewSchema(OutputSchema):
    """The evaluation's review: `{"status": "pending"}` until a clinician reviews it, then the current review
    (the latest), with every review it amended in `earlier`, oldest first."""

    status = fields.String(required=True, validate=validate.OneOf(REVIEW_STATUSES),
                           **_doc("`pending` until a clinician reviews the evaluation; then `accepted` or "
                                  "`overridden` by the current review."))
    number = fields.Integer(**_doc("The current review's number (send it as `amends` to amend it)."))
    decision = fields.String(validate=validate.OneOf(DECISIONS))
    determination = fields.String(validate=validate.OneOf(DETERMINATIONS),
                                  **_doc("The clinician's determination."))
    reason = _nullable(fields.String, text="The clinician's reason.")
    reviewed_at = fields.DateTime(**_doc("UTC, to the second."))
    reviewer = fields.Nested(ReviewerSchema)
    earlier = fields.List(fields.Nested(EarlierReviewSchema),
                          **_doc("Reviews the current one amended, oldest first; absent when there are none."))


class QueueReviewSchema(OutputSchema):
    status = fields.String(required=True, validate=validate.OneOf(REVIEW_STATUSES))


class ReviewRequestSchema(ma.Schema):
    """A clinician's review of an evaluation."""

    class Meta:
        unknown = ma.RAISE

    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS),
                             **_doc("`accept` the results' determination, or `override` it with your own."))
    determination = fields.String(
        allow_none=True, validate=validate.OneOf(DETERMINATIONS),
        **_doc("Required for `override`: your determination, which must differ from at least one result's. For "
               "`accept`: one of the results' determinations; may be left out when every result has the same."))
    reason = fields.String(allow_none=True, validate=[validate.Length(max=REASON_MAX),
                                                      validate.Regexp(r"^[^\x00]*$", error="No NUL characters.")],
                           **_doc("Why; required (not blank) for `override` and for an amendment. Clinical free text: "
                                  "stored with the review, never logged or audited."))
    amends = fields.Integer(allow_none=True, strict=True, validate=validate.Range(1, 32000),
                            **_doc("To amend the current review, its `number`. Without it, a second review of the "
                                   "same evaluation is a 409; with it, the earlier review stays visible in "
                                   "`review.earlier`."))

    @ma.validates_schema
    def _required_together(self, data, **_):
        errors = {}
        blank = not (data.get("reason") or "").strip()
        if data.get("decision") == "override":
            if data.get("determination") is None:
                errors["determination"] = ["An override needs your determination."]
            if blank:
                errors["reason"] = ["An override needs a reason."]
        if data.get("amends") is not None and blank:
            errors["reason"] = ["An amendment needs a reason."]
        if errors:
            raise ma.ValidationError(errors)


class ConflictProblemSchema(ProblemSchema):
    current_review = _nullable(fields.Integer, required=True,
                               text="The current review's number (send it as `amends` to amend it); `null` when "
                                    "the evaluation has no review yet.")


class WarningSchema(OutputSchema):
    field = fields.String(required=True, **_doc("JSON Pointer to the item the engine kept but could not use."))
    detail = fields.String(required=True)


class EvaluationSchema(OutputSchema):
    """An evaluation as stored: the same bytes on creation, on replay and on every later GET."""

    id = fields.String(required=True, **_doc("Opaque id."))
    created_at = fields.DateTime(required=True, **_doc("UTC, to the second."))
    as_of = fields.Date(required=True)
    reference = _nullable(fields.String, required=True, text="The caller's reference, as sent.")
    results = fields.List(fields.Nested(ResultSchema), required=True,
                          **_doc("One per requested policy, in request order."))
    review = fields.Nested(ReviewSchema, required=True)
    warnings = fields.List(fields.Nested(WarningSchema), required=True)


# -- the review queue -------------------------------------------------------------------------------

class QueuePolicySchema(OutputSchema):
    id = fields.String(required=True)
    version = fields.String(required=True)
    digest = fields.String(required=True)
    determination = fields.String(required=True, validate=validate.OneOf(DETERMINATIONS))


class QueueItemSchema(OutputSchema):
    id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    as_of = fields.Date(required=True)
    reference = _nullable(fields.String, required=True, text="The caller's reference.")
    review = fields.Nested(QueueReviewSchema, required=True)
    policies = fields.List(fields.Nested(QueuePolicySchema), required=True)


class EvaluationListSchema(OutputSchema):
    items = fields.List(fields.Nested(QueueItemSchema), required=True, **_doc("Newest first."))
    next_cursor = _nullable(fields.String, required=True,
                            text="Pass as `cursor` for the next page; `null` on the last page.")


class QueueArgsSchema(ma.Schema):
    review_status = fields.String(validate=validate.OneOf(REVIEW_STATUSES), **_doc("Only evaluations in this "
                                                                                   "review status."))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100), **_doc("Page size."))
    cursor = fields.String(validate=validate.Regexp(r"^[1-9][0-9]{0,18}$", error="Not a cursor from this API."),
                           **_doc("The `next_cursor` of the previous page."))
    policy = fields.String(validate=validate.Length(1, 100),
                           **_doc("Only evaluations that were evaluated against this policy id."))
    determination = fields.String(validate=validate.OneOf(DETERMINATIONS),
                                  **_doc("Only evaluations with a result of this determination (under `policy`, "
                                         "when given)."))


# -- keys and the audit trail -----------------------------------------------------------------------

class KeySchema(OutputSchema):
    id = fields.String(required=True, **_doc("The key's public id (not the key)."))
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    created_at = fields.DateTime(required=True)
    revoked_at = _nullable(fields.DateTime, required=True, text="When it was revoked; `null` while it works.")


class NewKeySchema(KeySchema):
    key = fields.String(required=True, **_doc("The key itself, for `Authorization: Bearer <key>`. Shown only in "
                                              "this response: the service keeps only its hash."))


class KeyListSchema(OutputSchema):
    items = fields.List(fields.Nested(KeySchema), required=True, **_doc("Oldest first."))


class KeyRequestSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    name = fields.String(required=True, validate=[validate.Length(1, 100),
                                                  validate.Regexp(r"^[^\x00-\x1f\x7f]+$",
                                                                  error="No control characters.")],
                         **_doc("Who or what holds the key: a clinician's name, an intake system."))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class AuditPolicySchema(OutputSchema):
    id = fields.String(required=True)
    version = fields.String(required=True)
    digest = fields.String(required=True)


class AuditEventSchema(OutputSchema):
    seq = fields.Integer(required=True, **_doc("Append order."))
    recorded_at = fields.String(required=True, **_doc("UTC, to the microsecond."))
    action = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    actor_key_id = _nullable(fields.String, required=True, text="`null` for the command line.")
    actor_role = _nullable(fields.String, required=True, text="`null` for the command line.")
    evaluation_id = _nullable(fields.String, required=True, text="The evaluation acted on.")
    review_number = _nullable(fields.Integer, required=True, text="The review recorded.")
    subject_key_id = _nullable(fields.String, required=True, text="The key created or revoked.")
    policies = fields.List(fields.Nested(AuditPolicySchema), allow_none=True, required=True,
                           **_doc("The evaluation's policies: which rules ran, not what they decided."))
    request_id = _nullable(fields.String, required=True, text="The request's X-Request-Id.")
    status = _nullable(fields.Integer, required=True, text="The HTTP status answered.")


class AuditListSchema(OutputSchema):
    items = fields.List(fields.Nested(AuditEventSchema), required=True, **_doc("Newest first."))
    next_cursor = _nullable(fields.String, required=True,
                            text="Pass as `cursor` for the next (older) page; `null` on the last page.")


class AuditArgsSchema(ma.Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500), **_doc("Page size."))
    cursor = fields.String(validate=validate.Regexp(r"^[1-9][0-9]{0,18}$", error="Not a cursor from this API."),
                           **_doc("The `next_cursor` of the previous page."))
    evaluation_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"), **_doc("Only rows about this "
                                                                                      "evaluation."))
    actor_key_id = fields.String(validate=validate.Length(1, 16), **_doc("Only rows of this key's actions."))
    action = fields.String(validate=validate.Length(1, 32), **_doc("Only rows of this action."))


# -- policies ---------------------------------------------------------------------------------------

class SourceSchema(OutputSchema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    url = fields.String(required=True)
    supports = fields.String(required=True, **_doc("What the policy takes from this source."))
    status = fields.String(required=True, validate=validate.OneOf(("primary", "secondary", "unconfirmed")),
                           **_doc("`unconfirmed`: the source was not read in full; check before relying on it."))
    note = _nullable(fields.String, text="Why the source is secondary or unconfirmed.")


class ParameterSchema(OutputSchema):
    name = fields.String(required=True)
    value = fields.Raw(required=True, **_doc("A number, string, boolean or list, as the policy file gives it."))
    status = fields.String(required=True, validate=validate.OneOf(("confirmed", "unconfirmed")))
    sources = fields.List(fields.String(), required=True, **_doc("Keys into `sources`."))
    note = _nullable(fields.String, text="Why the value is unconfirmed, or how it was chosen.")


class PolicyBranchSchema(OutputSchema):
    id = fields.String(required=True)
    title = fields.String(required=True)


class PolicyCriterionSchema(OutputSchema):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = fields.String(required=True)
    combine = _nullable(fields.String, validate=validate.OneOf(("any_of", "all_of")),
                        text="How `branches` combine; `null` for a single requirement.")
    branches = fields.List(fields.Nested(PolicyBranchSchema), required=True)


class PolicySummarySchema(OutputSchema):
    id = fields.String(required=True)
    version = fields.String(required=True)
    effective_date = fields.Date(required=True)
    digest = fields.String(required=True)
    title = fields.String(required=True)
    publisher = fields.String(required=True)
    jurisdiction = fields.String(required=True)


class PolicySchema(PolicySummarySchema):
    summary = fields.String(required=True)
    sources = fields.List(fields.Nested(SourceSchema), required=True)
    parameters = fields.List(fields.Nested(ParameterSchema), required=True)
    criteria = fields.List(fields.Nested(PolicyCriterionSchema), required=True)
    documentation_requirements = fields.List(fields.Nested(DocumentationRequirementSchema), required=True,
                                             **_doc("What the policy demands that no rule can check."))


class PolicyListSchema(OutputSchema):
    items = fields.List(fields.Nested(PolicySummarySchema), required=True)
    default_policies = fields.List(fields.String(), required=True,
                                   **_doc("Evaluated when a submission names no `policies`."))


# -- health -----------------------------------------------------------------------------------------

class HealthSchema(OutputSchema):
    status = fields.String(required=True, validate=validate.OneOf(("ok",)))


class ReadySchema(OutputSchema):
    status = fields.String(required=True, validate=validate.OneOf(("ready",)))
    checks = fields.Nested(ChecksSchema, required=True)


# The submission, for the document only: the views validate with the library's own instance.
submission_doc_schema = SubmissionSchema(catalogue=None)
