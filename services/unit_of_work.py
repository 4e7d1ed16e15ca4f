"""The unit of work: the port through which every use case reads and writes what the service keeps.

A use case opens one unit of work (``with uow:``), uses its repositories and calls ``commit()``; leaving
the block without a commit undoes everything since the last commit, so an action and its audit row
are stored together or not at all. Two adapters implement it: ``storage.SqlUnitOfWork`` (SQLAlchemy,
SQLite or PostgreSQL) and ``services.memory.InMemoryUnitOfWork`` (the service tests, and the command
line's ``evaluate``, which keeps nothing).

Writes that a concurrent unit of work can beat (an evaluation's idempotency key, a review's number)
raise ``WriteConflict``; the unit of work must then be rolled back before it is used again. Any
repository method may raise ``DatabaseUnavailable``.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from datetime import datetime

from .course_records import CourseRecord, Entry
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


class Evaluations(abc.ABC):
    """Stored evaluations, each with one row per policy it was evaluated against."""

    @abc.abstractmethod
    def add(self, new: NewEvaluation) -> None:
        """Store ``new`` with its policy rows; ``WriteConflict`` if its idempotency key is already held."""

    @abc.abstractmethod
    def by_key(self, idempotency_key: str) -> Stored | None:
        """The evaluation stored with this idempotency key."""

    @abc.abstractmethod
    def get(self, evaluation_id: str, *, submission: bool = False) -> StoredEvaluation | None:
        """The stored answer and review status (and the submission, if asked for)."""

    @abc.abstractmethod
    def review_status(self, evaluation_id: str) -> str | None:
        """The evaluation's review status; ``None`` if there is no such evaluation."""

    @abc.abstractmethod
    def set_review_status(self, evaluation_id: str, status: str) -> None: ...

    @abc.abstractmethod
    def policies(self, evaluation_id: str) -> tuple[PolicyRow, ...]:
        """The evaluation's policies with their determinations, in request order."""

    @abc.abstractmethod
    def queue(self, *, limit: int, before_seq: int | None = None, review_status: str | None = None,
              policy: str | None = None, determination: str | None = None, oldest_first: bool = False,
              reviewed_by: str | None = None) -> list[QueueItem]:
        """Evaluations newest first, older than ``before_seq`` (with ``oldest_first``: oldest first, newer than
        ``before_seq``), optionally of one review status, with a policy row matching ``policy`` and
        ``determination`` (both on the same row when both are given), and with a review by the key
        ``reviewed_by``."""


class Reviews(abc.ABC):
    """Clinician reviews: append-only, numbered from 1 per evaluation."""

    @abc.abstractmethod
    def of(self, evaluation_id: str) -> list[ReviewRecord]:
        """Every review of the evaluation, oldest first, with its reviewer."""

    @abc.abstractmethod
    def current_number(self, evaluation_id: str) -> int | None:
        """The number of the evaluation's current review; ``None`` before the first."""

    @abc.abstractmethod
    def add(self, evaluation_id: str, number: int, review: NewReview) -> None:
        """Append review ``number``; ``WriteConflict`` if a concurrent review took that number."""


class Keys(abc.ABC):
    """API keys, kept as the hash of the key."""

    @abc.abstractmethod
    def principal(self, key_hash: str) -> Principal | None:
        """The unrevoked key with this hash."""

    @abc.abstractmethod
    def add(self, record: KeyRecord, key_hash: str, client: str | None = None) -> None:
        """Store a key; ``client``: the client it acts for (``None``: a client of its own)."""

    @abc.abstractmethod
    def all(self) -> list[KeyRecord]:
        """Every key, oldest first."""

    @abc.abstractmethod
    def count(self) -> int: ...

    @abc.abstractmethod
    def unrevoked_named(self, name: str) -> KeyRecord | None:
        """An unrevoked key with this name, compared without regard to case."""

    @abc.abstractmethod
    def revoke(self, key_id: str, when: datetime) -> tuple[KeyRecord, bool] | None:
        """Revoke the key unless it is revoked; the key and whether this call revoked it (``None``: no such key)."""


class Sessions(abc.ABC):
    """Review-page sessions, kept as the hash of the cookie's token."""

    @abc.abstractmethod
    def add(self, token_hash: str, key_id: str, csrf_token: str, created_at: datetime,
            expires_at: datetime) -> None: ...

    @abc.abstractmethod
    def live(self, token_hash: str, now: datetime) -> SessionRecord | None:
        """The session with this hash if it has not expired and its key is unrevoked."""

    @abc.abstractmethod
    def extend(self, token_hash: str, expires_at: datetime) -> None: ...

    @abc.abstractmethod
    def delete(self, token_hash: str) -> None: ...

    @abc.abstractmethod
    def delete_expired(self, now: datetime) -> None: ...

    @abc.abstractmethod
    def delete_for_key(self, key_id: str) -> None: ...


class AuditLog(abc.ABC):
    """The append-only audit trail."""

    @abc.abstractmethod
    def add(self, event: AuditEvent) -> None: ...

    @abc.abstractmethod
    def page(self, *, limit: int, before_seq: int | None = None, evaluation_id: str | None = None,
             actor_key_id: str | None = None, action: str | None = None,
             course_id: str | None = None) -> list[AuditEvent]:
        """Rows newest first, older than ``before_seq``, with the given column values."""

    @abc.abstractmethod
    def after(self, after_seq: int = 0, batch: int = 1000) -> Iterator[AuditEvent]:
        """Every row after ``after_seq``, oldest first, read ``batch`` rows at a time."""

    def links(self) -> Iterator:
        """Every row as the hash chain sees it (``services.audit.Link``), oldest first; a store that keeps no
        chain has none."""
        return iter(())


class Courses(abc.ABC):
    """TMS courses with their sessions, ratings, adverse events and next-step evaluations.

    A write to a course first ``lock``s it: the course's row is held until the unit of work ends, so two writes
    to one course (a session and its end) are made one after the other, never on a stale view of it.
    """

    @abc.abstractmethod
    def add(self, record: CourseRecord) -> None:
        """Store a new course (its header only)."""

    @abc.abstractmethod
    def get(self, course_id: str) -> CourseRecord | None:
        """The course with its records and next steps."""

    @abc.abstractmethod
    def lock(self, course_id: str) -> str | None:
        """Hold the course for a write: ``"active"`` or ``"ended"``; ``None`` if there is no such course."""

    @abc.abstractmethod
    def add_record(self, course_id: str, entry: Entry) -> None:
        """Append a session, rating or adverse event (by the type of ``entry.value``)."""

    @abc.abstractmethod
    def end(self, course_id: str, record: CourseRecord) -> None:
        """Store the end (``end``, ``ended_at``, ``ended_by``) of ``record``, a locked active course."""

    @abc.abstractmethod
    def link(self, course_id: str, evaluation_id: str, kind: str, created_at: datetime) -> None:
        """Record that ``evaluation_id`` evaluated the course's next step."""

    @abc.abstractmethod
    def page(self, *, limit: int, before_seq: int | None = None, status: str | None = None,
             evaluation_id: str | None = None) -> list[CourseRecord]:
        """Courses newest first, older than ``before_seq``, with their records; optionally only active or ended ones,
        or only those started from or evaluated by ``evaluation_id``."""


class TokenIds(abc.ABC):
    """The ids (``jti``) of the EHR tokens accepted, each kept until its token expires."""

    @abc.abstractmethod
    def claim(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Record the id (forgetting those expired by ``now``); ``False`` if it is already recorded and live."""


class Cards(abc.ABC):
    """The CDS Hooks cards answered: which evaluation and policy each card uuid stands for."""

    @abc.abstractmethod
    def add(self, uuid: str, evaluation_id: str, policy_id: str, created_at: datetime) -> None: ...

    @abc.abstractmethod
    def get(self, uuid: str) -> tuple[str, str] | None:
        """``(evaluation_id, policy_id)`` of a card, or ``None``."""


class UnitOfWork(abc.ABC):
    """One transaction's worth of work on the service's data; a context manager."""

    evaluations: Evaluations
    reviews: Reviews
    keys: Keys
    sessions: Sessions
    audit: AuditLog
    courses: Courses
    token_ids: TokenIds
    cards: Cards

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()  # whatever was not committed is undone

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def revision(self) -> str | None:
        """The schema revision the store is at (``None`` before the first migration)."""
