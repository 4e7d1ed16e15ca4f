"""The evaluation page's summary and history: what a clinician takes in first, built once for all policies.

- ``summary``: a policy × criterion grid of statuses, each policy's determination and its not-met and unknown
  criteria with their reasons, and the cautions of every policy in one list (each once).
- ``snapshot`` and ``treatment_history``: the referral (age, diagnoses, episode, scales, request) and every
  trial of the submission once, in date order, with the catalogue's dose range, each policy's minimum weeks
  and which policies' criteria cite it.
- ``missing_information``: what every policy lacks, one entry per field, in plain words, with a text to send
  to the referrer.

Pure functions of the stored result and submission documents (and the library's policies and catalogue).
"""

from __future__ import annotations

import json
import re
from datetime import date

from services.vocabulary import REVIEW_STATUS

from .view_model import COLUMNS, evidence_tables, field_label, value_text

EMPTY = "—"


def short_title(title: str) -> str:
    """A policy's title up to its first colon: "Medicare LCD L34522", "Aetna Clinical Policy Bulletin 0469"."""
    return title.split(":", 1)[0].strip()


def _policies(results: list[dict]) -> list[dict]:
    return [{"id": r["policy"]["id"], "title": r["policy"]["title"], "short": short_title(r["policy"]["title"]),
             "version": r["policy"]["version"], "determination": r["determination"], "index": i}
            for i, r in enumerate(results, 1)]


def summary(results: list[dict]) -> dict:
    """The grid (rows: criteria in first-seen order; cells: each policy's status or ``None`` where the policy has
    no such criterion), the not-met and unknown criteria by policy, and the cautions once each."""
    policies = _policies(results)
    rows: dict[str, dict] = {}
    for i, result in enumerate(results):
        for c in result["criteria"]:
            row = rows.setdefault(c["id"], {"id": c["id"], "title": c["title"], "kind": c["kind"],
                                            "cells": [None] * len(results)})
            row["cells"][i] = c["status"]
    problems = [{"policy": p, "criteria": [c for c in r["criteria"] if c["status"] != "met"],
                 "met": sum(c["status"] == "met" for c in r["criteria"])}
                for p, r in zip(policies, results, strict=True)]
    cautions: dict[str, dict] = {}
    for p, result in zip(policies, results, strict=True):
        for k in result["cautions"]:
            entry = cautions.setdefault(k["detail"], {"detail": k["detail"], "sources": [], "policies": []})
            entry["policies"].append(p["short"])
            entry["sources"] += [s for s in k.get("sources", ()) if s not in entry["sources"]]
    return {"policies": policies, "grid": list(rows.values()), "problems": problems,
            "cautions": list(cautions.values())}


# -- the referral and its history --------------------------------------------------------------------------------

def _months(start: str | None, end: date) -> str | None:
    try:
        onset = date.fromisoformat(start) if start else None
    except ValueError:
        return None
    if onset is None or onset > end:
        return None
    months = (end.year - onset.year) * 12 + end.month - onset.month - (end.day < onset.day)
    return f"{months} month{'s' if months != 1 else ''}"


def snapshot(submission: dict, as_of: str) -> list[tuple[str, str]]:
    """The referral in a few rows: patient, diagnoses, episode, request, ordering clinician."""
    patient = submission.get("patient") or {}
    episode = submission.get("current_episode") or {}
    request = submission.get("request") or {}
    rows = [("Patient", ", ".join(x for x in (
        f"{patient['age']} years" if patient.get("age") is not None else None,
        value_text(patient.get("sex")) if patient.get("sex") else None,
        "pregnant" if patient.get("pregnant") else None) if x) or "not stated")]
    for d in submission.get("diagnoses") or ():
        rows.append(("Diagnosis", f"{d.get('code', '')} {d.get('description') or ''}".strip()))
    length = _months(episode.get("onset"), date.fromisoformat(as_of))
    rows.append(("Current episode", "; ".join(x for x in (
        f"onset {episode['onset']}" + (f" ({length} before {as_of})" if length else "")
        if episode.get("onset") else "onset not stated",
        f"severity {value_text(episode['severity'])}" if episode.get("severity") else None,
        "psychotic features" if episode.get("psychotic_features") else None) if x)))
    rows.append(("Request", ", ".join(x for x in (
        value_text(request.get("kind")) if request.get("kind") else None,
        value_text(request.get("protocol")) if request.get("protocol") else None,
        f"{request['sessions']} sessions" if request.get("sessions") is not None else None) if x) or "not stated"))
    if (submission.get("ordering_clinician") or {}).get("role"):
        rows.append(("Ordering clinician", value_text(submission["ordering_clinician"]["role"])))
    return rows


def _cited_by(results: list[dict], pointer: str) -> list[str]:
    """The policies whose criteria (or their branches) cite ``pointer``."""
    def cites(c: dict) -> bool:
        return pointer in c.get("evidence", ()) or any(cites(b) for b in c.get("branches", ()))
    return [short_title(r["policy"]["title"]) for r in results if any(cites(c) for c in r["criteria"])]


def _mg(value) -> str:
    return f"{value:g} mg" if isinstance(value, int | float) else EMPTY


def treatment_history(submission: dict, results: list[dict], library) -> dict:
    """Every medication trial once, in date order (undated ones after, as listed), with the catalogue's dose
    range, the weeks against each policy's minimum and the policies citing it; the other treatments as tables."""
    minimum_weeks = {}
    for r in results:
        try:
            policy = library.policy(r["policy"]["id"], r["policy"]["version"])
        except Exception:  # a policy version no longer loaded: its threshold is not shown
            continue
        weeks = policy.parameters.get("min_trial_weeks")
        if isinstance(weeks, int | float):
            minimum_weeks[short_title(r["policy"]["title"])] = weeks
    trials = []
    for i, t in enumerate(submission.get("medication_trials") or ()):
        if not isinstance(t, dict):
            continue
        drug = library.catalogue.resolve(t.get("drug"), t.get("rxnorm"))
        maxima = [m for _, m in drug.maximum_candidates()] if drug else []
        maxima = [m for m in maxima if m is not None]
        dose, low = t.get("daily_dose_mg"), drug.min_adequate_mg if drug else None
        dose_note = ""
        if isinstance(dose, int | float) and isinstance(low, int | float) and dose < low:
            dose_note = "below the catalogue's minimum adequate dose"
        elif isinstance(dose, int | float) and maxima and dose > max(maxima):
            dose_note = "above the catalogue's highest outpatient dose"
        weeks = t.get("duration_weeks")
        short = sorted(p for p, w in minimum_weeks.items() if isinstance(weeks, int | float) and weeks < w)
        if weeks is None:
            weeks_note = "not stated"
        elif short:
            weeks_note = "shorter than the minimum of " + ", ".join(f"{p} ({minimum_weeks[p]:g})" for p in short)
        else:
            weeks_note = "at least every policy's minimum" if minimum_weeks else ""
        trials.append({
            "number": i + 1, "start": t.get("start_date") or "", "drug": t.get("drug") or (
                f"RxCUI {t['rxnorm']}" if t.get("rxnorm") else EMPTY),
            "dose": _mg(t.get("daily_dose_mg")), "dose_note": dose_note,
            "range": f"{_mg(drug.min_adequate_mg)} – {_mg(max(maxima)) if maxima else EMPTY}" if drug else
            "not in the catalogue",
            "weeks": value_text(weeks) if weeks is not None else EMPTY, "weeks_note": weeks_note,
            "dates": " to ".join(x for x in (t.get("start_date"), t.get("end_date")) if x) or EMPTY,
            "episode": value_text(t.get("episode")) if t.get("episode") else EMPTY,
            "role": value_text(t.get("role")) if t.get("role") else EMPTY,
            "outcome": COLUMNS["medication_trials"][1][-1][1](t) or EMPTY,
            "cited_by": _cited_by(results, f"/medication_trials/{i}")})
    trials.sort(key=lambda x: (x["start"] == "", x["start"], x["number"]))
    others = []
    for key in ("psychotherapy_trials", "ect_courses", "tms_courses", "scales"):
        items = submission.get(key) or []
        if key == "scales":
            order = sorted(range(len(items)), key=lambda j: str((items[j] or {}).get("date") or ""))
        else:
            order = range(len(items))
        others += evidence_tables(submission, [f"/{key}/{j}" for j in order])
    return {"trials": trials, "tables": others, "minimum_weeks": minimum_weeks}


# -- missing information -----------------------------------------------------------------------------------------

_POINTER = re.compile(r"(?<![\w.])/[a-z_]+(?:/[\w~]+)*")
_DOTTED = re.compile(r"\b[a-z]+_?[a-z]*\.([a-z_]+)\b")
_SETTING = re.compile(r"\b([a-z]+(?:_[a-z0-9]+)+): (true|false)\b")


def plain(detail: str) -> str:
    """A missing-information detail in plain words: no JSON Pointers, field paths, ``as_of`` or snake case."""
    text = detail.replace(", on the v1 screen", "").replace(" on the v1 screen", "")
    text = re.sub(r"\s*\(with safety\.implants saying where it is\)", "", text)
    text = _POINTER.sub(lambda m: field_label(m.group(0)).lower(), text)
    text = _SETTING.sub(lambda m: ("no " if m.group(2) == "false" else "") + m.group(1).replace("_", " "), text)
    text = _DOTTED.sub(lambda m: m.group(1), text)
    text = re.sub(r"\bbefore as_of\b", "before the evaluation date", text).replace("as_of", "the evaluation date")
    return re.sub(r"\b([a-z]+)_([a-z]+)\b", r"\1 \2", text)


def missing_information(results: list[dict], reference: str | None) -> dict:
    """One entry per field across policies (its first detail, in plain words, and the policies needing it), and
    the text of a request to the referrer."""
    entries: dict[str, dict] = {}
    for result in results:
        short = short_title(result["policy"]["title"])
        for m in result["missing_information"]:
            entry = entries.setdefault(m["field"], {"label": field_label(m["field"]), "detail": plain(m["detail"]),
                                                    "policies": []})
            if short not in entry["policies"]:
                entry["policies"].append(short)
    items = list(entries.values())
    lines = [f"To complete the TMS referral{f' {reference}' if reference else ''}, please send:"]
    lines += [f"- {e['label']}: {e['detail']}" for e in items]
    return {"items": items, "request_text": "\n".join(lines) if items else ""}


# -- the whole page ------------------------------------------------------------------------------------------------

def page_model(found, library, chosen: str | None = None) -> dict:
    """``view_model.evaluation_model`` with the summary, the referral and its history once, the missing information
    once, and the review scope chosen (``chosen``: a policy id, or ``None`` for every result)."""
    from .timeline import timeline
    from .view_model import evaluation_model, for_display

    model = evaluation_model(found, library.catalogue)
    document = model["evaluation"]
    results = document["results"]
    submission = for_display(json.loads(found.submission), library.catalogue)
    policies = _policies(results)
    chosen_policy = next((p for p in policies if p["id"] == chosen), None)
    scope = [r for r in found.reviews if r.policy == (chosen_policy["id"] if chosen_policy else None)]
    states = {p["policy"]: p for p in model["review"].get("policies", ())}
    whole = [r for r in found.reviews if r.policy is None]
    for p in policies:
        state = states.get(p["id"])
        p["review"] = state if state and state["status"] != "pending" else (
            {"status": REVIEW_STATUS[whole[-1].decision], "whole": True} if whole else {"status": "pending"})
    svg, undated = timeline(submission, document["as_of"])
    return {**model, "summary": summary(results), "snapshot": snapshot(submission, document["as_of"]),
            "history": treatment_history(submission, results, library), "timeline": svg, "undated": undated,
            "missing_all": missing_information(results, document.get("reference")), "policies": policies,
            "chosen": chosen_policy, "chosen_result": results[chosen_policy["index"] - 1] if chosen_policy else None,
            "current": scope[-1] if scope else None, "reviews": scope}
