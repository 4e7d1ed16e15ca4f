"""The ``tms-eligibility`` command: the domain's commands plus ``serve`` and ``db``.

``python -m eligibility`` stays the Flask-free domain command line; this one adds the service.
"""

from __future__ import annotations

import argparse
import os
import sys

from eligibility import cli as domain_cli

from . import migrate
from .config import SERVE_SETTINGS


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    """The domain parser's sub-command table (argparse offers no public way to reach it)."""
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _app(args):
    from . import create_app

    return create_app({"RULES_DIR": args.rules_dir} if args.rules_dir else None)


def cmd_serve(args) -> int:
    """Check the policies, migrate the database, then become gunicorn (same pid, so signals reach it)."""
    app = _app(args)
    engine = app.extensions["tms-eligibility"].store.engine
    if not args.no_migrate:
        migrate.upgrade(engine)
    print(f"database: {engine.url.render_as_string(hide_password=True)} at revision {migrate.head()}",
          file=sys.stderr)
    engine.dispose()
    for setting in SERVE_SETTINGS:
        value = getattr(args, setting.key.lower())
        if value is not None:
            os.environ[setting.env] = str(value)
    if args.rules_dir:
        os.environ["TMS_RULES_DIR"] = args.rules_dir
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:api.gunicorn_conf"]
    os.execv(sys.executable, argv)
    return domain_cli.EXIT_FAILURE  # not reached


def cmd_db_upgrade(args) -> int:
    engine = _app(args).extensions["tms-eligibility"].store.engine
    migrate.upgrade(engine, args.revision)
    print(f"{engine.url.render_as_string(hide_password=True)}: upgraded to {args.revision}")
    return domain_cli.EXIT_OK


def cmd_db_current(args) -> int:
    store = _app(args).extensions["tms-eligibility"].store
    current, head = store.revision(), migrate.head()
    print(f"{store.engine.url.render_as_string(hide_password=True)}: at {current}, code needs {head}")
    return domain_cli.EXIT_OK if current == head else domain_cli.EXIT_FAILURE


def build_parser() -> argparse.ArgumentParser:
    parser = domain_cli.build_parser()
    sub = _subcommands(parser)

    p = sub.add_parser("serve", help="migrate the database and serve the HTTP API under gunicorn")
    for setting in SERVE_SETTINGS:
        p.add_argument(f"--{setting.key.lower()}", type=type(setting.default),
                       help=f"{setting.doc} (default: ${setting.env} or {setting.default})")
    p.add_argument("--no-migrate", action="store_true", help="do not upgrade the database first")
    p.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database migrations ($DATABASE_URL, default: SQLite in the instance folder)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    p = db_sub.add_parser("upgrade", help="apply migrations")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(func=cmd_db_upgrade)
    p = db_sub.add_parser("current", help="print the database's revision; exit 1 if it is not the code's")
    p.set_defaults(func=cmd_db_current)
    return parser


SERVICE_COMMANDS = (cmd_serve, cmd_db_upgrade, cmd_db_current)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.func not in SERVICE_COMMANDS:
        return domain_cli.main(argv)  # the domain's own commands, with its own error handling
    try:
        return args.func(args)
    except domain_cli.InvalidPolicy as exc:
        print(f"policy error: {exc}", file=sys.stderr)
        return domain_cli.EXIT_FAILURE
