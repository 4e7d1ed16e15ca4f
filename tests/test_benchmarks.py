"""The engine benchmark's references decide like the engine; the benchmark runs from a checkout.

No timing is asserted: the run is tiny, and only its agreement and its output's shape are checked.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_engine_benchmark_references_agree_with_the_engine_on_every_determination():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "engine.py"), "--count", "200", "--seconds",
                          "0.01", "--json"], capture_output=True, text=True, timeout=300, cwd=ROOT, check=True)
    report = json.loads(run.stdout)
    assert report["disagreements"] == 0
    rows = report["rows"]
    assert {"tms-clinical", "naive design (tms-clinical)", "decision only, unexplained (tms-clinical)",
            "plain Python, unexplained (tms-clinical)"} <= set(rows)
    assert report["ratio_to_plain"] > 0 and len(report["ratio_rounds"]["plain"]["rounds"]) == 5
    assert any(name.startswith("all ") for name in rows)
    for name, row in rows.items():
        assert row["per_second"] > 0 and 0 < row["p50_us"] <= row["p99_us"], name


def test_plain_python_reference_decides_every_embedded_case_of_its_version_like_the_engine(library):
    """The hand-coded decision agrees with the engine criterion by criterion on the policy's own cases, which
    reach further than the benchmark mix (implant lists, scores between bandings, improvement percentages)."""
    import importlib.util
    from datetime import date

    from eligibility.checks import case_submission

    # loaded by path: benchmarks/ on sys.path would hide the standard library's http behind benchmarks/http.py
    spec = importlib.util.spec_from_file_location("benchmarks_plain", ROOT / "benchmarks" / "plain.py")
    plain = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plain)

    policy = library.policy("tms-clinical", plain.POLICY_VERSION)
    assert policy.version == library.policy("tms-clinical").version  # the current version
    compared = 0
    for case in policy.cases:
        document = case_submission(policy, case)
        submission = library.load(document, today=date.fromisoformat(document["as_of"]))
        result = library.evaluate(submission, versions={policy.id: policy.version}).result(policy.id)
        criteria, contraindications = plain.statuses(submission)
        assert {c.id: c.status for c in result.criteria} == {**criteria, **contraindications}, case["name"]
        assert result.determination == plain.evaluate(submission), case["name"]
        compared += 1
    assert compared >= 25
