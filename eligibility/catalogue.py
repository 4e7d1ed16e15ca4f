"""The drug catalogue: resolves a trial's drug by generic name or RxNorm ingredient RxCUI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidPolicy
from .model import Drug

_DRUG_KEYS = {
    "name", "aliases", "rxcui", "rxcui_status", "rxcui_source", "class", "category",
    "min_adequate_mg", "min_adequate_source", "min_adequate_status",
    "max_labelled_mg", "max_labelled_source", "max_labelled_status", "note",
}
_STATUSES = {"confirmed", "unconfirmed"}


@dataclass(frozen=True)
class Catalogue:
    """Drugs by lower-case name (aliases included) and by RxCUI, plus the file's metadata."""

    version: str
    classes: dict[str, dict]
    sources: dict[str, dict]
    entries: dict[str, dict]  # name -> the file's entry, for display and provenance
    by_name: dict[str, Drug]
    by_rxcui: dict[str, Drug]

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
    """Read and check the catalogue file; raise ``InvalidPolicy`` naming each bad field."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidPolicy(path, [f"cannot read: {exc}"]) from None
    problems: list[str] = []
    classes = doc.get("classes") or {}
    sources = doc.get("sources") or {}
    by_name: dict[str, Drug] = {}
    by_rxcui: dict[str, Drug] = {}
    entries: dict[str, dict] = {}
    for i, entry in enumerate(doc.get("drugs") or []):
        where = f"drugs[{i}]"
        unknown = set(entry) - _DRUG_KEYS
        if unknown:
            problems.append(f"{where}: unknown key(s) {sorted(unknown)}")
        name = entry.get("name")
        if not isinstance(name, str) or not name or name != name.lower():
            problems.append(f"{where}.name: a lower-case generic name is required")
            continue
        if entry.get("class") not in classes:
            problems.append(f"{where}.class: {entry.get('class')!r} is not in classes")
            continue
        for field in ("rxcui", "min_adequate", "max_labelled"):
            key = field if field == "rxcui" else f"{field}_mg"
            if entry.get(key) is not None and entry.get(f"{field}_source") not in sources:
                problems.append(f"{where}.{field}_source: {entry.get(f'{field}_source')!r} is not in sources")
            if entry.get(f"{field}_status") not in _STATUSES:
                problems.append(f"{where}.{field}_status: must be one of {sorted(_STATUSES)}")
        drug = Drug(
            name=name,
            rxcui=entry.get("rxcui"),
            drug_class=entry["class"],
            category=classes[entry["class"]].get("category", entry.get("category")),
            min_adequate_mg=entry.get("min_adequate_mg"),
            max_labelled_mg=entry.get("max_labelled_mg"),
        )
        for key in [name, *entry.get("aliases", [])]:
            if key in by_name:
                problems.append(f"{where}: name or alias {key!r} appears twice")
            by_name[key] = drug
        if drug.rxcui:
            if drug.rxcui in by_rxcui:
                problems.append(f"{where}.rxcui: {drug.rxcui} appears twice")
            by_rxcui[drug.rxcui] = drug
        entries[name] = entry
    if not by_name:
        problems.append("drugs: the catalogue lists no drug")
    if problems:
        raise InvalidPolicy(path, problems)
    return Catalogue(doc.get("version", ""), classes, sources, entries, by_name, by_rxcui)
