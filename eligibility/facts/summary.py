"""The summary fact of one submission under one policy, and the words and pointers of its explanation.

durable-rules has no aggregates, so counting happens in plain Python, under the policy file's own
parameters (which trials count, how long, what dose, which episode); the rules then compare these
numbers with the policy's thresholds and decide each criterion's status.

``Summary.fact`` is what is asserted into durable-rules: only the fields the policy's rules read,
under their dotted names (``dx.mdd``), and never a ``None`` (an unknown value is an absent key).
durable-rules flattens a nested fact into dotted property names, so a flat fact with dotted keys is
the same fact to it, and cheaper to build. The words of the explanation (``Summary.text``,
``Summary.refs``) are produced on demand, for the rules that fired only; nothing in them is decided here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..catalogue import Catalogue
from ..model import Submission
from .judging import Counted
from .registry import Context, Registry

if TYPE_CHECKING:
    from ..policy import Policy


class Summary:
    """What the rules see of a submission under one policy, and its explanation on demand."""

    __slots__ = ("context", "registry", "fact", "_texts", "_refs")

    def __init__(self, context: Context, registry: Registry, fields) -> None:
        self.context, self.registry = context, registry
        fact: dict[str, Any] = {"t": "s"}
        for path, compute in fields:
            value = compute(context)
            if value is not None:
                fact[path] = value
        self.fact = fact
        self._texts: dict[str, str] = {}
        self._refs: dict[str, list] = {}

    @property
    def values(self) -> dict[str, Any]:
        """Every field the registry declares, by path, with its value (``None`` left out)."""
        out = {}
        for path, compute in self.registry.fields.items():
            value = compute(self.context)
            if value is not None:
                out[path] = value
        return out

    def value(self, path: str):
        return self.registry.fields[path](self.context)

    def counted(self, name: str) -> Counted:
        return self.context.counted(name)

    def text(self, name: str) -> str:
        """The words for ``{name}`` in a reason; 'not given' when the submission does not say."""
        value = self._texts.get(name)
        if value is None:
            value = self._texts[name] = self.registry.words[name](self.context)
        return value

    def refs(self, name: str) -> list:
        """JSON Pointers for an evidence ``@reference``, or (pointer, what) pairs for a ``.missing`` one."""
        value = self._refs.get(name)
        if value is None:
            value = self._refs[name] = self.registry.evidence[name](self.context)
        return value


def summarise(sub: Submission, policy: Policy, catalogue: Catalogue, *, every_field: bool = False) -> Summary:
    """The summary of ``sub`` under ``policy``: the fact holds the fields its rules test (or, with
    ``every_field``, every field its registry declares)."""
    context = Context(sub, policy.facts, catalogue, policy.therapy)
    registry = policy.registry
    return Summary(context, registry, registry.computes(None if every_field else policy.fact_fields))
