"""TMS course monitoring, in the domain: a course as values, its progress and alerts, what it refuses, and the
submission of its next step (contract section 5). Pure: no web framework, no store, no clock.

- ``model``: ``Course``, ``Session``, ``Rating``, ``AdverseEvent``, ``CourseEnd`` and the contract's words
- ``scales``: response (50%) and the remission cut-offs per instrument, with their sources
- ``monitoring``: ``progress(course)`` and ``alerts(course)``
- ``checks``: ``check_new_course``, ``check_record``, ``check_end`` (problems keyed by JSON Pointer)
- ``next_step``: ``next_submission`` (extension, retreatment or maintenance through the policies)
"""

from .checks import check_end, check_new_course, check_record
from .model import (
    ADVERSE_EVENT_ACTIONS,
    ADVERSE_EVENT_KINDS,
    ADVERSE_EVENT_SEVERITIES,
    COURSE_KINDS,
    COURSE_STATUSES,
    END_REASONS,
    INSTRUMENTS,
    NEXT_KINDS,
    AdverseEvent,
    Course,
    CourseEnd,
    Rating,
    Session,
)
from .monitoring import ALERT_CODES, ALERT_SEVERITIES, PROGRESS_STATUSES, Alert, Progress, alerts, improvement, progress
from .next_step import course_entry, next_submission
from .scales import REMISSION, RESPONSE_PERCENT, CutOff, remission_cut_off

__all__ = [
    "ADVERSE_EVENT_ACTIONS", "ADVERSE_EVENT_KINDS", "ADVERSE_EVENT_SEVERITIES", "ALERT_CODES", "ALERT_SEVERITIES",
    "COURSE_KINDS", "COURSE_STATUSES", "END_REASONS", "INSTRUMENTS", "NEXT_KINDS", "PROGRESS_STATUSES", "REMISSION",
    "RESPONSE_PERCENT", "AdverseEvent", "Alert", "Course", "CourseEnd", "CutOff", "Progress", "Rating", "Session",
    "alerts", "check_end", "check_new_course", "check_record", "course_entry", "improvement", "next_submission",
    "progress", "remission_cut_off",
]
