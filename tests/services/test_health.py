"""Readiness: policies loaded, and the store reachable at the code's revision."""

from __future__ import annotations

from services.health import readiness

from .conftest import REVISION


def test_ready_when_the_store_is_at_the_expected_revision(uow, library):
    ready = readiness(uow, library, REVISION)
    assert ready.ready and ready.checks()["database"] == {"ok": True, "detail": f"at revision {REVISION}"}
    assert "tms-clinical@" in ready.checks()["policies"]["detail"]


def test_not_ready_before_the_migrations(uow, store, library):
    store.revision = None
    ready = readiness(uow, library, REVISION)
    assert not ready.ready and "db upgrade" in ready.database.detail and ready.policies.ok


def test_not_ready_when_the_store_is_unreachable(uow, store, library):
    store.available = False
    ready = readiness(uow, library, REVISION)
    assert not ready.ready and ready.database.detail.startswith("unreachable")
