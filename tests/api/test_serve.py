"""The real thing: ``tms-eligibility serve`` under gunicorn, driven over HTTP, on each database."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage import create_engine
from storage.tables import evaluations

from .conftest import EXPECTED, example, first_run_keys, http, serving

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(database, tmp_path):
    """A served API on a fresh database; yields its base URL, its log and the first-run keys by role."""
    with serving(database, tmp_path) as (base, log):
        keys = first_run_keys(log)
        assert set(keys) == {"intake", "clinician", "admin"}, log.read_text()
        yield base, log, keys


def test_served_examples_answer_as_documented_and_read_back_byte_for_byte(server):
    base, _, keys = server
    intake = {"Authorization": keys["intake"]}
    for name, determination in EXPECTED.items():
        status, headers, body = http(base, "POST", "/v1/evaluations", example(name), intake)
        assert status == 201
        assert [r["determination"] for r in json.loads(body)["results"]] == [determination]
        assert http(base, "GET", headers["Location"], headers=intake)[2] == body
    status, headers, body = http(base, "POST", "/v1/evaluations", example("invalid"), intake)
    assert (status, headers["Content-Type"]) == (422, "application/problem+json")
    assert len(json.loads(body)["errors"]) == 5


def test_64_concurrent_writers_through_2_workers_all_succeed(server, database):
    """No "database is locked", no 5xx: each of 64 clients posts 3 times, each with its own key, plus a retry."""
    base, log, keys = server
    body = example("incomplete-referral")

    def client(n: int):
        statuses = []
        for i in range(3):
            key = {"Idempotency-Key": f"client-{n}-{i}", "Authorization": keys["intake"]}
            statuses.append(http(base, "POST", "/v1/evaluations", body, key)[0])
            statuses.append(http(base, "POST", "/v1/evaluations", body, key)[0])  # the retry replays
        return statuses

    with ThreadPoolExecutor(64) as pool:
        statuses = [s for result in pool.map(client, range(64)) for s in result]
    assert sorted(set(statuses)) == [200, 201] and statuses.count(201) == 192 and statuses.count(200) == 192
    engine = create_engine(database)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(evaluations)).scalar() == 192
    engine.dispose()
    assert "locked" not in log.read_text()


def test_first_run_keys_reviews_and_the_audit_survive_a_restart_of_the_server(database, tmp_path):
    """The README's run command on a fresh database makes one key per role (in a file, not the log); a restart
    makes none and every key, review and audit row is still there."""
    with serving(database, tmp_path, "first.log") as (base, log):
        keys = first_run_keys(log)
        assert set(keys) == {"intake", "clinician", "admin"}
        status, headers, _ = http(base, "POST", "/v1/evaluations", example("classic-trd"),
                                     {"Authorization": keys["intake"]})
        assert status == 201
        review = json.dumps({"decision": "override", "determination": "insufficient_information",
                             "reason": "Restart canary"}).encode()
        assert http(base, "POST", headers["Location"] + "/review", review,
                       {"Authorization": keys["clinician"]})[0] == 201
        before = json.loads(http(base, "GET", "/v1/audit?limit=500", headers={"Authorization": keys["admin"]})[2])
    with serving(database, tmp_path, "second.log") as (base, log):
        assert first_run_keys(log) == {} and "No API key existed" not in log.read_text()
        status, _, body = http(base, "GET", headers["Location"], headers={"Authorization": keys["intake"]})
        assert status == 200 and json.loads(body)["review"]["reason"] == "Restart canary"
        after = json.loads(http(base, "GET", "/v1/audit?limit=500", headers={"Authorization": keys["admin"]})[2])
        assert after["items"][-len(before["items"]):] == before["items"]
        assert http(base, "GET", "/v1/evaluations", headers={"Authorization": keys["intake"]})[0] == 403
        assert http(base, "GET", "/v1/evaluations")[0] == 401
    assert "Restart canary" not in (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
