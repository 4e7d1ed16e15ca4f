"""Levers: which facts a submission could change, and the edit that would give a fact the value a rule wants.

A rule's condition tests facts (``registry.py``). Some facts are the patient's and stay as they are once
known (an age, a listed diagnosis, a stated psychotic feature, an implant, a score already in its window);
others can change: a request (sessions, protocol, who orders it), a trial that can go on longer or at a
higher dose, a further trial, a rating not yet taken, and any fact not given yet (stating it settles it).
This module declares, per fact group, how to move it: given the comparisons a rule makes on the group's
fields, a ``Step`` (the words for it and the ``Edit``s to the submission), or ``None`` when nothing the
submission could say would change it. The numbers come from the policy's own parameters (thresholds,
windows, counts, the catalogue's doses): no criterion is named here. ``changes.py`` combines the steps
of a rule and checks that, once applied, the rule's condition holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import SEVERITY_RANK
from .judging import JUDGES
from .specs import CountSpec
from .truth import TRUE
from .words import fmt, outcome_words, sessions, weeks

Atoms = dict[str, list[tuple[str, Any]]]  # field -> [(operator, operand)], operator "=", "$gte", ...


@dataclass(frozen=True, slots=True)
class Edit:
    """Set ``value`` (a wire value) at the JSON Pointer ``path`` of the submission, creating the objects and
    lists above it; a final ``-`` appends to the list."""

    path: str
    value: Any

    def to_wire(self) -> dict:
        return {"path": self.path, "value": self.value}


@dataclass(frozen=True, slots=True)
class Step:
    """One part of a change: its words and its edits; ``facts``, when the edits give facts known values (pairs
    of path and value), lets a change be checked without computing the facts again."""

    text: str
    edits: tuple[Edit, ...]
    facts: tuple[tuple[str, Any], ...] | None = None


def holds(op: str, value, operand) -> bool:
    """Whether a comparison of a rule holds for a value (``None``: absent, which only ``$nex`` matches)."""
    if op == "$nex":
        return value is None
    if value is None:
        return False
    if op == "$ex":
        return True
    if op == "=":
        return value == operand
    if op == "$neq":
        return value != operand
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return {"$lt": value < operand, "$lte": value <= operand, "$gt": value > operand,
            "$gte": value >= operand}[op]


def solve(atoms: list[tuple[str, Any]], current=None, integer: bool = True):
    """A value satisfying every comparison: the current one moved as little as possible, else the bound."""
    candidates = []
    for op, operand in atoms:
        if op in ("=",) or (op in ("$gte", "$lte") and isinstance(operand, (int, float))):
            candidates.append(operand)
        elif op in ("$gt", "$lt") and isinstance(operand, (int, float)):
            step = 1 if integer else 0.1
            candidates.append(operand + step if op == "$gt" else operand - step)
    fitting = [c for c in candidates if all(holds(op, c, v) for op, v in atoms if op not in ("$ex", "$nex"))]
    if not fitting or any(op == "$nex" for op, _ in atoms):
        return None
    if current is not None and not isinstance(current, bool) and isinstance(current, (int, float)):
        return min(fitting, key=lambda c: (abs(c - current), c))
    lower = [c for c in fitting if any(op in ("$gte", "$gt") for op, _ in atoms)]
    return min(lower) if lower else fitting[0]


def bound_words(atoms: list[tuple[str, Any]]) -> str:
    low = [fmt(v) if op == "$gte" else f"above {fmt(v)}" for op, v in atoms if op in ("$gte", "$gt")]
    high = [fmt(v) if op == "$lte" else f"below {fmt(v)}" for op, v in atoms if op in ("$lte", "$lt")]
    if low and high:
        return f"{low[0]} to {high[0]}"
    if low:
        return f"at least {low[0]}"
    return f"at most {high[0]}" if high else ""


# -- single facts ---------------------------------------------------------------------------------------------

# Facts that are stated once (settled when given): the pointer that states each, and how its value is written.
STATED = {
    "age": ("/patient/age", None),
    "sex": ("/patient/sex", None),
    "pregnant": ("/patient/pregnant", None),
    "episode.psychotic_features": ("/current_episode/psychotic_features", None),
    "episode.catatonia": ("/current_episode/catatonia", None),
    "episode.ect_candidate": ("/current_episode/ect_candidate", None),
    "episode.severity_rank": ("/current_episode/severity", {rank: name for name, rank in SEVERITY_RANK.items()}),
}
# Facts of the request: the submission can always ask for something else.
REQUESTED = {
    "request.sessions": "/request/sessions",
    "request.protocol": "/request/protocol",
    "clinician.role": "/ordering_clinician/role",
}
WORDS = {  # (what is stated, how it is stated when yes, and when no)
    "age": "the patient's age", "sex": "the patient's sex",
    "pregnant": ("the patient stated to be pregnant", "the patient stated not to be pregnant"),
    "episode.psychotic_features": ("the current episode stated to have psychotic features",
                                   "the current episode stated to have no psychotic features"),
    "episode.catatonia": ("the current episode stated to have catatonia",
                          "the current episode stated to have no catatonia"),
    "episode.ect_candidate": ("the patient stated to be a candidate for ECT",
                              "the patient stated not to be a candidate for ECT"),
    "episode.severity_rank": "the current episode's severity",
}


def _value_words(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return fmt(value) if isinstance(value, (int, float)) else str(value).replace("_", " ")


def stated_fact(ctx, path: str, atoms, current) -> Step | None:
    """A fact of the patient or episode: given when not known, never changed once known."""
    if current is not None:
        return None
    pointer, names = STATED[path]
    value = solve(atoms, None, integer=True)
    if value is None:
        return None
    words = WORDS[path]
    if names is not None:
        fitting = [rank for rank in sorted(names) if all(holds(op, rank, v) for op, v in atoms)]
        if not fitting:
            return None
        value = names[fitting[0]]
        text = f"{words}, if {' or '.join(names[r] for r in fitting)}"
        return Step(text, (Edit(pointer, value),), ((path, fitting[0]),))
    elif isinstance(words, tuple):
        if not isinstance(value, bool):
            return None
        text = words[0] if value else words[1]
    else:
        text = f"{words}, if {bound_words(atoms) or _value_words(value)}"
    return Step(text, (Edit(pointer, value),), ((path, value),))


def safety_fact(ctx, path: str, atoms, current) -> Step | None:
    """A safety-screen answer: given when not screened, never changed once answered."""
    if current is not None:
        return None
    value = solve(atoms)
    if not isinstance(value, bool):
        return None
    name = path.split(".", 1)[1]
    what = ctx.therapy.safety_fields.get(name, name.replace("_", " "))
    return Step(f"the safety screen answered {'yes' if value else 'no'} for {what}",
                (Edit(f"/safety/{name}", value),), ((path, value),))


def requested_fact(ctx, path: str, atoms, current) -> Step | None:
    """What the request asks for, or who orders it: always the submission's to change."""
    pointer = REQUESTED[path]
    if path == "request.protocol":
        fitting = [p for p in ctx.therapy.protocols if all(holds(op, p, v) for op, v in atoms)]
        if not fitting:
            return None
        value = fitting[0]
        return Step(f"request the {value.replace('_', ' ')} protocol", (Edit(pointer, value),), ((path, value),))
    if path == "clinician.role":
        value = solve(atoms)
        if not isinstance(value, str):
            return None
        return Step(f"the order placed by a {value.replace('_', ' ')}", (Edit(pointer, value),), ((path, value),))
    value = solve(atoms, current)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return None
    words = f"at most {value}" if any(op in ("$lte", "$lt") for op, _ in atoms) else str(value)
    return Step(f"request {words} sessions", (Edit(pointer, value),), ((path, value),))


# -- groups of facts --------------------------------------------------------------------------------------------


def diagnoses(ctx, atoms: Atoms, values) -> Step | None:
    """The diagnosis list: given when not given (with one code of each set a rule wants present); a listed
    diagnosis is the patient's and stays."""
    if ctx.sub.diagnoses is not None:
        return None
    codes, wanted, excluded = [], [], []
    for path, comparisons in atoms.items():
        if path == "dx.listed" or path == "dx.count":
            continue
        name = path.split(".", 1)[1]
        code_set = ctx.spec.diagnosis_sets.get(name)
        target = solve(comparisons)
        if code_set is None or target is None:
            return None
        if target >= 1:
            concrete = next((p.text for p in code_set if "-" not in p.text and len(p.text) > 3), None)
            if concrete is None:
                return None
            codes.append(concrete)
            wanted.append(concrete)
        else:
            excluded.append(", ".join(p.text for p in code_set))
    text = "the patient's diagnoses"
    if wanted:
        text += f", including {' and '.join(wanted)}"
    if excluded:
        text += f"{',' if wanted else ''} with none in {'; '.join(excluded)}"
    return Step(text, (Edit("/diagnoses", [{"code": c} for c in codes]),))


def scale(ctx, name: str, atoms: Atoms, values) -> Step | None:
    """A rating not yet taken: a score within the window when none is there (a score in the window is the
    patient's and stays)."""
    spec = ctx.spec.scales[name]
    selected = ctx.selected(name)
    if selected.score is not None or spec.select == "lowest" and selected.in_window:
        return None
    listed = [s for s in ctx.sub.scales or () if s.instrument in spec.thresholds]
    instrument = listed[-1].instrument if listed else next(iter(spec.thresholds))
    threshold = spec.thresholds[instrument]
    score = int(threshold) if float(threshold).is_integer() else threshold
    item = {"instrument": instrument, "score": score, "date": ctx.sub.as_of.isoformat()}
    path = "/scales/-" if ctx.sub.scales is not None else "/scales"
    return Step(f"a {instrument.upper()} score of {fmt(threshold)} or more dated within {spec.window_days} days "
                "before as_of", (Edit(path, item if path.endswith("-") else [item]),))


def implants(ctx, name: str, atoms: Atoms, values) -> Step | None:
    """An implant question not screened: the screen's answer. A listed implant stays."""
    group = next((g for g in ctx.therapy.implants.groups if g.name == name), None)
    if group is None or not group.boolean or getattr(ctx.sub.safety, group.boolean) is not None:
        return None
    if any(i.kind in group.kinds for i in ctx.sub.safety.implants or ()):
        return None
    if solve(atoms.get(f"implant.{name}.at_site", [])) is not False or len(atoms) > 1:
        return None
    return Step(f"the safety screen answered no for {group.title}", (Edit(f"/safety/{group.boolean}", False),))


# -- counts -------------------------------------------------------------------------------------------------------


def _fix_medication(t, spec: CountSpec, ctx) -> dict | None:
    """The fields that, changed, would make one trial count; ``None`` when none can."""
    drug = ctx.drug(t)
    if drug is None or t.episode_source == "conflict":
        return None
    fields = {}
    if spec.episodes and t.episode is None:
        fields["episode"] = spec.episodes[0]
    if t.outcome == "unknown" and spec.failure_outcomes:
        fields["outcome"] = spec.failure_outcomes[0]
    if spec.min_weeks is not None and (t.duration_weeks is None or t.duration_weeks < spec.min_weeks):
        fields["duration_weeks"] = spec.min_weeks
    if spec.dose is not None and drug.min_adequate_mg is not None and not drug.dose_basis:
        target = drug.min_adequate_mg
        if spec.dose in ("outpatient_maximum_or_tolerated", "maximum_labelled_or_tolerated"):
            maxima = [m for _, m in drug.maximum_candidates(t.formulation, ctx.sub.patient.age)] \
                if spec.dose == "outpatient_maximum_or_tolerated" else [drug.max_labelled_mg]
            if maxima and None not in maxima:
                target = max(maxima)
            elif t.dose_limited_by_tolerability is None:
                fields["dose_limited_by_tolerability"] = True
        if t.daily_dose_mg is None or t.daily_dose_mg < target:
            fields["daily_dose_mg"] = target
    if spec.min_adherence_percent is not None and t.adherence_percent is None:
        fields["adherence_percent"] = spec.min_adherence_percent
    return fields


def _fix_psychotherapy(t, spec: CountSpec, ctx) -> dict | None:
    fields = {}
    if spec.episodes and t.episode is None and t.episode_source != "conflict":
        fields["episode"] = spec.episodes[0]
    if t.outcome == "unknown" and spec.failure_outcomes:
        fields["outcome"] = spec.failure_outcomes[0]
    if spec.min_sessions is not None and (t.sessions is None or t.sessions < spec.min_sessions):
        fields["sessions"] = int(spec.min_sessions)
    if spec.min_weeks is not None and (t.duration_weeks is None or t.duration_weeks < spec.min_weeks):
        fields["duration_weeks"] = spec.min_weeks
    return fields


def _fix_course(c, spec: CountSpec, ctx) -> dict | None:
    """An ECT or TMS course: what is not known about it may be given; what is known stays."""
    fields = {}
    if spec.episodes and c.episode is None:
        fields["episode"] = spec.episodes[0]
    if getattr(c, "protocol", "x") is None and spec.protocols:
        fields["protocol"] = spec.protocols[0]
    if c.outcome == "unknown" and spec.outcomes and getattr(c, "improvement_percent", None) is None:
        fields["outcome"] = spec.outcomes[0]
    if spec.min_sessions is not None and c.sessions is None:
        fields["sessions"] = int(spec.min_sessions)
    return fields


def _fix_words(item, spec: CountSpec, fields: dict) -> list[str]:
    """The words of an item's fix, field by field (made only for the fixes chosen)."""
    words = []
    for name, value in fields.items():
        current = getattr(item, name, None)
        if name == "episode":
            words.append(f"its episode, if the {value} one")
        elif name == "outcome":
            outcomes = spec.failure_outcomes if spec.source in ("medication_trials", "psychotherapy_trials") \
                else spec.outcomes
            words.append(f"its outcome, if {' or '.join(outcome_words(o) for o in outcomes)}")
        elif name == "duration_weeks":
            words.append(f"its duration, if {fmt(value)} weeks or more" if current is None else
                         f"{weeks(round(value - current, 1)).replace(' week', ' more week')} ({fmt(value)} in all)")
        elif name == "sessions":
            words.append(f"its sessions, if {fmt(value)} or more" if current is None else
                         f"{sessions(value - current).replace(' session', ' more session')} ({fmt(value)} in all)")
        elif name == "daily_dose_mg":
            words.append(f"its daily dose, if {fmt(value)} mg/day or more" if current is None else
                         f"the dose raised to {fmt(value)} mg/day")
        elif name == "dose_limited_by_tolerability":
            words.append("the treating physician's statement that it was the highest tolerated dose")
        elif name == "adherence_percent":
            words.append(f"its adherence, if {fmt(value)}% or more")
        elif name == "protocol":
            words.append(f"its protocol, if {value.replace('_', ' ')}")
    return words


FIXES = {"medication_trials": _fix_medication, "psychotherapy_trials": _fix_psychotherapy,
         "ect_courses": _fix_course, "tms_courses": _fix_course}
NAMES = {"medication_trials": lambda t: f"the {t.label} trial",
         "psychotherapy_trials": lambda t: f"the {_modality(t.modality)} course",
         "ect_courses": lambda c: "the ECT course", "tms_courses": lambda c: "the TMS course"}


def _modality(modality: str) -> str:
    return modality.upper() if len(modality) <= 4 else modality.replace("_", " ")


def _number(value):
    """A number as the wire writes it: 120, not 120.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _replace(item, fields: dict):
    """The item with the fields changed (and where its weeks and episode come from), built without ``__init__``:
    the judging of fixes makes many."""
    changed = dict(fields)
    if "duration_weeks" in fields:
        changed["weeks_source"] = "duration_weeks"
    if "episode" in fields and hasattr(item, "episode_source"):
        changed["episode_source"] = "episode"
    cls = type(item)
    new = object.__new__(cls)
    for name in cls.__slots__:
        object.__setattr__(new, name, changed[name] if name in changed else getattr(item, name))
    return new


def item_fixes(ctx, spec: CountSpec) -> list:
    """Each listed item that does not count yet, with the fields whose change might make it count: (item, fields),
    those with the fewest changes first. Whether they would is judged when one is wanted (``fixed``)."""
    fix = FIXES[spec.source]
    proposals = []
    for item, truth in ctx.counted(spec.name).judged:
        if truth.value is True:
            continue
        fields = fix(item, spec, ctx)
        if fields:
            proposals.append((len(fields), item.index, item, fields))
    proposals.sort(key=lambda p: p[:2])
    return [(item, fields) for _, _, item, fields in proposals]


def fixed(ctx, spec: CountSpec, item, fields: dict) -> bool:
    """Whether the item, with the fields changed, would count."""
    return JUDGES[spec.source](_replace(item, fields), spec, ctx) == TRUE


def new_item(ctx, spec: CountSpec, avoid_classes: set[str]) -> tuple[dict, str] | None:
    """A further trial that would count (a trial can still be given; an earlier course cannot be made up)."""
    if spec.source == "psychotherapy_trials":
        item = {"modality": (spec.modalities or ("cbt",))[0], "episode": (spec.episodes or ("current",))[0],
                "outcome": spec.failure_outcomes[0]}
        if spec.min_sessions is not None:
            item["sessions"] = int(spec.min_sessions)
        if spec.min_weeks is not None:
            item["duration_weeks"] = spec.min_weeks
        return item, f"a further {_modality(item['modality'])} course ({spec.adequacy_text()}) without response"
    if spec.source != "medication_trials":
        return None
    for drug, dose in _further_drugs(ctx.catalogue, spec, ctx.sub.patient.age):
        if drug.drug_class in avoid_classes:
            continue
        item = {"drug": drug.name, "daily_dose_mg": _number(dose), "episode": (spec.episodes or ("current",))[0],
                "role": (spec.roles or ("monotherapy",))[0], "outcome": spec.failure_outcomes[0]}
        if spec.min_weeks is not None:
            item["duration_weeks"] = _number(spec.min_weeks)
        if spec.min_adherence_percent is not None:
            item["adherence_percent"] = _number(spec.min_adherence_percent)
        kind = "augmentation" if item["role"] == "augmentation" else "antidepressant"
        text = f"a further {kind} trial ({spec.adequacy_text()}) without response"
        if avoid_classes:
            text += f", in a class not yet counted (for example {drug.name})"
        return item, text
    return None


_FURTHER: dict = {}


def _further_drugs(catalogue, spec: CountSpec, age) -> list:
    """The catalogue's drugs a further trial under ``spec`` could be made with, each with the dose it would take
    (by name; one class only, a sourced dose threshold, no restriction on what it augments)."""
    key = (id(catalogue), spec, age)
    found = _FURTHER.get(key)
    if found is not None and found[0] is catalogue:
        return found[1]
    drugs = []
    for drug in sorted(set(catalogue.by_name.values()), key=lambda d: d.name):
        if spec.categories is not None and drug.category not in spec.categories:
            continue
        if spec.classes is not None and drug.drug_class not in spec.classes:
            continue
        if drug.min_adequate_mg is None or drug.dose_basis or getattr(drug, "augments_only", None) \
                or len(getattr(drug, "classes", ())) > 1:
            continue
        dose = drug.min_adequate_mg
        if spec.dose in ("outpatient_maximum_or_tolerated", "maximum_labelled_or_tolerated"):
            maxima = [m for _, m in drug.maximum_candidates(None, age)] \
                if spec.dose == "outpatient_maximum_or_tolerated" else [drug.max_labelled_mg]
            if not maxima or None in maxima or len(set(maxima)) > 1:
                continue
            dose = maxima[0]
        drugs.append((drug, dose))
    if len(_FURTHER) > 1024:
        _FURTHER.clear()
    _FURTHER[key] = (catalogue, drugs)
    return drugs


def count(ctx, name: str, atoms: Atoms, values) -> list[Step] | None:
    """A count of trials or courses: the listed items that would count with more weeks, a higher dose or what
    is not known about them given, then further trials; sessions already given and those requested."""
    spec = ctx.spec.counts[name]
    pointer = f"/{spec.source}"
    steps: list[Step] = []
    sessions_atoms = atoms.get(f"{name}.sessions_with_request")
    if sessions_atoms:
        already = values.get(f"{name}.sessions_with_request")
        requested = ctx.request("sessions")
        if already is None or requested is None:
            return None
        target = solve(sessions_atoms, already)
        if target is None or requested - (already - target) < 1:
            return None
        sessions = requested - (already - target)
        steps.append(Step(f"request at most {sessions} sessions (with the {already - requested} the earlier "
                          "courses gave)", (Edit("/request/sessions", sessions),),
                          (("request.sessions", sessions), (f"{name}.sessions_with_request", target))))
    others = {k: v for k, v in atoms.items() if k != f"{name}.sessions_with_request"}
    if not others:
        return steps
    if any(k.endswith((".possible", ".classes_possible")) or any(op in ("$lt", "$lte", "$nex") for op, _ in v)
           for k, v in others.items()):
        return None
    need = solve(others.get(f"{name}.count", []), None) or 0
    need_classes = solve(others.get(f"{name}.classes", []), None) or 0
    counted = ctx.counted(name)
    if not counted.listed and (need or need_classes) == 0:
        return steps + [Step(f"the list of {spec.source.replace('_', ' ')} (an empty list if none)",
                             (Edit(pointer, []),))]
    qualifying = counted.items(True)
    classes = {d.drug_class for d in map(ctx.drug, qualifying) if d} if spec.source == "medication_trials" else set()
    have = len(qualifying)
    proposals = item_fixes(ctx, spec) if counted.listed else []
    edits: list[Edit] = []
    texts: list[str] = []

    def next_fix(new_class: bool):
        """The first proposal that would count (in a class not yet counted, when one is wanted); judged only
        once its class fits, and taken off the list once judged."""
        for i, (item, fields) in enumerate(proposals):
            if new_class:
                drug = ctx.drug(item) if spec.source == "medication_trials" else None
                if drug is None or drug.drug_class in classes:
                    continue
            del proposals[i]
            if fixed(ctx, spec, item, fields):
                return item, fields
            return next_fix(new_class)
        return None

    while have < need or len(classes) < need_classes:
        new_class = len(classes) < need_classes
        choice = next_fix(new_class)
        if choice is not None:
            item, fields = choice
            edits.extend(Edit(f"{pointer}/{item.index}/{k}", _number(v)) for k, v in fields.items())
            texts.append(f"{NAMES[spec.source](item)}: {', '.join(_fix_words(item, spec, fields))}")
            if spec.source == "medication_trials":
                classes.add(ctx.drug(item).drug_class)
        else:
            made = new_item(ctx, spec, classes if new_class else set())
            if made is None:
                return None
            item, words = made
            if not counted.listed and not any(e.path == pointer for e in edits):
                edits.append(Edit(pointer, [item]))
            else:
                edits.append(Edit(f"{pointer}/-", item))
            texts.append(words)
            if spec.source == "medication_trials":
                classes.add(ctx.catalogue.by_name[item["drug"]].drug_class)
        have += 1
        if have > need + need_classes + 10:
            return None
    if not edits:
        return steps
    facts = None  # the count and classes known without counting again, when every drug has one class
    if spec.source != "medication_trials" or not any(
            len(getattr(d, "classes", ())) > 1 for d in drugs_of(ctx, qualifying, edits, pointer)):
        facts = ((f"{name}.listed", True), (f"{name}.count", have))
        if spec.source == "medication_trials":
            facts += ((f"{name}.classes", len(classes)),)
    return steps + [Step("; ".join(texts), tuple(_merge(edits)), facts)]


def drugs_of(ctx, qualifying, edits: list[Edit], pointer: str) -> list:
    """The drugs of the trials that count once the edits are made."""
    drugs = [ctx.drug(t) for t in qualifying]
    for e in edits:
        if e.path.endswith("/-") or e.path == pointer:
            for item in (e.value if isinstance(e.value, list) else [e.value]):
                drugs.append(ctx.catalogue.by_name[item["drug"]])
        else:
            drugs.append(ctx.drug(ctx.sub.medication_trials[int(e.path.split("/")[2])]))
    return drugs


def _merge(edits: list[Edit]) -> list[Edit]:
    """A list created by one edit takes the items appended after it."""
    out: list[Edit] = []
    for e in edits:
        if e.path.endswith("/-"):
            base = next((o for o in out if o.path == e.path[:-2]), None)
            if base is not None:
                out[out.index(base)] = Edit(base.path, [*base.value, e.value])
                continue
        out.append(e)
    return out
