"""What a running app holds, built once by ``create_app`` and reached by views through ``service()``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import orjson
from flask import current_app

from eligibility import Library
from storage.store import Store

EXTENSION = "tms-eligibility"
EVALUATION_ID = re.compile(r"[0-9a-f]{32}")
NO_STORE = "no-store"  # evaluations carry PHI: no cache may keep them
# The documented response header of every paged list.
NEXT_LINK_HEADER = {"Link": {"description": 'RFC 8288 `<...>; rel="next"` when there is a next page.',
                             "schema": {"type": "string"}}}


@dataclass
class Service:
    library: Library
    store: Store
    revision: str  # the Alembic revision this code expects the database to be at
    # Bodies that cannot change while the process runs, serialised at start-up: "openapi" and
    # "policies" (a dict: "" for the list, each policy id for its detail).
    static_bodies: dict = field(default_factory=dict)


def service() -> Service:
    return current_app.extensions[EXTENSION]


def dumps(document) -> str:
    """The one JSON serialisation of every body the service writes: compact, UTF-8 (the bytes of
    ``json.dumps(document, ensure_ascii=False, separators=(",", ":"))`` for every evaluation of the
    benchmark mix, at a tenth of the cost)."""
    return orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS).decode()


def page_of(rows: list, limit: int, seq: Callable) -> tuple[list, str | None]:
    """Split ``rows``, read with ``limit + 1``, into the page and the next page's cursor (``None`` on the last
    page); ``seq`` gives a row's position, the cursor."""
    page = rows[:limit]
    return page, (str(seq(page[-1])) if len(rows) > limit else None)


def next_link(url_prefix: str, **query) -> dict:
    """The ``Link`` header to the page whose ``cursor`` is in ``query`` (none without one); empty
    filters are left out of the URL."""
    if not query.get("cursor"):
        return {}
    return {"Link": f'<{url_prefix}?{urlencode({k: v for k, v in query.items() if v})}>; rel="next"'}
