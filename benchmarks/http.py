"""HTTP benchmark: the service against a parse-only baseline, under the same gunicorn settings, driven by wrk.

    python benchmarks/http.py [--seconds 10] [--warmup 3] [--connections 8,64] [--repeat 3]
                              [--database-url URL] [--keys] [--profile SECONDS] [--json]
                              [--server granian|gunicorn]

Starts, on loopback, the service as production runs it (``python -m api serve``: gunicorn with
``api/gunicorn_conf.py``, 2 sync workers, JSON log lines at INFO to a file) on a fresh SQLite file
(or on ``--database-url``, e.g. ``postgresql+psycopg://user@127.0.0.1:5432/db``, migrated at start),
and beside it the baseline (``benchmarks/baseline_app.py``: parse the body and load it with the
same marshmallow schema, answer 201) under the same gunicorn settings. Both get the same mix of
submissions (``benchmarks/workload.py``, seeded) from ``wrk`` with ``benchmarks/mix.lua``; for each
connection count each server gets a warm-up and then a fixed-time run, back to back, the order
alternating between rounds (ABBA) so that drift in the machine's load does not favour one side.

Prints per run: requests/s, p50/p99 latency, socket errors and non-2xx answers; per round and
connection count the ratio service/baseline of throughput and of p99; and over the rounds the
median and range of each ratio, against issue 6's targets (throughput ratio >= 0.6 at each
connection count, p99 at 8 connections <= 2x the baseline's, no errors, no non-2xx).

``--profile SECONDS`` then samples one worker of each server with py-spy while wrk drives that server
at 8 connections, and prints where a worker's time goes. ``--keys`` sends a new Idempotency-Key with
every request (one more indexed lookup per request). Every request carries an intake key, made in the
service's database with ``tms-eligibility keys create`` (or ``TMS_API_KEY`` if set); the baseline ignores it.
Needs ``wrk`` (Debian: ``apt-get install wrk``) and, for ``--profile``, ``py-spy`` (pip).
"""

from __future__ import annotations

# Run as a script, this file shadows the standard library's ``http`` package: nothing here may import it
# (no urllib.request, no http.client); the readiness probe speaks HTTP over a socket.
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_spec = spec_from_file_location("workload", HERE / "workload.py")
workload = module_from_spec(_spec)
_spec.loader.exec_module(workload)

TARGET_RATIO, TARGET_P99_RATIO = 0.6, 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], ready_path: str, log: Path):
        self.name, self.argv, self.env, self.ready_path, self.log = name, argv, env, ready_path, log
        self.port = int(env["TMS_PORT"])
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("w") as log:
            self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            if _get_status(self.port, self.ready_path) == 200:
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{self.name} did not start; its log:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.2)

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the workers so far."""
        total = 0
        for pid in self.workers():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _get_status(port: int, path: str) -> int | None:
    """The status of ``GET path``, or ``None`` if nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            head = sock.recv(64).decode("latin-1")
    except OSError:
        return None
    parts = head.split(" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def wrk(port: int, connections: int, seconds: float, threads: int, env: dict[str, str]) -> dict:
    argv = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
            "-s", str(HERE / "mix.lua"), f"http://127.0.0.1:{port}/v1/evaluations"]
    out = subprocess.run(argv, env={**env, "TMS_BENCH_RUN": uuid.uuid4().hex[:12]}, capture_output=True,
                         text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        sys.exit(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    result = json.loads(line[len("WRK_JSON "):])
    result["per_second"] = result["requests"] / (result["duration_us"] / 1e6)
    result["socket_errors"] = sum(v for k, v in result["errors"].items() if k != "status")
    return result


def intake_key(env: dict[str, str]) -> str:
    """A new intake key in the service's database (migrated first), made with the service's own command."""
    done = subprocess.run([sys.executable, "-m", "api", "keys", "create", "--role", "intake", "--name",
                           "HTTP benchmark"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        sys.exit(f"could not make an API key:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def machine() -> str:
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), platform.machine())
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load}"


# -- profile ------------------------------------------------------------------------------------------------------

# (label, a regular expression any frame of a sample must match to count); inclusive, so they may overlap.
PROFILE_PARTS = [
    ("a request in the worker (SyncWorker.handle)", r"^SyncWorker\.handle \("),
    ("  Flask app (Flask.wsgi_app)", r"^Flask\.wsgi_app \("),
    ("    the view (Evaluations.post)", r"^Evaluations\.post \("),
    ("      request body: read, decode, strict JSON parse", r"^json_body \(api/body\.py"),
    ("      marshmallow load (SubmissionSchema)", r"^load_submission \("),
    ("      evaluation (Library.evaluate)", r"^Library\.evaluate \("),
    ("      result document (evaluation_document)", r"^evaluation_document \("),
    ("      serialise the result (services.documents.dumps)", r"^dumps \(services/documents\.py"),
    ("      store (SqlEvaluations.add: 2 inserts)", r"^SqlEvaluations\.add \("),
    ("      audit row (SqlAuditLog.add)", r"^SqlAuditLog\.add \("),
    ("      commit (SqlUnitOfWork.commit)", r"^SqlUnitOfWork\.commit \("),
    ("      idempotency lookup (SqlEvaluations.by_key)", r"^SqlEvaluations\.by_key \("),
    ("    request log line (api.logs._finish)", r"^_finish \(api/logs\.py"),
    ("  send the response (gunicorn util.write)", r"^write \(gunicorn/util\.py"),
    ("  close the connection (gunicorn close_graceful)", r"^close_graceful \(gunicorn/util\.py"),
    ("  parse the request (gunicorn Parser)", r"^Parser\.__next__ \(gunicorn/"),
]


def profile(server: Server, seconds: float, threads: int, env: dict[str, str], out_dir: Path) -> dict:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        sys.exit("--profile needs py-spy: pip install py-spy")
    worker = server.workers()[0]
    raw = out_dir / f"profile-{server.name}.txt"
    spy = subprocess.Popen([py_spy, "record", "-p", str(worker), "-d", str(int(seconds)), "-r", "200", "-f", "raw",
                            "-o", str(raw), "--nonblocking"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(1)
    wrk(server.port, 8, seconds, threads, env)
    spy.wait(timeout=seconds + 60)
    stacks = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks[stack] += int(count)
    total = sum(stacks.values())
    parts = {}
    for label, pattern in PROFILE_PARTS:
        rx = re.compile(pattern)
        parts[label] = sum(n for stack, n in stacks.items() if any(rx.search(f) for f in stack.split(";")))
    leaves = Counter()
    for stack, n in stacks.items():
        frame = stack.split(";")[-1]
        leaves[re.sub(r":\d+\)$", ")", frame)] += n
    return {"worker": worker, "samples": total, "raw": str(raw),
            "parts": {k: v / total for k, v in parts.items()} if total else {},
            "top_leaves": [(f, n / total) for f, n in leaves.most_common(15)] if total else []}


# -- main ---------------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="each measured run (default 10)")
    parser.add_argument("--warmup", type=float, default=3, help="a warm-up run before each measured one (default 3)")
    parser.add_argument("--connections", default="8,64", help="comma-separated connection counts (default 8,64)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds, order alternating (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--count", type=int, default=1000, help="submissions in the mix (default 1000)")
    parser.add_argument("--database-url", help="the service's database (default: a fresh SQLite file)")
    parser.add_argument("--keys", action="store_true", help="send a new Idempotency-Key with every request")
    parser.add_argument("--profile", type=float, metavar="SECONDS", help="then profile a service worker with py-spy")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--server", choices=("granian", "gunicorn"), default="granian",
                        help="the service's HTTP server (TMS_SERVER; default granian, as serve runs it)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    connection_counts = [int(c) for c in args.connections.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="tms-http-bench-"))
    bodies = tmp / "mix.jsonl"
    bodies.write_text("".join(json.dumps(d, separators=(",", ":")) + "\n" for d in workload.generate(args.count)))
    database = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    common = {k: v for k, v in os.environ.items() if not k.startswith("TMS_") and k != "DATABASE_URL"}
    common["TMS_INSTANCE_PATH"] = str(tmp)
    api_key = os.environ.get("TMS_API_KEY") or intake_key({**common, "DATABASE_URL": database})
    wrk_env = {**os.environ, "TMS_BENCH_BODIES": str(bodies), "TMS_BENCH_KEYS": "1" if args.keys else "0",
               "TMS_API_KEY": api_key}
    service = Server("service", [sys.executable, "-m", "api", "serve"],
                     {**common, "DATABASE_URL": database, "TMS_PORT": str(free_port()), "TMS_SERVER": args.server},
                     "/readyz",
                     tmp / "service.log")
    baseline = Server("baseline", [sys.executable, "-m", "gunicorn", "--config", "python:benchmarks.baseline_conf"],
                      {**common, "TMS_PORT": str(free_port())}, "/healthz", tmp / "baseline.log")
    started_on = machine()
    runs, profiled = [], None
    try:
        for server in (service, baseline):
            server.start()
        for round_no in range(args.repeat):
            for connections in connection_counts:
                order = (baseline, service) if round_no % 2 == 0 else (service, baseline)
                for server in order:
                    if args.warmup > 0:
                        wrk(server.port, connections, args.warmup, args.threads, wrk_env)
                    cpu_before = server.cpu_seconds()
                    result = wrk(server.port, connections, args.seconds, args.threads, wrk_env)
                    result["worker_cpu_ms_per_request"] = (server.cpu_seconds() - cpu_before) * 1000 / max(
                        result["requests"], 1)
                    runs.append({"round": round_no + 1, "server": server.name, "connections": connections, **result})
                    if not args.json:
                        print(_run_line(runs[-1]), flush=True)
        if args.profile:
            profiled = {server.name: profile(server, args.profile, args.threads, wrk_env, tmp)
                        for server in (service, baseline)}
    finally:
        for server in (service, baseline):
            server.stop()

    summary = _summary(runs, connection_counts)
    where = "PostgreSQL" if database.startswith("postgresql") else "SQLite"
    report = {"machine": started_on, "database": where, "keys": args.keys, "seconds": args.seconds,
              "warmup": args.warmup, "wrk_threads": args.threads, "mix": args.count, "runs": runs,
              "summary": summary, "profile": profiled, "logs": str(tmp)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    _print_report(report, connection_counts)


def _run_line(run: dict) -> str:
    return (f"round {run['round']} {run['server']:8} {run['connections']:3} conns: {run['per_second']:8,.0f} req/s  "
            f"p50 {run['p50_us'] / 1000:7.1f} ms  p99 {run['p99_us'] / 1000:7.1f} ms  "
            f"errors {run['socket_errors']}  non-2xx {run['non2xx']}  "
            f"worker CPU {run['worker_cpu_ms_per_request']:.2f} ms/request")


def _summary(runs: list[dict], connection_counts: list[int]) -> dict:
    out = {}
    for connections in connection_counts:
        pairs = []
        for round_no in sorted({r["round"] for r in runs}):
            by = {r["server"]: r for r in runs if r["round"] == round_no and r["connections"] == connections}
            pairs.append({"ratio": by["service"]["per_second"] / by["baseline"]["per_second"],
                          "p99_ratio": by["service"]["p99_us"] / by["baseline"]["p99_us"]})
        mine = [r for r in runs if r["connections"] == connections]
        out[connections] = {
            "ratios": [p["ratio"] for p in pairs], "p99_ratios": [p["p99_ratio"] for p in pairs],
            "ratio_median": statistics.median(p["ratio"] for p in pairs),
            "p99_ratio_median": statistics.median(p["p99_ratio"] for p in pairs),
            "errors": sum(r["socket_errors"] for r in mine), "non2xx": sum(r["non2xx"] for r in mine)}
    return out


def _print_report(report: dict, connection_counts: list[int]) -> None:
    print(f"\n{report['machine']}")
    print(f"service on {report['database']}{' with Idempotency-Keys' if report['keys'] else ''}; "
          f"wrk -t{report['wrk_threads']} {report['seconds']:g} s runs after {report['warmup']:g} s warm-ups; "
          f"mix of {report['mix']} submissions; logs in {report['logs']}")
    print(f"\n{'':10}{'conns':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'non-2xx':>8}"
          f" {'CPU ms/req':>11}   (medians over the rounds; CPU: the workers', user + system)")
    for connections in connection_counts:
        for name in ("baseline", "service"):
            mine = [r for r in report["runs"] if r["server"] == name and r["connections"] == connections]
            med = {k: statistics.median(r[k] for r in mine)
                   for k in ("per_second", "p50_us", "p99_us", "worker_cpu_ms_per_request")}
            print(f"{name:10}{connections:6} {med['per_second']:9,.0f} {med['p50_us'] / 1000:8.1f} "
                  f"{med['p99_us'] / 1000:8.1f} {sum(r['socket_errors'] for r in mine):7} "
                  f"{sum(r['non2xx'] for r in mine):8} {med['worker_cpu_ms_per_request']:11.2f}")
    print()
    ok = True
    for connections in connection_counts:
        s = report["summary"][connections]
        ratios = ", ".join(f"{r:.2f}" for r in s["ratios"])
        p99s = ", ".join(f"{r:.2f}" for r in s["p99_ratios"])
        meets = s["ratio_median"] >= TARGET_RATIO
        ok &= meets
        print(f"{connections:3} connections: service/baseline throughput {s['ratio_median']:.2f} (rounds: {ratios}) "
              f"{'meets' if meets else 'misses'} >= {TARGET_RATIO}; p99 ratio {s['p99_ratio_median']:.2f} "
              f"(rounds: {p99s})")
        if connections == 8:
            meets = s["p99_ratio_median"] <= TARGET_P99_RATIO
            ok &= meets
            print(f"    p99 at 8 connections {'meets' if meets else 'misses'} <= {TARGET_P99_RATIO}x the baseline's")
    errors = sum(s["errors"] + s["non2xx"] for s in report["summary"].values())
    ok &= errors == 0
    print(f"errors and non-2xx answers: {errors}")
    print(f"issue 6's HTTP targets: {'met' if ok else 'NOT met'}")
    for name, p in (report["profile"] or {}).items():
        print(f"\nprofile of a {name} worker at 8 connections: {p['samples']} samples "
              f"(py-spy, active time only; raw stacks in {p['raw']})")
        for label, share in p["parts"].items():
            if share:
                print(f"  {share:6.1%}  {label}")
        print("  hottest leaf functions:")
        for frame, share in p["top_leaves"][:10]:
            print(f"  {share:6.1%}  {frame}")


if __name__ == "__main__":
    main()
