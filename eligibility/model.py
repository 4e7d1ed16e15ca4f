"""The domain model: a submission as immutable values, and the few derivations made from it.

Every field mirrors section 1 of the wire contract. ``None`` always means *not known*;
an empty tuple means *known to be none*. Derived values (age, weeks, episode) are computed
once, here, and each records where it came from so that a reason can say so.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
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
    # "episode" (as given), "dates" (derived), "overlap" (derived: started before the onset and ran into the
    # current episode) or "conflict" (the stated episode and the dates disagree)
    episode_source: str | None = None
    episode_basis: str | None = None  # the dates that decided (or could not decide) the episode
    role: str = "monotherapy"
    outcome: str = "unknown"
    improvement_percent: float | None = None
    adherence_percent: float | None = None
    side_effects: tuple[str, ...] = ()
    dose_limited_by_tolerability: bool | None = None
    formulation: str | None = None
    augments: str | None = None  # the generic name of the antidepressant an augmentation trial was added to
    adequacy_attested: bool | None = None  # the treating physician attests the trial was adequate

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
    episode_basis: str | None = None
    outcome: str = "unknown"
    adequacy_attested: bool | None = None


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
class Implant:
    """One implanted device; ``location`` ``None`` when not given."""

    index: int
    kind: str
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Safety:
    """The safety screen: the fields the therapies declare, each answered ``True`` or ``False`` (a field
    that was not screened is absent), and the implants with where each one is (``None``: not listed)."""

    answers: dict[str, bool] = field(default_factory=dict)
    implants: tuple[Implant, ...] | None = None

    def __getattr__(self, name: str) -> bool | None:
        """A safety field's answer by name (``safety.cochlear_implant``); ``None`` when not screened."""
        if name.startswith("_"):
            raise AttributeError(name)
        return self.answers.get(name)


@dataclass(frozen=True, slots=True)
class Request:
    """What is asked for: a field that is absent is ``None`` (not stated). ``kind`` defaults to ``initial``
    (the contract's default); protocol and sessions defaults belong to the therapy (see ``therapy.py``)."""

    kind: str = "initial"
    protocol: str | None = None
    sessions: int | None = None


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


def episode_of(start: date | None, end: date | None, onset: date, ongoing: bool) -> tuple[str | None, str]:
    """Which episode a trial belongs to by its dates, and the dates that decided it.

    A trial belongs to the current episode if it was taken at any time since the episode's onset,
    wherever it started (a breakthrough episode on a maintenance antidepressant is the common case);
    to a previous one if it ended before the onset. ``None``: the dates cannot tell.
    """
    if start is not None and start >= onset:
        return "current", f"started {start.isoformat()}, on or after the current episode's onset {onset.isoformat()}"
    if end is not None:
        if end < onset:
            return "previous", f"ended {end.isoformat()}, before the current episode's onset {onset.isoformat()}"
        if start is None:
            return "current", f"ended {end.isoformat()}, after the current episode's onset {onset.isoformat()}"
        return "current", (f"started {start.isoformat()}, before the current episode's onset {onset.isoformat()}, and "
                           f"ran to {end.isoformat()}")
    began = f"started {start.isoformat()}, before" if start is not None else "started before"
    if ongoing:
        return "current", f"{began} the current episode's onset {onset.isoformat()}, and is ongoing"
    return None, (f"{began} the current episode's onset {onset.isoformat()}; with no end_date, whether it was still "
                  "taken after the onset is not known")
