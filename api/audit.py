"""The audit trail: one append-only row per access to evaluations, review, key change and refusal.

A row holds ids only: time, action, outcome, channel (``api``, ``page``, ``cli``), the actor's key id
and role, the evaluation id and review number, the key created or revoked, the evaluation's policy
ids, versions and digests, the request id and the HTTP status. Never a submission, a name, a date of
birth or the review's reason. Rows ride in the transaction of what they record where there is one
(creating, reading and reviewing an evaluation; creating and revoking a key), so an action and its
audit row are stored together or not at all. No code here or in ``storage`` updates or deletes
an audit row, and the database's triggers refuse it (migration 0002).

What is recorded: ``evaluation.create`` (``success``; ``replayed`` for an Idempotency-Key repeat),
``evaluation.read``, ``evaluation.list`` (the queue), ``evaluation.review``, ``key.create``,
``key.revoke`` (``unchanged`` when already revoked), ``audit.read``, ``audit.export``,
``session.start`` and ``session.end`` (the review page), and any of them with ``denied`` when a valid
key of the wrong role tried it (403). Requests without a valid key (401) are in the request log only:
recording them would let anyone fill the table.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, has_request_context

ACTIONS = ("evaluation.create", "evaluation.read", "evaluation.list", "evaluation.review", "key.create",
           "key.list", "key.revoke", "audit.read", "audit.export", "policy.read", "session.start",
           "session.end")
OUTCOMES = ("success", "replayed", "unchanged", "denied")
CHANNELS = ("api", "page", "cli")
COLUMNS = ("seq", "recorded_at", "action", "outcome", "channel", "actor_key_id", "actor_role", "evaluation_id",
           "review_number", "subject_key_id", "policies", "request_id", "status")


def event(action: str, outcome: str = "success", status: int | None = None, *, channel: str = "api",
          actor=None, **ids) -> dict:
    """An audit row to insert. ``actor`` defaults to the request's principal; ``ids`` are other columns."""
    if actor is None and has_request_context():
        actor = g.get("principal")
    return {"recorded_at": datetime.now(UTC), "action": action, "outcome": outcome, "channel": channel,
            "actor_key_id": actor.key_id if actor else None, "actor_role": actor.role if actor else None,
            "evaluation_id": None, "review_number": None, "subject_key_id": None, "policies": None,
            "request_id": g.get("request_id") if has_request_context() else None, "status": status, **ids}


def wire(row: dict) -> dict:
    """An audit row as ``GET /v1/audit`` and ``audit export`` show it."""
    out = {column: row[column] for column in COLUMNS}
    out["recorded_at"] = row["recorded_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return out
