"""The one paging schema: every paged list is read newest first with ``limit`` and an opaque ``cursor``, the
``next_cursor`` of the page before."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from .base import doc


class PageArgsSchema(ma.Schema):
    """A page's query parameters; a list with another page size redeclares ``limit``."""

    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100), **doc("Page size."))
    cursor = fields.String(validate=validate.Regexp(r"^[1-9][0-9]{0,18}$", error="Not a cursor from this API."),
                           **doc("The `next_cursor` of the previous page."))
