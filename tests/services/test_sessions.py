"""Review-page sessions: sign in, find the session of a request (sliding), sign out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services import keys, sessions
from services.audit import Caller
from services.errors import Forbidden, NotAuthenticated

IDLE = timedelta(minutes=30)
PAGE = Caller(channel="page", request_id="req-page", statuses={"denied": 403})


def test_a_clinician_signs_in_uses_the_session_and_signs_out(uow, clock):
    made = keys.create_key(uow, "Dr Page", "clinician", Caller(), clock=clock)
    started = sessions.start_session(uow, made.key, PAGE, idle=IDLE, clock=clock)
    assert started.principal.key_id == made.record.id and started.expires_at == clock() + IDLE
    assert started.token not in repr(uow.store.sessions)
    found = sessions.resume_session(uow, started.token, idle=IDLE, clock=clock)
    assert (found.principal, found.csrf_token) == (started.principal, started.csrf_token)
    sessions.end_session(uow, started.token, Caller("page", actor=started.principal), clock=clock)
    assert sessions.resume_session(uow, started.token, idle=IDLE, clock=clock) is None
    assert [(r.action, r.outcome, r.actor_key_id, r.channel) for r in uow.store.audit[1:]] == [
        ("session.start", "success", made.record.id, "page"), ("session.end", "success", made.record.id, "page")]


def test_a_session_slides_at_most_once_per_half_idle_period_and_ends_when_idle(uow, clock):
    made = keys.create_key(uow, "Dr Idle", "clinician", Caller(), clock=clock)
    started = sessions.start_session(uow, made.key, PAGE, idle=IDLE, clock=clock)
    commits = uow.commits
    clock.advance(minutes=10)
    assert sessions.resume_session(uow, started.token, idle=IDLE, clock=clock).expires_at == started.expires_at
    assert uow.commits == commits  # not yet half the idle time: nothing written
    clock.advance(minutes=10)
    sessions.resume_session(uow, started.token, idle=IDLE, clock=clock)
    assert sessions.resume_session(uow, started.token, idle=IDLE, clock=clock).expires_at == clock() + IDLE
    clock.advance(minutes=31)
    assert sessions.resume_session(uow, started.token, idle=IDLE, clock=clock) is None


def test_signing_in_sweeps_expired_sessions(uow, clock):
    made = keys.create_key(uow, "Dr Sweep", "clinician", Caller(), clock=clock)
    sessions.start_session(uow, made.key, PAGE, idle=IDLE, clock=clock)
    clock.advance(hours=1)
    sessions.start_session(uow, made.key, PAGE, idle=IDLE, clock=clock)
    assert len(uow.store.sessions) == 1


def test_an_unknown_key_is_refused_and_not_audited(uow, clock):
    for key in ("tms_" + "a" * 43, "", "x" * 500):
        with pytest.raises(NotAuthenticated):
            sessions.start_session(uow, key, PAGE, idle=IDLE, clock=clock)
    assert not uow.store.audit and not uow.store.sessions


def test_a_key_of_another_role_is_refused_and_the_attempt_audited(uow, clock):
    made = keys.create_key(uow, "intake system", "intake", Caller(), clock=clock)
    with pytest.raises(Forbidden) as raised:
        sessions.start_session(uow, made.key, PAGE, idle=IDLE, clock=clock)
    assert (raised.value.role, raised.value.allowed) == ("intake", ("clinician",))
    row = uow.store.audit[-1]
    assert (row.action, row.outcome, row.actor_key_id, row.status, row.channel, row.request_id) == (
        "session.start", "denied", made.record.id, 403, "page", "req-page")
    assert not uow.store.sessions


@pytest.mark.parametrize("token", [None, "", "x" * 101])
def test_no_cookie_or_an_overlong_one_costs_no_lookup(uow, store, token):
    store.available = False  # any lookup would raise
    assert sessions.resume_session(uow, token, idle=IDLE) is None


def test_a_busy_session_still_ends_at_its_absolute_lifetime(uow, clock):
    made = keys.create_key(uow, "Dr Busy", "clinician", Caller(), clock=clock)
    signed_in = clock()
    started = sessions.start_session(uow, made.key, PAGE, idle=IDLE, clock=clock, lifetime=timedelta(hours=12))
    for _ in range(71):  # used every 10 minutes, never idle: 11 h 50 min
        clock.advance(minutes=10)
        found = sessions.resume_session(uow, started.token, idle=IDLE, clock=clock, lifetime=timedelta(hours=12))
        assert found is not None and found.expires_at <= signed_in + timedelta(hours=12)
    clock.advance(minutes=10)
    assert sessions.resume_session(uow, started.token, idle=IDLE, clock=clock, lifetime=timedelta(hours=12)) is None


def test_a_lifetime_shorter_than_the_idle_time_bounds_the_first_expiry(uow, clock):
    made = keys.create_key(uow, "Dr Short", "clinician", Caller(), clock=clock)
    started = sessions.start_session(uow, made.key, PAGE, idle=IDLE, clock=clock, lifetime=timedelta(minutes=5))
    assert started.expires_at == clock() + timedelta(minutes=5)
    clock.advance(minutes=5)
    assert sessions.resume_session(uow, started.token, idle=IDLE, clock=clock,
                                   lifetime=timedelta(minutes=5)) is None
