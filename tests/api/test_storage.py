"""The storage layer: the migrations build exactly the tables the code declares, on each database."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage import migrate
from storage.store import create_engine
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
                                                         "api_keys", "reviews", "audit_events", "web_sessions"}
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}", sqlite_busy_timeout=12)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 12000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
