"""The independent clinical corpus: referrals written from the policy texts, one test each.

Each file in ``referrals/`` is named after a policy id and holds a list of referrals; each referral names the
principle of issue 12 it exercises (0 for an ordinary referral), the sentence of its source, the clinical
reasoning, a full submission and the expected determination, criterion statuses and forbidden reason
fragments. The expectations were written from the payers' documents, the device and drug labels and the
research file, never from the policy files, so they may disagree with the engine: a failure here is a
finding to fix in the engine, not an expectation to relax.
"""

import json
from datetime import date
from pathlib import Path

import pytest

from tests.support import shared_library

REFERRALS = Path(__file__).resolve().parent / "referrals"
POLICIES = ("tms-clinical", "cms-lcd-l34522", "cms-lcd-l34998", "cms-lcd-l37086", "aetna-cpb-0469", "cigna-0383",
            "optum-bh-tms", "bcbsa-mp-170", "centene-cp-bh-200")
DETERMINATIONS = ("meets_criteria", "does_not_meet_criteria", "insufficient_information", "contraindicated")
STATUSES = ("met", "not_met", "unknown")
FIELDS = {"name", "principle", "source", "why", "submission", "expect"}


def evaluate(document):  # -> the contract's result object of the first policy, as a dict
    library = shared_library()
    evaluation = library.evaluate(library.load(document, today=date.fromisoformat(document["as_of"])))
    return evaluation.result(document["policies"][0]).to_wire()


def referral_files():
    return sorted(REFERRALS.glob("*.json"))


def load_referrals():
    return [(path.stem, referral) for path in referral_files() for referral in json.loads(path.read_text())]


CORPUS = load_referrals()


def describe(criterion):
    return f"{criterion['id']} [{criterion['kind']}] {criterion['status']}: {criterion['reason']}"


@pytest.mark.parametrize("policy,referral", CORPUS, ids=[f"{policy}:{r['name']}" for policy, r in CORPUS])
def test_referral(policy, referral):
    result = evaluate(referral["submission"])
    expect = referral["expect"]
    criteria = {c["id"]: c for c in result["criteria"]}
    everything = "\n  ".join(describe(c) for c in result["criteria"])
    problems = []
    if result["determination"] != expect["determination"]:
        problems.append(f"determination {result['determination']}, expected {expect['determination']}")
    for criterion_id, status in expect["criteria"].items():
        criterion = criteria.get(criterion_id)
        if criterion is None:
            problems.append(f"no criterion {criterion_id!r} (expected {status})")
        elif criterion["status"] != status:
            problems.append(f"{criterion_id} is {criterion['status']}, expected {status}: {criterion['reason']}")
    for fragment in expect.get("reason_excludes", []):
        for criterion in result["criteria"]:
            if fragment.lower() in criterion["reason"].lower():
                problems.append(f"{criterion['id']}'s reason contains {fragment!r}: {criterion['reason']}")
    assert not problems, (f"{policy}:{referral['name']} (principle {referral['principle']})\n"
                          + "\n".join(problems) + f"\nwhy: {referral['why']}\ncriteria:\n  {everything}")


def test_every_policy_has_a_referral_file():
    assert sorted(path.stem for path in referral_files()) == sorted(POLICIES)


@pytest.mark.parametrize("path", referral_files(), ids=lambda path: path.stem)
def test_referral_file_is_well_formed(path):
    referrals = json.loads(path.read_text())
    assert isinstance(referrals, list) and referrals, f"{path.name} must be a non-empty list"
    names = [r.get("name") for r in referrals]
    assert len(names) == len(set(names)), f"duplicate names in {path.name}"
    for referral in referrals:
        where = f"{path.stem}:{referral.get('name')}"
        assert set(referral) == FIELDS, f"{where}: fields {sorted(referral)}"
        assert isinstance(referral["name"], str) and referral["name"], where
        assert isinstance(referral["principle"], int) and 0 <= referral["principle"] <= 11, where
        source = referral["source"]
        assert set(source) == {"url", "quote"}, where
        # a public address, or the shared policy text for the project's own clinical policy
        assert source["url"].startswith(("https://", "http://", "shared/")), where
        assert source["quote"].strip(), where
        assert referral["why"].strip(), where
        submission = referral["submission"]
        assert submission["policies"] == [path.stem], where
        date.fromisoformat(submission["as_of"])
        expect = referral["expect"]
        assert set(expect) <= {"determination", "criteria", "reason_excludes"}, where
        assert expect["determination"] in DETERMINATIONS, where
        assert all(status in STATUSES for status in expect["criteria"].values()), where
        assert all(isinstance(f, str) and f for f in expect.get("reason_excludes", [])), where


def test_no_two_referrals_are_identical():
    seen = {}
    for policy, referral in CORPUS:
        submission = {k: v for k, v in referral["submission"].items() if k != "reference"}
        key = json.dumps(submission, sort_keys=True)
        assert key not in seen, f"{policy}:{referral['name']} repeats {seen.get(key)}"
        seen[key] = f"{policy}:{referral['name']}"
