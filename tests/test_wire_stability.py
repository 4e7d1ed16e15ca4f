"""The wire bytes do not drift: today's answers and answers stored in the past stay byte for byte.

``fixtures/golden-results.json`` holds the SHA-256 of every shared example's and policy case's result
under the policy version named in its key, as recorded by ``fixtures/make_golden.py``; a change of
any answer fails here until the file is recorded again on purpose. ``fixtures/stored-2026-12-01.sql``
is a database written by the service of that day; loaded and migrated to head, GET must still answer
the bytes it answered then.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from api import create_app
from services import keys
from services.audit import Caller
from storage import migrate

from .fixtures.make_golden import FIXED_ID, FIXED_TIME, dumps, evaluate_document, submissions
from .support import shared_library

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = json.loads((FIXTURES / "golden-results.json").read_text())


def _golden_cases():
    library = shared_library()
    return [pytest.param(name, pid, version, doc, id=f"{pid}@{version} {name}")
            for name, pid, version, doc in submissions(library)]


@pytest.mark.parametrize(("name", "policy_id", "version", "document"), _golden_cases())
def test_answers_are_the_recorded_bytes(name, policy_id, version, document):
    key = f"{policy_id}@{version} {name}"
    if key not in GOLDEN:
        pytest.skip(f"{key} was added after the answers were recorded")
    body = dumps(evaluate_document(shared_library(), document, FIXED_ID, FIXED_TIME, version))
    assert hashlib.sha256(body).hexdigest() == GOLDEN[key]


def test_every_recorded_answer_is_still_produced():
    produced = {f"{pid}@{version} {name}" for name, pid, version, _ in submissions(shared_library())}
    assert set(GOLDEN) <= produced, sorted(set(GOLDEN) - produced)[:5]


def test_evaluations_stored_in_the_past_are_answered_byte_for_byte(tmp_path):
    path = tmp_path / "stored.sqlite3"
    connection = sqlite3.connect(path)
    connection.executescript((FIXTURES / "stored-2026-12-01.sql").read_text())
    connection.close()
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "TESTING": True})
    state = app.extensions["tms-eligibility"]
    migrate.upgrade(state.database.engine)
    try:
        key = keys.create_key(state.unit_of_work(), "replay reader", "clinician", Caller()).key
        client = app.test_client()
        bodies = json.loads((FIXTURES / "stored-2026-12-01-bodies.json").read_text())
        for evaluation_id, body in bodies.items():
            response = client.get(f"/v1/evaluations/{evaluation_id}", headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200
            assert response.get_data(as_text=True) == body, evaluation_id
    finally:
        state.database.dispose()
