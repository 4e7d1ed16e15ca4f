"""The SQL unit of work: one Core connection and one transaction per use case, shared by its repositories.

``Database`` holds the engine and the statements prepared for its dialect (``storage.prepared``) and
makes a ``SqlUnitOfWork`` for each use case. The unit of work connects when a repository first needs
the database, begins a transaction, and gives repositories either the Core connection or, for the
prepared statements, the DBAPI cursor of the same connection. ``commit`` commits; leaving the block
returns the connection to the pool, which rolls back anything not committed.

Driver and SQLAlchemy errors are translated once, here: a lost connection or a lock held past the
busy timeout is ``DatabaseUnavailable`` (the connection is invalidated, never handed to the next
request); a uniqueness violation where a repository expects one (``conflict=True``) is
``WriteConflict``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from services.errors import DatabaseUnavailable, WriteConflict
from services.unit_of_work import UnitOfWork

from .cds_repositories import SqlCards, SqlTokenIds
from .course_repositories import SqlCourses
from .prepared import Prepared, prepared_insert
from .repositories import SqlAuditLog, SqlEvaluations, SqlKeys, SqlReviews, SqlSessions
from .tables import api_keys, audit_events, evaluation_policies, evaluations


class Database:
    """The engine, and the hot statements prepared for its dialect; ``unit_of_work()`` makes a unit of work."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        dialect = engine.dialect
        self.dbapi = dialect.dbapi
        k = api_keys.c
        self.principal_select = Prepared(sa.select(k.id, k.role, k.name, k.client_id).where(
            k.key_hash == sa.bindparam("key_hash"), k.revoked_at.is_(None)), dialect, [k.key_hash])
        self._inserts = {t.name: prepared_insert(t, dialect) for t in (evaluations, evaluation_policies, audit_events)}
        # The audit trail's hash chain (services.audit): on SQLite one INSERT reads the last row's hash and hashes
        # the new row (the function ``tms_chain``, storage.engine) under the write lock it takes; elsewhere a
        # transaction-level advisory lock comes first, then the last hash is read and the row inserted.
        last = "SELECT row_hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        self.audit_chain_in_sql = dialect.name == "sqlite"
        self.audit_last_sql = last
        self.audit_lock_sql = "SELECT pg_advisory_xact_lock(7305182648)"  # one lock: the audit trail's tail
        if self.audit_chain_in_sql:
            columns = [c for c in audit_events.columns if c.key not in ("seq", "prev_hash", "row_hash")]
            tail = sa.literal_column(f"({last})")
            statement = audit_events.insert().values(
                {**{c.key: sa.bindparam(c.key) for c in columns}, "prev_hash": tail,
                 "row_hash": sa.func.tms_chain(tail, sa.bindparam("chain_content", type_=sa.Text))})
            self.audit_insert = Prepared(statement, dialect, columns)

    def insert(self, table: str) -> Prepared:
        return self._inserts[table]

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self)

    def dispose(self) -> None:
        self.engine.dispose()


def _unavailable(exc: DBAPIError) -> bool:
    """Whether a database error means "cannot reach it or cannot get the lock" rather than a bug."""
    return exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)


class SqlUnitOfWork(UnitOfWork):
    """A unit of work on the database (see the module's docstring)."""

    def __init__(self, database: Database):
        self.database = database
        self._connection: sa.Connection | None = None
        self.evaluations = SqlEvaluations(self)
        self.reviews = SqlReviews(self)
        self.keys = SqlKeys(self)
        self.sessions = SqlSessions(self)
        self.audit = SqlAuditLog(self)
        self.courses = SqlCourses(self)
        self.token_ids = SqlTokenIds(self)
        self.cards = SqlCards(self)

    @contextlib.contextmanager
    def translated(self, *, conflict: bool = False) -> Iterator[None]:
        """Translate the driver's and SQLAlchemy's errors (see the module's docstring)."""
        dbapi = self.database.dbapi
        try:
            yield
        except (IntegrityError, dbapi.IntegrityError) as exc:
            if conflict:
                raise WriteConflict(type(exc).__name__) from exc
            raise
        except DBAPIError as exc:  # SQLAlchemy's: it has invalidated a connection it found dead
            if _unavailable(exc):
                raise DatabaseUnavailable(type(exc.orig).__name__ if exc.orig else type(exc).__name__) from exc
            raise
        except (dbapi.OperationalError, dbapi.InterfaceError) as exc:  # the driver's, from a prepared statement
            if self._connection is not None:
                self._connection.invalidate(exc)
            raise DatabaseUnavailable(type(exc).__name__) from exc

    def connection(self) -> sa.Connection:
        """The unit of work's connection, in a transaction (connecting and beginning when needed)."""
        connection = self._connection
        if connection is None:
            with self.translated():
                connection = self._connection = self.database.engine.connect()
        if not connection.in_transaction():
            connection.begin()
        return connection

    @contextlib.contextmanager
    def cursor(self) -> Iterator:
        """A DBAPI cursor on the unit of work's connection, for the prepared statements."""
        cursor = self.connection().connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def commit(self) -> None:
        connection = self._connection
        if connection is not None and connection.in_transaction():
            with self.translated():
                connection.commit()

    def rollback(self) -> None:
        connection = self._connection
        if connection is not None and connection.in_transaction():
            with self.translated():
                connection.rollback()

    def __exit__(self, *exc_info) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()  # back to the pool, which rolls back anything not committed

    def revision(self) -> str | None:
        with self.translated():
            connection = self.connection()
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
