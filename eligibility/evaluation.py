"""Evaluation: summary facts in, rule firings back, an explained determination out.

The policy's rules (run by durable-rules through ``engine.py``) decide every criterion's status;
this module checks that each criterion was decided exactly once, combines alternatives with
Kleene logic, applies the contract's determination precedence, and writes the explanation:
reason, evidence, sources, missing information, cautions, documentation requirements, measures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .catalogue import Catalogue
from .changes import to_meet
from .errors import EngineError
from .facts import Summary, summarise
from .measures import maudsley, thase_rush, used_in_current_episode
from .model import Determination, Kind, Status, Submission
from .policy import Criterion, Policy, Rule
from .results import BranchResult, CriterionResult, Measures, MissingInformation, Note, PolicyResult

MET, NOT_MET, UNKNOWN = Status.MET, Status.NOT_MET, Status.UNKNOWN
CONTRAINDICATION = Kind.CONTRAINDICATION.value


def any_of(statuses) -> Status:
    """Kleene OR: met if one is met, not met if all are, else unknown."""
    statuses = list(statuses)
    if MET in statuses:
        return MET
    return NOT_MET if all(s == NOT_MET for s in statuses) else UNKNOWN


def all_of(statuses) -> Status:
    """Kleene AND: not met if one is not met, met if all are, else unknown."""
    statuses = list(statuses)
    if NOT_MET in statuses:
        return NOT_MET
    return MET if all(s == MET for s in statuses) else UNKNOWN


def determine(criteria) -> Determination:
    """Apply the contract's precedence to (kind, status) pairs."""
    not_met = unknown = False
    for kind, status in criteria:
        if status == NOT_MET:
            if kind == CONTRAINDICATION:
                return Determination.CONTRAINDICATED
            not_met = True
        elif status == UNKNOWN:
            unknown = True
    if not_met:
        return Determination.DOES_NOT_MEET_CRITERIA
    return Determination.INSUFFICIENT_INFORMATION if unknown else Determination.MEETS_CRITERIA


def evaluate_policy(sub: Submission, policy: Policy, fire: Callable[[dict], list[str]],
                    catalogue: Catalogue) -> PolicyResult:
    """Evaluate one policy; ``fire`` runs its ruleset on the summary fact and names the rules that fired."""
    summary = summarise(sub, policy, catalogue)
    texts = policy.texts

    def values(name: str) -> str:
        return texts[name] if name in texts else summary.text(name)

    decided: dict[tuple[str, str | None], Rule] = {}
    cautions_fired: set[str] = set()
    documentation_fired: set[str] = set()
    fired = fire(summary.fact)
    if len(set(fired)) != len(fired):
        twice = sorted({name for name in fired if fired.count(name) > 1})
        raise EngineError(f"{policy.ruleset_name}: rule(s) {twice} fired twice on one fact: their $or branches "
                          "overlap; a policy's rules must not overlap")
    for name in fired:
        rule = policy.rules.get(name)
        if rule is None:
            if name in policy.caution_rules:
                cautions_fired.add(policy.caution_rules[name])
            elif name in policy.documentation_rules:
                documentation_fired.add(policy.documentation_rules[name])
            else:
                raise EngineError(f"{policy.ruleset_name}: the engine fired unknown rule {name!r}")
        elif decided.setdefault(rule.target, rule) is not rule:
            raise EngineError(f"{policy.ruleset_name}: rules {decided[rule.target].name!r} and {name!r} both "
                              f"decided {_target(rule.target)}; a policy's rules must not overlap")
    missing: list[MissingInformation] = []
    criteria = tuple(_criterion_result(criterion, policy, decided, summary, values, missing)
                     for criterion in policy.criteria)
    return PolicyResult(
        policy=policy.ref,
        determination=determine((c.kind, c.status) for c in criteria),
        criteria=criteria,
        missing_information=tuple(missing),
        cautions=tuple(Note(c.id, c.detail.render(values), c.urls)
                       for c in policy.cautions.values() if c.id in cautions_fired),
        documentation_requirements=tuple(d for d in policy.documentation_results
                                         if f"documentation-{d.id}" not in policy.documentation_rules
                                         or d.id in documentation_fired),
        measures=Measures(**measures(sub, policy, summary)),
    )


def _target(target) -> str:
    criterion, branch = target
    return f"criterion {criterion!r}" + (f" (alternative {branch!r})" if branch else "")


def _decision(policy: Policy, decided, target) -> Rule:
    rule = decided.get(target)
    if rule is None:
        raise EngineError(f"{policy.ruleset_name}: no rule decided {_target(target)}; "
                          "the policy's rules leave this case uncovered")
    return rule


def _evidence(rule: Rule, summary: Summary) -> tuple[str, ...]:
    if rule.literal_evidence:
        return rule.evidence
    evidence: list[str] = []
    for ref in rule.evidence:
        for pointer in (summary.refs(ref) if ref[0] == "@" else (ref,)):
            if pointer not in evidence:
                evidence.append(pointer)
    return tuple(evidence)


def _add_missing(rule: Rule, criterion_id: str, summary: Summary, values, missing: list) -> None:
    for m in rule.missing:
        pairs = summary.refs(m) if isinstance(m, str) else ((m[0], m[1].render(values)),)
        for field, detail in pairs:
            entry = MissingInformation(field, criterion_id, detail)
            if entry not in missing:
                missing.append(entry)


def _criterion_result(criterion: Criterion, policy: Policy, decided, summary: Summary, values,
                      missing: list) -> CriterionResult:
    if criterion.combine is None:
        rule = _decision(policy, decided, (criterion.id, None))
        if rule.status == UNKNOWN:
            _add_missing(rule, criterion.id, summary, values, missing)
        return CriterionResult(criterion.id, criterion.kind_value, criterion.title, rule.status,
                               rule.reason.render(values), _evidence(rule, summary), criterion.urls, rule=rule.name,
                               to_meet=None if rule.status == MET else to_meet(policy, criterion.leaves, summary, None))
    rules = [_decision(policy, decided, (criterion.id, leaf.id)) for leaf in criterion.leaves]
    branches = tuple(BranchResult(leaf.id, leaf.title, rule.status, rule.reason.render(values),
                                  _evidence(rule, summary), leaf.urls, rule.name)
                     for leaf, rule in zip(criterion.leaves, rules, strict=True))
    status = (any_of if criterion.combine == "any_of" else all_of)(b.status for b in branches)
    if status == UNKNOWN:
        for rule in rules:
            if rule.status == UNKNOWN:
                _add_missing(rule, criterion.id, summary, values, missing)
    reason, evidence = _combined_reason(criterion.combine, status, branches)
    changes = None
    if status != MET:
        open_leaves = [leaf for leaf, b in zip(criterion.leaves, branches, strict=True) if b.status != MET]
        changes = to_meet(policy, open_leaves, summary, criterion.combine)
    return CriterionResult(criterion.id, criterion.kind_value, criterion.title, status, reason, evidence,
                           criterion.urls, branches=branches, to_meet=changes)


def _sentence(text: str) -> str:
    return text.rstrip().rstrip(".")


def _combined_reason(combine: str, status: Status, outs: tuple[BranchResult, ...]) -> tuple[str, tuple[str, ...]]:
    """One sentence for an any-of/all-of criterion, built from its branches' reasons."""
    def pick(wanted):
        return [o for o in outs if o.status == wanted]

    def evidence_of(chosen) -> tuple[str, ...]:
        seen: list[str] = []
        for o in chosen:
            seen.extend(p for p in o.evidence if p not in seen)
        return tuple(seen)

    def listing(chosen):
        return "; ".join(f"{o.title}: {_sentence(o.reason)}" for o in chosen)

    if combine == "any_of":
        if status == MET:
            first = pick(MET)[0]
            return f"{first.title}: {_sentence(first.reason)}.", first.evidence
        if status == NOT_MET:
            return f"No alternative holds ({listing(outs)}).", evidence_of(outs)
        undecided = pick(UNKNOWN)
        return (f"Undecided until more is known ({listing(undecided)}); no other alternative holds.",
                evidence_of(outs))
    if status == MET:
        return f"All hold ({listing(outs)}).", evidence_of(outs)
    if status == NOT_MET:
        failed = pick(NOT_MET)
        return f"Not all hold ({listing(failed)}).", evidence_of(failed)
    undecided = pick(UNKNOWN)
    return f"Undecided until more is known ({listing(undecided)}).", evidence_of(undecided)


def measures(sub: Submission, policy: Policy, summary: Summary) -> dict[str, Any]:
    """The staging measures under this policy's own adequacy rules (see ``measures.py``)."""
    out: dict[str, Any] = {}
    ad_name = policy.measures.get("antidepressants")
    failures = failed_classes = None
    responded = False
    if ad_name:
        spec = policy.facts.counts[ad_name]
        qualifying = summary.counted(ad_name).items(True)
        if sub.medication_trials is not None:
            failed = [t for t in qualifying if t.outcome in spec.failure_outcomes]
            intolerant = [t for t in qualifying if t.outcome in spec.intolerance_outcomes]
            failures = len(failed)
            failed_classes = {summary.context.drug(t).drug_class for t in failed}
            responded = any(t.outcome in ("response", "remission") and t.episode == "current"
                            for t in sub.medication_trials)
            out.update({"failed_adequate_trials_current_episode": failures,
                        "intolerant_trials_current_episode": len(intolerant),
                        "antidepressant_classes_failed": len(failed_classes)})
        else:
            out.update({"failed_adequate_trials_current_episode": None, "intolerant_trials_current_episode": None,
                        "antidepressant_classes_failed": None})
    for key, measure in (("augmentation", "augmentation_trials_failed"),
                         ("psychotherapy", "psychotherapy_trials_failed")):
        name = policy.measures.get(key)
        if name:
            out[measure] = summary.value(f"{name}.count")  # None when the list was not given
    augmentation_used = None
    if sub.medication_trials is not None:
        augmentation_used = used_in_current_episode([t for t in sub.medication_trials if t.role == "augmentation"])
    ect_used = used_in_current_episode(sub.ect_courses)
    ect_failed = any(c.episode == "current" and c.outcome in ("no_response", "partial_response")
                     for c in sub.ect_courses or ())
    out["augmentation_used"] = augmentation_used
    out["ect_used"] = ect_used
    if ad_name:
        out.update(maudsley(sub, failures, augmentation_used, ect_used))
        out["thase_rush_stage"] = thase_rush(failed_classes, responded, ect_failed)
    return out
