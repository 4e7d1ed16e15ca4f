"""The words the service stores and answers with, defined once: roles, review decisions and statuses, and the
audit trail's actions, outcomes and channels."""

from __future__ import annotations

ROLES = ("intake", "clinician", "admin", "technician")

DECISIONS = ("accept", "override")
REVIEW_STATUSES = ("pending", "accepted", "overridden")
REVIEW_STATUS = {"accept": "accepted", "override": "overridden"}  # the status a review's decision gives

ACTIONS = ("evaluation.create", "evaluation.read", "evaluation.list", "evaluation.review", "key.create",
           "key.list", "key.revoke", "audit.read", "audit.export", "policy.read", "session.start",
           "session.end", "course.create", "course.read", "course.list", "course.session", "course.rating",
           "course.adverse_event", "course.end", "course.next", "cds.feedback")
OUTCOMES = ("success", "replayed", "unchanged", "denied", "accepted", "overridden")  # the last two: cds.feedback
CHANNELS = ("api", "page", "cli", "cds")  # cds: a CDS Hooks call from an EHR
