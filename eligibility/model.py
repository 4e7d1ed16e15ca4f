"""The domain model: a submission as immutable values, and the few derivations made from it.

Every field mirrors section 1 of the wire contract. ``None`` always means *not known*;
an empty tuple means *known to be none*. Derived values (age, weeks, episode) are computed
once, here, and each records where it came from so that a reason can say so.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from .catalogue import Drug  # noqa: F401  (defined with the catalogue; re-exported for ``eligibility.model.Drug``)


class Status(enum.StrEnum):
    """Three-valued status of a criterion."""

    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


class Kind(enum.StrEnum):
    """What a criterion protects; decides the determination's precedence."""

    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"
    CONTRAINDICATION = "contraindication"


class Determination(enum.StrEnum):
    """The per-policy verdict, in precedence order."""

    CONTRAINDICATED = "contraindicated"
    DOES_NOT_MEET_CRITERIA = "does_not_meet_criteria"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    MEETS_CRITERIA = "meets_criteria"


SEVERITY_RANK = {"mild": 1, "moderate": 2, "severe": 3}

INSTRUMENT_RANGES = {
    "phq-9": (0, 27),
    "hamd-17": (0, 52),
    "hamd-24": (0, 75),
    "madrs": (0, 60),
    "bdi-ii": (0, 63),
    "qids-sr16": (0, 27),
    "ids-c30": (0, 84),
    "cgi-s": (1, 7),
}

SAFETY_FIELDS = (
    "intracranial_metal",
    "cochlear_implant",
    "implanted_neurostimulator",
    "cardiac_device",
    "seizure_history",
    "neurological_condition",
    "active_suicidal_intent",
    "substance_use_past_90_days",
    "ketamine_or_esketamine_current",
)


@dataclass(frozen=True, slots=True)
class Patient:
    """The patient; ``age`` is given or derived from ``birth_date`` at ``as_of``."""

    age: int | None = None
    age_source: str | None = None  # "age" or "birth_date": the field that gave it
    birth_date: date | None = None
    sex: str | None = None
    pregnant: bool | None = None


@dataclass(frozen=True, slots=True)
class Episode:
    """The current major depressive episode."""

    onset: date | None = None
    severity: str | None = None
    psychotic_features: bool | None = None
    catatonia: bool | None = None
    ect_candidate: bool | None = None


@dataclass(frozen=True, slots=True)
class Diagnosis:
    index: int
    code: str  # ICD-10-CM with the dot, upper case
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Scale:
    index: int
    instrument: str
    score: float
    date: date


@dataclass(frozen=True, slots=True)
class MedicationTrial:
    """One antidepressant or augmentation trial; ``drug`` is ``None`` when the catalogue does not know it."""

    index: int
    given_name: str | None
    rxnorm: str | None
    drug: Drug | None
    daily_dose_mg: float | None = None
    duration_weeks: float | None = None
    weeks_source: str | None = None  # "duration_weeks" or "dates"
    start_date: date | None = None
    end_date: date | None = None
    episode: str | None = None
    episode_source: str | None = None  # "episode" or "dates"
    role: str = "monotherapy"
    outcome: str = "unknown"
    improvement_percent: float | None = None
    adherence_percent: float | None = None
    side_effects: tuple[str, ...] = ()
    dose_limited_by_tolerability: bool | None = None

    @property
    def label(self) -> str:
        """The drug's name as the clinician will read it."""
        if self.drug is not None:
            return self.drug.name
        if self.given_name:
            return self.given_name
        return f"RxCUI {self.rxnorm}"


@dataclass(frozen=True, slots=True)
class PsychotherapyTrial:
    index: int
    modality: str
    sessions: int | None = None
    duration_weeks: float | None = None
    weeks_source: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    episode: str | None = None
    episode_source: str | None = None
    outcome: str = "unknown"


@dataclass(frozen=True, slots=True)
class EctCourse:
    index: int
    sessions: int | None = None
    end_date: date | None = None
    episode: str | None = None
    outcome: str = "unknown"


@dataclass(frozen=True, slots=True)
class TmsCourse:
    index: int
    end_date: date | None = None
    sessions: int | None = None
    protocol: str | None = None
    outcome: str = "unknown"
    improvement_percent: float | None = None
    episode: str | None = None


@dataclass(frozen=True, slots=True)
class Safety:
    """The safety screen; each field ``None`` until screened."""

    intracranial_metal: bool | None = None
    cochlear_implant: bool | None = None
    implanted_neurostimulator: bool | None = None
    cardiac_device: bool | None = None
    seizure_history: bool | None = None
    neurological_condition: bool | None = None
    active_suicidal_intent: bool | None = None
    substance_use_past_90_days: bool | None = None
    ketamine_or_esketamine_current: bool | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """What is asked for; the contract's defaults apply when a field is absent."""

    kind: str = "initial"
    protocol: str = "rtms_10hz"
    sessions: int = 36


@dataclass(frozen=True, slots=True)
class Submission:
    """A validated treatment-history submission.

    ``None`` for a list means the caller did not say; ``()`` means there were none.
    """

    as_of: date
    patient: Patient
    episode: Episode
    safety: Safety
    request: Request
    policies: tuple[str, ...] | None = None
    reference: str | None = None
    diagnoses: tuple[Diagnosis, ...] | None = None
    scales: tuple[Scale, ...] | None = None
    medication_trials: tuple[MedicationTrial, ...] | None = None
    psychotherapy_trials: tuple[PsychotherapyTrial, ...] | None = None
    ect_courses: tuple[EctCourse, ...] | None = None
    tms_courses: tuple[TmsCourse, ...] | None = None
    ordering_clinician_role: str | None = None


def age_on(birth_date: date, as_of: date) -> int:
    """Return the age in whole years on ``as_of`` (a birthday counts on its day)."""
    before_birthday = (as_of.month, as_of.day) < (birth_date.month, birth_date.day)
    return as_of.year - birth_date.year - before_birthday


def weeks_between(start: date, end: date) -> float:
    """Return the weeks from ``start`` to ``end``, rounded to one decimal."""
    return round((end - start).days / 7, 1)


def episode_of(start: date, onset: date) -> str:
    """Return ``current`` for a trial started on or after the episode's onset, else ``previous``."""
    return "current" if start >= onset else "previous"
