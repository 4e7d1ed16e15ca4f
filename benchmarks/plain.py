"""The tms-clinical decision written directly in Python, as the benchmark's floor.

No durable-rules, no summary fact, no explanation: the criteria of ``rules/tms-clinical`` (version
``POLICY_VERSION``, the current one; see docs/policies.md) as a clinician would code them by hand from
the policy text, its parameters written in as constants. It takes a validated ``Submission`` (the same
input ``Library.evaluate`` takes: drugs already looked up in the catalogue, trial episodes already read
from their dates) and returns the determination only. It is the reference the engine's cost is measured
against (``benchmarks/engine.py``), and it must agree with the engine on every submission of the mix.
"""

from __future__ import annotations

POLICY_VERSION = "1.1.0"  # the version of tms-clinical this decides as

ADULT_AGE, ADOLESCENT_MIN_AGE = 18, 15
MIN_FAILED_TRIALS, MIN_TRIAL_WEEKS, RESPONSE_ABOVE_PERCENT = 1, 4, 50
SEVERITY_WINDOW_DAYS = 90
# The moderate band of each instrument: one threshold, or (low, high) where the cited bandings disagree
# (a score from low up to high is for the clinician to judge).
MODERATE = {"phq-9": 10, "hamd-17": (14, 17), "hamd-24": 19, "madrs": (16, 20), "bdi-ii": 20, "qids-sr16": 11,
            "ids-c30": 24, "cgi-s": 4}
MDD = ("F32.0", "F32.1", "F32.2", "F32.3", "F32.9", "F33.0", "F33.1", "F33.2", "F33.3", "F33.9")
PSYCHOTIC_MDD = ("F32.3", "F33.3")
FAILURES, INTOLERANCE = ("no_response", "partial_response"), ("intolerance",)

# The TMS therapy's reading of implants: within reach of the coil is the head or the neck.
SITE = ("head", "neck")
KINDS_AT_SITE = {"aneurysm_clip", "aneurysm_coil", "intracranial_stent", "deep_brain_stimulator",
                 "responsive_neurostimulator", "cochlear_implant", "vagus_nerve_stimulator"}
IMPLIED = {"aneurysm_clip": "head", "aneurysm_coil": "head", "intracranial_stent": "head",
           "deep_brain_stimulator": "head", "responsive_neurostimulator": "head", "cochlear_implant": "head",
           "vagus_nerve_stimulator": "neck", "spinal_cord_stimulator": "back", "pacemaker": "chest",
           "defibrillator": "chest", "ocular_implant": "head", "magnetic_dental_implant": "head"}
# group: (its safety question, where a "yes" to it puts the implant, the implant kinds it covers)
IMPLANTS = {
    "intracranial_metal": ("head", {"aneurysm_clip", "aneurysm_coil", "intracranial_stent", "shunt", "metal_fragment",
                                    "ocular_implant", "magnetic_dental_implant", "medication_pump", "other"}),
    "cochlear_implant": ("head", {"cochlear_implant"}),
    "implanted_neurostimulator": (None, {"deep_brain_stimulator", "vagus_nerve_stimulator",
                                         "responsive_neurostimulator", "spinal_cord_stimulator",
                                         "other_neurostimulator"}),
}

MET, NOT_MET, UNKNOWN = "met", "not_met", "unknown"


def _and(*values):
    """Three-valued AND of True, False and None (not known)."""
    if False in values:
        return False
    return None if None in values else True


def _is(code: str, codes) -> bool:
    return code.startswith(codes)


def _bipolar_or_psychotic(code: str) -> bool:
    return code.startswith("F31") or (code[0] == "F" and "F20" <= code[:3] <= "F29")


def _failed_trial(t, age):
    """Whether a medication trial is a failed adequate antidepressant trial in the current episode:
    True, False, or None when what is given does not settle it."""
    drug = t.drug
    if drug is None or drug.category != "antidepressant" or t.role != "monotherapy":
        return False
    if t.episode == "current":
        episode = True
    elif t.episode is None:
        episode = None
    else:
        return False
    # an improvement above 50% is a response, whatever the label; a label that contradicts it is a question
    by_number = None
    if t.improvement_percent is not None and t.outcome not in INTOLERANCE:
        above = t.improvement_percent > RESPONSE_ABOVE_PERCENT
        if above and t.outcome not in FAILURES:
            return False
        if above or t.outcome in ("response", "remission"):
            by_number = "question"
    if t.outcome in INTOLERANCE:  # intolerance counts at any dose and duration
        return episode
    if t.outcome == "unknown":  # it might be intolerance
        return _and(episode, None)
    if t.outcome in FAILURES:
        return _and(episode, _adequate_dose(t, drug, age), _long_enough(t), None if by_number else True)
    return _and(episode, None) if by_number else False


def _attested(t):
    return {True: True, False: False}.get(t.adequacy_attested)


def _adequate_dose(t, drug, age):
    dose = t.daily_dose_mg
    if dose is None:
        return None
    if drug.dose_basis:  # its figures are not mg/day of the drug named: for the physician
        return _attested(t)
    if drug.min_adequate_mg is not None:
        return dose >= drug.min_adequate_mg
    maxima = [m for _, m in drug.maximum_candidates(t.formulation, age)]
    if maxima and None not in maxima and all(dose >= m for m in maxima):
        return True
    return _attested(t)


def _long_enough(t):
    return None if t.duration_weeks is None else t.duration_weeks >= MIN_TRIAL_WEEKS


def _implant(safety, question: str) -> str:
    """The status of "no <implant> within reach of the coil"."""
    implied_by_yes, kinds = IMPLANTS[question]
    answer = getattr(safety, question)
    listed = [i for i in (safety.implants or ()) if i.kind in kinds]
    readings = []
    for i in listed:
        where = i.location if i.location is not None else IMPLIED.get(i.kind)
        readings.append(True if i.kind in KINDS_AT_SITE else None if where is None else where in SITE)
    if answer is True and not listed:
        readings.append(None if implied_by_yes is None else implied_by_yes in SITE)
    contradicted = [i for i in listed if implied_by_yes is None
                    or (i.location if i.location is not None else IMPLIED.get(i.kind)) == implied_by_yes]
    if (answer is True and not listed and safety.implants is not None) or (answer is False and contradicted):
        return UNKNOWN
    if True in readings:
        return NOT_MET
    if None in readings:
        return UNKNOWN
    if readings or answer is False or safety.implants is not None:
        return MET
    return UNKNOWN


def _status(value) -> str:
    return UNKNOWN if value is None else MET if value else NOT_MET


def statuses(sub) -> tuple[dict[str, str], dict[str, str]]:
    """Each criterion's status: (inclusions and exclusions, contraindications)."""
    dx = sub.diagnoses
    codes = None if dx is None else [d.code for d in dx]
    age = sub.patient.age
    out = {
        "major-depressive-episode": _status(None if codes is None else any(_is(c, MDD) for c in codes)),
        "age": _status(None if age is None else age >= ADOLESCENT_MIN_AGE),
    }
    severity = sub.episode.severity
    if severity is not None:
        out["severity"] = _status(severity in ("moderate", "severe"))
    else:
        latest = None
        for s in sub.scales or ():
            if s.instrument in MODERATE and 0 <= (sub.as_of - s.date).days <= SEVERITY_WINDOW_DAYS and (
                    latest is None or (s.date, s.index) > (latest.date, latest.index)):
                latest = s
        if latest is None:
            out["severity"] = UNKNOWN
        else:
            band = MODERATE[latest.instrument]
            low, high = band if isinstance(band, tuple) else (band, band)
            out["severity"] = MET if latest.score >= high else UNKNOWN if latest.score >= low else NOT_MET
    trials = sub.medication_trials
    if trials is None:
        out["antidepressant-failure"] = UNKNOWN
    else:
        judged = [_failed_trial(t, age) for t in trials]
        failed, possible = judged.count(True), judged.count(True) + judged.count(None)
        out["antidepressant-failure"] = (MET if failed >= MIN_FAILED_TRIALS else
                                         NOT_MET if possible < MIN_FAILED_TRIALS else UNKNOWN)
    features = sub.episode.psychotic_features
    psychotic_code = None if codes is None else any(_is(c, PSYCHOTIC_MDD) for c in codes)
    if features is True or psychotic_code:
        out["no-psychotic-features"] = NOT_MET
    elif features is False and psychotic_code is False:
        out["no-psychotic-features"] = MET
    else:
        out["no-psychotic-features"] = UNKNOWN
    out["no-bipolar-or-psychotic-disorder"] = _status(None if codes is None else
                                                      not any(_bipolar_or_psychotic(c) for c in codes))
    contraindications = {f"no-{name}": _implant(sub.safety, question) for name, question in (
        ("intracranial-metal", "intracranial_metal"), ("cochlear-implant", "cochlear_implant"),
        ("implanted-neurostimulator", "implanted_neurostimulator"))}
    return out, contraindications


def evaluate(sub) -> str:
    """tms-clinical's determination for a validated submission."""
    criteria, contraindications = statuses(sub)
    if NOT_MET in contraindications.values():
        return "contraindicated"
    if NOT_MET in criteria.values():
        return "does_not_meet_criteria"
    if UNKNOWN in criteria.values() or UNKNOWN in contraindications.values():
        return "insufficient_information"
    return "meets_criteria"
