"""Review-page sessions: sign in with a key, find the session of a request, sign out.

The page's cookie holds a random token; the store keeps its hash, the signed-in key and the session's
CSRF token. Finding a session is one lookup of that hash joined to an unrevoked key, so revoking the
key or signing out ends it at once. A session slides: it ends after ``idle`` without use, and is
extended at most once per half ``idle``, never past ``lifetime`` after sign-in (its absolute end, used or not).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .audit import Caller
from .clock import Clock, utc_now
from .errors import Forbidden, NotAuthenticated
from .keys import KEY_SHAPE, token_hash
from .records import Principal, SessionRecord
from .unit_of_work import UnitOfWork

PAGE_ROLES = ("clinician",)
LONGEST_TOKEN = 100  # characters; a cookie value longer than this is not one of ours
LIFETIME = timedelta(hours=12)  # the longest a session lasts, however busy


@dataclass(frozen=True)
class Started:
    token: str  # for the cookie: the store keeps only its hash
    principal: Principal
    csrf_token: str
    expires_at: datetime


def start_session(uow: UnitOfWork, key: str, caller: Caller, *, idle: timedelta, clock: Clock = utc_now,
                  roles: tuple[str, ...] = PAGE_ROLES, lifetime: timedelta = LIFETIME) -> Started:
    """Sign in with ``key``: a new session (expired ones are swept first), audited.

    :raises NotAuthenticated: the key is unknown or revoked.
    :raises Forbidden: the key's role is not one of ``roles``; the attempt is audited as ``denied``.
    """
    with uow:
        principal = uow.keys.principal(token_hash(key)) if KEY_SHAPE.fullmatch(key) else None
        if principal is None:
            raise NotAuthenticated()
        caller, now = replace(caller, actor=principal), clock()
        if principal.role not in roles:
            uow.audit.add(caller.event("session.start", "denied", now))
            uow.commit()
            raise Forbidden(principal.role, roles)
        token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        uow.sessions.delete_expired(now)
        expires_at = now + min(idle, lifetime)
        uow.sessions.add(token_hash(token), principal.key_id, csrf_token, now, expires_at)
        uow.audit.add(caller.event("session.start", "success", now))
        uow.commit()
    return Started(token, principal, csrf_token, expires_at)


def resume_session(uow: UnitOfWork, token: str | None, *, idle: timedelta, clock: Clock = utc_now,
                   lifetime: timedelta = LIFETIME) -> SessionRecord | None:
    """The live session of ``token`` (``None``: none, expired, past its ``lifetime``, or its key revoked),
    extended when half its idle time has passed, never past ``lifetime`` after sign-in."""
    if not token or len(token) > LONGEST_TOKEN:
        return None
    now = clock()
    with uow:
        found = uow.sessions.live(token_hash(token), now)
        if found is None:
            return None
        end = found.created_at + lifetime
        if now >= end:
            return None  # a session made before the lifetime was kept may still say it lasts longer
        if found.expires_at - now < idle / 2 and found.expires_at < end:
            uow.sessions.extend(token_hash(token), min(now + idle, end))
            uow.commit()
    return found


def end_session(uow: UnitOfWork, token: str, caller: Caller, *, clock: Clock = utc_now) -> None:
    """Sign out: the session ends at once, audited."""
    with uow:
        uow.sessions.delete(token_hash(token))
        uow.audit.add(caller.event("session.end", "success", clock()))
        uow.commit()
