"""The storage layer: the migrations build exactly the tables the code declares, and the SQL unit of work keeps
the port's promises, on each database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.errors import WriteConflict
from services.records import AuditEvent, KeyRecord, NewEvaluation, NewReview, PolicyRow
from storage import Database, create_engine, migrate
from storage.tables import metadata


def test_the_migrated_schema_matches_the_declared_tables(database):
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_migrations_go_down_and_up_again(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    migrate.upgrade(engine)
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version", "evaluations", "evaluation_policies",
                                                         "api_keys", "reviews", "audit_events", "web_sessions",
                                                         "courses", "course_sessions", "course_ratings",
                                                         "course_adverse_events", "course_evaluations", "jwt_ids",
                                                         "cds_cards"}
    engine.dispose()


def test_the_audit_trail_stays_append_only_when_the_courses_migration_goes_down_and_up(tmp_path):
    """Migration 0005 adds the audit trail's course id in place: the table keeps its triggers both ways."""
    engine = create_engine(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "0002")
    assert "course_id" not in {c["name"] for c in sa.inspect(engine).get_columns("audit_events")}
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_events (recorded_at, action, outcome, channel, course_id) "
                             "VALUES ('2026-12-01 00:00:00', 'course.read', 'success', 'cli', 'c')"))
    for statement in ("UPDATE audit_events SET course_id = 'd'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DatabaseError), engine.begin() as conn:
            conn.execute(sa.text(statement))
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}", sqlite_busy_timeout=12)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 12000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


# -- the SQL unit of work keeps the port's promises, as the in-memory one does (tests/services/test_memory.py) --

WHEN = datetime(2026, 12, 1, tzinfo=UTC)


def _new(evaluation_id: str, key: str | None = None) -> NewEvaluation:
    return NewEvaluation(id=evaluation_id, created_at=WHEN, as_of=WHEN.date(), reference=None, request_id="r",
                         idempotency_key=key, body_digest="sha256:x", submission="{}", result="{}",
                         policies=(PolicyRow("p", "1", "sha256:p", "meets_criteria"),))


@pytest.fixture
def db(database):
    db = Database(create_engine(database))
    yield db
    db.dispose()


def test_leaving_a_unit_of_work_without_a_commit_undoes_every_write(db):
    with db.unit_of_work() as uow:
        uow.evaluations.add(_new("a" * 32))
        uow.keys.add(KeyRecord("k" * 16, "n", "intake", WHEN, None), "h" * 64)
        uow.audit.add(AuditEvent(WHEN, "key.create", "success", "cli"))
    with db.unit_of_work() as uow:
        assert uow.evaluations.get("a" * 32) is None and uow.keys.count() == 0
        assert uow.audit.page(limit=10) == []


def test_a_taken_idempotency_key_is_a_write_conflict_and_the_unit_of_work_goes_on_after_a_rollback(db):
    with db.unit_of_work() as uow:
        uow.evaluations.add(_new("a" * 32, key="k"))
        uow.commit()
    with db.unit_of_work() as uow:
        with pytest.raises(WriteConflict):
            uow.evaluations.add(_new("b" * 32, key="k"))
        uow.rollback()
        assert uow.evaluations.by_key("k").id == "a" * 32
        uow.audit.add(AuditEvent(WHEN, "evaluation.create", "replayed", "api", evaluation_id="a" * 32))
        uow.commit()
    with db.unit_of_work() as uow:
        assert [(r.outcome, r.evaluation_id) for r in uow.audit.page(limit=10)] == [("replayed", "a" * 32)]
        assert [i.id for i in uow.evaluations.queue(limit=10)] == ["a" * 32]


def test_a_taken_review_number_is_a_write_conflict(db):
    with db.unit_of_work() as uow:
        uow.evaluations.add(_new("a" * 32))
        uow.keys.add(KeyRecord("k" * 16, "n", "clinician", WHEN, None), "h" * 64)
        uow.reviews.add("a" * 32, 1, NewReview("accept", "meets_criteria", None, "k" * 16, WHEN))
        uow.commit()
        with pytest.raises(WriteConflict):
            uow.reviews.add("a" * 32, 1, NewReview("accept", "meets_criteria", None, "k" * 16, WHEN))
        uow.rollback()
        assert uow.reviews.current_number("a" * 32) == 1


def test_the_unit_of_work_reads_the_schema_revision(db):
    with db.unit_of_work() as uow:
        assert uow.revision() == migrate.head()


def test_reviews_stay_append_only_when_the_policy_reviews_migration_goes_down_and_up(tmp_path):
    """Migration 0007 adds the reviews' policy and attestations in place: the table keeps its triggers both ways."""
    engine = create_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "0006")
    assert {"policy_id", "attested"}.isdisjoint(c["name"] for c in sa.inspect(engine).get_columns("reviews"))
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO api_keys (id, name, role, key_hash, created_at) "
                             "VALUES ('k', 'n', 'clinician', 'h', '2026-12-01 00:00:00')"))
        conn.execute(sa.text("INSERT INTO evaluations (id, created_at, as_of, request_id, body_digest, submission, "
                             "result) VALUES ('e', '2026-12-01 00:00:00', '2026-12-01', 'r', 'd', '{}', '{}')"))
        conn.execute(sa.text("INSERT INTO reviews (evaluation_id, number, decision, determination, "
                             "reviewer_key_id, reviewed_at, policy_id, attested) VALUES ('e', 1, 'accept', "
                             "'meets_criteria', 'k', '2026-12-01 00:00:00', 'p', '[\"a\"]')"))
    for statement in ("UPDATE reviews SET attested = '[]'", "DELETE FROM reviews"):
        with pytest.raises(sa.exc.DatabaseError), engine.begin() as conn:
            conn.execute(sa.text(statement))
    engine.dispose()
