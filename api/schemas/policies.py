"""``/v1/policies``: the loaded policies, with sources, parameters and criteria titles."""

from __future__ import annotations

from marshmallow import fields, validate

from ..constants import KINDS
from .base import OutputSchema, doc, nullable
from .evaluations import DocumentationRequirementSchema


class SourceSchema(OutputSchema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    url = fields.String(required=True)
    supports = fields.String(required=True, **doc("What the policy takes from this source."))
    status = fields.String(required=True, validate=validate.OneOf(("primary", "secondary", "unconfirmed")),
                           **doc("`unconfirmed`: the source was not read in full; check before relying on it."))
    note = nullable(fields.String, text="Why the source is secondary or unconfirmed.")


class ParameterSchema(OutputSchema):
    name = fields.String(required=True)
    value = fields.Raw(required=True, **doc("A number, string, boolean or list, as the policy file gives it."))
    status = fields.String(required=True, validate=validate.OneOf(("confirmed", "unconfirmed")))
    sources = fields.List(fields.String(), required=True, **doc("Keys into `sources`."))
    note = nullable(fields.String, text="Why the value is unconfirmed, or how it was chosen.")


class PolicyBranchSchema(OutputSchema):
    id = fields.String(required=True)
    title = fields.String(required=True)


class PolicyCriterionSchema(OutputSchema):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = fields.String(required=True)
    combine = nullable(fields.String, validate=validate.OneOf(("any_of", "all_of")),
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
                                             **doc("What the policy demands that no rule can check."))


class PolicyListSchema(OutputSchema):
    items = fields.List(fields.Nested(PolicySummarySchema), required=True)
    default_policies = fields.List(fields.String(), required=True,
                                   **doc("Evaluated when a submission names no `policies`."))
