"""Who a request asks as, for the service layer's audit rows: its principal, its request id and its channel."""

from __future__ import annotations

from flask import g

from services.audit import Caller
from services.records import Principal


def caller(channel: str = "api", *, actor: Principal | None = None, **statuses: int) -> Caller:
    """The request's caller: ``actor`` or the request's principal; ``statuses`` are the HTTP statuses this
    request answers with, by audit outcome (``success=201, replayed=200``)."""
    return Caller(channel=channel, actor=actor or g.get("principal"), request_id=g.get("request_id"),
                  statuses=statuses)
