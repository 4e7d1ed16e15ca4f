"""A fixed, seeded mix of realistic submissions for the benchmarks.

The mix (by default 1,000 submissions, seed 20261125) resembles what an intake system sends:
about a third that meet the clinical criteria, a quarter that fail one (mild episode, trials
too short or too low, a bipolar diagnosis), a quarter with something unknown (no safety
screen, no severity, a trial's dose or weeks missing) and the rest contraindicated; each with
1 to 12 medication trials drawn from the drug catalogue.

    python benchmarks/workload.py --count 1000 --out mix.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, timedelta

AS_OF = date(2026, 11, 2)
SEED = 20261125

ANTIDEPRESSANTS = [("sertraline", 50, 200), ("escitalopram", 10, 20), ("fluoxetine", 20, 80), ("citalopram", 20, 40),
                   ("paroxetine", 20, 50), ("venlafaxine", 150, 375), ("duloxetine", 60, 120),
                   ("desvenlafaxine", 50, 100), ("bupropion", 300, 450), ("mirtazapine", 15, 45),
                   ("vortioxetine", 10, 20), ("vilazodone", 40, 40), ("nortriptyline", 75, 150),
                   ("amitriptyline", 150, 300), ("trazodone", 300, 600), ("phenelzine", 45, 90)]
AUGMENTERS = [("aripiprazole", 2, 15), ("brexpiprazole", 1, 3), ("quetiapine", 150, 300), ("lithium", None, None)]
SAFETY = ["intracranial_metal", "cochlear_implant", "implanted_neurostimulator", "cardiac_device", "seizure_history",
          "neurological_condition", "active_suicidal_intent", "substance_use_past_90_days",
          "ketamine_or_esketamine_current"]


def _day(rng: random.Random, low: int, high: int) -> str:
    return (AS_OF - timedelta(days=rng.randint(low, high))).isoformat()


def _trial(rng: random.Random, kind: str) -> dict:
    name, minimum, maximum = rng.choice(AUGMENTERS if kind == "augmentation" else ANTIDEPRESSANTS)
    dose = rng.choice([minimum, maximum, (minimum or 10) // 2 or 1]) if minimum else rng.choice([300, 600, 900])
    trial = {"drug": name, "daily_dose_mg": dose, "duration_weeks": rng.choice([2, 4, 6, 8, 8, 10, 12, 16]),
             "episode": rng.choices(["current", "previous"], [4, 1])[0],
             "outcome": rng.choices(["no_response", "partial_response", "intolerance", "response", "ongoing"],
                                    [5, 3, 2, 1, 1])[0],
             "adherence_percent": rng.choice([70, 80, 90, 95, 100]),
             "dose_limited_by_tolerability": rng.choice([True, False])}
    if kind == "augmentation":
        trial["role"] = "augmentation"
    if rng.random() < 0.2:
        trial["improvement_percent"] = rng.choice([0, 10, 20, 30])
    return trial


def submission(rng: random.Random, index: int) -> dict:
    """One submission; its category decides what it lacks or what disqualifies it."""
    category = rng.choices(["meets", "fails", "unknown", "contraindicated"], [35, 25, 25, 15])[0]
    trials = [_trial(rng, "antidepressant") for _ in range(rng.randint(1, 10))]
    trials += [_trial(rng, "augmentation") for _ in range(rng.randint(0, 2))]
    trials = trials[:12]
    document = {
        "as_of": AS_OF.isoformat(),
        "reference": f"bench-{index:05d}",
        "patient": {"age": rng.randint(18, 80), "sex": rng.choice(["female", "male"]), "pregnant": False},
        "current_episode": {"onset": _day(rng, 120, 1400), "severity": rng.choice(["moderate", "severe"]),
                            "psychotic_features": False, "catatonia": False},
        "diagnoses": [{"code": rng.choice(["F33.1", "F33.2", "F32.1", "F32.2"])}],
        "scales": [{"instrument": rng.choice(["phq-9", "hamd-17"]), "score": rng.randint(15, 25),
                    "date": _day(rng, 0, 60)}],
        "medication_trials": trials,
        "psychotherapy_trials": [{"modality": rng.choice(["cbt", "ipt", "behavioral_activation"]),
                                  "sessions": rng.choice([8, 12, 16, 20]), "duration_weeks": rng.choice([8, 12, 16]),
                                  "episode": "current", "outcome": rng.choice(["no_response", "partial_response"])}],
        "ect_courses": [],
        "tms_courses": [],
        "safety": {field: False for field in SAFETY},
        "request": {"kind": "initial", "protocol": "rtms_10hz", "sessions": rng.choice([30, 36])},
        "ordering_clinician": {"role": rng.choice(["psychiatrist", "psychiatrist", "psychiatric_nurse_practitioner"])},
    }
    failed = {"drug": "sertraline", "daily_dose_mg": 200, "duration_weeks": 10, "episode": "current",
              "outcome": "no_response", "adherence_percent": 95}
    if category == "meets":
        document["medication_trials"][0] = failed
    elif category == "fails":
        spoil = rng.choice(["mild", "bipolar", "short-trials"])
        if spoil == "mild":
            document["current_episode"]["severity"] = "mild"
        elif spoil == "bipolar":
            document["diagnoses"].append({"code": "F31.81"})
        else:
            for trial in document["medication_trials"]:
                trial.update(duration_weeks=2, outcome="no_response")
    elif category == "unknown":
        gap = rng.choice(["safety", "severity", "trial-details", "psychotic"])
        if gap == "safety":
            del document["safety"]
        elif gap == "severity":
            del document["current_episode"]["severity"]
            del document["scales"]
        elif gap == "trial-details":
            document["medication_trials"] = [{"drug": t["drug"], "episode": "current", "outcome": "no_response"}
                                             for t in document["medication_trials"]]
        else:
            del document["current_episode"]["psychotic_features"]
    else:
        document["safety"][rng.choice(["intracranial_metal", "cochlear_implant", "implanted_neurostimulator"])] = True
    if rng.random() < 0.1:
        document["safety"] = {**document.get("safety", {}), "cardiac_device": True}
    return document


def generate(count: int = 1000, seed: int = SEED) -> list[dict]:
    """The benchmark mix: ``count`` submissions, the same for the same seed."""
    rng = random.Random(seed)
    return [submission(rng, i) for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", default="-", help="a JSON-lines file (default: standard output)")
    args = parser.parse_args()
    lines = "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in generate(args.count, args.seed))
    if args.out == "-":
        print(lines, end="")
    else:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(lines)


if __name__ == "__main__":
    main()
