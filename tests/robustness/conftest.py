"""Fixtures for the robustness tests: the API suite's databases and apps, and a served gunicorn.

The ``database``, ``make_app``, ``app`` and ``client`` fixtures are the API suite's own (every test that uses
them runs on SQLite and on PostgreSQL; ``client`` sends an intake key). ``serve`` starts the service on a
migrated database, makes an API key of a role there and sends it as ``Authorization: Bearer`` with every
request.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import (  # noqa: F401  (fixtures, re-exported for this folder)
    app,
    client,
    database,
    make_app,
    postgres_admin_url,
    postgres_url,
)

from .serving import Served, issue_key


@pytest.fixture
def serve(tmp_path):
    """Start ``python -m api serve`` (gunicorn) on a migrated ``database_url`` with some settings, its requests
    sent with a new key of ``role``; stop it after the test."""
    started = []

    def start(database_url: str, role: str = "intake", **settings) -> Served:
        auth_headers = {"Authorization": f"Bearer {issue_key(database_url, role)}"}
        served = Served(database_url, tmp_path / f"server-{len(started)}", auth_headers, **settings)
        started.append(served)
        served.start()
        return served

    yield start
    for served in started:
        served.stop()
