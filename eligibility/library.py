"""The library: the drug catalogue and every policy of a rules directory, loaded, checked and registered.

This is the only file I/O of the domain. ``load_library`` reads ``rules/drugs.json`` and every
``rules/<policy-id>/<version>.json``, refuses to return anything if a single file is wrong,
and registers each policy's ruleset with the engine. Evaluating is then a pure function of the
submission and the loaded policies.
"""

from __future__ import annotations

import os
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
from .schemas import SubmissionSchema, load_submission

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
DEFAULT_POLICIES = ("tms-clinical",)


def rules_dir() -> Path:
    """The rules directory: ``$TMS_RULES_DIR`` if set, else the ``rules/`` beside the package."""
    return Path(os.environ.get("TMS_RULES_DIR") or DEFAULT_RULES_DIR)


@dataclass(repr=False)
class Library:
    """Loaded policies (the latest version of each id) and the catalogue they share."""

    catalogue: Catalogue
    policies: dict[str, Policy]
    versions: dict[str, list[Policy]]
    default_policies: tuple[str, ...] = DEFAULT_POLICIES
    _rulesets: dict[str, engine.Ruleset] = field(default_factory=dict, repr=False)
    _schemas: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"<Library {', '.join(p.ruleset_name for p in self.policies.values())}>"

    def policy(self, policy_id: str) -> Policy:
        try:
            return self.policies[policy_id]
        except KeyError:
            raise UnknownPolicy(policy_id) from None

    def schema(self, today: date | None = None) -> SubmissionSchema:
        """A submission schema that knows this library's drugs and policy ids (built once per ``today``)."""
        schema = self._schemas.get(today)
        if schema is None:
            schema = self._schemas[today] = SubmissionSchema(catalogue=self.catalogue, policy_ids=self.policies,
                                                             today=today)
        return schema

    def load(self, document, today: date | None = None) -> Submission:
        """Validate a parsed submission; raise ``InvalidSubmission`` listing every problem."""
        return load_submission(document, self.schema(today))

    def evaluate(self, submission: Submission) -> Evaluation:
        """Evaluate ``submission`` against the policies it names (or the defaults), in its order."""
        ids = submission.policies or self.default_policies
        results = tuple(evaluate_policy(submission, self.policy(pid), self._rulesets[pid].fire, self.catalogue)
                        for pid in ids)
        return Evaluation(as_of=submission.as_of, reference=submission.reference, results=results,
                          warnings=warnings(submission, self.known_codes))

    def ruleset(self, policy_id: str) -> engine.Ruleset:
        return self._rulesets[policy_id]

    @cached_property
    def known_codes(self) -> tuple:
        """Every diagnosis code set some loaded policy reads."""
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
    return sorted(p for p in Path(directory).glob("*/*.json") if p.is_file())


def load_library(directory: Path | None = None, default_policies=DEFAULT_POLICIES) -> Library:
    """Load and register everything under ``directory``; raise ``InvalidPolicy`` on the first bad file."""
    directory = Path(directory or rules_dir())
    if not (directory / "drugs.json").is_file():
        raise InvalidPolicy(directory, ["no rules here (drugs.json and <policy-id>/<version>.json files); set "
                                        "TMS_RULES_DIR to the project's rules/ folder"])
    catalogue = load_catalogue(directory / "drugs.json")
    versions: dict[str, list[Policy]] = {}
    for path in policy_files(directory):
        policy = load_policy(path)
        if policy.id != path.parent.name or policy.version != path.stem:
            raise InvalidPolicy(path, [f"id and version ({policy.id}, {policy.version}) must match the file's "
                                       f"folder and name ({path.parent.name}, {path.stem})"])
        versions.setdefault(policy.id, []).append(policy)
    if not versions:
        raise InvalidPolicy(directory, ["no policy files (<policy-id>/<version>.json)"])
    latest = {pid: max(vs, key=lambda p: p.effective_date) for pid, vs in versions.items()}
    missing = [pid for pid in default_policies if pid not in latest]
    if missing:
        raise InvalidPolicy(directory, [f"default policy {pid!r} has no file" for pid in missing])
    library = Library(catalogue, latest, versions, tuple(default_policies))
    for pid, policy in latest.items():
        library._rulesets[pid] = engine.register(policy.ruleset_name, policy.ruleset)
    return library
