"""Evaluations: evaluate a submission and store it (with idempotency), read one back, the review queue."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from eligibility import Library
from eligibility.results import Warning

from .audit import Caller, cursor_seq, page_of
from .clock import Clock, to_second, utc_now, wire_time
from .documents import answer, dumps, evaluation_document
from .errors import IdempotencyKeyReused, NotFound, WriteConflict
from .records import NewEvaluation, Page, PolicyRow, QueueDetail, QueueItem, Received, ReviewRecord, Stored
from .unit_of_work import UnitOfWork

EVALUATION_ID = re.compile(r"[0-9a-f]{32}")
INTAKE_ROLES = ("intake",)  # roles that read only their own client's evaluations


def new_evaluation_id() -> str:
    """A new evaluation id: 32 random hex digits."""
    return uuid.uuid4().hex


def scoped_key(client: str | None, idempotency_key: str) -> str:
    """How an Idempotency-Key is stored: bound to the client that sent it, so one client can neither block
    another's key nor learn that it was used."""
    return "sha256:" + hashlib.sha256(f"{client or ''}\x00{idempotency_key}".encode()).hexdigest()


def body_digest(raw: bytes) -> str:
    """What an Idempotency-Key is bound to: the sha256 of the request body's bytes."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Answered:
    """The evaluation a request is answered with: just stored, or (``replayed``) stored by an earlier request
    with the same Idempotency-Key; ``outcomes`` are the new one's determinations by policy."""

    id: str
    body: str
    replayed: bool
    outcomes: dict[str, str] | None = None


def evaluate(uow: UnitOfWork, library: Library, received: Received, caller: Caller, *,
             idempotency_key: str | None = None, clock: Clock = utc_now,
             new_id: Callable[[], str] = new_evaluation_id, warnings: tuple[tuple[str, str], ...] = (),
             also: Callable[[UnitOfWork, str, datetime], None] | None = None,
             members: dict | None = None, on_behalf_of: str | None = None) -> Answered:
    """Validate, evaluate and store a submission with its audit row; return the body to answer.

    With an ``idempotency_key`` already used with the same body bytes, the evaluation stored then is
    answered again (and the repeat audited as ``replayed``), also when a concurrent request with the
    key committed first.

    A use case that evaluates on behalf of something else (a course's next step) adds its ``warnings``
    (``(pointer, detail)``) to the result's, and stores what it links to the new evaluation with ``also``
    (called with the unit of work, the evaluation's id and the time, before the commit). ``members`` are
    top-level members added after the contract's (a FHIR evaluation's ``mapping``), stored with the body.
    ``on_behalf_of`` is the client the new evaluation belongs to when it is not the caller's (a course's next
    step belongs to the client whose referral the course came from, so that client's intake keys read it).

    :raises eligibility.InvalidSubmission: the submission breaks the contract (nothing is stored, and the key
        is not claimed).
    :raises IdempotencyKeyReused: the key was first used with a different body.
    """
    digest = body_digest(received.raw)
    actor = caller.actor
    client = on_behalf_of or (actor.client_id if actor else None)
    if idempotency_key is not None:
        idempotency_key = scoped_key(client, idempotency_key)
    with uow:
        if idempotency_key is not None and (stored := uow.evaluations.by_key(idempotency_key)) is not None:
            return _replay(uow, stored, digest, caller, clock)
        submission = library.load(received.document)
        evaluation = library.evaluate(submission)
        if warnings:
            evaluation = replace(evaluation, warnings=evaluation.warnings + tuple(Warning(*w) for w in warnings))
        evaluation_id, now = new_id(), clock()
        created_at = to_second(now)
        body = dumps({**evaluation_document(evaluation, evaluation_id, wire_time(created_at)), **(members or {})})
        policies = tuple(PolicyRow(r.policy.id, r.policy.version, r.policy.digest, r.determination.value)
                         for r in evaluation.results)
        try:
            uow.evaluations.add(NewEvaluation(
                id=evaluation_id, created_at=created_at, as_of=submission.as_of, reference=submission.reference,
                request_id=caller.request_id, idempotency_key=idempotency_key, body_digest=digest,
                submission=received.text, result=body, policies=policies,
                created_by=actor.key_id if actor else None, client_id=client))
        except WriteConflict:
            if idempotency_key is None:
                raise
            uow.rollback()  # a concurrent request with the same key committed first: answer with its evaluation
            stored = uow.evaluations.by_key(idempotency_key)
            if stored is None:
                raise
            return _replay(uow, stored, digest, caller, clock)
        uow.audit.add(caller.event("evaluation.create", "success", now, evaluation_id=evaluation_id,
                                   policies=tuple(p.ref() for p in policies)))
        if also is not None:
            also(uow, evaluation_id, now)
        uow.commit()
    return Answered(evaluation_id, body, replayed=False, outcomes={p.id: p.determination for p in policies})


def _replay(uow: UnitOfWork, stored: Stored, digest: str, caller: Caller, clock: Clock) -> Answered:
    if stored.body_digest != digest:
        raise IdempotencyKeyReused()
    policies = tuple({"id": r["policy"]["id"], "version": r["policy"]["version"], "digest": r["policy"]["digest"]}
                     for r in json.loads(stored.result)["results"])
    uow.audit.add(caller.event("evaluation.create", "replayed", clock(), evaluation_id=stored.id,
                               policies=policies))
    uow.commit()
    return Answered(stored.id, stored.result, replayed=True)


@dataclass(frozen=True)
class EvaluationRead:
    """A stored evaluation as answered (``body``), with what the review page shows beside it."""

    id: str
    body: str
    result: str  # the stored bytes, without the current review
    reviews: list[ReviewRecord]  # oldest first
    submission: str | None  # when asked for
    policy_ids: tuple[str, ...] = ()  # in result order


def read_evaluation(uow: UnitOfWork, evaluation_id: str, caller: Caller, *, submission: bool = False,
                    clock: Clock = utc_now) -> EvaluationRead:
    """The stored bytes with the current review spliced in (and the submission, if asked for); the read is
    audited with the evaluation's policies. An intake key reads only its own client's evaluations.

    :raises NotFound: no evaluation has this id (an id of the wrong shape is not looked up), or the caller is an
        intake key of another client (the same answer: it learns nothing of the others').
    """
    if not EVALUATION_ID.fullmatch(evaluation_id):
        raise NotFound("evaluation", evaluation_id)
    actor = caller.actor
    with uow:
        found = uow.evaluations.get(evaluation_id, submission=submission)
        if found is None or actor is not None and actor.role in INTAKE_ROLES and found.client_id != actor.client_id:
            raise NotFound("evaluation", evaluation_id)
        policies = uow.evaluations.policies(evaluation_id)
        reviews = uow.reviews.of(evaluation_id) if found.review_status != "pending" else []
        uow.audit.add(caller.event("evaluation.read", "success", clock(), evaluation_id=evaluation_id,
                                   policies=tuple(p.ref() for p in policies)))
        uow.commit()
    policy_ids = tuple(p.id for p in policies)
    return EvaluationRead(evaluation_id, answer(found.result, reviews, policy_ids), found.result, reviews,
                          found.submission, policy_ids)


def queue(uow: UnitOfWork, caller: Caller, *, limit: int, cursor: str | None = None,
          review_status: str | None = None, policy: str | None = None, determination: str | None = None,
          oldest_first: bool = False, reviewed_by: str | None = None, detail: bool = False,
          clock: Clock = utc_now) -> Page[QueueItem]:
    """The review queue: evaluations newest (or oldest) first, a page at a time, filtered by review status, policy,
    determination and reviewer; the listing is audited. With ``detail``, each item also carries what a triage
    row shows (``QueueDetail``: criteria counts by policy and the reviews)."""
    with uow:
        items = uow.evaluations.queue(limit=limit + 1, before_seq=cursor_seq(cursor),
                                      review_status=review_status, policy=policy, determination=determination,
                                      oldest_first=oldest_first, reviewed_by=reviewed_by)
        items = [replace(item, reviews=tuple(uow.reviews.of(item.id))) if item.review_status != "pending" and
                 index < limit else item for index, item in enumerate(items)]
        if detail:
            items = [replace(item, detail=_detail(uow, item)) for item in items[:limit]] + items[limit:]
        uow.audit.add(caller.event("evaluation.list", "success", clock()))
        uow.commit()
    return page_of(items, limit, lambda item: item.seq)


def _detail(uow: UnitOfWork, item: QueueItem) -> QueueDetail:
    found = uow.evaluations.get(item.id)
    counts = {}
    titles = {}
    for result in json.loads(found.result)["results"] if found else ():
        statuses = [c["status"] for c in result["criteria"]]
        counts[result["policy"]["id"]] = (statuses.count("not_met"), statuses.count("unknown"))
        titles[result["policy"]["id"]] = result["policy"]["title"]
    return QueueDetail(counts=counts, titles=titles, reviews=item.reviews)
