"""The commands that need no database: evaluate submissions, list policies, check policy files, evaluate in batch.

``evaluate`` and ``batch`` make each result with the service's own ``evaluate`` on an in-memory unit of
work, so the id, creation time and document are made exactly as the API makes them, and kept nowhere.
Invalid input is printed as the API's problem document, keyed by JSON Pointer (exit status 2).
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from eligibility import InvalidPolicy, InvalidSubmission, Library, load_library
from eligibility.checks import check_policy
from eligibility.comparison import comparison_markdown
from eligibility.library import policy_files, rules_dir
from eligibility.policy import load_policy
from services import evaluations
from services.audit import Caller
from services.memory import InMemoryUnitOfWork
from services.records import Received

from ..constants import EXIT_FAILURE, EXIT_INVALID, EXIT_OK
from ..errors import validation_problem

CLI = Caller(channel="cli")


def dumps(document) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)


def _read_text(source: str) -> str:
    return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")


def _evaluate(library: Library, document, text: str, policies: list[str] | None) -> dict:
    """The result document of one submission, made by the service and kept nowhere."""
    if policies and isinstance(document, dict):
        document = {**document, "policies": policies}
    answered = evaluations.evaluate(InMemoryUnitOfWork(), library, Received(document, text, text.encode()), CLI)
    return json.loads(answered.body)


def cmd_evaluate(args) -> int:
    library = load_library(args.rules_dir)
    try:
        text = _read_text(args.file)
        document = json.loads(text)
    except (OSError, ValueError) as exc:
        print(f"{args.file}: not readable as JSON: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        print(dumps(_evaluate(library, document, text, args.policy)))
    except InvalidSubmission as exc:
        print(dumps(validation_problem(exc.errors, args.file)), file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def cmd_policies(args) -> int:
    library = load_library(args.rules_dir)
    if args.markdown:
        sys.stdout.write(comparison_markdown(library.policies.values(), first=library.default_policies))
        return EXIT_OK
    if args.json:
        print(dumps([{"id": p.id, "version": p.version, "effective_date": p.effective_date.isoformat(),
                      "digest": p.digest, "title": p.title} for p in library.policies.values()]))
        return EXIT_OK
    width = max(len(pid) for pid in library.policies)
    for p in library.policies.values():
        print(f"{p.id:<{width}}  {p.version:<12} {p.effective_date.isoformat()}  {p.digest}  {p.title}")
    return EXIT_OK


def cmd_check_rules(args) -> int:
    """Load every policy file on its own (so each bad file is reported), then run every case."""
    directory = Path(args.rules_dir or rules_dir())
    broken = 0
    for path in policy_files(directory):
        try:
            load_policy(path)
        except InvalidPolicy as exc:
            broken += 1
            print(f"FAIL {path}:", file=sys.stderr)
            for p in exc.problems:
                print(f"  {p}", file=sys.stderr)
    if broken:
        print(f"{broken} policy file(s) cannot be loaded.", file=sys.stderr)
        return EXIT_FAILURE
    library = load_library(directory)
    failed = 0
    for policy in (p for versions in library.versions.values() for p in versions):
        report = check_policy(library, policy)
        passed = sum(1 for c in report.cases if not c.failures)
        status = "ok  " if report.ok else "FAIL"
        print(f"{status} {policy.ruleset_name}: {passed}/{len(report.cases)} cases pass, "
              f"{len(policy.ruleset) - len(report.unexercised)}/{len(policy.ruleset)} rules exercised")
        for case in report.cases:
            for failure in case.failures:
                print(f"  case {case.name}: {failure}")
        for name in report.unexercised:
            print(f"  rule {name}: no case makes it fire (add a case, or remove a rule that can never fire)")
        failed += not report.ok
    return EXIT_FAILURE if failed else EXIT_OK


CHUNK = 256  # submissions a worker evaluates per task: large enough to amortise the pipe, small enough to stream


def _batch_line(library: Library, number: int, line: str, policies) -> tuple[str, str | None]:
    """The output line for input line ``number`` and, when it is invalid, what to report on stderr."""
    try:
        document = _evaluate(library, json.loads(line), line, policies)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        document = {"line": number, "error": validation_problem({"": [f"not JSON: {exc}"]}, f"line {number}")}
    except InvalidSubmission as exc:
        document = {"line": number, "error": validation_problem(exc.errors, f"line {number}")}
    problem = None
    if "error" in document:
        problem = f"line {number}: invalid ({', '.join(document['error']['errors'])})"
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", problem


_worker: dict = {}  # in a batch worker process: its own library (durable-rules state is per process)


def _start_worker(rules_directory, policies) -> None:
    _worker.update(library=load_library(rules_directory), policies=policies)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """End this worker when the batch that started it is gone (killed, say): a worker waiting for its next chunk
    holds both ends of the pool's pipe, so it would never see the pipe close."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _batch_chunk(chunk: list[tuple[int, str]]) -> list[tuple[str, str | None]]:
    library, policies = _worker["library"], _worker["policies"]
    return [_batch_line(library, number, line, policies) for number, line in chunk]


def _chunks(lines, size: int):
    """(line number, line) pairs of the non-blank lines, ``size`` at a time, read as they are needed."""
    chunk = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            chunk.append((number, line))
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _evaluated_in_order(args, lines, jobs: int):
    """Each chunk's results, in input order. With more than one job, chunks go to a pool of worker processes
    (each loads its own library), at most ``4 * jobs`` of them in flight, so memory stays bounded whatever
    the input's length."""
    if jobs == 1:
        library = load_library(args.rules_dir)
        for chunk in _chunks(lines, CHUNK):
            yield len(chunk), [_batch_line(library, number, line, args.policy) for number, line in chunk]
        return
    # spawn, not fork: a worker starts without the parent's threads, locks or durable-rules memory. A worker that
    # dies (or cannot start) breaks the pool, which raises here rather than waiting for it.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(args.rules_dir, args.policy)) as pool:
        pending = collections.deque()
        for chunk in _chunks(lines, CHUNK):
            if len(pending) >= 4 * jobs:
                size, future = pending.popleft()
                yield size, future.result()
            pending.append((len(chunk), pool.submit(_batch_chunk, chunk)))
        while pending:
            size, future = pending.popleft()
            yield size, future.result()


def default_jobs() -> int:
    """Every core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cmd_batch(args) -> int:
    from tqdm import tqdm

    jobs = args.jobs or default_jobs()
    source = Path(args.input)
    show = not args.quiet and sys.stderr.isatty()
    total = 0
    if show:  # the bar's length needs the count of lines: one more pass over the file, reading it only
        with source.open(encoding="utf-8") as lines:
            total = sum(1 for line in lines if line.strip())
    bad = 0
    with source.open(encoding="utf-8") as lines, open(args.output, "w", encoding="utf-8") as out, \
            tqdm(total=total, unit="sub", disable=not show, file=sys.stderr) as bar:
        counted = _Counted(lines)
        for size, results in _evaluated_in_order(args, counted, jobs):
            for text, problem in results:
                if problem is not None:
                    bad += 1
                    print(problem, file=sys.stderr)
                out.write(text)
            bar.update(size)
    print(f"{counted.n} line(s), {bad} invalid; results in {args.output}", file=sys.stderr)
    return EXIT_OK if not bad else EXIT_INVALID


class _Counted:
    """An iterator over lines that counts them as they are read."""

    def __init__(self, lines):
        self.lines, self.n = lines, 0

    def __iter__(self):
        for line in self.lines:
            self.n += 1
            yield line


def _jobs(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def add_commands(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate one submission and print the result JSON")
    p.add_argument("file", help="a submission JSON file, or - for standard input")
    p.add_argument("--policy", action="append", help="a policy id (repeat for several); overrides the file's")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("policies", help="list the loaded policies with version and digest")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")
    output.add_argument("--markdown", action="store_true",
                        help="print the side-by-side comparison of every policy (docs/policies.md) as Markdown")
    p.set_defaults(func=cmd_policies)

    p = sub.add_parser("check-rules", help="load every policy file and run its test cases")
    p.set_defaults(func=cmd_check_rules)

    p = sub.add_parser("batch", help="evaluate a JSON-lines file, one result per line")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--policy", action="append")
    p.add_argument("--quiet", action="store_true", help="no progress bar (there is none unless stderr is a terminal)")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="worker processes evaluating in parallel (default: every core); the output is in input "
                        "order and the same as with --jobs 1")
    p.set_defaults(func=cmd_batch)
