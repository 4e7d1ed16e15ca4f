"""CDS Hooks 2.0 (contract section 7): discovery, cards and feedback, as answered."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import OutputSchema, doc


class CdsServiceSchema(OutputSchema):
    hook = fields.String(required=True, validate=validate.OneOf(("order-sign", "order-select")))
    title = fields.String(required=True)
    description = fields.String(required=True)
    id = fields.String(required=True)
    prefetch = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                           **doc("Prefetch key -> FHIR query template."))


class DiscoverySchema(OutputSchema):
    services = fields.List(fields.Nested(CdsServiceSchema), required=True)


class CardSourceSchema(OutputSchema):
    label = fields.String(required=True, **doc("The policy's publisher."))
    url = fields.String(**doc("The policy's first source."))


class CardLinkSchema(OutputSchema):
    label = fields.String(required=True)
    url = fields.String(required=True, **doc("The stored evaluation's review page."))
    type = fields.String(required=True, validate=validate.OneOf(("absolute", "smart")))


class CardSchema(OutputSchema):
    uuid = fields.String(required=True, **doc("Send it back in feedback."))
    summary = fields.String(required=True, validate=validate.Length(max=139), **doc("Fewer than 140 characters."))
    indicator = fields.String(required=True, validate=validate.OneOf(("info", "warning", "critical")),
                              **doc("`info`: meets the criteria; `warning`: does not meet them, or information "
                                    "is missing; `critical`: contraindicated."))
    source = fields.Nested(CardSourceSchema, required=True)
    detail = fields.String(required=True, **doc("Markdown: the criteria not met or unknown, each with its reason "
                                                "and what would change it."))
    links = fields.List(fields.Nested(CardLinkSchema), required=True)


class CardsSchema(OutputSchema):
    cards = fields.List(fields.Nested(CardSchema), required=True,
                        **doc("One per configured policy; empty without a TMS order among the draft orders."))


class FeedbackAnswerSchema(OutputSchema):
    recorded = fields.Integer(required=True, **doc("Feedback items recorded in the audit trail."))
