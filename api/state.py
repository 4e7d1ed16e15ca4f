"""What a running app holds, built once by ``create_app`` and reached by views through ``state()``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from eligibility import Library
from services.clock import Clock, utc_now
from services.unit_of_work import UnitOfWork

EXTENSION = "tms-eligibility"


@dataclass
class AppState:
    library: Library
    unit_of_work: Callable[[], UnitOfWork]  # a new unit of work for each use case
    revision: str  # the schema revision this code expects the database to be at
    database: object = None  # the storage adapter behind ``unit_of_work`` (the command line migrates it)
    clock: Clock = utc_now
    # Bodies that cannot change while the process runs, serialised at start-up: "openapi" and
    # "policies" (a dict: "" for the list, each policy id for its detail).
    static_bodies: dict = field(default_factory=dict)


def state() -> AppState:
    return current_app.extensions[EXTENSION]
