"""``/healthz`` and ``/readyz``."""

from __future__ import annotations

from marshmallow import fields, validate

from .base import OutputSchema, doc
from .problems import ProblemSchema


class CheckSchema(OutputSchema):
    ok = fields.Boolean(required=True)
    detail = fields.String(required=True)


class ChecksSchema(OutputSchema):
    policies = fields.Nested(CheckSchema, required=True, **doc("Policies loaded and registered."))
    database = fields.Nested(CheckSchema, required=True,
                             **doc("Database reachable and migrated to the revision this code expects."))


class NotReadyProblemSchema(ProblemSchema):
    checks = fields.Nested(ChecksSchema, required=True)


class HealthSchema(OutputSchema):
    status = fields.String(required=True, validate=validate.OneOf(("ok",)))


class ReadySchema(OutputSchema):
    status = fields.String(required=True, validate=validate.OneOf(("ready",)))
    checks = fields.Nested(ChecksSchema, required=True)
