"""``/v1/audit``: the audit trail, a page at a time."""

from __future__ import annotations

from marshmallow import fields, validate

from ..constants import CHANNELS, OUTCOMES
from .base import OutputSchema, doc, nullable
from .paging import PageArgsSchema


class AuditPolicySchema(OutputSchema):
    id = fields.String(required=True)
    version = fields.String(required=True)
    digest = fields.String(required=True)


class AuditEventSchema(OutputSchema):
    seq = fields.Integer(required=True, **doc("Append order."))
    recorded_at = fields.String(required=True, **doc("UTC, to the microsecond."))
    action = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    actor_key_id = nullable(fields.String, required=True, text="`null` for the command line.")
    actor_role = nullable(fields.String, required=True, text="`null` for the command line.")
    evaluation_id = nullable(fields.String, required=True, text="The evaluation acted on.")
    review_number = nullable(fields.Integer, required=True, text="The review recorded.")
    subject_key_id = nullable(fields.String, required=True, text="The key created or revoked.")
    policies = fields.List(fields.Nested(AuditPolicySchema), allow_none=True, required=True,
                           **doc("The evaluation's policies: which rules ran, not what they decided."))
    request_id = nullable(fields.String, required=True, text="The request's X-Request-Id.")
    status = nullable(fields.Integer, required=True, text="The HTTP status answered.")
    course_id = nullable(fields.String, required=True, text="The TMS course acted on.")


class AuditListSchema(OutputSchema):
    items = fields.List(fields.Nested(AuditEventSchema), required=True, **doc("Newest first."))
    next_cursor = nullable(fields.String, required=True,
                            text="Pass as `cursor` for the next (older) page; `null` on the last page.")


class AuditArgsSchema(PageArgsSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500), **doc("Page size."))
    evaluation_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"), **doc("Only rows about this "
                                                                                     "evaluation."))
    actor_key_id = fields.String(validate=validate.Length(1, 16), **doc("Only rows of this key's actions."))
    action = fields.String(validate=validate.Length(1, 32), **doc("Only rows of this action."))
    course_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$"), **doc("Only rows about this course."))
