"""A deliberately naive durable-rules design of the tms-clinical decision, as the in-run reference.

This is the textbook way to use durable-rules, and the one the engine does not take: one fact
per trial, diagnosis, scale and safety answer; classification rules whose Python actions keep
counters in the session state; a ``finalize`` fact whose rule decides; a fresh session per
evaluation, deleted afterwards; the stock action machinery of ``durable.engine.Host`` (with its
background threads switched off). It decides the same statuses and determination as
``rules/tms-clinical`` for the benchmark mix but writes no reasons, evidence or sources: it
does less than the real engine, which makes the comparison conservative.

Benchmarks may import durable-rules; the product code does so only in ``eligibility/engine.py``.
"""

from __future__ import annotations

import json
import uuid

from durable import engine as durable_engine

from eligibility.codes import compile_code_set

POLICY_VERSION = "1.0.0"  # the version of tms-clinical this design decides as
MDD = compile_code_set(["F32.0", "F32.1", "F32.2", "F32.3", "F32.9", "F33.0", "F33.1", "F33.2", "F33.3", "F33.9"])
PSYCHOTIC_MDD = compile_code_set(["F32.3", "F33.3"])
BIPOLAR_OR_PSYCHOTIC = compile_code_set(["F31", "F20-F29"])
THRESHOLDS = {"phq-9": 10, "hamd-17": 17, "hamd-24": 20, "madrs": 20, "bdi-ii": 20, "qids-sr16": 11, "ids-c30": 26,
              "cgi-s": 4}


def _when(kind: str, *conditions) -> list:
    return [{"m": {"$and": [{"t": kind}, *conditions]}}]


RULES = {
    # one fact per trial: three exhaustive, mutually exclusive classifications
    "trial_failed": {"all": _when("trial", {"$or": [
        {"$and": [{"fails": True}, {"$gte": {"dose": {"$m": "min_dose"}}}, {"$gte": {"weeks": 4}}]},
        {"intolerance": True}]}), "run": "count:failed"},
    "trial_undecided": {"all": _when("trial", {"undecided": True}), "run": "count:undecided"},
    "trial_other": {"all": _when("trial", {"$and": [{"$nex": {"undecided": 1}}, {"$or": [
        {"$and": [{"fails": True}, {"$or": [
            {"$lt": {"dose": {"$m": "min_dose"}}},
            {"$and": [{"$gte": {"dose": {"$m": "min_dose"}}}, {"$lt": {"weeks": 4}}]}]}]},
        {"$and": [{"fails": False}, {"intolerance": False}]}]}]}), "run": "count:other"},
    "dx_seen": {"all": _when("dx"), "run": "dx"},
    "scale_seen": {"all": _when("scale"), "run": "scale"},
    "safety_seen": {"all": _when("safety"), "run": "safety"},
    "patient_seen": {"all": _when("patient"), "run": "patient"},
    # the decision joins the finalize fact with everything counted so far, in the state
    "decide": {"all": [{"f": {"t": "finalize"}}], "pri": 10, "run": "decide"},
}


class NaiveHost(durable_engine.Host):
    """The stock host with the dispatcher and timer threads turned off (they crash under load)."""

    def _run(self):
        pass

    def get_action(self, spec: str):
        verb, _, arg = spec.partition(":")
        return _ACTIONS[verb](arg) if arg else _ACTIONS[verb]


def _count(name):
    def action(c):
        c.s[name] = (c.s[name] or 0) + 1
    return action


def _dx(c):
    c.s.mdd = bool(c.s.mdd) or c.m.mdd
    c.s.psychotic_code = bool(c.s.psychotic_code) or c.m.psychotic_mdd
    c.s.bipolar = bool(c.s.bipolar) or c.m.bipolar


def _scale(c):
    if c.s.scale_day is None or c.m.day > c.s.scale_day:
        c.s.scale_day, c.s.scale_ok = c.m.day, c.m.ok


def _safety(c):
    c.s[c.m.field] = c.m.value


def _patient(c):
    for key in ("age", "severity", "psychotic", "dx_listed", "trials_listed"):
        if c.m[key] is not None:
            c.s[key] = c.m[key]


def _status(known: bool, holds: bool) -> str:
    return "unknown" if not known else "met" if holds else "not_met"


def _decide(c):
    s = c.s
    statuses = {}
    statuses["major-depressive-episode"] = _status(s.dx_listed is not None, bool(s.mdd))
    statuses["age"] = _status(s.age is not None, s.age is not None and s.age >= 15)
    if s.severity is not None:
        statuses["severity"] = _status(True, s.severity >= 2)
    else:
        statuses["severity"] = _status(s.scale_ok is not None, bool(s.scale_ok))
    failed, undecided = s.failed or 0, s.undecided or 0
    if not s.trials_listed:
        statuses["antidepressant-failure"] = "unknown"
    else:
        statuses["antidepressant-failure"] = "met" if failed else "unknown" if undecided else "not_met"
    if s.psychotic is True or s.psychotic_code:
        statuses["no-psychotic-features"] = "not_met"
    elif s.psychotic is False and s.dx_listed is not None:
        statuses["no-psychotic-features"] = "met"
    else:
        statuses["no-psychotic-features"] = "unknown"
    statuses["no-bipolar-or-psychotic-disorder"] = _status(s.dx_listed is not None, not s.bipolar)
    contraindications = []
    for field in ("intracranial_metal", "cochlear_implant", "implanted_neurostimulator"):
        value = s[field]
        contraindications.append("unknown" if value is None else "not_met" if value else "met")
    values = list(statuses.values())
    if "not_met" in contraindications:
        s.determination = "contraindicated"
    elif "not_met" in values:
        s.determination = "does_not_meet_criteria"
    elif "unknown" in values + contraindications:
        s.determination = "insufficient_information"
    else:
        s.determination = "meets_criteria"


_ACTIONS = {"count": _count, "dx": _dx, "scale": _scale, "safety": _safety, "patient": _patient, "decide": _decide}


class NaiveEngine:
    """tms-clinical's determination, the naive way; ``evaluate`` takes a validated ``Submission``."""

    def __init__(self, name: str = "naive-tms-clinical"):
        self.name = name
        self.host = NaiveHost()
        self.host.register_rulesets({name: json.loads(json.dumps(RULES))})

    def facts(self, sub, sid: str) -> list[dict]:
        facts = [{"sid": sid, "t": "patient", "trial_id": "p", "age": sub.patient.age,
                  "severity": {"mild": 1, "moderate": 2, "severe": 3}.get(sub.episode.severity),
                  "psychotic": sub.episode.psychotic_features, "dx_listed": True if sub.diagnoses is not None else None,
                  "trials_listed": sub.medication_trials is not None}]
        for d in sub.diagnoses or ():
            facts.append({"sid": sid, "t": "dx", "trial_id": f"d{d.index}", "mdd": d.code in MDD,
                          "psychotic_mdd": d.code in PSYCHOTIC_MDD, "bipolar": d.code in BIPOLAR_OR_PSYCHOTIC})
        for s in sub.scales or ():
            days = (sub.as_of - s.date).days
            if 0 <= days <= 90:
                facts.append({"sid": sid, "t": "scale", "trial_id": f"s{s.index}", "day": s.date.toordinal() * 1000
                              + s.index, "ok": s.score >= THRESHOLDS[s.instrument]})
        for t in sub.medication_trials or ():
            counted = t.drug is not None and t.drug.category == "antidepressant" and t.role == "monotherapy"
            fact = {"sid": sid, "t": "trial", "trial_id": f"m{t.index}"}
            if not counted or t.episode == "previous" or t.drug.min_adequate_mg is None:
                fact.update(fails=False, intolerance=False)
            elif t.outcome == "intolerance" and t.episode == "current":
                fact.update(fails=False, intolerance=True)
            elif t.episode is None or t.outcome == "unknown" or (t.outcome in ("no_response", "partial_response") and (
                    t.daily_dose_mg is None or t.duration_weeks is None)):
                fact["undecided"] = True
            else:
                fact.update(fails=t.outcome in ("no_response", "partial_response"), intolerance=False,
                            dose=t.daily_dose_mg, min_dose=t.drug.min_adequate_mg, weeks=t.duration_weeks)
                if not fact["fails"]:
                    fact.pop("dose"), fact.pop("min_dose"), fact.pop("weeks")
            facts.append(fact)
        for field in ("intracranial_metal", "cochlear_implant", "implanted_neurostimulator"):
            value = getattr(sub.safety, field)
            if value is not None:
                facts.append({"sid": sid, "t": "safety", "trial_id": field, "field": field, "value": value})
        return [{k: v for k, v in f.items() if v is not None} for f in facts]

    def evaluate(self, sub) -> str:
        sid = uuid.uuid4().hex
        try:
            self.host.assert_facts(self.name, self.facts(sub, sid))
            state = self.host.assert_fact(self.name, {"sid": sid, "t": "finalize"})
        finally:
            self.host.delete_state(self.name, sid)
        if state is None or "exception" in state:
            raise RuntimeError(f"naive evaluation failed: {state}")
        return state["determination"]
