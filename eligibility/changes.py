"""What would change the answer: for a criterion that is not met (or unknown), the smallest changes to the
submission that would make it met.

A criterion is met when one of its ``met`` rules holds. Each such rule's condition is read as alternatives
of comparisons (its ``$or`` branches); for each alternative, the comparisons that do not hold yet are handed,
fact group by fact group, to the levers of ``facts/levers.py``, which say how the submission could move
that fact (or that it cannot: an age, a listed diagnosis, an implant). The edits found are applied to the
submission and the rule's whole condition is checked again on the facts computed afresh; only changes that
pass are kept, the smallest first, none that merely adds to another. Nothing here names a criterion: the
numbers are the policy's parameters as its rules and counts hold them.

A change is ``{"text", "pointers", "edits"}``: ``edits`` set a value at a JSON Pointer of the submission
(``apply_edits`` applies them to a submission document, creating what is missing above; a final ``-``
appends to a list).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import date
from itertools import product
from typing import Any, NamedTuple

from .codes import normalise_icd10cm
from .facts import Context, Counted, Summary
from .facts.judging import JUDGES
from .facts.levers import REQUESTED, STATED, Edit, Step, holds, requested_fact, safety_fact, scale, stated_fact
from .facts.levers import count as count_lever
from .facts.levers import diagnoses as diagnoses_lever
from .facts.levers import implants as implants_lever
from .model import Diagnosis, MedicationTrial, PsychotherapyTrial, Scale, Status, Submission

__all__ = ["Change", "Edit", "apply_edits", "to_meet"]

MET = Status.MET
MAX_ALTERNATIVES = 64  # conjunctions read from one condition (the shipped policies stay far below)


@dataclass(frozen=True, slots=True)
class Change:
    """One change that would make a criterion met: words, the pointers it concerns, and its edits."""

    text: str
    pointers: tuple[str, ...]
    edits: tuple[Edit, ...]

    def to_wire(self) -> dict:
        return {"text": self.text, "pointers": list(self.pointers), "edits": [e.to_wire() for e in self.edits]}


# -- conditions ----------------------------------------------------------------------------------------------


def alternatives(condition: dict) -> list[list[tuple[str, str, Any]]]:
    """The condition as alternatives (its ``$or`` branches multiplied out), each a list of comparisons
    (operator, field, operand); an operand ``{"$m": field}`` is kept as is."""
    (key, value), = condition.items()
    if key == "$and":
        out = [[]]
        for part in value:
            out = [a + b for a, b in product(out, alternatives(part))][:MAX_ALTERNATIVES]
        return out
    if key == "$or":
        return [alt for part in value for alt in alternatives(part)][:MAX_ALTERNATIVES]
    if key.startswith("$"):
        (field, operand), = value.items()
        return [[(key, field, operand)]]
    return [[("=", key, value)]]


def _operand(operand, values):
    return values.get(operand["$m"]) if isinstance(operand, dict) else operand


def condition_holds(condition: dict, values: dict) -> bool:
    (key, value), = condition.items()
    if key == "$and":
        return all(condition_holds(c, values) for c in value)
    if key == "$or":
        return any(condition_holds(c, values) for c in value)
    if key.startswith("$"):
        (field, operand), = value.items()
        if isinstance(operand, dict) and values.get(operand["$m"]) is None:
            return False
        return holds(key, values.get(field), _operand(operand, values))
    return holds("=", values.get(key), value)


def _fields(condition: dict, out: set) -> set:
    (key, value), = condition.items()
    if key in ("$and", "$or"):
        for c in value:
            _fields(c, out)
    elif key.startswith("$"):
        (field, operand), = value.items()
        out.add(field)
        if isinstance(operand, dict):
            out.add(operand["$m"])
    else:
        out.add(key)
    return out


# -- levers by fact group -------------------------------------------------------------------------------------


def _group(path: str, counts) -> str:
    head = path.split(".", 1)[0]
    if head in ("dx",):
        return "dx"
    if head in ("scale", "implant"):
        return ".".join(path.split(".")[:2])
    if head in counts:
        return f"count.{head}"
    return path


def _kind(group: str, path: str) -> str:
    """Which lever moves a fact group (``fixed``: none; the request's kind, the episode's onset, what they are)."""
    head = group.split(".", 1)[0]
    if head in ("dx", "scale", "implant", "count"):
        return head
    if path in STATED:
        return "stated"
    if path.startswith("safety."):
        return "safety"
    return "requested" if path in REQUESTED else "fixed"


_ORDER = {"fixed": 0, "stated": 1, "safety": 1, "requested": 1, "dx": 2, "implant": 2, "scale": 2, "count": 3}


class _Alternative(NamedTuple):
    """One alternative of a met rule's condition, read once: its comparisons (operator, field, operand, whether
    the operand names a field), the group of each field, and each group with its lever and its comparisons,
    those whose facts cannot move first and the counts last (so that the costly levers run least)."""

    atoms: tuple
    group_of: dict
    groups: tuple


def _steps(ctx: Context, group: str, kind: str, atoms: dict, values: dict) -> list[Step] | None:
    if kind == "count":  # the same count is often asked the same twice (rules, criteria): once
        key = ("lever", (group, repr(sorted(atoms.items()))))
        if key not in ctx._cache:
            ctx._cache[key] = count_lever(ctx, group.split(".", 1)[1], atoms, values)
        return ctx._cache[key]
    if kind == "dx":
        step = diagnoses_lever(ctx, atoms, values)
    elif kind == "scale":
        step = scale(ctx, group.split(".", 1)[1], atoms, values)
    elif kind == "implant":
        step = implants_lever(ctx, group.split(".", 1)[1], atoms, values) if ctx.therapy.implants else None
    else:
        (path, comparisons), = atoms.items()
        lever = {"stated": stated_fact, "safety": safety_fact, "requested": requested_fact}[kind]
        step = lever(ctx, path, comparisons, values.get(path))
    return None if step is None else [step]


_READ: dict[tuple, Any] = {}  # (policy digest, rule or leaf) -> what is read of it once


def _read(policy, name: str) -> list[_Alternative]:
    """A met rule's condition as alternatives, read once per policy."""
    key = (policy.digest, name)
    found = _READ.get(key)
    if found is None:
        found = _READ[key] = []
        for alternative in alternatives(policy.ruleset[name]["all"][0]["m"]["$and"][1]):
            atoms = tuple((op, field, operand, isinstance(operand, dict)) for op, field, operand in alternative)
            group_of = {field: _group(field, policy.facts.counts) for _, field, _, _ in atoms}
            groups = {}
            for atom in atoms:
                group = group_of[atom[1]]
                groups.setdefault(group, (group, _kind(group, atom[1]), []))[2].append(atom)
            ordered = tuple((g, k, tuple(a)) for g, k, a in sorted(groups.values(), key=lambda g: _ORDER[g[1]]))
            found.append(_Alternative(atoms, group_of, ordered))
    return found


def _met_rules(policy, leaf) -> tuple[str, ...]:
    key = (policy.digest, leaf.id, "met")
    found = _READ.get(key)
    if found is None:
        found = _READ[key] = tuple(name for name in leaf.rules if policy.rules[name].status == MET)
    return found


def _candidate(ctx: Context, alternative: _Alternative, values: dict) -> list[Step] | None:
    """The steps that would make one alternative hold (none needed: ``[]``), or ``None``."""
    failing = set()  # the fact groups with a comparison that does not hold yet
    for op, field, operand, names_field in alternative.atoms:
        if names_field:
            operand = values.get(operand["$m"])
            if operand is None:
                return None  # compared with a fact not known: nothing to aim at
        if not holds(op, values.get(field), operand):
            failing.add(alternative.group_of[field])
    if not failing:
        return []
    steps: list[Step] = []
    for group, kind, group_atoms in alternative.groups:
        if group not in failing:
            continue
        if kind == "fixed":
            return None
        atoms: dict[str, list] = {}
        for op, field, operand, names_field in group_atoms:  # every comparison of the group, held or not
            atoms.setdefault(field, []).append((op, values.get(operand["$m"]) if names_field else operand))
        found = _steps(ctx, group, kind, atoms, values)
        if found is None:
            return None
        steps.extend(found)
    return steps


def to_meet(policy, leaves, summary: Summary, combine: str | None) -> tuple[Change, ...]:
    """The smallest changes that would make the criterion met.

    :param leaves: the criterion's leaves (``policy.Leaf``) that are not met.
    :param combine: ``None`` (a simple criterion), ``"any_of"`` (one leaf met is enough) or ``"all_of"``.
    """
    ctx = summary.context
    conditions = [_met_rules(policy, leaf) for leaf in leaves]
    values = summary.fact  # every field the rules test, an unknown one absent
    per_leaf: list[list[tuple[Step, ...]]] = []
    for leaf_conditions in conditions:
        options = []
        for name in leaf_conditions:
            for alternative in _read(policy, name):
                steps = _candidate(ctx, alternative, values)
                if steps:
                    options.append((tuple(steps), name))
        per_leaf.append(options)
    if combine == "all_of":
        if not all(per_leaf):
            return ()
        chosen = [min(options, key=lambda o: _size(o[0])) for options in per_leaf]
        candidates = [(tuple(s for steps, _ in chosen for s in steps), [c for _, c in chosen])]
    else:
        candidates = [(steps, [condition]) for options in per_leaf for steps, condition in options]
    changes: list[Change] = []
    for steps, wanted in sorted(candidates, key=lambda c: _size(c[0])):
        edits = tuple(e for s in steps for e in s.edits)
        keys = {(e.path, repr(e.value)) for e in edits}
        if len({e.path for e in edits}) != len(edits) or any(
                {(e.path, repr(e.value)) for e in c.edits} <= keys for c in changes):
            continue
        predicted = _predicted(policy, ctx, steps, values, wanted)
        if not (predicted if predicted is not None else _verified(policy, summary, edits, wanted)):
            continue
        pointers = tuple(dict.fromkeys(e.path.removesuffix("/-") for e in edits))
        text = "; ".join(s.text for s in steps)
        changes.append(Change(text[0].upper() + text[1:] if text else text, pointers, edits))
    return tuple(changes)


def _size(steps) -> tuple[int, int]:
    return len(steps), sum(len(s.edits) for s in steps)


def _condition(policy, name: str) -> tuple[dict, frozenset]:
    """A rule's condition and the fields it tests, read once per policy."""
    key = (policy.digest, name, "condition")
    found = _READ.get(key)
    if found is None:
        condition = policy.ruleset[name]["all"][0]["m"]["$and"][1]
        found = _READ[key] = (condition, frozenset(_fields(condition, set())))
    return found


def _predicted(policy, ctx: Context, steps, values: dict, names) -> bool | None:
    """Whether the named rules' conditions hold with the facts the steps give, when every step says which facts
    it gives and no other fact the conditions test moves with them (``None``: the facts must be computed
    again)."""
    if any(s.facts is None for s in steps):
        return None
    facts = dict(pair for s in steps for pair in s.facts)
    counts = ctx.spec.counts
    touched = {e.path.split("/")[1] for s in steps for e in s.edits}
    conditions = [_condition(policy, name) for name in names]
    for _, fields in conditions:
        for field in fields:
            if field in facts:
                continue
            head = field.split(".", 1)[0]
            if head in counts and (counts[head].source in touched or "patient" in touched or (
                    field.endswith(".sessions_with_request") and "request" in touched)):
                return None  # a count the edits move (an age moves the dose maxima)
    after = {**values, **facts}
    return all(condition_holds(c, after) for c, _ in conditions)


def _verified(policy, summary: Summary, edits, names) -> bool:
    """Whether the named rules' conditions hold on the facts of the submission with the edits applied."""
    ctx = summary.context
    try:
        changed = apply_to_model(ctx.sub, edits, ctx.catalogue)
    except (KeyError, ValueError, TypeError, IndexError):
        return False
    after = Context(changed, ctx.spec, ctx.catalogue, ctx.therapy)
    # What the edits leave alone is not computed again: a count whose list (and the age its doses are read
    # at) did not change, the scales, the implants; in an edited list, only the items edited or added.
    touched = {e.path.split("/")[1] for e in edits}
    for key, value in ctx._cache.items():
        kind, name = key
        if kind == "lever":
            continue
        if kind == "count":
            spec = ctx.spec.counts[name]
            if spec.source not in touched:
                after._cache[key] = value
            elif "patient" not in touched and value.listed and getattr(changed, spec.source) is not None:
                before = {item.index: (item, truth) for item, truth in value.judged}
                judge = JUDGES[spec.source]
                after._cache[key] = Counted(spec, [
                    before[item.index] if item.index in before and before[item.index][0] is item
                    else (item, judge(item, spec, after)) for item in getattr(changed, spec.source)], True)
        elif ("scales" if kind == "scale" else "safety") not in touched:
            after._cache[key] = value
    conditions = [_condition(policy, name) for name in names]
    values = {f: policy.registry.fields[f](after) for _, fields in conditions for f in fields}
    return all(condition_holds(c, values) for c, _ in conditions)


# -- applying edits -------------------------------------------------------------------------------------------


def apply_edits(document: dict, edits) -> dict:
    """A copy of a submission document with the edits applied (``Edit`` objects or their wire objects)."""
    out = copy.deepcopy(document)
    for edit in edits:
        path, value = (edit.path, edit.value) if isinstance(edit, Edit) else (edit["path"], edit["value"])
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        node = out
        for i, part in enumerate(parts[:-1]):
            following = parts[i + 1]
            if isinstance(node, list):
                node = node[int(part)]
                continue
            if node.get(part) is None:
                node[part] = [] if following == "-" or following.isdigit() else {}
            node = node[part]
        last = parts[-1]
        if isinstance(node, list):
            if last == "-":
                node.append(copy.deepcopy(value))
            else:
                node[int(last)] = copy.deepcopy(value)
        else:
            node[last] = copy.deepcopy(value)
    return out


def _scale(i: int, item: dict) -> Scale:
    return Scale(i, item["instrument"], item["score"], date.fromisoformat(item["date"]))


def _medication(i: int, item: dict, catalogue) -> MedicationTrial:
    drug = catalogue.by_name[item["drug"]]
    return MedicationTrial(index=i, given_name=item["drug"], rxnorm=None, drug=drug,
                           daily_dose_mg=item.get("daily_dose_mg"), duration_weeks=item.get("duration_weeks"),
                           weeks_source="duration_weeks" if item.get("duration_weeks") is not None else None,
                           episode=item.get("episode"), episode_source="episode" if item.get("episode") else None,
                           role=item.get("role", "monotherapy"), outcome=item.get("outcome", "unknown"),
                           adherence_percent=item.get("adherence_percent"))


def _psychotherapy(i: int, item: dict, catalogue) -> PsychotherapyTrial:
    return PsychotherapyTrial(index=i, modality=item["modality"], sessions=item.get("sessions"),
                              duration_weeks=item.get("duration_weeks"),
                              weeks_source="duration_weeks" if item.get("duration_weeks") is not None else None,
                              episode=item.get("episode"), episode_source="episode" if item.get("episode") else None,
                              outcome=item.get("outcome", "unknown"))


_BUILD = {"scales": lambda i, item, catalogue: _scale(i, item),
          "diagnoses": lambda i, item, catalogue: Diagnosis(i, normalise_icd10cm(item["code"])),
          "medication_trials": _medication, "psychotherapy_trials": _psychotherapy}
_DATES = {"end_date", "start_date", "onset", "date"}


def apply_to_model(sub: Submission, edits, catalogue) -> Submission:
    """The submission with the edits applied, as the schema would read the edited document (for the edits
    the levers make: single fields, a list given, an item appended)."""
    for edit in edits:
        parts = edit.path.split("/")[1:]
        value = edit.value
        head = parts[0]
        if len(parts) == 2 and parts[1] != "-" and head in ("patient", "current_episode", "request", "safety",
                                                             "ordering_clinician"):
            name = parts[1]
            if name in _DATES and value is not None:
                value = date.fromisoformat(value)
            if head == "patient":
                extra = {"age_source": "age"} if name == "age" else {}
                sub = replace(sub, patient=replace(sub.patient, **{name: value}, **extra))
            elif head == "current_episode":
                sub = replace(sub, episode=replace(sub.episode, **{name: value}))
            elif head == "request":
                sub = replace(sub, request=replace(sub.request, **{name: value}))
            elif head == "safety":
                sub = replace(sub, safety=replace(sub.safety, answers={**sub.safety.answers, name: value}))
            else:
                sub = replace(sub, ordering_clinician_role=value)
        elif len(parts) == 1:  # a whole list given
            build = _BUILD[head]
            sub = replace(sub, **{head: tuple(build(i, item, catalogue) for i, item in enumerate(value))})
        elif parts[1] == "-":
            items = getattr(sub, head) or ()
            sub = replace(sub, **{head: (*items, _BUILD[head](len(items), value, catalogue))})
        else:
            items = list(getattr(sub, head))
            index, name = int(parts[1]), parts[2]
            fields = {name: value}
            if name == "duration_weeks":
                fields["weeks_source"] = "duration_weeks"
            if name == "episode":
                fields["episode_source"] = "episode"
            items[index] = replace(items[index], **fields)
            sub = replace(sub, **{head: tuple(items)})
    return sub
