"""Every policy's embedded test cases, one test each, plus the coverage of its rules."""

import pytest

from eligibility.checks import check_policy, run_case
from eligibility.library import policy_files, rules_dir
from eligibility.policy import load_policy

POLICIES = [load_policy(path) for path in policy_files(rules_dir())]


def _cases():
    for policy in POLICIES:
        for case in policy.cases:
            yield pytest.param(policy.id, policy.version, case, id=f"{policy.ruleset_name}:{case['name']}")


@pytest.mark.parametrize(("policy_id", "version", "case"), list(_cases()))
def test_policy_case(library, policy_id, version, case):
    """Every version's cases, old and new: an earlier file still decides as it did."""
    result = run_case(library, library.policy(policy_id, version), case)
    assert not result.failures, "\n".join(result.failures)


@pytest.mark.parametrize(("policy_id", "version"), sorted({(p.id, p.version) for p in POLICIES}))
def test_every_rule_of_a_policy_is_exercised_by_its_cases(library, policy_id, version):
    report = check_policy(library, library.policy(policy_id, version))
    assert not report.unexercised, f"rules no case makes fire: {report.unexercised}"


def test_the_clinical_policy_has_at_least_25_cases(library):
    assert len(library.policy("tms-clinical").cases) >= 25
