"""What a course refuses: each check returns the problems of a write, keyed by JSON Pointer into its request body
(``""`` for the request as a whole); an empty dict means the write may be stored.

The shape of each request (types, ranges, words, which fields are required) is the API's schemas' to check;
these checks need the course. ``today`` is the caller's UTC date: a record may be dated at most one day
after it (a clinic east of UTC is already on the next day), never later.
"""

from __future__ import annotations

from datetime import date, timedelta

from .model import Course, CourseEnd, Rating

Problems = dict[str, list[str]]


def _latest_allowed(today: date) -> date:
    return today + timedelta(days=1)


def _future(when: date, today: date) -> list[str]:
    if when > _latest_allowed(today):
        return [f"{when.isoformat()} is in the future: only what has happened can be recorded."]
    return []


def check_new_course(start_date: date, baseline: Rating, today: date) -> Problems:
    """A new course: its baseline is the rating before the first session, so not after the start."""
    problems: Problems = {}
    if baseline.date > start_date:
        problems["/baseline/date"] = [f"The baseline is the rating before the first session: it cannot be after the "
                                      f"start date ({start_date.isoformat()})."]
    elif future := _future(baseline.date, today):
        problems["/baseline/date"] = future
    return problems


def check_record(course: Course, when: date, today: date, what: str) -> Problems:
    """A session, rating or adverse event dated ``when``: the course must be active, and the date on or after its
    start (and not in the future)."""
    if course.end is not None:
        return {"": [f"The course ended on {course.end.date.isoformat()} ({course.end.reason.replace('_', ' ')}): "
                     f"no {what} can be added to it."]}
    if when < course.start_date:
        return {"/date": [f"Before the course's start ({course.start_date.isoformat()}): a {what} belongs to the "
                          "course from its first day on (the rating before it is the baseline)."]}
    if future := _future(when, today):
        return {"/date": future}
    return {}


def check_end(course: Course, end: CourseEnd, today: date) -> Problems:
    """Ending the course (an ended course is not checked here: ending it again is a conflict, not a bad request):
    on or after its start, and not before anything already recorded in it."""
    if end.date < course.start_date:
        return {"/date": [f"Before the course's start ({course.start_date.isoformat()})."]}
    last = course.last_recorded_date()
    if last is not None and end.date < last:
        return {"/date": [f"Sessions, ratings or events are recorded up to {last.isoformat()}: the course cannot "
                          "end before them."]}
    if future := _future(end.date, today):
        return {"/date": future}
    return {}
