"""Staging measures reported beside each determination: Maudsley Staging Method and Thase-Rush.

They inform the clinician; no criterion depends on them. Scoring follows section 3.4 (MSM,
Fekadu et al. 2018, Table 3) and section 3.5 (Thase-Rush) of the clinical-criteria research.
A measure that needs a fact the submission does not give is ``None``, never a guess.
"""

from __future__ import annotations

from datetime import date

from .model import SEVERITY_RANK, Submission


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end``."""
    return (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)


def maudsley_failure_points(failures: int) -> int:
    """MSM points for failed antidepressant trials: 1-2 give 1, 3-4 give 2, 5-6 give 3, 7-10 give 4, >10 give 5
    (the scale stages treatment resistance: it has no row for no failure)."""
    if failures < 1:
        raise ValueError("the Maudsley Staging Method stages one or more failed trials")
    for ceiling, points in ((2, 1), (4, 2), (6, 3), (10, 4)):
        if failures <= ceiling:
            return points
    return 5


def maudsley(sub: Submission, failures: int | None, augmentation_used: bool | None,
             ect_used: bool | None) -> dict:
    """Return the MSM components, total (3-15), the range the total spans and the band.

    The total is ``None`` while a component is unknown; the band is given whenever the whole
    range falls in one band. With no failed adequate trial there is nothing to stage: every
    figure is ``None`` (the scale runs from 3, with at least one failure).
    """
    ep = sub.episode
    if failures == 0:
        return {"maudsley_score": None, "maudsley_score_range": None, "maudsley_band": None,
                "maudsley_components": None}
    duration = None
    if ep.onset is not None:
        months = months_between(ep.onset, sub.as_of)
        duration = 1 if months <= 12 else 2 if months <= 24 else 3
    severity = None
    if ep.severity is not None:
        severity = SEVERITY_RANK[ep.severity] + 1  # mild 2, moderate 3, severe 4
        if ep.severity == "severe" and ep.psychotic_features is True:
            severity = 5
        elif ep.severity == "severe" and ep.psychotic_features is None:
            severity = None  # 4 or 5 depends on psychotic features
    components = {
        "duration": duration,
        "severity": severity,
        "treatment_failures": None if failures is None else maudsley_failure_points(failures),
        "augmentation": None if augmentation_used is None else int(augmentation_used),
        "ect": None if ect_used is None else int(ect_used),
    }
    # An unknown component could take any of its values: report the range the total can span.
    spans = {"duration": (1, 3), "severity": (4, 5) if ep.severity == "severe" else (1, 5),
             "treatment_failures": (1, 5), "augmentation": (0, 1), "ect": (0, 1)}
    low = sum(v if v is not None else spans[k][0] for k, v in components.items())
    high = sum(v if v is not None else spans[k][1] for k, v in components.items())
    known = low == high
    return {"maudsley_score": low if known else None, "maudsley_score_range": [low, high],
            "maudsley_band": _band(low) if _band(low) == _band(high) else None, "maudsley_components": components}


def _band(total: int) -> str:
    return "mild" if total <= 6 else "moderate" if total <= 10 else "severe"


def thase_rush(failed_classes: set[str] | None, responded: bool, ect_failed: bool) -> int | None:
    """Return the Thase-Rush stage (0-V as 0-5), or ``None`` with no adequate trial to stage from."""
    if failed_classes is None:
        return None
    if not failed_classes:
        return 0 if responded else None
    stage = 1
    if len(failed_classes) >= 2:
        stage = 2
        if "tca" in failed_classes:
            stage = 3
            if "maoi" in failed_classes:
                stage = 4
                if ect_failed:
                    stage = 5
    return stage


def used_in_current_episode(items) -> bool | None:
    """True if any item belongs to the current episode; ``None`` when that cannot be told."""
    if items is None:
        return None
    if any(i.episode == "current" for i in items):
        return True
    return None if any(i.episode is None for i in items) else False
