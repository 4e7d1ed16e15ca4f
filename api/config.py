"""Configuration: documented defaults, overridden by environment variables, then by ``create_app(config)``.

Every setting the service reads is listed in ``SETTINGS`` with its environment variable, its
default and one line of documentation; the README's configuration table is this list.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eligibility.library import DEFAULT_POLICIES


@dataclass(frozen=True)
class Setting:
    key: str
    env: str
    default: object
    parse: object
    doc: str


def _policies(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError(f"must be 1 or 0 (true or false), not {text!r}")
    return value in ("1", "true", "yes", "on")


def _secure(text: str) -> bool | str:
    """``auto``, or a flag."""
    return "auto" if text.strip().lower() == "auto" else _flag(text)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(f"must be a positive integer, not {text!r}")
    return value


SETTINGS = (
    Setting("DATABASE_URL", "DATABASE_URL", None, str,
            "SQLAlchemy URL of the database: `sqlite:///path` (embedded, WAL mode) or "
            "`postgresql+psycopg://user:pass@host/db`. Default: `tms-eligibility.sqlite3` in the instance folder."),
    Setting("INSTANCE_PATH", "TMS_INSTANCE_PATH", None, str,
            "Folder for the default SQLite file. Default: Flask's instance folder (`instance/` beside the "
            "source checkout)."),
    Setting("RULES_DIR", "TMS_RULES_DIR", None, str,
            "Policy files and drug catalogue. Default: the `rules/` folder beside the `eligibility` package."),
    Setting("DEFAULT_POLICIES", "TMS_DEFAULT_POLICIES", DEFAULT_POLICIES, _policies,
            "Comma-separated policy ids evaluated when a submission names none."),
    Setting("MAX_CONTENT_LENGTH", "TMS_MAX_BODY_BYTES", 256 * 1024, _positive_int,
            "Largest accepted request body in bytes; larger bodies get 413."),
    Setting("LOG_LEVEL", "TMS_LOG_LEVEL", "INFO", str.upper,
            "Level of the JSON-lines log on standard error (`DEBUG`, `INFO`, `WARNING`, `ERROR`)."),
    Setting("SQLITE_BUSY_TIMEOUT", "TMS_SQLITE_BUSY_TIMEOUT", 5, float,
            "Seconds a SQLite writer waits for the write lock before the request fails with 503 (well below "
            "`TMS_TIMEOUT`, so a long lock ends in a 503, not a killed worker)."),
    Setting("SECURE_COOKIES", "TMS_SECURE_COOKIES", "auto", _secure,
            "`auto`: the review page's cookies get `Secure` and the `__Host-` name unless the page is reached "
            "over plain HTTP at a loopback address (`127.0.0.1`, `localhost`); `1`: always; `0`: never."),
    Setting("CDS_HOOKS_ISSUERS", "TMS_CDS_HOOKS_ISSUERS", None, str,
            "The EHRs trusted to call the CDS Hooks service: JSON `{\"<iss>\": \"<JWKS URL or file>\"}`. Empty: "
            "every CDS Hooks call is refused (401)."),
    Setting("CDS_HOOKS_BASE_URL", "TMS_CDS_HOOKS_BASE_URL", None, str,
            "The service's public URL (`https://tms.example.org`): a token's `aud` must be it plus the path "
            "called, and cards link to its review page. Default: the request's own root URL."),
    Setting("CDS_HOOKS_POLICIES", "TMS_CDS_HOOKS_POLICIES", None, _policies,
            "Comma-separated policy ids a CDS Hooks call is evaluated against, one card each. Default: "
            "`DEFAULT_POLICIES`."),
    Setting("CDS_HOOKS_JWT_SKEW_SECONDS", "TMS_CDS_HOOKS_JWT_SKEW_SECONDS", 60, _positive_int,
            "Clock skew allowed on an EHR token's `exp` and `iat`, in seconds."),
    Setting("SESSION_IDLE_MINUTES", "TMS_SESSION_IDLE_MINUTES", 30, _positive_int,
            "Minutes without use after which a review-page session ends (automatic logoff)."),
    Setting("ADMIN_MAY_CREATE_CLINICAL_KEYS", "TMS_ADMIN_MAY_CREATE_CLINICAL_KEYS", False, _flag,
            "`1` lets an admin key make intake, clinician and technician keys over HTTP (`POST /v1/keys`); by "
            "default an admin makes admin keys only, so it cannot reach clinical data (refusals are audited)."),
    Setting("SESSION_LIFETIME_HOURS", "TMS_SESSION_LIFETIME_HOURS", 12, _positive_int,
            "Hours after sign-in at which a review-page session ends however busy it is (absolute lifetime)."),
)

def _server(text: str) -> str:
    if text not in SERVERS:
        raise ValueError(f"must be one of {', '.join(SERVERS)}, not {text!r}")
    return text


SERVERS = ("granian", "gunicorn")

# Serving settings are read by ``serve`` (granian) or the gunicorn configuration (``api/gunicorn_conf.py``), not
# by the app.
SERVE_SETTINGS = (
    Setting("SERVER", "TMS_SERVER", "granian", _server,
            "`granian` (reads every request, headers and body, asynchronously before a worker thread sees it, so "
            "slow clients cannot hold the workers) or `gunicorn` (sync or gthread workers: only behind a "
            "buffering proxy)."),
    Setting("HOST", "TMS_HOST", "127.0.0.1", str, "Address the server binds (`0.0.0.0` in the Docker image)."),
    Setting("PORT", "TMS_PORT", 8000, _positive_int, "Port the server binds."),
    Setting("WORKERS", "TMS_WORKERS", 2, _positive_int,
            "Worker processes; each loads the policies once at start."),
    Setting("THREADS", "TMS_THREADS", 1, _positive_int,
            "Threads per worker that run the app (gunicorn: 1 = sync workers; more = gthread workers)."),
    Setting("TIMEOUT", "TMS_TIMEOUT", 30, _positive_int,
            "Seconds a client may take to send its request headers (granian), or before gunicorn restarts a "
            "silent worker."),
)


def from_environ(settings=SETTINGS, environ=None) -> dict:
    """The settings whose environment variable is set, parsed; raise ``ValueError`` naming a bad one."""
    environ = os.environ if environ is None else environ
    values = {}
    for s in settings:
        raw = environ.get(s.env)
        if raw is None or raw == "":
            continue
        try:
            values[s.key] = s.parse(raw)
        except ValueError as exc:
            raise ValueError(f"{s.env}={raw!r}: {exc}") from None
    return values


def defaults(settings=SETTINGS) -> dict:
    return {s.key: s.default for s in settings}


def serve_settings(environ=None) -> dict:
    """Host, port, workers, threads and timeout for gunicorn: defaults, then the environment."""
    return {**defaults(SERVE_SETTINGS), **from_environ(SERVE_SETTINGS, environ)}


def sqlite_url(instance_path: str | os.PathLike) -> str:
    """The default database: a SQLite file in the instance folder (created if missing)."""
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder.resolve() / 'tms-eligibility.sqlite3'}"
