"""The one paging schema: every paged list is read newest first with ``limit`` and an opaque ``cursor``, the
``next_cursor`` of the page before."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from services.audit import cursor_seq

from .base import doc


def _cursor(value: str) -> None:
    """A cursor is ASCII digits naming a row number a database can hold (1 to 2**63 - 1)."""
    if cursor_seq(value) is None:
        raise ma.ValidationError("Not a cursor from this API.")


class PageArgsSchema(ma.Schema):
    """A page's query parameters; a list with another page size redeclares ``limit``."""

    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100), **doc("Page size."))
    cursor = fields.String(validate=_cursor, **doc("The `next_cursor` of the previous page.",
                                                   pattern="^[1-9][0-9]{0,18}$"))
