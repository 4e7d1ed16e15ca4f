"""``/v1/fhir/evaluations``: the query, and the mapping report an evaluation made from a FHIR Bundle carries."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from .base import doc
from .evaluations import EvaluationSchema, MappingSchema


class FhirArgsSchema(ma.Schema):
    policy = fields.List(fields.String(validate=validate.Length(1, 200)), validate=validate.Length(1, 20),
                         **doc("A policy to evaluate, repeated or comma-separated for several (`?policy=a&policy=b`, "
                               "`?policy=a,b`), in this order; "
                               "default: the server's configured list."))
    as_of = fields.Date(**doc("The date the evaluation is for; default: today (UTC). Records dated after it are "
                              "left out, and the mapping report says so."))


class FhirEvaluationSchema(EvaluationSchema):
    """An evaluation made from a FHIR R4 Bundle: the same as any, plus its mapping report."""

    mapping = fields.Nested(MappingSchema, required=True)
