"""Typed results: what an evaluation decided and why, as values, and as the contract's JSON objects.

The domain answers with these objects; ``to_wire`` gives each one's JSON object of contract section 2,
member for member and in the contract's order (the bytes of stored evaluations depend on that order).
The envelope of a stored evaluation (its id, creation time and review) is not the domain's: the
service layer adds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from .model import Determination, Status


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """Which policy version decided a result."""

    id: str
    version: str
    title: str
    digest: str
    effective_date: date

    def to_wire(self) -> dict:
        return {"id": self.id, "version": self.version, "title": self.title, "digest": self.digest,
                "effective_date": self.effective_date.isoformat()}


@dataclass(frozen=True, slots=True)
class BranchResult:
    """One alternative of an any-of or all-of criterion, decided by one rule."""

    id: str
    title: str
    status: Status
    reason: str
    evidence: tuple[str, ...]
    sources: tuple[str, ...]
    rule: str

    def to_wire(self) -> dict:
        return {"id": self.id, "title": self.title, "status": self.status.value, "reason": self.reason,
                "evidence": list(self.evidence), "sources": list(self.sources), "rule": self.rule}


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """A criterion's status with its reason, evidence (JSON Pointers into the submission) and sources.

    A simple criterion names the ``rule`` that decided it; a combined one has ``branches`` instead. A criterion
    that is not met carries ``to_meet``: the smallest changes to the submission that would make it met (empty
    when nothing the submission could say would); a met one has none, and its JSON object no such member.
    """

    id: str
    kind: str
    title: str
    status: Status
    reason: str
    evidence: tuple[str, ...]
    sources: tuple[str, ...]
    rule: str | None = None
    branches: tuple[BranchResult, ...] | None = None
    to_meet: tuple[Any, ...] | None = None  # ``changes.Change`` objects

    def to_wire(self) -> dict:
        out = {"id": self.id, "kind": self.kind, "title": self.title, "status": self.status.value,
               "reason": self.reason, "evidence": list(self.evidence), "sources": list(self.sources)}
        if self.branches is None:
            out["rule"] = self.rule
        else:
            out["branches"] = [b.to_wire() for b in self.branches]
        if self.to_meet is not None:
            out["to_meet"] = [c.to_wire() for c in self.to_meet]
        return out

    @property
    def rules(self) -> tuple[str, ...]:
        """The rules that decided it (its own, or its branches')."""
        return (self.rule,) if self.branches is None else tuple(b.rule for b in self.branches)


@dataclass(frozen=True, slots=True)
class MissingInformation:
    """What would settle an unknown criterion: a JSON Pointer into the submission and what to give there."""

    field: str
    needed_for: str
    detail: str

    def to_wire(self) -> dict:
        return {"field": self.field, "needed_for": self.needed_for, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Note:
    """A caution or a documentation requirement: it informs the clinician, never the determination."""

    id: str
    detail: str
    sources: tuple[str, ...]

    def to_wire(self) -> dict:
        return {"id": self.id, "detail": self.detail, "sources": list(self.sources)}


class _NotMeasured:
    """The default of a ``Measures`` field: the policy does not report this measure."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_MEASURED"


NOT_MEASURED = _NotMeasured()


@dataclass(frozen=True, slots=True)
class Measures:
    """Staging measures under one policy's adequacy rules; a field left ``NOT_MEASURED`` is not reported
    (the policy names no count for it), while ``None`` reports a measure that cannot be known."""

    failed_adequate_trials_current_episode: Any = NOT_MEASURED
    intolerant_trials_current_episode: Any = NOT_MEASURED
    antidepressant_classes_failed: Any = NOT_MEASURED
    augmentation_trials_failed: Any = NOT_MEASURED
    psychotherapy_trials_failed: Any = NOT_MEASURED
    augmentation_used: Any = NOT_MEASURED
    ect_used: Any = NOT_MEASURED
    maudsley_score: Any = NOT_MEASURED
    maudsley_score_range: Any = NOT_MEASURED
    maudsley_band: Any = NOT_MEASURED
    maudsley_components: Any = NOT_MEASURED
    thase_rush_stage: Any = NOT_MEASURED

    def to_wire(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not NOT_MEASURED:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def get(self, name: str, default=None):
        value = getattr(self, name, NOT_MEASURED)
        return default if value is NOT_MEASURED else value


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """One policy's determination with every criterion's status and its explanation."""

    policy: PolicyRef
    determination: Determination
    criteria: tuple[CriterionResult, ...]
    missing_information: tuple[MissingInformation, ...]
    cautions: tuple[Note, ...]
    documentation_requirements: tuple[Note, ...]
    measures: Measures

    def to_wire(self) -> dict:
        return {"policy": self.policy.to_wire(), "determination": self.determination.value,
                "criteria": [c.to_wire() for c in self.criteria],
                "missing_information": [m.to_wire() for m in self.missing_information],
                "cautions": [c.to_wire() for c in self.cautions],
                "documentation_requirements": [d.to_wire() for d in self.documentation_requirements],
                "measures": self.measures.to_wire()}

    def criterion(self, criterion_id: str) -> CriterionResult:
        return next(c for c in self.criteria if c.id == criterion_id)


@dataclass(frozen=True, slots=True)
class Warning:
    """Something the submission gave that was kept but could not be used (an unknown drug or code)."""

    field: str
    detail: str

    def to_wire(self) -> dict:
        return {"field": self.field, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A submission's results under its policies, in request order."""

    as_of: date
    reference: str | None
    results: tuple[PolicyResult, ...]
    warnings: tuple[Warning, ...] = field(default=())

    def result(self, policy_id: str) -> PolicyResult:
        return next(r for r in self.results if r.policy.id == policy_id)
