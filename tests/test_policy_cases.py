"""Every policy's embedded test cases, one test each, plus the coverage of its rules."""

import pytest

from eligibility.checks import check_policy, run_case
from eligibility.library import policy_files, rules_dir
from eligibility.policy import load_policy

POLICIES = [load_policy(path) for path in policy_files(rules_dir())]


def _cases():
    for policy in POLICIES:
        for case in policy.cases:
            yield pytest.param(policy.id, case, id=f"{policy.ruleset_name}:{case['name']}")


@pytest.mark.parametrize(("policy_id", "case"), list(_cases()))
def test_policy_case(library, policy_id, case):
    result = run_case(library, library.policy(policy_id), case)
    assert not result.failures, "\n".join(result.failures)


@pytest.mark.parametrize("policy_id", sorted({p.id for p in POLICIES}))
def test_every_rule_of_a_policy_is_exercised_by_its_cases(library, policy_id):
    report = check_policy(library, library.policy(policy_id))
    assert not report.unexercised, f"rules no case makes fire: {report.unexercised}"


def test_the_clinical_policy_has_at_least_25_cases(library):
    assert len(library.policy("tms-clinical").cases) >= 25
