"""The audit trail: one append-only row per access to evaluations, review, key change and refusal.

A row holds ids only: time, action, outcome, channel (``api``, ``page``, ``cli``), the actor's key id
and role, the evaluation id and review number, the TMS course id, the key created or revoked, the
evaluation's policy ids, versions and digests, the request id and the HTTP status. Never a submission, a name, a date of
birth or the review's reason. Each use case writes its row in its own unit of work, so an action
and its audit row are stored together or not at all. No code updates or deletes an audit row, and
the database's triggers refuse it (migration 0002).

What is recorded: ``evaluation.create`` (``success``; ``replayed`` for an Idempotency-Key repeat),
``evaluation.read``, ``evaluation.list`` (the queue), ``evaluation.review``, ``key.create``,
``key.revoke`` (``unchanged`` when already revoked), ``audit.read``, ``audit.export``,
``session.start`` and ``session.end`` (the review page), the courses' ``course.create``, ``course.read``,
``course.list``, ``course.session``, ``course.rating``, ``course.adverse_event``, ``course.end`` and
``course.next`` (with the evaluation it made), ``cds.feedback`` (``accepted`` or ``overridden``, channel
``cds``: an EHR's feedback on a CDS Hooks card, with the card's evaluation; a hook call's evaluation is an
``evaluation.create`` on that channel, with no key), and any of them with ``denied`` when a valid
key of the wrong role tried it (403). Requests without a valid key (401) are in the request log only:
recording them would let anyone fill the table.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .clock import Clock, utc_now, wire_time_micro
from .records import AuditEvent, Page, Principal
from .unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Caller:
    """Who asks for a use case, and through which channel, as the audit trail records it.

    ``statuses`` maps an audit outcome (``success``, ``replayed``, ``unchanged``, ``denied``) to the HTTP
    status the caller answers with for it; off HTTP it is empty and the rows' ``status`` is ``None``.
    """

    channel: str = "cli"
    actor: Principal | None = None
    request_id: str | None = None
    statuses: Mapping[str, int] = field(default_factory=dict)

    def event(self, action: str, outcome: str, recorded_at: datetime, **ids) -> AuditEvent:
        """This caller's audit row for ``action``; ``ids`` are the other columns."""
        actor = self.actor
        return AuditEvent(recorded_at=recorded_at, action=action, outcome=outcome, channel=self.channel,
                          actor_key_id=actor.key_id if actor else None, actor_role=actor.role if actor else None,
                          request_id=self.request_id, status=self.statuses.get(outcome), **ids)


LARGEST_SEQ = 2**63 - 1  # a signed 64-bit integer: the largest row number either database can hold
_CURSOR = re.compile(r"[1-9][0-9]{0,18}")  # ASCII digits only: str.isdigit would also take "²"


def cursor_seq(cursor: str | None) -> int | None:
    """The row number a cursor stands for, or ``None`` when it is not one this API hands out (ASCII digits,
    1 to 2**63 - 1)."""
    if cursor is None or not _CURSOR.fullmatch(cursor):
        return None
    seq = int(cursor)
    return seq if seq <= LARGEST_SEQ else None


def page_of(rows: list, limit: int, seq: Callable) -> Page:
    """Split ``rows``, read with ``limit + 1``, into the page and the next page's cursor (``None`` on the last
    page); ``seq`` gives a row's position, the cursor."""
    page = rows[:limit]
    return Page(page, str(seq(page[-1])) if len(rows) > limit else None)


def record_denial(uow: UnitOfWork, caller: Caller, action: str, *, clock: Clock = utc_now) -> None:
    """Record that ``caller.actor`` tried ``action`` with a key of the wrong role."""
    with uow:
        uow.audit.add(caller.event(action, "denied", clock()))
        uow.commit()


def read_audit(uow: UnitOfWork, caller: Caller, *, limit: int, cursor: str | None = None,
               evaluation_id: str | None = None, actor_key_id: str | None = None, action: str | None = None,
               course_id: str | None = None, clock: Clock = utc_now) -> Page[AuditEvent]:
    """A page of the trail, newest first, filtered by column; the reading is recorded after it."""
    with uow:
        rows = uow.audit.page(limit=limit + 1, before_seq=cursor_seq(cursor),
                              evaluation_id=evaluation_id, actor_key_id=actor_key_id, action=action,
                              course_id=course_id)
        uow.audit.add(caller.event("audit.read", "success", clock()))
        uow.commit()
    return page_of(rows, limit, lambda row: row.seq)


# -- the hash chain ------------------------------------------------------------------------------------------
#
# Each row written since migration 0006 carries ``prev_hash``, the ``row_hash`` of the row before it, and its own
# ``row_hash``: the sha256 of ``prev_hash`` and its columns (``chain_content``). A row changed, replaced or removed
# behind the service's back breaks the chain at that row or the next; ``verify_chain`` finds the first break.

CHAIN_COLUMNS = ("recorded_at", "action", "outcome", "channel", "actor_key_id", "actor_role", "evaluation_id",
                 "review_number", "subject_key_id", "policies", "request_id", "status", "course_id")


def chain_content(values: Mapping) -> str:
    """A row's columns as the chain hashes them: ``policies`` as stored (text), the time to the microsecond."""
    row = {c: values[c] for c in CHAIN_COLUMNS}
    row["recorded_at"] = wire_time_micro(row["recorded_at"])
    return json.dumps([row[c] for c in CHAIN_COLUMNS], separators=(",", ":"), ensure_ascii=False)


def link_hash(prev_hash: str | None, content: str) -> str:
    """A row's ``row_hash``: the sha256 (hex) of the previous row's hash and this row's content."""
    return hashlib.sha256(f"{prev_hash or ''}\n{content}".encode()).hexdigest()


@dataclass(frozen=True)
class Link:
    """One audit row as the chain sees it (``AuditLog.links``)."""

    seq: int
    content: str
    prev_hash: str | None
    row_hash: str | None


@dataclass(frozen=True)
class Verified:
    rows: int  # rows read
    unchained: int  # rows older than the chain (written before migration 0006), not checked
    broken_at: int | None  # the seq of the first row whose link does not hold; None: the chain holds
    reason: str | None


def verify_chain(uow: UnitOfWork) -> Verified:
    """Read the whole trail, oldest first, and check every link: the first row whose ``prev_hash`` is not the
    previous row's ``row_hash``, or whose ``row_hash`` is not the hash of its content, is the first broken link.
    Rows before the first hashed row are older than the chain and counted, not checked."""
    rows = unchained = 0
    previous: Link | None = None
    with uow:
        for link in uow.audit.links():
            rows += 1
            if previous is None and link.row_hash is None:
                unchained += 1
                continue
            expected_prev = previous.row_hash if previous is not None else None
            if previous is not None and link.prev_hash != expected_prev:
                return Verified(rows, unchained, link.seq, f"prev_hash is not the row_hash of row {previous.seq}")
            if link.row_hash != link_hash(link.prev_hash, link.content):
                return Verified(rows, unchained, link.seq, "row_hash does not match the row's content")
            previous = link
    return Verified(rows, unchained, None, None)


@dataclass(frozen=True)
class Exported:
    count: int
    last: int  # the seq of the last row written (``after`` when none was)


def export_audit(uow: UnitOfWork, caller: Caller, write: Callable[[AuditEvent], None], *, after: int = 0,
                 finish: Callable[[], None] = lambda: None, clock: Clock = utc_now) -> Exported:
    """Hand every row after ``after`` to ``write``, oldest first, then call ``finish`` (closing the output); the
    export is recorded once both are done, so an export that could not be written is not recorded."""
    count, last = 0, after
    with uow:
        for row in uow.audit.after(after):
            write(row)
            count, last = count + 1, row.seq
        finish()
        uow.audit.add(caller.event("audit.export", "success", clock()))
        uow.commit()
    return Exported(count, last)
