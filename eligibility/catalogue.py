"""The drug catalogue: resolves a trial's drug by generic name or RxNorm ingredient RxCUI.

Two file layouts are read. The first catalogue (version 2026-11-25) gives each drug one
``max_labelled_mg``. Later versions (``supersedes`` set) give the maxima per marketed formulation
(``max_outpatient_mg`` and, where the label allows more outside outpatient care, ``max_mg``), the
maxima the label lowers by age, the classes every cited source assigns, FDA MDD labelling and, for an
augmenting agent labelled with one antidepressant only, that antidepressant. Every value that is
absent stays ``None``: a rule reading it must answer *unknown*, never treat it as zero.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from types import MappingProxyType

from .errors import InvalidPolicy

FORMULATIONS = ("ir", "sr", "er", "odt", "transdermal", "intranasal", "other")
FORMULATION_LABELS = {"ir": "IR", "sr": "SR", "er": "ER", "odt": "ODT", "transdermal": "transdermal",
                      "intranasal": "intranasal", "other": "other formulation"}
STATUSES = frozenset({"confirmed", "unconfirmed"})
SOURCE_KINDS = frozenset({"label", "guideline", "secondary", "registry"})
CATEGORIES = frozenset({"antidepressant", "augmentation"})

_OLD_DRUG_KEYS = frozenset({
    "name", "aliases", "rxcui", "rxcui_status", "rxcui_source", "class", "category",
    "min_adequate_mg", "min_adequate_source", "min_adequate_status",
    "max_labelled_mg", "max_labelled_source", "max_labelled_status", "note",
})
_DOC_KEYS = frozenset({"id", "version", "supersedes", "title", "rxnorm_release", "notes", "sources", "classes",
                       "drugs"})
_SOURCE_KEYS = frozenset({"title", "url", "kind", "note"})
_CLASS_KEYS = frozenset({"title", "category", "sources"})
_DRUG_KEYS = frozenset({
    "name", "aliases", "ingredients", "rxcui", "rxcui_source", "rxcui_status", "class", "class_sources",
    "class_alternatives", "fda_mdd", "min_adequate_mg", "min_adequate_source", "min_adequate_status",
    "dose_basis", "formulations", "age_maxima", "augments_only", "note",
})
_ALTERNATIVE_KEYS = frozenset({"class", "sources", "note"})
_FDA_KEYS = frozenset({"labelled", "year", "source", "note"})
_FORMULATION_KEYS = frozenset({"max_outpatient_mg", "max_mg", "source", "status", "note", "us_marketed"})
_AGE_KEYS = frozenset({"min_age", "max_mg", "formulation", "source", "status", "note"})


@dataclass(frozen=True, slots=True)
class Formulation:
    """One marketed formulation of a drug and the daily maxima its label gives (``None``: none given)."""

    code: str
    max_outpatient_mg: float | None
    max_mg: float | None = None  # a higher ceiling outside outpatient care (inpatients, hospitalized patients)
    note: str | None = None
    us_marketed: bool = True

    @property
    def label(self) -> str:
        return FORMULATION_LABELS[self.code]


@dataclass(frozen=True, slots=True)
class AgeMaximum:
    """The label's lower maximum from ``min_age`` (whole years, inclusive), for one formulation or all."""

    min_age: int
    max_mg: float
    formulation: str | None = None

    def applies_to(self, code: str) -> bool:
        return self.formulation is None or self.formulation == code


@dataclass(frozen=True, slots=True)
class Drug:
    """One ingredient (or fixed combination) of the drug catalogue.

    ``drug_class`` is the primary class; ``classes`` holds it first, then every other class a cited
    source assigns (or, for a combination, an ingredient's class). A drug read from the first catalogue
    has one class, no formulations and its single ``max_labelled_mg``.
    """

    name: str
    rxcui: str | None
    drug_class: str
    category: str
    min_adequate_mg: float | None
    max_labelled_mg: float | None
    classes: tuple[str, ...] = ()
    formulations: Mapping[str, Formulation] = field(default_factory=lambda: MappingProxyType({}))
    age_maxima: tuple[AgeMaximum, ...] = ()
    augments_only: tuple[str, ...] | None = None  # the only antidepressants the agent is labelled with
    fda_mdd: bool | None = None  # labelled in the US for MDD in adults (None: not known)
    dose_basis: str | None = None  # what the mg figures count when not mg/day of the ingredient
    ingredients: tuple[str, ...] | None = None  # a fixed combination's generic ingredients

    def __post_init__(self) -> None:
        if not self.classes:
            object.__setattr__(self, "classes", (self.drug_class,))
        elif self.classes[0] != self.drug_class:
            raise ValueError(f"{self.name}: classes must start with the primary class {self.drug_class!r}")
        object.__setattr__(self, "formulations", MappingProxyType(dict(self.formulations)))

    def __hash__(self) -> int:
        return hash((self.name, self.rxcui))

    def maximum_candidates(self, formulation: str | None = None,
                           age: int | None = None) -> tuple[tuple[str, float | None], ...]:
        """Return the outpatient maxima a trial of this drug could be held to, each with what it depends on.

        One entry when the formulation and the age settle it; one per marketed formulation when the
        formulation is not known (or is not one this drug is marketed in); one per age band when the age
        is not known and the label lowers the maximum by age. A value is ``None`` where the label gives
        no maximum. Entries with the same value are merged ("IR or ER"). A drug of the first catalogue
        has the single ``max_labelled_mg``.
        """
        if not self.formulations:
            return (("labelled maximum", self.max_labelled_mg),)
        if formulation in self.formulations:
            chosen = [self.formulations[formulation]]
        else:
            chosen = [f for f in self.formulations.values() if f.us_marketed] or list(self.formulations.values())
        found: list[tuple[str, float | None]] = []
        for f in chosen:
            found.extend(self._by_age(f, age))
        merged: dict[float | None, list[str]] = {}
        for label, value in found:
            labels = merged.setdefault(value, [])
            if label not in labels:
                labels.append(label)
        return tuple((" or ".join(labels), value) for value, labels in merged.items())

    def _by_age(self, f: Formulation, age: int | None) -> list[tuple[str, float | None]]:
        limits = sorted((a for a in self.age_maxima if a.applies_to(f.code)), key=lambda a: a.min_age)
        if not limits:
            return [(f.label, f.max_outpatient_mg)]
        if age is not None:
            caps = [a for a in limits if age >= a.min_age]
            if not caps:
                return [(f"{f.label}, under {limits[0].min_age}", f.max_outpatient_mg)]
            return [(f"{f.label}, age {caps[-1].min_age} or over", _lowest(f.max_outpatient_mg, caps))]
        bands = [(f"{f.label}, under {limits[0].min_age}", f.max_outpatient_mg)]
        for i, a in enumerate(limits):
            bands.append((f"{f.label}, age {a.min_age} or over", _lowest(f.max_outpatient_mg, limits[:i + 1])))
        return bands


def _lowest(base: float | None, caps: list[AgeMaximum]) -> float:
    return min([c.max_mg for c in caps] + ([base] if base is not None else []))


@dataclass(frozen=True)
class Catalogue:
    """Drugs by lower-case name (aliases included) and by RxCUI, plus the file's metadata."""

    version: str
    classes: dict[str, dict]
    sources: dict[str, dict]
    entries: dict[str, dict]  # name -> the file's entry, for display and provenance
    by_name: dict[str, Drug]
    by_rxcui: dict[str, Drug]
    supersedes: str | None = None

    def resolve(self, name: str | None, rxcui: str | None) -> Drug | None:
        """Return the drug a trial names, or ``None`` when the catalogue does not know it.

        Raise ``ValueError`` when the name and the RxCUI are both known but name different drugs.
        """
        by_name = self.by_name.get(name.strip().lower()) if name else None
        by_code = self.by_rxcui.get(rxcui) if rxcui else None
        if by_name and by_code and by_name is not by_code:
            raise ValueError(f"drug {name!r} and rxnorm {rxcui!r} name different ingredients "
                             f"({by_name.name} and {by_code.name})")
        return by_name or by_code

    def class_title(self, drug_class: str) -> str:
        return self.classes.get(drug_class, {}).get("title", drug_class)


def load_catalogue(path: Path) -> Catalogue:
    """Read and check a catalogue file of either layout; raise ``InvalidPolicy`` naming each bad field."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidPolicy(path, [f"cannot read: {exc}"]) from None
    if not isinstance(doc, dict):
        raise InvalidPolicy(path, ["the file must hold a JSON object"])
    drugs = doc.get("drugs") or []
    if "supersedes" in doc or any(isinstance(e, dict) and "formulations" in e for e in drugs):
        reader = _Reader(doc)
    else:
        reader = _OldReader(doc)
    reader.read()
    if not reader.by_name:
        reader.problems.append("drugs: the catalogue lists no drug")
    if reader.problems:
        raise InvalidPolicy(path, reader.problems)
    return Catalogue(doc.get("version", ""), reader.classes, reader.sources, reader.entries,
                     reader.by_name, reader.by_rxcui, doc.get("supersedes"))


class _OldReader:
    """The first catalogue's layout: one class, one ``max_labelled_mg`` per drug."""

    def __init__(self, doc: dict):
        self.doc = doc
        self.problems: list[str] = []
        self.classes: dict[str, dict] = doc.get("classes") or {}
        self.sources: dict[str, dict] = doc.get("sources") or {}
        self.by_name: dict[str, Drug] = {}
        self.by_rxcui: dict[str, Drug] = {}
        self.entries: dict[str, dict] = {}

    def read(self) -> None:
        for i, entry in enumerate(self.doc.get("drugs") or []):
            where = f"drugs[{i}]"
            if not isinstance(entry, dict):
                self.problems.append(f"{where}: must be an object")
                continue
            drug = self.drug(where, entry)
            if drug is not None:
                self.register(where, entry, drug)

    def drug(self, where: str, entry: dict) -> Drug | None:
        unknown = set(entry) - _OLD_DRUG_KEYS
        if unknown:
            self.problems.append(f"{where}: unknown key(s) {sorted(unknown)}")
        name = entry.get("name")
        if not isinstance(name, str) or not name or name != name.lower():
            self.problems.append(f"{where}.name: a lower-case generic name is required")
            return None
        if entry.get("class") not in self.classes:
            self.problems.append(f"{where}.class: {entry.get('class')!r} is not in classes")
            return None
        for prefix in ("rxcui", "min_adequate", "max_labelled"):
            key = prefix if prefix == "rxcui" else f"{prefix}_mg"
            if entry.get(key) is not None and entry.get(f"{prefix}_source") not in self.sources:
                self.problems.append(f"{where}.{prefix}_source: {entry.get(f'{prefix}_source')!r} is not in sources")
            if entry.get(f"{prefix}_status") not in STATUSES:
                self.problems.append(f"{where}.{prefix}_status: must be one of {sorted(STATUSES)}")
        return Drug(
            name=name,
            rxcui=entry.get("rxcui"),
            drug_class=entry["class"],
            category=self.classes[entry["class"]].get("category", entry.get("category")),
            min_adequate_mg=entry.get("min_adequate_mg"),
            max_labelled_mg=entry.get("max_labelled_mg"),
        )

    def register(self, where: str, entry: dict, drug: Drug) -> None:
        for key in [drug.name, *entry.get("aliases", [])]:
            if key in self.by_name:
                self.problems.append(f"{where}: name or alias {key!r} appears twice")
            self.by_name[key] = drug
        if drug.rxcui:
            if drug.rxcui in self.by_rxcui:
                self.problems.append(f"{where}.rxcui: {drug.rxcui} appears twice")
            self.by_rxcui[drug.rxcui] = drug
        self.entries[drug.name] = entry


class _Reader(_OldReader):
    """Later catalogues: formulations, age maxima, sourced classes, FDA MDD labelling."""

    def read(self) -> None:
        doc = self.doc
        unknown = set(doc) - _DOC_KEYS
        if unknown:
            self.problems.append(f"unknown top-level key(s) {sorted(unknown)}")
        for key in ("id", "version", "supersedes", "title"):
            if not isinstance(doc.get(key), str) or not doc.get(key):
                self.problems.append(f"{key}: a non-empty string is required")
        if not isinstance(self.sources, dict) or not isinstance(self.classes, dict):
            self.problems.append("sources and classes must be objects")
            return
        for key, source in self.sources.items():
            self.source(f"sources.{key}", source)
        for key, cls in self.classes.items():
            self.class_(f"classes.{key}", cls)
        super().read()
        for name, entry in self.entries.items():
            for other in entry.get("augments_only") or []:
                if other not in self.by_name:
                    self.problems.append(f"{name}.augments_only: {other!r} is not in the catalogue")

    def source(self, where: str, source) -> None:
        if not isinstance(source, dict):
            self.problems.append(f"{where}: must be an object")
            return
        unknown = set(source) - _SOURCE_KEYS
        if unknown:
            self.problems.append(f"{where}: unknown key(s) {sorted(unknown)}")
        if not isinstance(source.get("title"), str) or not source.get("title"):
            self.problems.append(f"{where}.title: a title is required")
        if source.get("kind") not in SOURCE_KINDS:
            self.problems.append(f"{where}.kind: must be one of {sorted(SOURCE_KINDS)}")

    def class_(self, where: str, cls) -> None:
        if not isinstance(cls, dict):
            self.problems.append(f"{where}: must be an object")
            return
        unknown = set(cls) - _CLASS_KEYS
        if unknown:
            self.problems.append(f"{where}: unknown key(s) {sorted(unknown)}")
        if cls.get("category") not in CATEGORIES:
            self.problems.append(f"{where}.category: must be one of {sorted(CATEGORIES)}")
        self.cited(f"{where}.sources", cls.get("sources"))

    def cited(self, where: str, keys) -> None:
        """A non-empty list of source keys, each defined."""
        if not isinstance(keys, list) or not keys:
            self.problems.append(f"{where}: at least one source is required")
            return
        for key in keys:
            if key not in self.sources:
                self.problems.append(f"{where}: {key!r} is not in sources")

    def sourced(self, where: str, entry: dict, required: bool) -> None:
        """``source`` and ``status`` of a value: the status valid, the source defined (required if asked)."""
        source = entry.get("source")
        if source is not None and source not in self.sources or source is None and required:
            self.problems.append(f"{where}.source: {source!r} is not in sources")
        if entry.get("status") not in STATUSES:
            self.problems.append(f"{where}.status: must be one of {sorted(STATUSES)}")

    def mg(self, where: str, value, nullable: bool = True) -> float | None:
        """A dose: a positive number, or ``None`` where allowed (never zero: absent is ``None``)."""
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, Real) or value <= 0:
            self.problems.append(f"{where}: must be a positive number{' or null' if nullable else ''}")
            return None
        return float(value)

    def names(self, where: str, value, nullable: bool = True) -> tuple[str, ...] | None:
        if value is None and nullable:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v and v == v.lower() for v in value):
            self.problems.append(f"{where}: must be a list of lower-case names")
            return None
        return tuple(value)

    def drug(self, where: str, entry: dict) -> Drug | None:
        unknown = set(entry) - _DRUG_KEYS
        if unknown:
            self.problems.append(f"{where}: unknown key(s) {sorted(unknown)}")
        name = entry.get("name")
        if not isinstance(name, str) or not name or name != name.lower():
            self.problems.append(f"{where}.name: a lower-case generic name is required")
            return None
        where = f"{where} ({name})"
        self.names(f"{where}.aliases", entry.get("aliases", []), nullable=False)
        rxcui = entry.get("rxcui")
        if rxcui is not None and not (isinstance(rxcui, str) and rxcui.isdigit()):
            self.problems.append(f"{where}.rxcui: must be a string of digits or null")
        self.sourced(f"{where}.rxcui", {"source": entry.get("rxcui_source"), "status": entry.get("rxcui_status")},
                     required=rxcui is not None)
        primary = entry.get("class")
        if primary not in self.classes:
            self.problems.append(f"{where}.class: {primary!r} is not in classes")
            return None
        self.cited(f"{where}.class_sources", entry.get("class_sources"))
        classes = [primary]
        for j, alt in enumerate(entry.get("class_alternatives") or []):
            at = f"{where}.class_alternatives[{j}]"
            if not isinstance(alt, dict) or set(alt) - _ALTERNATIVE_KEYS:
                self.problems.append(f"{at}: must be an object with class, sources and an optional note")
                continue
            if alt.get("class") not in self.classes:
                self.problems.append(f"{at}.class: {alt.get('class')!r} is not in classes")
            elif alt["class"] in classes:
                self.problems.append(f"{at}.class: {alt['class']!r} is listed twice")
            else:
                classes.append(alt["class"])
            self.cited(f"{at}.sources", alt.get("sources"))
        minimum = self.mg(f"{where}.min_adequate_mg", entry.get("min_adequate_mg"))
        self.sourced(f"{where}.min_adequate", {"source": entry.get("min_adequate_source"),
                                               "status": entry.get("min_adequate_status")},
                     required=minimum is not None)
        formulations = self.formulations(where, entry.get("formulations"))
        for f in formulations.values():
            if minimum is not None and f.max_outpatient_mg is not None and minimum > f.max_outpatient_mg:
                self.problems.append(f"{where}.formulations.{f.code}: the maximum is below min_adequate_mg")
        ages = self.age_maxima(where, entry.get("age_maxima"), formulations)
        dose_basis = entry.get("dose_basis")
        if dose_basis is not None and not (isinstance(dose_basis, str) and dose_basis):
            self.problems.append(f"{where}.dose_basis: must be a non-empty string")
        return Drug(
            name=name,
            rxcui=rxcui,
            drug_class=primary,
            category=self.classes[primary].get("category"),
            min_adequate_mg=minimum,
            max_labelled_mg=None,
            classes=tuple(classes),
            formulations=formulations,
            age_maxima=ages,
            augments_only=self.names(f"{where}.augments_only", entry.get("augments_only")),
            fda_mdd=self.fda_mdd(where, entry.get("fda_mdd")),
            dose_basis=dose_basis,
            ingredients=self.names(f"{where}.ingredients", entry.get("ingredients")),
        )

    def formulations(self, where: str, value) -> dict[str, Formulation]:
        if not isinstance(value, dict) or not value:
            self.problems.append(f"{where}.formulations: at least one formulation is required")
            return {}
        out = {}
        for code, f in value.items():
            at = f"{where}.formulations.{code}"
            if code not in FORMULATIONS:
                self.problems.append(f"{at}: the code must be one of {list(FORMULATIONS)}")
                continue
            if not isinstance(f, dict):
                self.problems.append(f"{at}: must be an object")
                continue
            unknown = set(f) - _FORMULATION_KEYS
            if unknown:
                self.problems.append(f"{at}: unknown key(s) {sorted(unknown)}")
            if "max_outpatient_mg" not in f:
                self.problems.append(f"{at}.max_outpatient_mg: required (null where the label gives none)")
            outpatient = self.mg(f"{at}.max_outpatient_mg", f.get("max_outpatient_mg"))
            ceiling = self.mg(f"{at}.max_mg", f.get("max_mg"))
            if ceiling is not None and (outpatient is None or ceiling < outpatient):
                self.problems.append(f"{at}.max_mg: must be at least max_outpatient_mg")
            self.sourced(at, f, required=True)
            marketed = f.get("us_marketed", True)
            if not isinstance(marketed, bool):
                self.problems.append(f"{at}.us_marketed: must be true or false")
            out[code] = Formulation(code, outpatient, ceiling, f.get("note"), marketed is not False)
        return out

    def age_maxima(self, where: str, value, formulations: dict[str, Formulation]) -> tuple[AgeMaximum, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problems.append(f"{where}.age_maxima: must be a list")
            return ()
        out = []
        for j, a in enumerate(value):
            at = f"{where}.age_maxima[{j}]"
            if not isinstance(a, dict):
                self.problems.append(f"{at}: must be an object")
                continue
            unknown = set(a) - _AGE_KEYS
            if unknown:
                self.problems.append(f"{at}: unknown key(s) {sorted(unknown)}")
            min_age = a.get("min_age")
            if isinstance(min_age, bool) or not isinstance(min_age, int) or min_age < 0:
                self.problems.append(f"{at}.min_age: must be a whole number of years")
                continue
            cap = self.mg(f"{at}.max_mg", a.get("max_mg"), nullable=False)
            code = a.get("formulation")
            if code is not None and code not in formulations:
                self.problems.append(f"{at}.formulation: {code!r} is not among the drug's formulations")
                continue
            self.sourced(at, a, required=True)
            if cap is not None:
                out.append(AgeMaximum(min_age, cap, code))
        return tuple(out)

    def fda_mdd(self, where: str, value) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) - _FDA_KEYS or not isinstance(value.get("labelled"), bool):
            self.problems.append(f"{where}.fda_mdd: must be an object with labelled (true or false), year, source "
                                 f"and an optional note")
            return None
        year = value.get("year")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
            self.problems.append(f"{where}.fda_mdd.year: must be a year or null")
        source = value.get("source")
        if source is not None and source not in self.sources or source is None and value["labelled"]:
            self.problems.append(f"{where}.fda_mdd.source: {source!r} is not in sources")
        return value["labelled"]
