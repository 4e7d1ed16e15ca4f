"""Idempotency-Key: a retry gets the first evaluation, a reused key with another body is refused."""

from __future__ import annotations

import threading

from storage.repositories import SqlEvaluations

from .conftest import assert_problem, authorised, example, issue_key, post, rows


def test_same_key_and_body_replays_the_first_evaluation_and_stores_nothing_new(app, client):
    first = post(client, example("classic-trd"), **{"Idempotency-Key": "order-1"})
    again = post(client, example("classic-trd"), **{"Idempotency-Key": "order-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_data() == first.get_data()
    assert again.headers["Location"] == first.headers["Location"]
    assert rows(app)["evaluations"] == 1


def test_same_key_with_another_body_is_422_and_stores_nothing(app, client):
    post(client, example("classic-trd"), **{"Idempotency-Key": "order-2"})
    body = assert_problem(post(client, example("aneurysm-clip"), **{"Idempotency-Key": "order-2"}), 422)
    assert body["type"].endswith("/idempotency-key-reused") and "" in body["errors"]
    assert rows(app)["evaluations"] == 1


def test_different_keys_store_separate_evaluations(app, client):
    a = post(client, example("classic-trd"), **{"Idempotency-Key": "a"}).get_json()["id"]
    b = post(client, example("classic-trd"), **{"Idempotency-Key": "b"}).get_json()["id"]
    assert a != b and rows(app)["evaluations"] == 2


def test_an_invalid_submission_does_not_claim_its_key(app, client):
    assert post(client, example("invalid"), **{"Idempotency-Key": "k"}).status_code == 422
    assert post(client, example("classic-trd"), **{"Idempotency-Key": "k"}).status_code == 201


def test_concurrent_requests_with_one_key_store_one_evaluation_and_all_get_it(app, monkeypatch):
    """Many threads race past the key lookup; the unique constraint settles it and the losers replay."""
    real_by_key, barrier = SqlEvaluations.by_key, threading.Barrier(8)
    passed_lookup = threading.local()

    def slow_first_lookup(self, key):
        if not getattr(passed_lookup, "done", False):  # every thread misses the key at first...
            passed_lookup.done = True
            barrier.wait(timeout=10)  # ...and they all go on to evaluate and insert together
            return None
        return real_by_key(self, key)

    monkeypatch.setattr(SqlEvaluations, "by_key", slow_first_lookup)
    results = []
    key = issue_key(app, "intake")

    def send():
        response = post(authorised(app, "intake", key), example("classic-trd"), **{"Idempotency-Key": "race"})
        results.append((response.status_code, response.get_data()))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] * 7 + [201]
    assert len({body for _, body in results}) == 1
    assert rows(app)["evaluations"] == 1
