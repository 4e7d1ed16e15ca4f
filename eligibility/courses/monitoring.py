"""A course's progress and alerts (contract section 5), computed from the course record alone.

Pure functions of a ``Course``: no clock, no store. Improvement is measured on the baseline's instrument
only (a score on another scale cannot show a change from it) and reported to one decimal, rounded half
away from zero; ``response``, the status bands and ``worsening`` read that reported number, so what is
shown and what is decided never disagree.

Alerts are one per code, dated by the most recent record that raises it. Once raised, an alert stays
when later records are added (a seizure, a self-harm answer or a worsening is not undone by a better
week), except the two that describe the active course as it stands: ``rating_overdue`` (until a rating
is recorded) and ``over_planned``; neither is raised for an ended course.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ..facts.words import fmt
from .model import ITEM9_INSTRUMENT, Course, Rating, chronological
from .scales import PARTIAL_PERCENT, RATING_INTERVAL_DAYS, RESPONSE_PERCENT, WORSENING_PERCENT, remission_cut_off

PROGRESS_STATUSES = ("remitted", "responding", "partial", "no_change", "worsening", "unknown")
ALERT_SEVERITIES = ("critical", "warning", "info")
# Every alert code with its severity, in the order a banner lists them (most severe first).
ALERTS = {"seizure": "critical", "suicidality": "critical", "mania": "critical", "worsening": "warning",
          "rating_overdue": "warning", "over_planned": "warning", "instrument_changed": "info"}
ALERT_CODES = tuple(ALERTS)


def improvement(baseline: float, score: float) -> float | None:
    """(baseline − score) / baseline × 100, to one decimal (half away from zero); ``None`` for a baseline of 0,
    from which no change can be a percentage."""
    if baseline == 0:
        return None
    exact = (Decimal(repr(baseline)) - Decimal(repr(score))) * 100 / Decimal(repr(baseline))
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _name(instrument: str) -> str:
    return instrument.upper()


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a course stands (contract section 5's ``progress``)."""

    sessions_delivered: int
    sessions_planned: int
    sessions_remaining: int
    latest: Rating | None  # the latest rating on the baseline's instrument
    improvement_percent: float | None
    response: bool | None
    remission: bool | None
    status: str

    def to_wire(self) -> dict:
        return {"sessions_delivered": self.sessions_delivered, "sessions_planned": self.sessions_planned,
                "sessions_remaining": self.sessions_remaining,
                "latest": None if self.latest is None else self.latest.to_wire(),
                "improvement_percent": self.improvement_percent, "response": self.response,
                "remission": self.remission, "status": self.status}


def on_baseline_scale(course: Course) -> list[Rating]:
    """The course's ratings on its baseline's instrument, by date (and, within a day, as recorded)."""
    return chronological(r for r in course.ratings if r.instrument == course.baseline.instrument)


def progress(course: Course) -> Progress:
    """Sessions delivered and remaining, the latest rating on the baseline's scale, improvement, response,
    remission and the status band.

    ``response`` and ``remission`` are ``None`` while no rating on the baseline's scale is recorded, and
    ``remission`` is ``None`` on an instrument without a sourced cut-off. The status is the first that
    applies: ``remitted`` (remission), ``unknown`` (no improvement can be computed), ``responding`` (50% or
    more), ``partial`` (25 to 49.9%), ``worsening`` (20% or more worse), else ``no_change``.
    """
    ratings = on_baseline_scale(course)
    latest = ratings[-1] if ratings else None
    percent = None if latest is None else improvement(course.baseline.score, latest.score)
    cut_off = remission_cut_off(course.baseline.instrument)
    remission = None if latest is None or cut_off is None else latest.score <= cut_off.at_most
    if remission:
        status = "remitted"
    elif percent is None:
        status = "unknown"
    elif percent >= RESPONSE_PERCENT:
        status = "responding"
    elif percent >= PARTIAL_PERCENT:
        status = "partial"
    elif percent <= -WORSENING_PERCENT:
        status = "worsening"
    else:
        status = "no_change"
    delivered, planned = course.sessions_delivered, course.sessions_planned
    return Progress(delivered, planned, max(planned - delivered, 0), latest, percent,
                    None if percent is None else percent >= RESPONSE_PERCENT, remission, status)


# -- alerts -------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: its code and severity (fixed per code), a sentence for the clinician, and the date of the most
    recent record that raises it."""

    code: str
    severity: str
    text: str
    date: date

    def to_wire(self) -> dict:
        return {"code": self.code, "severity": self.severity, "text": self.text, "date": self.date.isoformat()}


def _alert(code: str, text: str, when: date) -> Alert:
    return Alert(code, ALERTS[code], text, when)


def _several(count: int, what: str, latest: str, first: str) -> str:
    if count == 1:
        return latest
    return f"{count} {what}; the latest: {latest}; the first: {first}"


def _events(course: Course, kind: str) -> list:
    return chronological(e for e in course.adverse_events if e.kind == kind)


def _event_words(event) -> str:
    return (f"{event.date.isoformat()} ({event.severity}; action: {event.action.replace('_', ' ')})")


def _seizure(course: Course) -> Alert | None:
    found = _events(course, "seizure")
    if not found:
        return None
    words = _several(len(found), "seizures recorded", _event_words(found[-1]), _event_words(found[0]))
    return _alert("seizure", f"Seizure during the course: {words}. Hold further sessions until a physician "
                             "has assessed the patient.", found[-1].date)


def _suicidality(course: Course) -> Alert | None:
    found = [(r.date, r.seq, f"PHQ-9 item 9 (thoughts of self-harm) scored {r.item9} on {r.date.isoformat()}")
             for r in course.ratings if r.instrument == ITEM9_INSTRUMENT and r.item9 is not None and r.item9 >= 1]
    found += [(e.date, e.seq, f"worsening suicidality reported on {_event_words(e)}")
              for e in course.adverse_events if e.kind == "worsening_suicidality"]
    if not found:
        return None
    found.sort(key=lambda f: (f[0], f[1]))
    words = _several(len(found), "reports", found[-1][2], found[0][2])
    return _alert("suicidality", f"Suicidality: {words}. Assess suicide risk now.", found[-1][0])


def _mania(course: Course) -> Alert | None:
    found = _events(course, "hypomania_or_mania")
    if not found:
        return None
    words = _several(len(found), "episodes recorded", _event_words(found[-1]), _event_words(found[0]))
    return _alert("mania", f"Hypomania or mania during the course: {words}. Assess for a switch to a bipolar "
                           "episode before the next session.", found[-1].date)


def _worsening(course: Course) -> Alert | None:
    baseline = course.baseline
    ratings = on_baseline_scale(course)
    worse = [(r, p) for r in ratings if (p := improvement(baseline.score, r.score)) is not None
             and p <= -WORSENING_PERCENT]
    if not worse:
        return None
    rating, percent = worse[-1]
    text = (f"{_name(rating.instrument)} {fmt(rating.score)} on {rating.date.isoformat()} is {fmt(-percent)}% worse "
            f"than the baseline {fmt(baseline.score)} ({baseline.date.isoformat()})")
    latest = ratings[-1]
    if latest is not rating:
        text += f"; the latest since, {fmt(latest.score)} on {latest.date.isoformat()}, is not"
    return _alert("worsening", text + ".", rating.date)


def _rating_overdue(course: Course) -> Alert | None:
    if not course.active or not course.sessions:
        return None
    session = max(s.date for s in course.sessions)
    rated = max((r.date for r in course.ratings), default=None)
    since = rated if rated is not None else course.start_date
    gap = (session - since).days
    if gap <= RATING_INTERVAL_DAYS:
        return None
    what = f"the last rating was on {rated.isoformat()}" if rated is not None else \
        f"no rating since the course started on {course.start_date.isoformat()}"
    return _alert("rating_overdue", f"Rating overdue: {what}, and the latest session, on {session.isoformat()}, "
                                    f"is {gap} days later (rate at least every {RATING_INTERVAL_DAYS} days, on the "
                                    f"baseline's scale, {_name(course.baseline.instrument)}).", session)


def _over_planned(course: Course) -> Alert | None:
    delivered, planned = course.sessions_delivered, course.sessions_planned
    if not course.active or delivered <= planned:
        return None
    last = max(s.date for s in course.sessions if s.completed)
    return _alert("over_planned", f"{delivered} sessions delivered; {planned} were planned "
                                  f"({course.planned_sessions} + {course.taper_sessions} taper).", last)


def _instrument_changed(course: Course) -> Alert | None:
    other = chronological(r for r in course.ratings if r.instrument != course.baseline.instrument)
    if not other:
        return None
    instruments = ", ".join(dict.fromkeys(_name(r.instrument) for r in other))
    baseline = _name(course.baseline.instrument)
    return _alert("instrument_changed", f"Rated on {instruments} (latest {other[-1].date.isoformat()}): a rating on "
                                        f"another scale than the baseline's ({baseline}) cannot show response; rate "
                                        f"{baseline} as well.", other[-1].date)


_RAISERS = (_seizure, _suicidality, _mania, _worsening, _rating_overdue, _over_planned, _instrument_changed)


def alerts(course: Course) -> tuple[Alert, ...]:
    """The course's alerts, most severe first (critical, warning, info; within one severity, in contract order)."""
    raised = [a for raise_ in _RAISERS if (a := raise_(course)) is not None]
    order = {code: i for i, code in enumerate(ALERT_CODES)}
    rank = {s: i for i, s in enumerate(ALERT_SEVERITIES)}
    return tuple(sorted(raised, key=lambda a: (rank[a.severity], order[a.code])))
