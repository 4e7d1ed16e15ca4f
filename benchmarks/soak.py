"""Soak: a million evaluations in one process, resident memory sampled every 100,000.

    python benchmarks/soak.py [--evaluations 1000000] [--every 100000] [--policy tms-clinical]

Prints the resident set size at each sample and the growth per evaluation after the first
sample (expected ~0 bytes: every evaluation retracts its fact from the reused session).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import workload  # noqa: E402

from eligibility import load_library  # noqa: E402


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000)
    parser.add_argument("--policy", action="append")
    args = parser.parse_args()
    library = load_library()
    policies = args.policy or ["tms-clinical"]
    subs = [library.load({**d, "policies": policies}) for d in workload.generate(1000)]
    samples = []
    started = time.perf_counter()
    for i in range(1, args.evaluations + 1):
        library.evaluate(subs[i % len(subs)])
        if i % args.every == 0:
            samples.append((i, resident_bytes()))
            print(f"{i:>9,} evaluations  {samples[-1][1] / 2**20:8.2f} MiB  {time.perf_counter() - started:7.1f} s",
                  flush=True)
    (first_n, first_rss), (last_n, last_rss) = samples[0], samples[-1]
    per_evaluation = (last_rss - first_rss) / max(1, last_n - first_n)
    print(f"growth after the first sample: {(last_rss - first_rss) / 1024:.0f} KiB over {last_n - first_n:,} "
          f"evaluations = {per_evaluation:.3f} bytes per evaluation; session facts left: "
          f"{len(library.ruleset(policies[0]).facts_in_session())}")


if __name__ == "__main__":
    main()
