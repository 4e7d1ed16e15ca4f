"""The commands that run and manage the service: ``serve``, ``db``, ``keys`` and ``audit``, on ``$DATABASE_URL``.

Each builds the app as ``serve`` would (so the policies are checked and the database is the one the
service uses) and calls the service layer for keys and the audit trail.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from services import audit, keys
from services.audit import Caller
from services.clock import wire_time
from services.errors import Invalid, KeyNameTaken, NotFound
from storage import migrate

from ..config import SERVE_SETTINGS
from ..constants import EXIT_FAILURE, EXIT_OK, ROLES

CLI = Caller(channel="cli")


def _app(args):
    """The app ``serve`` would run: its policies checked, its database connected."""
    from .. import create_app

    return create_app({"RULES_DIR": args.rules_dir} if args.rules_dir else None)


def _state(args):
    return _app(args).extensions["tms-eligibility"]


def _revision(state) -> str | None:
    with state.unit_of_work() as uow:
        return uow.revision()


FIRST_RUN_KEYS_FILE = "first-run-keys.txt"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner alone (mode 0600 from the start, never wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT: set it
        out.write(text)


def first_run_keys(state, folder: Path, base_url: str) -> Path | None:
    """On a database that has never had an API key: one key per role, written to a file only its owner can
    read in ``folder`` (the data directory); the file's path, or ``None`` when no key was made.

    The keys never go to standard error: that is the log stream, which a container keeps and ships.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path, draft = folder / FIRST_RUN_KEYS_FILE, folder / f".{FIRST_RUN_KEYS_FILE}.{os.getpid()}"
    _write_private(draft, "")  # before the keys exist: a folder that cannot take the file makes none
    try:
        made = keys.first_run_keys(state.unit_of_work(), CLI)
    except BaseException:
        draft.unlink()
        raise
    if not made:
        draft.unlink()
        return None
    lines = ["No API key existed, so these local keys were made, one per role. Copy them, then delete this file.",
             "Send one as 'Authorization: Bearer <key>'; list them with 'tms-eligibility keys list',",
             "revoke one with 'tms-eligibility keys revoke ID'.", ""]
    for new in made:
        lines.append(f"  {new.record.role:<9}  id {new.record.id}  {new.key}")
    lines += ["", f"The review page is {base_url}/review/ (sign in with the clinician key).", ""]
    _write_private(draft, "\n".join(lines))
    os.replace(draft, path)
    return path


def cmd_serve(args) -> int:
    """Check the policies, migrate the database, make first-run keys, then become the HTTP server (same pid)."""
    from ..config import serve_settings

    app = _app(args)
    state = app.extensions["tms-eligibility"]
    engine = state.database.engine
    if not args.no_migrate:
        migrate.upgrade(engine)
    print(f"database: {engine.url.render_as_string(hide_password=True)} at revision {migrate.head()}",
          file=sys.stderr)
    if not args.no_initial_keys and _revision(state) == migrate.head():
        served = serve_settings()
        host, port = args.host or served["HOST"], args.port or served["PORT"]
        written = first_run_keys(state, Path(app.instance_path),
                                 f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}")
        if written:
            print(f"No API key existed: one local key per role was made and written to {written} (readable by "
                  "its owner alone); copy them from there, then delete the file.", file=sys.stderr, flush=True)
    engine.dispose()
    for setting in SERVE_SETTINGS:
        value = getattr(args, setting.key.lower())
        if value is not None:
            os.environ[setting.env] = str(value)
    if args.rules_dir:
        os.environ["TMS_RULES_DIR"] = args.rules_dir
    served = serve_settings()
    if served["SERVER"] == "gunicorn":
        argv = [sys.executable, "-m", "gunicorn", "--config", "python:api.gunicorn_conf"]
    else:
        argv = granian_argv(served)
    os.execv(sys.executable, argv)
    return EXIT_FAILURE  # not reached


def granian_argv(served: dict) -> list[str]:
    """granian serving the app: a Rust HTTP/1.1 server that reads request headers without Python, and, through
    ``api.asgi``, bodies in the event loop, so the Flask app in a worker thread gets only complete requests and
    slow clients wait at no cost (tests/robustness/test_slow_clients.py). The app is made in each worker
    (``--factory``): the rules engine's state belongs to the process that registered it."""
    return [sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
            "--host", served["HOST"], "--port", str(served["PORT"]), "--workers", str(served["WORKERS"]),
            "--http", "1", "--no-ws",
            "--http1-header-read-timeout", str(served["TIMEOUT"] * 1000),
            "--respawn-failed-workers", "--workers-kill-timeout", "20", "--no-access-log",
            "--log-level", "warning", "api.asgi:create_asgi"]


def cmd_db_upgrade(args) -> int:
    engine = _state(args).database.engine
    migrate.upgrade(engine, args.revision)
    print(f"{engine.url.render_as_string(hide_password=True)}: upgraded to {args.revision}")
    return EXIT_OK


def cmd_db_current(args) -> int:
    state = _state(args)
    current, head = _revision(state), migrate.head()
    print(f"{state.database.engine.url.render_as_string(hide_password=True)}: at {current}, code needs {head}")
    return EXIT_OK if current == head else EXIT_FAILURE


@contextlib.contextmanager
def _migrated(args):
    """The state of ``$DATABASE_URL``, migrated as ``serve`` would (so a new install can make its first key)."""
    state = _state(args)
    try:
        migrate.upgrade(state.database.engine)
        yield state
    finally:
        state.database.dispose()


def _time(value) -> str:
    return wire_time(value) or "-"


def cmd_keys_create(args) -> int:
    try:
        with _migrated(args) as state:
            made = keys.create_key(state.unit_of_work(), args.name, args.role, CLI, client=args.client)
    except (Invalid, KeyNameTaken) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    record = made.record
    print(f"created {record.role} key {record.id} ({record.name}); it is shown only now, on standard output:",
          file=sys.stderr)
    print(made.key, flush=True)
    return EXIT_OK


def cmd_keys_list(args) -> int:
    with _migrated(args) as state:
        found = keys.list_keys(state.unit_of_work())
    if args.json:
        for k in found:
            print(json.dumps(k.to_wire(), ensure_ascii=False))
        return EXIT_OK
    print(f"{'id':<16}  {'role':<9}  {'created':<20}  {'revoked':<20}  name")
    for k in found:
        print(f"{k.id:<16}  {k.role:<9}  {_time(k.created_at):<20}  {_time(k.revoked_at):<20}  {k.name}")
    return EXIT_OK


def cmd_keys_revoke(args) -> int:
    try:
        with _migrated(args) as state:
            revoked = keys.revoke_key(state.unit_of_work(), args.key_id, CLI)
    except NotFound:
        print(f"error: no key has the id {args.key_id!r}", file=sys.stderr)
        return EXIT_FAILURE
    record = revoked.record
    print(f"{'revoked' if revoked.now else 'already revoked'}: {record.role} key {record.id} ({record.name}) at "
          f"{_time(record.revoked_at)}")
    return EXIT_OK


def cmd_audit_export(args) -> int:
    """Every audit row after ``--after``, oldest first, one JSON object a line."""
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115

    def write(row) -> None:
        out.write(json.dumps(row.to_wire(), ensure_ascii=False, separators=(",", ":")) + "\n")

    def finish() -> None:
        if args.output:
            out.close()
        else:
            out.flush()

    with _migrated(args) as state:
        try:
            exported = audit.export_audit(state.unit_of_work(), CLI, write, after=args.after, finish=finish)
        finally:
            if args.output:
                out.close()
    print(f"exported {exported.count} audit row(s); the last is {exported.last} (resume with --after "
          f"{exported.last})", file=sys.stderr)
    return EXIT_OK


def cmd_audit_verify(args) -> int:
    """Check the audit trail's hash chain; exit 1 at the first broken link, naming its row."""
    with _migrated(args) as state:
        verified = audit.verify_chain(state.unit_of_work())
    older = f" ({verified.unchained} older than the chain, not checked)" if verified.unchained else ""
    if verified.broken_at is None:
        print(f"audit chain holds: {verified.rows} row(s) read{older}")
        return EXIT_OK
    print(f"audit chain broken at seq {verified.broken_at}: {verified.reason}{older}")
    return EXIT_FAILURE


def add_commands(sub) -> None:
    p = sub.add_parser("serve", help="migrate the database and serve the HTTP API (granian by default)")
    for setting in SERVE_SETTINGS:
        p.add_argument(f"--{setting.key.lower()}", type=type(setting.default),
                       help=f"{setting.doc} (default: ${setting.env} or {setting.default})")
    p.add_argument("--no-migrate", action="store_true", help="do not upgrade the database first")
    p.add_argument("--no-initial-keys", action="store_true",
                   help="do not make one key per role (written to first-run-keys.txt in the instance folder, "
                        "mode 0600) when the database has never had a key")
    p.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database migrations ($DATABASE_URL, default: SQLite in the instance folder)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    p = db_sub.add_parser("upgrade", help="apply migrations")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(func=cmd_db_upgrade)
    p = db_sub.add_parser("current", help="print the database's revision; exit 1 if it is not the code's")
    p.set_defaults(func=cmd_db_current)

    keys_parser = sub.add_parser("keys", help="API keys ($DATABASE_URL; the database is migrated first)")
    keys_sub = keys_parser.add_subparsers(dest="keys_command", required=True)
    p = keys_sub.add_parser("create", help="make a key and print it, once, on standard output")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--name", required=True, help="who or what holds it (a clinician's name, an intake system)")
    p.add_argument("--client", help="the client it acts for (e.g. one referral partner): intake keys of one client "
                                    "read each other's evaluations; default: a client of its own")
    p.set_defaults(func=cmd_keys_create)
    p = keys_sub.add_parser("list", help="list keys: id, role, created, revoked, name (never the keys)")
    p.add_argument("--json", action="store_true", help="one JSON object a line")
    p.set_defaults(func=cmd_keys_list)
    p = keys_sub.add_parser("revoke", help="revoke a key: it fails from the next request on")
    p.add_argument("key_id")
    p.set_defaults(func=cmd_keys_revoke)

    aud = sub.add_parser("audit", help="the audit trail")
    aud_sub = aud.add_subparsers(dest="audit_command", required=True)
    p = aud_sub.add_parser("export", help="write every audit row as JSON lines, oldest first")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")
    p.add_argument("--after", type=int, default=0, help="only rows after this seq (resume an earlier export)")
    p.set_defaults(func=cmd_audit_export)
    p = aud_sub.add_parser("verify", help="check the hash chain over the audit rows; exit 1 naming the first "
                                          "broken link")
    p.set_defaults(func=cmd_audit_verify)
