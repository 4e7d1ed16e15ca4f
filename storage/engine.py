"""The SQLAlchemy engine: the same code on SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from services.audit import link_hash


def create_engine(url: str, sqlite_busy_timeout: float = 30.0) -> sa.Engine:
    """An engine for ``url``; SQLite connections get WAL mode, a busy timeout and foreign keys."""
    is_sqlite = sa.make_url(url).get_backend_name() == "sqlite"
    connect_args = {"timeout": sqlite_busy_timeout} if is_sqlite else {}
    # hide_parameters: a failing statement's message must never carry a submission into a log.
    # pool_pre_ping (a server, not SQLite): a pooled connection that a database restart left dead is replaced
    # when it is checked out, rather than failing the request that draws it with a 503.
    engine = sa.create_engine(url, hide_parameters=True, connect_args=connect_args, pool_pre_ping=not is_sqlite)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # The audit trail's hash chain, computed inside the INSERT that reads the last hash (storage.unit_of_work).
    dbapi_connection.create_function("tms_chain", 2, link_hash, deterministic=True)
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers run beside the one writer; NORMAL syncs at checkpoints, which in WAL mode
        # survives a crash of the process (not of the machine); see the README.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
