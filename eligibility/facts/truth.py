"""Kleene (three-valued) logic over explained atoms: each item a count judges qualifies, cannot
qualify (and says why), or might (and says which fields would settle it)."""

from __future__ import annotations

from typing import NamedTuple

from .words import fmt


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
