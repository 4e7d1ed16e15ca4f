"""API keys: make, list and revoke them, the first-run keys, and who a key is.

A key is ``tms_`` and 43 characters of URL-safe base64 (32 bytes from ``secrets``), shown once when it
is made; only its sha256 is kept (a key this random needs no slow hash: nobody can guess one to test
against the hash). Finding a key's principal is one indexed lookup of that hash among the unrevoked
keys, so a revocation holds from the next request on, in every worker, with no cache to go stale.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .audit import Caller
from .clock import Clock, to_second, utc_now
from .errors import ClinicalKeyRefused, Invalid, KeyNameTaken, NotFound
from .records import KeyRecord, Principal
from .unit_of_work import UnitOfWork
from .vocabulary import ROLES

KEY_PREFIX = "tms_"
KEY_SHAPE = re.compile(r"tms_[A-Za-z0-9_-]{43}")
NAME_SHAPE = re.compile(r"[^\x00-\x1f\x7f]{1,100}")
CLINICAL_ROLES = ("intake", "clinician", "technician")  # the roles whose keys read or write clinical data
FIRST_RUN_KEYS = (("intake", "local intake (first run)"), ("clinician", "local clinician (first run)"),
                  ("admin", "local admin (first run)"))


def new_key_id() -> str:
    """A new key's public id: 16 random hex digits."""
    return secrets.token_hex(8)


def token_hash(token: str) -> str:
    """How a key or a session token is kept: the sha256 (hex) of it."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class NewKey:
    record: KeyRecord
    key: str  # the key itself: shown once, kept nowhere


def authenticate(uow: UnitOfWork, key: str) -> Principal | None:
    """The principal of an unrevoked key, or ``None``; keys of the wrong shape cost no lookup."""
    if not KEY_SHAPE.fullmatch(key):
        return None
    with uow:
        return uow.keys.principal(token_hash(key))


CLIENT_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _make_key(uow: UnitOfWork, name: str, role: str, caller: Caller, clock: Clock,
              new_id: Callable[[], str], client: str | None = None) -> NewKey:
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", {"/role": ["Not a role."]},
                      title="Invalid key request")
    name = name.strip()
    if not NAME_SHAPE.fullmatch(name):
        detail = "a key's name is 1 to 100 characters without control characters"
        raise Invalid(detail, {"/name": [detail]}, title="Invalid key request")
    if client is not None and not CLIENT_SHAPE.fullmatch(client):
        detail = "a client is 1 to 64 of A-Z, a-z, 0-9 and . _ : -"
        raise Invalid(detail, {"/client": [detail]}, title="Invalid key request")
    taken = uow.keys.unrevoked_named(name)
    if taken is not None:
        raise KeyNameTaken(name, taken.id)
    now = clock()
    record = KeyRecord(id=new_id(), name=name, role=role, created_at=to_second(now), revoked_at=None)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    uow.keys.add(record, token_hash(key), client)
    uow.audit.add(caller.event("key.create", "success", now, subject_key_id=record.id))
    return NewKey(record, key)


def create_key(uow: UnitOfWork, name: str, role: str, caller: Caller, *, clock: Clock = utc_now,
               new_id: Callable[[], str] = new_key_id, clinical: bool = True, client: str | None = None) -> NewKey:
    """Make, store and audit a new key of ``role`` held by ``name``.

    ``clinical=False`` (an admin over HTTP, unless the deployment allows it): a key of a role that reads
    clinical data (``CLINICAL_ROLES``) is refused, and the attempt audited as ``denied``, so an admin key
    cannot give itself a way into the evaluations.

    :raises Invalid: an unknown role, or a name that is blank, too long or holds control characters.
    :raises ClinicalKeyRefused: ``role`` reads clinical data and ``clinical`` is false.
    :raises KeyNameTaken: an unrevoked key already has this name (compared without regard to case).

    ``client`` groups keys that act for one client (a referral partner): its intake keys read each other's
    evaluations and share Idempotency-Keys; a key without one is a client of its own.
    """
    with uow:
        if not clinical and role in CLINICAL_ROLES:
            uow.audit.add(caller.event("key.create", "denied", clock()))
            uow.commit()
            raise ClinicalKeyRefused(role)
        made = _make_key(uow, name, role, caller, clock, new_id, client)
        uow.commit()
    return made


def first_run_keys(uow: UnitOfWork, caller: Caller, *, clock: Clock = utc_now,
                   new_id: Callable[[], str] = new_key_id) -> list[NewKey]:
    """On a store that has never had a key: one key per role (``FIRST_RUN_KEYS``); otherwise none."""
    with uow:
        if uow.keys.count():
            return []
        made = [_make_key(uow, name, role, caller, clock, new_id) for role, name in FIRST_RUN_KEYS]
        uow.commit()
    return made


def list_keys(uow: UnitOfWork) -> list[KeyRecord]:
    """Every key, oldest first (never the keys themselves)."""
    with uow:
        return uow.keys.all()


@dataclass(frozen=True)
class Revoked:
    record: KeyRecord
    now: bool  # False: it was revoked before


def revoke_key(uow: UnitOfWork, key_id: str, caller: Caller, *, clock: Clock = utc_now) -> Revoked:
    """Revoke a key and end its page sessions; revoking a revoked key changes nothing (audited as ``unchanged``).

    :raises NotFound: no key has this id.
    """
    with uow:
        now = clock()
        found = uow.keys.revoke(key_id, to_second(now))
        if found is None:
            raise NotFound("API key", key_id)
        record, done = found
        uow.sessions.delete_for_key(key_id)
        uow.audit.add(caller.event("key.revoke", "success" if done else "unchanged", now, subject_key_id=key_id))
        uow.commit()
    return Revoked(record, done)
