"""Evaluation: summary facts in, rule firings back, an explained determination out.

The policy's rules (run by durable-rules through ``engine.py``) decide every criterion's status;
this module checks that each criterion was decided exactly once, combines alternatives with
Kleene logic, applies the contract's determination precedence, and writes the explanation:
reason, evidence, sources, missing information, cautions, documentation requirements, measures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .catalogue import Catalogue
from .errors import EngineError
from .facts import Summary, summarise
from .measures import maudsley, thase_rush, used_in_current_episode
from .model import Determination, Kind, Status, Submission
from .policy import Criterion, Leaf, Policy, Rule

MET, NOT_MET, UNKNOWN = Status.MET, Status.NOT_MET, Status.UNKNOWN


@dataclass(frozen=True)
class Evaluation:
    """The result document of one submission against its policies, in request order."""

    as_of: str
    reference: str | None
    results: list[dict]
    warnings: list[dict]

    def document(self, evaluation_id: str, created_at: str, review: dict | None = None) -> dict:
        """The result body of contract section 2, as the API stores and returns it."""
        return {"id": evaluation_id, "created_at": created_at, "as_of": self.as_of, "reference": self.reference,
                "results": self.results, "review": review or {"status": "pending"}, "warnings": self.warnings}

    def result(self, policy_id: str) -> dict:
        return next(r for r in self.results if r["policy"]["id"] == policy_id)


def any_of(statuses) -> Status:
    """Kleene OR: met if one is met, not met if all are, else unknown."""
    statuses = list(statuses)
    if MET in statuses:
        return MET
    return NOT_MET if all(s is NOT_MET for s in statuses) else UNKNOWN


def all_of(statuses) -> Status:
    """Kleene AND: not met if one is not met, met if all are, else unknown."""
    statuses = list(statuses)
    if NOT_MET in statuses:
        return NOT_MET
    return MET if all(s is MET for s in statuses) else UNKNOWN


def determine(criteria: list[tuple[Kind, Status]]) -> Determination:
    """Apply the contract's precedence to (kind, status) pairs."""
    if any(k is Kind.CONTRAINDICATION and s is NOT_MET for k, s in criteria):
        return Determination.CONTRAINDICATED
    if any(s is NOT_MET for _, s in criteria):
        return Determination.DOES_NOT_MEET_CRITERIA
    if any(s is UNKNOWN for _, s in criteria):
        return Determination.INSUFFICIENT_INFORMATION
    return Determination.MEETS_CRITERIA


def evaluate_policy(sub: Submission, policy: Policy, fire: Callable[[dict], list[str]],
                    catalogue: Catalogue) -> dict:
    """Evaluate one policy; ``fire`` runs its ruleset on the summary fact and names the rules that fired."""
    summary = summarise(sub, policy.facts, catalogue, policy.fact_fields)
    texts = policy.texts

    def values(name: str) -> str:
        return texts[name] if name in texts else summary.text(name)
    decided: dict[tuple[str, str | None], Rule] = {}
    cautions_fired: set[str] = set()
    fired_once: set[str] = set()
    for name in fire(summary.fact):
        if name.startswith("caution-"):
            cautions_fired.add(name[len("caution-"):])
            continue
        rule = policy.rules.get(name)
        if rule is None:
            raise EngineError(f"{policy.ruleset_name}: the engine fired unknown rule {name!r}")
        earlier = decided.setdefault(rule.target, rule)
        if earlier is not rule or name in fired_once:
            overlap = "its $or branches overlap" if earlier is rule else f"so did {earlier.name!r}"
            raise EngineError(f"{policy.ruleset_name}: rule {name!r} decided {_target(rule.target)} but "
                              f"{overlap}; a policy's rules must not overlap")
        fired_once.add(name)
    criteria, missing, pairs = [], [], []
    for criterion in policy.criteria:
        out, status = _criterion_result(criterion, policy, decided, summary, values, missing)
        criteria.append(out)
        pairs.append((criterion.kind, status))
    return {
        "policy": {"id": policy.id, "version": policy.version, "title": policy.title, "digest": policy.digest,
                   "effective_date": policy.effective_date.isoformat()},
        "determination": determine(pairs).value,
        "criteria": criteria,
        "missing_information": missing,
        "cautions": [{"id": c.id, "detail": c.detail.render(values), "sources": c.urls}
                     for c in policy.cautions.values() if c.id in cautions_fired],
        "documentation_requirements": [dict(d) for d in policy.documentation_results],
        "measures": measures(sub, policy, summary),
    }


def _target(target) -> str:
    criterion, branch = target
    return f"criterion {criterion!r}" + (f" (alternative {branch!r})" if branch else "")


def _leaf_result(leaf: Leaf, target, policy: Policy, decided, summary: Summary, values) -> dict:
    rule = decided.get(target)
    if rule is None:
        raise EngineError(f"{policy.ruleset_name}: no rule decided {_target(target)}; "
                          "the policy's rules leave this case uncovered")
    evidence: list[str] = []
    for ref in rule.evidence:
        for pointer in (summary.refs(ref) if ref[0] == "@" else (ref,)):
            if pointer not in evidence:
                evidence.append(pointer)
    return {"id": leaf.id, "title": leaf.title, "status": rule.status, "reason": rule.reason.render(values),
            "evidence": evidence, "sources": list(leaf.urls), "rule": rule.name}


def _missing_of(rule: Rule, summary: Summary, values) -> list[tuple[str, str]]:
    out = []
    for m in rule.missing:
        if isinstance(m, str):
            out.extend(summary.refs(m))
        else:
            out.append((m[0], m[1].render(values)))
    return out


def _criterion_result(criterion: Criterion, policy: Policy, decided, summary: Summary, values,
                      missing: list) -> tuple[dict, Status]:
    leaves = [(leaf, _leaf_result(leaf, (criterion.id, leaf.id if criterion.combine else None), policy,
                                  decided, summary, values)) for leaf in criterion.leaves]
    if criterion.combine is None:
        (leaf, out), = leaves
        status = out["status"]
        reason, evidence, branches = out["reason"], out["evidence"], None
        unknown_leaves = [(leaf, out)] if status is UNKNOWN else []
    else:
        statuses = [out["status"] for _, out in leaves]
        status = any_of(statuses) if criterion.combine == "any_of" else all_of(statuses)
        reason, evidence = _combined_reason(criterion.combine, status, [out for _, out in leaves])
        branches = [out for _, out in leaves]
        unknown_leaves = [(leaf, out) for leaf, out in leaves if out["status"] is UNKNOWN] if status is UNKNOWN else []
    for leaf, _ in unknown_leaves:
        target = (criterion.id, leaf.id if criterion.combine else None)
        for field, detail in _missing_of(decided[target], summary, values):
            entry = {"field": field, "needed_for": criterion.id, "detail": detail}
            if entry not in missing:
                missing.append(entry)
    result = {"id": criterion.id, "kind": criterion.kind.value, "title": criterion.title, "status": status.value,
              "reason": reason, "evidence": evidence, "sources": list(criterion.urls)}
    if branches is None:
        result["rule"] = leaves[0][1]["rule"]
    else:
        result["branches"] = branches
    return result, status


def _sentence(text: str) -> str:
    return text.rstrip().rstrip(".")


def _combined_reason(combine: str, status: Status, outs: list[dict]) -> tuple[str, list[str]]:
    """One sentence for an any-of/all-of criterion, built from its branches' reasons."""
    def pick(wanted):
        return [o for o in outs if o["status"] is wanted]

    def evidence_of(chosen):
        seen: list[str] = []
        for o in chosen:
            seen.extend(p for p in o["evidence"] if p not in seen)
        return seen

    def listing(chosen):
        return "; ".join(f"{o['title']}: {_sentence(o['reason'])}" for o in chosen)

    if combine == "any_of":
        if status is MET:
            first = pick(MET)[0]
            return f"{first['title']}: {_sentence(first['reason'])}.", first["evidence"]
        if status is NOT_MET:
            return f"No alternative holds ({listing(outs)}).", evidence_of(outs)
        undecided = pick(UNKNOWN)
        return (f"Undecided until more is known ({listing(undecided)}); no other alternative holds.",
                evidence_of(outs))
    if status is MET:
        return f"All hold ({listing(outs)}).", evidence_of(outs)
    if status is NOT_MET:
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
        items = summary.counts[ad_name].judged
        if sub.medication_trials is not None:
            failed = [t for t, truth in items if truth.value is True and t.outcome in spec.failure_outcomes]
            intolerant = [t for t, truth in items if truth.value is True and t.outcome in spec.intolerance_outcomes]
            failures = len(failed)
            failed_classes = {t.drug.drug_class for t in failed}
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
            counted = summary.counts[name]
            out[measure] = sum(1 for _, t in counted.judged if t.value is True) if counted.listed else None
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
