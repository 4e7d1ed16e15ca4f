"""The words the service stores and answers with, defined once: roles, review decisions and statuses, and the
audit trail's actions, outcomes and channels."""

from __future__ import annotations

ROLES = ("intake", "clinician", "admin", "technician")

DECISIONS = ("accept", "override")
REVIEW_STATUSES = ("pending", "accepted", "overridden")
REVIEW_STATUS = {"accept": "accepted", "override": "overridden"}  # the status a review's decision gives
DETERMINATION_WORDS = {"meets_criteria": "meets criteria", "does_not_meet_criteria": "does not meet criteria",
                       "insufficient_information": "insufficient information", "contraindicated": "contraindicated"}


def overall_review_status(reviews) -> str:
    """An evaluation's review status from its reviews (``ReviewRecord``s, oldest first): ``pending`` without one;
    the current review of every result's status when there is one; else ``overridden`` when some policy's
    current review overrides its result, ``accepted`` when each reviewed policy's is an accept."""
    if not reviews:
        return "pending"
    whole = [r for r in reviews if r.policy is None]
    if whole:
        return REVIEW_STATUS[whole[-1].decision]
    current = {r.policy: r for r in reviews}
    return "overridden" if any(r.decision == "override" for r in current.values()) else "accepted"

ACTIONS = ("evaluation.create", "evaluation.read", "evaluation.list", "evaluation.review", "key.create",
           "key.list", "key.revoke", "audit.read", "audit.export", "policy.read", "session.start",
           "session.end", "course.create", "course.read", "course.list", "course.session", "course.rating",
           "course.adverse_event", "course.end", "course.next", "cds.feedback")
OUTCOMES = ("success", "replayed", "unchanged", "denied", "accepted", "overridden")  # the last two: cds.feedback
CHANNELS = ("api", "page", "cli", "cds")  # cds: a CDS Hooks call from an EHR
