"""The durable-rules adapter: registration, session hygiene, and failing closed."""

import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from eligibility import EngineError, engine
from eligibility.evaluation import evaluate_policy
from eligibility.policy import compile_policy

from .support import classic


def _rules(threshold=18):
    return {
        "adult": {"all": [{"m": {"$and": [{"t": "s"}, {"$gte": {"age": threshold}}]}}]},
        "minor": {"all": [{"m": {"$and": [{"t": "s"}, {"$lt": {"age": threshold}}]}}]},
    }


def test_a_ruleset_is_registered_once_per_name():
    name = f"probe-{uuid.uuid4().hex}@1"
    assert engine.register(name, _rules()) is engine.register(name, _rules())


def test_different_rules_under_a_registered_name_are_refused():
    name = f"probe-{uuid.uuid4().hex}@1"
    engine.register(name, _rules())
    with pytest.raises(EngineError, match="already registered"):
        engine.register(name, _rules(threshold=21))


def test_a_malformed_ruleset_is_refused_with_its_name():
    with pytest.raises(EngineError, match="probe-bad"):
        engine.register(f"probe-bad-{uuid.uuid4().hex}@1", {"x": {"all": [{"m": {"$gtx": {"age": 1}}}]}})


def test_firing_names_the_matching_rules_and_leaves_the_session_empty():
    ruleset = engine.register(f"probe-{uuid.uuid4().hex}@1", _rules())
    assert ruleset.fire({"t": "s", "age": 44}) == ["adult"]
    assert ruleset.fire({"t": "s", "age": 4}) == ["minor"]
    assert ruleset.fire({"t": "s"}) == []
    assert ruleset.facts_in_session() == []


def test_identical_facts_in_a_row_are_independent_evaluations():
    ruleset = engine.register(f"probe-{uuid.uuid4().hex}@1", _rules())
    assert [ruleset.fire({"t": "s", "age": 30}) for _ in range(3)] == [["adult"]] * 3


def test_no_engine_thread_is_ever_started():
    """In a fresh interpreter: loading and registering every policy and evaluating leave the main thread alone
    (durable-rules' Python host would start dispatcher and timer threads at the first of these)."""
    code = ("import threading, eligibility, tests.support as s; lib = eligibility.load_library(); "
            "lib.evaluate(lib.load({**s.classic(), 'policies': sorted(lib.policies)})); "
            "print(threading.active_count())")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert ran.stdout == "1\n"


def test_an_engine_fault_is_an_error_and_the_next_evaluation_starts_clean():
    ruleset = engine.register(f"probe-{uuid.uuid4().hex}@1", _rules())
    too_many_properties = {f"p{i}": i for i in range(300)}  # durable-rules holds at most ~252 per fact
    with pytest.raises(EngineError, match="rules engine failure"):
        ruleset.fire({"t": "s", "age": 44, **too_many_properties})
    with pytest.raises(EngineError):
        ruleset.fire({"t": "s", "age": 44, "x": object()})
    assert ruleset.fire({"t": "s", "age": 44}) == ["adult"]
    assert ruleset.facts_in_session() == []


def test_evaluations_from_many_threads_stay_separate(library):
    ruleset = engine.register(f"probe-{uuid.uuid4().hex}@1", _rules())
    results, errors = {}, []

    def work(age):
        try:
            results[age] = [ruleset.fire({"t": "s", "age": age}) for _ in range(200)]
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(age,)) for age in (5, 17, 18, 60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert {age: set(map(tuple, r)) for age, r in results.items()} == {
        5: {("minor",)}, 17: {("minor",)}, 18: {("adult",)}, 60: {("adult",)}}


@pytest.fixture
def policy_document(library):
    return library.policy("tms-clinical").document


def _evaluate_with(library, document, submission_doc):
    document = {**document, "id": f"probe-{uuid.uuid4().hex[:12]}"}
    policy = compile_policy(document)
    ruleset = engine.register(policy.ruleset_name, policy.ruleset)
    submission = library.load(submission_doc, today=None)
    return evaluate_policy(submission, policy, ruleset.fire, library.catalogue)


def test_two_rules_deciding_one_criterion_is_an_error_not_a_verdict(library, policy_document):
    import copy

    document = copy.deepcopy(policy_document)
    age = next(c for c in document["criteria"] if c["id"] == "age")
    age["rules"]["age-adult"]["when"] = {"$gte": {"age": 15}}  # now overlaps age-adolescent
    with pytest.raises(EngineError, match="must not overlap"):
        _evaluate_with(library, document, {**classic(), "as_of": "2026-11-02", "patient": {"age": 16}})


def test_a_case_no_rule_covers_is_an_error_not_a_verdict(library, policy_document):
    import copy

    document = copy.deepcopy(policy_document)
    age = next(c for c in document["criteria"] if c["id"] == "age")
    del age["rules"]["age-under-minimum"]
    with pytest.raises(EngineError, match="uncovered"):
        _evaluate_with(library, document, {**classic(), "as_of": "2026-11-02", "patient": {"age": 12}})


def test_overlapping_or_branches_are_an_error(library, policy_document):
    import copy

    document = copy.deepcopy(policy_document)
    age = next(c for c in document["criteria"] if c["id"] == "age")
    age["rules"]["age-adult"]["when"] = {"$or": [{"$gte": {"age": 18}}, {"$gte": {"age": 30}}]}
    with pytest.raises(EngineError, match="overlap"):
        _evaluate_with(library, document, {**classic(), "as_of": "2026-11-02", "patient": {"age": 44}})
