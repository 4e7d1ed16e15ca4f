"""``/v1/evaluations/<id>/review``: a review request, the ``review`` member, and the conflict problem."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..constants import DECISIONS, DETERMINATIONS, REASON_MAX, REVIEW_STATUSES, ROLES
from .base import OutputSchema, doc, nullable
from .problems import ProblemSchema


class ReviewerSchema(OutputSchema):
    key_id = fields.String(required=True, **doc("The id of the clinician's API key."))
    name = fields.String(required=True, **doc("The key's name: the clinician."))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class _ReviewEntrySchema(OutputSchema):
    number = fields.Integer(required=True, **doc("1 for the first review; each amendment adds one."))
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    determination = fields.String(required=True, validate=validate.OneOf(DETERMINATIONS),
                                  **doc("The clinician's determination: for `accept`, the results' one it "
                                         "accepts; for `override`, the clinician's own."))
    reason = nullable(fields.String, required=True, text="The clinician's reason (required for an override "
                                                          "and an amendment).")
    reviewed_at = fields.DateTime(required=True, **doc("UTC, to the second."))
    reviewer = fields.Nested(ReviewerSchema, required=True)
    policy = fields.String(**doc("The id of the policy whose result this review concerns; absent for a review of "
                                 "every result."))
    attested = fields.List(fields.String(), **doc("The ids of the policy's documentation requirements the "
                                                   "clinician attested (a policy's review only; may be empty)."))


class EarlierReviewSchema(_ReviewEntrySchema):
    """A review that a later one amended; kept and shown."""


class PolicyReviewSchema(_ReviewEntrySchema):
    """One policy's own review state: `pending`, or its current review with the ones it amended."""

    status = fields.String(required=True, validate=validate.OneOf(REVIEW_STATUSES))
    number = fields.Integer(**doc("The policy's current review's number (send it as `amends`, with `policy`, to "
                                  "amend it)."))
    decision = fields.String(validate=validate.OneOf(DECISIONS))
    determination = fields.String(validate=validate.OneOf(DETERMINATIONS))
    reason = nullable(fields.String, text="The clinician's reason.")
    reviewed_at = fields.DateTime(**doc("UTC, to the second."))
    reviewer = fields.Nested(ReviewerSchema)
    policy = fields.String(required=True, **doc("The policy's id."))
    earlier = fields.List(fields.Nested(EarlierReviewSchema),
                          **doc("The policy's reviews the current one amended, oldest first."))


class ReviewSchema(OutputSchema):
    """The evaluation's review: `{"status": "pending"}` until a clinician reviews it, then the current review
    (the latest), with every review it amended in `earlier`, oldest first."""

    status = fields.String(required=True, validate=validate.OneOf(REVIEW_STATUSES),
                           **doc("`pending` until a clinician reviews the evaluation; then `accepted` or "
                                  "`overridden` by the current review."))
    number = fields.Integer(**doc("The current review's number (send it as `amends` to amend it)."))
    decision = fields.String(validate=validate.OneOf(DECISIONS))
    determination = fields.String(validate=validate.OneOf(DETERMINATIONS),
                                  **doc("The clinician's determination."))
    reason = nullable(fields.String, text="The clinician's reason.")
    reviewed_at = fields.DateTime(**doc("UTC, to the second."))
    reviewer = fields.Nested(ReviewerSchema)
    earlier = fields.List(fields.Nested(EarlierReviewSchema),
                          **doc("Reviews the current one amended, oldest first; absent when there are none."))
    policies = fields.List(
        fields.Nested(PolicyReviewSchema),
    **doc("Present once some policy's result has its own review (a request with `policy`): each policy of the "
          "evaluation, in result order, with its own review state. The members above then show the review of "
          "every result, if there is one; without it, `status` is `overridden` when some policy's current review "
          "overrides, else `accepted`."))


class ReviewRequestSchema(ma.Schema):
    """A clinician's review of an evaluation."""

    class Meta:
        unknown = ma.RAISE

    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS),
                             **doc("`accept` the results' determination, or `override` it with your own."))
    determination = fields.String(
        allow_none=True, validate=validate.OneOf(DETERMINATIONS),
        **doc("Required for `override`: your determination, which must differ from at least one result's. For "
               "`accept`: one of the results' determinations; may be left out when every result has the same."))
    reason = fields.String(allow_none=True, validate=[validate.Length(max=REASON_MAX),
                                                      validate.Regexp(r"^[^\x00]*$", error="No NUL characters.")],
                           **doc("Why; required (not blank) for `override` and for an amendment. Clinical free text: "
                                  "stored with the review, never logged or audited."))
    amends = fields.Integer(allow_none=True, strict=True, validate=validate.Range(1, 32000),
                            **doc("To amend the current review, its `number`. Without it, a second review of the "
                                   "same evaluation is a 409; with it, the earlier review stays visible in "
                                   "`review.earlier`."))

    policy = fields.String(validate=validate.Length(1, 100),
                           **doc("The id of one policy among the evaluation's results: the review concerns that "
                                 "policy's result alone (\"can I submit to this payer?\"), with its own accept, "
                                 "override and amendments. Without it, the review concerns every result."))
    attested = fields.List(fields.String(validate=validate.Length(1, 100)), validate=validate.Length(max=100),
                           **doc("With `policy`: the ids of that policy's `documentation_requirements` the "
                                 "clinician attests (ticked), stored with the review. An id the policy does not "
                                 "have is a 422."))

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
    current_review = nullable(fields.Integer, required=True,
                               text="The current review's number (send it as `amends` to amend it); `null` when "
                                    "the evaluation has no review yet.")
