"""The payer policies (issue 7): acceptance scenarios, their cases and rules, refusal of bad files, and
the comparison table in docs/policies.md. (tests/test_policy_cases.py runs every embedded case one by one.)"""

from __future__ import annotations

import copy
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from api.cli import main
from eligibility import InvalidPolicy, load_library
from eligibility.checks import check_policy
from eligibility.library import policy_files

from .support import CLASSIC, copy_rules_base, shared_library

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"

# Every policy of the rules folder, by its metadata: the configured defaults lead, the others follow by id.
DEFAULTS = shared_library().default_policies
ALL = (*DEFAULTS, *sorted(set(shared_library().policies) - set(DEFAULTS)))
PAYERS = tuple(pid for pid in ALL if pid not in DEFAULTS)

def evaluate(library, document, policies=ALL):
    document = {**copy.deepcopy(document), "policies": list(policies)}
    return library.evaluate(library.load(document, today=date.fromisoformat(document["as_of"])))


def determinations(evaluation) -> dict[str, str]:
    return {r.policy.id: r.determination for r in evaluation.results}


# -- acceptance --------------------------------------------------------------------------------------


def test_every_policy_folder_is_loaded(library):
    assert set(library.policies) == {path.parent.name for path in policy_files(RULES)}


def test_the_classic_case_meets_every_policy(library):
    got = determinations(evaluate(library, CLASSIC))
    assert got == {pid: "meets_criteria" for pid in ALL}


def test_one_failed_trial_meets_only_the_clinical_and_two_medicare_policies(library):
    document = copy.deepcopy(CLASSIC)
    document["medication_trials"] = [CLASSIC["medication_trials"][0], CLASSIC["medication_trials"][2]]
    got = determinations(evaluate(library, document))
    meeting = {pid for pid, determination in got.items() if determination == "meets_criteria"}
    assert meeting == {"tms-clinical", "cms-lcd-l34998", "cms-lcd-l34522"}


def test_six_week_trials_fail_aetna_only_on_the_trial_criterion(library):
    document = copy.deepcopy(CLASSIC)
    for trial in document["medication_trials"][:2]:
        trial["duration_weeks"] = 6
    result = evaluate(library, document, ["aetna-cpb-0469"]).result("aetna-cpb-0469").to_wire()
    assert result["determination"] == "does_not_meet_criteria"
    failing = [c for c in result["criteria"] if c["status"] != "met"]
    assert [c["id"] for c in failing] == ["antidepressant-failure"]
    assert failing[0]["status"] == "not_met"
    assert "8 weeks" in failing[0]["reason"]


def test_results_come_in_request_order(library):
    order = ["centene-cp-bh-200", "tms-clinical", "cms-lcd-l37086", "aetna-cpb-0469", "bcbsa-mp-170"]
    evaluation = evaluate(library, CLASSIC, order)
    assert [r.policy.id for r in evaluation.results] == order


# -- every policy's embedded cases run in tests/test_policy_cases.py, one test each --------------------


@pytest.mark.parametrize("policy_id", PAYERS)
def test_every_payer_policy_has_at_least_12_cases_exercising_every_rule(library, policy_id):
    report = check_policy(library, library.policy(policy_id))
    assert len(report.cases) >= 12
    assert report.ok, [f for c in report.cases for f in c.failures] + report.unexercised


@pytest.mark.parametrize("policy_id", ALL)
def test_every_policy_carries_its_therapys_implant_contraindications(library, policy_id):
    """Where a policy's therapy says an implant group at the treatment site contraindicates it, some
    contraindication criterion of the policy reads that group (and never a bare guess from a boolean)."""
    policy = library.policy(policy_id)
    groups = [g for g in (policy.therapy.implants.groups if policy.therapy.implants else ())
              if g.contraindicated_at_site]
    read = {field for c in policy.criteria if c.kind.value == "contraindication"
            for name in (n for leaf in c.leaves for n in leaf.rules)
            for field in _fields(policy.ruleset[name])}
    for group in groups:
        assert f"implant.{group.name}.at_site" in read, group.name


def _fields(node) -> set[str]:
    if isinstance(node, dict):
        return {k for k in node if not k.startswith("$")} | {f for v in node.values() for f in _fields(v)}
    if isinstance(node, list):
        return {f for v in node for f in _fields(v)}
    return set()


# -- bad files are refused at load, naming the file and the field -------------------------------------


def _rules_dir_with(tmp_path: Path, mutate) -> tuple[Path, Path]:
    """A rules directory with the catalogue, tms-clinical and a mutated copy of the Aetna policy."""
    rules = tmp_path / "rules"
    copy_rules_base(rules)
    (rules / "tms-clinical").mkdir(parents=True)
    shutil.copy(RULES / "tms-clinical" / "1.0.0.json", rules / "tms-clinical" / "1.0.0.json")
    source = next((RULES / "aetna-cpb-0469").glob("*.json"))
    document = json.loads(source.read_text(encoding="utf-8"))
    mutate(document)
    target = rules / "aetna-cpb-0469" / source.name
    target.parent.mkdir()
    target.write_text(json.dumps(document), encoding="utf-8")
    return rules, target


def _criterion(document, criterion_id):
    index = next(i for i, c in enumerate(document["criteria"]) if c["id"] == criterion_id)
    return index, document["criteria"][index]


def _break_rule(document):
    _, age = _criterion(document, "age")
    age["rules"]["age-below-minimum"]["when"] = {"$lt": {"agee": 15}}


def _unknown_kind(document):
    _, age = _criterion(document, "age")
    age["kind"] = "advisory"


def _unknown_source(document):
    _, age = _criterion(document, "age")
    age["sources"] = ["aetna-cpb-0469-2031"]


def _parameter_without_source(document):
    del document["parameters"]["min_age"]["sources"]


@pytest.mark.parametrize(("mutate", "field", "message"), [
    (_break_rule, "/criteria/{age}/rules/age-below-minimum/when/$lt", "unknown fact field 'agee'"),
    (_unknown_kind, "/criteria/{age}/kind", "'advisory' is not one of"),
    (_unknown_source, "/criteria/{age}/sources/0", "unknown source 'aetna-cpb-0469-2031'"),
    (_parameter_without_source, "/parameters/min_age", "'sources' is a required property"),
], ids=["broken-rule", "unknown-criterion-kind", "unknown-source", "parameter-without-source"])
def test_a_bad_policy_file_is_refused_at_load(tmp_path, mutate, field, message):
    rules, path = _rules_dir_with(tmp_path, mutate)
    age_index = _criterion(json.loads(path.read_text()), "age")[0]
    with pytest.raises(InvalidPolicy) as refused:
        load_library(rules)  # nothing is returned: the library never starts half-loaded
    text = str(refused.value)
    assert text.startswith(str(path))
    assert f"{field.format(age=age_index)}: " in text
    assert message in text


# -- the comparison table ----------------------------------------------------------------------------


def test_docs_policies_md_is_current(capsys):
    """docs/policies.md must be exactly what `python -m eligibility policies --markdown` prints now."""
    assert main(["policies", "--markdown"]) == 0
    generated = capsys.readouterr().out
    committed = (ROOT / "docs" / "policies.md").read_text(encoding="utf-8")
    assert committed == generated, (
        "docs/policies.md is stale: run python -m eligibility policies --markdown > docs/policies.md")


def test_the_comparison_has_a_column_per_policy_and_marks_unconfirmed_numbers(capsys):
    main(["policies", "--markdown"])
    table = capsys.readouterr().out
    header = next(line for line in table.splitlines() if line.startswith("| Rule dimension"))
    assert [cell.strip(" `") for cell in header.strip("|").split("|")][1:] == list(ALL)
    session_row = next(line for line in table.splitlines() if "`session-limit`" in line)
    assert "At most 25 sessions for an initial course" in session_row
    assert "At most 30 sessions (six weeks of daily treatment), taper included †" in session_row
