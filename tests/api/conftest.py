"""Fixtures for the HTTP API: an app per test on each database, and a client that checks the OpenAPI document.

The ``database`` fixture is parametrised: every test that uses it runs on SQLite (a fresh file) and on
PostgreSQL (``$TEST_DATABASE_URL``; a throwaway database made for the session, emptied between tests).
PostgreSQL tests skip, saying why, only when no server is reachable there.

Every ``/v1`` endpoint needs an API key: ``client`` sends an intake key, ``clinician`` and ``admin``
send keys of those roles, and ``authorised(app, role)`` makes a client for any role.

The helpers the API tests share are here too: ``post`` and ``review`` send a submission and a review,
``assert_problem`` checks a problem response, ``rows`` counts rows, and ``serving`` runs the service under
gunicorn (``http`` talks to it, ``first_run_keys`` reads the keys it printed).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from werkzeug.datastructures import Headers  # names compared without regard to case, as HTTP does

import eligibility
from api import create_app
from eligibility.library import DEFAULT_POLICIES
from services import keys
from services.audit import Caller
from services.errors import KeyNameTaken
from services.records import Principal
from storage import create_engine, migrate
from storage.tables import APPEND_ONLY, metadata

from ..conftest import free_port
from ..support import EXAMPLES
from .cds_support import ISSUER, Ehr

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def example(name: str) -> bytes:
    return (EXAMPLES / f"{name}.json").read_bytes()


@pytest.fixture(scope="session")
def postgres_admin_url():
    """A reachable PostgreSQL server's URL, or ``None`` with the reason.

    With ``$TEST_DATABASE_URL`` set (as CI does), an unreachable server fails the tests instead: a
    configured database that does not answer is a broken set-up, not a reason to skip.
    """
    configured = os.environ.get("TEST_DATABASE_URL")
    url = configured or DEFAULT_PG
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        where = sa.make_url(url).render_as_string()
        if configured:
            pytest.fail(f"TEST_DATABASE_URL={where} does not answer: {exc.orig}")
        return None, f"no PostgreSQL server at {where}; set TEST_DATABASE_URL to test on PostgreSQL"
    finally:
        engine.dispose()
    return url, None


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url):
    """A fresh, migrated database on the PostgreSQL server, dropped after the session."""
    admin_url, reason = postgres_admin_url
    if admin_url is None:
        yield None, reason
        return
    name = f"tms_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url, None
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """The URL of an empty, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    url, reason = request.getfixturevalue("postgres_url")
    if url is None:
        pytest.skip(reason)
    yield url
    engine = create_engine(url)
    with engine.begin() as conn:  # the append-only tables refuse TRUNCATE: their owner lifts that, for this only
        for table in APPEND_ONLY:
            conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        conn.execute(sa.text("TRUNCATE " + ", ".join(t.name for t in metadata.sorted_tables) + " CASCADE"))
        for table in APPEND_ONLY:
            conn.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    engine.dispose()


_LOAD_LIBRARY = eligibility.load_library
_LIBRARIES: dict = {}


def _shared_library(directory=None, default_policies=DEFAULT_POLICIES):
    """``eligibility.load_library``, once per rules folder and default policies for the whole test session.

    Loading every policy version and registering its ruleset takes about half a second, and the API suite
    builds well over a thousand apps; a loaded library is immutable and is shared by every request of a
    running service already, so the apps of a test session share it the same way. A folder that fails to load
    is not remembered (the refusal is raised again each time).
    """
    key = (str(directory), tuple(default_policies))
    if key not in _LIBRARIES:
        _LIBRARIES[key] = _LOAD_LIBRARY(directory, default_policies)
    return _LIBRARIES[key]


@pytest.fixture
def make_app(database, monkeypatch):
    """Build apps on the test's database (tests may add settings); dispose their engines afterwards. The apps
    share one loaded library per rules folder (``_shared_library``)."""
    monkeypatch.setattr(eligibility, "load_library", _shared_library)
    apps = []

    def make(**config):
        app = create_app({"DATABASE_URL": database, "TESTING": True, **config})
        app.test_client_class = DocumentedClient
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["tms-eligibility"].database.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture(scope="module")
def ehr():
    """An EHR of the tests: its signing keys, and the tokens it signs (``cds_support.Ehr``)."""
    return Ehr()


@pytest.fixture
def make_cds_app(make_app, tmp_path, ehr):
    """Build an app that trusts ``ehr`` and answers CDS Hooks calls with a card for each of ``policies``."""
    def make(*policies: str):
        return make_app(CDS_HOOKS_ISSUERS=json.dumps({ISSUER: ehr.write_jwks(tmp_path)}),
                        CDS_HOOKS_POLICIES=policies)
    return make


def issue_key(app, role: str, name: str | None = None) -> str:
    """A new API key of ``role`` in ``app``'s database."""
    uow = app.extensions["tms-eligibility"].unit_of_work
    for n in itertools.count(1):  # names are unique among unrevoked keys: "test clinician", "test clinician 2"
        try:
            return keys.create_key(uow(), name or f"test {role}" + (f" {n}" if n > 1 else ""), role, Caller()).key
        except KeyNameTaken:
            if name:
                raise


def principal(app, key: str) -> Principal:
    """Who ``key`` is in ``app``'s database."""
    return keys.authenticate(app.extensions["tms-eligibility"].unit_of_work(), key)


def authorised(app, role: str, key: str | None = None) -> FlaskClient:
    """A test client that sends a key of ``role`` (or ``key``) with every request."""
    client = app.test_client()
    client.key = key or issue_key(app, role)
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {client.key}"
    return client


@pytest.fixture
def client(app):
    """A client with an intake key: it may create and read evaluations and read policies."""
    return authorised(app, "intake")


@pytest.fixture
def clinician(app):
    return authorised(app, "clinician")


@pytest.fixture
def admin(app):
    return authorised(app, "admin")


def rows(app, tables=("evaluations", "evaluation_policies")) -> dict[str, int]:
    """How many rows each of ``tables`` holds (``None``: every table)."""
    with app.extensions["tms-eligibility"].database.engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in metadata.sorted_tables if tables is None or t.name in tables}


# -- every response checked against the OpenAPI document ----------------------------------------------

class Documented:
    """The service's own OpenAPI document, able to check that a response is what it says."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.registry = Registry().with_resource("urn:spec", DRAFT202012.create_resource(spec))
        self.routes = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
                       for path in spec["paths"]]

    def response_doc(self, method: str, path: str, status: int) -> tuple[str, dict] | None:
        template = next((t for rx, t in self.routes if rx.match(path)), None)
        if template is None:
            return None
        operation = self.spec["paths"][template].get(method.lower())
        if operation is None:
            return None
        responses = operation["responses"]
        doc = responses.get(str(status)) or responses.get("default")
        assert doc is not None, f"{method} {template}: {status} is not documented"
        while "$ref" in doc:
            doc = self.spec["components"]["responses"][doc["$ref"].rsplit("/", 1)[1]]
        return template, doc

    def check(self, method: str, path: str, response) -> None:
        found = self.response_doc(method, path, response.status_code)
        if found is None:  # undocumented routes (404/405 for unknown paths and methods) must still be problems
            assert response.status_code in (404, 405), (method, path, response.status_code)
            assert response.mimetype == "application/problem+json"
            self.validate(json.loads(response.get_data()), {"$ref": "#/components/schemas/Problem"})
            return
        template, doc = found
        content = doc.get("content", {})
        assert response.mimetype in content, (f"{method} {template} {response.status_code}: {response.mimetype} "
                                              f"is not documented ({list(content)})")
        schema = content[response.mimetype]["schema"]
        self.validate(json.loads(response.get_data()), schema)

    def validate(self, instance, schema) -> None:
        schema = {"$ref": "urn:spec" + schema["$ref"]} if "$ref" in schema else schema
        jsonschema.Draft202012Validator(schema, registry=self.registry).validate(instance)


class DocumentedClient(FlaskClient):
    """A test client that checks every JSON response against the app's OpenAPI document."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        request = response.request
        if response.mimetype in ("application/json", "application/problem+json") and request.path != "/openapi.json":
            extensions = self.application.extensions
            if "tests:documented" not in extensions:
                spec = json.loads(extensions["tms-eligibility"].static_bodies["openapi"])
                extensions["tests:documented"] = Documented(spec)
            extensions["tests:documented"].check(request.method, request.path, response)
        assert "X-Request-Id" in response.headers
        return response


# -- helpers the API tests share --------------------------------------------------------------------------

EXPECTED = {"classic-trd": "meets_criteria", "aneurysm-clip": "contraindicated",
            "incomplete-referral": "insufficient_information"}


def post(client, body, **headers):
    """POST ``body`` (bytes or text as given, anything else as JSON) to /v1/evaluations."""
    if not isinstance(body, bytes | str):
        body = json.dumps(body)
    return client.post("/v1/evaluations", data=body, content_type="application/json", headers=headers)


def review(client, evaluation_id: str, **document):
    return client.post(f"/v1/evaluations/{evaluation_id}/review", data=json.dumps(document),
                       content_type="application/json")


PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(response, status: int):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert set(body) >= PROBLEM_MEMBERS and body["status"] == status
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body


# -- the service as it runs: ``python -m api serve`` under gunicorn ---------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def http(base: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(base + path, data=body, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, Headers(list(response.headers.items())), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, Headers(list(exc.headers.items())), exc.read()


FIRST_RUN_KEY = re.compile(r"^  (intake|clinician|admin) +id ([0-9a-f]{16})  (tms_[A-Za-z0-9_-]{43})$", re.M)


@contextlib.contextmanager
def serving(database: str, folder: Path, log_name: str = "server.log", **settings: str):
    """``python -m api serve`` (the console script's code) with 2 workers; yields its base URL and log.
    ``settings`` are more environment variables."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database, "TMS_PORT": str(port), "TMS_WORKERS": "2",
           "TMS_THREADS": "1", "TMS_INSTANCE_PATH": str(folder), **settings}
    log_path = folder / log_name
    log = log_path.open("w")
    process = subprocess.Popen([sys.executable, "-m", "api", "serve"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http(base, "GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the server did not become ready in 60 s"
            time.sleep(0.2)
        yield base, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


ANY_KEY = re.compile(r"tms_[A-Za-z0-9_-]{43}")


def first_run_keys(log: Path) -> dict[str, str]:
    """The keys ``serve`` made on its first start, {role: "Bearer <key>"}, from the file whose path it printed
    in ``log`` (which must hold no key itself); ``{}`` when it printed none."""
    text = log.read_text()
    assert not ANY_KEY.search(text), "a key reached the log"
    written = re.search(r"written to (\S+first-run-keys\.txt)", text)
    if written is None:
        return {}
    path = Path(written.group(1))
    assert path.stat().st_mode & 0o777 == 0o600
    return {role: f"Bearer {key}" for role, _, key in FIRST_RUN_KEY.findall(path.read_text())}
