"""The command line, driven through ``main`` as a user would, and through ``python -m eligibility``."""

import json

import pytest

from api.cli import main

from .support import EXAMPLES, classic, copy_rules_base


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("name", "determination"), [
    ("classic-trd", "meets_criteria"), ("aneurysm-clip", "contraindicated"),
    ("incomplete-referral", "insufficient_information"),
])
def test_evaluate_prints_the_api_body(capsys, name, determination):
    code, out, _ = run(capsys, "evaluate", str(EXAMPLES / f"{name}.json"))
    body = json.loads(out)
    assert code == 0
    assert body["results"][0]["determination"] == determination
    assert body["review"] == {"status": "pending"} and body["id"] and body["created_at"].endswith("Z")


def test_evaluate_refuses_invalid_input_with_every_problem(capsys):
    code, out, err = run(capsys, "evaluate", str(EXAMPLES / "invalid.json"))
    assert code == 2 and out == ""
    problem = json.loads(err)
    assert problem["status"] == 422 and len(problem["errors"]) == 5


def test_evaluate_reads_standard_input_and_policy_flags(capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({**classic(), "as_of": "2026-11-02"})))
    code, out, _ = run(capsys, "evaluate", "-", "--policy", "tms-clinical")
    assert code == 0 and json.loads(out)["results"][0]["policy"]["id"] == "tms-clinical"


def test_evaluate_reports_unreadable_json(capsys, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    code, _, err = run(capsys, "evaluate", str(path))
    assert code == 2 and "not readable as JSON" in err


def test_policies_lists_version_and_digest(capsys):
    code, out, _ = run(capsys, "policies", "--json")
    listed = {p["id"]: p for p in json.loads(out)}
    assert code == 0 and listed["tms-clinical"]["digest"].startswith("sha256:")


def test_check_rules_passes_for_the_shipped_policies(capsys):
    code, out, _ = run(capsys, "check-rules")
    assert code == 0 and "ok   tms-clinical@" in out


def test_check_rules_names_a_failing_case(capsys, tmp_path):

    from eligibility.library import rules_dir

    copy_rules_base(tmp_path)
    document = json.loads((rules_dir() / "tms-clinical" / "1.0.0.json").read_text())
    document["cases"][0]["expect"]["determination"] = "contraindicated"
    (tmp_path / "tms-clinical").mkdir()
    (tmp_path / "tms-clinical" / "1.0.0.json").write_text(json.dumps(document))
    code, out, _ = run(capsys, "--rules-dir", str(tmp_path), "check-rules")
    assert code == 1
    assert f"case {document['cases'][0]['name']}: determination is meets_criteria, expected contraindicated" in out


def test_batch_writes_one_result_a_line_and_reports_bad_lines_by_number(capsys, tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    good = json.dumps({**classic(), "as_of": "2026-11-02"})
    source.write_text("\n".join([good, "{oops", json.dumps({"patient": {"age": -1}}), good]) + "\n")
    code, _, err = run(capsys, "batch", str(source), str(target), "--quiet")
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert code == 2 and len(lines) == 4
    assert lines[0]["results"][0]["determination"] == "meets_criteria"
    assert lines[1]["line"] == 2 and lines[2]["line"] == 3
    assert "/patient/age" in lines[2]["error"]["errors"]
    assert "line 2: invalid" in err and "line 3: invalid" in err


def test_python_m_eligibility_runs_the_one_command_line(capsys):
    import subprocess
    import sys

    root = EXAMPLES.parent
    done = subprocess.run([sys.executable, "-m", "eligibility", "policies", "--json"], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert (done.returncode, done.stdout) == run(capsys, "policies", "--json")[:2]
    done = subprocess.run([sys.executable, "-m", "eligibility", "evaluate", str(EXAMPLES / "invalid.json")], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and json.loads(done.stderr)["status"] == 422


def _benchmark_module(name: str):
    """A module of benchmarks/, loaded by path (the directory is not put on sys.path: its http.py would hide
    the standard library's http in the processes a batch spawns)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", EXAMPLES.parent / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _without_ids_and_times(output: bytes) -> bytes:
    """A batch's output less each result's id and created_at, the two things unique to each evaluation."""
    import re

    return re.sub(rb'(?m)^\{"id":"[0-9a-f]{32}","created_at":"[0-9T:Z-]{20}",', b"{", output)


def test_batch_in_parallel_writes_the_same_results_in_input_order_as_one_job(capsys, tmp_path, monkeypatch):
    from api.cli import rules

    workload = _benchmark_module("workload")

    monkeypatch.setattr(rules, "CHUNK", 7)  # many small chunks, more than the pool keeps in flight
    documents = workload.generate(120)
    lines = [json.dumps(d) for d in documents[:60]] + ["{oops", "", json.dumps({"patient": {"age": -1}})]
    lines += [json.dumps({**d, "policies": ["tms-clinical", "cigna-0383"]}) for d in documents[60:]]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = []
    for jobs in ("1", "3"):
        target = tmp_path / f"out-{jobs}.jsonl"
        code, _, err = run(capsys, "batch", str(source), str(target), "--jobs", jobs)
        outputs.append((code, err.replace(str(target), "<output>"), target.read_bytes()))
    (code, err, one), *others = outputs
    assert code == 2 and "line 61: invalid" in err and "line 63: invalid" in err and "123 line(s), 2 invalid" in err
    assert all((c, e) == (code, err) for c, e, _ in others)  # the same invalid lines reported, in the same order
    assert one.count(b"\n") == 122 and one.count(b'"id":') >= 120
    assert [json.loads(line).get("reference") for line in one.splitlines()] == (
        [d["reference"] for d in documents[:60]] + [None, None] + [d["reference"] for d in documents[60:]])
    assert all(_without_ids_and_times(out) == _without_ids_and_times(one) for _, _, out in others)
    assert _without_ids_and_times(one).count(b'"created_at"') == 0


def test_batch_refuses_a_job_count_below_one(capsys, tmp_path):
    with pytest.raises(SystemExit):
        run(capsys, "batch", str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), "--jobs", "0")
