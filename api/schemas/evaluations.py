"""``/v1/evaluations``: the submission (the domain's own schema), an evaluation as stored, and the review queue."""

from __future__ import annotations

from marshmallow import fields, validate

from eligibility.schemas import SubmissionSchema

from ..constants import DETERMINATIONS, KINDS, REVIEW_STATUSES, STATUSES
from .base import OutputSchema, doc, nullable, pointers, urls
from .paging import PageArgsSchema
from .reviews import ReviewSchema


class PolicyRefSchema(OutputSchema):
    id = fields.String(required=True)
    version = fields.String(required=True)
    title = fields.String(required=True)
    digest = fields.String(required=True, **doc("sha256 of the policy file's canonical JSON: which rules ran."))
    effective_date = fields.Date(required=True)


class _CriterionBaseSchema(OutputSchema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES),
                           **doc("`met`: the requirement holds (for exclusions and contraindications: the "
                                  "exclusion is absent); `not_met`: it does not; `unknown`: the submission lacks "
                                  "what it needs."))
    reason = fields.String(required=True, **doc("One sentence a clinician can check."))
    evidence = pointers()
    sources = urls()
    rule = fields.String(**doc("The name of the policy rule that decided it."))


class BranchSchema(_CriterionBaseSchema):
    """One alternative of an any-of or all-of criterion."""


class EditSchema(OutputSchema):
    path = fields.String(required=True, **doc("JSON Pointer into the submission; a final `-` appends to a list."))
    value = fields.Raw(required=True, **doc("The value to set there (objects and lists above it are created)."))


class ChangeSchema(OutputSchema):
    text = fields.String(required=True, **doc("The change in words, e.g. \"the sertraline trial: 2 more weeks "
                                              "(8 in all)\" or \"request at most 30 sessions\"."))
    pointers = pointers()
    edits = fields.List(fields.Nested(EditSchema), required=True,
                        **doc("The change as edits to the submission document: applied and evaluated again "
                              "under the same policy version, they make the criterion met."))


class CriterionSchema(_CriterionBaseSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    branches = fields.List(fields.Nested(BranchSchema),
                           **doc("For a criterion with alternatives (any-of) or parts (all-of): each, "
                                  "combined by Kleene logic."))
    to_meet = fields.List(fields.Nested(ChangeSchema),
                          **doc("Only on a criterion that is `not_met` or `unknown`: the smallest changes to the "
                                "submission that would make it met, computed from the policy's own parameters "
                                "(smallest first; none merely adds to another). Empty when nothing the submission "
                                "could say would change it: a fact of the patient that is known (an age, a listed "
                                "diagnosis, an implant at the coil) is never suggested away, nor is a history "
                                "made up (an earlier course's response)."))


class MissingInformationSchema(OutputSchema):
    field = fields.String(required=True, **doc("JSON Pointer to what the submission should add."))
    needed_for = fields.String(required=True, **doc("The id of the criterion it would decide."))
    detail = fields.String(required=True)


class CautionSchema(OutputSchema):
    id = fields.String(required=True)
    detail = fields.String(required=True)
    sources = urls()


class DocumentationRequirementSchema(OutputSchema):
    id = fields.String(required=True)
    detail = fields.String(required=True)
    sources = urls()


class MaudsleyComponentsSchema(OutputSchema):
    duration = nullable(fields.Integer, text="1-3 points: episode duration.")
    severity = nullable(fields.Integer, text="1-5 points: symptom severity.")
    treatment_failures = nullable(fields.Integer, text="0-5 points: failed antidepressant trials.")
    augmentation = nullable(fields.Integer, text="0-1 point: augmentation used.")
    ect = nullable(fields.Integer, text="0-1 point: ECT used.")


class MeasuresSchema(OutputSchema):
    """Staging measures under this policy's own adequacy rules; ``null`` where the submission cannot tell."""

    failed_adequate_trials_current_episode = nullable(
        fields.Integer, text="Antidepressant trials in the current episode that were adequate by this policy's "
                             "dose and duration rules and failed.")
    intolerant_trials_current_episode = nullable(
        fields.Integer, text="Antidepressant trials in the current episode stopped for intolerance.")
    antidepressant_classes_failed = nullable(
        fields.Integer, text="Distinct antidepressant classes among the failed adequate trials.")
    augmentation_trials_failed = nullable(fields.Integer, text="Failed augmentation trials counted by this policy.")
    psychotherapy_trials_failed = nullable(fields.Integer, text="Failed psychotherapy trials counted by this policy.")
    augmentation_used = nullable(fields.Boolean, text="Any augmentation in the current episode.")
    ect_used = nullable(fields.Boolean, text="Any ECT in the current episode.")
    maudsley_score = nullable(fields.Integer, text="Maudsley Staging Method total (3-15), when every component "
                                                    "is known.")
    maudsley_score_range = fields.List(fields.Integer(), validate=validate.Length(equal=2), allow_none=True,
                                       **doc("The lowest and highest total the known components allow; null "
                                             "with no failed adequate trial (nothing to stage)."))
    maudsley_band = nullable(fields.String, validate=validate.OneOf(("mild", "moderate", "severe")),
                              text="The MSM band (3-6 mild, 7-10 moderate, 11-15 severe), when the range "
                                   "settles it.")
    maudsley_components = fields.Nested(MaudsleyComponentsSchema, allow_none=True)
    thase_rush_stage = nullable(fields.Integer, validate=validate.Range(0, 5),
                                 text="Thase-Rush stage 0-5 (0-V), when an adequate trial allows staging.")


class ResultSchema(OutputSchema):
    policy = fields.Nested(PolicyRefSchema, required=True)
    determination = fields.String(
        required=True, validate=validate.OneOf(DETERMINATIONS),
        **doc("The first that applies: `contraindicated` (a contraindication criterion is not met), "
               "`does_not_meet_criteria` (another criterion is not met), `insufficient_information` (a criterion "
               "is unknown), `meets_criteria` (every criterion is met)."))
    criteria = fields.List(fields.Nested(CriterionSchema), required=True)
    missing_information = fields.List(fields.Nested(MissingInformationSchema), required=True,
                                      **doc("What would turn each unknown criterion into a verdict."))
    cautions = fields.List(fields.Nested(CautionSchema), required=True,
                           **doc("Relative contraindications and warnings to weigh; they do not change the "
                                  "determination."))
    documentation_requirements = fields.List(fields.Nested(DocumentationRequirementSchema), required=True,
                                             **doc("What the policy demands that no rule can check, for the "
                                                    "clinician to attest; does not change the determination."))
    measures = fields.Nested(MeasuresSchema, required=True)


class WarningSchema(OutputSchema):
    field = fields.String(required=True, **doc("JSON Pointer to the item the engine kept but could not use."))
    detail = fields.String(required=True)


class IgnoredSchema(OutputSchema):
    resource = fields.String(required=True, **doc("`ResourceType/id` (the entry's fullUrl, or its pointer, "
                                                  "for a resource without an id)."))
    element = fields.String(**doc("The element left out, when it is not the whole resource."))
    reason = fields.String(required=True)


class MappingSchema(OutputSchema):
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()),
                          required=True,
                          **doc("For each submission field filled (a JSON Pointer into the submission made), the "
                                "resources (`ResourceType/id`) it came from."))
    ignored = fields.List(fields.Nested(IgnoredSchema), required=True,
                          **doc("Each resource or element not used, with the reason (unknown code, no dose, "
                                "another patient, not active...)."))


class EvaluationSchema(OutputSchema):
    """An evaluation as stored: the same bytes on creation, on replay and on every later GET."""

    id = fields.String(required=True, **doc("Opaque id."))
    created_at = fields.DateTime(required=True, **doc("UTC, to the second."))
    as_of = fields.Date(required=True)
    reference = nullable(fields.String, required=True, text="The caller's reference, as sent.")
    results = fields.List(fields.Nested(ResultSchema), required=True,
                          **doc("One per requested policy, in request order."))
    review = fields.Nested(ReviewSchema, required=True)
    warnings = fields.List(fields.Nested(WarningSchema), required=True)
    mapping = fields.Nested(MappingSchema, **doc("Only for an evaluation made from a FHIR R4 Bundle "
                                                 "(`POST /v1/fhir/evaluations`): where each field came from."))


# -- the review queue -------------------------------------------------------------------------------

class QueuePolicyReviewSchema(OutputSchema):
    policy = fields.String(required=True, **doc("The policy's id."))
    status = fields.String(required=True, validate=validate.OneOf(REVIEW_STATUSES))
    determination = fields.String(validate=validate.OneOf(DETERMINATIONS),
                                  **doc("The clinician's determination for this policy; absent while pending."))


class QueueReviewSchema(OutputSchema):
    status = fields.String(required=True, validate=validate.OneOf(REVIEW_STATUSES))
    policies = fields.List(fields.Nested(QueuePolicyReviewSchema),
                           **doc("Present once some policy has its own review: each policy's review state, in "
                                 "result order."))


class QueuePolicySchema(OutputSchema):
    id = fields.String(required=True)
    version = fields.String(required=True)
    digest = fields.String(required=True)
    determination = fields.String(required=True, validate=validate.OneOf(DETERMINATIONS))


class QueueItemSchema(OutputSchema):
    id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    as_of = fields.Date(required=True)
    reference = nullable(fields.String, required=True, text="The caller's reference.")
    review = fields.Nested(QueueReviewSchema, required=True)
    policies = fields.List(fields.Nested(QueuePolicySchema), required=True)


class EvaluationListSchema(OutputSchema):
    items = fields.List(fields.Nested(QueueItemSchema), required=True, **doc("Newest first."))
    next_cursor = nullable(fields.String, required=True,
                            text="Pass as `cursor` for the next page; `null` on the last page.")


class QueueArgsSchema(PageArgsSchema):
    review_status = fields.String(validate=validate.OneOf(REVIEW_STATUSES), **doc("Only evaluations in this "
                                                                                  "review status."))
    policy = fields.String(validate=validate.Length(1, 100),
                           **doc("Only evaluations that were evaluated against this policy id."))
    determination = fields.String(validate=validate.OneOf(DETERMINATIONS),
                                  **doc("Only evaluations with a result of this determination (under `policy`, "
                                        "when given)."))


# The submission, for the document only: the views validate with the library's own instance.
submission_doc_schema = SubmissionSchema(catalogue=None)
