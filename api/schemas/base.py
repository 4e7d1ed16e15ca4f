"""What every schema module uses: the base of the response schemas and the helpers that document fields."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields


def doc(text: str, **more) -> dict:
    return {"metadata": {"description": text, **more}}


def nullable(field_cls, *args, text: str, **kwargs):
    return field_cls(*args, allow_none=True, **doc(text), **kwargs)


def pointers():
    return fields.List(fields.String(), required=True, **doc("JSON Pointers (RFC 6901) into the submission."))


def urls():
    return fields.List(fields.String(), required=True, **doc("URLs of the sources this rests on."))


class OutputSchema(ma.Schema):
    """A response body: documented, never used to load."""
