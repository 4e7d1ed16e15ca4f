"""Summary facts: what a policy's rules test, computed from a submission under that policy's parameters.

durable-rules has no aggregates, so counting happens here, in plain Python, under the policy
file's own parameters (which trials count, how long, what dose, which episode). The rules then
compare these numbers with the policy's thresholds and decide each criterion's status.

Each item (a trial, a course) is judged with three-valued (Kleene) logic: it *qualifies*, it
*cannot qualify* (with the reason why), or it *might* (with the fields that would settle it).
A summary therefore carries two counts: ``count`` (items that qualify) and ``possible`` (those
plus the undecided ones), so that a rule can tell "met", "not met" and "unknown" apart.

``Summary.fact`` is the flat-ish dict asserted into durable-rules (``None`` never appears in
it: an unknown value is an absent key). ``Summary.text`` and ``Summary.refs`` hold what the
reasons, evidence and missing-information lists need; nothing in them is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalogue import Catalogue
from .codes import CodePattern, compile_code_set, in_code_set
from .model import SAFETY_FIELDS, SEVERITY_RANK, MedicationTrial, Submission

RESERVED_NAMES = frozenset({"t", "sid", "id", "age", "sex", "pregnant", "episode", "dx", "scale", "safety",
                            "request", "clinician", "param"})

# -- Kleene logic over (value, why-not, missing) atoms --------------------------------------------


@dataclass(frozen=True, slots=True)
class Truth:
    """A three-valued truth with its explanation: ``why_not`` when false, ``missing`` when unknown."""

    value: bool | None
    why_not: str = ""
    missing: tuple[tuple[str, str], ...] = ()


TRUE = Truth(True)


def false(why: str) -> Truth:
    return Truth(False, why_not=why)


def unknown(*missing: tuple[str, str]) -> Truth:
    return Truth(None, missing=missing)


def all_of(*truths: Truth) -> Truth:
    """Kleene AND: false if any is false (the first false explains), else unknown if any is."""
    for t in truths:
        if t.value is False:
            return t
    missing = tuple(m for t in truths if t.value is None for m in t.missing)
    return Truth(None, missing=missing) if any(t.value is None for t in truths) else TRUE


# -- number and list formatting for reasons -------------------------------------------------------


def fmt(number: float | int | None) -> str:
    """Format a number the way a clinician writes it: 150, 37.5, 0.025."""
    if number is None:
        return "not given"
    if float(number).is_integer():
        return str(int(number))
    return f"{number:g}"


def join(items: list[str], empty: str = "none") -> str:
    return "; ".join(items) if items else empty


def _outcome(outcome: str) -> str:
    return outcome.replace("_", " ")


def _word(value) -> str:
    """A fact value as a reason prints it: yes/no for booleans, words for enum values."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return fmt(value) if isinstance(value, (int, float)) else str(value).replace("_", " ")


# -- policy-side specifications -------------------------------------------------------------------

COUNT_SOURCES = ("medication_trials", "psychotherapy_trials", "ect_courses", "tms_courses")
DOSE_RULES = ("minimum_adequate", "maximum_labelled_or_tolerated")
SCALE_SELECTIONS = ("latest", "lowest")
_SPEC_KEYS = {
    "medication_trials": {"source", "title", "episodes", "roles", "categories", "classes", "failure_outcomes",
                          "intolerance_outcomes", "min_weeks", "dose", "min_adherence_percent",
                          "max_improvement_percent"},
    "psychotherapy_trials": {"source", "title", "episodes", "modalities", "failure_outcomes", "min_weeks",
                             "min_sessions"},
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
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
        values.setdefault("title", name.replace("_", " "))
        return cls(name=name, **values)

    def adequacy_text(self, catalogue_dose_word: str = "") -> str:
        """Describe what makes one item count, for reasons: 'at least 4 weeks at or above ...'."""
        parts = []
        if self.min_weeks is not None:
            parts.append(f"at least {fmt(self.min_weeks)} weeks")
        if self.dose == "minimum_adequate":
            parts.append("at or above the catalogue's minimum adequate dose")
        elif self.dose == "maximum_labelled_or_tolerated":
            parts.append("at the maximum labelled dose (or the highest tolerated dose at or above the minimum "
                         "adequate dose)")
        if self.min_adherence_percent is not None:
            parts.append(f"with adherence of at least {fmt(self.min_adherence_percent)}%")
        if self.min_sessions is not None:
            parts.append(f"at least {fmt(self.min_sessions)} sessions")
        return ", ".join(parts) if parts else "any adequacy"


@dataclass(frozen=True)
class ScaleSpec:
    """One score within a window, with the threshold for its instrument: the most recent one
    (``select: latest``, the default) or the one furthest below its threshold (``select: lowest``,
    for policies that want symptoms *persistently* at a level)."""

    name: str
    window_days: int
    thresholds: dict[str, float]
    select: str = "latest"


@dataclass(frozen=True)
class FactSpec:
    """Everything a policy asks to be derived: code sets, scale windows and counts."""

    diagnosis_sets: dict[str, tuple[CodePattern, ...]] = field(default_factory=dict)
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
            scales[name] = ScaleSpec(name, int(spec["window_days"]), dict(spec["thresholds"]),
                                     spec.get("select", "latest"))
        for name, spec in (parameters.get("counts") or {}).items():
            if name in RESERVED_NAMES:
                raise ValueError(f"parameters.counts.{name}: the name is reserved")
            try:
                counts[name] = CountSpec.parse(name, spec)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"parameters.counts.{name}: {exc}") from None
        return cls(diagnosis_sets, scales, counts)

    def vocabulary(self) -> set[str]:
        """Every name a reason template, evidence or missing reference may use."""
        names = {"age", "age_text", "sex", "pregnant", "request.kind", "request.protocol", "request.sessions",
                 "clinician.role", "dx.codes", "episode.severity", "episode.onset", "episode.onset_days",
                 "episode.psychotic_features", "episode.catatonia", "episode.ect_candidate", "as_of"}
        names |= {f"safety.{f}" for f in SAFETY_FIELDS}
        for name in self.diagnosis_sets:
            names |= {f"dx.{name}.codes", f"dx.{name}.set"}
        for name in self.scales:
            names |= {f"scale.{name}.{k}" for k in ("instrument", "score", "threshold", "date", "days_ago",
                                                    "window_days", "text")}
        for name in self.counts:
            names |= {f"{name}.{k}" for k in ("count", "possible", "classes", "classes_possible", "qualifying",
                                              "excluded", "undetermined", "class_names", "adequacy", "title",
                                              "all", "missing")}
        return names


# -- the summary ----------------------------------------------------------------------------------


@dataclass
class Summary:
    fact: dict[str, Any]
    text: dict[str, str]
    refs: dict[str, list]  # "@name" -> JSON Pointers (evidence) or (pointer, detail) pairs (missing)
    items: dict[str, list[tuple[Any, Truth]]]  # count name -> (item, truth) in submission order


def summarise(sub: Submission, spec: FactSpec, catalogue: Catalogue) -> Summary:
    """Compute the summary fact and its explanations for one submission under one policy."""
    fact: dict[str, Any] = {"t": "s"}
    text: dict[str, str] = {"as_of": sub.as_of.isoformat()}
    refs: dict[str, list] = {}

    p = sub.patient
    if p.age is not None:
        fact["age"] = p.age
        text["age"] = str(p.age)
        text["age_text"] = str(p.age) if p.age_source == "age" else f"{p.age} (from birth_date)"
        refs["@age"] = [f"/patient/{p.age_source}"]
    if p.sex is not None:
        fact["sex"] = text["sex"] = p.sex
    if p.pregnant is not None:
        fact["pregnant"] = p.pregnant
        text["pregnant"] = _word(p.pregnant)

    ep = sub.episode
    episode: dict[str, Any] = {}
    for name in ("severity", "psychotic_features", "catatonia", "ect_candidate"):
        value = getattr(ep, name)
        if value is not None:
            episode[name] = value
            text[f"episode.{name}"] = _word(value)
            refs[f"@episode.{name}"] = [f"/current_episode/{name}"]
    if ep.severity is not None:
        episode["severity_rank"] = SEVERITY_RANK[ep.severity]
    if ep.onset is not None:
        episode["onset_days"] = (sub.as_of - ep.onset).days
        text["episode.onset"] = ep.onset.isoformat()
        text["episode.onset_days"] = str(episode["onset_days"])
        refs["@episode.onset"] = ["/current_episode/onset"]
    fact["episode"] = episode

    if sub.diagnoses is not None:
        dx: dict[str, Any] = {"listed": True, "count": len(sub.diagnoses)}
        text["dx.codes"] = ", ".join(d.code for d in sub.diagnoses) or "none"
        refs["@dx"] = [f"/diagnoses/{d.index}" for d in sub.diagnoses] or ["/diagnoses"]
        for name, code_set in spec.diagnosis_sets.items():
            hits = [d for d in sub.diagnoses if in_code_set(d.code, code_set)]
            dx[name] = len(hits)
            text[f"dx.{name}.codes"] = ", ".join(d.code for d in hits) or "none"
            refs[f"@dx.{name}"] = [f"/diagnoses/{d.index}" for d in hits]
        fact["dx"] = dx

    scale: dict[str, Any] = {}
    for name, scale_spec in spec.scales.items():
        scale[name] = _latest_score(sub, scale_spec, text, refs)
    if scale:
        fact["scale"] = scale

    fact["safety"] = {f: getattr(sub.safety, f) for f in SAFETY_FIELDS if getattr(sub.safety, f) is not None}
    text.update({f"safety.{f}": _word(v) for f, v in fact["safety"].items()})
    r = sub.request
    fact["request"] = {"kind": r.kind, "protocol": r.protocol, "sessions": r.sessions}
    text.update({"request.kind": r.kind, "request.protocol": r.protocol, "request.sessions": str(r.sessions)})
    if sub.ordering_clinician_role is not None:
        fact["clinician"] = {"role": sub.ordering_clinician_role}
        text["clinician.role"] = sub.ordering_clinician_role.replace("_", " ")
        refs["@clinician.role"] = ["/ordering_clinician/role"]

    items: dict[str, list] = {}
    for name, count_spec in spec.counts.items():
        fact[name], items[name] = _count(sub, count_spec, catalogue, text, refs)
    return Summary(fact, text, refs, items)


def _latest_score(sub: Submission, spec: ScaleSpec, text: dict, refs: dict) -> dict:
    key = f"scale.{spec.name}"
    text[f"{key}.window_days"] = str(spec.window_days)
    if sub.scales is None:
        refs[f"@{key}"] = []
        return {"listed": False}
    in_window = [s for s in sub.scales
                 if s.instrument in spec.thresholds and 0 <= (sub.as_of - s.date).days <= spec.window_days]
    refs[f"@{key}"] = []
    if not in_window:
        text[f"{key}.text"] = f"no {'/'.join(spec.thresholds)} score dated within {spec.window_days} days"
        return {"listed": True, "in_window": 0}
    if spec.select == "lowest":  # furthest below (or least above) its threshold; on a tie, the latest
        latest = min(in_window, key=lambda s: (s.score - spec.thresholds[s.instrument], -s.date.toordinal(), -s.index))
    else:
        latest = max(in_window, key=lambda s: (s.date, s.index))  # the latest date; on a tie, the last listed
    threshold = spec.thresholds[latest.instrument]
    days = (sub.as_of - latest.date).days
    text.update({f"{key}.instrument": latest.instrument.upper(), f"{key}.score": fmt(latest.score),
                 f"{key}.threshold": fmt(threshold), f"{key}.date": latest.date.isoformat(),
                 f"{key}.days_ago": str(days),
                 f"{key}.text": f"{latest.instrument.upper()} {fmt(latest.score)} on {latest.date.isoformat()}"})
    refs[f"@{key}"] = [f"/scales/{latest.index}"]
    return {"listed": True, "in_window": len(in_window), "instrument": latest.instrument, "score": latest.score,
            "threshold": threshold, "days_ago": days}


# -- counting -------------------------------------------------------------------------------------


def _count(sub: Submission, spec: CountSpec, catalogue: Catalogue, text: dict, refs: dict):
    listed = getattr(sub, spec.source)
    n = spec.name
    text[f"{n}.title"] = spec.title
    text[f"{n}.adequacy"] = spec.adequacy_text()
    if listed is None:
        text.update({f"{n}.qualifying": "none", f"{n}.excluded": "none", f"{n}.undetermined": "none",
                     f"{n}.class_names": "none"})
        refs[f"@{n}.all"] = [f"/{spec.source}"]
        refs[f"@{n}.qualifying"] = refs[f"@{n}.undetermined"] = []
        refs[f"@{n}.missing"] = [(f"/{spec.source}", f"the complete list of {spec.source.replace('_', ' ')}, "
                                                     "or an empty list if there were none")]
        return {"listed": False}, []
    judge = {"medication_trials": _judge_medication, "psychotherapy_trials": _judge_psychotherapy,
             "ect_courses": _judge_ect, "tms_courses": _judge_tms}[spec.source]
    judged = [(item, *judge(item, spec, sub)) for item in listed]
    yes = [(i, d) for i, d, t in judged if t.value is True]
    maybe = [(i, d, t) for i, d, t in judged if t.value is None]
    no = [(i, d, t) for i, d, t in judged if t.value is False]
    summary: dict[str, Any] = {"listed": True, "count": len(yes), "possible": len(yes) + len(maybe)}
    if spec.source == "medication_trials":
        classes = {i.drug.drug_class for i, _ in yes}
        possible_classes = classes | {i.drug.drug_class for i, _, _ in maybe if i.drug}
        summary["classes"], summary["classes_possible"] = len(classes), len(possible_classes)
        text[f"{n}.class_names"] = ", ".join(sorted(catalogue.class_title(c) for c in classes)) or "none"
    text.update({f"{n}.{k}": str(v) for k, v in summary.items() if k != "listed"})
    text[f"{n}.qualifying"] = join([d for _, d in yes])
    text[f"{n}.excluded"] = join([f"{d}: {t.why_not}" for _, d, t in no])
    text[f"{n}.undetermined"] = join([f"{d} ({', '.join(m[1] for m in t.missing)} not known)"
                                      for _, d, t in maybe])
    pointer = f"/{spec.source}"
    refs[f"@{n}.all"] = [f"{pointer}/{i.index}" for i, _, _ in judged] or [pointer]
    refs[f"@{n}.qualifying"] = [f"{pointer}/{i.index}" for i, _ in yes]
    refs[f"@{n}.undetermined"] = [f"{pointer}/{i.index}" for i, _, _ in maybe]
    refs[f"@{n}.missing"] = [m for _, _, t in maybe for m in t.missing]
    return summary, [(i, t) for i, _, t in judged]


def describe_medication(t: MedicationTrial) -> str:
    """One trial as a clinician would write it: 'sertraline 150 mg/day for 10 weeks, no response'."""
    parts = [t.label]
    if t.daily_dose_mg is not None:
        parts.append(f"{fmt(t.daily_dose_mg)} mg/day")
    if t.duration_weeks is not None:
        parts.append(f"for {fmt(t.duration_weeks)} weeks" + (" (from its dates)" if t.weeks_source == "dates" else ""))
    head = " ".join(parts)
    if t.role == "augmentation":
        head += " as augmentation"
    return f"{head}, {_outcome(t.outcome)}" if t.outcome != "unknown" else head


def _episode_truth(item, spec: CountSpec, pointer: str) -> Truth:
    if spec.episodes is None:
        return TRUE
    if item.episode is None:
        return unknown((f"{pointer}/episode", "its episode (or its start_date with /current_episode/onset)"))
    if item.episode in spec.episodes:
        return TRUE
    return false(f"it was in the {item.episode} episode")


def _at_least(value, minimum, pointer: str, what: str, unit: str, why: str) -> Truth:
    if minimum is None:
        return TRUE
    if value is None:
        return unknown((pointer, what))
    return TRUE if value >= minimum else false(why.format(value=fmt(value), minimum=fmt(minimum), unit=unit))


def _dose_truth(t: MedicationTrial, spec: CountSpec, pointer: str) -> Truth:
    if spec.dose is None:
        return TRUE
    drug, dose = t.drug, t.daily_dose_mg
    minimum, maximum = drug.min_adequate_mg, drug.max_labelled_mg
    if minimum is None and (spec.dose == "minimum_adequate" or maximum is None):
        return false(f"the catalogue has no dose threshold for {drug.name}")
    if dose is None:
        return unknown((f"{pointer}/daily_dose_mg", "its daily dose"))
    if spec.dose == "minimum_adequate":
        return TRUE if dose >= minimum else false(
            f"{fmt(dose)} mg/day is below the minimum adequate dose of {fmt(minimum)} mg/day")
    if maximum is not None and dose >= maximum:
        return TRUE
    if minimum is not None and dose < minimum:
        return false(f"{fmt(dose)} mg/day is below the minimum adequate dose of {fmt(minimum)} mg/day")
    ceiling = f"the maximum labelled dose of {fmt(maximum)} mg/day" if maximum else "the maximum labelled dose"
    if t.dose_limited_by_tolerability is True:
        return TRUE
    if t.dose_limited_by_tolerability is False:
        return false(f"{fmt(dose)} mg/day is below {ceiling} and was not limited by tolerability")
    return unknown((f"{pointer}/dose_limited_by_tolerability",
                    f"whether {fmt(dose)} mg/day (below {ceiling}) was the highest tolerated dose"))


def _judge_medication(t: MedicationTrial, spec: CountSpec, sub: Submission):
    pointer = f"/medication_trials/{t.index}"
    description = describe_medication(t)
    if t.drug is None:
        return description, false("the drug catalogue does not know it, so it cannot count")
    drug = t.drug
    gates = [
        TRUE if spec.categories is None or drug.category in spec.categories
        else false(f"{drug.name} is an {drug.category.replace('_', ' ')} agent"),
        TRUE if spec.classes is None or drug.drug_class in spec.classes
        else false(f"its class ({drug.drug_class}) is not among those counted"),
        TRUE if spec.roles is None or t.role in spec.roles else false(f"it was taken as {t.role}"),
        _episode_truth(t, spec, pointer),
    ]
    adequacy = [
        _dose_truth(t, spec, pointer),
        _at_least(t.duration_weeks, spec.min_weeks, f"{pointer}/duration_weeks", "its duration in weeks", "weeks",
                  "{value} weeks is short of {minimum}"),
        _at_least(t.adherence_percent, spec.min_adherence_percent, f"{pointer}/adherence_percent", "its adherence",
                  "%", "adherence of {value}% is below {minimum}%"),
    ]
    if spec.max_improvement_percent is not None and t.improvement_percent is not None \
            and t.improvement_percent >= spec.max_improvement_percent:
        adequacy.append(false(f"an improvement of {fmt(t.improvement_percent)}% is not a failure here "
                              f"(below {fmt(spec.max_improvement_percent)}% required)"))
    if t.outcome in spec.intolerance_outcomes:
        inner = TRUE
    elif t.outcome in spec.failure_outcomes:
        inner = all_of(*adequacy)
    elif t.outcome == "unknown":
        outcome_missing = unknown((f"{pointer}/outcome", "its outcome"))
        inner = outcome_missing if spec.intolerance_outcomes else all_of(*adequacy, outcome_missing)
    else:
        inner = false(f"the outcome, {_outcome(t.outcome)}, is not a failure")
    return description, all_of(*gates, inner)


def _judge_psychotherapy(t, spec: CountSpec, sub: Submission):
    pointer = f"/psychotherapy_trials/{t.index}"
    parts = [t.modality.upper() if len(t.modality) <= 4 else t.modality.replace("_", " ")]
    if t.sessions is not None:
        parts.append(f"{t.sessions} sessions")
    if t.duration_weeks is not None:
        parts.append(f"over {fmt(t.duration_weeks)} weeks")
    description = " ".join(parts) + (f", {_outcome(t.outcome)}" if t.outcome != "unknown" else "")
    if t.outcome in spec.failure_outcomes:
        outcome = TRUE
    elif t.outcome == "unknown":
        outcome = unknown((f"{pointer}/outcome", "its outcome"))
    else:
        outcome = false(f"the outcome, {_outcome(t.outcome)}, is not a failure")
    return description, all_of(
        TRUE if spec.modalities is None or t.modality in spec.modalities
        else false(f"{t.modality.replace('_', ' ')} is not among the evidence-based modalities counted"),
        _episode_truth(t, spec, pointer),
        outcome,
        _at_least(t.duration_weeks, spec.min_weeks, f"{pointer}/duration_weeks", "its duration in weeks", "weeks",
                  "{value} weeks is short of {minimum}"),
        _at_least(t.sessions, spec.min_sessions, f"{pointer}/sessions", "its number of sessions", "sessions",
                  "{value} sessions is short of {minimum}"),
    )


def _days_since_end(item, spec: CountSpec, sub: Submission, pointer: str) -> Truth:
    if spec.min_days_since_end is None and spec.max_days_since_end is None:
        return TRUE
    if item.end_date is None:
        return unknown((f"{pointer}/end_date", "its end date"))
    days = (sub.as_of - item.end_date).days
    if spec.min_days_since_end is not None and days < spec.min_days_since_end:
        return false(f"it ended {days} days before as_of, fewer than {spec.min_days_since_end}")
    if spec.max_days_since_end is not None and days > spec.max_days_since_end:
        return false(f"it ended {days} days before as_of, more than {spec.max_days_since_end}")
    return TRUE


def _course_outcome(item, spec: CountSpec, pointer: str) -> Truth:
    """A course's response: its improvement when given and a threshold applies, else its outcome."""
    improvement = getattr(item, "improvement_percent", None)
    if improvement is not None and spec.min_improvement_percent is not None:
        return TRUE if improvement >= spec.min_improvement_percent else false(
            f"an improvement of {fmt(improvement)}% is below {fmt(spec.min_improvement_percent)}%")
    if improvement is not None and spec.improvement_above_percent is not None:
        return TRUE if improvement > spec.improvement_above_percent else false(
            f"an improvement of {fmt(improvement)}% is not above {fmt(spec.improvement_above_percent)}%")
    if not spec.outcomes:
        return TRUE
    if item.outcome == "unknown":
        wanted = "its improvement_percent or outcome" if improvement is None and (
            spec.min_improvement_percent is not None or spec.improvement_above_percent is not None) else "its outcome"
        return unknown((f"{pointer}/outcome", wanted))
    return TRUE if item.outcome in spec.outcomes else false(f"the outcome, {_outcome(item.outcome)}, does not count")


def _judge_ect(c, spec: CountSpec, sub: Submission):
    pointer = f"/ect_courses/{c.index}"
    description = "ECT" + (f" ({c.sessions} sessions)" if c.sessions is not None else "") + (
        f", {_outcome(c.outcome)}" if c.outcome != "unknown" else "")
    return description, all_of(
        _episode_truth(c, spec, pointer),
        _course_outcome(c, spec, pointer),
        _at_least(c.sessions, spec.min_sessions, f"{pointer}/sessions", "its number of sessions", "sessions",
                  "{value} sessions is short of {minimum}"),
        _days_since_end(c, spec, sub, pointer),
    )


def _judge_tms(c, spec: CountSpec, sub: Submission):
    pointer = f"/tms_courses/{c.index}"
    bits = [f"TMS course ({c.protocol.replace('_', ' ')})" if c.protocol else "TMS course"]
    if c.sessions is not None:
        bits.append(f"{c.sessions} sessions")
    if c.improvement_percent is not None:
        bits.append(f"{fmt(c.improvement_percent)}% improvement")
    if c.end_date is not None:
        bits.append(f"ended {c.end_date.isoformat()}")
    protocol = TRUE
    if spec.protocols is not None:
        protocol = unknown((f"{pointer}/protocol", "its protocol")) if c.protocol is None else (
            TRUE if c.protocol in spec.protocols else false(f"its protocol, {c.protocol}, does not count"))
    return ", ".join(bits), all_of(
        _episode_truth(c, spec, pointer),
        protocol,
        _course_outcome(c, spec, pointer),
        _days_since_end(c, spec, sub, pointer),
    )
