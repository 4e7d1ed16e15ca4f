"""The review page's view model: labels, evidence tables and measures rows, built from a stored evaluation.

Pure functions of the stored result and submission documents; no request, no session, no HTML.
"""

from __future__ import annotations

import json

from eligibility.codes import is_icd10cm, normalise_icd10cm
from services.documents import review_document
from services.evaluations import EvaluationRead

DETERMINATION_LABELS = {"meets_criteria": "Meets criteria", "does_not_meet_criteria": "Does not meet criteria",
                        "insufficient_information": "Insufficient information",
                        "contraindicated": "Contraindicated"}
STATUS_LABELS = {"met": "Met", "not_met": "Not met", "unknown": "Unknown"}
REVIEW_LABELS = {"pending": "Pending review", "accepted": "Accepted", "overridden": "Overridden"}
ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV", 5: "V"}
FIELD_LABELS = {
    "patient": "Patient", "current_episode": "Current episode", "safety": "Safety screen", "request": "Request",
    "ordering_clinician": "Ordering clinician", "birth_date": "date of birth", "ect_candidate": "ECT candidate",
    "substance_use_past_90_days": "substance use in the past 90 days", "ketamine_or_esketamine_current":
    "ketamine or esketamine now", "daily_dose_mg": "daily dose (mg)", "duration_weeks": "weeks at that dose",
    "dose_limited_by_tolerability": "dose limited by tolerability", "adherence_percent": "adherence (%)",
    "medication_trials": "Medication trial", "psychotherapy_trials": "Psychotherapy trial", "scales": "Scales",
    "ect_courses": "ECT courses", "tms_courses": "TMS courses", "diagnoses": "Diagnoses",
}
# For each list in a submission: the columns of its evidence table (heading, how to read an item).
COLUMNS = {
    "medication_trials": ("Medication trials", [
        ("Drug", lambda t: t.get("drug") or (f"RxCUI {t['rxnorm']}" if t.get("rxnorm") else None)),
        ("Daily dose", lambda t: _number(t.get("daily_dose_mg"), " mg")),
        ("Weeks", lambda t: _number(t.get("duration_weeks"))),
        ("Dates", lambda t: _span(t)),
        ("Episode", lambda t: t.get("episode")),
        ("Role", lambda t: t.get("role")),
        ("Outcome", lambda t: _outcome(t)),
    ]),
    "psychotherapy_trials": ("Psychotherapy trials", [
        ("Modality", lambda t: t.get("modality")), ("Sessions", lambda t: _number(t.get("sessions"))),
        ("Weeks", lambda t: _number(t.get("duration_weeks"))), ("Dates", lambda t: _span(t)),
        ("Episode", lambda t: t.get("episode")), ("Outcome", lambda t: _outcome(t)),
    ]),
    "ect_courses": ("ECT courses", [
        ("Sessions", lambda t: _number(t.get("sessions"))), ("Ended", lambda t: t.get("end_date")),
        ("Episode", lambda t: t.get("episode")), ("Outcome", lambda t: _outcome(t)),
    ]),
    "tms_courses": ("TMS courses", [
        ("Protocol", lambda t: t.get("protocol")), ("Sessions", lambda t: _number(t.get("sessions"))),
        ("Ended", lambda t: t.get("end_date")), ("Episode", lambda t: t.get("episode")),
        ("Outcome", lambda t: _outcome(t)),
    ]),
    "scales": ("Rating scales", [
        ("Instrument", lambda s: (s.get("instrument") or "").upper() or None),
        ("Score", lambda s: _number(s.get("score"))), ("Date", lambda s: s.get("date")),
    ]),
    "diagnoses": ("Diagnoses", [("Code", lambda d: d.get("code")), ("Description", lambda d: d.get("description"))]),
}


def _number(value, unit: str = "") -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value}{unit}"


def _span(item: dict) -> str | None:
    start, end = item.get("start_date"), item.get("end_date")
    if not start and not end:
        return None
    return f"{start or '?'} to {end or 'ongoing'}"


def _outcome(item: dict) -> str | None:
    outcome = item.get("outcome")
    if outcome is None:
        return None
    text = outcome.replace("_", " ")
    if item.get("improvement_percent") is not None:
        text += f" ({_number(item['improvement_percent'])}% better)"
    return text


def _token(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


_ABSENT = object()


def resolve(document, pointer: str):
    """Follow an RFC 6901 pointer; ``_ABSENT`` where it leads nowhere (a field the submission left out)."""
    node = document
    for token in _token(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isascii() and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _ABSENT
    return node


def field_label(pointer: str) -> str:
    """``/current_episode/severity`` as "Current episode › severity"; list items numbered from 1."""
    parts = []
    for token in _token(pointer):
        if token.isascii() and token.isdigit():
            parts[-1] = f"{parts[-1]} {int(token) + 1}"
        else:
            parts.append(FIELD_LABELS.get(token, token.replace("_", " ")))
    return " › ".join(parts) or "The submission"


def value_text(value) -> str:
    if value is _ABSENT or value is None:
        return "not stated"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {value_text(v)}" for k, v in value.items()) or "nothing"
    if isinstance(value, float | int):
        return _number(value)
    return str(value).replace("_", " ") if str(value).islower() and " " not in str(value) else str(value)


def evidence_tables(submission: dict, pointers: list[str]) -> list[dict]:
    """The submission's items a criterion points to, as tables: one per list (trials, scales, ...), one of fields."""
    tables: dict[str, dict] = {}
    for pointer in pointers:
        tokens = _token(pointer)
        value = resolve(submission, pointer)
        row = tokens[1] if len(tokens) == 2 else ""
        if len(tokens) == 2 and tokens[0] in COLUMNS and row.isascii() and row.isdigit() and isinstance(value, dict):
            heading, columns = COLUMNS[tokens[0]]
            table = tables.setdefault(tokens[0], {"heading": heading, "columns": ["#"] + [c[0] for c in columns],
                                                  "rows": []})
            table["rows"].append([str(int(tokens[1]) + 1)]
                                 + [value_text(read(value)) if read(value) is not None else "—"
                                    for _, read in columns])
        else:
            table = tables.setdefault("", {"heading": "Fields", "columns": ["Field", "Value"], "rows": []})
            table["rows"].append([field_label(pointer), value_text(value)])
    return list(tables.values())


def safe_url(url: str) -> str | None:
    """Only http(s) links are rendered as links."""
    return url if url.startswith(("https://", "http://")) else None


def measures_rows(measures: dict) -> list[tuple[str, str]]:
    def known(value, render=str):
        return "unknown" if value is None else render(value)

    rows = [("Failed adequate antidepressant trials, current episode",
             known(measures.get("failed_adequate_trials_current_episode"))),
            ("Antidepressant classes failed", known(measures.get("antidepressant_classes_failed"))),
            ("Trials stopped for intolerance, current episode",
             known(measures.get("intolerant_trials_current_episode"))),
            ("Augmentation trials failed", known(measures.get("augmentation_trials_failed"))),
            ("Psychotherapy trials failed", known(measures.get("psychotherapy_trials_failed")))]
    score, span, band = (measures.get("maudsley_score"), measures.get("maudsley_score_range"),
                         measures.get("maudsley_band"))
    if score is not None:
        maudsley = str(score)
    elif span:
        maudsley = f"{span[0]}–{span[1]} (not every component is known)"
    elif measures.get("failed_adequate_trials_current_episode") == 0:
        maudsley = "not staged: no failed adequate trial"
    else:
        maudsley = "unknown"
    if band:
        maudsley += f", {band}"
    components = measures.get("maudsley_components") or {}
    if components:
        maudsley += " — " + ", ".join(f"{k.replace('_', ' ')} {known(v)}" for k, v in components.items())
    rows.append(("Maudsley Staging Method (3–15)", maudsley))
    rows.append(("Thase–Rush stage (0–V)", known(measures.get("thase_rush_stage"), lambda s: ROMAN.get(s, str(s)))))
    return [r for r in rows if r[1] != "unknown" or "Maudsley" in r[0] or "Thase" in r[0] or "Failed adequate"
            in r[0]]


def for_display(submission: dict, catalogue) -> dict:
    """The submission as a clinician reads it: a trial given only by RxCUI named from the catalogue, diagnosis
    codes with their dot (``F332`` as ``F33.2``). Pointers into it still lead to the same items."""
    shown = dict(submission)
    trials = []
    for trial in submission.get("medication_trials") or ():
        drug = catalogue.by_rxcui.get(trial.get("rxnorm")) if isinstance(trial, dict) and not trial.get("drug") \
            else None
        trials.append({**trial, "drug": f"{drug.name} (RxCUI {trial['rxnorm']})"} if drug else trial)
    if submission.get("medication_trials") is not None:
        shown["medication_trials"] = trials
    if submission.get("diagnoses") is not None:
        shown["diagnoses"] = [{**d, "code": normalise_icd10cm(d["code"])} if is_icd10cm(d.get("code") or "") else d
                              for d in submission["diagnoses"]]
    return shown


def evaluation_model(found: EvaluationRead, catalogue) -> dict:
    """What the evaluation page shows: the stored result, each criterion with its evidence as tables, the
    missing information with labels, the measures as rows, and the reviews."""
    document = json.loads(found.result)
    submission = for_display(json.loads(found.submission), catalogue)
    results = []
    for result in document["results"]:
        titles = {c["id"]: c["title"] for c in result["criteria"]}
        criteria = [{**c, "tables": evidence_tables(submission, c["evidence"]),
                     "branches": [{**b, "tables": evidence_tables(submission, b["evidence"])}
                                  for b in c.get("branches", [])]}
                    for c in result["criteria"]]
        missing = [{**m, "label": field_label(m["field"]), "criterion": titles.get(m["needed_for"], m["needed_for"])}
                   for m in result["missing_information"]]
        results.append({**result, "criteria": criteria, "missing": missing,
                        "measure_rows": measures_rows(result["measures"])})
    return {"evaluation": document, "results": results, "review": review_document(found.reviews),
            "reviews": found.reviews, "current": found.reviews[-1] if found.reviews else None}
