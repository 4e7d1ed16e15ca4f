"""Fixtures for the robustness tests: the API suite's databases and apps, an optional API key, a served gunicorn.

The ``database``, ``make_app``, ``app`` and ``client`` fixtures are the API suite's own (every test that uses
them runs on SQLite and on PostgreSQL). ``auth_headers`` is what every client here sends: an
``Authorization: Bearer`` header when ``$TMS_API_KEY`` is set, else nothing.
"""

from __future__ import annotations

import os

import pytest

from tests.api.conftest import (  # noqa: F401  (fixtures, re-exported for this folder)
    app,
    client,
    database,
    make_app,
    postgres_admin_url,
    postgres_url,
)

from .serving import Served


@pytest.fixture(scope="session")
def auth_headers() -> dict[str, str]:
    """The headers that authenticate a client: ``Authorization: Bearer $TMS_API_KEY`` when it is set."""
    key = os.environ.get("TMS_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


@pytest.fixture
def serve(tmp_path, auth_headers):
    """Start ``python -m api serve`` (gunicorn) on ``database_url`` with some settings; stop it after the test."""
    started = []

    def start(database_url: str, **settings) -> Served:
        served = Served(database_url, tmp_path / f"server-{len(started)}", auth_headers, **settings)
        started.append(served)
        served.start()
        return served

    yield start
    for served in started:
        served.stop()
