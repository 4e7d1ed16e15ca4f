"""The submission's wire format (contract section 1): validation and translation into the model.

These marshmallow schemas are shared by the CLI and the HTTP API, so that both accept and
reject exactly the same documents. They check shape, ranges and cross-field consistency; they
hold no eligibility logic. Derivations happen once, in ``SubmissionSchema.make_submission``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from .catalogue import Catalogue
from .codes import is_icd10cm, normalise_icd10cm
from .errors import InvalidSubmission
from .model import (
    INSTRUMENT_RANGES,
    Diagnosis,
    EctCourse,
    Episode,
    Implant,
    MedicationTrial,
    Patient,
    PsychotherapyTrial,
    Request,
    Safety,
    Scale,
    Submission,
    TmsCourse,
    age_on,
    episode_of,
    weeks_between,
)
from .therapy import IMPLANT_KINDS, IMPLANT_LOCATIONS

LIMITS = {
    "diagnoses": 50,
    "scales": 200,
    "medication_trials": 100,
    "psychotherapy_trials": 50,
    "ect_courses": 20,
    "tms_courses": 20,
    "policies": 20,
    "side_effects": 20,
    "implants": 20,
}
MEDICATION_OUTCOMES = ("no_response", "partial_response", "response", "remission", "intolerance", "ongoing", "unknown")
PSYCHOTHERAPY_OUTCOMES = ("no_response", "partial_response", "response", "remission", "discontinued", "ongoing",
                          "unknown")
MODALITIES = ("cbt", "ipt", "behavioral_activation", "problem_solving", "psychodynamic", "mbct", "act", "dbt",
              "supportive", "family", "group", "other")
PROTOCOLS = ("rtms_10hz", "itbs", "deep_tms", "accelerated", "other")  # of tms_courses (contract section 1)
EPISODES = ("current", "previous")
FORMULATIONS = ("ir", "sr", "er", "odt", "transdermal", "intranasal", "other")
REQUEST_KINDS = ("initial", "retreatment", "maintenance", "extension")
CLINICIAN_ROLES = ("psychiatrist", "psychiatric_nurse_practitioner", "other_physician", "other")


# -- strict scalar fields: JSON has types, and a "3" is not a 3 ---------------------------------

class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false``; no strings or numbers."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    """A JSON integer; no strings, booleans or fractions."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class StrictNumber(fields.Float):
    """A finite JSON number; no strings or booleans."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        try:
            number = float(value)  # an integer too large for a float raises OverflowError
        except OverflowError:
            raise self.make_error("invalid") from None
        if not math.isfinite(number):
            raise self.make_error("invalid")
        return number


class BoundedList(fields.List):
    """A list whose length is checked before any item is read, so that an oversized list costs
    nothing to refuse (and reports one error, not one per item)."""

    def __init__(self, inner, *, max_length: int, min_length: int = 0, **kwargs):
        super().__init__(inner, **kwargs)
        self.max_length, self.min_length = max_length, min_length

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list) and not self.min_length <= len(value) <= self.max_length:
            raise ma.ValidationError(f"Length must be between {self.min_length} and {self.max_length}.")
        return super()._deserialize(value, attr, data, **kwargs)


def _optional(field_cls, *args, **kwargs):
    return field_cls(*args, allow_none=True, load_default=None, **kwargs)


def _text(max_length: int):
    return _optional(fields.String, validate=validate.Length(max=max_length))


def _choice(choices):
    return _optional(fields.String, validate=validate.OneOf(choices))


# -- nested objects -----------------------------------------------------------------------------

def _list_of(schema, name):
    return _optional(BoundedList, fields.Nested(schema), max_length=LIMITS[name])


class PatientSchema(ma.Schema):
    birth_date = _optional(fields.Date)
    age = _optional(StrictInteger, validate=validate.Range(0, 130))
    sex = _choice(("female", "male", "other", "unknown"))
    pregnant = _optional(StrictBoolean)


class CurrentEpisodeSchema(ma.Schema):
    onset = _optional(fields.Date)
    severity = _choice(("mild", "moderate", "severe"))
    psychotic_features = _optional(StrictBoolean)
    catatonia = _optional(StrictBoolean)
    ect_candidate = _optional(StrictBoolean)


class DiagnosisSchema(ma.Schema):
    code = fields.String(required=True, validate=validate.Length(max=16))
    description = _text(500)

    @ma.validates("code")
    def _code_has_icd10cm_shape(self, value, **kwargs):
        if not is_icd10cm(value):
            raise ma.ValidationError("Not an ICD-10-CM code (e.g. F33.2 or F332).")


class ScaleSchema(ma.Schema):
    instrument = fields.String(required=True, validate=validate.OneOf(tuple(INSTRUMENT_RANGES)))
    score = StrictNumber(required=True)
    date = fields.Date(required=True)

    @ma.validates_schema(skip_on_field_errors=True)
    def _score_in_instrument_range(self, data, **kwargs):
        low, high = INSTRUMENT_RANGES[data["instrument"]]
        if not low <= data["score"] <= high:
            raise ma.ValidationError(f"{data['instrument']} scores run from {low} to {high}.", "score")


def _check_dates(data: dict) -> None:
    start, end = data.get("start_date"), data.get("end_date")
    if start and end and end < start:
        raise ma.ValidationError("Must not be before start_date.", "end_date")


class MedicationTrialSchema(ma.Schema):
    drug = _optional(fields.String, validate=validate.Length(min=1, max=100))
    rxnorm = _optional(fields.String, validate=validate.Regexp(r"^[0-9]{1,10}$", error="An RxCUI is 1 to 10 digits."))
    daily_dose_mg = _optional(StrictNumber, validate=validate.Range(min=0, min_inclusive=False, max=100_000))
    duration_weeks = _optional(StrictNumber, validate=validate.Range(0, 520))
    start_date = _optional(fields.Date)
    end_date = _optional(fields.Date)
    episode = _choice(EPISODES)
    role = _choice(("monotherapy", "augmentation"))
    outcome = _choice(MEDICATION_OUTCOMES)
    improvement_percent = _optional(StrictNumber, validate=validate.Range(-100, 100))
    adherence_percent = _optional(StrictNumber, validate=validate.Range(0, 100))
    side_effects = _optional(BoundedList, fields.String(validate=validate.Length(max=200)),
                             max_length=LIMITS["side_effects"])
    dose_limited_by_tolerability = _optional(StrictBoolean)
    formulation = _choice(FORMULATIONS)
    augments = _optional(fields.String, validate=validate.Length(min=1, max=100))
    adequacy_attested = _optional(StrictBoolean)

    @ma.validates_schema(skip_on_field_errors=True)
    def _drug_named_and_dates_ordered(self, data, **kwargs):
        if not data.get("drug") and not data.get("rxnorm"):
            raise ma.ValidationError("Give the drug's generic name (drug) or its RxNorm ingredient RxCUI (rxnorm).")
        _check_dates(data)


class PsychotherapyTrialSchema(ma.Schema):
    modality = fields.String(required=True, validate=validate.OneOf(MODALITIES))
    sessions = _optional(StrictInteger, validate=validate.Range(0, 1000))
    duration_weeks = _optional(StrictNumber, validate=validate.Range(0, 520))
    start_date = _optional(fields.Date)
    end_date = _optional(fields.Date)
    episode = _choice(EPISODES)
    outcome = _choice(PSYCHOTHERAPY_OUTCOMES)
    adequacy_attested = _optional(StrictBoolean)

    @ma.validates_schema(skip_on_field_errors=True)
    def _dates_ordered(self, data, **kwargs):
        _check_dates(data)


class EctCourseSchema(ma.Schema):
    sessions = _optional(StrictInteger, validate=validate.Range(0, 1000))
    end_date = _optional(fields.Date)
    episode = _choice(EPISODES)
    outcome = _choice(MEDICATION_OUTCOMES)


class TmsCourseSchema(ma.Schema):
    end_date = _optional(fields.Date)
    sessions = _optional(StrictInteger, validate=validate.Range(0, 1000))
    protocol = _choice(PROTOCOLS)
    outcome = _choice(MEDICATION_OUTCOMES)
    improvement_percent = _optional(StrictNumber, validate=validate.Range(-100, 100))
    episode = _choice(EPISODES)


class ImplantSchema(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(IMPLANT_KINDS))
    location = _choice(IMPLANT_LOCATIONS)


def safety_schema(therapies) -> type[ma.Schema]:
    """The safety screen: every field some therapy declares, and the implants with their locations."""
    names = sorted({name for t in therapies for name in t.safety_fields})
    return ma.Schema.from_dict({**{name: _optional(StrictBoolean) for name in names},
                                "implants": _list_of(ImplantSchema, "implants")}, name="SafetySchema")


def request_schema(therapies) -> type[ma.Schema]:
    """What is asked for: the protocols are those the therapies declare."""
    protocols = tuple(dict.fromkeys(p for t in therapies for p in t.protocols))
    return ma.Schema.from_dict({"kind": _choice(REQUEST_KINDS), "protocol": _choice(protocols),
                                "sessions": _optional(StrictInteger, validate=validate.Range(1, 100))},
                               name="RequestSchema")


class OrderingClinicianSchema(ma.Schema):
    role = _choice(CLINICIAN_ROLES)


# -- the submission -----------------------------------------------------------------------------

class SubmissionSchema(ma.Schema):
    """A treatment-history submission; ``load`` returns a ``model.Submission``.

    :param catalogue: resolves drug names and RxCUIs.
    :param policy_ids: the ids a submission may name; ``None`` accepts any.
    :param today: the default ``as_of`` (UTC today when not given).
    """

    policies = _optional(BoundedList, fields.String(validate=validate.Length(min=1, max=100)),
                         min_length=1, max_length=LIMITS["policies"])
    as_of = _optional(fields.Date)
    reference = _text(128)
    patient = fields.Nested(PatientSchema, required=True)
    current_episode = _optional(fields.Nested, CurrentEpisodeSchema)
    diagnoses = _list_of(DiagnosisSchema, "diagnoses")
    scales = _list_of(ScaleSchema, "scales")
    medication_trials = _list_of(MedicationTrialSchema, "medication_trials")
    psychotherapy_trials = _list_of(PsychotherapyTrialSchema, "psychotherapy_trials")
    ect_courses = _list_of(EctCourseSchema, "ect_courses")
    tms_courses = _list_of(TmsCourseSchema, "tms_courses")
    safety = _optional(fields.Nested, safety_schema(()))  # the therapies' fields: see ``submission_schema``
    request = _optional(fields.Nested, request_schema(()))
    ordering_clinician = _optional(fields.Nested, OrderingClinicianSchema)

    def __init__(self, *, catalogue: Catalogue, policy_ids=None, today: date | None = None, **kwargs):
        super().__init__(**kwargs)
        self.catalogue = catalogue
        self.policy_ids = None if policy_ids is None else frozenset(policy_ids)
        self.today = today

    def _as_of(self, data) -> date:
        return data.get("as_of") or self.today or datetime.now(UTC).date()

    @ma.validates_schema(skip_on_field_errors=False)
    def _consistent(self, data, **kwargs):
        """Cross-field checks, each reported at its own field; runs even beside field errors."""
        errors: dict = {}
        as_of = self._as_of(data)

        def add(messages_at: list, message: str):
            node = errors
            for key in messages_at[:-1]:
                node = node.setdefault(key, {})
            node.setdefault(messages_at[-1], []).append(message)

        policies = data.get("policies") or []
        seen: set[str] = set()
        for i, policy_id in enumerate(policies):
            if policy_id in seen:
                add(["policies", i], f"{policy_id!r} is named twice.")
            elif self.policy_ids is not None and policy_id not in self.policy_ids:
                add(["policies", i], f"Unknown policy {policy_id!r}; GET /v1/policies lists them.")
            seen.add(policy_id)

        not_after = f"Must not be after as_of ({as_of.isoformat()})."
        patient = data.get("patient") or {}
        if patient.get("birth_date"):
            if patient["birth_date"] > as_of:
                add(["patient", "birth_date"], not_after)
            elif patient.get("age") is not None and age_on(patient["birth_date"], as_of) != patient["age"]:
                add(["patient", "age"], f"Disagrees with birth_date, which gives age "
                                        f"{age_on(patient['birth_date'], as_of)} on {as_of.isoformat()}.")
        onset = (data.get("current_episode") or {}).get("onset")
        if onset and onset > as_of:
            add(["current_episode", "onset"], not_after)
        for list_name, date_fields in (("scales", ("date",)), ("medication_trials", ("start_date", "end_date")),
                                       ("psychotherapy_trials", ("start_date", "end_date")),
                                       ("ect_courses", ("end_date",)), ("tms_courses", ("end_date",))):
            for i, item in enumerate(data.get(list_name) or []):
                for name in date_fields:
                    if isinstance(item, dict) and item.get(name) and item[name] > as_of:
                        add([list_name, i, name], not_after)
        for i, trial in enumerate(data.get("medication_trials") or []):
            if not isinstance(trial, dict):
                continue
            try:
                self.catalogue.resolve(trial.get("drug"), trial.get("rxnorm"))
            except ValueError as exc:
                add(["medication_trials", i, "rxnorm"], f"{exc}.")
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def make_submission(self, data, **kwargs) -> Submission:
        """Build the model, deriving age, trial weeks and episodes once."""
        as_of = self._as_of(data)
        patient = data["patient"]
        age, age_source = patient.get("age"), "age" if patient.get("age") is not None else None
        if age is None and patient.get("birth_date"):
            age, age_source = age_on(patient["birth_date"], as_of), "birth_date"
        episode = Episode(**(data.get("current_episode") or {}))

        def weeks(item):
            if item.get("duration_weeks") is not None:
                return item["duration_weeks"], "duration_weeks"
            if item.get("start_date") and item.get("end_date"):
                return weeks_between(item["start_date"], item["end_date"]), "dates"
            return None, None

        def which_episode(item):
            """(episode, how it was known, the dates that decided it); a stated episode the dates
            contradict is not known (the clinician is asked which it was)."""
            stated = item.get("episode")
            if episode.onset is None or not (item.get("start_date") or item.get("end_date")):
                return (stated, "episode", None) if stated else (None, None, None)
            dated, basis = episode_of(item.get("start_date"), item.get("end_date"), episode.onset,
                                      item.get("outcome") == "ongoing")
            if stated is None:
                started_before = item.get("start_date") is None or item["start_date"] < episode.onset
                return dated, "overlap" if dated == "current" and started_before else "dates", basis
            if dated is not None and dated != stated:
                return None, "conflict", f"it is given as the {stated} episode, but it {basis}"
            return stated, "episode", basis

        def listed(name, build):
            items = data.get(name)
            return None if items is None else tuple(build(i, item) for i, item in enumerate(items))

        def medication(i, t):
            duration, weeks_source = weeks(t)
            ep, ep_source, ep_basis = which_episode(t)
            return MedicationTrial(
                index=i, given_name=t.get("drug"), rxnorm=t.get("rxnorm"),
                drug=self.catalogue.resolve(t.get("drug"), t.get("rxnorm")),
                daily_dose_mg=t.get("daily_dose_mg"), duration_weeks=duration, weeks_source=weeks_source,
                start_date=t.get("start_date"), end_date=t.get("end_date"), episode=ep, episode_source=ep_source,
                episode_basis=ep_basis,
                role=t.get("role") or "monotherapy", outcome=t.get("outcome") or "unknown",
                improvement_percent=t.get("improvement_percent"), adherence_percent=t.get("adherence_percent"),
                side_effects=tuple(t.get("side_effects") or ()),
                dose_limited_by_tolerability=t.get("dose_limited_by_tolerability"),
                formulation=t.get("formulation"), augments=t.get("augments"),
                adequacy_attested=t.get("adequacy_attested"),
            )

        def psychotherapy(i, t):
            duration, weeks_source = weeks(t)
            ep, ep_source, ep_basis = which_episode(t)
            return PsychotherapyTrial(
                index=i, modality=t["modality"], sessions=t.get("sessions"), duration_weeks=duration,
                weeks_source=weeks_source, start_date=t.get("start_date"), end_date=t.get("end_date"),
                episode=ep, episode_source=ep_source, episode_basis=ep_basis, outcome=t.get("outcome") or "unknown",
                adequacy_attested=t.get("adequacy_attested"),
            )

        request = data.get("request") or {}
        safety = data.get("safety") or {}
        return Submission(
            as_of=as_of,
            reference=data.get("reference"),
            policies=tuple(data["policies"]) if data.get("policies") else None,
            patient=Patient(age=age, age_source=age_source, birth_date=patient.get("birth_date"),
                            sex=patient.get("sex"), pregnant=patient.get("pregnant")),
            episode=episode,
            diagnoses=listed("diagnoses",
                             lambda i, d: Diagnosis(i, normalise_icd10cm(d["code"]), d.get("description"))),
            scales=listed("scales", lambda i, s: Scale(i, s["instrument"], s["score"], s["date"])),
            medication_trials=listed("medication_trials", medication),
            psychotherapy_trials=listed("psychotherapy_trials", psychotherapy),
            ect_courses=listed("ect_courses", lambda i, c: EctCourse(
                i, c.get("sessions"), c.get("end_date"), c.get("episode"), c.get("outcome") or "unknown")),
            tms_courses=listed("tms_courses", lambda i, c: TmsCourse(
                i, c.get("end_date"), c.get("sessions"), c.get("protocol"), c.get("outcome") or "unknown",
                c.get("improvement_percent"), c.get("episode"))),
            safety=Safety({k: v for k, v in safety.items() if k != "implants" and v is not None},
                          None if safety.get("implants") is None else tuple(
                              Implant(i, d["kind"], d.get("location")) for i, d in enumerate(safety["implants"]))),
            request=Request(kind=request.get("kind") or "initial", protocol=request.get("protocol"),
                            sessions=request.get("sessions")),
            ordering_clinician_role=(data.get("ordering_clinician") or {}).get("role"),
        )


def submission_schema(therapies, **kwargs) -> SubmissionSchema:
    """A submission schema whose safety screen and protocols are those ``therapies`` declare."""
    therapies = tuple(therapies)
    cls = type("SubmissionSchema", (SubmissionSchema,), {
        "safety": _optional(fields.Nested, safety_schema(therapies)),
        "request": _optional(fields.Nested, request_schema(therapies)),
        "__doc__": SubmissionSchema.__doc__})
    return cls(**kwargs)


def pointer_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested error messages into ``{JSON Pointer: [message, ...]}``."""
    flat: dict[str, list[str]] = {}

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "_schema":
                    walk(value, path)
                else:
                    token = str(key).replace("~", "~0").replace("/", "~1")
                    walk(value, f"{path}/{token}")
        elif isinstance(node, list) and all(isinstance(m, str) for m in node):
            flat.setdefault(path, []).extend(node)
        elif isinstance(node, list):
            for value in node:
                walk(value, path)
        else:
            flat.setdefault(path, []).append(str(node))

    walk(messages, prefix)
    return dict(sorted(flat.items()))


def load_submission(document: Any, schema: SubmissionSchema) -> Submission:
    """Validate ``document`` (parsed JSON); raise ``InvalidSubmission`` with every problem at once."""
    if not isinstance(document, dict):
        raise InvalidSubmission({"": ["The submission must be a JSON object."]})
    try:
        return schema.load(document)
    except ma.ValidationError as exc:
        raise InvalidSubmission(pointer_errors(exc.messages)) from None
