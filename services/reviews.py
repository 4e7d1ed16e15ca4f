"""Clinician reviews: record one, or amend the current one.

A review is ``accept`` (the clinician agrees with a determination of the results) or ``override``
(the clinician's own determination, with a required reason). An evaluation has one current review;
a second review is refused unless it names the review it amends (``amends``), and then the earlier
one stays visible under ``review.earlier``. The evaluation's stored results never change.
"""

from __future__ import annotations

from dataclasses import dataclass

from .audit import Caller
from .clock import Clock, to_second, utc_now
from .errors import Invalid, NotFound, ReviewConflict, WriteConflict
from .evaluations import EVALUATION_ID
from .records import NewReview, PolicyRow, ReviewRecord
from .unit_of_work import UnitOfWork
from .vocabulary import REVIEW_STATUS


@dataclass(frozen=True)
class ReviewRequest:
    """A validated review: the request schema has checked the words and which members go together."""

    decision: str
    determination: str | None = None
    reason: str | None = None  # stripped; None when blank
    amends: int | None = None


def record_review(uow: UnitOfWork, evaluation_id: str, request: ReviewRequest, caller: Caller, *,
                  clock: Clock = utc_now) -> list[ReviewRecord]:
    """Record ``caller.actor``'s review of an evaluation with its audit row; return every review, oldest first.

    :raises NotFound: no evaluation has this id.
    :raises ReviewConflict: ``request.amends`` is not the current review's number (also when a concurrent
        review got there first).
    :raises Invalid: the determination does not fit the evaluation's results.
    """
    if not EVALUATION_ID.fullmatch(evaluation_id):
        raise NotFound("evaluation", evaluation_id)
    reviewer = caller.actor
    with uow:
        if uow.evaluations.review_status(evaluation_id) is None:
            raise NotFound("evaluation", evaluation_id)
        policies = uow.evaluations.policies(evaluation_id)
        current = uow.reviews.current_number(evaluation_id)
        if request.amends != current:
            raise ReviewConflict(current, request.amends)
        now = clock()
        number = (current or 0) + 1
        try:
            uow.reviews.add(evaluation_id, number, NewReview(
                decision=request.decision, determination=_determination(request, policies),
                reason=request.reason, reviewer_key_id=reviewer.key_id, reviewed_at=to_second(now)))
        except WriteConflict:
            uow.rollback()  # a concurrent review took this number
            raise ReviewConflict(uow.reviews.current_number(evaluation_id), request.amends) from None
        uow.evaluations.set_review_status(evaluation_id, REVIEW_STATUS[request.decision])
        uow.audit.add(caller.event("evaluation.review", "success", now, evaluation_id=evaluation_id,
                                   review_number=number, policies=tuple(p.ref() for p in policies)))
        reviews = uow.reviews.of(evaluation_id)
        uow.commit()
    return reviews


def _invalid(detail: str) -> Invalid:
    return Invalid(detail, {"/determination": [detail]}, title="Invalid review")


def _determination(request: ReviewRequest, policies: tuple[PolicyRow, ...]) -> str:
    """The review's determination, checked against the evaluation's results."""
    found = list(dict.fromkeys(p.determination for p in policies))
    named = ", ".join(f"{p.id}: {p.determination}" for p in policies)
    determination = request.determination
    if request.decision == "accept":
        if determination is None:
            if len(found) != 1:
                raise _invalid(f"The results differ ({named}); name the determination you accept.")
            return found[0]
        if determination not in found:
            raise _invalid(f"An accept agrees with a result ({named}); to disagree, override.")
        return determination
    if found == [determination]:
        raise _invalid(f"Every result is already {determination}; accept it (with a reason, if you wish).")
    return determination
