"""The values that cross the unit-of-work port: what a use case hands a repository and what it gets back.

Storage adapters (``storage`` and the in-memory ``services.memory``) build these from their rows; use
cases and views read them. Each record that is shown on the wire has ``to_wire()``, giving its JSON
object as the contract names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from .clock import wire_time, wire_time_micro
from .vocabulary import REVIEW_STATUS

T = TypeVar("T")


@dataclass(frozen=True)
class Received:
    """A JSON request body as it arrived: parsed, as text and as bytes (the idempotency digest is of the bytes)."""

    document: object
    text: str
    raw: bytes


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first, with the cursor of the next (older) page (``None`` on the last)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class Principal:
    """Who acts: an unrevoked API key."""

    key_id: str
    role: str
    name: str
    client: str | None = None  # the client (group of keys) it acts for; a key without one is a client of its own

    @property
    def client_id(self) -> str:
        return self.client or self.key_id


# -- evaluations -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicyRow:
    """One policy an evaluation was evaluated against, with what it decided."""

    id: str
    version: str
    digest: str
    determination: str

    def ref(self) -> dict:
        """Which rules ran (id, version, digest), never what they decided: the audit trail's ``policies``."""
        return {"id": self.id, "version": self.version, "digest": self.digest}

    def to_wire(self) -> dict:
        return {"id": self.id, "version": self.version, "digest": self.digest, "determination": self.determination}


@dataclass(frozen=True)
class NewEvaluation:
    """An evaluation to store: the submission as received and the body answered, byte for byte."""

    id: str
    created_at: datetime
    as_of: date
    reference: str | None
    request_id: str | None
    idempotency_key: str | None
    body_digest: str
    submission: str
    result: str
    policies: tuple[PolicyRow, ...]  # in request order
    created_by: str | None = None  # the key that made it
    client_id: str | None = None  # that key's client: its intake keys alone read the evaluation


@dataclass(frozen=True)
class Stored:
    """What a replay needs of a stored evaluation."""

    id: str
    body_digest: str
    result: str


@dataclass(frozen=True)
class StoredEvaluation:
    """A stored evaluation's answer and review status, and its submission when asked for."""

    id: str
    result: str
    review_status: str
    submission: str | None
    client_id: str | None = None


@dataclass(frozen=True)
class QueueDetail:
    """What a triage row of the review page shows beyond the item: by policy id, the counts of not-met and unknown
    criteria and the title; the evaluation's reviews, oldest first."""

    counts: dict[str, tuple[int, int]]
    titles: dict[str, str]
    reviews: tuple[ReviewRecord, ...]


@dataclass(frozen=True)
class QueueItem:
    seq: int
    id: str
    created_at: datetime
    as_of: date
    reference: str | None
    review_status: str
    policies: tuple[PolicyRow, ...]
    detail: QueueDetail | None = None  # when asked for (the review page's queue)
    reviews: tuple[ReviewRecord, ...] = ()  # of a reviewed evaluation, oldest first

    def to_wire(self) -> dict:
        review: dict = {"status": self.review_status}
        current = {r.policy: r for r in self.reviews if r.policy is not None}
        if current:  # some policy has its own review: each policy's state
            review["policies"] = [
                {"policy": p.id, "status": "pending"} if p.id not in current else
                {"policy": p.id, "status": REVIEW_STATUS[current[p.id].decision],
                 "determination": current[p.id].determination}
                for p in self.policies]
        return {"id": self.id, "created_at": wire_time(self.created_at), "as_of": self.as_of.isoformat(),
                "reference": self.reference, "review": review, "policies": [p.to_wire() for p in self.policies]}


# -- reviews -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewReview:
    decision: str
    determination: str
    reason: str | None
    reviewer_key_id: str
    reviewed_at: datetime
    policy: str | None = None  # the policy whose result is reviewed; None: every result
    attested: tuple[str, ...] | None = None  # documentation requirement ids (a policy's review only)


@dataclass(frozen=True)
class ReviewRecord:
    number: int
    decision: str
    determination: str
    reason: str | None
    reviewed_at: datetime
    reviewer: Principal
    policy: str | None = None  # the policy whose result is reviewed; None: every result
    attested: tuple[str, ...] | None = None

    def to_wire(self) -> dict:
        """The review as the ``review`` member shows it; a policy's review also names its policy and what
        was attested (a review of every result has neither member, as before per-policy reviews)."""
        wire = {"number": self.number, "decision": self.decision, "determination": self.determination,
                "reason": self.reason, "reviewed_at": wire_time(self.reviewed_at),
                "reviewer": {"key_id": self.reviewer.key_id, "name": self.reviewer.name,
                             "role": self.reviewer.role}}
        if self.policy is not None:
            wire["policy"] = self.policy
            wire["attested"] = list(self.attested or ())
        return wire


# -- keys and page sessions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyRecord:
    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None

    def to_wire(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "created_at": wire_time(self.created_at),
                "revoked_at": wire_time(self.revoked_at)}


@dataclass(frozen=True)
class SessionRecord:
    """A live review-page session: whose it is, its CSRF token and when it ends unless used."""

    principal: Principal
    csrf_token: str
    expires_at: datetime
    created_at: datetime  # sign-in: the session ends at the latest ``lifetime`` after it, used or not


# -- the audit trail ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditEvent:
    """One audit row: ids only, never clinical content (``seq`` is given when it is stored)."""

    recorded_at: datetime
    action: str
    outcome: str
    channel: str
    actor_key_id: str | None = None
    actor_role: str | None = None
    evaluation_id: str | None = None
    review_number: int | None = None
    subject_key_id: str | None = None
    policies: tuple[dict, ...] | None = None  # {"id", "version", "digest"} of each policy evaluated
    request_id: str | None = None
    status: int | None = None  # the HTTP status answered
    seq: int | None = None
    course_id: str | None = None  # the TMS course acted on

    def to_wire(self) -> dict:
        """The row as ``GET /v1/audit`` and ``audit export`` show it."""
        return {"seq": self.seq, "recorded_at": wire_time_micro(self.recorded_at), "action": self.action,
                "outcome": self.outcome, "channel": self.channel, "actor_key_id": self.actor_key_id,
                "actor_role": self.actor_role, "evaluation_id": self.evaluation_id,
                "review_number": self.review_number, "subject_key_id": self.subject_key_id,
                "policies": None if self.policies is None else [dict(p) for p in self.policies],
                "request_id": self.request_id, "status": self.status, "course_id": self.course_id}
