"""ICD-10-CM codes: shape, normalisation, and the code patterns policy files use."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A letter, a digit, a letter or digit (the category), then up to four more characters,
# with or without the dot: F33.2, F332, F32.A, F33.41.
_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
_RANGE = re.compile(r"^([A-Z][0-9][0-9A-Z])-([A-Z][0-9][0-9A-Z])$")


def is_icd10cm(code: str) -> bool:
    """Tell whether ``code`` has the shape of an ICD-10-CM code."""
    return bool(_SHAPE.match(code.strip().upper()))


def normalise_icd10cm(code: str) -> str:
    """Return ``code`` upper case with its dot after the category (``f332`` gives ``F33.2``)."""
    code = code.strip().upper().replace(".", "")
    return code if len(code) == 3 else f"{code[:3]}.{code[3:]}"


@dataclass(frozen=True, slots=True)
class CodePattern:
    """One entry of a policy's code set: ``F33.2`` (that code and its children),
    ``F31`` (a category and all its codes) or ``F20-F29`` (a range of categories)."""

    text: str

    def __post_init__(self):
        if not (_RANGE.match(self.text) or (is_icd10cm(self.text) and self.text == normalise_icd10cm(self.text))):
            raise ValueError(f"{self.text!r} is not an ICD-10-CM code, category or category range")

    def matches(self, code: str) -> bool:
        """Tell whether the normalised ``code`` falls under this pattern."""
        bounds = _RANGE.match(self.text)
        if bounds:
            return code[0] == bounds[1][0] and bounds[1] <= code[:3] <= bounds[2]
        if len(self.text) == 3:
            return code[:3] == self.text
        return code.startswith(self.text)


@dataclass(frozen=True)
class CodeSet:
    """A policy's named list of code patterns, matched with one prefix test plus the ranges."""

    patterns: tuple[CodePattern, ...]
    prefixes: tuple[str, ...]
    ranges: tuple[CodePattern, ...]

    def __contains__(self, code: str) -> bool:
        return code.startswith(self.prefixes) or any(r.matches(code) for r in self.ranges)

    def __iter__(self):
        return iter(self.patterns)


def compile_code_set(patterns: list[str]) -> CodeSet:
    """Turn a policy's list of code patterns into a matcher; raise ``ValueError`` on a bad one."""
    compiled = tuple(CodePattern(p) for p in patterns)
    ranges = tuple(p for p in compiled if "-" in p.text)
    # a code or category matches itself and its children: F33.4 matches F33.41, F31 matches F31.81
    prefixes = tuple(p.text for p in compiled if "-" not in p.text)
    return CodeSet(compiled, prefixes, ranges)
