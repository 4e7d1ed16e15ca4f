"""Reading and exporting the audit trail, and recording a refusal."""

from __future__ import annotations

import pytest

from services import audit, evaluations
from services.audit import Caller

from ..support import example
from .conftest import api, principal, received


@pytest.fixture
def trail(uow, library, clock):
    """Two evaluations made through the API and one read."""
    made = [evaluations.evaluate(uow, library, received(example(name)), api(success=201), clock=clock).id
            for name in ("classic-trd", "aneurysm-clip")]
    evaluations.read_evaluation(uow, made[0], api(success=200), clock=clock)
    return made


def test_the_trail_pages_newest_first_filters_and_records_its_reading_after_it(uow, clock, trail):
    admin = api(principal(uow, "admin"), success=200)
    first = audit.read_audit(uow, admin, limit=2, clock=clock)
    assert [r.action for r in first.items] == ["key.create", "evaluation.read"]
    second = audit.read_audit(uow, admin, limit=2, cursor=first.next_cursor, clock=clock)
    assert [r.action for r in second.items] == ["evaluation.create", "evaluation.create"]
    assert second.next_cursor is None
    about = audit.read_audit(uow, admin, limit=50, evaluation_id=trail[0], clock=clock).items
    assert [r.action for r in about] == ["evaluation.read", "evaluation.create"]
    reads = audit.read_audit(uow, admin, limit=50, action="audit.read", clock=clock).items
    assert len(reads) == 3 and all(r.actor_key_id == admin.actor.key_id and r.status == 200 for r in reads)


def test_a_row_on_the_wire_holds_ids_only(uow, clock, trail):
    row = uow.store.audit[0].to_wire()
    assert list(row) == ["seq", "recorded_at", "action", "outcome", "channel", "actor_key_id", "actor_role",
                         "evaluation_id", "review_number", "subject_key_id", "policies", "request_id", "status",
                         "course_id"]
    assert row["recorded_at"] == "2026-12-01T09:30:00.250000Z"
    assert set(row["policies"][0]) == {"id", "version", "digest"}


def test_an_export_hands_over_every_row_after_a_seq_and_is_recorded_once_complete(uow, clock, trail):
    written, closed = [], []
    done = audit.export_audit(uow, Caller(), written.append, finish=lambda: closed.append(True), clock=clock)
    assert (done.count, done.last) == (3, 3) and [r.seq for r in written] == [1, 2, 3] and closed
    resumed = []
    again = audit.export_audit(uow, Caller(), resumed.append, after=done.last, clock=clock)
    assert [r.action for r in resumed] == ["audit.export"] and (again.count, again.last) == (1, 4)


def test_an_export_that_cannot_be_written_is_not_recorded(uow, clock, trail):
    def fail():
        raise OSError("disk full")

    with pytest.raises(OSError):
        audit.export_audit(uow, Caller(), lambda row: None, finish=fail, clock=clock)
    assert not [r for r in uow.store.audit if r.action == "audit.export"]


def test_a_refusal_is_recorded_with_its_actor(uow, clock):
    intake = principal(uow, "intake")
    audit.record_denial(uow, Caller("api", actor=intake, request_id="r", statuses={"denied": 403}), "audit.read",
                        clock=clock)
    row = uow.store.audit[-1]
    assert (row.action, row.outcome, row.actor_role, row.status, row.request_id) == (
        "audit.read", "denied", "intake", 403, "r")
