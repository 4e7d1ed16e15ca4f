"""A TMS course as immutable values: the course, its sessions, ratings, adverse events and end (contract section 5).

``None`` means *not known*, as everywhere in the domain. Lists are kept in the order they were recorded;
``seq`` is that order (the store's), so that two records of one day are told apart: the later one
recorded is the later one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..model import INSTRUMENT_RANGES

COURSE_KINDS = ("initial", "extension", "retreatment", "maintenance")
NEXT_KINDS = ("extension", "retreatment", "maintenance")  # what a course's next step may ask for
INSTRUMENTS = tuple(INSTRUMENT_RANGES)
ADVERSE_EVENT_KINDS = ("headache", "scalp_discomfort", "facial_twitching", "dizziness", "syncope", "seizure",
                       "hypomania_or_mania", "hearing_change", "worsening_suicidality", "other")
ADVERSE_EVENT_SEVERITIES = ("mild", "moderate", "severe", "serious")
ADVERSE_EVENT_ACTIONS = ("none", "intensity_reduced", "paused", "stopped")
END_REASONS = ("completed", "stopped_adverse_event", "stopped_no_response", "stopped_patient_choice", "other")
COURSE_STATUSES = ("active", "ended")
ITEM9_INSTRUMENT = "phq-9"  # item 9 (thoughts of self-harm) is a PHQ-9 item


@dataclass(frozen=True, slots=True)
class Rating:
    """A rating-scale score; ``item9`` is the PHQ-9's self-harm item (0-3), ``None`` when not recorded."""

    instrument: str
    score: float
    date: date
    item9: int | None = None
    seq: int = 0

    def to_wire(self) -> dict:
        return {"instrument": self.instrument, "score": number(self.score), "date": self.date.isoformat()}


@dataclass(frozen=True, slots=True)
class Session:
    """One delivered session. ``completed`` is false for a session stopped before its dose was given: it is
    kept, and does not count as delivered."""

    date: date
    completed: bool = True
    motor_threshold_percent: float | None = None
    intensity_percent_mt: float | None = None
    pulses: int | None = None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class AdverseEvent:
    date: date
    kind: str
    severity: str
    action: str
    seq: int = 0


@dataclass(frozen=True, slots=True)
class CourseEnd:
    date: date
    reason: str


@dataclass(frozen=True, slots=True)
class Course:
    """One TMS course, from its start to its end (``end`` is ``None`` while it is active).

    ``baseline`` is the rating before the first session, the reference of every improvement; it is not
    one of ``ratings`` (those are made during the course).
    """

    start_date: date
    planned_sessions: int
    baseline: Rating
    taper_sessions: int = 0
    kind: str = "initial"
    protocol: str | None = None
    end: CourseEnd | None = None
    sessions: tuple[Session, ...] = field(default_factory=tuple)
    ratings: tuple[Rating, ...] = field(default_factory=tuple)
    adverse_events: tuple[AdverseEvent, ...] = field(default_factory=tuple)

    @property
    def active(self) -> bool:
        return self.end is None

    @property
    def status(self) -> str:
        return "active" if self.end is None else "ended"

    @property
    def sessions_planned(self) -> int:
        """Planned sessions and taper: every session the course means to give."""
        return self.planned_sessions + self.taper_sessions

    @property
    def sessions_delivered(self) -> int:
        """Completed sessions (one stopped before its dose was given does not count)."""
        return sum(1 for s in self.sessions if s.completed)

    def last_recorded_date(self) -> date | None:
        """The latest date of any session, rating or adverse event (``None``: nothing recorded yet)."""
        dates = [r.date for r in (*self.sessions, *self.ratings, *self.adverse_events)]
        return max(dates) if dates else None


def chronological(items):
    """Records by date, and within a day in the order they were recorded."""
    return sorted(items, key=lambda item: (item.date, item.seq))


def number(value: float | int | None):
    """A number as the wire writes it: 22, not 22.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
