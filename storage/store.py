"""Storage through SQLAlchemy Core: the same code on SQLite (WAL) and PostgreSQL.

An evaluation is written in one short transaction (its row, one row per policy evaluated and its
audit row) and read back as the exact bytes that were answered when it was created, with its
current review spliced in. Reviews, API keys, page sessions and the audit trail live beside it.
The tables are in ``storage.tables``. ``audit_events`` and ``reviews`` are append-only: no method here updates or
deletes one of their rows, and a trigger in the database refuses it (``APPEND_ONLY``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError

from .tables import api_keys, audit_events, evaluation_policies, evaluations, reviews, web_sessions


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
    """What a replay needs of a stored evaluation."""

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


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: an unrevoked API key."""

    key_id: str
    role: str
    name: str


@dataclass(frozen=True)
class KeyRecord:
    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class ReviewRecord:
    number: int
    decision: str
    determination: str
    reason: str | None
    reviewed_at: datetime
    reviewer: Principal


@dataclass(frozen=True)
class NewReview:
    decision: str
    determination: str
    reason: str | None
    reviewer_key_id: str
    reviewed_at: datetime


@dataclass(frozen=True)
class EvaluationRecord:
    """A stored evaluation as GET and the review page need it."""

    id: str
    result: str
    review_status: str
    policies: list[dict]  # {"id", "version", "digest", "determination"} in request order
    reviews: list[ReviewRecord]  # oldest first
    submission: str | None  # only when asked for


class ReviewConflict(Exception):
    """The review to amend is not the current one (``current`` is its number, or ``None`` if unreviewed)."""

    def __init__(self, current: int | None):
        super().__init__(current)
        self.current = current


class SessionRecord(NamedTuple):
    principal: Principal
    csrf_token: str
    expires_at: datetime


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


_POLICY_COLUMNS = (evaluation_policies.c.policy_id, evaluation_policies.c.policy_version,
                   evaluation_policies.c.policy_digest, evaluation_policies.c.determination)


def _policy(row) -> dict:
    return {"id": row.policy_id, "version": row.policy_version, "digest": row.policy_digest,
            "determination": row.determination}


def audit_policies(policies: list[dict]) -> str:
    """The audit row's ``policies``: which rules ran (id, version, digest), never what they decided."""
    return json.dumps([{"id": p["id"], "version": p["version"], "digest": p["digest"]} for p in policies],
                      separators=(",", ":"))


class _Prepared:
    """One statement compiled once for the engine's dialect and run on the pool's DBAPI connection.

    SQLAlchemy's per-execution machinery costs about ten times the statement itself on SQLite (measured:
    a key lookup 490 µs through a Core connection, 28 µs this way). The two statements every request
    runs (a key lookup; an evaluation's inserts) therefore go straight to the DBAPI cursor, with the
    SQL, parameter order and value conversions still produced by SQLAlchemy from the same tables.
    """

    def __init__(self, statement, dialect, columns: list[sa.Column]):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = bool(compiled.positiontup)
        self.names = list(compiled.positiontup or compiled.binds)
        by_name = {c.key: c for c in columns}
        self.processors = {name: processor for name in self.names
                           if name in by_name and (processor := by_name[name].type.bind_processor(dialect))}

    def params(self, values: dict):
        converted = {name: values.get(name) for name in self.names}
        for name, processor in self.processors.items():
            if converted[name] is not None:
                converted[name] = processor(converted[name])
        return tuple(converted[name] for name in self.names) if self.positional else converted


def _insert(table: sa.Table, dialect) -> _Prepared:
    columns = [c for c in table.columns if not (c.primary_key and c.autoincrement is True) and c.server_default is None]
    statement = table.insert().values({c.key: sa.bindparam(c.key) for c in columns})
    return _Prepared(statement, dialect, columns)


class Store:
    """Everything the service keeps in its database; every method is one short transaction."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        dialect = engine.dialect
        self._dbapi = dialect.dbapi
        k = api_keys.c
        self._principal = _Prepared(sa.select(k.id, k.role, k.name).where(
            k.key_hash == sa.bindparam("key_hash"), k.revoked_at.is_(None)), dialect, [k.key_hash])
        self._inserts = {t.name: _insert(t, dialect) for t in (evaluations, evaluation_policies, audit_events)}

    def _raw(self, work, *, write: bool = False):
        """Run ``work(cursor)`` on a pooled DBAPI connection, committing if ``write``; map its errors as ``_run``."""
        dbapi = self._dbapi
        try:
            connection = self.engine.raw_connection()
        except DBAPIError as exc:  # SQLAlchemy wraps some connect errors (e.g. a failed pre-ping) ...
            raise DatabaseUnavailable(type(exc.orig).__name__ if exc.orig else type(exc).__name__) from exc
        except (dbapi.OperationalError, dbapi.InterfaceError) as exc:  # ... and passes the driver's through
            raise DatabaseUnavailable(type(exc).__name__) from exc
        try:
            cursor = connection.cursor()
            try:
                result = work(cursor)
            finally:
                cursor.close()
            if write:
                connection.commit()
            return result
        except dbapi.IntegrityError:
            connection.rollback()
            raise
        except (dbapi.OperationalError, dbapi.InterfaceError) as exc:
            connection.invalidate(exc)  # the connection may be dead: never hand it to the next request
            raise DatabaseUnavailable(type(exc).__name__) from exc
        finally:
            connection.close()  # back to the pool, which rolls back anything left open

    def _run(self, work, *, write: bool = False):
        try:
            with (self.engine.begin() if write else self.engine.connect()) as conn:
                return work(conn)
        except IntegrityError:
            raise
        except DBAPIError as exc:
            if _unavailable(exc):
                raise DatabaseUnavailable(type(exc.orig).__name__ if exc.orig else type(exc).__name__) from exc
            raise

    # -- evaluations --------------------------------------------------------------------------------

    def add(self, new: NewEvaluation, audit: dict | None = None) -> None:
        """Store ``new``, its per-policy rows and its ``audit`` row in one transaction.

        :raises DuplicateKey: if another evaluation holds its idempotency key.
        """
        row = {"id": new.id, "created_at": new.created_at, "as_of": new.as_of, "reference": new.reference,
               "request_id": new.request_id, "idempotency_key": new.idempotency_key,
               "body_digest": new.body_digest, "submission": new.submission, "result": new.result}

        inserts = self._inserts

        def work(cursor):
            insert = inserts["evaluations"]
            cursor.execute(insert.sql, insert.params(row))
            insert = inserts["evaluation_policies"]
            cursor.executemany(insert.sql, [insert.params({"evaluation_id": new.id, **p}) for p in new.policies])
            if audit is not None:
                insert = inserts["audit_events"]
                cursor.execute(insert.sql, insert.params(audit))

        try:
            self._raw(work, write=True)
        except self._dbapi.IntegrityError:
            if new.idempotency_key is not None and (stored := self.by_key(new.idempotency_key)) is not None:
                raise DuplicateKey(stored) from None
            raise

    def by_key(self, key: str) -> Stored | None:
        stmt = sa.select(evaluations.c.id, evaluations.c.body_digest, evaluations.c.result).where(
            evaluations.c.idempotency_key == key)
        row = self._run(lambda conn: conn.execute(stmt).first())
        return None if row is None else Stored(*row)

    def read(self, evaluation_id: str, audit: dict | None = None, *, submission: bool = False
             ) -> EvaluationRecord | None:
        """``evaluation_id`` with its policies and reviews, or ``None``; a found one gets its ``audit`` row.

        The reads and the audit row share one connection and one commit.
        """
        e = evaluations.c
        columns = [e.result, e.review_status] + ([e.submission] if submission else [])
        stmt = sa.select(*columns).where(e.id == evaluation_id)

        def work(conn):
            row = conn.execute(stmt).first()
            if row is None:
                return None
            policies = self._policies(conn, evaluation_id)
            found = self._reviews(conn, evaluation_id) if row.review_status != "pending" else []
            if audit is not None:
                conn.execute(audit_events.insert(), {**audit, "evaluation_id": evaluation_id,
                                                     "policies": audit_policies(policies)})
            return EvaluationRecord(evaluation_id, row.result, row.review_status, policies, found,
                                    row.submission if submission else None)

        return self._run(work, write=audit is not None)

    def queue(self, review_status: str | None, limit: int, after_seq: int | None, *, policy: str | None = None,
              determination: str | None = None, audit: dict | None = None) -> list[QueueItem]:
        """Evaluations newest first, older than ``after_seq``, optionally of one review status, and with a
        policy (and/or a determination) among their results; the ``audit`` row is written with the read."""
        e, p = evaluations.c, evaluation_policies.c
        stmt = sa.select(e.seq, e.id, e.created_at, e.as_of, e.reference, e.review_status).order_by(
            e.seq.desc()).limit(limit)
        if review_status is not None:
            stmt = stmt.where(e.review_status == review_status)
        if after_seq is not None:
            stmt = stmt.where(e.seq < after_seq)
        if policy is not None or determination is not None:
            match = sa.select(p.evaluation_id).where(p.evaluation_id == e.id)
            if policy is not None:
                match = match.where(p.policy_id == policy)
            if determination is not None:
                match = match.where(p.determination == determination)
            stmt = stmt.where(match.exists())

        def work(conn):
            rows = conn.execute(stmt).all()
            policies: dict[str, list[dict]] = {r.id: [] for r in rows}
            if rows:
                for r in conn.execute(sa.select(p.evaluation_id, *_POLICY_COLUMNS)
                                      .where(p.evaluation_id.in_(list(policies))).order_by(p.position)):
                    policies[r.evaluation_id].append(_policy(r))
            if audit is not None:
                conn.execute(audit_events.insert(), audit)
            return [QueueItem(r.seq, r.id, _utc(r.created_at), r.as_of, r.reference, r.review_status,
                              policies[r.id]) for r in rows]

        return self._run(work, write=audit is not None)

    # -- reviews ------------------------------------------------------------------------------------

    @staticmethod
    def _reviews(conn, evaluation_id: str) -> list[ReviewRecord]:
        r, k = reviews.c, api_keys.c
        stmt = (sa.select(r.number, r.decision, r.determination, r.reason, r.reviewed_at, k.id, k.role, k.name)
                .join_from(reviews, api_keys, r.reviewer_key_id == k.id)
                .where(r.evaluation_id == evaluation_id).order_by(r.number))
        return [ReviewRecord(row.number, row.decision, row.determination, row.reason, _utc(row.reviewed_at),
                             Principal(row.id, row.role, row.name)) for row in conn.execute(stmt)]

    def review(self, evaluation_id: str, amends: int | None, decide, audit: dict) -> EvaluationRecord | None:
        """Record the next review of ``evaluation_id``, with its ``audit`` row, in one transaction.

        ``decide(policies)`` sees the evaluation's policies (with determinations) and returns the
        ``NewReview``, or raises to refuse it. Returns the evaluation with every review, or ``None`` if
        there is no such evaluation.

        :raises ReviewConflict: if ``amends`` is not the current review's number (``None``: no review
            yet), also when a concurrent review got there first.
        """
        e = evaluations.c

        def work(conn):
            status = conn.execute(sa.select(e.review_status).where(e.id == evaluation_id)).scalar()
            if status is None:
                return None
            policies = self._policies(conn, evaluation_id)
            current = self._current_number(conn, evaluation_id)
            if amends != current:
                raise ReviewConflict(current)
            new: NewReview = decide(policies)
            number = (current or 0) + 1
            conn.execute(reviews.insert(), {"evaluation_id": evaluation_id, "number": number,
                                            "decision": new.decision, "determination": new.determination,
                                            "reason": new.reason, "reviewer_key_id": new.reviewer_key_id,
                                            "reviewed_at": new.reviewed_at})
            conn.execute(evaluations.update().where(e.id == evaluation_id)
                         .values(review_status=REVIEW_STATUS[new.decision]))
            conn.execute(audit_events.insert(), {**audit, "evaluation_id": evaluation_id, "review_number": number,
                                                 "policies": audit_policies(policies)})
            return EvaluationRecord(evaluation_id, "", REVIEW_STATUS[new.decision], policies,
                                    self._reviews(conn, evaluation_id), None)

        try:
            return self._run(work, write=True)
        except IntegrityError:  # a concurrent review took this number first
            raise ReviewConflict(self._run(lambda conn: self._current_number(conn, evaluation_id))) from None

    @staticmethod
    def _policies(conn, evaluation_id: str) -> list[dict]:
        """The evaluation's policy rows (id, version, digest, determination), in request order."""
        stmt = (sa.select(*_POLICY_COLUMNS).where(evaluation_policies.c.evaluation_id == evaluation_id)
                .order_by(evaluation_policies.c.position))
        return [_policy(r) for r in conn.execute(stmt)]

    @staticmethod
    def _current_number(conn, evaluation_id: str) -> int | None:
        """The number of the evaluation's current review; ``None`` before the first."""
        return conn.execute(sa.select(sa.func.max(reviews.c.number))
                            .where(reviews.c.evaluation_id == evaluation_id)).scalar()

    # -- API keys -----------------------------------------------------------------------------------

    def principal(self, key_hash: str) -> Principal | None:
        """The unrevoked key with this hash: one indexed lookup, so a revocation counts at the next request."""
        select = self._principal
        row = self._raw(lambda cursor: cursor.execute(select.sql, select.params({"key_hash": key_hash}))
                        and cursor.fetchone())
        return None if row is None else Principal(*row)

    def add_key(self, record: KeyRecord, key_hash: str, audit: dict) -> None:
        row = {"id": record.id, "name": record.name, "role": record.role, "key_hash": key_hash,
               "created_at": record.created_at, "revoked_at": None}

        def work(conn):
            conn.execute(api_keys.insert(), row)
            conn.execute(audit_events.insert(), {**audit, "subject_key_id": record.id})

        self._run(work, write=True)

    def list_keys(self) -> list[KeyRecord]:
        k = api_keys.c
        stmt = sa.select(k.id, k.name, k.role, k.created_at, k.revoked_at).order_by(k.created_at, k.id)
        return [KeyRecord(r.id, r.name, r.role, _utc(r.created_at), r.revoked_at and _utc(r.revoked_at))
                for r in self._run(lambda conn: conn.execute(stmt).all())]

    def count_keys(self) -> int:
        return self._run(lambda conn: conn.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar())

    def revoke_key(self, key_id: str, when: datetime, audit: dict) -> tuple[KeyRecord, bool] | None:
        """Revoke ``key_id`` (and end its page sessions); return it and whether this call revoked it."""
        k = api_keys.c

        def work(conn):
            done = conn.execute(api_keys.update().where(k.id == key_id, k.revoked_at.is_(None))
                                .values(revoked_at=when)).rowcount == 1
            row = conn.execute(sa.select(k.id, k.name, k.role, k.created_at, k.revoked_at)
                               .where(k.id == key_id)).first()
            if row is None:
                return None
            conn.execute(web_sessions.delete().where(web_sessions.c.key_id == key_id))
            conn.execute(audit_events.insert(), {**audit, "subject_key_id": key_id,
                                                 "outcome": audit["outcome"] if done else "unchanged"})
            return KeyRecord(row.id, row.name, row.role, _utc(row.created_at), _utc(row.revoked_at)), done

        return self._run(work, write=True)

    # -- page sessions ------------------------------------------------------------------------------

    def start_session(self, token_hash: str, key_id: str, csrf_token: str, now: datetime, expires_at: datetime,
                      audit: dict) -> None:
        """A new page session (expired ones are swept first), with its audit row."""
        s = web_sessions.c

        def work(conn):
            conn.execute(web_sessions.delete().where(s.expires_at < now))
            conn.execute(web_sessions.insert(), {"token_hash": token_hash, "key_id": key_id,
                                                 "csrf_token": csrf_token, "created_at": now,
                                                 "expires_at": expires_at})
            conn.execute(audit_events.insert(), audit)

        self._run(work, write=True)

    def session(self, token_hash: str, now: datetime) -> SessionRecord | None:
        """The live session with this hash whose key is unrevoked: one lookup by primary key."""
        s, k = web_sessions.c, api_keys.c
        stmt = (sa.select(k.id, k.role, k.name, s.csrf_token, s.expires_at)
                .join_from(web_sessions, api_keys, s.key_id == k.id)
                .where(s.token_hash == token_hash, s.expires_at > now, k.revoked_at.is_(None)))
        row = self._run(lambda conn: conn.execute(stmt).first())
        return None if row is None else SessionRecord(Principal(row.id, row.role, row.name), row.csrf_token,
                                                      _utc(row.expires_at))

    def extend_session(self, token_hash: str, expires_at: datetime) -> None:
        self._run(lambda conn: conn.execute(web_sessions.update().where(web_sessions.c.token_hash == token_hash)
                                            .values(expires_at=expires_at)), write=True)

    def end_session(self, token_hash: str, audit: dict | None) -> None:
        def work(conn):
            conn.execute(web_sessions.delete().where(web_sessions.c.token_hash == token_hash))
            if audit is not None:
                conn.execute(audit_events.insert(), audit)

        self._run(work, write=True)

    # -- audit --------------------------------------------------------------------------------------

    def audit(self, row: dict) -> None:
        """Append one audit row (on its own; most rows ride in the transaction of what they record)."""
        self._run(lambda conn: conn.execute(audit_events.insert(), row), write=True)

    def audit_page(self, limit: int, before_seq: int | None = None, **equal) -> list[dict]:
        """Audit rows newest first, older than ``before_seq``, with columns equal to ``equal``'s values."""
        a = audit_events.c
        stmt = sa.select(audit_events).order_by(a.seq.desc()).limit(limit)
        if before_seq is not None:
            stmt = stmt.where(a.seq < before_seq)
        for column, value in equal.items():
            if value is not None:
                stmt = stmt.where(a[column] == value)
        return [_audit_row(r) for r in self._run(lambda conn: conn.execute(stmt).mappings().all())]

    def audit_rows(self, after_seq: int = 0, batch: int = 1000):
        """Every audit row after ``after_seq``, oldest first, read in batches."""
        a = audit_events.c
        while True:
            stmt = sa.select(audit_events).where(a.seq > after_seq).order_by(a.seq).limit(batch)
            rows = self._run(lambda conn, stmt=stmt: conn.execute(stmt).mappings().all())
            yield from (_audit_row(r) for r in rows)
            if len(rows) < batch:
                return
            after_seq = rows[-1]["seq"]

    def revision(self) -> str | None:
        """The Alembic revision the database is at, or ``None`` before the first migration."""
        def work(conn):
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return self._run(work)


REVIEW_STATUS = {"accept": "accepted", "override": "overridden"}


def _audit_row(row) -> dict:
    out = dict(row)
    out["recorded_at"] = _utc(out["recorded_at"])
    out["policies"] = json.loads(out["policies"]) if out["policies"] else None
    return out


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
