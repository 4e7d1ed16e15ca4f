"""What a policy asks to be derived from a submission: code sets, scale windows and counts.

These are read from a policy file's ``parameters`` (``diagnosis_sets``, ``scales``, ``counts``) and
checked at load; ``registry.py`` turns them into the facts a policy's rules may test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..codes import CodeSet, compile_code_set
from .words import fmt

RESERVED_NAMES = frozenset({"t", "sid", "id", "age", "sex", "pregnant", "episode", "dx", "scale", "safety",
                            "request", "clinician", "param"})

COUNT_SOURCES = ("medication_trials", "psychotherapy_trials", "ect_courses", "tms_courses")
# "minimum_adequate" and "maximum_labelled_or_tolerated" are the readings of the first policy files, kept so
# that those files decide as they did: a drug without a catalogue threshold cannot qualify there. Files from
# 2026-12 use "adequate" and "outpatient_maximum_or_tolerated": a threshold the catalogue does not have is
# a question for the clinician (unknown), never a "no", and the maximum is the one an outpatient trial can
# reach for the trial's formulation and the patient's age.
DOSE_RULES = ("minimum_adequate", "maximum_labelled_or_tolerated", "adequate", "outpatient_maximum_or_tolerated")
INTOLERANCE_DOSES = ("any", "adequate")
_SPEC_KEYS = {
    "medication_trials": {"source", "title", "episodes", "roles", "categories", "classes", "failure_outcomes",
                          "intolerance_outcomes", "min_weeks", "dose", "min_adherence_percent",
                          "max_improvement_percent", "response_above_percent", "intolerance_dose",
                          "judged_by_physician", "floor_weeks"},
    "psychotherapy_trials": {"source", "title", "episodes", "modalities", "failure_outcomes", "min_weeks",
                             "min_sessions", "judged_by_physician", "floor_weeks", "floor_sessions"},
    "ect_courses": {"source", "title", "episodes", "outcomes", "min_sessions", "min_days_since_end",
                    "max_days_since_end"},
    "tms_courses": {"source", "title", "episodes", "outcomes", "protocols", "min_improvement_percent",
                    "improvement_above_percent", "min_days_since_end", "max_days_since_end"},
}


@dataclass(frozen=True)
class CountSpec:
    """Which items of one submission list count toward a criterion, and what makes each adequate."""

    name: str
    source: str
    title: str
    episodes: tuple[str, ...] | None = None
    roles: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    classes: tuple[str, ...] | None = None
    modalities: tuple[str, ...] | None = None
    protocols: tuple[str, ...] | None = None
    failure_outcomes: tuple[str, ...] = ("no_response", "partial_response")
    intolerance_outcomes: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    min_weeks: float | None = None
    dose: str | None = None
    min_adherence_percent: float | None = None
    max_improvement_percent: float | None = None
    min_sessions: int | None = None
    min_improvement_percent: float | None = None
    improvement_above_percent: float | None = None
    min_days_since_end: int | None = None
    max_days_since_end: int | None = None
    # improvement above this is a response, whatever the outcome label (a label that says otherwise: unknown)
    response_above_percent: float | None = None
    intolerance_dose: str = "any"  # "adequate": intolerance counts only at a therapeutic dose
    # adequacy is the treating physician's to judge: below min_weeks / min_sessions (the reference) their
    # attestation decides, except below floor_weeks / floor_sessions, which no course reaching is adequate
    judged_by_physician: bool = False
    floor_weeks: float | None = None
    floor_sessions: int | None = None

    @classmethod
    def parse(cls, name: str, spec: dict) -> CountSpec:
        """Build a spec from the policy file; raise ``ValueError`` naming a bad key."""
        source = spec.get("source")
        if source not in COUNT_SOURCES:
            raise ValueError(f"source must be one of {list(COUNT_SOURCES)}")
        unknown_keys = set(spec) - _SPEC_KEYS[source]
        if unknown_keys:
            raise ValueError(f"key(s) {sorted(unknown_keys)} do not apply to {source}")
        if spec.get("dose") not in (None, *DOSE_RULES):
            raise ValueError(f"dose must be one of {list(DOSE_RULES)}")
        if spec.get("intolerance_dose", "any") not in INTOLERANCE_DOSES:
            raise ValueError(f"intolerance_dose must be one of {list(INTOLERANCE_DOSES)}")
        for floor, reference in (("floor_weeks", "min_weeks"), ("floor_sessions", "min_sessions")):
            if floor in spec and not (spec.get("judged_by_physician") and reference in spec):
                raise ValueError(f"{floor} needs judged_by_physician and {reference} (the reference above it)")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
        values.setdefault("title", name.replace("_", " "))
        return cls(name=name, **values)

    def adequacy_text(self) -> str:
        """Describe what makes one item count, for reasons: 'at least 4 weeks at or above ...'."""
        parts = []
        if self.min_weeks is not None:
            parts.append(f"at least {fmt(self.min_weeks)} weeks")
        if self.dose in ("minimum_adequate", "adequate"):
            parts.append("at or above the catalogue's minimum adequate dose")
        elif self.dose == "maximum_labelled_or_tolerated":
            parts.append("at the maximum labelled dose (or the highest tolerated dose at or above the minimum "
                         "adequate dose)")
        elif self.dose == "outpatient_maximum_or_tolerated":
            parts.append("at the label's outpatient maximum for its formulation and the patient's age (or the "
                         "highest tolerated dose at or above the minimum adequate dose)")
        if self.min_adherence_percent is not None:
            parts.append(f"with adherence of at least {fmt(self.min_adherence_percent)}%")
        if self.min_sessions is not None:
            parts.append(f"at least {fmt(self.min_sessions)} sessions")
        if self.judged_by_physician:
            floors = [f"{fmt(n)} {unit}" for n, unit in ((self.floor_weeks, "weeks"), (self.floor_sessions, "sessions"))
                      if n is not None]
            parts.append("or as the treating physician judges adequate" +
                         (f" (never below {' and '.join(floors)})" if floors else ""))
        return ", ".join(parts) if parts else "any adequacy"


SCALE_SELECTIONS = ("latest", "lowest")


@dataclass(frozen=True)
class ScaleSpec:
    """One score within a window, with the threshold for its instrument: the most recent one
    (``select: latest``, the default) or the one furthest below its threshold (``select: lowest``,
    for policies that want symptoms *persistently* at a level).

    A threshold is a number, or ``[low, high]`` where the sources the policy cites disagree: a score at
    or above ``high`` reaches it under every banding, one below ``low`` under none, and one in between
    is for the clinician to judge (``scale.<name>.reaches`` is then unknown).
    """

    name: str
    window_days: int
    thresholds: dict[str, float]  # the strictest reading: ``high`` of a pair
    select: str = "latest"
    lows: dict[str, float] = field(default_factory=dict)  # ``low`` of each pair

    def reaches(self, instrument: str, score: float) -> bool | None:
        if score >= self.thresholds[instrument]:
            return True
        return None if score >= self.lows.get(instrument, self.thresholds[instrument]) else False


@dataclass(frozen=True)
class FactSpec:
    """Everything a policy asks to be derived: code sets, scale windows and counts."""

    diagnosis_sets: dict[str, CodeSet] = field(default_factory=dict)
    scales: dict[str, ScaleSpec] = field(default_factory=dict)
    counts: dict[str, CountSpec] = field(default_factory=dict)

    @classmethod
    def parse(cls, parameters: dict) -> FactSpec:
        """Read the structured parameters; raise ``ValueError`` with a dotted location on error."""
        diagnosis_sets, scales, counts = {}, {}, {}
        for name, patterns in (parameters.get("diagnosis_sets") or {}).items():
            try:
                diagnosis_sets[name] = compile_code_set(patterns)
            except ValueError as exc:
                raise ValueError(f"parameters.diagnosis_sets.{name}: {exc}") from None
        for name, spec in (parameters.get("scales") or {}).items():
            if not {"window_days", "thresholds"} <= set(spec) <= {"window_days", "thresholds", "select"}:
                raise ValueError(f"parameters.scales.{name}: needs window_days and thresholds, and may have select")
            if spec.get("select", "latest") not in SCALE_SELECTIONS:
                raise ValueError(f"parameters.scales.{name}.select: must be one of {list(SCALE_SELECTIONS)}")
            thresholds, lows = {}, {}
            for instrument, value in spec["thresholds"].items():
                if isinstance(value, list):
                    if len(value) != 2 or not value[0] < value[1]:
                        raise ValueError(f"parameters.scales.{name}.thresholds.{instrument}: a disputed threshold "
                                         "is [low, high] with low < high")
                    lows[instrument], value = value
                thresholds[instrument] = value
            scales[name] = ScaleSpec(name, int(spec["window_days"]), thresholds, spec.get("select", "latest"), lows)
        for name, spec in (parameters.get("counts") or {}).items():
            if name in RESERVED_NAMES:
                raise ValueError(f"parameters.counts.{name}: the name is reserved")
            try:
                counts[name] = CountSpec.parse(name, spec)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"parameters.counts.{name}: {exc}") from None
        return cls(diagnosis_sets, scales, counts)
