"""Evaluating a submission, reading it back and the review queue, on the in-memory unit of work."""

from __future__ import annotations

import json

import pytest

from eligibility import InvalidSubmission
from services import evaluations
from services.documents import dumps, evaluation_document
from services.errors import IdempotencyKeyReused, NotFound
from services.memory import InMemoryUnitOfWork

from ..support import example
from .conftest import START, api, principal, received


def evaluate(uow, library, clock, ids, document, key=None, **statuses):
    return evaluations.evaluate(uow, library, received(document), api(**(statuses or {"success": 201})),
                                idempotency_key=key, clock=clock, new_id=ids)


def test_an_evaluation_is_stored_with_its_audit_row_and_answered_with_the_documents_bytes(uow, library, clock, ids):
    document = example("classic-trd")
    answered = evaluate(uow, library, clock, ids, document)
    expected = dumps(evaluation_document(library.evaluate(library.load(document)), "0" * 31 + "1",
                                         "2026-12-01T09:30:00Z"))
    assert (answered.id, answered.body, answered.replayed) == ("0" * 31 + "1", expected, False)
    assert answered.outcomes == {"tms-clinical": "meets_criteria"}
    stored = uow.store.evaluations[answered.id].new
    assert stored.result == expected and stored.submission == received(document).text
    assert stored.created_at == START.replace(microsecond=0) and stored.request_id == "req-1"
    assert stored.body_digest.startswith("sha256:") and stored.idempotency_key is None
    assert [(p.id, p.determination) for p in stored.policies] == [("tms-clinical", "meets_criteria")]
    [row] = uow.store.audit
    policy = json.loads(expected)["results"][0]["policy"]
    assert (row.action, row.outcome, row.channel, row.evaluation_id, row.status, row.request_id) == (
        "evaluation.create", "success", "api", answered.id, 201, "req-1")
    assert row.recorded_at == START and row.policies == (
        {"id": policy["id"], "version": policy["version"], "digest": policy["digest"]},)
    assert uow.commits == 1


def test_the_same_key_and_body_replays_the_first_evaluation_and_stores_nothing_new(uow, library, clock, ids):
    first = evaluate(uow, library, clock, ids, example("classic-trd"), key="order-1")
    clock.advance(seconds=5)
    again = evaluate(uow, library, clock, ids, example("classic-trd"), key="order-1", success=201, replayed=200)
    assert (again.id, again.body, again.replayed, again.outcomes) == (first.id, first.body, True, None)
    assert len(uow.store.evaluations) == 1
    assert [(r.action, r.outcome, r.evaluation_id, r.status) for r in uow.store.audit] == [
        ("evaluation.create", "success", first.id, 201), ("evaluation.create", "replayed", first.id, 200)]
    assert uow.store.audit[1].policies == uow.store.audit[0].policies


def test_the_same_key_with_another_body_is_refused_and_nothing_is_recorded(uow, library, clock, ids):
    evaluate(uow, library, clock, ids, example("classic-trd"), key="order-2")
    with pytest.raises(IdempotencyKeyReused):
        evaluate(uow, library, clock, ids, example("aneurysm-clip"), key="order-2")
    assert len(uow.store.evaluations) == 1 and len(uow.store.audit) == 1


def test_an_invalid_submission_stores_nothing_and_does_not_claim_its_key(uow, library, clock, ids):
    with pytest.raises(InvalidSubmission) as raised:
        evaluate(uow, library, clock, ids, example("invalid"), key="k")
    assert len(raised.value.errors) == 5
    assert not uow.store.evaluations and not uow.store.audit
    assert not evaluate(uow, library, clock, ids, example("classic-trd"), key="k").replayed


def test_a_concurrent_request_with_the_same_key_that_commits_first_is_answered_again(store, library, clock):
    """The race the database settles: both requests miss the key, the other stores first, this one replays."""
    document = example("incomplete-referral")
    winner = {}

    def new_id_after_the_other_request_committed():
        # Called between this request's key lookup and its insert: the concurrent request finishes now.
        winner["answered"] = evaluate(InMemoryUnitOfWork(store), library, clock, lambda: "a" * 32, document,
                                      key="race")
        return "b" * 32

    uow = InMemoryUnitOfWork(store)
    loser = evaluations.evaluate(uow, library, received(document), api(success=201, replayed=200),
                                 idempotency_key="race", clock=clock, new_id=new_id_after_the_other_request_committed)
    assert (loser.id, loser.replayed, loser.body) == ("a" * 32, True, winner["answered"].body)
    assert list(store.evaluations) == ["a" * 32]
    assert [(r.outcome, r.evaluation_id) for r in store.audit] == [("success", "a" * 32), ("replayed", "a" * 32)]


def test_an_action_and_its_audit_row_are_stored_together_or_not_at_all(uow, library, clock, ids, monkeypatch):
    def fail(event):
        raise RuntimeError("the audit row cannot be written")

    monkeypatch.setattr(uow.audit, "add", fail)
    with pytest.raises(RuntimeError):
        evaluate(uow, library, clock, ids, example("classic-trd"))
    assert not uow.store.evaluations and uow.commits == 0


def test_reading_answers_the_stored_bytes_and_audits_the_read(uow, library, clock, ids):
    created = evaluate(uow, library, clock, ids, example("classic-trd"))
    reader = principal(uow, "clinician")
    found = evaluations.read_evaluation(uow, created.id, api(reader, success=200), clock=clock)
    assert (found.body, found.result, found.reviews, found.submission) == (created.body, created.body, [], None)
    row = uow.store.audit[-1]
    assert (row.action, row.actor_key_id, row.actor_role, row.evaluation_id, row.status) == (
        "evaluation.read", reader.key_id, "clinician", created.id, 200)
    assert row.policies == uow.store.audit[0].policies
    with_submission = evaluations.read_evaluation(uow, created.id, api(reader), submission=True, clock=clock)
    assert json.loads(with_submission.submission) == example("classic-trd")


def test_the_stored_bytes_are_answered_even_when_a_fresh_evaluation_would_differ(uow, library, clock, ids):
    created = evaluate(uow, library, clock, ids, example("classic-trd"))
    entry = uow.store.evaluations[created.id]
    altered = created.body.replace('"reason":"', '"reason":"(as first stored) ', 1)
    entry.new = type(entry.new)(**{**entry.new.__dict__, "result": altered})
    assert evaluations.read_evaluation(uow, created.id, api(), clock=clock).body == altered


@pytest.mark.parametrize("evaluation_id", ["0" * 32, "not-an-id", "A" * 32, ""])
def test_an_unknown_evaluation_is_not_found_and_not_audited(uow, clock, evaluation_id):
    with pytest.raises(NotFound) as raised:
        evaluations.read_evaluation(uow, evaluation_id, api(), clock=clock)
    assert (raised.value.what, raised.value.id) == ("evaluation", evaluation_id)
    assert not uow.store.audit


def test_the_queue_lists_newest_first_in_pages_joined_by_cursors_and_filters(uow, library, clock, ids):
    created = [evaluate(uow, library, clock, ids, example(name)).id
               for name in ("classic-trd", "aneurysm-clip", "incomplete-referral")]
    reviewer = api(principal(uow, "clinician"), success=200)
    first = evaluations.queue(uow, reviewer, limit=2, clock=clock)
    assert [i.id for i in first.items] == created[::-1][:2] and first.next_cursor
    second = evaluations.queue(uow, reviewer, limit=2, cursor=first.next_cursor, clock=clock)
    assert [i.id for i in second.items] == created[:1] and second.next_cursor is None
    assert [i.id for i in evaluations.queue(uow, reviewer, limit=20, determination="contraindicated",
                                             clock=clock).items] == [created[1]]
    assert [i.id for i in evaluations.queue(uow, reviewer, limit=20, policy="tms-clinical",
                                             determination="meets_criteria", clock=clock).items] == [created[0]]
    assert evaluations.queue(uow, reviewer, limit=20, policy="aetna-cpb-0469", clock=clock).items == []
    assert evaluations.queue(uow, reviewer, limit=20, review_status="accepted", clock=clock).items == []
    item = first.items[0].to_wire()
    assert list(item) == ["id", "created_at", "as_of", "reference", "review", "policies"]
    assert item["review"] == {"status": "pending"} and item["created_at"] == "2026-12-01T09:30:00Z"
    assert item["policies"][0]["determination"] == "insufficient_information"
    listed = [r for r in uow.store.audit if r.action == "evaluation.list"]
    assert len(listed) == 6 and all(r.status == 200 and r.actor_role == "clinician" for r in listed)
