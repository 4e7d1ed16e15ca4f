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
from .words import fmt, outcome_words, sessions, weeks

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
        basis = getattr(item, "episode_basis", None)
        if basis:
            return unknown(f"{pointer}/episode", f"which episode it treated ({basis})")
        return unknown(f"{pointer}/episode", "its episode (or its start_date with /current_episode/onset)"
                       if hasattr(item, "start_date") else "which episode it treated (current or previous)")
    return false("it was in the {} episode", item.episode)


def _at_least(value, minimum, pointer: str, what: str, why: str) -> Truth:
    if minimum is None:
        return TRUE
    if value is None:
        return unknown(pointer, what)
    return TRUE if value >= minimum else false(why, value, minimum)


def _attested(item, pointer: str, question: str, refused: str) -> Truth:
    """The treating physician's attestation decides what the policy or the catalogue leaves to them (see
    also ``_not_refused``: where the policy leaves adequacy to the physician, their "no" stands)."""
    if item.adequacy_attested is True:
        return TRUE
    if item.adequacy_attested is False:
        return false(refused)
    return unknown(f"{pointer}/adequacy_attested", question)


def _not_refused(item, spec: CountSpec) -> Truth:
    """Where the policy leaves adequacy to the treating physician, their "not adequate" stands, whatever
    the numbers say."""
    if spec.judged_by_physician and item.adequacy_attested is False:
        return false("the treating physician did not judge it an adequate trial")
    return TRUE


def _weeks_truth(item, spec: CountSpec, pointer: str) -> Truth:
    if spec.min_weeks is None:
        return TRUE
    if item.duration_weeks is None:
        return unknown(f"{pointer}/duration_weeks", "its duration in weeks")
    if item.duration_weeks >= spec.min_weeks:
        return TRUE
    if spec.floor_weeks is not None and item.duration_weeks < spec.floor_weeks:
        return false("{} is short of {}, below which no trial is adequate here", weeks(item.duration_weeks),
                     weeks(spec.floor_weeks))
    if spec.judged_by_physician:
        return _attested(item, pointer, f"whether the treating physician judged {weeks(item.duration_weeks)} a "
                                        f"sufficient duration (the policy leaves it to them; {weeks(spec.min_weeks)} "
                                        "is its reference)",
                         "the treating physician did not judge its duration sufficient")
    return false("{} is short of {}", weeks(item.duration_weeks), weeks(spec.min_weeks))


def _dose_truth(t: MedicationTrial, drug, spec: CountSpec, pointer: str, age: int | None) -> Truth:
    if spec.dose is None:
        return TRUE
    if spec.dose in ("adequate", "outpatient_maximum_or_tolerated"):
        return _dose_against_label(t, drug, spec.dose, pointer, age)
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


def _no_threshold(t: MedicationTrial, drug, pointer: str, what: str) -> Truth:
    """A threshold the catalogue does not have is a question for the clinician, never a "no"."""
    dose = f"{fmt(t.daily_dose_mg)} mg/day" if t.daily_dose_mg is not None else "the dose taken"
    return _attested(t, pointer, f"whether the treating physician judges {drug.name} at {dose} an adequate trial "
                                 f"(the catalogue has no sourced {what} for {drug.name})",
                     f"the treating physician did not judge {drug.name} at {dose} adequate")


def _dose_against_label(t: MedicationTrial, drug, rule: str, pointer: str, age: int | None) -> Truth:
    dose, minimum = t.daily_dose_mg, drug.min_adequate_mg
    if dose is None:
        return unknown(f"{pointer}/daily_dose_mg", "its daily dose")
    if drug.dose_basis:  # the catalogue's figures are not mg/day of the drug named (a session, a patch, one
        # ingredient of a combination): a daily dose cannot be compared with them
        return _no_threshold(t, drug, pointer, f"daily-dose threshold (its figures are {drug.dose_basis})")
    if minimum is not None and dose < minimum:
        return false("{} mg/day is below the minimum adequate dose of {} mg/day", dose, minimum)
    if rule == "adequate" and minimum is not None:  # at or above the minimum: the maxima cannot change that
        return TRUE
    # The maxima this trial could be held to: one when its formulation and the patient's age settle it.
    candidates = drug.maximum_candidates(t.formulation, age)
    maxima = [m for _, m in candidates]
    at_maximum = bool(maxima) and None not in maxima and all(dose >= m for m in maxima)
    if rule == "adequate":  # a dose at the label's maximum is adequate even where no minimum is sourced
        return TRUE if minimum is not None or at_maximum else _no_threshold(t, drug, pointer, "minimum adequate dose")
    if at_maximum:
        return TRUE
    if minimum is None:
        return _no_threshold(t, drug, pointer, "minimum adequate dose")
    if t.dose_limited_by_tolerability is True:
        return TRUE
    if not maxima or None in maxima:  # the label gives no maximum (for this formulation): not a "no"
        return all_of(unknown(f"{pointer}/dose_limited_by_tolerability",
                              f"whether {fmt(dose)} mg/day was the highest tolerated dose"),
                      _no_threshold(t, drug, pointer, "outpatient maximum"))
    ceiling = _ceiling_words(candidates)
    if all(dose < m for m in maxima):
        if t.dose_limited_by_tolerability is False:
            return false("{} mg/day is below {} and was not limited by tolerability", dose, ceiling)
        return unknown(f"{pointer}/dose_limited_by_tolerability",
                       f"whether {fmt(dose)} mg/day (below {ceiling}) was the highest tolerated dose")
    # It reaches the maximum under some readings of the trial and not under others.
    questions = []
    if t.formulation is None and len(drug.formulations) > 1:
        questions.append(unknown(f"{pointer}/formulation", f"its formulation ({ceiling})"))
    if age is None and drug.age_maxima:
        questions.append(unknown("/patient/age", f"the patient's age ({ceiling})"))
    if t.dose_limited_by_tolerability is None or not questions:
        questions.append(unknown(f"{pointer}/dose_limited_by_tolerability",
                                 f"whether {fmt(dose)} mg/day was the highest tolerated dose ({ceiling})"))
    return all_of(*questions)


def _ceiling_words(candidates) -> str:
    if len(candidates) == 1:
        label, maximum = candidates[0]
        return f"the outpatient maximum of {fmt(maximum)} mg/day" + (f" ({label})" if label else "")
    return "the outpatient maximum (" + "; ".join(f"{label}: {fmt(m)} mg/day" for label, m in candidates) + ")"


def _outcome_truth(t: MedicationTrial, spec: CountSpec, pointer: str) -> Truth | None:
    """A recorded improvement above the response threshold is a response, whatever the label; a label that
    contradicts the number is a question. ``None``: the number does not decide (the label does)."""
    threshold, improvement = spec.response_above_percent, t.improvement_percent
    if threshold is None or improvement is None or t.outcome in spec.intolerance_outcomes:
        return None
    responded = improvement > threshold
    if responded and t.outcome in spec.failure_outcomes:
        return unknown(f"{pointer}/outcome", f"whether it failed: it is recorded as {outcome_words(t.outcome)} "
                                             f"but improved {fmt(improvement)}%, above the {fmt(threshold)}% "
                                             "that makes a response")
    if responded:
        return false("an improvement of {}% is a response (above {}%), not a failure", improvement, threshold)
    if t.outcome in ("response", "remission"):
        return unknown(f"{pointer}/outcome", f"whether it failed: it is recorded as {outcome_words(t.outcome)} "
                                             f"but improved only {fmt(improvement)}% (a response is above "
                                             f"{fmt(threshold)}%)")
    return None


def _intolerance_truth(t: MedicationTrial, drug, spec: CountSpec, pointer: str) -> Truth:
    """Intolerance counts at any dose, or (``intolerance_dose: adequate``) only at a therapeutic one."""
    if spec.intolerance_dose == "any":
        return TRUE
    if drug.min_adequate_mg is None:
        return _no_threshold(t, drug, pointer, "therapeutic dose")
    if t.daily_dose_mg is None:
        return unknown(f"{pointer}/daily_dose_mg", "the daily dose it was not tolerated at")
    if t.daily_dose_mg < drug.min_adequate_mg:
        return false("intolerance at {} mg/day, below the therapeutic dose of {} mg/day, does not count here",
                     t.daily_dose_mg, drug.min_adequate_mg)
    return TRUE


def _augments_truth(t: MedicationTrial, drug, pointer: str) -> Truth:
    """An augmenting agent labelled only with certain antidepressants counts only with one of them."""
    allowed = getattr(drug, "augments_only", None)
    if t.role != "augmentation" or not allowed:
        return TRUE
    names = " or ".join(allowed)
    if t.augments is None:
        return unknown(f"{pointer}/augments", f"which antidepressant {drug.name} was added to (labelled only "
                                              f"with {names})")
    if t.augments.strip().lower() in allowed:
        return TRUE
    # Off-label: whether the policy accepts it is for the treating physician to attest, not for us to guess.
    return _attested(t, pointer, f"whether the treating physician attests {drug.name} added to {t.augments} as an "
                                 f"adequate augmentation trial ({drug.name} is labelled as augmentation only with "
                                 f"{names})",
                     f"{drug.name} added to {t.augments} is off-label (labelled only with {names}) and was not "
                     "attested as adequate")


def _judge_medication(t: MedicationTrial, spec: CountSpec, ctx: Context) -> Truth:
    pointer = f"/medication_trials/{t.index}"
    drug = ctx.drug(t)
    if drug is None:
        return false("the drug catalogue does not know it, so it cannot count")
    if spec.categories is not None and drug.category not in spec.categories:
        return false("{} is an {} agent", drug.name, drug.category.replace("_", " "))
    named_class = TRUE
    if spec.classes is not None and drug.drug_class not in spec.classes:
        others = [k for k in getattr(drug, "classes", ()) if k in spec.classes]
        if not others:
            return false("its class ({}) is not among those counted", drug.drug_class)
        named_class = unknown(f"{pointer}/drug", f"whether {drug.name} counts in a class the policy names: sources "
                                                 f"class it as {drug.drug_class} (not named) or as "
                                                 f"{' or '.join(others)} (named)")
    if spec.roles is not None and t.role not in spec.roles:
        return false("it was taken as {}", t.role)
    episode = all_of(_episode_truth(t, spec, pointer), named_class)
    if episode.value is False:
        return episode
    augments = _augments_truth(t, drug, pointer)
    if augments.value is False:
        return augments
    by_number = _outcome_truth(t, spec, pointer)
    if by_number is not None and by_number.value is False:
        return by_number
    if t.outcome in spec.intolerance_outcomes:
        return all_of(episode, augments, _intolerance_truth(t, drug, spec, pointer))
    if t.outcome in spec.failure_outcomes or t.outcome == "unknown":
        if t.outcome == "unknown" and spec.intolerance_outcomes:
            # an unknown outcome may be intolerance, which counts whatever the dose and duration
            return all_of(episode, augments, unknown(f"{pointer}/outcome", "its outcome"))
        adequacy = [
            episode,
            augments,
            _not_refused(t, spec),
            _dose_truth(t, drug, spec, pointer, ctx.sub.patient.age),
            _weeks_truth(t, spec, pointer),
            _at_least(t.adherence_percent, spec.min_adherence_percent, f"{pointer}/adherence_percent",
                      "its adherence", "adherence of {}% is below {}%"),
        ]
        if spec.max_improvement_percent is not None and t.improvement_percent is not None \
                and t.improvement_percent >= spec.max_improvement_percent:
            adequacy.append(false("an improvement of {}% is not a failure here (below {}% is required)",
                                  t.improvement_percent, spec.max_improvement_percent))
        if by_number is not None:
            adequacy.append(by_number)
        if t.outcome == "unknown":
            adequacy.append(unknown(f"{pointer}/outcome", "its outcome"))
        return all_of(*adequacy)
    if by_number is not None:
        return all_of(episode, augments, by_number)
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
    count = _at_least(t.sessions, spec.min_sessions, f"{pointer}/sessions", "its number of sessions",
                      "{} is short of {}")
    if count.value is False:
        count = false("{} is short of {}", sessions(t.sessions), sessions(spec.min_sessions))
        if spec.floor_sessions is not None and t.sessions < spec.floor_sessions:
            count = false("{} is short of {}, below which no course is adequate here", sessions(t.sessions),
                          sessions(spec.floor_sessions))
        elif spec.judged_by_physician:
            count = _attested(t, pointer, f"whether the treating physician judged {sessions(t.sessions)} an "
                                          f"adequate trial (the policy leaves it to them; {spec.min_sessions} "
                                          "is its reference)",
                              "the treating physician did not judge it an adequate trial")
    return all_of(_episode_truth(t, spec, pointer), outcome, _not_refused(t, spec), _weeks_truth(t, spec, pointer),
                  count)


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
