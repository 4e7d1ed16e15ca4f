"""Words for reasons: numbers as a clinician writes them, values, lists, and one line per item."""

from __future__ import annotations


def fmt(number: float | int | None) -> str:
    """Format a number the way a clinician writes it: 150, 37.5, 0.025."""
    if number is None:
        return "not given"
    if float(number).is_integer():
        return str(int(number))
    return f"{number:g}"


def weeks(number: float | int | None) -> str:
    """'1 week', '8 weeks', '0.5 weeks'."""
    return f"{fmt(number)} week" + ("" if number == 1 else "s")


def sessions(number: int | None) -> str:
    """'1 session', '16 sessions'."""
    return f"{fmt(number)} session" + ("" if number == 1 else "s")


def join(items: list[str], empty: str = "none") -> str:
    return "; ".join(items) if items else empty


def outcome_words(outcome: str) -> str:
    return outcome.replace("_", " ")


def word(value) -> str:
    """A fact value as a reason prints it: yes/no for booleans, numbers as written, words for codes."""
    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return fmt(value) if isinstance(value, (int, float)) else str(value).replace("_", " ")


def describe_medication(t) -> str:
    """One trial as a clinician would write it: 'sertraline 150 mg/day for 10 weeks, no response'."""
    parts = [t.label]
    if t.daily_dose_mg is not None:
        parts.append(f"{fmt(t.daily_dose_mg)} mg/day")
    if t.duration_weeks is not None:
        parts.append(f"for {weeks(t.duration_weeks)}" + (" (from its dates)" if t.weeks_source == "dates" else ""))
    head = " ".join(parts)
    if t.role == "augmentation":
        head += " as augmentation"
    if t.episode_source == "overlap":  # say which dates put it in the current episode
        head += f" ({t.episode_basis})"
    return f"{head}, {outcome_words(t.outcome)}" if t.outcome != "unknown" else head


def describe_psychotherapy(t) -> str:
    parts = [t.modality.upper() if len(t.modality) <= 4 else t.modality.replace("_", " ")]
    if t.sessions is not None:
        parts.append(sessions(t.sessions))
    if t.duration_weeks is not None:
        parts.append(f"over {weeks(t.duration_weeks)}")
    return " ".join(parts) + (f", {outcome_words(t.outcome)}" if t.outcome != "unknown" else "")


def describe_ect(c) -> str:
    return "ECT" + (f" ({sessions(c.sessions)})" if c.sessions is not None else "") + (
        f", {outcome_words(c.outcome)}" if c.outcome != "unknown" else "")


def describe_tms(c) -> str:
    bits = [f"TMS course ({c.protocol.replace('_', ' ')})" if c.protocol else "TMS course"]
    if c.sessions is not None:
        bits.append(sessions(c.sessions))
    if c.improvement_percent is not None:
        bits.append(f"{fmt(c.improvement_percent)}% improvement")
    if c.end_date is not None:
        bits.append(f"ended {c.end_date.isoformat()}")
    return ", ".join(bits)


DESCRIBE = {"medication_trials": describe_medication, "psychotherapy_trials": describe_psychotherapy,
            "ect_courses": describe_ect, "tms_courses": describe_tms}
