"""``to_meet``: every suggested change, applied to the submission and evaluated again, makes its criterion met
and no criterion that was met not met.

Run over every policy version's own cases: for each criterion that is not met (or unknown) and each change
in its ``to_meet``, the change's edits are applied to the case's submission document (through
``apply_edits``, as a client would apply the wire's ``edits``), the document is validated again by the
schema and evaluated under the same policy version.
"""

import json
from datetime import date
from pathlib import Path

import pytest

from eligibility.changes import apply_edits
from eligibility.checks import case_submission
from eligibility.errors import EligibilityError
from eligibility.library import policy_files, rules_dir
from eligibility.policy import load_policy

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
POLICIES = [load_policy(path) for path in policy_files(rules_dir())]


def _evaluate(library, policy, document):
    submission = library.load(document, today=date.fromisoformat(document["as_of"]))
    return library.evaluate(submission, versions={policy.id: policy.version}).result(policy.id)


def _results(library, policy_id, version):
    policy = library.policy(policy_id, version)
    for case in policy.cases:
        document = case_submission(policy, case)
        try:
            result = _evaluate(library, policy, document)
        except EligibilityError:
            continue  # a case about a refused submission
        yield policy, case, document, result


@pytest.mark.parametrize(("policy_id", "version"), sorted({(p.id, p.version) for p in POLICIES}))
def test_each_suggested_change_makes_its_criterion_met(library, policy_id, version):
    applied, failures = 0, []
    for policy, case, document, result in _results(library, policy_id, version):
        for criterion in result.criteria:
            if criterion.status == "met":
                assert criterion.to_meet is None and "to_meet" not in criterion.to_wire()
                continue
            assert criterion.to_meet is not None
            for change in criterion.to_meet:
                wire = change.to_wire()
                assert wire["text"] and wire["pointers"] and wire["edits"]
                assert {e["path"].removesuffix("/-") for e in wire["edits"]} == set(wire["pointers"])
                changed = apply_edits(document, wire["edits"])
                try:
                    again = _evaluate(library, policy, changed)
                except EligibilityError as exc:
                    failures.append(f"{case['name']}/{criterion.id}: {change.text!r} is refused: {exc}")
                    continue
                applied += 1
                after = again.criterion(criterion.id)
                if after.status != "met":
                    failures.append(f"{case['name']}/{criterion.id}: {change.text!r} leaves it {after.status}: "
                                    f"{after.reason}")
                # and no change undoes another criterion: what was met stays met or becomes a question
                for before, now in zip(result.criteria, again.criteria, strict=True):
                    if before.status == "met" and now.status == "not_met":
                        failures.append(f"{case['name']}/{criterion.id}: {change.text!r} makes {now.id} not met")
    assert not failures, "\n".join(failures)
    assert applied, "no case of this policy has a change to apply"


def test_what_cannot_change_gives_no_change(library):
    """An age below the minimum, a contraindicating implant: nothing the submission could say changes them."""
    policy = library.policy("tms-clinical")
    cases = {c["name"]: c for c in policy.cases}
    seen = 0
    for case in policy.cases:
        result = _evaluate(library, policy, case_submission(policy, case))
        for criterion in result.criteria:
            if criterion.id == "age" and criterion.status == "not_met":
                assert criterion.to_meet == ()
                seen += 1
            if criterion.kind == "contraindication" and criterion.status == "not_met":
                assert criterion.to_meet == ()
                seen += 1
    assert seen >= 2 and cases


def test_wire_shape_and_words(evaluate):
    """A result prints ``to_meet`` with each criterion that is not met: text, pointers and edits."""
    document = json.loads((EXAMPLES / "incomplete-referral.json").read_text())
    document.pop("policies", None)
    result = evaluate(document)
    severity = next(c for c in result["criteria"] if c["id"] == "severity")
    assert severity["status"] == "unknown"
    assert all(set(c) == {"text", "pointers", "edits"} for c in severity["to_meet"])
    by_pointer = {tuple(c["pointers"]): c["text"] for c in severity["to_meet"]}
    assert "PHQ-9" in by_pointer[("/scales",)] and "90 days" in by_pointer[("/scales",)]
    assert "moderate" in by_pointer[("/current_episode/severity",)]
    assert all("to_meet" not in c for c in result["criteria"] if c["status"] == "met")
