"""Storage of evaluations through SQLAlchemy Core: the same code on SQLite (WAL) and PostgreSQL.

An evaluation is written in one short transaction (its row and one row per policy evaluated) and
read back as the exact bytes that were answered when it was created. The schema is owned by the
Alembic migrations in ``api/migrations``; ``metadata`` here must match them (a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# SQLite only makes an INTEGER PRIMARY KEY the rowid (and autoincrementing); PostgreSQL gets BIGINT.
_Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

evaluations = sa.Table(
    "evaluations", metadata,
    sa.Column("seq", _Sequence, primary_key=True, autoincrement=True,
              comment="insertion order; the review queue's cursor"),
    sa.Column("id", sa.String(32), nullable=False, unique=True, comment="the public, opaque id"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("reference", sa.String(128), nullable=True),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True, unique=True),
    sa.Column("body_digest", sa.String(71), nullable=False, comment="sha256 of the request body's bytes"),
    sa.Column("submission", sa.Text, nullable=False, comment="the validated request body, as received"),
    sa.Column("result", sa.Text, nullable=False, comment="the response body, returned byte-for-byte by GET"),
    sa.Column("review_status", sa.String(16), nullable=False, server_default="pending"),
    sa.Index(None, "review_status", "seq"),
)

evaluation_policies = sa.Table(
    "evaluation_policies", metadata,
    sa.Column("evaluation_id", sa.String(32), sa.ForeignKey("evaluations.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("policy_id", sa.String(100), nullable=False),
    sa.Column("policy_version", sa.String(64), nullable=False),
    sa.Column("policy_digest", sa.String(71), nullable=False),
    sa.Column("determination", sa.String(32), nullable=False),
    sa.Index(None, "policy_id", "determination"),
)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or is busy past its timeout; the request may be retried."""


@dataclass(frozen=True)
class NewEvaluation:
    id: str
    created_at: datetime
    as_of: date
    reference: str | None
    request_id: str
    idempotency_key: str | None
    body_digest: str
    submission: str
    result: str
    policies: list[dict]  # {"position", "policy_id", "policy_version", "policy_digest", "determination"}


@dataclass(frozen=True)
class Stored:
    """What a replay or a GET needs of a stored evaluation."""

    id: str
    body_digest: str
    result: str


class DuplicateKey(Exception):
    """Another evaluation already holds this idempotency key; ``stored`` is that evaluation."""

    def __init__(self, stored: Stored):
        super().__init__(stored.id)
        self.stored = stored


@dataclass(frozen=True)
class QueueItem:
    seq: int
    id: str
    created_at: datetime
    as_of: date
    reference: str | None
    review_status: str
    policies: list[dict]


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
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers run beside the one writer; NORMAL syncs at checkpoints, which in WAL mode
        # survives a crash of the process (not of the machine); see the README.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _unavailable(exc: DBAPIError) -> bool:
    """Whether a database error means "cannot reach it or cannot get the lock" rather than a bug."""
    return exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)


class Store:
    """Evaluations in a database; every method is one short transaction."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def _run(self, work, *, write: bool = False):
        try:
            with self.engine.begin() if write else self.engine.connect() as conn:
                return work(conn)
        except IntegrityError:
            raise
        except DBAPIError as exc:
            if _unavailable(exc):
                raise DatabaseUnavailable(type(exc.orig).__name__ if exc.orig else type(exc).__name__) from exc
            raise

    def add(self, new: NewEvaluation) -> None:
        """Store ``new`` and its per-policy rows in one transaction; raise ``DuplicateKey`` if its key is taken."""
        row = {"id": new.id, "created_at": new.created_at, "as_of": new.as_of, "reference": new.reference,
               "request_id": new.request_id, "idempotency_key": new.idempotency_key,
               "body_digest": new.body_digest, "submission": new.submission, "result": new.result}

        def work(conn):
            conn.execute(evaluations.insert(), row)
            conn.execute(evaluation_policies.insert(), [{"evaluation_id": new.id, **p} for p in new.policies])

        try:
            self._run(work, write=True)
        except IntegrityError:
            if new.idempotency_key is not None and (stored := self.by_key(new.idempotency_key)) is not None:
                raise DuplicateKey(stored) from None
            raise

    def by_key(self, key: str) -> Stored | None:
        stmt = sa.select(evaluations.c.id, evaluations.c.body_digest, evaluations.c.result).where(
            evaluations.c.idempotency_key == key)
        row = self._run(lambda conn: conn.execute(stmt).first())
        return None if row is None else Stored(*row)

    def result(self, evaluation_id: str) -> str | None:
        """The stored response body of ``evaluation_id``, or ``None``."""
        stmt = sa.select(evaluations.c.result).where(evaluations.c.id == evaluation_id)
        return self._run(lambda conn: conn.execute(stmt).scalar())

    def queue(self, review_status: str | None, limit: int, after_seq: int | None) -> list[QueueItem]:
        """Evaluations newest first, optionally of one review status, older than ``after_seq``."""
        e, p = evaluations.c, evaluation_policies.c
        stmt = sa.select(e.seq, e.id, e.created_at, e.as_of, e.reference, e.review_status).order_by(
            e.seq.desc()).limit(limit)
        if review_status is not None:
            stmt = stmt.where(e.review_status == review_status)
        if after_seq is not None:
            stmt = stmt.where(e.seq < after_seq)

        def work(conn):
            rows = conn.execute(stmt).all()
            policies: dict[str, list[dict]] = {r.id: [] for r in rows}
            if rows:
                for r in conn.execute(sa.select(p.evaluation_id, p.policy_id, p.policy_version, p.policy_digest,
                                                p.determination)
                                      .where(p.evaluation_id.in_(list(policies))).order_by(p.position)):
                    policies[r.evaluation_id].append({"id": r.policy_id, "version": r.policy_version,
                                                      "digest": r.policy_digest, "determination": r.determination})
            return [QueueItem(r.seq, r.id, _utc(r.created_at), r.as_of, r.reference, r.review_status,
                              policies[r.id]) for r in rows]

        return self._run(work)

    def revision(self) -> str | None:
        """The Alembic revision the database is at, or ``None`` before the first migration."""
        def work(conn):
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return self._run(work)


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
