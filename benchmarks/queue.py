"""Queue benchmark: the review queue's filtered first page on SQLite with many stored evaluations.

    python benchmarks/queue.py [--evaluations 500000] [--database /tmp/queue.sqlite3] [--repeat 50] [--json]

Fills a migrated SQLite database (made once, reused when it already holds the rows) with synthetic
evaluations: a review status (80 % pending), two policies each with a determination drawn from the four,
and a stored result of a few hundred bytes. No evaluation runs: what is measured is the store. Then it
times, through the service's own unit of work and repository (``uow.evaluations.queue``), the first page
(25 rows) of each filter the review page offers, and a page deep in the queue, and prints the median and
the worst of ``--repeat`` runs. The figure is in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from storage import Database, create_engine, migrate  # noqa: E402
from storage.tables import evaluation_policies, evaluations  # noqa: E402

DETERMINATIONS = ("meets_criteria", "does_not_meet_criteria", "insufficient_information", "not_applicable")
POLICIES = ("tms-clinical", "cms-lcd-l34641")
STATUSES = ("pending",) * 8 + ("accepted", "overridden")
FILTERS = {
    "pending": {"review_status": "pending"},
    "pending, policy": {"review_status": "pending", "policy": "cms-lcd-l34641"},
    "pending, policy, determination": {"review_status": "pending", "policy": "cms-lcd-l34641",
                                       "determination": "insufficient_information"},
    "all, rare determination": {"policy": "tms-clinical", "determination": "not_applicable"},
}


def fill(engine: sa.Engine, count: int, seed: int = 7) -> None:
    with engine.connect() as conn:
        have = conn.execute(sa.select(sa.func.count()).select_from(evaluations)).scalar()
    if have >= count:
        return
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    result = json.dumps({"results": [{"policy": {"id": p}} for p in POLICIES], "pad": "x" * 300})
    batch = 10_000
    with engine.begin() as conn:
        for first in range(have, count, batch):
            rows, policies = [], []
            for n in range(first, min(first + batch, count)):
                evaluation_id = uuid.UUID(int=rng.getrandbits(128)).hex
                rows.append({"id": evaluation_id, "created_at": start + timedelta(seconds=n), "as_of": date(2026, 1, 1),
                             "reference": None, "request_id": f"bench-{n}", "idempotency_key": None,
                             "body_digest": "sha256:" + "0" * 64, "submission": "{}", "result": result,
                             "review_status": rng.choice(STATUSES), "created_by": None, "client_id": "bench"})
                # "not_applicable" is rare (1 %): a filter on it must not scan the table to fill a page
                for position, policy in enumerate(POLICIES):
                    determination = "not_applicable" if rng.random() < 0.01 else rng.choice(DETERMINATIONS[:3])
                    policies.append({"evaluation_id": evaluation_id, "position": position, "policy_id": policy,
                                     "policy_version": "1", "policy_digest": "sha256:" + "0" * 64,
                                     "determination": determination})
            conn.execute(evaluations.insert(), rows)
            conn.execute(evaluation_policies.insert(), policies)
        conn.exec_driver_sql("ANALYZE")


def measure(database: Database, repeat: int) -> dict[str, dict[str, float]]:
    figures = {}
    with database.unit_of_work() as uow:
        deep = uow.evaluations.queue(limit=1)[0].seq // 2
    cases = {**{name: dict(f) for name, f in FILTERS.items()}, "pending, page at the middle": {
        "review_status": "pending", "before_seq": deep}}
    for name, args in cases.items():
        times = []
        for _ in range(repeat):
            with database.unit_of_work() as uow:
                began = time.perf_counter()
                page = uow.evaluations.queue(limit=26, **args)
                times.append((time.perf_counter() - began) * 1000)
        figures[name] = {"median_ms": round(statistics.median(times), 2), "max_ms": round(max(times), 2),
                         "rows": len(page)}
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=500_000)
    parser.add_argument("--database", default="/tmp/tms-queue-benchmark.sqlite3")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    engine = create_engine(f"sqlite:///{args.database}")
    migrate.upgrade(engine)
    began = time.perf_counter()
    fill(engine, args.evaluations)
    filled = time.perf_counter() - began
    figures = measure(Database(engine), args.repeat)
    engine.dispose()
    if args.json:
        print(json.dumps({"evaluations": args.evaluations, "figures": figures}))
        return 0
    print(f"{args.evaluations} evaluations on SQLite (filled in {filled:.0f} s); first page of 25, {args.repeat} runs:")
    for name, f in figures.items():
        print(f"  {name:<34} median {f['median_ms']:>7.2f} ms   worst {f['max_ms']:>7.2f} ms   ({f['rows']} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
