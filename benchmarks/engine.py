"""Engine benchmark: evaluations per second on one core and p50/p99 latency, per policy.

    python benchmarks/engine.py [--seconds 3] [--count 1000] [--json]

Submissions come from ``workload.generate`` (seeded) and are validated once, before timing:
what is timed is ``Library.evaluate`` of a validated submission, i.e. summary facts,
durable-rules firing and the explained result, not marshmallow. Each figure runs the whole
mix round-robin for ``--seconds``; latency is the distribution of single evaluations over one
further pass of the mix. The process is pinned to one CPU. The naive design of ``naive.py``
runs the same mix in the same process as the reference, and must agree on every determination.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import naive  # noqa: E402
import workload  # noqa: E402

from eligibility import load_library  # noqa: E402


def pin_to_one_cpu() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned"


def measure(evaluate, items, seconds: float) -> dict:
    """Throughput over ``seconds`` of round-robin calls, then per-call latency over one pass."""
    for item in items[:200]:
        evaluate(item)
    done, started, i, n = 0, time.perf_counter(), 0, len(items)
    while True:
        for _ in range(100):
            evaluate(items[i])
            i = (i + 1) % n
        done += 100
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
    latencies = []
    clock = time.perf_counter_ns
    for item in items:
        t0 = clock()
        evaluate(item)
        latencies.append(clock() - t0)
    latencies.sort()
    return {"per_second": done / elapsed, "p50_us": latencies[len(latencies) // 2] / 1000,
            "p99_us": latencies[int(len(latencies) * 0.99)] / 1000, "mean_us": statistics.fmean(latencies) / 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    pinned = pin_to_one_cpu()
    library = load_library()
    documents = workload.generate(args.count)
    ids = sorted(library.policies, key=lambda p: (p != "tms-clinical", p))
    rows = {}
    for policy_id in ids:
        subs = [library.load({**d, "policies": [policy_id]}) for d in documents]
        rows[policy_id] = measure(library.evaluate, subs, args.seconds)
    if len(ids) > 1:
        subs = [library.load({**d, "policies": ids}) for d in documents]
        rows[f"all {len(ids)} policies"] = measure(library.evaluate, subs, args.seconds)

    clinical = [library.load({**d, "policies": ["tms-clinical"]}) for d in documents]
    reference = naive.NaiveEngine()
    disagreements = sum(library.evaluate(s).results[0]["determination"] != reference.evaluate(s) for s in clinical)
    rows["naive design (tms-clinical)"] = measure(reference.evaluate, clinical, args.seconds)
    ratio = rows["tms-clinical"]["per_second"] / rows["naive design (tms-clinical)"]["per_second"]

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    if args.json:
        print(json.dumps({"machine": machine, "pinned": pinned, "mix": args.count, "rows": rows,
                          "ratio_to_naive": ratio, "naive_disagreements": disagreements}, indent=2))
        return
    print(f"{machine}; {pinned}; mix of {args.count} submissions; {args.seconds:g} s per row")
    print(f"{'':34} {'evaluations/s':>14} {'p50 µs':>9} {'p99 µs':>9}")
    for name, row in rows.items():
        print(f"{name:34} {row['per_second']:14,.0f} {row['p50_us']:9.1f} {row['p99_us']:9.1f}")
    print(f"tms-clinical vs the naive design: {ratio:.1f}x; determinations that disagree: {disagreements}")


if __name__ == "__main__":
    main()
