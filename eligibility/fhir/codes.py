"""The code systems and codes the FHIR mapping reads, each with where it was found.

Standard systems first (ICD-10-CM, SNOMED CT, LOINC, RxNorm, CPT, HL7's medication status reasons); then the
project's local code systems, for what no standard code was found for (a scale without a confirmed LOINC code,
the safety screen, the episode's features, a trial's outcome or role, the order's kind and protocol). Every
local system is a URN under ``urn:tms-eligibility:`` and is documented in docs/fhir-mapping.md.
"""

from __future__ import annotations

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
MEDICATION_STATUS_REASON = "http://terminology.hl7.org/CodeSystem/medicationrequest-status-reason"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
TIMING_ABBREVIATION = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"

LOCAL = "urn:tms-eligibility:"
SCALE = LOCAL + "scale"  # code: the submission's instrument id (phq-9, hamd-17, madrs, ...)
SAFETY = LOCAL + "safety"  # code: a safety field name; valueBoolean
EPISODE = LOCAL + "episode"  # code: severity (valueString or coded), psychotic_features, catatonia, ect_candidate
PATIENT = LOCAL + "patient"  # code: pregnant; valueBoolean
OUTCOME = LOCAL + "outcome"  # code: a trial outcome of the contract (no_response, partial_response, ...)
MODALITY = LOCAL + "psychotherapy-modality"  # code: a psychotherapy modality of the contract
REQUEST_KIND = LOCAL + "request-kind"  # in ServiceRequest.orderDetail: initial, retreatment, ...
PROTOCOL = LOCAL + "tms-protocol"  # in ServiceRequest.orderDetail and Procedure.code: rtms_10hz, itbs, ...
ROLE_EXTENSION = LOCAL + "extension:trial-role"  # on a medication resource: valueCode monotherapy | augmentation

# LOINC: PHQ-9 total score (44261-6, VSAC "PHQ 9 and PHQ 9M Tools"). Other scales: no confirmed code, local system.
LOINC_SCALES = {"44261-6": "phq-9"}

# SNOMED CT disorders read as an ICD-10-CM code for the submission (VSAC "Major Depression Including Remission",
# "Major Depressive Disorder Active"); the ICD-10-CM code chosen is the project's map, documented.
SNOMED_DIAGNOSES = {
    "370143000": "F32.9",  # major depressive disorder; ICD-10-CM F32.9 includes "major depression NOS"
    "36923009": "F32.9",  # major depression, single episode
    "66344007": "F33.9",  # recurrent major depression
    "832007": "F32.1",  # moderate major depression
    "75084000": "F32.2",  # severe major depression without psychotic features
    "73867007": "F32.3",  # severe major depression with psychotic features
}

# What an MDD code itself records about the episode (ICD-10-CM titles): severity and psychotic features.
EPISODE_BY_ICD = {
    "F32.0": ("mild", None), "F33.0": ("mild", None),
    "F32.1": ("moderate", None), "F33.1": ("moderate", None),
    "F32.2": ("severe", False), "F33.2": ("severe", False),
    "F32.3": ("severe", True), "F33.3": ("severe", True),
}
MDD_CATEGORIES = ("F32", "F33")
NOT_MDD = ("F32.81", "F32.89", "F32.A")  # premenstrual dysphoric, other specified, depression unspecified

# Psychotherapy: CPT 90832-90838 (individual psychotherapy, with or without E/M) says psychotherapy, not which.
CPT_PSYCHOTHERAPY = {"90832", "90833", "90834", "90836", "90837", "90838"}
SNOMED_PSYCHOTHERAPY = {
    "228557008": "cbt",  # cognitive and behavioral therapy
    "183383008": "cbt",  # psychotherapy - cognitive
    "443730003": "ipt",  # interpersonal psychotherapy
    "76168009": "group",  # group psychotherapy
    "108313002": "family",  # family psychotherapy procedure
    "75516001": None,  # psychotherapy (modality not said)
    "18512000": None,  # individual psychotherapy (modality not said)
}
CPT_ECT = {"90870"}
CPT_TMS = {"90867", "90868", "90869"}

# HL7 medication request status reasons that record an outcome: suspected intolerance.
STATUS_REASON_OUTCOMES = {"sintol": "intolerance"}

# Timing.code abbreviations that say how many times a day.
TIMES_A_DAY = {"QD": 1, "AM": 1, "PM": 1, "BID": 2, "TID": 3, "QID": 4}
# Timing.repeat.periodUnit in days.
PERIOD_DAYS = {"h": 1 / 24, "d": 1, "wk": 7, "min": 1 / 1440}
