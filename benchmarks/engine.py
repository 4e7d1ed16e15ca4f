"""Engine benchmark: evaluations per second on one core and p50/p99 latency, per policy.

    python benchmarks/engine.py [--seconds 3] [--count 1000] [--json]
    python benchmarks/engine.py --profile      # where an evaluation of tms-clinical spends its time
    python benchmarks/engine.py --sessions     # a reused durable-rules session against a fresh one per fire
    python benchmarks/engine.py --to-meet      # what computing to_meet costs, on the mix under every policy

Submissions come from ``workload.generate`` (seeded) and are validated once, before timing:
what is timed is ``Library.evaluate`` of a validated submission, i.e. summary facts,
durable-rules firing and the explained result, not marshmallow. Each figure runs the whole
mix round-robin for ``--seconds``; latency is the distribution of single evaluations over one
further pass of the mix. The process is pinned to one CPU. The naive design of ``naive.py``
runs the same mix in the same process as the reference, and must agree on every determination;
so must the "decision only" row, the engine's own facts and rules without any explanation, which
shows what the reasons, evidence and measures cost, and the "plain Python" row of ``plain.py``, the
same decision coded by hand with no durable-rules and no explanation. The ratios to plain Python and
to the naive design are medians of 5 rounds that alternate the three, so that a neighbour's load
on the shared machine falls on all of them alike.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import naive  # noqa: E402
import plain  # noqa: E402
import workload  # noqa: E402

from eligibility import load_library  # noqa: E402
from eligibility.evaluation import all_of, any_of, determine  # noqa: E402
from eligibility.facts import summarise  # noqa: E402


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


def rate(evaluate, items, seconds: float) -> float:
    """Evaluations per second over whole passes of ``items`` for at least ``seconds``."""
    done, started = 0, time.perf_counter()
    while True:
        for item in items:
            evaluate(item)
        done += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


def alternating_ratios(engine, references: dict, items, seconds: float, rounds: int = 5) -> dict:
    """The engine's time per evaluation over each reference's, median of ``rounds`` rounds in which the
    engine and the references run one after the other (the order turning each round)."""
    runners = {"engine": engine, **references}
    ratios = {name: [] for name in references}
    names = list(runners)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        rates = {name: rate(runners[name], items, seconds) for name in order}
        for name in references:
            ratios[name].append(rates[name] / rates["engine"])
    return {name: {"median": statistics.median(values), "rounds": values} for name, values in ratios.items()}


def decision_only(library, policy_id: str):
    """The determination alone: the same summary fact and the same rules fired by durable-rules, but no
    reason, evidence, missing information, cautions or measures. Not a product path; it shows what the
    explanation costs beside the decision, and must agree with ``Library.evaluate`` on every submission."""
    policy, fire, catalogue = library.policy(policy_id), library.ruleset(policy_id).fire, library.catalogue

    def decide(sub) -> str:
        summary = summarise(sub, policy, catalogue)
        status = {policy.rules[name].target: policy.rules[name].status
                  for name in fire(summary.fact) if name in policy.rules}
        pairs = []
        for criterion in policy.criteria:
            if criterion.combine is None:
                pairs.append((criterion.kind_value, status[(criterion.id, None)]))
            else:
                combine = any_of if criterion.combine == "any_of" else all_of
                pairs.append((criterion.kind_value, combine(status[(criterion.id, leaf.id)]
                                                            for leaf in criterion.leaves)))
        return determine(pairs).value

    return decide


def session_cost(library, subs, rounds: int = 3) -> None:
    """Print the cost of ``Ruleset.fire`` (assert, fire, retract in the ruleset's one reused session) beside
    the same with a new session for every fact, deleted afterwards: the design the engine does not take."""
    import durable_rules_engine  # the benchmark reaches past the adapter on purpose, as naive.py does

    policy, ruleset = library.policy("tms-clinical"), library.ruleset("tms-clinical")
    facts = [summarise(sub, policy, library.catalogue).fact for sub in subs]
    for fact in facts:
        ruleset.fire(fact)
    for _ in range(rounds):
        started = time.perf_counter()
        for fact in facts:
            ruleset.fire(fact)
        reused = (time.perf_counter() - started) / len(facts) * 1e6
        started = time.perf_counter()
        for fact in facts:
            ruleset._sid = uuid.uuid4().hex  # what _reset does after a fault: the next fact opens a new session
            ruleset.fire(fact)
            durable_rules_engine.delete_state(ruleset._handle, ruleset._sid)
        fresh = (time.perf_counter() - started) / len(facts) * 1e6
        print(f"reused session {reused:6.1f} µs per fire; a new session per fire, deleted after, {fresh:6.1f} µs")


# The stages of an evaluation, by the functions that do them (cumulative time, so nested calls count
# once, in their stage): summary facts, durable-rules, the explained criteria, the staging measures.
STAGES = {
    "summary facts (facts.summarise)": ("facts/summary.py", "summarise"),
    "durable-rules assert, fire, retract (engine.fire)": ("engine.py", "fire"),
    "reasons, evidence, missing information (evaluation._criterion_result)": ("evaluation.py", "_criterion_result"),
    "staging measures (evaluation.measures)": ("evaluation.py", "measures"),
}


def profile(library, subs, rounds: int = 3) -> None:
    """Print the share of each stage of ``Library.evaluate`` over ``rounds`` passes of the mix, under cProfile
    (which inflates every function call alike, so compare the shares, not the absolute times)."""
    for sub in subs:
        library.evaluate(sub)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        for sub in subs:
            library.evaluate(sub)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(tt for (_, _, tt, _, _) in stats.values())
    print(f"{rounds * len(subs):,} evaluations of tms-clinical under cProfile; share of the time in each stage:")
    for label, (filename, function) in STAGES.items():
        cumulative = sum(ct for (file, _, name), (_, _, _, ct, _) in stats.items()
                         if file.endswith(filename) and name == function)
        print(f"  {cumulative / total:6.1%}  {label}")
    print("  the rest: Library.evaluate's loop, the determination, the result's dictionaries")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def to_meet_cost(library, documents, seconds: float, rounds: int = 15) -> None:
    """The whole mix under every current policy, evaluated with ``to_meet`` and with it left out (the same
    code with the changes' computation replaced by an empty answer), in alternating passes. Each pass is
    timed in CPU time of this process (``time.process_time``), and the fastest pass of each kind is kept:
    on a shared machine, other processes lengthen the slower passes, not the fastest."""
    from eligibility import evaluation

    ids = sorted(library.policies)
    subs = [library.load({**d, "policies": ids}) for d in documents]
    criteria = [c for s in subs for r in library.evaluate(s).results for c in r.criteria]
    open_criteria = [c for c in criteria if c.status != "met"]
    changes = sum(len(c.to_meet) for c in open_criteria)
    computed = evaluation.to_meet
    passes: dict[str, list[float]] = {"with to_meet": [], "without to_meet": []}

    def one_pass() -> float:
        started = time.process_time()
        for sub in subs:
            library.evaluate(sub)
        return (time.process_time() - started) / len(subs)

    try:
        for _ in range(rounds):
            evaluation.to_meet = computed
            passes["with to_meet"].append(one_pass())
            evaluation.to_meet = lambda *args: ()
            passes["without to_meet"].append(one_pass())
    finally:
        evaluation.to_meet = computed
    print(f"{len(subs)} submissions x {len(ids)} policies: {len(criteria)} criteria, {len(open_criteria)} not met "
          f"or unknown, {changes} changes suggested; fastest of {rounds} passes each, CPU time")
    best = {name: min(times) for name, times in passes.items()}
    for name, t in best.items():
        print(f"{name:16} {t * 1e6:9.0f} µs per submission (9 policies)")
    print(f"with / without: {best['with to_meet'] / best['without to_meet']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile tms-clinical's evaluations instead")
    parser.add_argument("--sessions", action="store_true", help="time a reused session against a new one per fire")
    parser.add_argument("--to-meet", action="store_true", help="time evaluations with and without to_meet")
    args = parser.parse_args()

    pinned = pin_to_one_cpu()
    library = load_library()
    documents = workload.generate(args.count)
    if args.to_meet:
        to_meet_cost(library, documents, args.seconds)
        return
    if args.profile or args.sessions:
        clinical = [library.load({**d, "policies": ["tms-clinical"]}) for d in documents]
        (profile if args.profile else session_cost)(library, clinical)
        return
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
    # The naive design re-implements tms-clinical as its first version read it: compare with that version.
    pinned_version = {"tms-clinical": naive.POLICY_VERSION}
    disagreements = sum(library.evaluate(s, versions=pinned_version).results[0].determination != reference.evaluate(s)
                        for s in clinical)
    rows["naive design (tms-clinical)"] = measure(reference.evaluate, clinical, args.seconds)
    decide = decision_only(library, "tms-clinical")
    disagreements += sum(library.evaluate(s).results[0].determination != decide(s) for s in clinical)
    rows["decision only, unexplained (tms-clinical)"] = measure(decide, clinical, args.seconds)
    # The hand-coded decision decides as the current version does, the one Library.evaluate reads by default.
    assert library.policy("tms-clinical").version == plain.POLICY_VERSION, "plain.py decides another version"
    disagreements += sum(library.evaluate(s).results[0].determination != plain.evaluate(s) for s in clinical)
    rows["plain Python, unexplained (tms-clinical)"] = measure(plain.evaluate, clinical, args.seconds)
    ratios = alternating_ratios(library.evaluate, {"plain": plain.evaluate, "naive": reference.evaluate}, clinical,
                                max(args.seconds / 3, 0.01))
    ratio, ratio_plain = 1 / ratios["naive"]["median"], ratios["plain"]["median"]

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    if args.json:
        print(json.dumps({"machine": machine, "pinned": pinned, "mix": args.count, "rows": rows,
                          "ratio_to_naive": ratio, "ratio_to_plain": ratio_plain,
                          "ratio_rounds": ratios, "disagreements": disagreements}, indent=2))
        return
    print(f"{machine}; {pinned}; mix of {args.count} submissions; {args.seconds:g} s per row")
    print(f"{'':42} {'evaluations/s':>14} {'p50 µs':>9} {'p99 µs':>9}")
    for name, row in rows.items():
        print(f"{name:42} {row['per_second']:14,.0f} {row['p50_us']:9.1f} {row['p99_us']:9.1f}")
    rounds = ", ".join(f"{v:.2f}" for v in ratios["plain"]["rounds"])
    print(f"tms-clinical's time per evaluation vs plain Python: {ratio_plain:.2f}x (median of 5 alternating "
          f"rounds: {rounds})")
    rounds = ", ".join(f"{1 / v:.2f}" for v in ratios["naive"]["rounds"])
    print(f"tms-clinical's speed vs the naive design: {ratio:.2f}x (median of 5 alternating rounds: {rounds})")
    print(f"determinations that disagree with the engine (naive, decision-only, plain Python): {disagreements}")


if __name__ == "__main__":
    main()
