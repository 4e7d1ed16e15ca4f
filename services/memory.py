"""An in-memory unit of work: the same port as ``storage.SqlUnitOfWork``, kept in dictionaries.

The service tests run on it (no HTTP, no database), and the command line's ``evaluate`` and ``batch``
use a fresh one for each submission, so that a result is made exactly as the API makes it but kept
nowhere. Writes take effect at once and are undone on rollback (each write records its undo), so
several units of work on one ``MemoryStore`` see each other's writes as soon as they happen: a test
can interleave two of them to play a race. Uniqueness is checked as the database checks it
(``WriteConflict``); switching the store off (``available = False``) makes every access raise
``DatabaseUnavailable``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from eligibility.courses import AdverseEvent, Rating, Session

from .course_records import CourseRecord, Entry, NextStep
from .errors import DatabaseUnavailable, WriteConflict
from .records import (
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
from .unit_of_work import AuditLog, Cards, Courses, Evaluations, Keys, Reviews, Sessions, TokenIds, UnitOfWork


@dataclass
class _Evaluation:
    seq: int
    new: NewEvaluation
    review_status: str = "pending"


@dataclass
class _Course:
    seq: int
    record: CourseRecord  # the header: its records are the lists below
    records: dict[type, list[Entry]]
    next_steps: list[NextStep]


@dataclass
class _Key:
    record: KeyRecord
    key_hash: str
    client: str | None = None


@dataclass
class _Session:
    key_id: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class MemoryStore:
    """What in-memory units of work keep: share one between several to see each other's work."""

    def __init__(self, revision: str | None = None):
        self.evaluations: dict[str, _Evaluation] = {}  # in insertion order
        self.reviews: dict[str, list[tuple[int, NewReview]]] = {}
        self.keys: dict[str, _Key] = {}
        self.sessions: dict[str, _Session] = {}
        self.audit: list[AuditEvent] = []
        self.courses: dict[str, _Course] = {}  # in insertion order
        self.token_ids: dict[tuple[str, str], datetime] = {}
        self.cards: dict[str, tuple[str, str]] = {}
        self.revision = revision
        self.available = True
        self._evaluation_seq = itertools.count(1)
        self._audit_seq = itertools.count(1)
        self._course_seq = itertools.count(1)
        self._record_seq = itertools.count(1)


class InMemoryUnitOfWork(UnitOfWork):
    """A unit of work on a ``MemoryStore`` (a new, empty one unless given); ``commits`` counts its commits."""

    def __init__(self, store: MemoryStore | None = None):
        self.store = store if store is not None else MemoryStore()
        self.commits = 0
        self._undo: list[Callable[[], None]] = []
        self.evaluations = _Evaluations(self)
        self.reviews = _Reviews(self)
        self.keys = _Keys(self)
        self.sessions = _Sessions(self)
        self.audit = _AuditLog(self)
        self.courses = _Courses(self)
        self.token_ids = _TokenIds(self)
        self.cards = _Cards(self)

    def data(self) -> MemoryStore:
        if not self.store.available:
            raise DatabaseUnavailable("the in-memory store is switched off")
        return self.store

    def did(self, undo: Callable[[], None]) -> None:
        """Record how to undo a write just made."""
        self._undo.append(undo)

    def commit(self) -> None:
        self.data()
        self._undo.clear()
        self.commits += 1

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()

    def revision(self) -> str | None:
        return self.data().revision


class _Repository:
    def __init__(self, uow: InMemoryUnitOfWork):
        self._uow = uow

    def _principal(self, key_id: str) -> Principal:
        record = self._uow.data().keys[key_id].record
        return Principal(record.id, record.role, record.name)


class _Evaluations(_Repository, Evaluations):
    def add(self, new: NewEvaluation) -> None:
        data = self._uow.data()
        if new.id in data.evaluations or new.idempotency_key is not None and any(
                e.new.idempotency_key == new.idempotency_key for e in data.evaluations.values()):
            raise WriteConflict(new.id)
        data.evaluations[new.id] = _Evaluation(next(data._evaluation_seq), new)
        self._uow.did(lambda: data.evaluations.pop(new.id))

    def by_key(self, idempotency_key: str) -> Stored | None:
        for e in self._uow.data().evaluations.values():
            if e.new.idempotency_key == idempotency_key:
                return Stored(e.new.id, e.new.body_digest, e.new.result)
        return None

    def get(self, evaluation_id: str, *, submission: bool = False) -> StoredEvaluation | None:
        e = self._uow.data().evaluations.get(evaluation_id)
        if e is None:
            return None
        return StoredEvaluation(evaluation_id, e.new.result, e.review_status, e.new.submission if submission else None,
                                e.new.client_id)

    def review_status(self, evaluation_id: str) -> str | None:
        e = self._uow.data().evaluations.get(evaluation_id)
        return None if e is None else e.review_status

    def set_review_status(self, evaluation_id: str, status: str) -> None:
        e = self._uow.data().evaluations.get(evaluation_id)
        if e is not None:
            before, e.review_status = e.review_status, status
            self._uow.did(lambda: setattr(e, "review_status", before))

    def policies(self, evaluation_id: str) -> tuple[PolicyRow, ...]:
        e = self._uow.data().evaluations.get(evaluation_id)
        return () if e is None else e.new.policies

    def queue(self, *, limit: int, before_seq: int | None = None, review_status: str | None = None,
              policy: str | None = None, determination: str | None = None, oldest_first: bool = False,
              reviewed_by: str | None = None) -> list[QueueItem]:
        found = []
        data = self._uow.data()
        for e in sorted(data.evaluations.values(), key=lambda e: e.seq, reverse=not oldest_first):
            if before_seq is not None and (e.seq <= before_seq if oldest_first else e.seq >= before_seq):
                continue
            if reviewed_by is not None and not any(r.reviewer_key_id == reviewed_by
                                                   for _, r in data.reviews.get(e.new.id, [])):
                continue
            if review_status is not None and e.review_status != review_status:
                continue
            if (policy is not None or determination is not None) and not any(
                    (policy is None or p.id == policy) and (determination is None or p.determination == determination)
                    for p in e.new.policies):
                continue
            new = e.new
            found.append(QueueItem(e.seq, new.id, new.created_at, new.as_of, new.reference, e.review_status,
                                   new.policies))
            if len(found) == limit:
                break
        return found


class _Reviews(_Repository, Reviews):
    def of(self, evaluation_id: str) -> list[ReviewRecord]:
        return [ReviewRecord(number, r.decision, r.determination, r.reason, r.reviewed_at,
                             self._principal(r.reviewer_key_id), r.policy, r.attested)
                for number, r in self._uow.data().reviews.get(evaluation_id, [])]

    def current_number(self, evaluation_id: str) -> int | None:
        numbers = [number for number, _ in self._uow.data().reviews.get(evaluation_id, [])]
        return max(numbers) if numbers else None

    def add(self, evaluation_id: str, number: int, review: NewReview) -> None:
        data = self._uow.data()
        if evaluation_id not in data.evaluations or review.reviewer_key_id not in data.keys:
            raise LookupError("a review needs its evaluation and its reviewer's key")  # a foreign key, in SQL
        reviews = data.reviews.setdefault(evaluation_id, [])
        if any(n == number for n, _ in reviews):
            raise WriteConflict(f"{evaluation_id} review {number}")
        entry = (number, review)
        reviews.append(entry)
        self._uow.did(lambda: reviews.remove(entry))


class _Keys(_Repository, Keys):
    def principal(self, key_hash: str) -> Principal | None:
        for k in self._uow.data().keys.values():
            if k.key_hash == key_hash and k.record.revoked_at is None:
                return Principal(k.record.id, k.record.role, k.record.name, k.client)
        return None

    def add(self, record: KeyRecord, key_hash: str, client: str | None = None) -> None:
        data = self._uow.data()
        if record.id in data.keys or any(k.key_hash == key_hash for k in data.keys.values()):
            raise WriteConflict(record.id)
        data.keys[record.id] = _Key(record, key_hash, client)
        self._uow.did(lambda: data.keys.pop(record.id))

    def all(self) -> list[KeyRecord]:
        return sorted((k.record for k in self._uow.data().keys.values()), key=lambda r: (r.created_at, r.id))

    def count(self) -> int:
        return len(self._uow.data().keys)

    def unrevoked_named(self, name: str) -> KeyRecord | None:
        return next((k.record for k in self._uow.data().keys.values()
                     if k.record.revoked_at is None and k.record.name.lower() == name.lower()), None)

    def revoke(self, key_id: str, when: datetime) -> tuple[KeyRecord, bool] | None:
        key = self._uow.data().keys.get(key_id)
        if key is None:
            return None
        if key.record.revoked_at is not None:
            return key.record, False
        before, key.record = key.record, replace(key.record, revoked_at=when)
        self._uow.did(lambda: setattr(key, "record", before))
        return key.record, True


class _TokenIds(_Repository, TokenIds):
    def claim(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        ids = self._uow.data().token_ids
        gone = {k: v for k, v in ids.items() if v < now}
        for k in gone:
            del ids[k]
        self._uow.did(lambda: ids.update(gone))
        if (issuer, jti) in ids:
            return False
        ids[(issuer, jti)] = expires_at
        self._uow.did(lambda: ids.pop((issuer, jti)))
        return True


class _Cards(_Repository, Cards):
    def add(self, uuid: str, evaluation_id: str, policy_id: str, created_at: datetime) -> None:
        cards = self._uow.data().cards
        if uuid in cards:
            raise WriteConflict(uuid)
        cards[uuid] = (evaluation_id, policy_id)
        self._uow.did(lambda: cards.pop(uuid))

    def get(self, uuid: str) -> tuple[str, str] | None:
        return self._uow.data().cards.get(uuid)


class _Sessions(_Repository, Sessions):
    def add(self, token_hash: str, key_id: str, csrf_token: str, created_at: datetime, expires_at: datetime) -> None:
        sessions = self._uow.data().sessions
        if token_hash in sessions:
            raise WriteConflict(token_hash)
        sessions[token_hash] = _Session(key_id, csrf_token, created_at, expires_at)
        self._uow.did(lambda: sessions.pop(token_hash))

    def live(self, token_hash: str, now: datetime) -> SessionRecord | None:
        data = self._uow.data()
        session = data.sessions.get(token_hash)
        if session is None or session.expires_at <= now or data.keys[session.key_id].record.revoked_at is not None:
            return None
        return SessionRecord(self._principal(session.key_id), session.csrf_token, session.expires_at,
                             session.created_at)

    def extend(self, token_hash: str, expires_at: datetime) -> None:
        session = self._uow.data().sessions.get(token_hash)
        if session is not None:
            before, session.expires_at = session.expires_at, expires_at
            self._uow.did(lambda: setattr(session, "expires_at", before))

    def _delete(self, matches: Callable[[str, _Session], bool]) -> None:
        sessions = self._uow.data().sessions
        gone = {h: s for h, s in sessions.items() if matches(h, s)}
        for token_hash in gone:
            del sessions[token_hash]
        self._uow.did(lambda: sessions.update(gone))

    def delete(self, token_hash: str) -> None:
        self._delete(lambda h, _: h == token_hash)

    def delete_expired(self, now: datetime) -> None:
        self._delete(lambda _, s: s.expires_at < now)

    def delete_for_key(self, key_id: str) -> None:
        self._delete(lambda _, s: s.key_id == key_id)


class _AuditLog(_Repository, AuditLog):
    def add(self, event: AuditEvent) -> None:
        data = self._uow.data()
        row = replace(event, seq=next(data._audit_seq))
        data.audit.append(row)
        self._uow.did(lambda: data.audit.remove(row))

    def page(self, *, limit: int, before_seq: int | None = None, evaluation_id: str | None = None,
             actor_key_id: str | None = None, action: str | None = None,
             course_id: str | None = None) -> list[AuditEvent]:
        equal = {"evaluation_id": evaluation_id, "actor_key_id": actor_key_id, "action": action,
                 "course_id": course_id}
        rows = [r for r in reversed(self._uow.data().audit) if (before_seq is None or r.seq < before_seq)
                and all(value is None or getattr(r, column) == value for column, value in equal.items())]
        return rows[:limit]

    def after(self, after_seq: int = 0, batch: int = 1000) -> Iterator[AuditEvent]:
        yield from (r for r in list(self._uow.data().audit) if r.seq > after_seq)


class _Courses(_Repository, Courses):
    def add(self, record: CourseRecord) -> None:
        data = self._uow.data()
        if record.id in data.courses:
            raise WriteConflict(record.id)
        if record.evaluation_id is not None and record.evaluation_id not in data.evaluations:
            raise LookupError("a course's evaluation must exist")  # a foreign key, in SQL
        data.courses[record.id] = _Course(next(data._course_seq), record,
                                          {Session: [], Rating: [], AdverseEvent: []}, [])
        self._uow.did(lambda: data.courses.pop(record.id))

    @staticmethod
    def _full(course: _Course) -> CourseRecord:
        records = course.records
        return replace(course.record, sessions=tuple(records[Session]), ratings=tuple(records[Rating]),
                       adverse_events=tuple(records[AdverseEvent]), next_steps=tuple(course.next_steps),
                       seq=course.seq)

    def get(self, course_id: str) -> CourseRecord | None:
        course = self._uow.data().courses.get(course_id)
        return None if course is None else self._full(course)

    def lock(self, course_id: str) -> str | None:
        course = self._uow.data().courses.get(course_id)
        return None if course is None else course.record.status

    def add_record(self, course_id: str, entry: Entry) -> None:
        data = self._uow.data()
        entry = replace(entry, value=replace(entry.value, seq=next(data._record_seq)))
        records = data.courses[course_id].records[type(entry.value)]
        records.append(entry)
        self._uow.did(lambda: records.remove(entry))

    def end(self, course_id: str, record: CourseRecord) -> None:
        course = self._uow.data().courses[course_id]
        before = course.record
        course.record = replace(before, end=record.end, ended_at=record.ended_at, ended_by=record.ended_by)
        self._uow.did(lambda: setattr(course, "record", before))

    def link(self, course_id: str, evaluation_id: str, kind: str, created_at: datetime) -> None:
        steps = self._uow.data().courses[course_id].next_steps
        step = NextStep(evaluation_id, kind, created_at)
        steps.append(step)
        self._uow.did(lambda: steps.remove(step))

    def page(self, *, limit: int, before_seq: int | None = None, status: str | None = None,
             evaluation_id: str | None = None) -> list[CourseRecord]:
        found = []
        for course in sorted(self._uow.data().courses.values(), key=lambda c: c.seq, reverse=True):
            if before_seq is not None and course.seq >= before_seq:
                continue
            if status is not None and course.record.status != status:
                continue
            if evaluation_id is not None and course.record.evaluation_id != evaluation_id and not any(
                    step.evaluation_id == evaluation_id for step in course.next_steps):
                continue
            found.append(self._full(course))
            if len(found) == limit:
                break
        return found
