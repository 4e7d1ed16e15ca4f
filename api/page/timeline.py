"""A referral's treatment timeline, drawn on the server as SVG (as the course chart is, ``chart.py``).

One lane per dated treatment (medication trials, psychotherapy, ECT and TMS courses), a bar from its start to
its end (or its start plus its weeks), labelled with its name; the episode's onset and the evaluation date
as labelled vertical lines; rating scores as circles on a lane of their own, each with its instrument and
score written beside it. Readable without colour: every mark is labelled in words. Treatments without dates
cannot be placed; the caption says how many, and the history table lists every one.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

from markupsafe import Markup

from .chart import _attrs, _line, _text

WIDTH, LEFT, RIGHT, TOP, LANE = 760, 150, 20, 34, 22

_KINDS = (("medication_trials", "drug"), ("psychotherapy_trials", "modality"), ("ect_courses", None),
          ("tms_courses", "protocol"))
_NAMES = {"ect_courses": "ECT", "tms_courses": "TMS"}


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _bars(submission: dict) -> tuple[list[tuple[str, date, date]], int]:
    bars, undated = [], 0
    for key, name_field in _KINDS:
        for item in submission.get(key) or ():
            if not isinstance(item, dict):
                continue
            start, end = _date(item.get("start_date")), _date(item.get("end_date"))
            weeks = item.get("duration_weeks")
            if start is None and end is not None and isinstance(weeks, int | float):
                start = end - timedelta(weeks=weeks)
            if start is None:
                undated += 1
                continue
            if end is None:
                end = start + timedelta(weeks=weeks) if isinstance(weeks, int | float) else start
            name = str(item.get(name_field) or "") if name_field else ""
            name = (_NAMES.get(key, "") + " " + name.replace("_", " ")).strip() or key.replace("_", " ")
            bars.append((name, start, max(end, start)))
    bars.sort(key=lambda b: b[1])
    return bars, undated


def timeline(submission: dict, as_of: str) -> tuple[Markup | None, int]:
    """The SVG (``None`` when nothing in the submission is dated) and the number of treatments without dates."""
    bars, undated = _bars(submission)
    evaluated = _date(as_of)
    onset = _date((submission.get("current_episode") or {}).get("onset"))
    scores = sorted(((_date(s.get("date")), s) for s in submission.get("scales") or ()
                     if isinstance(s, dict) and _date(s.get("date")) and s.get("score") is not None),
                    key=lambda p: p[0])
    if not bars and not scores and onset is None:
        return None, undated
    dates = [d for d in [onset, evaluated] if d] + [b[1] for b in bars] + [b[2] for b in bars] + [d for d, _ in scores]
    first, last = min(dates), max(dates)
    days = max((last - first).days, 30)
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + LANE * (len(bars) + (1 if scores else 0)) + 40

    def x(when: date) -> float:
        return LEFT + plot_w * (when - first).days / days

    parts: list[str] = []
    bottom = height - 30
    parts.append(_line(LEFT, bottom, LEFT + plot_w, bottom, "chart-axis"))
    year = first.year
    while date(year, 1, 1) <= last or year == first.year:
        for month in (1, 7):
            when = date(year, month, 1)
            if first <= when <= last:
                parts.append(_line(x(when), bottom, x(when), bottom + 5, "chart-axis"))
                parts.append(_text(x(when), bottom + 18, when.strftime("%b %Y"), "chart-tick-label", "middle"))
        year += 1
    for i, (name, start, end) in enumerate(bars):
        top = TOP + i * LANE
        width = max(x(end) - x(start), 3)
        bar = _attrs(x=f"{x(start):.1f}", y=top + 4, width=f"{width:.1f}", height=LANE - 8, class_="timeline-bar")
        parts.append(f"<rect {bar}>"
                     f"<title>{escape(f'{name}: {start.isoformat()} to {end.isoformat()}')}</title></rect>")
        parts.append(_text(LEFT - 6, top + LANE / 2 + 4, name[:22], "chart-tick-label", "end"))
    if scores:
        top = TOP + len(bars) * LANE
        parts.append(_text(LEFT - 6, top + LANE / 2 + 4, "Rating scores", "chart-tick-label", "end"))
        for j, (when, s) in enumerate(scores):
            label = f"{str(s.get('instrument') or '').upper()} {s['score']:g}" if isinstance(s["score"], int | float) \
                else str(s.get("instrument"))
            point = _attrs(cx=f"{x(when):.1f}", cy=f"{top + LANE / 2:.1f}", r=4, class_="chart-point")
            parts.append(f"<circle {point}>"
                         f"<title>{escape(f'{label} on {when.isoformat()}')}</title></circle>")
            right = x(when) > WIDTH - RIGHT - 60
            parts.append(_text(x(when) + (-6 if right else 6), top + LANE / 2 - 4 - (j % 2) * 8, label,
                               "chart-point-label", "end" if right else "start"))
    for when, words, cls in ((onset, "episode onset", "chart-baseline"), (evaluated, "evaluated", "chart-end")):
        if when is not None:
            parts.append(_line(x(when), TOP - 10, x(when), bottom, cls))
            parts.append(_text(x(when), TOP - 14, words, "chart-line-label",
                               "end" if x(when) > WIDTH - 100 else "start"))
    described = (f"{len(bars)} dated treatment(s) from {first.isoformat()} to {last.isoformat()}; "
                 f"{len(scores)} rating score(s)" + (f"; episode onset {onset.isoformat()}" if onset else "") + ".")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" viewBox="0 0 {WIDTH} {height}" '
           f'role="img" aria-labelledby="timeline-title timeline-desc"><title id="timeline-title">Treatment '
           f'timeline</title><desc id="timeline-desc">{escape(described)}</desc>' + "".join(parts) + "</svg>")
    return Markup(svg), undated  # every text in it is escaped above
