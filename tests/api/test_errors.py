"""Every error is a problem response, nothing is stored for one, and no client input reaches a 500."""

from __future__ import annotations

import gzip
import json

import pytest

from eligibility import EngineError, Library
from services.errors import DatabaseUnavailable

from .conftest import assert_problem, authorised, example, post, rows


def test_invalid_example_lists_all_five_problems_by_pointer(app, client):
    body = assert_problem(post(client, example("invalid")), 422)
    assert sorted(body["errors"]) == ["/diagnoses/0/code", "/favourite_colour", "/medication_trials/0/dose",
                                      "/patient/age", "/scales/0/score"]
    assert body["instance"] == "/v1/evaluations"
    assert rows(app)["evaluations"] == 0


@pytest.mark.parametrize(("document", "pointer"), [
    ({"patient": {}, "policies": ["tms-clinical", "tms-clinical"]}, "/policies/1"),
    ({"patient": {}, "policies": ["no-such-policy"]}, "/policies/0"),
    ({"patient": {"birth_date": "2000-01-01", "age": 40}, "as_of": "2026-01-01"}, "/patient/age"),
    ({"patient": {}, "as_of": "2026-01-01", "current_episode": {"onset": "2026-02-01"}}, "/current_episode/onset"),
    ({"patient": {}, "medication_trials": [{"drug": "sertraline", "start_date": "2026-02-01",
                                            "end_date": "2026-01-01"}]}, "/medication_trials/0/end_date"),
    ({"patient": {}, "scales": [{"instrument": "madrs", "score": 61, "date": "2026-01-01"}]}, "/scales/0/score"),
    ({"patient": {}, "diagnoses": [{"code": "F33.2"}] * 51}, "/diagnoses"),
    ({}, "/patient"),
    ([], ""),
    ({"patient": {}, "scales": [{"instrument": "phq-9", "score": 10 ** 400, "date": "2026-01-01"}]}, "/scales/0/score"),
    ({"patient": {}, "medication_trials": [{"drug": "sertraline", "daily_dose_mg": -(10 ** 400)}]},
     "/medication_trials/0/daily_dose_mg"),
])
def test_contract_violations_are_422_keyed_by_pointer(app, client, document, pointer):
    body = assert_problem(post(client, document), 422)
    assert pointer in body["errors"]
    assert rows(app)["evaluations"] == 0


@pytest.mark.parametrize(("body", "headers", "status"), [
    (b"", {}, 400),
    (b"   ", {}, 400),
    (b"{", {}, 400),
    (b'{"patient": {}} trailing', {}, 400),
    (b'{"patient": {}, "patient": {}}', {}, 400),
    (b'{"patient": {"age": NaN}}', {}, 400),
    (b'{"patient": {"age": Infinity}}', {}, 400),
    (b'{"patient": {}, "reference": "\xff\xfe"}', {}, 400),
    (b'\xef\xbb\xbf{"patient": {}}', {}, 400),
    (b'{"patient": {}, "reference": "a\\u0000b"}', {}, 400),
    (b'{"patient": {}, "reference": "\\ud800"}', {}, 400),
    (b'{"patient": {}, "\\udfff": 1}', {}, 400),
    (b"[" * 100_000 + b"]" * 100_000, {}, 400),
    (gzip.compress(b'{"patient": {}}'), {"Content-Encoding": "gzip"}, 415),
])
def test_malformed_bodies_are_4xx_problems_and_store_nothing(app, client, body, headers, status):
    assert_problem(client.post("/v1/evaluations", data=body, content_type="application/json", headers=headers),
                   status)
    assert rows(app)["evaluations"] == 0


def test_a_paired_surrogate_escape_is_fine(client):
    assert post(client, b'{"patient": {}, "reference": "\\ud83d\\ude00"}').status_code == 201


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "application/json; charset=latin-1", "application/merge-patch+json"])
def test_other_media_types_are_415(app, client, content_type):
    kwargs = {"content_type": content_type} if content_type else {}
    assert_problem(client.post("/v1/evaluations", data=b'{"patient": {}}', **kwargs), 415)
    assert rows(app)["evaluations"] == 0


def test_json_with_a_utf8_charset_is_accepted(client):
    response = client.post("/v1/evaluations", data=b'{"patient": {}}', content_type="application/json; charset=UTF-8")
    assert response.status_code == 201


def test_a_body_over_the_limit_is_413(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    client = authorised(app, "intake")
    big = json.dumps({"patient": {}, "reference": "x" * 2000})
    body = assert_problem(post(client, big), 413)
    assert "1024" in body["detail"]
    assert rows(app)["evaluations"] == 0


def test_the_default_limit_is_256_kib(client):
    assert client.application.config["MAX_CONTENT_LENGTH"] == 256 * 1024
    assert_problem(post(client, json.dumps({"patient": {}, "reference": "x" * (256 * 1024)})), 413)


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/nowhere", 404), ("GET", "/v1/evaluations/", 404), ("DELETE", "/v1/evaluations", 405),
    ("PUT", "/v1/policies", 405), ("POST", "/healthz", 405), ("PATCH", "/v1/evaluations/" + "a" * 32, 405),
    ("GET", "/static/nothing.js", 404),
])
def test_routing_errors_are_problems_never_html(client, method, path, status):
    body = assert_problem(client.open(path, method=method), status)
    assert body["instance"] == path


def test_405_names_the_allowed_methods(client):
    assert set(client.delete("/v1/evaluations").headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_a_bad_idempotency_key_is_400(client):
    assert_problem(post(client, example("classic-trd"), **{"Idempotency-Key": "ä" * 3}), 400)
    assert_problem(post(client, example("classic-trd"), **{"Idempotency-Key": "k" * 256}), 400)


def test_an_engine_failure_is_a_500_problem_and_stores_nothing(app, client, monkeypatch):
    def fail(self, submission):
        raise EngineError("tms-clinical@1.0.0: no rule decided criterion 'x'")

    monkeypatch.setattr(Library, "evaluate", fail)
    body = assert_problem(post(client, example("classic-trd")), 500)
    assert body["type"].endswith("/engine-failure")
    assert rows(app)["evaluations"] == 0


def test_an_unexpected_exception_is_a_500_problem(client, monkeypatch):
    monkeypatch.setattr(Library, "evaluate", lambda self, submission: 1 / 0)
    assert_problem(post(client, example("classic-trd")), 500)


def test_a_crash_between_the_two_inserts_leaves_no_partial_row(app, client, monkeypatch):
    database = app.extensions["tms-eligibility"].database

    class Exploding:  # the per-policy insert, which runs after the evaluation row was written
        sql = "never run"

        def params(self, values):
            raise RuntimeError("crash after the evaluation row was written")

    monkeypatch.setitem(database._inserts, "evaluation_policies", Exploding())
    assert_problem(post(client, example("classic-trd")), 500)
    monkeypatch.undo()
    assert rows(app) == {"evaluations": 0, "evaluation_policies": 0}


def test_an_unreachable_database_is_a_503_problem(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}")
    client = app.test_client()  # a well-formed key: checking it needs the database, which is not there
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer tms_" + "A" * 43
    body = assert_problem(post(client, example("classic-trd")), 503)
    assert client.post("/v1/evaluations", data=example("classic-trd"),
                       content_type="application/json").headers["Retry-After"] == "1"
    assert "nothing was stored" in body["detail"]
    assert_problem(client.get("/v1/evaluations/" + "0" * 32), 503)
    assert_problem(client.get("/readyz"), 503)


def test_a_database_error_maps_to_database_unavailable(monkeypatch, app):
    import sqlalchemy as sa

    state = app.extensions["tms-eligibility"]

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(state.database.engine, "connect", broken)
    with pytest.raises(DatabaseUnavailable), state.unit_of_work() as uow:
        uow.evaluations.by_key("k")
