"""Generic engine changes made for the payer policies (issue 7) that main's own tests do not cover.

(The scale selection, the printing of every fact value and the parameter placeholders in titles are
covered by tests/test_facts.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eligibility import InvalidPolicy
from eligibility.policy import compile_policy


def _clinical_document() -> dict:
    path = Path(__file__).resolve().parents[1] / "rules" / "tms-clinical" / "1.0.0.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_schema_alternative_says_why_each_branch_failed():
    """A parameter object without sources matches neither form; the message must say what is missing."""
    document = _clinical_document()
    del document["parameters"]["adult_age"]["sources"]
    with pytest.raises(InvalidPolicy, match=r"/parameters/adult_age: .*'sources' is a required property"):
        compile_policy(document, "x.json")
