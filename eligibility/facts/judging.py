"""Judging the items of a submission's lists under a count's specification, and selecting scores.

Each item (a trial, a course) is judged with three-valued (Kleene) logic: it *qualifies*, it
*cannot qualify* (with the reason why), or it *might* (with the fields that would settle it). A
count then has two numbers: ``count`` (items that qualify) and ``possible`` (those plus the
undecided ones), so that a rule can tell "met", "not met" and "unknown" apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ..model import MedicationTrial, Scale, Submission
from .specs import CountSpec, ScaleSpec
from .truth import TRUE, Truth, all_of, false, unknown
from .words import fmt, outcome_words

if TYPE_CHECKING:
    from .registry import Context


class Counted(NamedTuple):
    """One count's judged items, in submission order."""

    spec: CountSpec
    judged: list  # (item, Truth); empty when the list was not given
    listed: bool

    def items(self, value: bool | None) -> list:
        """The items whose judgement is ``value`` (True: qualify, None: undecided, False: cannot)."""
        return [item for item, truth in self.judged if truth.value is value]


def count(ctx: Context, spec: CountSpec) -> Counted:
    """Judge every item of the list ``spec`` counts over (nothing when the list was not given)."""
    listed = getattr(ctx.sub, spec.source)
    if listed is None:
        return Counted(spec, [], False)
    judge = JUDGES[spec.source]
    return Counted(spec, [(item, judge(item, spec, ctx)) for item in listed], True)


class Selected(NamedTuple):
    """The score a scale specification reads, and how many of the listed scores fell in its window."""

    listed: bool
    in_window: int
    score: Scale | None


def select_score(sub: Submission, spec: ScaleSpec) -> Selected:
    """Return the score within the window that the policy reads: the latest (on a tie, the last
    listed) or, with ``select: lowest``, the one furthest below its threshold (on a tie, the latest)."""
    if sub.scales is None:
        return Selected(False, 0, None)
    chosen = None
    in_window = 0
    lowest = spec.select == "lowest"
    for s in sub.scales:
        if s.instrument in spec.thresholds and 0 <= (sub.as_of - s.date).days <= spec.window_days:
            in_window += 1
            if chosen is None:
                chosen = s
            elif lowest:
                margin = s.score - spec.thresholds[s.instrument]
                best = chosen.score - spec.thresholds[chosen.instrument]
                if (margin, -s.date.toordinal(), -s.index) < (best, -chosen.date.toordinal(), -chosen.index):
                    chosen = s
            elif (s.date, s.index) > (chosen.date, chosen.index):
                chosen = s
    return Selected(True, in_window, chosen)


def _episode_truth(item, spec: CountSpec, pointer: str) -> Truth:
    if spec.episodes is None or item.episode in spec.episodes:
        return TRUE
    if item.episode is None:
        return unknown(f"{pointer}/episode", "its episode (or its start_date with /current_episode/onset)")
    return false("it was in the {} episode", item.episode)


def _at_least(value, minimum, pointer: str, what: str, why: str) -> Truth:
    if minimum is None:
        return TRUE
    if value is None:
        return unknown(pointer, what)
    return TRUE if value >= minimum else false(why, value, minimum)


def _dose_truth(t: MedicationTrial, drug, spec: CountSpec, pointer: str) -> Truth:
    if spec.dose is None:
        return TRUE
    dose = t.daily_dose_mg
    minimum, maximum = drug.min_adequate_mg, drug.max_labelled_mg
    if minimum is None and (spec.dose == "minimum_adequate" or maximum is None):
        return false("the catalogue has no dose threshold for {}", drug.name)
    if dose is None:
        return unknown(f"{pointer}/daily_dose_mg", "its daily dose")
    if spec.dose == "minimum_adequate":
        return TRUE if dose >= minimum else false(
            "{} mg/day is below the minimum adequate dose of {} mg/day", dose, minimum)
    if maximum is not None and dose >= maximum:
        return TRUE
    if minimum is not None and dose < minimum:
        return false("{} mg/day is below the minimum adequate dose of {} mg/day", dose, minimum)
    if t.dose_limited_by_tolerability is True:
        return TRUE
    ceiling = f"the maximum labelled dose of {fmt(maximum)} mg/day" if maximum else "the maximum labelled dose"
    if t.dose_limited_by_tolerability is False:
        return false("{} mg/day is below {} and was not limited by tolerability", dose, ceiling)
    return unknown(f"{pointer}/dose_limited_by_tolerability",
                   f"whether {fmt(dose)} mg/day (below {ceiling}) was the highest tolerated dose")


def _judge_medication(t: MedicationTrial, spec: CountSpec, ctx: Context) -> Truth:
    pointer = f"/medication_trials/{t.index}"
    drug = ctx.drug(t)
    if drug is None:
        return false("the drug catalogue does not know it, so it cannot count")
    if spec.categories is not None and drug.category not in spec.categories:
        return false("{} is an {} agent", drug.name, drug.category.replace("_", " "))
    if spec.classes is not None and drug.drug_class not in spec.classes:
        return false("its class ({}) is not among those counted", drug.drug_class)
    if spec.roles is not None and t.role not in spec.roles:
        return false("it was taken as {}", t.role)
    episode = _episode_truth(t, spec, pointer)
    if episode.value is False:
        return episode
    if t.outcome in spec.intolerance_outcomes:
        return episode
    if t.outcome in spec.failure_outcomes or t.outcome == "unknown":
        if t.outcome == "unknown" and spec.intolerance_outcomes:
            # an unknown outcome may be intolerance, which counts whatever the dose and duration
            return all_of(episode, unknown(f"{pointer}/outcome", "its outcome"))
        adequacy = [
            episode,
            _dose_truth(t, drug, spec, pointer),
            _at_least(t.duration_weeks, spec.min_weeks, f"{pointer}/duration_weeks", "its duration in weeks",
                      "{} weeks is short of {}"),
            _at_least(t.adherence_percent, spec.min_adherence_percent, f"{pointer}/adherence_percent",
                      "its adherence", "adherence of {}% is below {}%"),
        ]
        if spec.max_improvement_percent is not None and t.improvement_percent is not None \
                and t.improvement_percent >= spec.max_improvement_percent:
            adequacy.append(false("an improvement of {}% is not a failure here (below {}% is required)",
                                  t.improvement_percent, spec.max_improvement_percent))
        if t.outcome == "unknown":
            adequacy.append(unknown(f"{pointer}/outcome", "its outcome"))
        return all_of(*adequacy)
    return false("the outcome, {}, is not a failure", outcome_words(t.outcome))


def _judge_psychotherapy(t, spec: CountSpec, ctx: Context) -> Truth:
    pointer = f"/psychotherapy_trials/{t.index}"
    if spec.modalities is not None and t.modality not in spec.modalities:
        return false("{} is not among the evidence-based modalities counted", t.modality.replace("_", " "))
    if t.outcome in spec.failure_outcomes:
        outcome = TRUE
    elif t.outcome == "unknown":
        outcome = unknown(f"{pointer}/outcome", "its outcome")
    else:
        return false("the outcome, {}, is not a failure", outcome_words(t.outcome))
    return all_of(
        _episode_truth(t, spec, pointer),
        outcome,
        _at_least(t.duration_weeks, spec.min_weeks, f"{pointer}/duration_weeks", "its duration in weeks",
                  "{} weeks is short of {}"),
        _at_least(t.sessions, spec.min_sessions, f"{pointer}/sessions", "its number of sessions",
                  "{} sessions is short of {}"),
    )


def _days_since_end(item, spec: CountSpec, as_of, pointer: str) -> Truth:
    if spec.min_days_since_end is None and spec.max_days_since_end is None:
        return TRUE
    if item.end_date is None:
        return unknown(f"{pointer}/end_date", "its end date")
    days = (as_of - item.end_date).days
    if spec.min_days_since_end is not None and days < spec.min_days_since_end:
        return false("it ended {} days before as_of, fewer than {}", days, spec.min_days_since_end)
    if spec.max_days_since_end is not None and days > spec.max_days_since_end:
        return false("it ended {} days before as_of, more than {}", days, spec.max_days_since_end)
    return TRUE


def _course_outcome(item, spec: CountSpec, pointer: str) -> Truth:
    """A course's response: its improvement when given and a threshold applies, else its outcome."""
    improvement = getattr(item, "improvement_percent", None)
    if improvement is not None and spec.min_improvement_percent is not None:
        return TRUE if improvement >= spec.min_improvement_percent else false(
            "an improvement of {}% is below {}%", improvement, spec.min_improvement_percent)
    if improvement is not None and spec.improvement_above_percent is not None:
        return TRUE if improvement > spec.improvement_above_percent else false(
            "an improvement of {}% is not above {}%", improvement, spec.improvement_above_percent)
    if not spec.outcomes:
        return TRUE
    if item.outcome == "unknown":
        thresholded = spec.min_improvement_percent is not None or spec.improvement_above_percent is not None
        return unknown(f"{pointer}/outcome", "its improvement_percent or outcome" if thresholded else "its outcome")
    if item.outcome in spec.outcomes:
        return TRUE
    return false("the outcome, {}, does not count", outcome_words(item.outcome))


def _judge_ect(c, spec: CountSpec, ctx: Context) -> Truth:
    pointer = f"/ect_courses/{c.index}"
    return all_of(
        _episode_truth(c, spec, pointer),
        _course_outcome(c, spec, pointer),
        _at_least(c.sessions, spec.min_sessions, f"{pointer}/sessions", "its number of sessions",
                  "{} sessions is short of {}"),
        _days_since_end(c, spec, ctx.sub.as_of, pointer),
    )


def _judge_tms(c, spec: CountSpec, ctx: Context) -> Truth:
    pointer = f"/tms_courses/{c.index}"
    protocol = TRUE
    if spec.protocols is not None:
        if c.protocol is None:
            protocol = unknown(f"{pointer}/protocol", "its protocol")
        elif c.protocol not in spec.protocols:
            protocol = false("its protocol, {}, does not count", c.protocol)
    return all_of(
        _episode_truth(c, spec, pointer),
        protocol,
        _course_outcome(c, spec, pointer),
        _days_since_end(c, spec, ctx.sub.as_of, pointer),
    )


JUDGES = {"medication_trials": _judge_medication, "psychotherapy_trials": _judge_psychotherapy,
          "ect_courses": _judge_ect, "tms_courses": _judge_tms}
