"""What a course refuses: each check returns the problems of a write, keyed by JSON Pointer into its request body
(``""`` for the request as a whole); an empty dict means the write may be stored.

The shape of each request (types, ranges, words, which fields are required) is the API's schemas' to check;
these checks need the course. They refuse what contract section 5 refuses (a record before the start, or on an
ended course) and what would make the record contradict itself (a baseline after the start, an end before
what is recorded). A date in the future is not refused: the contract does not, and the domain has no clock.
"""

from __future__ import annotations

from datetime import date

from .model import Course, CourseEnd, Rating

Problems = dict[str, list[str]]


def check_new_course(start_date: date, baseline: Rating) -> Problems:
    """A new course: its baseline is the rating before the first session, so not after the start."""
    if baseline.date > start_date:
        return {"/baseline/date": [f"The baseline is the rating before the first session: it cannot be after the "
                                   f"start date ({start_date.isoformat()})."]}
    return {}


def check_record(course: Course, when: date, what: str) -> Problems:
    """A session, rating or adverse event dated ``when``: the course must be active, and the date on or after its
    start."""
    if course.end is not None:
        return {"": [f"The course ended on {course.end.date.isoformat()} ({course.end.reason.replace('_', ' ')}): "
                     f"no {what} can be added to it."]}
    if when < course.start_date:
        return {"/date": [f"Before the course's start ({course.start_date.isoformat()}): a {what} belongs to the "
                          "course from its first day on (the rating before it is the baseline)."]}
    return {}


def check_end(course: Course, end: CourseEnd) -> Problems:
    """Ending the course (an ended course is not checked here: ending it again is a conflict, not a bad request):
    on or after its start, and not before anything already recorded in it."""
    if end.date < course.start_date:
        return {"/date": [f"Before the course's start ({course.start_date.isoformat()})."]}
    last = course.last_recorded_date()
    if last is not None and end.date < last:
        return {"/date": [f"Sessions, ratings or events are recorded up to {last.isoformat()}: the course cannot "
                          "end before them."]}
    return {}
