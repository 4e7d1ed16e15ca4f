"""A FHIR R4 Bundle as a submission (contract sections 1 and 6), with a report of where each field came from.

Reading, never guessing: a field is filled only from an element that records it (docs/fhir-mapping.md has the
table). A list is filled only when the Bundle holds at least one item for it, so that a Bundle without
psychotherapy records says nothing about psychotherapy (the contract's absent list) rather than "none". An
outcome the EHR does not record stays unknown, and the evaluation's missing information says what to add.

The report (``mapping``) holds ``fields``, each submission field filled (a JSON Pointer) with the resources it
came from (``ResourceType/id``), and ``ignored``, each resource or element left out with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..catalogue import Catalogue
from ..codes import is_icd10cm, normalise_icd10cm
from . import codes as c

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
_MEDICATIONS = ("MedicationRequest", "MedicationStatement", "MedicationDispense")
_PATIENT_FIELD = {"Condition": "subject", "Observation": "subject", "MedicationRequest": "subject",
                  "MedicationStatement": "subject", "MedicationDispense": "subject", "Procedure": "subject",
                  "ServiceRequest": "subject", "AllergyIntolerance": "patient"}
_READ = frozenset(_PATIENT_FIELD) | {"Patient"}
_MEDICATION_OUTCOMES = ("no_response", "partial_response", "response", "remission", "intolerance")
_PSYCHOTHERAPY_OUTCOMES = ("no_response", "partial_response", "response", "remission", "discontinued")
_MODALITIES = ("cbt", "ipt", "behavioral_activation", "problem_solving", "psychodynamic", "mbct", "act", "dbt",
               "supportive", "family", "group", "other")


@dataclass
class Mapped:
    """The submission made from a Bundle, the report, and where each submission item came from in the Bundle
    (submission pointer -> Bundle pointer, to key a refusal of the submission into the Bundle)."""

    submission: dict
    mapping: dict
    origins: dict[str, str] = field(default_factory=dict)

    def bundle_pointer(self, pointer: str) -> str:
        """The Bundle element a submission pointer came from (by its longest known prefix); else the pointer
        itself, marked as the submission's."""
        prefix = pointer
        while prefix:
            if prefix in self.origins:
                return self.origins[prefix]
            prefix = prefix.rpartition("/")[0]
        return pointer


@dataclass
class _Entry:
    index: int
    resource: dict
    label: str

    @property
    def pointer(self) -> str:
        return f"/entry/{self.index}/resource"

    @property
    def kind(self) -> str:
        return self.resource["resourceType"]


def _day(value) -> date | None:
    """The calendar day of a FHIR date or dateTime, when it has one (a year or a month alone has none)."""
    if isinstance(value, str) and _DAY.match(value):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _codings(concept) -> list[dict]:
    return [x for x in (concept or {}).get("coding") or [] if isinstance(x, dict)]


def _code(concept, system: str) -> str | None:
    return next((x.get("code") for x in _codings(concept) if x.get("system") == system and x.get("code")), None)


def _codes(concept, system: str) -> list[str]:
    return [x["code"] for x in _codings(concept) if x.get("system") == system and x.get("code")]


def _status(concept) -> str | None:
    return next((x.get("code") for x in _codings(concept) if x.get("code")), None)


class _Report:
    def __init__(self):
        self.fields: dict[str, list[str]] = {}
        self.ignored: list[dict] = []
        self.origins: dict[str, str] = {}

    def used(self, pointer: str, *entries: _Entry) -> None:
        labels = self.fields.setdefault(pointer, [])
        for entry in entries:
            if entry.label not in labels:
                labels.append(entry.label)

    def ignore(self, entry: _Entry, reason: str, element: str | None = None) -> None:
        item = {"resource": entry.label}
        if element:
            item["element"] = element
        item["reason"] = reason
        self.ignored.append(item)

    def item(self, pointer: str, values: dict, entries: list[_Entry], origin: _Entry) -> None:
        """An array item: each of its fields used from ``entries``; errors in it point at ``origin``."""
        self.origins[pointer] = origin.pointer
        for name in values:
            self.used(f"{pointer}/{name}", *entries)


def map_bundle(bundle: dict, catalogue: Catalogue, *, as_of: date, policies: list[str] | None = None,
               as_of_given: bool = False) -> Mapped:
    """The submission a validated Bundle gives on ``as_of`` (records dated after it are left out)."""
    return _Mapper(bundle, catalogue, as_of).run(policies, as_of_given)


class _Mapper:
    def __init__(self, bundle: dict, catalogue: Catalogue, as_of: date):
        self.catalogue = catalogue
        self.as_of = as_of
        self.report = _Report()
        self.entries: list[_Entry] = []
        for i, raw in enumerate(bundle.get("entry") or []):
            resource = raw["resource"]
            rid = resource.get("id")
            label = f"{resource['resourceType']}/{rid}" if rid else raw.get("fullUrl") or f"/entry/{i}"
            self.entries.append(_Entry(i, resource, label))
        self.patient = next(e for e in self.entries if e.kind == "Patient")
        full_urls = {raw.get("fullUrl") for raw in bundle.get("entry") or [] if raw["resource"] is
                     self.patient.resource}
        pid = self.patient.resource.get("id")
        self.patient_refs = {u for u in full_urls if u} | ({f"Patient/{pid}"} if pid else set())

    # -- the whole -------------------------------------------------------------------------------------------

    def run(self, policies, as_of_given: bool) -> Mapped:
        sub: dict = {}
        if policies:
            sub["policies"] = list(policies)
        if as_of_given:
            sub["as_of"] = self.as_of.isoformat()
        sub["patient"] = self.patient_fields()
        mine = []
        for entry in self.entries:
            if entry is self.patient:
                continue
            if entry.kind not in _READ:
                self.report.ignore(entry, f"{entry.kind} is not a resource the mapping reads.")
            elif not self.of_patient(entry):
                self.report.ignore(entry, "It is about another patient than the Bundle's Patient.",
                                   _PATIENT_FIELD[entry.kind])
            else:
                mine.append(entry)
        by_kind: dict[str, list[_Entry]] = {}
        for entry in mine:
            by_kind.setdefault(entry.kind, []).append(entry)
        episode, diagnoses = self.conditions(by_kind.get("Condition", []))
        scales, safety, observed_episode, pregnant = self.observations(by_kind.get("Observation", []))
        for name, value in observed_episode.items():
            episode[name] = value  # an observation of the episode says more than the diagnosis code's title
        if pregnant is not None:
            sub["patient"]["pregnant"] = pregnant
        if episode:
            sub["current_episode"] = {k: v[0] for k, v in episode.items()}
            for name, (_, sources) in episode.items():
                self.report.used(f"/current_episode/{name}", *sources)
        self.put_list(sub, "diagnoses", diagnoses)
        self.put_list(sub, "scales", scales)
        trials = self.medications([e for e in mine if e.kind in _MEDICATIONS])
        self.intolerances(by_kind.get("AllergyIntolerance", []), trials)
        self.put_list(sub, "medication_trials", trials)
        therapy, ect, tms = self.procedures(by_kind.get("Procedure", []))
        self.put_list(sub, "psychotherapy_trials", therapy)
        self.put_list(sub, "ect_courses", ect)
        self.put_list(sub, "tms_courses", tms)
        if safety:
            sub["safety"] = {name: value for name, (value, _) in safety.items()}
            for name, (_, source) in safety.items():
                self.report.used(f"/safety/{name}", source)
                self.report.origins[f"/safety/{name}"] = source.pointer
        request = self.order(by_kind.get("ServiceRequest", []))
        if request is not None:
            sub["request"] = request
        mapping = {"fields": self.report.fields, "ignored": self.report.ignored}
        return Mapped(sub, mapping, self.report.origins)

    def put_list(self, sub: dict, name: str, items: list[tuple[dict, list[_Entry], _Entry]]) -> None:
        if not items:
            return
        sub[name] = []
        for i, (values, sources, origin) in enumerate(items):
            sub[name].append(values)
            self.report.item(f"/{name}/{i}", values, sources, origin)

    def of_patient(self, entry: _Entry) -> bool:
        ref = (entry.resource.get(_PATIENT_FIELD[entry.kind]) or {}).get("reference")
        if ref is None:
            return True  # MedicationDispense.subject is optional: a record in the patient's Bundle is theirs
        return ref in self.patient_refs or any(ref.endswith("/" + r) for r in self.patient_refs if "/" in r)

    def after_as_of(self, entry: _Entry, day: date | None, element: str) -> bool:
        if day is not None and day > self.as_of:
            self.report.ignore(entry, f"Dated after as_of ({self.as_of.isoformat()}).", element)
            return True
        return False

    # -- Patient ---------------------------------------------------------------------------------------------

    def patient_fields(self) -> dict:
        resource, entry, out = self.patient.resource, self.patient, {}
        if "birthDate" in resource:
            born = _day(resource["birthDate"]) if len(resource["birthDate"]) == 10 else None
            if born is None:
                self.report.ignore(entry, "A birth date without its day does not give an age.", "birthDate")
            elif not self.after_as_of(entry, born, "birthDate"):
                out["birth_date"] = born.isoformat()
                self.report.used("/patient/birth_date", entry)
                self.report.origins["/patient/birth_date"] = entry.pointer + "/birthDate"
        if resource.get("gender") in ("female", "male", "other", "unknown"):
            out["sex"] = resource["gender"]
            self.report.used("/patient/sex", entry)
        if "/patient/birth_date" not in self.report.fields and "/patient/sex" not in self.report.fields:
            self.report.used("/patient", entry)
        return out

    # -- Condition -------------------------------------------------------------------------------------------

    def conditions(self, entries: list[_Entry]):
        diagnoses: dict[str, tuple[dict, list[_Entry], _Entry]] = {}
        onsets: list[tuple[date, _Entry]] = []
        titles: dict[tuple, list[_Entry]] = {}
        for entry in entries:
            r = entry.resource
            verification = _status(r.get("verificationStatus"))
            if verification in ("refuted", "entered-in-error"):
                self.report.ignore(entry, f"Verification status {verification}.", "verificationStatus")
                continue
            if verification in ("unconfirmed", "provisional", "differential"):
                self.report.ignore(entry, f"Verification status {verification}: not a confirmed diagnosis; "
                                          "confirm it in the EHR to have it count.", "verificationStatus")
                continue
            clinical = _status(r.get("clinicalStatus"))
            if clinical is None:
                self.report.ignore(entry, "No clinical status: whether the condition is active is not recorded.",
                                   "clinicalStatus")
                continue
            if clinical not in ("active", "recurrence", "relapse"):
                self.report.ignore(entry, f"Clinical status {clinical}: not an active diagnosis.",
                                   "clinicalStatus")
                continue
            code = self.condition_code(entry)
            if code is None:
                continue
            if code in diagnoses:
                diagnoses[code][1].append(entry)
            else:
                diagnoses[code] = ({"code": code}, [entry], entry)
            if code[:3] in c.MDD_CATEGORIES and code not in c.NOT_MDD:
                onset = _day(r.get("onsetDateTime")) or _day((r.get("onsetPeriod") or {}).get("start"))
                if onset is not None and not self.after_as_of(entry, onset, "onset"):
                    onsets.append((onset, entry))
                if code in c.EPISODE_BY_ICD:
                    titles.setdefault(c.EPISODE_BY_ICD[code], []).append(entry)
        episode: dict[str, tuple[object, list[_Entry]]] = {}
        if onsets:
            latest = max(day for day, _ in onsets)
            episode["onset"] = (latest.isoformat(), [e for day, e in onsets if day == latest])
            if len({day for day, _ in onsets}) > 1:
                for day, e in onsets:
                    if day != latest:
                        self.report.ignore(e, "An earlier onset: the current episode is the latest one.", "onset")
        if len(titles) == 1:
            (severity, psychotic), sources = next(iter(titles.items()))
            episode["severity"] = (severity, sources)
            if psychotic is not None:
                episode["psychotic_features"] = (psychotic, sources)
        elif len(titles) > 1:
            for sources in titles.values():
                for e in sources:
                    self.report.ignore(e, "Active depression diagnoses disagree on the episode's severity or "
                                          "psychotic features: neither is used for the current episode.", "code")
        return episode, list(diagnoses.values())

    def condition_code(self, entry: _Entry) -> str | None:
        concept = entry.resource.get("code")
        for code in _codes(concept, c.ICD10CM):
            if is_icd10cm(code):
                return normalise_icd10cm(code)
        for code in _codes(concept, c.SNOMED):
            if code in c.SNOMED_DIAGNOSES:
                return c.SNOMED_DIAGNOSES[code]
        self.report.ignore(entry, "No ICD-10-CM code, and no SNOMED CT code the mapping reads "
                                  "(docs/fhir-mapping.md lists them).", "code")
        return None

    # -- Observation -----------------------------------------------------------------------------------------

    def observations(self, entries: list[_Entry]):
        scales, latest = [], {}
        for entry in entries:
            r = entry.resource
            if r.get("status") not in ("final", "amended", "corrected"):
                self.report.ignore(entry, f"Status {r.get('status')}: not a final result.", "status")
                continue
            concept = r.get("code")
            instrument = next((c.LOINC_SCALES[x] for x in _codes(concept, c.LOINC) if x in c.LOINC_SCALES), None)
            instrument = instrument or _code(concept, c.SCALE)
            day = _day(r.get("effectiveDateTime")) or _day(r.get("effectiveInstant")) or \
                _day((r.get("effectivePeriod") or {}).get("end"))
            if instrument is not None:
                score = r.get("valueInteger")
                if score is None:
                    score = (r.get("valueQuantity") or {}).get("value")
                if score is None:
                    self.report.ignore(entry, "No score (valueInteger or valueQuantity).", "value[x]")
                elif day is None:
                    self.report.ignore(entry, "No day the scale was rated (effectiveDateTime).", "effective[x]")
                elif not self.after_as_of(entry, day, "effective[x]"):
                    scales.append(({"instrument": instrument, "score": score, "date": day.isoformat()},
                                   [entry], entry))
                continue
            for system, kinds in ((c.SAFETY, "safety"), (c.EPISODE, "episode"), (c.PATIENT, "patient")):
                name = _code(concept, system)
                if name is None:
                    continue
                value = self.observed_value(entry, name)
                if value is None or self.after_as_of(entry, day, "effective[x]"):
                    break
                key = (kinds, name)
                earlier = latest.get(key)
                if earlier is not None and (day or date.min) < (earlier[2] or date.min):
                    self.report.ignore(entry, "A later observation of the same item is used.")
                else:
                    if earlier is not None:
                        self.report.ignore(earlier[1], "A later observation of the same item is used.")
                    latest[key] = (value, entry, day)
                break
            else:
                self.report.ignore(entry, "Not a code the mapping reads (docs/fhir-mapping.md lists them).", "code")
        safety = {name: (v, e) for (kind, name), (v, e, _) in latest.items() if kind == "safety"}
        episode = {name: (v, [e]) for (kind, name), (v, e, _) in latest.items() if kind == "episode"}
        pregnant = latest.get(("patient", "pregnant"))
        if pregnant is not None:
            self.report.used("/patient/pregnant", pregnant[1])
        return scales, safety, episode, None if pregnant is None else pregnant[0]

    def observed_value(self, entry: _Entry, name: str):
        r = entry.resource
        if name == "severity":
            value = r.get("valueString") or next((x.get("code") for x in _codings(r.get("valueCodeableConcept"))),
                                                 None)
            if value in ("mild", "moderate", "severe"):
                return value
            self.report.ignore(entry, "Severity must be mild, moderate or severe.", "value[x]")
            return None
        if isinstance(r.get("valueBoolean"), bool):
            return r["valueBoolean"]
        self.report.ignore(entry, "No valueBoolean: the item is not answered.", "value[x]")
        return None

    # -- medication ------------------------------------------------------------------------------------------

    def medications(self, entries: list[_Entry]):
        trials, dispensed, mapped_requests = [], {}, set()
        for entry in entries:
            if entry.kind != "MedicationDispense":
                trial = self.medication_trial(entry)
                if trial is not None:
                    trials.append((trial, [entry], entry))
                    mapped_requests.add(entry.label)
        for entry in entries:
            if entry.kind == "MedicationDispense":
                self.dispense(entry, mapped_requests, dispensed)
        for key, group in dispensed.items():
            trials.append(self.dispensed_trial(key, group))
        return trials

    def drug(self, entry: _Entry) -> dict | None:
        r = entry.resource
        if "medicationReference" in r:
            self.report.ignore(entry, "medicationReference: Medication resources are not read; code the "
                                      "medication in medicationCodeableConcept (RxNorm).", "medicationReference")
            return None
        concept = r.get("medicationCodeableConcept") or {}
        rxcuis = _codes(concept, c.RXNORM)
        for rxcui in rxcuis:
            drug = self.catalogue.by_rxcui.get(rxcui)
            if drug is not None:
                return {"drug": drug.name}
        names = [x.get("display") for x in _codings(concept) if x.get("system") == c.RXNORM] + [concept.get("text")]
        for text in names:
            drug = self.drug_named(text)
            if drug is not None:
                return {"drug": drug}
        if rxcuis and rxcuis[0].isdigit() and len(rxcuis[0]) <= 10:
            return {"rxnorm": rxcuis[0]}  # kept: the evaluation says the catalogue does not know it
        self.report.ignore(entry, "No RxNorm code and no name of a catalogue drug.", "medicationCodeableConcept")
        return None

    def drug_named(self, text) -> str | None:
        """A catalogue drug named by a product's name ("sertraline 50 MG Oral Tablet"): its words before the
        strength, or the first word (a salt: "bupropion hydrochloride")."""
        if not isinstance(text, str) or not text.strip():
            return None
        words = text.strip().lower().split()
        leading = []
        for word in words:
            if word[0].isdigit():
                break
            leading.append(word)
        for candidate in (" ".join(leading), words[0]):
            drug = self.catalogue.by_name.get(candidate)
            if drug is not None:
                return drug.name
        return None

    def medication_trial(self, entry: _Entry) -> dict | None:
        r, kind = entry.resource, entry.kind
        status = r.get("status")
        if status in ("entered-in-error", "cancelled", "draft", "not-taken", "intended"):
            self.report.ignore(entry, f"Status {status}: the medication was not taken.", "status")
            return None
        if kind == "MedicationRequest" and r.get("intent") == "proposal":
            self.report.ignore(entry, "Intent proposal: a suggestion, not a prescription.", "intent")
            return None
        trial = self.drug(entry)
        if trial is None:
            return None
        dosages = r.get("dosageInstruction" if kind == "MedicationRequest" else "dosage") or []
        self.dose(entry, dosages, trial)
        start = end = None
        bounds = [((d.get("timing") or {}).get("repeat") or {}).get("boundsPeriod") or {} for d in dosages]
        starts = [x for x in (_day(b.get("start")) for b in bounds) if x]
        ends = [x for x in (_day(b.get("end")) for b in bounds) if x]
        if kind == "MedicationStatement":
            period = r.get("effectivePeriod") or {}
            start, end = _day(period.get("start")), _day(period.get("end"))
        start = start or (min(starts) if starts else None)
        end = end or (max(ends) if ends else None)
        if start is None and kind == "MedicationRequest":
            start = _day(r.get("authoredOn"))
        if start is not None and self.after_as_of(entry, start, "start"):
            return None
        if start is not None:
            trial["start_date"] = start.isoformat()
        if end is not None:
            if end > self.as_of:
                self.report.ignore(entry, f"The period ends after as_of ({self.as_of.isoformat()}): no end date.",
                                   "end")
            else:
                trial["end_date"] = end.isoformat()
        role = next((x.get("valueCode") for x in r.get("extension") or [] if x.get("url") == c.ROLE_EXTENSION), None)
        if role in ("monotherapy", "augmentation"):
            trial["role"] = role
        outcome = self.recorded_outcome(entry)
        if outcome is None and status == "active":
            outcome = "ongoing"
        if outcome is not None:
            trial["outcome"] = outcome
        return trial

    def recorded_outcome(self, entry: _Entry) -> str | None:
        reasons = entry.resource.get("statusReason")
        for concept in reasons if isinstance(reasons, list) else [reasons] if reasons else []:
            code = _code(concept, c.MEDICATION_STATUS_REASON)
            if code in c.STATUS_REASON_OUTCOMES:
                return c.STATUS_REASON_OUTCOMES[code]
            code = _code(concept, c.OUTCOME)
            if code in _MEDICATION_OUTCOMES:
                return code
            self.report.ignore(entry, "A status reason that records no outcome the mapping reads.", "statusReason")
        return None

    def dose(self, entry: _Entry, dosages: list, trial: dict) -> None:
        daily = []
        for dosage in dosages:
            per_day = self.times_a_day(dosage.get("timing") or {})
            for dose_rate in dosage.get("doseAndRate") or []:
                quantity = dose_rate.get("doseQuantity") or {}
                mg = quantity.get("value") if quantity.get("code") == "mg" or quantity.get("unit") == "mg" else None
                if mg is not None and per_day is not None:
                    daily.append(mg * per_day)
        if daily:
            trial["daily_dose_mg"] = round(max(daily), 3)
        elif dosages:
            self.report.ignore(entry, "No dose in mg with a timing that says how often: no daily dose.", "dosage")

    @staticmethod
    def times_a_day(timing: dict) -> float | None:
        repeat = timing.get("repeat") or {}
        period, frequency = repeat.get("period"), repeat.get("frequency")
        if period and period > 0 and repeat.get("periodUnit") in c.PERIOD_DAYS:
            frequency = 1 if frequency is None else frequency  # R4: no frequency is once per period
            return frequency / (period * c.PERIOD_DAYS[repeat["periodUnit"]])
        code = _code(timing.get("code"), c.TIMING_ABBREVIATION)
        return c.TIMES_A_DAY.get(code)

    def dispense(self, entry: _Entry, mapped_requests: set, dispensed: dict) -> None:
        r = entry.resource
        if r.get("status") != "completed":
            self.report.ignore(entry, f"Status {r.get('status')}: not handed over.", "status")
            return
        prescriptions = [x.get("reference") for x in r.get("authorizingPrescription") or []]
        linked = [p for p in prescriptions if p in mapped_requests]
        if linked:
            self.report.ignore(entry, f"A dispense of {linked[0]}, whose trial it belongs to.")
            return
        trial = self.drug(entry)
        handed = _day(r.get("whenHandedOver"))
        if trial is None:
            return
        if handed is None:
            self.report.ignore(entry, "No day handed over (whenHandedOver).", "whenHandedOver")
            return
        if self.after_as_of(entry, handed, "whenHandedOver"):
            return
        dispensed.setdefault(tuple(trial.items()), []).append((handed, entry))

    def dispensed_trial(self, key: tuple, group: list):
        """Dispenses of one drug without a prescription in the Bundle: one trial, from the first to the end of
        the last one's supply."""
        group.sort(key=lambda x: x[0])
        trial = dict(key)
        trial["start_date"] = group[0][0].isoformat()
        last_day, last = group[-1]
        supply = last.resource.get("daysSupply") or {}
        if supply.get("value") and (supply.get("code") == "d" or supply.get("unit") in ("d", "day", "days")) \
                and 0 < supply["value"] <= 3660:
            end = last_day + timedelta(days=int(supply["value"]))
            if end <= self.as_of:
                trial["end_date"] = end.isoformat()
        daily = {}
        for _, entry in group:
            self.dose(entry, entry.resource.get("dosageInstruction") or [], daily)
        trial.update(daily)
        return trial, [e for _, e in group], group[0][1]

    def intolerances(self, entries: list[_Entry], trials: list) -> None:
        for entry in entries:
            r = entry.resource
            if r.get("type") != "intolerance":
                self.report.ignore(entry, "Not type intolerance.", "type")
                continue
            verification = _status(r.get("verificationStatus"))
            if verification in ("refuted", "entered-in-error"):
                self.report.ignore(entry, f"Verification status {verification}.", "verificationStatus")
                continue
            concept = r.get("code") or {}
            names = {self.catalogue.by_rxcui[x].name for x in _codes(concept, c.RXNORM)
                     if x in self.catalogue.by_rxcui}
            names |= {n for n in (self.drug_named(x.get("display")) for x in _codings(concept)) if n}
            if not names:
                self.report.ignore(entry, "Not an intolerance of a catalogue drug (RxNorm code).", "code")
                continue
            hit = False
            for trial, sources, _ in trials:
                if trial.get("drug") in names and "outcome" not in trial:
                    trial["outcome"] = "intolerance"
                    sources.append(entry)
                    hit = True
            if not hit:
                self.report.ignore(entry, "No trial of this drug without a recorded outcome to attach it to.")

    # -- Procedure -------------------------------------------------------------------------------------------

    def procedures(self, entries: list[_Entry]):
        sessions: dict[tuple, list[tuple[date, _Entry]]] = {}
        courses = {"psychotherapy_trials": [], "ect_courses": [], "tms_courses": []}
        for entry in entries:
            r = entry.resource
            if r.get("status") in ("not-done", "entered-in-error", "preparation", "unknown"):
                self.report.ignore(entry, f"Status {r.get('status')}: not performed.", "status")
                continue
            what = self.procedure_kind(entry)
            if what is None:
                continue
            period = r.get("performedPeriod") or {}
            single = _day(r.get("performedDateTime"))
            if single is not None:
                if not self.after_as_of(entry, single, "performedDateTime"):
                    sessions.setdefault(what, []).append((single, entry))
                continue
            start, end = _day(period.get("start")), _day(period.get("end"))
            if start is None and end is None:
                self.report.ignore(entry, "No day performed (performedDateTime or performedPeriod).", "performed[x]")
                continue
            if self.after_as_of(entry, start, "performedPeriod"):
                continue
            course = self.course(what, start, end if end and end <= self.as_of else None, None,
                                 self.procedure_outcome(entry, what[0]))
            courses[what[0]].append((course, [entry], entry))
        for what, group in sessions.items():
            group.sort(key=lambda x: x[0])
            outcome = next((o for o in (self.procedure_outcome(e, what[0]) for _, e in reversed(group)) if o), None)
            course = self.course(what, group[0][0], group[-1][0], len(group), outcome)
            courses[what[0]].append((course, [e for _, e in group], group[0][1]))
        return courses["psychotherapy_trials"], courses["ect_courses"], courses["tms_courses"]

    @staticmethod
    def course(what: tuple, start: date | None, end: date | None, count: int | None, outcome) -> dict:
        kind, detail = what
        values: dict = {}
        if kind == "psychotherapy_trials":
            values["modality"] = detail
            if start is not None:
                values["start_date"] = start.isoformat()
        elif kind == "tms_courses" and detail:
            values["protocol"] = detail
        if count is not None:
            values["sessions"] = count
        if end is not None:
            values["end_date"] = end.isoformat()
        if outcome is not None:
            values["outcome"] = outcome
        return values

    def procedure_kind(self, entry: _Entry) -> tuple | None:
        concept = entry.resource.get("code")
        cpt = set(_codes(concept, c.CPT))
        snomed = [c.SNOMED_PSYCHOTHERAPY[x] for x in _codes(concept, c.SNOMED) if x in c.SNOMED_PSYCHOTHERAPY]
        local = _code(concept, c.MODALITY)
        if cpt & c.CPT_TMS:
            protocol = _code(concept, c.PROTOCOL)
            return "tms_courses", protocol if protocol in ("rtms_10hz", "itbs", "deep_tms", "accelerated",
                                                           "other") else None
        if cpt & c.CPT_ECT:
            return "ect_courses", None
        modality = local if local in _MODALITIES else next((m for m in snomed if m), None)
        if modality is not None:
            return "psychotherapy_trials", modality
        if cpt & c.CPT_PSYCHOTHERAPY or snomed:
            self.report.ignore(entry, "Psychotherapy without its modality: CPT and this SNOMED code do not say "
                                      "which; add a SNOMED or local modality coding (docs/fhir-mapping.md).", "code")
            return None
        self.report.ignore(entry, "Not a psychotherapy, ECT or TMS code the mapping reads.", "code")
        return None

    def procedure_outcome(self, entry: _Entry, kind: str) -> str | None:
        code = _code(entry.resource.get("outcome"), c.OUTCOME)
        allowed = _PSYCHOTHERAPY_OUTCOMES if kind == "psychotherapy_trials" else _MEDICATION_OUTCOMES
        if code in allowed:
            return code
        if entry.resource.get("outcome"):
            self.report.ignore(entry, "An outcome not coded in the local outcome system.", "outcome")
        return None

    # -- ServiceRequest --------------------------------------------------------------------------------------

    def order(self, entries: Iterable[_Entry]) -> dict | None:
        request = None
        for entry in entries:
            r = entry.resource
            if not is_tms_order(r):
                self.report.ignore(entry, "Not a TMS order (CPT 90867-90869).", "code")
                continue
            if r.get("status") not in ("draft", "active", "on-hold"):
                self.report.ignore(entry, f"Status {r.get('status')}: not an open order.", "status")
                continue
            if request is not None:
                self.report.ignore(entry, "Another TMS order in the Bundle is read first.")
                continue
            request = {}
            details = r.get("orderDetail") or []
            kind = next((k for d in details for k in _codes(d, c.REQUEST_KIND)), None)
            protocol = next((k for d in details for k in _codes(d, c.PROTOCOL)), None)
            if kind is not None:
                request["kind"] = kind
            if protocol is not None:
                request["protocol"] = protocol
            sessions = (r.get("quantityQuantity") or {}).get("value")
            if sessions is None:
                sessions = (((r.get("occurrenceTiming") or {}).get("repeat")) or {}).get("count")
            if isinstance(sessions, (int, float)) and float(sessions).is_integer():
                request["sessions"] = int(sessions)
            for name in request:
                self.report.used(f"/request/{name}", entry)
            if not request:
                self.report.used("/request", entry)
            self.report.origins["/request"] = entry.pointer
        return request


def is_tms_order(resource: dict) -> bool:
    """Whether a ServiceRequest orders TMS: CPT 90867, 90868 or 90869."""
    return resource.get("resourceType") == "ServiceRequest" and \
        bool(set(_codes(resource.get("code"), c.CPT)) & c.CPT_TMS)
