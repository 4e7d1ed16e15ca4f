"""Summary facts: what a policy's rules test, computed from a submission under that policy's parameters.

durable-rules has no aggregates, so counting happens here, in plain Python, under the policy
file's own parameters (which trials count, how long, what dose, which episode). The rules then
compare these numbers with the policy's thresholds and decide each criterion's status.

Each item (a trial, a course) is judged with three-valued (Kleene) logic: it *qualifies*, it
*cannot qualify* (with the reason why), or it *might* (with the fields that would settle it).
A summary therefore carries two counts: ``count`` (items that qualify) and ``possible`` (those
plus the undecided ones), so that a rule can tell "met", "not met" and "unknown" apart.

``Summary.fact`` is what is asserted into durable-rules: only the fields the policy's rules
read, under their dotted names (``dx.mdd``), and never a ``None`` (an unknown value is an
absent key). The words of the explanation
(``Summary.text``, ``Summary.refs``) are produced on demand, for the rules that fired only;
nothing in them is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .catalogue import Catalogue
from .codes import CodeSet, compile_code_set
from .model import SAFETY_FIELDS, SEVERITY_RANK, MedicationTrial, Submission

RESERVED_NAMES = frozenset({"t", "sid", "id", "age", "sex", "pregnant", "episode", "dx", "scale", "safety",
                            "request", "clinician", "param"})


# -- Kleene logic over explained atoms --------------------------------------------------------------


class Truth(NamedTuple):
    """A three-valued truth: ``why`` (a format string and its values) explains a false one,
    ``missing`` ((pointer, what) pairs) an unknown one. Words are rendered only when asked for."""

    value: bool | None
    why: tuple = ()
    missing: tuple = ()

    def why_not(self) -> str:
        template, *values = self.why
        return template.format(*(fmt(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                                 for v in values))


TRUE = Truth(True)


def false(template: str, *values) -> Truth:
    return Truth(False, (template, *values))


def unknown(pointer: str, what: str) -> Truth:
    return Truth(None, missing=((pointer, what),))


def all_of(*truths: Truth) -> Truth:
    """Kleene AND: false if any is false (the first false explains), else unknown if any is."""
    missing = ()
    for t in truths:
        if t.value is False:
            return t
        if t.value is None:
            missing += t.missing
    return Truth(None, missing=missing) if missing else TRUE


# -- formatting for reasons ---------------------------------------------------------------------------


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


def word(value) -> str:
    """A fact value as a reason prints it: yes/no for booleans, numbers as written, words for codes."""
    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return fmt(value) if isinstance(value, (int, float)) else str(value).replace("_", " ")


# -- policy-side specifications -------------------------------------------------------------------

COUNT_SOURCES = ("medication_trials", "psychotherapy_trials", "ect_courses", "tms_courses")
DOSE_RULES = ("minimum_adequate", "maximum_labelled_or_tolerated")
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

    def adequacy_text(self) -> str:
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


SCALE_SELECTIONS = ("latest", "lowest")


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

    diagnosis_sets: dict[str, CodeSet] = field(default_factory=dict)
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

    def fact_paths(self) -> set[str]:
        """Every summary-fact field a rule condition may test."""
        paths = {"age", "sex", "pregnant", "request.kind", "request.protocol", "request.sessions", "clinician.role",
                 "dx.listed", "dx.count"}
        paths |= {f"episode.{k}" for k in ("severity", "severity_rank", "psychotic_features", "catatonia",
                                           "ect_candidate", "onset_days")}
        paths |= {f"safety.{f}" for f in SAFETY_FIELDS}
        paths |= {f"dx.{name}" for name in self.diagnosis_sets}
        for name in self.scales:
            paths |= {f"scale.{name}.{k}" for k in ("listed", "in_window", "instrument", "score", "threshold",
                                                    "days_ago")}
        for name, spec in self.counts.items():
            paths |= {f"{name}.{k}" for k in ("listed", "count", "possible")}
            if spec.source == "medication_trials":
                paths |= {f"{name}.classes", f"{name}.classes_possible"}
        return paths

    def text_names(self) -> set[str]:
        """Every ``{placeholder}`` a reason or detail may use (besides ``param.*``)."""
        names = {"age", "age_text", "sex", "pregnant", "request.kind", "request.protocol", "request.sessions",
                 "clinician.role", "dx.codes", "episode.severity", "episode.onset", "episode.onset_days", "as_of",
                 "episode.psychotic_features", "episode.catatonia", "episode.ect_candidate", "dx.count"}
        names |= {f"safety.{f}" for f in SAFETY_FIELDS}
        for name in self.diagnosis_sets:
            names |= {f"dx.{name}.codes", f"dx.{name}.set"}
        for name in self.scales:
            names |= {f"scale.{name}.{k}" for k in ("instrument", "score", "threshold", "date", "days_ago",
                                                    "window_days", "text")}
        for name in self.counts:
            names |= {f"{name}.{k}" for k in ("count", "possible", "classes", "classes_possible", "qualifying",
                                              "excluded", "undetermined", "class_names", "adequacy", "title")}
        return names

    def ref_names(self) -> set[str]:
        """Every ``@reference`` evidence or missing information may use."""
        refs = {"@age", "@dx", "@clinician.role"} | {f"@episode.{k}" for k in (
            "severity", "psychotic_features", "catatonia", "ect_candidate", "onset")}
        refs |= {f"@dx.{name}" for name in self.diagnosis_sets}
        refs |= {f"@scale.{name}" for name in self.scales}
        for name in self.counts:
            refs |= {f"@{name}.{k}" for k in ("all", "qualifying", "undetermined", "missing")}
        return refs


# -- the summary ------------------------------------------------------------------------------------


class Counted(NamedTuple):
    """One count's judged items, in submission order."""

    spec: CountSpec
    judged: list  # (item, Truth); empty when the list was not given
    listed: bool


class Summary:
    """The summary fact of one submission under one policy, and its explanation on demand."""

    __slots__ = ("sub", "spec", "catalogue", "values", "fact", "counts", "_latest", "_cache")

    def __init__(self, sub: Submission, spec: FactSpec, catalogue: Catalogue, values: dict, fact: dict,
                 counts: dict, latest: dict):
        self.sub, self.spec, self.catalogue = sub, spec, catalogue
        self.values = values  # every fact field by its dotted path, before projection
        self.fact, self.counts, self._latest = fact, counts, latest
        self._cache: dict[str, Any] = {}

    def text(self, name: str) -> str:
        """The words for ``{name}`` in a reason; 'not given' when the submission does not say."""
        value = self._cache.get(name)
        if value is None:
            value = self._cache[name] = _text(self, name)
        return value

    def refs(self, name: str) -> list:
        """JSON Pointers for an evidence ``@reference``, or (pointer, what) pairs for a ``.missing`` one."""
        value = self._cache.get(name)
        if value is None:
            value = self._cache[name] = _refs(self, name)
        return value


def summarise(sub: Submission, spec: FactSpec, catalogue: Catalogue, needed: frozenset[str] | None = None) -> Summary:
    """Compute the summary fact of ``sub`` under ``spec``.

    :param needed: the fact fields the policy's rules test; the asserted fact holds only these
        (smaller facts are faster to assert and to fire). ``None`` keeps every field.
    """
    flat: dict[str, Any] = {}
    p = sub.patient
    if p.age is not None:
        flat["age"] = p.age
    if p.sex is not None:
        flat["sex"] = p.sex
    if p.pregnant is not None:
        flat["pregnant"] = p.pregnant
    ep = sub.episode
    for name in ("severity", "psychotic_features", "catatonia", "ect_candidate"):
        value = getattr(ep, name)
        if value is not None:
            flat[f"episode.{name}"] = value
    if ep.severity is not None:
        flat["episode.severity_rank"] = SEVERITY_RANK[ep.severity]
    if ep.onset is not None:
        flat["episode.onset_days"] = (sub.as_of - ep.onset).days
    if sub.diagnoses is not None:
        flat["dx.listed"] = True
        flat["dx.count"] = len(sub.diagnoses)
        for name, code_set in spec.diagnosis_sets.items():
            flat[f"dx.{name}"] = sum(1 for d in sub.diagnoses if d.code in code_set)
    latest = {}
    for name, scale_spec in spec.scales.items():
        latest[name] = _select_score(sub, scale_spec, flat)
    safety = sub.safety
    for f in SAFETY_FIELDS:
        value = getattr(safety, f)
        if value is not None:
            flat[f"safety.{f}"] = value
    r = sub.request
    flat["request.kind"], flat["request.protocol"], flat["request.sessions"] = r.kind, r.protocol, r.sessions
    if sub.ordering_clinician_role is not None:
        flat["clinician.role"] = sub.ordering_clinician_role
    counts = {}
    for name, count_spec in spec.counts.items():
        counts[name] = _count(sub, count_spec, flat)

    # durable-rules flattens a nested fact into dotted property names, so a flat fact with dotted
    # keys is the same fact to it (the policy tests exercise every rule this way) and cheaper to build.
    if needed is None:
        fact = {"t": "s", **flat}
    else:
        fact = {"t": "s", **{path: flat[path] for path in needed if path in flat}}
    return Summary(sub, spec, catalogue, flat, fact, counts, latest)


def _count(sub: Submission, spec: CountSpec, flat: dict) -> Counted:
    listed = getattr(sub, spec.source)
    name = spec.name
    if listed is None:
        flat[f"{name}.listed"] = False
        return Counted(spec, [], False)
    judge = _JUDGES[spec.source]
    judged = [(item, judge(item, spec, sub)) for item in listed]
    yes = [i for i, t in judged if t.value is True]
    maybe = [i for i, t in judged if t.value is None]
    flat[f"{name}.listed"] = True
    flat[f"{name}.count"] = len(yes)
    flat[f"{name}.possible"] = len(yes) + len(maybe)
    if spec.source == "medication_trials":
        classes = {i.drug.drug_class for i in yes}
        flat[f"{name}.classes"] = len(classes)
        flat[f"{name}.classes_possible"] = len(classes | {i.drug.drug_class for i in maybe if i.drug})
    return Counted(spec, judged, True)


def _select_score(sub: Submission, spec: ScaleSpec, flat: dict):
    """Return the score within the window that the policy reads: the latest (on a tie, the last
    listed) or, with ``select: lowest``, the one furthest below its threshold (on a tie, the latest)."""
    prefix = f"scale.{spec.name}"
    if sub.scales is None:
        flat[f"{prefix}.listed"] = False
        return None
    latest = None
    in_window = 0
    lowest = spec.select == "lowest"
    for s in sub.scales:
        if s.instrument in spec.thresholds and 0 <= (sub.as_of - s.date).days <= spec.window_days:
            in_window += 1
            if latest is None:
                latest = s
            elif lowest:
                margin = s.score - spec.thresholds[s.instrument]
                best = latest.score - spec.thresholds[latest.instrument]
                if (margin, -s.date.toordinal(), -s.index) < (best, -latest.date.toordinal(), -latest.index):
                    latest = s
            elif (s.date, s.index) > (latest.date, latest.index):
                latest = s
    flat[f"{prefix}.listed"] = True
    flat[f"{prefix}.in_window"] = in_window
    if latest is not None:
        flat[f"{prefix}.instrument"] = latest.instrument
        flat[f"{prefix}.score"] = latest.score
        flat[f"{prefix}.threshold"] = spec.thresholds[latest.instrument]
        flat[f"{prefix}.days_ago"] = (sub.as_of - latest.date).days
    return latest


# -- words, on demand ---------------------------------------------------------------------------------


def _text(s: Summary, name: str) -> str:
    sub = s.sub
    head, _, rest = name.partition(".")
    if name == "age_text":
        p = sub.patient
        if p.age is None:
            return "not given"
        return str(p.age) if p.age_source == "age" else f"{p.age} (from birth_date)"
    if name == "as_of":
        return sub.as_of.isoformat()
    if name == "episode.onset":
        return "not given" if sub.episode.onset is None else sub.episode.onset.isoformat()
    if name in s.values and head != "scale":
        return word(s.values[name])
    if head in ("age", "sex", "pregnant", "episode", "safety", "clinician"):
        return "not given"
    if head == "dx":
        if sub.diagnoses is None:
            return "none given"
        if rest == "codes":
            return ", ".join(d.code for d in sub.diagnoses) or "none"
        code_set = s.spec.diagnosis_sets[rest.rsplit(".", 1)[0]]
        return ", ".join(d.code for d in sub.diagnoses if d.code in code_set) or "none"
    if head == "scale":
        scale_name, _, key = rest.partition(".")
        spec = s.spec.scales[scale_name]
        latest = s._latest[scale_name]
        if key == "window_days":
            return str(spec.window_days)
        if latest is None:
            return f"no {'/'.join(spec.thresholds)} score dated within {spec.window_days} days" if key == "text" \
                else "not given"
        return {"instrument": latest.instrument.upper(), "score": fmt(latest.score),
                "threshold": fmt(spec.thresholds[latest.instrument]), "date": latest.date.isoformat(),
                "days_ago": str((sub.as_of - latest.date).days),
                "text": f"{latest.instrument.upper()} {fmt(latest.score)} on {latest.date.isoformat()}"}[key]
    counted = s.counts[head]
    spec = counted.spec
    if rest == "title":
        return spec.title
    if rest == "adequacy":
        return spec.adequacy_text()
    if rest in ("count", "possible", "classes", "classes_possible"):
        return "not given"  # the list was not given (a given list always has its counts in values)
    if rest == "class_names":
        classes = {i.drug.drug_class for i, t in counted.judged if t.value is True}
        return ", ".join(sorted(s.catalogue.class_title(c) for c in classes)) or "none"
    describe = _DESCRIBE[spec.source]
    if rest == "qualifying":
        return join([describe(i) for i, t in counted.judged if t.value is True])
    if rest == "excluded":
        return join([f"{describe(i)}: {t.why_not()}" for i, t in counted.judged if t.value is False])
    if rest == "undetermined":
        return join([f"{describe(i)} ({', '.join(m[1] for m in t.missing)} not known)"
                     for i, t in counted.judged if t.value is None])
    raise KeyError(name)


def _refs(s: Summary, name: str) -> list:
    sub = s.sub
    ref = name[1:]
    head, _, rest = ref.partition(".")
    if ref == "age":
        return [f"/patient/{sub.patient.age_source}"] if sub.patient.age_source else []
    if head == "episode":
        return [f"/current_episode/{rest}"] if getattr(sub.episode, rest) is not None else []
    if ref == "clinician.role":
        return ["/ordering_clinician/role"] if sub.ordering_clinician_role else []
    if head == "dx":
        if sub.diagnoses is None:
            return []
        if not rest:
            return [f"/diagnoses/{d.index}" for d in sub.diagnoses] or ["/diagnoses"]
        code_set = s.spec.diagnosis_sets[rest]
        return [f"/diagnoses/{d.index}" for d in sub.diagnoses if d.code in code_set]
    if head == "scale":
        latest = s._latest[rest]
        return [f"/scales/{latest.index}"] if latest else []
    counted = s.counts[head]
    pointer = f"/{counted.spec.source}"
    if not counted.listed:
        if rest == "missing":
            return [(pointer, f"the complete list of {counted.spec.source.replace('_', ' ')}, "
                              "or an empty list if there were none")]
        return [pointer] if rest == "all" else []
    if rest == "all":
        return [f"{pointer}/{i.index}" for i, _ in counted.judged] or [pointer]
    if rest == "qualifying":
        return [f"{pointer}/{i.index}" for i, t in counted.judged if t.value is True]
    if rest == "undetermined":
        return [f"{pointer}/{i.index}" for i, t in counted.judged if t.value is None]
    if rest == "missing":
        return [m for _, t in counted.judged if t.value is None for m in t.missing]
    raise KeyError(name)


# -- describing and judging items -----------------------------------------------------------------------


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


def describe_psychotherapy(t) -> str:
    parts = [t.modality.upper() if len(t.modality) <= 4 else t.modality.replace("_", " ")]
    if t.sessions is not None:
        parts.append(f"{t.sessions} sessions")
    if t.duration_weeks is not None:
        parts.append(f"over {fmt(t.duration_weeks)} weeks")
    return " ".join(parts) + (f", {_outcome(t.outcome)}" if t.outcome != "unknown" else "")


def describe_ect(c) -> str:
    return "ECT" + (f" ({c.sessions} sessions)" if c.sessions is not None else "") + (
        f", {_outcome(c.outcome)}" if c.outcome != "unknown" else "")


def describe_tms(c) -> str:
    bits = [f"TMS course ({c.protocol.replace('_', ' ')})" if c.protocol else "TMS course"]
    if c.sessions is not None:
        bits.append(f"{c.sessions} sessions")
    if c.improvement_percent is not None:
        bits.append(f"{fmt(c.improvement_percent)}% improvement")
    if c.end_date is not None:
        bits.append(f"ended {c.end_date.isoformat()}")
    return ", ".join(bits)


def _episode_truth(item, spec: CountSpec, pointer: str) -> Truth:
    if spec.episodes is None or item.episode in spec.episodes:
        return TRUE
    if item.episode is None:
        return unknown(f"{pointer}/episode", "its episode (or its start_date with /current_episode/onset)")
    return false("it was in the {} episode", item.episode)


def _at_least(value, minimum, pointer: str, what: str, why: str) -> Truth:
    if minimum is None:
        return TRUE
    if value is None:
        return unknown(pointer, what)
    return TRUE if value >= minimum else false(why, value, minimum)


def _dose_truth(t: MedicationTrial, spec: CountSpec, pointer: str) -> Truth:
    if spec.dose is None:
        return TRUE
    drug, dose = t.drug, t.daily_dose_mg
    minimum, maximum = drug.min_adequate_mg, drug.max_labelled_mg
    if minimum is None and (spec.dose == "minimum_adequate" or maximum is None):
        return false("the catalogue has no dose threshold for {}", drug.name)
    if dose is None:
        return unknown(f"{pointer}/daily_dose_mg", "its daily dose")
    if spec.dose == "minimum_adequate":
        return TRUE if dose >= minimum else false(
            "{} mg/day is below the minimum adequate dose of {} mg/day", dose, minimum)
    if maximum is not None and dose >= maximum:
        return TRUE
    if minimum is not None and dose < minimum:
        return false("{} mg/day is below the minimum adequate dose of {} mg/day", dose, minimum)
    if t.dose_limited_by_tolerability is True:
        return TRUE
    ceiling = f"the maximum labelled dose of {fmt(maximum)} mg/day" if maximum else "the maximum labelled dose"
    if t.dose_limited_by_tolerability is False:
        return false("{} mg/day is below {} and was not limited by tolerability", dose, ceiling)
    return unknown(f"{pointer}/dose_limited_by_tolerability",
                   f"whether {fmt(dose)} mg/day (below {ceiling}) was the highest tolerated dose")


def _judge_medication(t: MedicationTrial, spec: CountSpec, sub: Submission) -> Truth:
    pointer = f"/medication_trials/{t.index}"
    drug = t.drug
    if drug is None:
        return false("the drug catalogue does not know it, so it cannot count")
    if spec.categories is not None and drug.category not in spec.categories:
        return false("{} is an {} agent", drug.name, drug.category.replace("_", " "))
    if spec.classes is not None and drug.drug_class not in spec.classes:
        return false("its class ({}) is not among those counted", drug.drug_class)
    if spec.roles is not None and t.role not in spec.roles:
        return false("it was taken as {}", t.role)
    episode = _episode_truth(t, spec, pointer)
    if episode.value is False:
        return episode
    if t.outcome in spec.intolerance_outcomes:
        return episode
    if t.outcome in spec.failure_outcomes or t.outcome == "unknown":
        if t.outcome == "unknown" and spec.intolerance_outcomes:
            # an unknown outcome may be intolerance, which counts whatever the dose and duration
            return all_of(episode, unknown(f"{pointer}/outcome", "its outcome"))
        adequacy = [
            episode,
            _dose_truth(t, spec, pointer),
            _at_least(t.duration_weeks, spec.min_weeks, f"{pointer}/duration_weeks", "its duration in weeks",
                      "{} weeks is short of {}"),
            _at_least(t.adherence_percent, spec.min_adherence_percent, f"{pointer}/adherence_percent",
                      "its adherence", "adherence of {}% is below {}%"),
        ]
        if spec.max_improvement_percent is not None and t.improvement_percent is not None \
                and t.improvement_percent >= spec.max_improvement_percent:
            adequacy.append(false("an improvement of {}% is not a failure here (below {}% is required)",
                                  t.improvement_percent, spec.max_improvement_percent))
        if t.outcome == "unknown":
            adequacy.append(unknown(f"{pointer}/outcome", "its outcome"))
        return all_of(*adequacy)
    return false("the outcome, {}, is not a failure", _outcome(t.outcome))


def _judge_psychotherapy(t, spec: CountSpec, sub: Submission) -> Truth:
    pointer = f"/psychotherapy_trials/{t.index}"
    if spec.modalities is not None and t.modality not in spec.modalities:
        return false("{} is not among the evidence-based modalities counted", t.modality.replace("_", " "))
    if t.outcome in spec.failure_outcomes:
        outcome = TRUE
    elif t.outcome == "unknown":
        outcome = unknown(f"{pointer}/outcome", "its outcome")
    else:
        return false("the outcome, {}, is not a failure", _outcome(t.outcome))
    return all_of(
        _episode_truth(t, spec, pointer),
        outcome,
        _at_least(t.duration_weeks, spec.min_weeks, f"{pointer}/duration_weeks", "its duration in weeks",
                  "{} weeks is short of {}"),
        _at_least(t.sessions, spec.min_sessions, f"{pointer}/sessions", "its number of sessions",
                  "{} sessions is short of {}"),
    )


def _days_since_end(item, spec: CountSpec, sub: Submission, pointer: str) -> Truth:
    if spec.min_days_since_end is None and spec.max_days_since_end is None:
        return TRUE
    if item.end_date is None:
        return unknown(f"{pointer}/end_date", "its end date")
    days = (sub.as_of - item.end_date).days
    if spec.min_days_since_end is not None and days < spec.min_days_since_end:
        return false("it ended {} days before as_of, fewer than {}", days, spec.min_days_since_end)
    if spec.max_days_since_end is not None and days > spec.max_days_since_end:
        return false("it ended {} days before as_of, more than {}", days, spec.max_days_since_end)
    return TRUE


def _course_outcome(item, spec: CountSpec, pointer: str) -> Truth:
    """A course's response: its improvement when given and a threshold applies, else its outcome."""
    improvement = getattr(item, "improvement_percent", None)
    if improvement is not None and spec.min_improvement_percent is not None:
        return TRUE if improvement >= spec.min_improvement_percent else false(
            "an improvement of {}% is below {}%", improvement, spec.min_improvement_percent)
    if improvement is not None and spec.improvement_above_percent is not None:
        return TRUE if improvement > spec.improvement_above_percent else false(
            "an improvement of {}% is not above {}%", improvement, spec.improvement_above_percent)
    if not spec.outcomes:
        return TRUE
    if item.outcome == "unknown":
        thresholded = spec.min_improvement_percent is not None or spec.improvement_above_percent is not None
        return unknown(f"{pointer}/outcome", "its improvement_percent or outcome" if thresholded else "its outcome")
    return TRUE if item.outcome in spec.outcomes else false("the outcome, {}, does not count", _outcome(item.outcome))


def _judge_ect(c, spec: CountSpec, sub: Submission) -> Truth:
    pointer = f"/ect_courses/{c.index}"
    return all_of(
        _episode_truth(c, spec, pointer),
        _course_outcome(c, spec, pointer),
        _at_least(c.sessions, spec.min_sessions, f"{pointer}/sessions", "its number of sessions",
                  "{} sessions is short of {}"),
        _days_since_end(c, spec, sub, pointer),
    )


def _judge_tms(c, spec: CountSpec, sub: Submission) -> Truth:
    pointer = f"/tms_courses/{c.index}"
    protocol = TRUE
    if spec.protocols is not None:
        if c.protocol is None:
            protocol = unknown(f"{pointer}/protocol", "its protocol")
        elif c.protocol not in spec.protocols:
            protocol = false("its protocol, {}, does not count", c.protocol)
    return all_of(
        _episode_truth(c, spec, pointer),
        protocol,
        _course_outcome(c, spec, pointer),
        _days_since_end(c, spec, sub, pointer),
    )


_JUDGES = {"medication_trials": _judge_medication, "psychotherapy_trials": _judge_psychotherapy,
           "ect_courses": _judge_ect, "tms_courses": _judge_tms}
_DESCRIBE = {"medication_trials": describe_medication, "psychotherapy_trials": describe_psychotherapy,
             "ect_courses": describe_ect, "tms_courses": describe_tms}
