"""Access control: API keys with one role each, checked on every ``/v1`` request.

A key is ``tms_`` and 43 characters of URL-safe base64 (32 bytes from ``secrets``), shown once when it
is made; the database keeps only its sha256 (a key this random needs no slow hash: nobody can guess
one to test against the hash). Authenticating a request is one indexed lookup of that hash among the
unrevoked keys, so a revocation holds from the next request on, in every worker, with no cache to
go stale. A view says which roles may call it with ``@requires``; a ``/v1`` view without it is
refused to everyone (fail closed), and a test checks every route has one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app, g, request

from storage.store import KeyRecord, Principal, Store

from . import audit
from .errors import Problem
from .schemas import ROLES
from .service import service

KEY_PREFIX = "tms_"
KEY_SHAPE = re.compile(r"tms_[A-Za-z0-9_-]{43}")
NAME_SHAPE = re.compile(r"[^\x00-\x1f\x7f]{1,100}")
REALM = 'Bearer realm="tms-eligibility"'


@dataclass(frozen=True)
class Access:
    """Who may call a view, and the audit action a refused attempt is recorded as."""

    roles: tuple[str, ...]
    action: str


def requires(*roles: str, action: str) -> Callable:
    """Mark a view method: only keys with one of ``roles`` may call it."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def mark(view):
        view.access = Access(tuple(roles), action)
        return view

    return mark


def access_of(view_function, method: str) -> Access | None:
    """The ``Access`` of the method that answers ``method`` on a view (``None``: unmarked or no such method)."""
    cls = getattr(view_function, "view_class", None)
    handler = view_function
    if cls is not None:
        handler = getattr(cls, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(cls, "get", None)
    return getattr(handler, "access", None)


# -- keys -----------------------------------------------------------------------------------------------

def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_SHAPE.fullmatch(name):
        raise ValueError("a key's name is 1 to 100 characters without control characters")
    return name


def create_key(store: Store, name: str, role: str, *, channel: str, actor: Principal | None = None,
               status: int | None = None) -> tuple[KeyRecord, str]:
    """Make, store and audit a new key; return its record and the key itself (the only time it exists)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    record = KeyRecord(id=secrets.token_hex(8), name=check_name(name), role=role,
                       created_at=datetime.now(UTC).replace(microsecond=0), revoked_at=None)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    store.add_key(record, key_hash(key), audit.event("key.create", status=status, channel=channel, actor=actor))
    return record, key


def revoke_key(store: Store, key_id: str, *, channel: str, actor: Principal | None = None,
               status: int | None = None) -> tuple[KeyRecord, bool] | None:
    return store.revoke_key(key_id, datetime.now(UTC).replace(microsecond=0),
                            audit.event("key.revoke", status=status, channel=channel, actor=actor))


def principal_for(store: Store, key: str) -> Principal | None:
    """The principal of an unrevoked key, or ``None``; keys of the wrong shape cost no lookup."""
    return store.principal(key_hash(key)) if KEY_SHAPE.fullmatch(key) else None


# -- the check on every /v1 request ---------------------------------------------------------------------

def _unauthorized(detail: str, error: str | None = None) -> Problem:
    challenge = REALM + (f', error="{error}"' if error else "")
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


def bearer_principal(store: Store) -> Principal:
    """The principal of the request's ``Authorization: Bearer`` key; raise a 401 problem without one."""
    header = request.headers.get("Authorization")
    if not header:
        raise _unauthorized("Send an API key: Authorization: Bearer <key>.")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise _unauthorized("Send the API key as Authorization: Bearer <key>.", "invalid_request")
    principal = principal_for(store, key.strip())
    if principal is None:
        raise _unauthorized("The API key is unknown or revoked.", "invalid_token")
    return principal


def forbidden(principal: Principal, allowed: tuple[str, ...], action: str, store: Store, channel: str) -> Problem:
    """Audit a refused attempt and return the 403 problem to raise."""
    store.audit(audit.event(action, "denied", 403, channel=channel, actor=principal))
    return Problem(403, f"This needs a key with the role {' or '.join(allowed)}; this key's role is "
                        f"{principal.role}.")


def _authorize() -> None:
    if not (request.path.startswith("/v1/") or request.path == "/v1"):
        return
    if request.routing_exception is not None or request.endpoint is None:
        return  # 404 and 405 answer as they would for anyone: the routes are public in /openapi.json
    view = current_app.view_functions[request.endpoint]
    access = access_of(view, request.method)
    if access is None:
        if request.method == "OPTIONS":
            return  # Flask's automatic answer: the allowed methods, nothing else
        raise RuntimeError(f"{request.endpoint} {request.method} has no @requires: refused to everyone")
    store = service().store
    principal = g.principal = bearer_principal(store)
    if principal.role not in access.roles:
        raise forbidden(principal, access.roles, access.action, store, "api")


def init_app(app: Flask) -> None:
    app.before_request(_authorize)
