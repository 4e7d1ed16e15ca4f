"""The next step of a course through the policies: the submission that asks for it.

The submission is the one the course's evaluation was made from, with this course added to
``tms_courses`` (the sessions delivered, its protocol, its improvement on the baseline's scale, its end
date if it has ended, in the current episode) and ``request`` replaced by what is asked now: its
``kind`` (extension, retreatment, maintenance), the sessions asked for (not stated unless given: a
session limit is then unknown, never assumed) and the protocol (the course's unless given).

The course's ratings are *not* added to ``scales``: they measure the response to treatment, not the
episode's severity, and a responding patient read against a severity threshold would look like a mild
episode that needs no TMS. The referral's own scores and stated severity stay as they were.
"""

from __future__ import annotations

import copy
from datetime import date

from .model import Course
from .monitoring import progress


def course_entry(course: Course) -> dict:
    """This course as a ``tms_courses`` item of the contract (fields not known are left out)."""
    entry: dict = {"sessions": course.sessions_delivered, "episode": "current"}
    if course.protocol is not None:
        entry["protocol"] = course.protocol
    percent = progress(course).improvement_percent
    if percent is not None:
        # The contract's range is -100 to 100: a score more than twice the baseline is written as -100, which
        # every policy threshold (a response, an improvement to extend) reads the same way.
        entry["improvement_percent"] = max(percent, -100.0)
    if course.end is not None:
        entry["end_date"] = course.end.date.isoformat()
    return entry


def next_submission(submission: dict, course: Course, *, kind: str, as_of: date, sessions: int | None = None,
                    protocol: str | None = None, policies: list[str] | None = None) -> tuple[dict, list[tuple]]:
    """The submission for the course's next step, and the warnings to add to its result (``(pointer, detail)``).

    ``submission`` is the stored submission of the course's evaluation; it is not changed. ``policies``
    replace the stored ones when given. A ``patient.age`` given beside a ``birth_date`` is left out: the age
    on the new ``as_of`` is the birth date's to give (the two would no longer agree).
    """
    document = copy.deepcopy(submission)
    warnings: list[tuple] = []
    document["as_of"] = as_of.isoformat()
    if policies is not None:
        document["policies"] = list(policies)
    patient = document.get("patient")
    if isinstance(patient, dict) and patient.get("birth_date") is not None and patient.get("age") is not None:
        del patient["age"]
    earlier = document.get("tms_courses")
    if earlier is None:
        warnings.append(("/tms_courses", "The evaluation this course started from did not list earlier TMS courses: "
                                         "the list holds only this course, so an earlier course (and its sessions) "
                                         "is not counted."))
    position = len(earlier or ())
    document["tms_courses"] = [*(earlier or ()), course_entry(course)]
    request: dict = {"kind": kind}
    if protocol or course.protocol:
        request["protocol"] = protocol or course.protocol
    if sessions is not None:
        request["sessions"] = sessions
    document["request"] = request
    if course.end is None and kind == "retreatment":
        warnings.append((f"/tms_courses/{position}/end_date", "A retreatment is asked for while this course is still "
                                                              "active: it has no end date."))
    return document, warnings
