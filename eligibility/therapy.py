"""Therapies: what a treatment brings to the submission, as data (``rules/therapies/<id>/<version>.json``).

A policy names the therapy it covers (``"therapy": "tms@1.1"``). The therapy's declaration says what a
request for it means when a field is absent (its defaults), which safety-screen fields its policies may
test, and, where it has any, how implants are read (which locations are within reach of the treatment,
which kinds are there by definition). Nothing about a particular therapy is written in Python: a new
therapy is a new declaration file and the policies that name it.

A policy file that names no therapy was written for contract v1 of TMS and is read with ``tms@1``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidPolicy

THERAPIES_DIR = "therapies"
LEGACY_THERAPY = "tms@1"  # what a policy file naming no therapy was written against
IMPLANT_KINDS = (
    "aneurysm_clip", "aneurysm_coil", "intracranial_stent", "shunt", "deep_brain_stimulator",
    "vagus_nerve_stimulator", "responsive_neurostimulator", "spinal_cord_stimulator", "other_neurostimulator",
    "cochlear_implant", "pacemaker", "defibrillator", "metal_fragment", "ocular_implant", "magnetic_dental_implant",
    "medication_pump", "other",
)
IMPLANT_LOCATIONS = ("head", "neck", "chest", "abdomen", "back", "limb")
_KEYS = {"$schema", "id", "version", "title", "short_title", "summary", "sources", "request", "safety", "implants"}
_REQUEST_KEYS = {"protocols", "defaults"}
_IMPLANT_KEYS = {"site", "site_locations", "kinds_at_site", "implied_locations", "groups", "sources"}


@dataclass(frozen=True)
class ImplantGroup:
    """Implants read together (neurostimulators, cochlear implants, other metal, cardiac devices): the kinds
    in the group and the v1 safety boolean that says the same thing, with the location it implies (if any)."""

    name: str
    title: str
    kinds: tuple[str, ...]
    boolean: str | None = None
    boolean_location: str | None = None
    contraindicated_at_site: bool = False  # the labels' absolute contraindication within reach of the treatment


@dataclass(frozen=True)
class ImplantRules:
    """How a therapy reads ``safety.implants``: ``site_locations`` are within reach of the treatment (the
    coil); ``kinds_at_site`` have a part there whatever location is given (a deep brain stimulator's
    generator sits in the chest, its electrodes in the brain); ``implied_locations`` give where a kind is
    when no location is given (a spinal cord stimulator: the back)."""

    site: str
    site_locations: frozenset[str]
    kinds_at_site: frozenset[str]
    implied_locations: Mapping[str, str]
    groups: tuple[ImplantGroup, ...]

    def location(self, kind: str, given: str | None) -> str | None:
        """Where an implant is: as given, else where its kind is by definition, else not known."""
        return given if given is not None else self.implied_locations.get(kind)

    def at_site(self, kind: str, given: str | None) -> bool | None:
        """Whether it is within reach of the treatment (``None``: its location is not known)."""
        if kind in self.kinds_at_site:
            return True
        where = self.location(kind, given)
        return None if where is None else where in self.site_locations


@dataclass(frozen=True)
class Therapy:
    """One therapy declaration: request defaults, safety fields and implant reading."""

    id: str
    version: str
    title: str
    short_title: str
    summary: str
    protocols: tuple[str, ...]
    request_defaults: Mapping[str, Any]
    safety_fields: Mapping[str, str]  # field -> what it screens for
    implants: ImplantRules | None = None
    sources: Mapping[str, dict] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


def load_therapy(path: Path) -> Therapy:
    """Read and check one declaration; raise ``InvalidPolicy`` listing every problem."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidPolicy(path, [f"cannot read as JSON: {exc}"]) from None
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise InvalidPolicy(path, ["a therapy declaration is a JSON object"])
    for key in sorted(set(doc) - _KEYS):
        problems.append(f"/{key}: unknown key")
    for key in ("id", "version", "title", "short_title", "summary"):
        if not isinstance(doc.get(key), str) or not doc.get(key):
            problems.append(f"/{key}: a non-empty string is required")
    if doc.get("id") != Path(path).parent.name or doc.get("version") != Path(path).stem:
        problems.append(f"/id, /version: must match the folder and file name ({Path(path).parent.name}, "
                        f"{Path(path).stem})")
    request = doc.get("request") or {}
    for key in sorted(set(request) - _REQUEST_KEYS):
        problems.append(f"/request/{key}: unknown key")
    protocols = request.get("protocols") or []
    if not protocols or not all(isinstance(p, str) and p for p in protocols):
        problems.append("/request/protocols: a non-empty list of protocol names is required")
    defaults = request.get("defaults") or {}
    for key in sorted(set(defaults) - {"protocol", "sessions"}):
        problems.append(f"/request/defaults/{key}: only protocol and sessions may have defaults")
    if "protocol" in defaults and defaults["protocol"] not in protocols:
        problems.append(f"/request/defaults/protocol: {defaults['protocol']!r} is not among the protocols")
    safety = doc.get("safety") or {}
    if not isinstance(safety, dict) or not all(isinstance(v, str) and v for v in safety.values()):
        problems.append("/safety: an object of field name -> what it screens for")
        safety = {}
    implants = None
    if "implants" in doc:
        implants = _implants(doc["implants"], set(safety), problems)
    if problems:
        raise InvalidPolicy(path, problems)
    return Therapy(doc["id"], doc["version"], doc["title"], doc["short_title"], doc["summary"], tuple(protocols),
                   dict(defaults), dict(safety), implants, doc.get("sources") or {})


def _implants(raw: dict, safety_fields: set[str], problems: list[str]) -> ImplantRules | None:
    for key in sorted(set(raw) - _IMPLANT_KEYS):
        problems.append(f"/implants/{key}: unknown key")
    locations = raw.get("site_locations") or []
    for where in locations:
        if where not in IMPLANT_LOCATIONS:
            problems.append(f"/implants/site_locations: {where!r} is not one of {list(IMPLANT_LOCATIONS)}")
    at_site = raw.get("kinds_at_site") or []
    for kind in at_site:
        if kind not in IMPLANT_KINDS:
            problems.append(f"/implants/kinds_at_site: {kind!r} is not an implant kind")
    implied = raw.get("implied_locations") or {}
    for kind, where in implied.items():
        if kind not in IMPLANT_KINDS or where not in IMPLANT_LOCATIONS:
            problems.append(f"/implants/implied_locations/{kind}: a known kind with a known location is required")
    groups, seen = [], set()
    for name, g in (raw.get("groups") or {}).items():
        where = f"/implants/groups/{name}"
        kinds = g.get("kinds") or []
        for kind in kinds:
            if kind not in IMPLANT_KINDS:
                problems.append(f"{where}: {kind!r} is not an implant kind")
        if seen & set(kinds):
            problems.append(f"{where}: kinds {sorted(seen & set(kinds))} are already in another group")
        seen |= set(kinds)
        boolean = g.get("boolean")
        if boolean is not None and boolean not in safety_fields:
            problems.append(f"{where}/boolean: {boolean!r} is not one of this therapy's safety fields")
        location = g.get("boolean_location")
        if location is not None and location not in IMPLANT_LOCATIONS:
            problems.append(f"{where}/boolean_location: {location!r} is not a location")
        for key in sorted(set(g) - {"title", "kinds", "boolean", "boolean_location", "contraindicated_at_site"}):
            problems.append(f"{where}/{key}: unknown key")
        groups.append(ImplantGroup(name, g.get("title") or name, tuple(kinds), boolean, location,
                                   g.get("contraindicated_at_site") is True))
    if not locations or not groups:
        problems.append("/implants: site_locations and groups are required")
        return None
    return ImplantRules(raw.get("site") or "the treatment site", frozenset(locations), frozenset(at_site),
                        dict(implied), tuple(groups))


def load_therapies(rules: Path) -> dict[str, Therapy]:
    """Every declaration under ``rules/therapies``, by ``<id>@<version>``."""
    therapies = {}
    for path in sorted((Path(rules) / THERAPIES_DIR).glob("*/*.json")):
        therapy = load_therapy(path)
        therapies[therapy.ref] = therapy
    return therapies
