"""The in-memory unit of work keeps the port's promises: nothing survives without a commit, and uniqueness
holds across units of work on one store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.errors import DatabaseUnavailable, WriteConflict
from services.memory import InMemoryUnitOfWork
from services.records import AuditEvent, KeyRecord, NewEvaluation, PolicyRow

WHEN = datetime(2026, 12, 1, tzinfo=UTC)


def new(evaluation_id: str, key: str | None = None) -> NewEvaluation:
    return NewEvaluation(id=evaluation_id, created_at=WHEN, as_of=WHEN.date(), reference=None, request_id=None,
                         idempotency_key=key, body_digest="sha256:x", submission="{}", result="{}",
                         policies=(PolicyRow("p", "1", "sha256:p", "meets_criteria"),))


def test_leaving_without_a_commit_undoes_every_write(uow):
    with uow:
        uow.evaluations.add(new("a"))
        uow.keys.add(KeyRecord("k", "n", "intake", WHEN, None), "h")
        uow.audit.add(AuditEvent(WHEN, "key.create", "success", "cli"))
        uow.keys.revoke("k", WHEN)
    assert not uow.store.evaluations and not uow.store.keys and not uow.store.audit


def test_a_commit_keeps_what_came_before_it_and_a_rollback_undoes_what_came_after(uow):
    with uow:
        uow.keys.add(KeyRecord("k", "n", "intake", WHEN, None), "h")
        uow.commit()
        uow.keys.revoke("k", WHEN)
        uow.rollback()
    assert uow.store.keys["k"].record.revoked_at is None


def test_uniqueness_holds_across_units_of_work_on_one_store(store):
    first, second = InMemoryUnitOfWork(store), InMemoryUnitOfWork(store)
    with first:
        first.evaluations.add(new("a", key="k"))
        with second, pytest.raises(WriteConflict):
            second.evaluations.add(new("b", key="k"))
        first.commit()
    assert list(store.evaluations) == ["a"]


def test_a_switched_off_store_is_unavailable(uow, store):
    store.available = False
    with pytest.raises(DatabaseUnavailable), uow:
        uow.keys.count()
