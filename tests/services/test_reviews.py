"""Recording a review and amending it, on the in-memory unit of work."""

from __future__ import annotations

import json

import pytest

from services import evaluations, reviews
from services.documents import answer, review_document
from services.errors import Invalid, NotFound, ReviewConflict
from services.memory import InMemoryUnitOfWork
from services.reviews import ReviewRequest

from ..support import example
from .conftest import api, principal, received


@pytest.fixture
def evaluation(uow, library, clock):
    """A stored evaluation of the classic referral under tms-clinical (meets_criteria)."""
    return evaluations.evaluate(uow, library, received(example("classic-trd")), api(), clock=clock)


@pytest.fixture
def clinician(uow):
    return principal(uow, "clinician", "Dr Review")


def record(uow, clock, evaluation_id, reviewer, **request):
    return reviews.record_review(uow, evaluation_id, ReviewRequest(**request), api(reviewer, success=201),
                                 clock=clock)


def test_an_override_is_recorded_audited_and_shown_in_the_answer_with_every_other_byte_as_stored(
        uow, clock, evaluation, clinician):
    [review] = record(uow, clock, evaluation.id, clinician, decision="override",
                      determination="insufficient_information", reason="Adherence is not documented.")
    assert (review.number, review.decision, review.determination, review.reviewer) == (
        1, "override", "insufficient_information", clinician)
    assert review.reviewed_at == clock().replace(microsecond=0)
    assert uow.store.evaluations[evaluation.id].review_status == "overridden"
    row = uow.store.audit[-1]
    assert (row.action, row.evaluation_id, row.review_number, row.actor_key_id, row.status) == (
        "evaluation.review", evaluation.id, 1, clinician.key_id, 201)
    shown = review_document([review])
    assert shown["status"] == "overridden" and shown["reviewer"]["name"] == "Dr Review" and "earlier" not in shown
    body = evaluations.read_evaluation(uow, evaluation.id, api(clinician), clock=clock).body
    assert body == answer(evaluation.body, [review])
    head, _, tail = evaluation.body.partition('"review":{"status":"pending"}')
    assert body.startswith(head) and body.endswith(tail) and '"reason":"Adherence is not documented."' in body


def test_an_accept_takes_the_results_one_determination(uow, clock, evaluation, clinician):
    [review] = record(uow, clock, evaluation.id, clinician, decision="accept")
    assert (review.determination, uow.store.evaluations[evaluation.id].review_status) == ("meets_criteria",
                                                                                          "accepted")


def test_a_second_review_is_a_conflict_and_an_amendment_keeps_the_earlier_one(uow, clock, evaluation, clinician):
    record(uow, clock, evaluation.id, clinician, decision="accept")
    assert record(uow, clock, evaluation.id, clinician, decision="accept").replayed  # the same again: nothing new
    with pytest.raises(ReviewConflict) as raised:
        record(uow, clock, evaluation.id, clinician, decision="accept", reason="Agreed.")
    assert (raised.value.current, raised.value.amends) == (1, None)
    with pytest.raises(ReviewConflict) as raised:
        record(uow, clock, evaluation.id, clinician, decision="accept", reason="x", amends=2)
    assert (raised.value.current, raised.value.amends) == (1, 2)
    other = principal(uow, "clinician", "Dr Second")
    clock.advance(minutes=3)
    amended = record(uow, clock, evaluation.id, other, decision="override", determination="does_not_meet_criteria",
                     reason="A cardiac device was found on review.", amends=1)
    assert [(r.number, r.reviewer) for r in amended] == [(1, clinician), (2, other)]
    shown = review_document(amended)
    assert (shown["status"], shown["number"], [e["number"] for e in shown["earlier"]]) == ("overridden", 2, [1])
    assert [(r.review_number, r.outcome) for r in uow.store.audit if r.action == "evaluation.review"] == [
        (1, "success"), (1, "replayed"), (2, "success")]


def test_amending_an_unreviewed_evaluation_is_a_conflict(uow, clock, evaluation, clinician):
    with pytest.raises(ReviewConflict) as raised:
        record(uow, clock, evaluation.id, clinician, decision="accept", reason="x", amends=1)
    assert (raised.value.current, raised.value.amends) == (None, 1)


@pytest.mark.parametrize(("request_", "detail"), [
    ({"decision": "override", "determination": "meets_criteria", "reason": "why"}, "Every result is already"),
    ({"decision": "accept", "determination": "contraindicated"}, "An accept agrees with a result"),
])
def test_a_determination_that_does_not_fit_the_results_is_invalid_and_nothing_is_stored(
        uow, clock, evaluation, clinician, request_, detail):
    audited = len(uow.store.audit)
    with pytest.raises(Invalid) as raised:
        record(uow, clock, evaluation.id, clinician, **request_)
    assert raised.value.detail.startswith(detail) and list(raised.value.errors) == ["/determination"]
    assert raised.value.title == "Invalid review"
    assert not uow.store.reviews.get(evaluation.id) and len(uow.store.audit) == audited


def test_an_accept_of_results_that_differ_must_name_one(uow, library, clock, clinician):
    document = {**example("classic-trd"), "policies": ["tms-clinical", "cms-lcd-l34998"]}
    created = evaluations.evaluate(uow, library, received(document), api(), clock=clock)
    first, second = (r["determination"] for r in json.loads(created.body)["results"])
    assert first != second
    with pytest.raises(Invalid, match="The results differ"):
        record(uow, clock, created.id, clinician, decision="accept")
    [review] = record(uow, clock, created.id, clinician, decision="accept", determination=second)
    assert review.determination == second


@pytest.mark.parametrize("evaluation_id", ["0" * 32, "not-an-id"])
def test_reviewing_an_unknown_evaluation_is_not_found(uow, clock, clinician, evaluation_id):
    with pytest.raises(NotFound):
        record(uow, clock, evaluation_id, clinician, decision="accept")


def test_a_concurrent_review_that_took_the_number_first_is_a_conflict(store, clock, evaluation, clinician,
                                                                      monkeypatch):
    """Both read "no review yet"; the other one's insert lands first, so this one's is refused (``WriteConflict``)
    and the service answers with the conflict."""
    uow = InMemoryUnitOfWork(store)
    real_add = type(uow.reviews).add

    def add_after_the_other(self, evaluation_id, number, review):
        monkeypatch.setattr(type(uow.reviews), "add", real_add)
        record(InMemoryUnitOfWork(store), clock, evaluation_id, clinician, decision="accept")
        real_add(self, evaluation_id, number, review)

    monkeypatch.setattr(type(uow.reviews), "add", add_after_the_other)
    with pytest.raises(ReviewConflict) as raised:
        record(uow, clock, evaluation.id, clinician, decision="override", determination="contraindicated",
               reason="x")
    assert (raised.value.current, raised.value.amends) == (1, None)
    assert [n for n, _ in store.reviews[evaluation.id]] == [1]
    assert store.evaluations[evaluation.id].review_status == "accepted"
