"""What a running app holds, built once by ``create_app`` and reached by views through ``service()``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import orjson
from flask import current_app

from eligibility import Library
from eligibility.schemas import SubmissionSchema

from .storage import Store

EXTENSION = "tms-eligibility"
EVALUATION_ID = re.compile(r"[0-9a-f]{32}")
NO_STORE = "no-store"  # evaluations carry PHI: no cache may keep them


@dataclass
class Service:
    library: Library
    schema: SubmissionSchema  # built once: constructing it costs about as much as loading a body
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
