"""A course's chart, drawn on the server as SVG: the ratings on the baseline's scale over time, the baseline, the
50% response line and the instrument's remission line, a tick per session and a marker per adverse event.

Readable without colour: each line has its own dash pattern and is labelled at its end, ratings are circles
with their score written beside them, a stopped session is a short tick, adverse events are triangles (filled
for the events that raise an alert) with their kind written under them. The SVG carries its own title and
description for screen readers; the page's tables hold every number. Colours and dash patterns come from the
page's stylesheet (classes only, no style attribute), so the CSP needs nothing more.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

from markupsafe import Markup

from eligibility.courses import remission_cut_off
from eligibility.courses.model import chronological
from eligibility.facts.words import fmt
from eligibility.model import INSTRUMENT_RANGES
from services.course_records import CourseRecord

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 52, 150, 40, 46  # margins: labels of the lines on the right, events on top
ALERTING_EVENTS = {"seizure", "hypomania_or_mania", "worsening_suicidality"}
EVENT_WORDS = {"hypomania_or_mania": "hypomania", "worsening_suicidality": "suicidality",
               "scalp_discomfort": "scalp", "facial_twitching": "twitching", "hearing_change": "hearing"}


def _attrs(**values) -> str:
    return " ".join(f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in values.items())


def _text(x: float, y: float, words: str, cls: str, anchor: str = "start") -> str:
    return f'<text {_attrs(x=f"{x:.1f}", y=f"{y:.1f}", class_=cls, text_anchor=anchor)}>{escape(words)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, cls: str) -> str:
    return f'<line {_attrs(x1=f"{x1:.1f}", y1=f"{y1:.1f}", x2=f"{x2:.1f}", y2=f"{y2:.1f}", class_=cls)}/>'


def _step(span: float) -> int:
    for step in (1, 2, 5, 10, 20):
        if span / step <= 8:
            return step
    return 25


def course_chart(record: CourseRecord) -> Markup:
    """The SVG of ``record``'s chart."""
    course = record.course()
    baseline = course.baseline
    instrument = baseline.instrument
    low, high = INSTRUMENT_RANGES[instrument]
    ratings = chronological(r for r in course.ratings if r.instrument == instrument)
    dates = [baseline.date, course.start_date, *(r.date for r in course.ratings), *(s.date for s in course.sessions),
             *(e.date for e in course.adverse_events)] + ([course.end.date] if course.end else [])
    first, last = min(dates), max(max(dates), course.start_date + timedelta(days=7))
    days = max((last - first).days, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(when: date) -> float:
        return LEFT + plot_w * (when - first).days / days

    def y(score: float) -> float:
        return TOP + plot_h * (high - score) / (high - low)

    name = instrument.upper()
    parts: list[str] = []
    # Axes, the score grid and the weeks.
    parts.append(_line(LEFT, TOP, LEFT, TOP + plot_h, "chart-axis"))
    parts.append(_line(LEFT, TOP + plot_h, LEFT + plot_w, TOP + plot_h, "chart-axis"))
    step = _step(high - low)
    for score in range(int(low) + (-int(low)) % step, int(high) + 1, step):
        parts.append(_line(LEFT - 4, y(score), LEFT, y(score), "chart-axis"))
        parts.append(_text(LEFT - 7, y(score) + 4, str(score), "chart-tick-label", "end"))
    parts.append(_text(14, TOP + plot_h / 2, name, "chart-axis-label", "middle").replace(
        "<text ", f'<text transform="rotate(-90 14 {TOP + plot_h / 2:.1f})" ', 1))
    week = 0
    while course.start_date + timedelta(weeks=week) <= last:
        when = course.start_date + timedelta(weeks=week)
        parts.append(_line(x(when), TOP + plot_h, x(when), TOP + plot_h + 5, "chart-axis"))
        parts.append(_text(x(when) + 2, TOP + plot_h + 18, f"W{week + 1}", "chart-tick-label"))
        week += 1
    parts.append(_text(LEFT + plot_w / 2, HEIGHT - 6, f"Weeks of the course (W1 from {course.start_date.isoformat()})",
                       "chart-axis-label", "middle"))

    # The reference lines: baseline, 50% response, remission.
    def reference(score: float, cls: str, label: str) -> None:
        parts.append(_line(LEFT, y(score), LEFT + plot_w, y(score), cls))
        parts.append(_text(LEFT + plot_w + 6, y(score) + 4, label, "chart-line-label"))

    reference(baseline.score, "chart-baseline", f"Baseline {fmt(baseline.score)}")
    reference(baseline.score / 2, "chart-response", f"50% response ({fmt(baseline.score / 2)})")
    cut_off = remission_cut_off(instrument)
    if cut_off is not None:
        reference(cut_off.at_most, "chart-remission", f"Remission ≤ {fmt(cut_off.at_most)}")

    # Sessions: a tick each on the time axis (a stopped session: a short one).
    for s in course.sessions:
        top = TOP + plot_h - (10 if s.completed else 5)
        parts.append(_line(x(s.date), TOP + plot_h, x(s.date), top,
                           "chart-session" if s.completed else "chart-session chart-session-stopped"))

    # The ratings on the baseline's scale, from the baseline on.
    points = [(baseline.date, baseline.score, "baseline")] + [(r.date, r.score, "rating") for r in ratings]
    path = " ".join(f"{x(d):.1f},{y(s):.1f}" for d, s, _ in points)
    parts.append(f'<polyline {_attrs(points=path, class_="chart-rating")}/>')
    for when, score, kind in points:
        title = f"{name} {fmt(score)} on {when.isoformat()}" + (" (baseline)" if kind == "baseline" else "")
        parts.append(f'<circle {_attrs(cx=f"{x(when):.1f}", cy=f"{y(score):.1f}", r=4, class_="chart-point")}>'
                     f"<title>{escape(title)}</title></circle>")
        parts.append(_text(x(when), y(score) - 8, fmt(score), "chart-point-label", "middle"))

    # Adverse events: a triangle each above the plot, its kind under it.
    for i, e in enumerate(chronological(course.adverse_events)):
        cx, cy = x(e.date), TOP - 22 + (i % 2) * 10
        cls = "chart-event chart-event-alert" if e.kind in ALERTING_EVENTS else "chart-event"
        title = f"{e.date.isoformat()}: {e.kind.replace('_', ' ')} ({e.severity}; action: {e.action.replace('_', ' ')})"
        parts.append(f'<path {_attrs(d=f"M{cx:.1f},{cy + 7:.1f} l-5,-9 h10 z", class_=cls)}>'
                     f"<title>{escape(title)}</title></path>")
        parts.append(_line(cx, cy + 8, cx, TOP + plot_h, "chart-event-rule"))
        parts.append(_text(cx + 7, cy + 4, EVENT_WORDS.get(e.kind, e.kind.replace("_", " ")), "chart-event-label"))
    if course.end is not None:
        parts.append(_line(x(course.end.date), TOP, x(course.end.date), TOP + plot_h, "chart-end"))
        parts.append(_text(x(course.end.date) - 4, TOP + 12, "ended", "chart-line-label", "end"))

    described = (f"{name} from the baseline {fmt(baseline.score)} on {baseline.date.isoformat()}: "
                 + (", ".join(f"{fmt(r.score)} on {r.date.isoformat()}" for r in ratings) or "no rating since")
                 + f". {course.sessions_delivered} sessions delivered"
                 + (f"; {len(course.adverse_events)} adverse event(s)" if course.adverse_events else "") + ".")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-labelledby="chart-title chart-desc"><title id="chart-title">{escape(name)} over the course</title>'
           f'<desc id="chart-desc">{escape(described)}</desc>' + "".join(parts) + "</svg>")
    return Markup(svg)  # every text in it is escaped above
