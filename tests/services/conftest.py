"""Fixtures for the service tests: an in-memory unit of work, a clock and ids the tests control, and callers.

No HTTP and no database: every use case runs on ``services.memory.InMemoryUnitOfWork``.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from services import keys
from services.audit import Caller
from services.memory import InMemoryUnitOfWork, MemoryStore
from services.records import Principal, Received

REVISION = "0002"
START = datetime(2026, 12, 1, 9, 30, 0, 250_000, tzinfo=UTC)


class Clock:
    """A clock that stands still until moved."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(revision=REVISION)


@pytest.fixture
def uow(store) -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork(store)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ids():
    """Evaluation ids 000…1, 000…2, … in the order they are made."""
    counter = itertools.count(1)
    return lambda: f"{next(counter):032x}"


def received(document) -> Received:
    """A submission as the API would receive it (its bytes are its compact JSON)."""
    text = json.dumps(document, separators=(",", ":"))
    return Received(document, text, text.encode())


def principal(uow: InMemoryUnitOfWork, role: str, name: str | None = None) -> Principal:
    """A new key of ``role`` in ``uow``'s store, as the principal that holds it."""
    record = keys.create_key(uow, name or f"test {role}", role, Caller()).record
    return Principal(record.id, record.role, record.name)


def api(actor: Principal | None = None, **statuses: int) -> Caller:
    """A caller through the API, with the statuses it answers."""
    return Caller(channel="api", actor=actor, request_id="req-1", statuses=statuses)
