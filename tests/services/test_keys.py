"""API keys: make, list, revoke, the first-run keys and authentication, on the in-memory unit of work."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services import keys, sessions
from services.audit import Caller
from services.errors import Invalid, NotFound
from services.records import Principal

from .conftest import START, api, principal

CLI = Caller()


def test_a_new_key_is_kept_as_its_hash_audited_and_shown_once(uow, clock):
    admin = principal(uow, "admin")
    made = keys.create_key(uow, "  Dr Grace Hopper ", "clinician", api(admin, success=201), clock=clock,
                           new_id=lambda: "k" * 16)
    assert keys.KEY_SHAPE.fullmatch(made.key)
    assert made.record.to_wire() == {"id": "k" * 16, "name": "Dr Grace Hopper", "role": "clinician",
                                     "created_at": "2026-12-01T09:30:00Z", "revoked_at": None}
    stored = uow.store.keys["k" * 16]
    assert stored.key_hash == keys.token_hash(made.key) and made.key not in repr(stored)
    row = uow.store.audit[-1]
    assert (row.action, row.subject_key_id, row.actor_key_id, row.status) == ("key.create", "k" * 16,
                                                                              admin.key_id, 201)


@pytest.mark.parametrize(("name", "role", "pointer"), [("x", "root", "/role"), ("   ", "admin", "/name"),
                                                       ("a\nb", "intake", "/name"), ("x" * 101, "admin", "/name")])
def test_a_bad_role_or_name_is_invalid_and_nothing_is_stored(uow, name, role, pointer):
    with pytest.raises(Invalid) as raised:
        keys.create_key(uow, name, role, CLI)
    assert list(raised.value.errors) == [pointer] and not uow.store.keys and not uow.store.audit


def test_keys_are_listed_oldest_first(uow, clock):
    first = keys.create_key(uow, "b", "intake", CLI, clock=clock).record
    clock.advance(seconds=1)
    second = keys.create_key(uow, "a", "admin", CLI, clock=clock).record
    assert keys.list_keys(uow) == [first, second]


def test_authentication_finds_unrevoked_keys_only_and_skips_malformed_ones(uow, clock):
    made = keys.create_key(uow, "intake system", "intake", CLI, clock=clock)
    assert keys.authenticate(uow, made.key) == Principal(made.record.id, "intake", "intake system")
    assert keys.authenticate(uow, "tms_" + "x" * 43) is None
    assert keys.authenticate(uow, "not a key") is None
    keys.revoke_key(uow, made.record.id, CLI, clock=clock)
    assert keys.authenticate(uow, made.key) is None


def test_revoking_ends_the_keys_page_sessions_and_again_changes_nothing(uow, clock):
    made = keys.create_key(uow, "Dr Revoked", "clinician", CLI, clock=clock)
    started = sessions.start_session(uow, made.key, Caller("page"), idle=timedelta(minutes=30), clock=clock)
    clock.advance(minutes=1)
    revoked = keys.revoke_key(uow, made.record.id, api(success=200, unchanged=200), clock=clock)
    assert revoked.now and revoked.record.revoked_at == (START.replace(microsecond=0) + timedelta(minutes=1))
    assert sessions.resume_session(uow, started.token, idle=timedelta(minutes=30), clock=clock) is None
    assert not uow.store.sessions
    again = keys.revoke_key(uow, made.record.id, api(success=200, unchanged=200), clock=clock)
    assert not again.now and again.record == revoked.record
    assert [(r.action, r.outcome, r.status) for r in uow.store.audit if r.action == "key.revoke"] == [
        ("key.revoke", "success", 200), ("key.revoke", "unchanged", 200)]


def test_revoking_an_unknown_key_is_not_found_and_not_audited(uow):
    with pytest.raises(NotFound) as raised:
        keys.revoke_key(uow, "0" * 16, CLI)
    assert (raised.value.what, raised.value.id) == ("API key", "0" * 16) and not uow.store.audit


def test_first_run_keys_are_made_once_one_per_role_in_one_unit_of_work(uow, clock):
    made = keys.first_run_keys(uow, CLI, clock=clock)
    assert [(m.record.role, m.record.name) for m in made] == [
        ("intake", "local intake (first run)"), ("clinician", "local clinician (first run)"),
        ("admin", "local admin (first run)")]
    assert uow.commits == 1
    assert keys.first_run_keys(uow, CLI, clock=clock) == []
    assert len(uow.store.keys) == 3 and [r.channel for r in uow.store.audit] == ["cli"] * 3


def test_no_first_run_keys_when_a_key_exists(uow):
    principal(uow, "admin")
    assert keys.first_run_keys(uow, CLI) == [] and len(uow.store.keys) == 1
