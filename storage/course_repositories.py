"""The SQL repository of TMS courses (``services.unit_of_work.Courses``): a course row, one row per session, rating
and adverse event, and one per next-step evaluation.

A write first bumps the course row's ``writes`` (``lock``): on PostgreSQL that holds the row until the unit of
work ends, so a concurrent write to the same course waits and then sees it as it now is (an end made
meanwhile); on SQLite the first write takes the database's write lock before anything is read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import sqlalchemy as sa

from eligibility.courses import AdverseEvent, CourseEnd, Rating, Session
from services.course_records import CourseRecord, Entry, NextStep
from services.unit_of_work import Courses

from .repositories import _Repository, _utc
from .tables import course_adverse_events, course_evaluations, course_ratings, course_sessions, courses

if TYPE_CHECKING:
    from datetime import datetime

_TABLES = {Session: course_sessions, Rating: course_ratings, AdverseEvent: course_adverse_events}
_COLUMNS = {Session: ("date", "completed", "motor_threshold_percent", "intensity_percent_mt", "pulses"),
            Rating: ("instrument", "score", "date", "item9"),
            AdverseEvent: ("date", "kind", "severity", "action")}


def _header(row) -> CourseRecord:
    end = None if row.end_date is None else CourseEnd(row.end_date, row.end_reason)
    return CourseRecord(id=row.id, created_at=_utc(row.created_at), created_by=row.created_by,
                        evaluation_id=row.evaluation_id, reference=row.reference, kind=row.kind,
                        protocol=row.protocol, planned_sessions=row.planned_sessions,
                        taper_sessions=row.taper_sessions, start_date=row.start_date,
                        baseline=Rating(row.baseline_instrument, row.baseline_score, row.baseline_date), end=end,
                        ended_at=row.ended_at and _utc(row.ended_at), ended_by=row.ended_by, seq=row.seq)


def _entry(kind: type, row) -> Entry:
    value = kind(**{name: getattr(row, name) for name in _COLUMNS[kind]}, seq=row.seq)
    return Entry(value, _utc(row.recorded_at), row.recorded_by)


class SqlCourses(_Repository, Courses):
    def add(self, record: CourseRecord) -> None:
        b = record.baseline
        self._execute(courses.insert(), {
            "id": record.id, "created_at": record.created_at, "created_by": record.created_by,
            "evaluation_id": record.evaluation_id, "reference": record.reference, "kind": record.kind,
            "protocol": record.protocol, "planned_sessions": record.planned_sessions,
            "taper_sessions": record.taper_sessions, "start_date": record.start_date,
            "baseline_instrument": b.instrument, "baseline_score": b.score, "baseline_date": b.date, "writes": 1})

    def get(self, course_id: str) -> CourseRecord | None:
        row = self._execute(sa.select(courses).where(courses.c.id == course_id)).first()
        if row is None:
            return None
        return self._with_records([_header(row)])[0]

    def _with_records(self, headers: list[CourseRecord]) -> list[CourseRecord]:
        """The courses with their records and next steps, read in one statement per kind for all of them."""
        if not headers:
            return []
        ids = [h.id for h in headers]
        found: dict[str, dict] = {i: {Session: [], Rating: [], AdverseEvent: [], NextStep: []} for i in ids}
        for kind, table in _TABLES.items():
            for row in self._execute(sa.select(table).where(table.c.course_id.in_(ids)).order_by(table.c.seq)):
                found[row.course_id][kind].append(_entry(kind, row))
        e = course_evaluations.c
        for row in self._execute(sa.select(course_evaluations).where(e.course_id.in_(ids))
                                 .order_by(e.created_at, e.evaluation_id)):
            found[row.course_id][NextStep].append(NextStep(row.evaluation_id, row.kind, _utc(row.created_at)))
        return [replace(h, sessions=tuple(found[h.id][Session]), ratings=tuple(found[h.id][Rating]),
                        adverse_events=tuple(found[h.id][AdverseEvent]), next_steps=tuple(found[h.id][NextStep]))
                for h in headers]

    def lock(self, course_id: str) -> str | None:
        c = courses.c
        if self._execute(courses.update().where(c.id == course_id).values(writes=c.writes + 1)).rowcount != 1:
            return None
        ended = self._execute(sa.select(c.end_date).where(c.id == course_id)).scalar()
        return "active" if ended is None else "ended"

    def add_record(self, course_id: str, entry: Entry) -> None:
        kind = type(entry.value)
        values = {name: getattr(entry.value, name) for name in _COLUMNS[kind]}
        self._execute(_TABLES[kind].insert(), {**values, "course_id": course_id, "recorded_at": entry.recorded_at,
                                               "recorded_by": entry.recorded_by})

    def end(self, course_id: str, record: CourseRecord) -> None:
        self._execute(courses.update().where(courses.c.id == course_id).values(
            end_date=record.end.date, end_reason=record.end.reason, ended_at=record.ended_at,
            ended_by=record.ended_by))

    def link(self, course_id: str, evaluation_id: str, kind: str, created_at: datetime) -> None:
        self._execute(course_evaluations.insert(), {"course_id": course_id, "evaluation_id": evaluation_id,
                                                    "kind": kind, "created_at": created_at})

    def page(self, *, limit: int, before_seq: int | None = None, status: str | None = None,
             evaluation_id: str | None = None) -> list[CourseRecord]:
        c = courses.c
        stmt = sa.select(courses).order_by(c.seq.desc()).limit(limit)
        if before_seq is not None:
            stmt = stmt.where(c.seq < before_seq)
        if status == "active":
            stmt = stmt.where(c.end_date.is_(None))
        elif status == "ended":
            stmt = stmt.where(c.end_date.is_not(None))
        if evaluation_id is not None:
            e = course_evaluations.c
            linked = sa.select(e.course_id).where(e.course_id == c.id, e.evaluation_id == evaluation_id).exists()
            stmt = stmt.where(sa.or_(c.evaluation_id == evaluation_id, linked))
        return self._with_records([_header(row) for row in self._execute(stmt)])
