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
    assert {"tms-clinical", "naive design (tms-clinical)", "decision only, unexplained (tms-clinical)"} <= set(rows)
    assert any(name.startswith("all ") for name in rows)
    for name, row in rows.items():
        assert row["per_second"] > 0 and 0 < row["p50_us"] <= row["p99_us"], name
