"""The values of TMS courses that cross the unit-of-work port (``services.unit_of_work.Courses``).

A course's clinical content is the domain's (``eligibility.courses``: the course, its sessions, ratings,
adverse events and end); the store adds who recorded each record and when, the course's id, its links
to evaluations and its place in the list. ``CourseRecord.to_wire()`` is the course as contract section 5
answers it, with ``progress`` and ``alerts`` computed from the record each time it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from eligibility.courses import AdverseEvent, Course, CourseEnd, Rating, Session, alerts, progress
from eligibility.courses.model import chronological, number

from .clock import wire_time

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One record of a course (a session, rating or adverse event) with who recorded it and when."""

    value: T
    recorded_at: datetime
    recorded_by: str | None  # the key id; None off HTTP


@dataclass(frozen=True)
class NextStep:
    """An evaluation made for the course's next step (``POST /v1/courses/{id}/next``)."""

    evaluation_id: str
    kind: str
    created_at: datetime

    def to_wire(self) -> dict:
        return {"id": self.evaluation_id, "kind": self.kind, "created_at": wire_time(self.created_at)}


@dataclass(frozen=True)
class CourseRecord:
    """A stored course: its header, its records in the order they were recorded, and its next steps.

    ``seq`` is its place in the list (``None`` before it is stored); each record's ``value.seq`` is its
    place among the course's records.
    """

    id: str
    created_at: datetime
    created_by: str | None
    evaluation_id: str | None
    reference: str | None
    kind: str
    protocol: str | None
    planned_sessions: int
    taper_sessions: int
    start_date: object  # date
    baseline: Rating
    end: CourseEnd | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    sessions: tuple[Entry[Session], ...] = ()
    ratings: tuple[Entry[Rating], ...] = ()
    adverse_events: tuple[Entry[AdverseEvent], ...] = ()
    next_steps: tuple[NextStep, ...] = ()
    seq: int | None = field(default=None, compare=False)

    @property
    def status(self) -> str:
        return "active" if self.end is None else "ended"

    def course(self) -> Course:
        """The course as the domain reads it."""
        return Course(start_date=self.start_date, planned_sessions=self.planned_sessions, baseline=self.baseline,
                      taper_sessions=self.taper_sessions, kind=self.kind, protocol=self.protocol, end=self.end,
                      sessions=tuple(e.value for e in self.sessions), ratings=tuple(e.value for e in self.ratings),
                      adverse_events=tuple(e.value for e in self.adverse_events))

    def _header(self) -> dict:
        return {"id": self.id, "created_at": wire_time(self.created_at), "evaluation_id": self.evaluation_id,
                "reference": self.reference, "kind": self.kind, "protocol": self.protocol,
                "planned_sessions": self.planned_sessions, "taper_sessions": self.taper_sessions,
                "start_date": self.start_date.isoformat(), "baseline": self.baseline.to_wire(), "status": self.status,
                "end": None if self.end is None else {"date": self.end.date.isoformat(), "reason": self.end.reason}}

    def summary(self) -> dict:
        """The course in a list: its header, progress and alerts."""
        course = self.course()
        return {**self._header(), "progress": progress(course).to_wire(),
                "alerts": [a.to_wire() for a in alerts(course)]}

    def to_wire(self) -> dict:
        """The course with its records (by date, and within a day as recorded), progress, alerts and next steps."""
        course = self.course()
        return {**self._header(),
                "sessions": [_session(e) for e in _by_date(self.sessions)],
                "ratings": [_rating(e) for e in _by_date(self.ratings)],
                "adverse_events": [_event(e) for e in _by_date(self.adverse_events)],
                "progress": progress(course).to_wire(), "alerts": [a.to_wire() for a in alerts(course)],
                "next_steps": [n.to_wire() for n in self.next_steps]}


def _by_date(entries):
    order = {id(e.value): e for e in entries}
    return [order[id(v)] for v in chronological(e.value for e in entries)]


def _provenance(entry: Entry) -> dict:
    return {"recorded_at": wire_time(entry.recorded_at), "recorded_by": entry.recorded_by}


def _session(entry: Entry[Session]) -> dict:
    s = entry.value
    return {"date": s.date.isoformat(), "completed": s.completed,
            "motor_threshold_percent": number(s.motor_threshold_percent),
            "intensity_percent_mt": number(s.intensity_percent_mt), "pulses": s.pulses, **_provenance(entry)}


def _rating(entry: Entry[Rating]) -> dict:
    r = entry.value
    return {**r.to_wire(), "item9": r.item9, **_provenance(entry)}


def _event(entry: Entry[AdverseEvent]) -> dict:
    e = entry.value
    return {"date": e.date.isoformat(), "kind": e.kind, "severity": e.severity, "action": e.action,
            **_provenance(entry)}
