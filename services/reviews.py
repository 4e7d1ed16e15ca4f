"""Clinician reviews: record one, or amend the current one.

A review is ``accept`` (the clinician agrees with a determination of the results) or ``override``
(the clinician's own determination, with a required reason). It concerns every result of the
evaluation, or (``policy``) one policy's result alone, with the documentation requirements of that
policy the clinician attests (``attested``). Each of these scopes has one current review: a second
review of the same scope is refused unless it names the review it amends (``amends``), and then the
earlier one stays visible under ``earlier``. A request identical to the current review of its scope,
from the same reviewer (a double click, a form sent again), records nothing and is answered with the
reviews as they are. The evaluation's stored results never change.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from .audit import Caller
from .clock import Clock, to_second, utc_now
from .errors import Invalid, NotFound, ReviewConflict, WriteConflict
from .evaluations import EVALUATION_ID
from .records import NewReview, PolicyRow, ReviewRecord
from .unit_of_work import UnitOfWork
from .vocabulary import DETERMINATION_WORDS, overall_review_status


@dataclass(frozen=True)
class ReviewRequest:
    """A validated review: the request schema has checked the words and which members go together."""

    decision: str
    determination: str | None = None
    reason: str | None = None  # stripped; None when blank
    amends: int | None = None
    policy: str | None = None  # a policy id of the evaluation; None: every result
    attested: tuple[str, ...] | None = None  # documentation requirement ids of ``policy``, without repeats


class Reviewed(list):
    """Every review of an evaluation, oldest first (a list of ``ReviewRecord``), with the evaluation's policy ids
    in result order (``policy_ids``) and whether the request repeated the current review (``replayed``)."""

    def __init__(self, reviews, policy_ids: tuple[str, ...] = (), replayed: bool = False):
        super().__init__(reviews)
        self.policy_ids, self.replayed = policy_ids, replayed


def record_review(uow: UnitOfWork, evaluation_id: str, request: ReviewRequest, caller: Caller, *,
                  clock: Clock = utc_now) -> Reviewed:
    """Record ``caller.actor``'s review of an evaluation (or of one policy's result) with its audit row; return
    every review, oldest first.

    :raises NotFound: no evaluation has this id.
    :raises ReviewConflict: ``request.amends`` is not the current review's number in the request's scope (also
        when a concurrent review got there first).
    :raises Invalid: the policy is not one of the evaluation's, an attested id is not one of that policy's
        documentation requirements, or the determination does not fit the results.
    """
    if not EVALUATION_ID.fullmatch(evaluation_id):
        raise NotFound("evaluation", evaluation_id)
    reviewer = caller.actor
    with uow:
        found = uow.evaluations.get(evaluation_id)
        if found is None:
            raise NotFound("evaluation", evaluation_id)
        policies = uow.evaluations.policies(evaluation_id)
        policy_ids = tuple(p.id for p in policies)
        results = {r["policy"]["id"]: r for r in orjson.loads(found.result)["results"]}
        targets, label = _scope(request, policies, results)
        determination = _determination(request, targets, results)
        every = uow.reviews.of(evaluation_id)
        scope = [r for r in every if r.policy == request.policy]
        current = scope[-1] if scope else None
        if current is not None and _same(current, scope, request, determination, reviewer.key_id):
            uow.audit.add(caller.event("evaluation.review", "replayed", clock(), evaluation_id=evaluation_id,
                                       review_number=current.number, policies=tuple(p.ref() for p in targets)))
            uow.commit()
            return Reviewed(every, policy_ids, replayed=True)
        current_number = current.number if current else None
        if request.amends != current_number:
            raise ReviewConflict(current_number, request.amends, label)
        now = clock()
        number = max((r.number for r in every), default=0) + 1
        try:
            uow.reviews.add(evaluation_id, number, NewReview(
                decision=request.decision, determination=determination, reason=request.reason,
                reviewer_key_id=reviewer.key_id, reviewed_at=to_second(now), policy=request.policy,
                attested=None if request.policy is None else (request.attested or ())))
        except WriteConflict:
            uow.rollback()  # a concurrent review took this number
            scope = [r for r in uow.reviews.of(evaluation_id) if r.policy == request.policy]
            raise ReviewConflict(scope[-1].number if scope else None, request.amends, label) from None
        reviews = uow.reviews.of(evaluation_id)
        uow.evaluations.set_review_status(evaluation_id, overall_review_status(reviews))
        uow.audit.add(caller.event("evaluation.review", "success", now, evaluation_id=evaluation_id,
                                   review_number=number, policies=tuple(p.ref() for p in targets)))
        uow.commit()
    return Reviewed(reviews, policy_ids)


def _scope(request: ReviewRequest, policies: tuple[PolicyRow, ...],
           results: dict[str, dict]) -> tuple[tuple[PolicyRow, ...], str | None]:
    """The results the review concerns, and the reviewed policy's title (``None`` for every result); checks
    ``policy`` and ``attested``."""
    if request.policy is None:
        if request.attested:
            detail = "Attestations belong to one policy's documentation requirements; name the policy."
            raise Invalid(detail, {"/attested": [detail]}, title="Invalid review")
        return policies, None
    row = next((p for p in policies if p.id == request.policy), None)
    if row is None:
        titles = "; ".join(_title(results, p.id) for p in policies)
        detail = (f"This evaluation has no result under the policy {request.policy!r}; it was evaluated under: "
                  f"{titles}.")
        raise Invalid(detail, {"/policy": [detail]}, title="Invalid review")
    title = _title(results, row.id)
    known = [d["id"] for d in results[row.id].get("documentation_requirements", [])]
    unknown = [a for a in request.attested or () if a not in known]
    if unknown:
        offered = ", ".join(known) if known else "none"
        detail = (f"{title} has no documentation requirement {', '.join(map(repr, unknown))}; its requirements "
                  f"are: {offered}.")
        raise Invalid(detail, {"/attested": [detail]}, title="Invalid review")
    return (row,), title


def _title(results: dict[str, dict], policy_id: str) -> str:
    result = results.get(policy_id)
    return result["policy"].get("title", policy_id) if result else policy_id


def _same(current: ReviewRecord, scope: list[ReviewRecord], request: ReviewRequest, determination: str,
          key_id: str) -> bool:
    """Whether the request repeats the current review of its scope: same reviewer, same members."""
    amended = scope[-2].number if len(scope) > 1 else None
    return (current.reviewer.key_id == key_id and current.decision == request.decision
            and current.determination == determination and current.reason == request.reason
            and request.amends == amended
            and tuple(current.attested or ()) == tuple(request.attested or ()))


def _invalid(detail: str) -> Invalid:
    return Invalid(detail, {"/determination": [detail]}, title="Invalid review")


def _determination(request: ReviewRequest, policies: tuple[PolicyRow, ...], results: dict[str, dict]) -> str:
    """The review's determination, checked against the results it concerns."""
    found = list(dict.fromkeys(p.determination for p in policies))
    named = "; ".join(f"{_title(results, p.id)}: {DETERMINATION_WORDS[p.determination]}" for p in policies)
    determination = request.determination
    if request.decision == "accept":
        if determination is None:
            if len(found) != 1:
                raise _invalid(f"The results differ ({named}); name the determination you accept, or review "
                               f"one policy's result.")
            return found[0]
        if determination not in found:
            raise _invalid(f"An accept agrees with a result ({named}); to disagree, override.")
        return determination
    if found == [determination]:
        every = "Every result is" if request.policy is None else "The result is"
        raise _invalid(f"{every} already {DETERMINATION_WORDS[determination]}; accept it (with a reason, if you "
                       f"wish).")
    return determination
