"""The body of every error response: an RFC 9457 problem."""

from __future__ import annotations

from marshmallow import fields

from .base import OutputSchema, doc


class ProblemSchema(OutputSchema):
    """An RFC 9457 problem: the body of every error response."""

    type = fields.String(required=True, **doc("A URI naming the kind of problem."))
    title = fields.String(required=True, **doc("A short summary of the kind of problem."))
    status = fields.Integer(required=True, **doc("The HTTP status code."))
    detail = fields.String(required=True, **doc("What went wrong with this request, in a sentence."))
    instance = fields.String(required=True, **doc("The request path."))
    request_id = fields.String(required=True, **doc("The request's X-Request-Id, to quote when asking for help."))
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         **doc("422 only: every invalid field, keyed by JSON Pointer into the submission "
                                "(or `/<parameter>` for a query parameter), each with its messages; "
                                "all problems are listed at once.",
                                example={"/patient/age": ["Must be greater than or equal to 0 and less than "
                                                          "or equal to 130."]}))
