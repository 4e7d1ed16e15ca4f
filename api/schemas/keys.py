"""``/v1/keys``: API keys (never the keys themselves, but once)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..constants import ROLES
from .base import OutputSchema, doc, nullable


class KeySchema(OutputSchema):
    id = fields.String(required=True, **doc("The key's public id (not the key)."))
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    created_at = fields.DateTime(required=True)
    revoked_at = nullable(fields.DateTime, required=True, text="When it was revoked; `null` while it works.")


class NewKeySchema(KeySchema):
    key = fields.String(required=True, **doc("The key itself, for `Authorization: Bearer <key>`. Shown only in "
                                              "this response: the service keeps only its hash."))


class KeyListSchema(OutputSchema):
    items = fields.List(fields.Nested(KeySchema), required=True, **doc("Oldest first."))


class KeyRequestSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    name = fields.String(required=True, validate=[validate.Length(1, 100),
                                                  validate.Regexp(r"^[^\x00-\x1f\x7f]+$",
                                                                  error="No control characters.")],
                         **doc("Who or what holds the key: a clinician's name, an intake system."))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
