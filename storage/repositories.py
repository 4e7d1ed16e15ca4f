"""The repositories of the SQL unit of work: each kind of record's statements, rows in and records out.

Every method runs on its unit of work's connection and transaction (``SqlUnitOfWork.connection()``,
or ``cursor()`` for the prepared statements). No method updates or deletes a row of an append-only
table (``tables.APPEND_ONLY``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from services.audit import Link, chain_content, link_hash
from services.records import (
    AuditEvent,
    KeyRecord,
    NewEvaluation,
    NewReview,
    PolicyRow,
    Principal,
    QueueItem,
    ReviewRecord,
    SessionRecord,
    Stored,
    StoredEvaluation,
)
from services.unit_of_work import AuditLog, Evaluations, Keys, Reviews, Sessions

from .tables import api_keys, audit_events, evaluation_policies, evaluations, reviews, web_sessions

if TYPE_CHECKING:
    from .unit_of_work import SqlUnitOfWork


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _Repository:
    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def _execute(self, statement, parameters=None) -> sa.CursorResult:
        with self._uow.translated():
            return self._uow.connection().execute(statement, parameters)


# -- evaluations -------------------------------------------------------------------------------------------

_POLICY_COLUMNS = (evaluation_policies.c.policy_id, evaluation_policies.c.policy_version,
                   evaluation_policies.c.policy_digest, evaluation_policies.c.determination)


def _policy(row) -> PolicyRow:
    return PolicyRow(row.policy_id, row.policy_version, row.policy_digest, row.determination)


class SqlEvaluations(_Repository, Evaluations):
    def add(self, new: NewEvaluation) -> None:
        row = {"id": new.id, "created_at": new.created_at, "as_of": new.as_of, "reference": new.reference,
               "request_id": new.request_id, "idempotency_key": new.idempotency_key,
               "body_digest": new.body_digest, "submission": new.submission, "result": new.result,
               "created_by": new.created_by, "client_id": new.client_id}
        database = self._uow.database
        with self._uow.translated(conflict=True), self._uow.cursor() as cursor:
            insert = database.insert("evaluations")
            cursor.execute(insert.sql, insert.params(row))
            insert = database.insert("evaluation_policies")
            cursor.executemany(insert.sql, [insert.params({
                "evaluation_id": new.id, "position": position, "policy_id": p.id, "policy_version": p.version,
                "policy_digest": p.digest, "determination": p.determination})
                for position, p in enumerate(new.policies)])

    def by_key(self, idempotency_key: str) -> Stored | None:
        e = evaluations.c
        row = self._execute(sa.select(e.id, e.body_digest, e.result).where(e.idempotency_key == idempotency_key)
                            ).first()
        return None if row is None else Stored(*row)

    def get(self, evaluation_id: str, *, submission: bool = False) -> StoredEvaluation | None:
        e = evaluations.c
        columns = [e.result, e.review_status, e.client_id] + ([e.submission] if submission else [])
        row = self._execute(sa.select(*columns).where(e.id == evaluation_id)).first()
        if row is None:
            return None
        return StoredEvaluation(evaluation_id, row.result, row.review_status, row.submission if submission else None,
                                row.client_id)

    def review_status(self, evaluation_id: str) -> str | None:
        e = evaluations.c
        return self._execute(sa.select(e.review_status).where(e.id == evaluation_id)).scalar()

    def set_review_status(self, evaluation_id: str, status: str) -> None:
        self._execute(evaluations.update().where(evaluations.c.id == evaluation_id).values(review_status=status))

    def policies(self, evaluation_id: str) -> tuple[PolicyRow, ...]:
        p = evaluation_policies.c
        return tuple(_policy(r) for r in self._execute(
            sa.select(*_POLICY_COLUMNS).where(p.evaluation_id == evaluation_id).order_by(p.position)))

    def queue(self, *, limit: int, before_seq: int | None = None, review_status: str | None = None,
              policy: str | None = None, determination: str | None = None, oldest_first: bool = False,
              reviewed_by: str | None = None) -> list[QueueItem]:
        e, p, r = evaluations.c, evaluation_policies.c, reviews.c
        stmt = sa.select(e.seq, e.id, e.created_at, e.as_of, e.reference, e.review_status).order_by(
            e.seq.asc() if oldest_first else e.seq.desc()).limit(limit)
        if review_status is not None:
            stmt = stmt.where(e.review_status == review_status)
        if before_seq is not None:
            stmt = stmt.where(e.seq > before_seq if oldest_first else e.seq < before_seq)
        if reviewed_by is not None:
            stmt = stmt.where(sa.select(r.evaluation_id).where(r.evaluation_id == e.id,
                                                               r.reviewer_key_id == reviewed_by).exists())
        if policy is not None or determination is not None:
            match = sa.select(p.evaluation_id).where(p.evaluation_id == e.id)
            if policy is not None:
                match = match.where(p.policy_id == policy)
            if determination is not None:
                match = match.where(p.determination == determination)
            stmt = stmt.where(match.exists())
        rows = self._execute(stmt).all()
        policies: dict[str, list[PolicyRow]] = {r.id: [] for r in rows}
        if rows:
            for r in self._execute(sa.select(p.evaluation_id, *_POLICY_COLUMNS)
                                   .where(p.evaluation_id.in_(list(policies))).order_by(p.position)):
                policies[r.evaluation_id].append(_policy(r))
        return [QueueItem(r.seq, r.id, _utc(r.created_at), r.as_of, r.reference, r.review_status,
                          tuple(policies[r.id])) for r in rows]


# -- reviews -----------------------------------------------------------------------------------------------

class SqlReviews(_Repository, Reviews):
    def of(self, evaluation_id: str) -> list[ReviewRecord]:
        r, k = reviews.c, api_keys.c
        stmt = (sa.select(r.number, r.decision, r.determination, r.reason, r.reviewed_at, k.id, k.role, k.name,
                          r.policy_id, r.attested)
                .join_from(reviews, api_keys, r.reviewer_key_id == k.id)
                .where(r.evaluation_id == evaluation_id).order_by(r.number))
        return [ReviewRecord(row.number, row.decision, row.determination, row.reason, _utc(row.reviewed_at),
                             Principal(row.id, row.role, row.name), row.policy_id,
                             None if row.attested is None else tuple(json.loads(row.attested)))
                for row in self._execute(stmt)]

    def current_number(self, evaluation_id: str) -> int | None:
        return self._execute(sa.select(sa.func.max(reviews.c.number))
                             .where(reviews.c.evaluation_id == evaluation_id)).scalar()

    def add(self, evaluation_id: str, number: int, review: NewReview) -> None:
        with self._uow.translated(conflict=True):
            self._uow.connection().execute(reviews.insert(), {
                "evaluation_id": evaluation_id, "number": number, "decision": review.decision,
                "determination": review.determination, "reason": review.reason,
                "reviewer_key_id": review.reviewer_key_id, "reviewed_at": review.reviewed_at,
                "policy_id": review.policy,
                "attested": None if review.attested is None else json.dumps(list(review.attested))})


# -- API keys ----------------------------------------------------------------------------------------------

def _key(row) -> KeyRecord:
    return KeyRecord(row.id, row.name, row.role, _utc(row.created_at), row.revoked_at and _utc(row.revoked_at))


class SqlKeys(_Repository, Keys):
    def principal(self, key_hash: str) -> Principal | None:
        """One indexed lookup (prepared: every request makes it), so a revocation counts at the next request."""
        select = self._uow.database.principal_select
        with self._uow.translated(), self._uow.cursor() as cursor:
            cursor.execute(select.sql, select.params({"key_hash": key_hash}))
            row = cursor.fetchone()
        return None if row is None else Principal(*row)

    def add(self, record: KeyRecord, key_hash: str, client: str | None = None) -> None:
        self._execute(api_keys.insert(), {"id": record.id, "name": record.name, "role": record.role,
                                          "key_hash": key_hash, "created_at": record.created_at,
                                          "revoked_at": record.revoked_at, "client_id": client})

    def all(self) -> list[KeyRecord]:
        k = api_keys.c
        return [_key(r) for r in self._execute(sa.select(k.id, k.name, k.role, k.created_at, k.revoked_at)
                                               .order_by(k.created_at, k.id))]

    def count(self) -> int:
        return self._execute(sa.select(sa.func.count()).select_from(api_keys)).scalar()

    def unrevoked_named(self, name: str) -> KeyRecord | None:
        k = api_keys.c
        row = self._execute(sa.select(k.id, k.name, k.role, k.created_at, k.revoked_at)
                            .where(sa.func.lower(k.name) == name.lower(), k.revoked_at.is_(None)).limit(1)).first()
        return None if row is None else _key(row)

    def revoke(self, key_id: str, when: datetime) -> tuple[KeyRecord, bool] | None:
        k = api_keys.c
        done = self._execute(api_keys.update().where(k.id == key_id, k.revoked_at.is_(None))
                             .values(revoked_at=when)).rowcount == 1
        row = self._execute(sa.select(k.id, k.name, k.role, k.created_at, k.revoked_at).where(k.id == key_id)).first()
        return None if row is None else (_key(row), done)


# -- page sessions -----------------------------------------------------------------------------------------

class SqlSessions(_Repository, Sessions):
    def add(self, token_hash: str, key_id: str, csrf_token: str, created_at: datetime, expires_at: datetime) -> None:
        self._execute(web_sessions.insert(), {"token_hash": token_hash, "key_id": key_id, "csrf_token": csrf_token,
                                              "created_at": created_at, "expires_at": expires_at})

    def live(self, token_hash: str, now: datetime) -> SessionRecord | None:
        """One lookup by primary key, joined to an unrevoked key."""
        s, k = web_sessions.c, api_keys.c
        row = self._execute(sa.select(k.id, k.role, k.name, s.csrf_token, s.expires_at, s.created_at)
                            .join_from(web_sessions, api_keys, s.key_id == k.id)
                            .where(s.token_hash == token_hash, s.expires_at > now, k.revoked_at.is_(None))).first()
        return None if row is None else SessionRecord(Principal(row.id, row.role, row.name), row.csrf_token,
                                                      _utc(row.expires_at), _utc(row.created_at))

    def extend(self, token_hash: str, expires_at: datetime) -> None:
        self._execute(web_sessions.update().where(web_sessions.c.token_hash == token_hash)
                      .values(expires_at=expires_at))

    def delete(self, token_hash: str) -> None:
        self._execute(web_sessions.delete().where(web_sessions.c.token_hash == token_hash))

    def delete_expired(self, now: datetime) -> None:
        self._execute(web_sessions.delete().where(web_sessions.c.expires_at < now))

    def delete_for_key(self, key_id: str) -> None:
        self._execute(web_sessions.delete().where(web_sessions.c.key_id == key_id))


# -- the audit trail ---------------------------------------------------------------------------------------

def _policies_text(policies) -> str | None:
    """The audit row's ``policies`` column: compact JSON of which rules ran."""
    return None if policies is None else json.dumps(list(policies), separators=(",", ":"))


def _event(row) -> AuditEvent:
    values = dict(row)
    values.pop("prev_hash", None)
    values.pop("row_hash", None)
    values["recorded_at"] = _utc(values["recorded_at"])
    values["policies"] = tuple(json.loads(values["policies"])) if values["policies"] else None
    return AuditEvent(**values)


class SqlAuditLog(_Repository, AuditLog):
    def add(self, event: AuditEvent) -> None:
        """A prepared insert: every action writes one, beside the action's own rows, chained to the row before
        (``services.audit``): on SQLite in one statement, which reads the last hash under the write lock; on
        PostgreSQL after a transaction-level advisory lock, so that two transactions never chain to one row."""
        values = {"recorded_at": event.recorded_at, "action": event.action, "outcome": event.outcome,
                  "channel": event.channel, "actor_key_id": event.actor_key_id, "actor_role": event.actor_role,
                  "evaluation_id": event.evaluation_id, "review_number": event.review_number,
                  "subject_key_id": event.subject_key_id, "policies": _policies_text(event.policies),
                  "request_id": event.request_id, "status": event.status, "course_id": event.course_id}
        content = chain_content(values)
        database = self._uow.database
        with self._uow.translated(), self._uow.cursor() as cursor:
            if database.audit_chain_in_sql:
                insert = database.audit_insert
                cursor.execute(insert.sql, insert.params({**values, "chain_content": content}))
                return
            cursor.execute(database.audit_lock_sql)
            cursor.execute(database.audit_last_sql)
            last = cursor.fetchone()
            prev_hash = last[0] if last else None
            insert = database.insert("audit_events")
            cursor.execute(insert.sql, insert.params({**values, "prev_hash": prev_hash,
                                                      "row_hash": link_hash(prev_hash, content)}))

    def links(self) -> Iterator[Link]:
        a = audit_events.c
        after_seq = 0
        while True:
            rows = self._execute(sa.select(audit_events).where(a.seq > after_seq).order_by(a.seq).limit(1000)
                                 ).mappings().all()
            for r in rows:
                values = dict(r)
                values["recorded_at"] = _utc(values["recorded_at"])
                yield Link(r["seq"], chain_content(values), r["prev_hash"], r["row_hash"])
            if len(rows) < 1000:
                return
            after_seq = rows[-1]["seq"]

    def page(self, *, limit: int, before_seq: int | None = None, evaluation_id: str | None = None,
             actor_key_id: str | None = None, action: str | None = None,
             course_id: str | None = None) -> list[AuditEvent]:
        a = audit_events.c
        stmt = sa.select(audit_events).order_by(a.seq.desc()).limit(limit)
        if before_seq is not None:
            stmt = stmt.where(a.seq < before_seq)
        for column, value in (("evaluation_id", evaluation_id), ("actor_key_id", actor_key_id), ("action", action),
                              ("course_id", course_id)):
            if value is not None:
                stmt = stmt.where(a[column] == value)
        return [_event(r) for r in self._execute(stmt).mappings().all()]

    def after(self, after_seq: int = 0, batch: int = 1000) -> Iterator[AuditEvent]:
        a = audit_events.c
        while True:
            stmt = sa.select(audit_events).where(a.seq > after_seq).order_by(a.seq).limit(batch)
            rows = self._execute(stmt).mappings().all()
            yield from (_event(r) for r in rows)
            if len(rows) < batch:
                return
            after_seq = rows[-1]["seq"]
