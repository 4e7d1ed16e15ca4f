"""Faults while serving: a gunicorn worker killed with SIGKILL mid-request, PostgreSQL stopped and started,
and many concurrent writers on SQLite. Each test runs the real ``python -m api serve`` and is bounded in time
(loops have deadlines, every request a timeout). Marked ``fault``; CI runs them with the rest.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks import workload
from services.evaluations import scoped_key
from storage import create_engine, migrate
from storage.tables import evaluation_policies, evaluations

from ..conftest import free_port

pytestmark = pytest.mark.fault

BODIES = [json.dumps(d, separators=(",", ":")).encode() for d in workload.generate(64)]


def _stored(database_url: str) -> dict:
    """What the database holds: evaluations by key, their result ids, policy rows per evaluation, orphans."""
    engine = create_engine(database_url)
    e, p = evaluations.c, evaluation_policies.c
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(e.id, e.idempotency_key, e.client_id, e.result)).all()
            per_evaluation = dict(conn.execute(sa.select(p.evaluation_id, sa.func.count()).group_by(p.evaluation_id))
                                  .all())
    finally:
        engine.dispose()
    return {"rows": rows, "per_evaluation": per_evaluation}


def _assert_whole(stored: dict) -> None:
    """Every evaluation has one policy row per result, every policy row has its evaluation: no partial writes."""
    ids = {row.id for row in stored["rows"]}
    assert set(stored["per_evaluation"]) <= ids, "policy rows without their evaluation"
    for row in stored["rows"]:
        assert stored["per_evaluation"].get(row.id) == len(json.loads(row.result)["results"]), row.id


# -- a worker killed with SIGKILL while 32 clients post with idempotency keys ----------------------------------

def test_killing_workers_mid_request_loses_nothing_and_stores_each_key_once(serve, database):
    """32 clients post, each with a new Idempotency-Key per submission and retrying that key until a 2xx, while
    a worker in the middle of a request is killed with SIGKILL four times. Afterwards each key's retry replays
    one evaluation (200, same id); the table holds exactly one evaluation per key and each is whole (no partial
    rows); the master has replaced the workers and the service still answers."""
    served = serve(database, env={"TMS_LOG_LEVEL": "WARNING"})
    kills, stop_killing = [], threading.Event()
    deadline = time.monotonic() + 90

    def killer():
        for _ in range(4):
            time.sleep(0.4)
            while not stop_killing.is_set() and time.monotonic() < deadline:
                victim = served.kill_a_worker_mid_request()
                if victim is not None:
                    kills.append(victim)
                    break
                time.sleep(0.01)

    def client(n: int) -> dict:
        """Submit until the killer is done (at least 3 keys); return key -> (ids answered, attempts)."""
        outcome, i = {}, 0
        while (i < 3 or killing.is_alive()) and time.monotonic() < deadline:
            key, body = f"fault-{n}-{i}", BODIES[(n * 7 + i) % len(BODIES)]
            attempts = Counter()
            while time.monotonic() < deadline:
                reply = served.request("POST", "/v1/evaluations", body, {"Idempotency-Key": key}, timeout=30)
                attempts[None if reply is None else reply.status] += 1
                if reply is not None and reply.status in (200, 201):
                    outcome[key] = (reply.json()["id"], attempts)
                    break
                time.sleep(0.05)
            i += 1
        return outcome

    killing = threading.Thread(target=killer)
    killing.start()
    with ThreadPoolExecutor(32) as pool:
        outcomes = list(pool.map(client, range(32)))
    stop_killing.set()
    killing.join()
    assert time.monotonic() < deadline, "the run did not finish in time"
    assert len(kills) == 4

    answered = {key: value for outcome in outcomes for key, value in outcome.items()}
    statuses = sum((attempts for _, attempts in answered.values()), Counter())
    assert len(answered) == sum(len(o) for o in outcomes) >= 96  # every key got its 2xx in the end
    assert set(statuses) <= {None, 200, 201, 503}, statuses  # dropped connections, never a 500
    assert statuses[None] >= 1, f"no request was interrupted by the kills: {statuses}"

    # Each client retries each of its keys once more: the one stored evaluation comes back.
    served.wait_ready(60)
    for key, (evaluation_id, _) in answered.items():
        n, i = map(int, key.split("-")[1:])
        reply = served.request("POST", "/v1/evaluations", BODIES[(n * 7 + i) % len(BODIES)],
                               {"Idempotency-Key": key})
        assert (reply.status, reply.json()["id"]) == (200, evaluation_id), (key, reply)

    stored = _stored(database)
    assert len(stored["rows"]) == len({row.idempotency_key for row in stored["rows"]}) == len(answered)
    # keys are stored bound to the sending key's client (services.evaluations.scoped_key)
    assert {row.idempotency_key: row.id for row in stored["rows"]} == {
        scoped_key(stored["rows"][0].client_id, k): v[0] for k, v in answered.items()}
    _assert_whole(stored)
    assert len(served.workers()) == 2
    assert served.request("POST", "/v1/evaluations", BODIES[0]).status == 201
    print(f"\n{len(kills)} workers killed; {len(answered)} keys; attempts by status: {dict(statuses)}")


# -- PostgreSQL stopped for a few seconds ------------------------------------------------------------------------

class Cluster:
    """A throwaway PostgreSQL cluster this test may stop and start (CI's shared server must not be stopped)."""

    def __init__(self, folder: Path):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        self.bin = bins[-1].parent if bins else (Path(shutil.which("pg_ctl")).parent if shutil.which("pg_ctl")
                                                  else None)
        self.folder, self.port = folder, free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-w", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")


@pytest.fixture
def cluster():
    folder = Path(tempfile.mkdtemp(prefix="tms-fault-pg-"))  # not under pytest's root-only folder: postgres reads it
    made = Cluster(folder)
    if made.bin is None:
        if os.environ.get("TEST_DATABASE_URL"):
            pytest.fail("TEST_DATABASE_URL is set but no PostgreSQL binaries (pg_ctl) are installed")
        pytest.skip("no PostgreSQL binaries (pg_ctl) to run a cluster this test may stop")
    made.init()
    made.start()
    engine = create_engine(made.url)
    migrate.upgrade(engine)
    engine.dispose()
    yield made
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        made._run("pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "stop")
    shutil.rmtree(folder, ignore_errors=True)


def test_postgresql_stopped_gives_503_problems_then_recovers(serve, cluster):
    """While the server is down every request is a 503 problem within seconds (never a 500, never a hang) and
    /readyz says the database is unreachable; once it is back every request succeeds, the first one included,
    and a key first tried during the outage stores its evaluation once. Then a restart between two requests:
    no request fails for the connections it left dead in the pools."""
    served = serve(cluster.url, env={"TMS_LOG_LEVEL": "WARNING"})
    for body in BODIES[:8]:  # both workers hold pooled connections
        assert served.request("POST", "/v1/evaluations", body).status == 201
    cluster.stop()
    outage_started, during = time.monotonic(), Counter()
    while time.monotonic() - outage_started < 3:
        for method, path, body, headers in (
                ("POST", "/v1/evaluations", BODIES[1], {"Idempotency-Key": "outage-key"}),
                ("POST", "/v1/evaluations", BODIES[2], {}),
                ("GET", "/v1/evaluations?limit=5", None, {}),
                ("GET", "/readyz", None, {})):
            started = time.monotonic()
            reply = served.request(method, path, body, headers, timeout=15)
            assert time.monotonic() - started < 10, f"{method} {path} took {time.monotonic() - started:.1f} s"
            assert reply is not None, f"{method} {path}: connection dropped"
            assert reply.status == 503, (method, path, reply)
            assert reply.headers["Content-Type"] == "application/problem+json"
            problem = reply.json()
            assert problem["status"] == 503 and problem["request_id"] == reply.headers["X-Request-Id"]
            if path == "/readyz":
                assert problem["checks"]["database"]["ok"] is False
                assert problem["checks"]["database"]["detail"].startswith("unreachable")
            else:
                assert reply.headers["Retry-After"] == "1"
            during[path] += 1
    assert during["/readyz"] >= 2, during
    cluster.start()
    after = Counter()
    for i in range(12):  # more than the workers' pooled connections: each must have been replaced
        reply = served.request("POST", "/v1/evaluations", BODIES[10 + i], timeout=15)
        after[reply.status] += 1
    assert after == {201: 12}, after
    assert served.request("GET", "/readyz").status == 200
    reply = served.request("POST", "/v1/evaluations", BODIES[1], {"Idempotency-Key": "outage-key"})
    assert reply.status == 201
    assert served.request("POST", "/v1/evaluations", BODIES[1], {"Idempotency-Key": "outage-key"}).status == 200
    # A restart no request saw: each worker's pooled connections are dead, and the next requests still succeed.
    cluster.stop()
    cluster.start()
    unseen = Counter(served.request("POST", "/v1/evaluations", BODIES[30 + i], timeout=15).status for i in range(12))
    assert unseen == {201: 12}, unseen
    stored = _stored(cluster.url)
    assert len(stored["rows"]) == 8 + 12 + 1 + 12
    _assert_whole(stored)
    print(f"\nduring the outage: {dict(during)}")


# -- SQLite under many concurrent writers ------------------------------------------------------------------------

def test_64_writers_on_sqlite_through_2_gthread_workers_never_see_database_is_locked(serve, tmp_path):
    """``tests/api/test_serve.py`` has 64 clients through 2 sync workers (2 writers at a time); here the
    workers run 8 threads each, so up to 16 connections contend for SQLite's write lock. The busy timeout
    must make them queue: no 503, no "database is locked", one evaluation per key."""
    url = f"sqlite:///{tmp_path / 'writers.sqlite3'}"
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    served = serve(url, threads=8)

    def client(n: int) -> Counter:
        statuses = Counter()
        for i in range(3):
            key = {"Idempotency-Key": f"writer-{n}-{i}"}
            body = BODIES[(n + i) % len(BODIES)]
            for _ in range(2):  # the second is a retry and replays
                reply = served.request("POST", "/v1/evaluations", body, key, timeout=60)
                statuses[None if reply is None else reply.status] += 1
        return statuses

    with ThreadPoolExecutor(64) as pool:
        statuses = sum(pool.map(client, range(64)), Counter())
    assert statuses == {201: 192, 200: 192}, statuses
    stored = _stored(url)
    assert len(stored["rows"]) == 192
    _assert_whole(stored)
    log = served.log()
    assert "locked" not in log and "database unavailable" not in log
