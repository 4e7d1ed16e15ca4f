"""The command line: evaluate submissions, list policies, check policy files, evaluate in batch; serve the API.

This is the one command line, installed as ``tms-eligibility``; ``python -m eligibility`` and
``python -m api`` run the same ``main``. The commands that need no database are in ``api.cli.rules``
(``evaluate``, ``policies``, ``check-rules``, ``batch``), the ones that run and manage the service in
``api.cli.service`` (``serve``, ``db``, ``keys``, ``audit``), ``course show`` in ``api.cli.courses``. Exit
status: 0 success, 1 a policy, engine or database failure, 2 invalid input (the problems are printed as the
API's problem document, keyed by JSON Pointer).
"""

from __future__ import annotations

import argparse
import sys

from eligibility import EligibilityError, InvalidPolicy

from ..constants import EXIT_FAILURE
from . import courses, rules, service


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tms-eligibility", description=__doc__.splitlines()[0])
    parser.add_argument("--rules-dir", help="policy files and drug catalogue (default: $TMS_RULES_DIR or rules/)")
    sub = parser.add_subparsers(dest="command", required=True)
    rules.add_commands(sub)
    service.add_commands(sub)
    courses.add_commands(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InvalidPolicy as exc:
        print(f"policy error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except EligibilityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
