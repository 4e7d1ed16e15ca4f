"""The library: every drug catalogue, therapy and policy version of a rules directory, loaded and checked.

``load_library`` reads ``rules/catalogue/<version>.json``, ``rules/therapies/<id>/<version>.json``
and every ``rules/<policy-id>/<version>.json``, refuses to return anything if a single file is wrong,
and registers every policy version's ruleset with the engine. Reading these files is the domain's only
file I/O; it happens once, at start-up, in the loaders called from here (``catalogue.load_catalogue``,
``therapy.load_therapy``, ``policy.load_policy``, which also reads ``rules/policy.schema.json``).
Evaluating is then a pure function of the submission and the loaded policies.

Every version stays loaded: an evaluation stored under an earlier version can be checked against the
file that decided it, and that file's own cases still run. New evaluations use each policy's current
version: the one with the latest effective date that no other version supersedes. A policy reads the
catalogue it names (a file naming none reads the first catalogue, the one it was written against).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

from . import engine
from .catalogue import Catalogue, load_catalogue
from .errors import InvalidPolicy, UnknownPolicy
from .evaluation import evaluate_policy
from .model import Submission
from .policy import Policy, load_policy
from .results import Evaluation, Warning
from .schemas import SubmissionSchema, load_submission, submission_schema
from .therapy import THERAPIES_DIR, Therapy, load_therapies

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
DEFAULT_POLICIES = ("tms-clinical",)
CATALOGUE_DIR = "catalogue"
NOT_POLICIES = frozenset({CATALOGUE_DIR, THERAPIES_DIR})  # folders of rules/ that hold no policy


def rules_dir() -> Path:
    """The rules directory: ``$TMS_RULES_DIR`` if set, else the ``rules/`` beside the package."""
    return Path(os.environ.get("TMS_RULES_DIR") or DEFAULT_RULES_DIR)


@dataclass(repr=False)
class Library:
    """Loaded catalogues, therapies and policies; ``policies`` holds the current version of each id."""

    catalogues: dict[str, Catalogue]  # by version, oldest first
    therapies: dict[str, Therapy]  # by <id>@<version>
    policies: dict[str, Policy]
    versions: dict[str, list[Policy]]  # every version of each id, oldest first
    default_policies: tuple[str, ...] = DEFAULT_POLICIES
    _rulesets: dict[str, engine.Ruleset] = field(default_factory=dict, repr=False)
    _schemas: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"<Library {', '.join(p.ruleset_name for p in self.policies.values())}>"

    @property
    def catalogue(self) -> Catalogue:
        """The newest catalogue: the one submissions are read with."""
        return next(reversed(self.catalogues.values()))

    def catalogue_of(self, policy: Policy) -> Catalogue:
        return self.catalogues[policy.catalogue_version or next(iter(self.catalogues))]

    def policy(self, policy_id: str, version: str | None = None) -> Policy:
        """The current version of ``policy_id``, or the named ``version`` of it."""
        if version is None:
            try:
                return self.policies[policy_id]
            except KeyError:
                raise UnknownPolicy(policy_id) from None
        found = next((p for p in self.versions.get(policy_id, ()) if p.version == version), None)
        if found is None:
            raise UnknownPolicy(f"{policy_id}@{version}")
        return found

    def schema(self, today: date | None = None) -> SubmissionSchema:
        """A submission schema that knows this library's drugs, therapies and policy ids (built once per ``today``)."""
        schema = self._schemas.get(today)
        if schema is None:
            schema = self._schemas[today] = submission_schema(self.therapies.values(), catalogue=self.catalogue,
                                                              policy_ids=self.policies, today=today)
        return schema

    def load(self, document, today: date | None = None) -> Submission:
        """Validate a parsed submission; raise ``InvalidSubmission`` listing every problem."""
        return load_submission(document, self.schema(today))

    def evaluate(self, submission: Submission, versions: Mapping[str, str] | None = None) -> Evaluation:
        """Evaluate ``submission`` against the policies it names (or the defaults), in its order, each at its
        current version unless ``versions`` pins one (policy id -> version: to check an earlier file)."""
        ids = submission.policies or self.default_policies
        results = []
        for pid in ids:
            policy = self.policy(pid, (versions or {}).get(pid))
            results.append(evaluate_policy(submission, policy, self._rulesets[policy.ruleset_name].fire,
                                           self.catalogue_of(policy)))
        return Evaluation(as_of=submission.as_of, reference=submission.reference, results=tuple(results),
                          warnings=warnings(submission, self.known_codes))

    def ruleset(self, policy: Policy | str) -> engine.Ruleset:
        """The registered ruleset of ``policy`` (a policy id means its current version)."""
        policy = self.policy(policy) if isinstance(policy, str) else policy
        return self._rulesets[policy.ruleset_name]

    @cached_property
    def known_codes(self) -> tuple:
        """Every diagnosis code set some current policy reads."""
        return tuple(code_set for p in self.policies.values() for code_set in p.facts.diagnosis_sets.values())


def warnings(sub: Submission, known_codes=()) -> tuple[Warning, ...]:
    """What the engine kept but could not use: drugs the catalogue does not know, and diagnosis
    codes no policy reads (well-formed, so kept, but they cannot change any criterion)."""
    out = []
    for d in sub.diagnoses or ():
        if not any(d.code in code_set for code_set in known_codes):
            out.append(Warning(f"/diagnoses/{d.index}/code",
                               f"{d.code} is not a code any loaded policy reads; it was kept, and it changes no "
                               "criterion (only major depressive, bipolar and psychotic disorder codes do)."))
    for t in sub.medication_trials or ():
        if t.drug is None:
            field = "drug" if t.given_name else "rxnorm"
            out.append(Warning(f"/medication_trials/{t.index}/{field}",
                               f"{t.label} is not in the drug catalogue; the trial was kept but cannot count "
                               "toward any criterion."))
    return tuple(out)


def policy_files(directory: Path) -> list[Path]:
    """Every ``<policy-id>/<version>.json`` under ``directory``, in a stable order."""
    return sorted(p for p in Path(directory).glob("*/*.json") if p.is_file() and p.parent.name not in NOT_POLICIES)


def catalogue_files(directory: Path) -> list[Path]:
    """Every catalogue version, oldest first (versions are dates)."""
    return sorted((Path(directory) / CATALOGUE_DIR).glob("*.json"), key=lambda p: p.stem)


def current_versions(versions: dict[str, list[Policy]], where: Path) -> dict[str, Policy]:
    """Each id's current version: the latest effective date that no other version supersedes."""
    current = {}
    for pid, found in versions.items():
        known = {p.version for p in found}
        problems = [f"{p.path}: supersedes {p.supersedes!r}, which is not a version of {pid}"
                    for p in found if p.supersedes is not None and p.supersedes not in known]
        superseded = {p.supersedes for p in found}
        live = [p for p in found if p.version not in superseded]
        newest = max(p.effective_date for p in live)
        tied = [p for p in live if p.effective_date == newest]
        if len(tied) > 1:
            problems.append(f"{pid}: versions {[p.version for p in tied]} share the effective date {newest} and "
                            "none supersedes the other; a corrected reading names the version it corrects")
        if problems:
            raise InvalidPolicy(where, problems)
        current[pid] = tied[0]
    return current


def load_library(directory: Path | None = None, default_policies=DEFAULT_POLICIES) -> Library:
    """Load and register everything under ``directory``; raise ``InvalidPolicy`` on the first bad file."""
    directory = Path(directory or rules_dir())
    catalogues = {}
    for path in catalogue_files(directory):
        catalogue = load_catalogue(path)
        if catalogue.version != path.stem:
            raise InvalidPolicy(path, [f"version {catalogue.version!r} must match the file's name ({path.stem})"])
        catalogues[catalogue.version] = catalogue
    if not catalogues:
        raise InvalidPolicy(directory, ["no rules here (catalogue/<version>.json, therapies/ and "
                                        "<policy-id>/<version>.json files); set TMS_RULES_DIR to the project's "
                                        "rules/ folder"])
    therapies = load_therapies(directory)
    versions: dict[str, list[Policy]] = {}
    for path in policy_files(directory):
        policy = load_policy(path, therapies)
        if policy.id != path.parent.name or policy.version != path.stem:
            raise InvalidPolicy(path, [f"id and version ({policy.id}, {policy.version}) must match the file's "
                                       f"folder and name ({path.parent.name}, {path.stem})"])
        if policy.catalogue_version is not None and policy.catalogue_version not in catalogues:
            raise InvalidPolicy(path, [f"/catalogue: no catalogue version {policy.catalogue_version!r} "
                                       f"(rules/catalogue holds {list(catalogues)})"])
        versions.setdefault(policy.id, []).append(policy)
    if not versions:
        raise InvalidPolicy(directory, ["no policy files (<policy-id>/<version>.json)"])
    for found in versions.values():
        found.sort(key=lambda p: (p.effective_date, p.supersedes is not None, p.version))
    current = current_versions(versions, directory)
    missing = [pid for pid in default_policies if pid not in current]
    if missing:
        raise InvalidPolicy(directory, [f"default policy {pid!r} has no file" for pid in missing])
    library = Library(catalogues, therapies, current, versions, tuple(default_policies))
    for found in versions.values():
        for policy in found:
            library._rulesets[policy.ruleset_name] = engine.register(policy.ruleset_name, policy.ruleset)
    return library
