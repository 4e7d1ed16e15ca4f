"""Running a policy's own test cases: what ``check-rules`` and the test suite both use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .errors import EligibilityError
from .library import Library
from .policy import Policy


def merge_patch(target, patch):
    """Apply an RFC 7386 JSON Merge Patch: objects merge, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def case_submission(policy: Policy, case: dict) -> dict:
    """The submission a case evaluates: its own, or its base case's with its patch applied."""
    if "submission" in case:
        document = case["submission"]
    else:
        base = next((c for c in policy.cases if c["name"] == case["base"]), None)
        if base is None or base is case:
            raise ValueError(f"case {case['name']!r}: base case {case['base']!r} is not an earlier case")
        document = merge_patch(case_submission(policy, base), case["patch"])
    return {**document, "policies": [policy.id]}


@dataclass
class CaseResult:
    name: str
    failures: list[str]
    fired: list[str] = field(default_factory=list)


def run_case(library: Library, policy: Policy, case: dict) -> CaseResult:
    """Evaluate one case and compare it with its expectations; every mismatch is listed."""
    try:
        document = case_submission(policy, case)
        if "as_of" not in document:
            return CaseResult(case["name"], ["the submission has no as_of, so its result would change with the date"])
        submission = library.load(document, today=date.fromisoformat(document["as_of"]))
        result = library.evaluate(submission, versions={policy.id: policy.version}).result(policy.id)
    except (EligibilityError, ValueError) as exc:
        return CaseResult(case["name"], [f"{type(exc).__name__}: {exc}"])
    expect, failures = case["expect"], []
    if result.determination != expect["determination"]:
        failures.append(f"determination is {result.determination}, expected {expect['determination']}")
    by_id = {c.id: c for c in result.criteria}
    for criterion_id, status in expect.get("criteria", {}).items():
        got = by_id.get(criterion_id)
        if got is None:
            failures.append(f"criterion {criterion_id!r} is not in the policy")
        elif got.status != status:
            failures.append(f"{criterion_id} is {got.status}, expected {status}: {got.reason}")
    for criterion_id, fragment in expect.get("reason_contains", {}).items():
        reason = by_id[criterion_id].reason if criterion_id in by_id else ""
        if fragment not in reason:
            failures.append(f"{criterion_id}'s reason does not contain {fragment!r}: {reason!r}")
    fields = [m.field for m in result.missing_information]
    for pointer in expect.get("missing_fields", []):
        if pointer not in fields:
            failures.append(f"missing_information does not name {pointer} (it names {fields})")
    if "cautions" in expect:
        got = [c.id for c in result.cautions]
        if sorted(got) != sorted(expect["cautions"]):
            failures.append(f"cautions are {got}, expected {expect['cautions']}")
    measures = result.measures.to_wire()
    for name, value in expect.get("measures", {}).items():
        if measures.get(name) != value:
            failures.append(f"measure {name} is {measures.get(name)!r}, expected {value!r}")
    fired = [rule for c in result.criteria for rule in c.rules]
    fired += [f"caution-{c.id}" for c in result.cautions]
    fired += [name for d in result.documentation_requirements
              if (name := f"documentation-{d.id}") in policy.documentation_rules]
    return CaseResult(case["name"], failures, fired)


@dataclass
class PolicyCheck:
    policy: Policy
    cases: list[CaseResult]
    unexercised: list[str]

    @property
    def ok(self) -> bool:
        return not self.unexercised and all(not c.failures for c in self.cases)


def check_policy(library: Library, policy: Policy) -> PolicyCheck:
    """Run every case of ``policy``; also list the rules no case makes fire."""
    results = [run_case(library, policy, case) for case in policy.cases]
    fired = {name for r in results for name in r.fired}
    unexercised = [name for name in policy.ruleset if name not in fired]
    return PolicyCheck(policy, results, unexercised)
