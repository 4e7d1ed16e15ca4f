"""Policy files: read, check and compile ``rules/<policy-id>/<version>.json``.

A policy file is data: sources, parameters, criteria whose rules are durable-rules conditions
over the summary fact (see ``facts.py``), cautions, documentation requirements and test
cases. Loading checks everything that can be checked without running it (the JSON Schema, every
source key, parameter, field name, placeholder and reference) and refuses the file with a
message naming it and the field at fault. Nothing here imports durable-rules: compiling
produces the ruleset as plain JSON for ``engine.py`` to register.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from .errors import InvalidPolicy
from .facts import FactSpec, Registry, fmt, registry
from .model import Kind, Status
from .results import Note, PolicyRef
from .therapy import LEGACY_THERAPY, THERAPIES_DIR, Therapy, load_therapies

# The schema travels with the rules: rules/policy.schema.json beside the policy folders.
SCHEMA_NAME = "policy.schema.json"
DEFAULT_SCHEMA_PATH = Path(__file__).resolve().parent.parent / "rules" / SCHEMA_NAME

_COMPARISONS = ("$lt", "$lte", "$gt", "$gte", "$neq")
_PLACEHOLDER = re.compile(r"\{([a-z0-9_.\-]+)\}")


@cache
def _validator(schema_path: Path = DEFAULT_SCHEMA_PATH) -> jsonschema.Draft202012Validator:
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def canonical_json(document: Any) -> bytes:
    """The bytes a digest is taken over: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest_of(document: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(document)).hexdigest()


# -- compiled pieces -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A reason or detail with ``{placeholders}``, compiled once at load into a positional format."""

    text: str
    names: tuple[str, ...]
    _format: str

    @classmethod
    def compile(cls, text: str) -> Template:
        names: list[str] = []

        def positional(m: re.Match) -> str:
            names.append(m.group(1))
            return f"{{{len(names) - 1}}}"

        escaped = text.replace("{", "{{").replace("}", "}}")
        format_string = re.sub(r"\{\{([a-z0-9_.\-]+)\}\}", positional, escaped)
        return cls(text, tuple(names), format_string)

    def render(self, lookup) -> str:
        """Fill the placeholders with ``lookup(name)``."""
        return self._format.format(*[lookup(name) for name in self.names]) if self.names else self.text


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    url: str
    supports: str
    status: str
    note: str | None = None


@dataclass(frozen=True)
class Rule:
    """One durable-rules rule: when its condition holds, ``target`` gets ``status`` for ``reason``."""

    name: str
    target: tuple[str, str | None]  # (criterion id, branch id or None)
    status: Status
    reason: Template
    evidence: tuple[str, ...]
    missing: tuple[Any, ...]  # "@ref" or (pointer, Template)
    literal_evidence: bool  # every evidence entry is a JSON Pointer (no "@reference" to resolve)


@dataclass(frozen=True)
class Leaf:
    """A criterion, or one branch of an any-of/all-of criterion: decided by exactly one rule."""

    id: str
    title: str
    sources: tuple[str, ...]
    rules: tuple[str, ...]
    urls: tuple[str, ...]


@dataclass(frozen=True)
class Criterion:
    id: str
    kind: Kind
    kind_value: str
    title: str
    sources: tuple[str, ...]
    combine: str | None  # None, "any_of" or "all_of"
    leaves: tuple[Leaf, ...]
    urls: tuple[str, ...]
    reading: str = "confirmed"  # "unconfirmed": the file's yes/no reading of its source is not certain
    note: str | None = None


@dataclass(frozen=True)
class Caution:
    id: str
    detail: Template
    sources: tuple[str, ...]
    urls: tuple[str, ...]


@dataclass(frozen=True, repr=False)
class Policy:
    """One loaded, checked and compiled policy version."""

    id: str
    version: str
    effective_date: date
    title: str
    publisher: str
    jurisdiction: str
    summary: str
    digest: str
    path: str
    sources: dict[str, Source]
    parameters: dict[str, Any]
    parameter_notes: dict[str, dict]
    facts: FactSpec
    criteria: tuple[Criterion, ...]
    rules: dict[str, Rule]
    cautions: dict[str, Caution]
    caution_rules: dict[str, str]  # ruleset rule name -> caution id
    documentation_requirements: tuple[dict, ...]
    documentation_results: tuple[Note, ...]  # as results print them: sources as URLs
    documentation_rules: dict[str, str]  # ruleset rule name -> id of a requirement that applies only when it fires
    measures: dict[str, str]
    cases: tuple[dict, ...]
    therapy: Therapy
    catalogue_version: str | None  # None: the first catalogue, which files naming none were written against
    supersedes: str | None
    registry: Registry = field(repr=False)
    texts: dict[str, str] = field(repr=False)  # "param.<name>" -> the parameter as reasons print it
    ruleset: dict[str, dict] = field(repr=False)
    fact_fields: frozenset[str] = field(repr=False)  # the summary-fact fields the rules test
    document: dict = field(repr=False)

    def __repr__(self) -> str:
        return f"<Policy {self.id}@{self.version} {self.digest[:19]}>"

    @property
    def ref(self) -> PolicyRef:
        """Which policy version a result was decided under."""
        return PolicyRef(self.id, self.version, self.title, self.digest, self.effective_date)

    @property
    def ruleset_name(self) -> str:
        return f"{self.id}@{self.version}"


# -- loading ---------------------------------------------------------------------------------------


@cache
def _therapies(rules: Path) -> dict[str, Therapy]:
    return load_therapies(rules)


def load_policy(path: Path, therapies: dict[str, Therapy] | None = None) -> Policy:
    """Read, check and compile one policy file; raise ``InvalidPolicy`` listing every problem.

    :param therapies: the declared therapies (default: those of the file's own rules directory).
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidPolicy(path, [f"cannot read as JSON: {exc}"]) from None
    rules = path.parent.parent  # rules/<policy-id>/<version>.json -> rules/ (else the project's rules/)
    if therapies is None:
        therapies = _therapies((rules if (rules / THERAPIES_DIR).is_dir() else DEFAULT_SCHEMA_PATH.parent).resolve())
    beside = rules / SCHEMA_NAME
    return compile_policy(document, path, beside if beside.is_file() else DEFAULT_SCHEMA_PATH, therapies=therapies)


def compile_policy(document: dict, path: Path | str = "<memory>", schema_path: Path = DEFAULT_SCHEMA_PATH, *,
                   therapies: dict[str, Therapy] | None = None) -> Policy:
    """Check and compile a parsed policy document (see ``load_policy``) covering one of ``therapies``
    (default: those declared beside ``schema_path``)."""
    if therapies is None:
        therapies = _therapies(Path(schema_path).resolve().parent)
    errors = _validator(schema_path).iter_errors(document)
    problems = [f"{_where(e.absolute_path)}: {_schema_message(e)}"
                for e in sorted(errors, key=lambda e: list(map(str, e.path)))]
    if problems:
        raise InvalidPolicy(path, problems)
    therapy_ref = document.get("therapy", LEGACY_THERAPY)
    if therapy_ref not in therapies:
        raise InvalidPolicy(path, [f"/therapy: {therapy_ref!r} is not a declared therapy "
                                   f"(rules/therapies holds {sorted(therapies)})"])
    checker = _Checker(document, therapies[therapy_ref])
    policy = checker.compile(path)
    if checker.problems:
        raise InvalidPolicy(path, checker.problems)
    return policy


def _schema_message(error) -> str:
    """The schema's complaint; for a oneOf/anyOf, also why each alternative failed (else it only says 'not valid')."""
    if not error.context:
        return error.message
    return f"{error.message} ({'; '.join(sorted({c.message for c in error.context}))})"


def _where(path) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "(file)"


class _Checker:
    """Collects every semantic problem of one document while compiling it."""

    def __init__(self, document: dict, therapy: Therapy):
        self.doc = document
        self.therapy = therapy
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def compile(self, path) -> Policy:
        doc = self.doc
        sources = {k: Source(k, **v) for k, v in doc["sources"].items()}
        self.source_keys = set(sources)
        parameters, notes = self._parameters(doc["parameters"])
        self.parameters = parameters
        try:
            facts = FactSpec.parse(self._substitute(
                {k: doc["parameters"][k] for k in ("diagnosis_sets", "scales", "counts") if k in doc["parameters"]},
                "/parameters"))
        except ValueError as exc:
            self.problem("/parameters", str(exc))
            facts = FactSpec()
        self.facts = facts
        self.registry = registry(facts, self.therapy)
        self.fact_paths = set(self.registry.fields)
        self.text_names = set(self.registry.words) | {f"param.{k}" for k in parameters}
        self.ref_names = set(self.registry.evidence)
        self.fields_used: set[str] = set()
        self.static_texts = _parameter_texts(parameters, facts)

        criteria, rules, ruleset = [], {}, {}
        seen_criteria: set[str] = set()
        for ci, c in enumerate(doc["criteria"]):
            where = f"/criteria/{ci}"
            if c["id"] in seen_criteria:
                self.problem(f"{where}/id", f"criterion {c['id']!r} appears twice")
            seen_criteria.add(c["id"])
            self._check_sources(c["sources"], f"{where}/sources")
            combine = "any_of" if "any_of" in c else "all_of" if "all_of" in c else None
            title = self._title(c["title"], f"{where}/title")
            branches = c[combine] if combine else [{"id": c["id"], "title": c["title"], "rules": c["rules"]}]
            leaves, branch_ids = [], set()
            for bi, b in enumerate(branches):
                bwhere = f"{where}/{combine}/{bi}" if combine else where
                if b["id"] in branch_ids:
                    self.problem(f"{bwhere}/id", f"branch {b['id']!r} appears twice")
                branch_ids.add(b["id"])
                self._check_sources(b.get("sources", []), f"{bwhere}/sources")
                target = (c["id"], b["id"] if combine else None)
                for name, r in b["rules"].items():
                    rwhere = f"{bwhere}/rules/{name}"
                    if name in rules:
                        self.problem(rwhere, f"rule name {name!r} is used twice in this policy")
                    rules[name] = self._rule(name, r, target, rwhere)
                    ruleset[name] = {"all": [{"m": {"$and": [{"t": "s"}, self._condition(r["when"], rwhere)]}}]}
                statuses = {r["status"] for r in b["rules"].values()}
                if "met" not in statuses:
                    self.problem(bwhere, "no rule can make it met")
                leaf_sources = tuple(b.get("sources", c["sources"]))
                leaf_title = self._title(b["title"], f"{bwhere}/title") if combine else title
                leaves.append(Leaf(b["id"], leaf_title, leaf_sources, tuple(b["rules"]), self._urls(leaf_sources)))
            criteria.append(Criterion(c["id"], Kind(c["kind"]), c["kind"], title, tuple(c["sources"]), combine,
                                      tuple(leaves), self._urls(c["sources"]), c.get("status", "confirmed"),
                                      c.get("note")))

        cautions = {}
        for i, caution in enumerate(doc.get("cautions", [])):
            where = f"/cautions/{i}"
            self._check_sources(caution["sources"], f"{where}/sources")
            name = f"caution-{caution['id']}"
            if name in rules or caution["id"] in cautions:
                self.problem(f"{where}/id", f"caution {caution['id']!r} clashes with another rule or caution")
            cautions[caution["id"]] = Caution(caution["id"], self._template(caution["detail"], f"{where}/detail"),
                                              tuple(caution["sources"]), self._urls(caution["sources"]))
            ruleset[name] = {"all": [{"m": {"$and": [{"t": "s"}, self._condition(caution["when"], where)]}}]}
        documentation, documentation_rules = [], {}
        for i, req in enumerate(doc.get("documentation_requirements", [])):
            where = f"/documentation_requirements/{i}"
            self._check_sources(req["sources"], f"{where}/sources")
            documentation.append(Note(req["id"], req["detail"], self._urls(req["sources"])))
            if "when" in req:
                name = f"documentation-{req['id']}"
                if name in rules or name in ruleset or name in documentation_rules:
                    self.problem(f"{where}/id", f"requirement {req['id']!r} clashes with another rule")
                documentation_rules[name] = req["id"]
                ruleset[name] = {"all": [{"m": {"$and": [{"t": "s"}, self._condition(req["when"], where)]}}]}
        measures = dict(doc.get("measures", {}))
        wanted = {"antidepressants": "medication_trials", "augmentation": "medication_trials",
                  "psychotherapy": "psychotherapy_trials", "ect": "ect_courses"}
        for key, count in measures.items():
            spec = facts.counts.get(count)
            if spec is None or spec.source != wanted[key]:
                self.problem(f"/measures/{key}", f"{count!r} is not a count over {wanted[key]}")

        return Policy(
            id=doc["id"], version=doc["version"], effective_date=date.fromisoformat(doc["effective_date"]),
            title=doc["title"], publisher=doc["publisher"], jurisdiction=doc["jurisdiction"],
            summary=doc["summary"], digest=digest_of(doc), path=str(path), sources=sources,
            parameters=parameters, parameter_notes=notes, facts=facts, criteria=tuple(criteria), rules=rules,
            cautions=cautions, caution_rules={f"caution-{c}": c for c in cautions},
            documentation_requirements=tuple(doc.get("documentation_requirements", [])),
            documentation_results=tuple(documentation), documentation_rules=documentation_rules,
            measures=measures, cases=tuple(doc["cases"]), therapy=self.therapy,
            catalogue_version=doc.get("catalogue"), supersedes=doc.get("supersedes"), registry=self.registry,
            texts=self.static_texts, ruleset=ruleset, fact_fields=frozenset(self.fields_used), document=doc,
        )

    # -- parts -------------------------------------------------------------------------------------

    def _parameters(self, raw: dict):
        values, notes = {}, {}
        for name, value in raw.items():
            if name in ("diagnosis_sets", "scales", "counts"):
                continue
            if isinstance(value, dict):
                self._check_sources(value["sources"], f"/parameters/{name}/sources")
                notes[name] = {k: v for k, v in value.items() if k != "value"}
                value = value["value"]
            values[name] = value
        return values, notes

    def _urls(self, keys) -> tuple[str, ...]:
        return tuple(self.doc["sources"][k]["url"] for k in keys if k in self.source_keys)

    def _check_sources(self, keys, where: str) -> None:
        for i, key in enumerate(keys):
            if key not in self.source_keys:
                self.problem(f"{where}/{i}", f"unknown source {key!r}{_suggest(key, self.source_keys)}")

    def _substitute(self, node, where: str):
        """Replace every ``{"$param": name}`` with the parameter's value."""
        if isinstance(node, dict):
            if set(node) == {"$param"}:
                name = node["$param"]
                if name not in self.parameters:
                    self.problem(where, f"unknown parameter {name!r}{_suggest(name, self.parameters)}")
                    return 0
                return self.parameters[name]
            return {k: self._substitute(v, f"{where}/{k}") for k, v in node.items()}
        if isinstance(node, list):
            return [self._substitute(v, f"{where}/{i}") for i, v in enumerate(node)]
        return node

    def _condition(self, condition: dict, where: str) -> dict:
        condition = self._substitute(condition, f"{where}/when")
        self._check_condition(condition, f"{where}/when")
        return condition

    def _check_condition(self, node, where: str) -> None:
        if not isinstance(node, dict) or len(node) != 1:
            self.problem(where, "a condition is an object with exactly one key")
            return
        (key, value), = node.items()
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                self.problem(where, f"{key} takes a non-empty list of conditions")
                return
            for i, sub in enumerate(value):
                self._check_condition(sub, f"{where}/{key}/{i}")
            if key == "$and":
                self._check_satisfiable(value, where)
        elif key in _COMPARISONS or key in ("$ex", "$nex"):
            if not isinstance(value, dict) or len(value) != 1:
                self.problem(f"{where}/{key}", "compares exactly one field")
                return
            (fact_field, operand), = value.items()
            self._check_field(fact_field, f"{where}/{key}")
            if isinstance(operand, dict):
                if set(operand) != {"$m"}:
                    self.problem(f"{where}/{key}/{fact_field}", "an operand is a value or {\"$m\": field}")
                else:
                    self._check_field(operand["$m"], f"{where}/{key}/{fact_field}")
            elif key in _COMPARISONS[:4] and (isinstance(operand, bool) or not isinstance(operand, (int, float))):
                self.problem(f"{where}/{key}/{fact_field}", f"{key} needs a number, not {operand!r}")
        elif key.startswith("$"):
            self.problem(where, f"operator {key!r} is not allowed (use $and, $or, $lt, $lte, $gt, $gte, $neq, "
                                "$ex, $nex or equality)")
        else:
            self._check_field(key, where)
            if isinstance(value, (dict, list)) or value is None:
                self.problem(f"{where}/{key}", "equality compares with a single value")

    def _check_satisfiable(self, conjuncts: list, where: str) -> None:
        """Report an $and whose numeric comparisons on one field can never all hold."""
        low: dict[str, tuple[float, bool]] = {}
        high: dict[str, tuple[float, bool]] = {}
        for c in conjuncts:
            (op, body), = c.items()
            if op not in _COMPARISONS[:4] or not isinstance(body, dict) or len(body) != 1:
                continue
            (name, value), = body.items()
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if op in ("$gt", "$gte"):
                bound = (value, op == "$gt")
                if name not in low or bound > low[name]:
                    low[name] = bound
            else:
                bound = (value, op == "$lt")
                if name not in high or bound < high[name]:
                    high[name] = bound
        for name in low.keys() & high.keys():
            (lo, lo_strict), (hi, hi_strict) = low[name], high[name]
            if lo > hi or (lo == hi and (lo_strict or hi_strict)):
                self.problem(where, f"can never hold: {name} cannot be both above {lo} and below {hi}")

    def _check_field(self, name: str, where: str) -> None:
        self.fields_used.add(name)
        if name not in self.fact_paths:
            self.problem(where, f"unknown fact field {name!r}{_suggest(name, self.fact_paths)}")

    def _template(self, text: str, where: str) -> Template:
        template = Template.compile(text)
        for name in template.names:
            if name not in self.text_names:
                self.problem(where, f"unknown placeholder {{{name}}}{_suggest(name, self.text_names)}")
        if template.names and all(name in self.static_texts for name in template.names):
            # Only parameters and code sets: the words are the same for every submission, so fill them now.
            words = template.render(self.static_texts.__getitem__)
            return Template(words, (), words)
        return template

    def _title(self, text: str, where: str) -> str:
        """A title may name parameters and code sets (filled in once, here), never a patient's facts."""
        template = Template.compile(text)
        for name in template.names:
            if name not in self.static_texts:
                self.problem(where, f"unknown placeholder {{{name}}} (a title may only name param.* and dx.*.set)")
        return template.render(lambda name: self.static_texts.get(name, ""))

    def _rule(self, name: str, r: dict, target, where: str) -> Rule:
        evidence = tuple(r.get("evidence", []))
        for i, ref in enumerate(evidence):
            if ref.startswith("@") and ref not in self.ref_names:
                self.problem(f"{where}/evidence/{i}", f"unknown reference {ref!r}{_suggest(ref, self.ref_names)}")
        missing = []
        for i, m in enumerate(r.get("missing", [])):
            if isinstance(m, str):
                if not (m.endswith(".missing") and m in self.ref_names):
                    self.problem(f"{where}/missing/{i}", f"{m!r} is not a list of missing fields")
                missing.append(m)
            else:
                missing.append((m["field"], self._template(m["detail"], f"{where}/missing/{i}/detail")))
        if r["status"] == "unknown" and not missing:
            self.problem(where, "an unknown rule must say what information is missing")
        return Rule(name, target, Status(r["status"]), self._template(r["reason"], f"{where}/reason"),
                    evidence, tuple(missing), not any(ref.startswith("@") for ref in evidence))


def _parameter_texts(parameters: dict, facts: FactSpec) -> dict[str, str]:
    texts = {f"dx.{name}.set": ", ".join(p.text for p in code_set) for name, code_set in facts.diagnosis_sets.items()}
    for name, value in parameters.items():
        if isinstance(value, list):
            value = ", ".join(fmt(v) if isinstance(v, (int, float)) else str(v) for v in value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = fmt(value)
        texts[f"param.{name}"] = str(value)
    return texts


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
