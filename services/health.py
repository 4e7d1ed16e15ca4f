"""Readiness: the policies are loaded, and the database answers at the revision this code expects."""

from __future__ import annotations

from dataclasses import dataclass

from eligibility import Library

from .errors import DatabaseUnavailable
from .unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str

    def to_wire(self) -> dict:
        return {"ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Readiness:
    policies: Check
    database: Check

    @property
    def ready(self) -> bool:
        return self.policies.ok and self.database.ok

    def checks(self) -> dict:
        return {"policies": self.policies.to_wire(), "database": self.database.to_wire()}


def readiness(uow: UnitOfWork, library: Library, expected_revision: str) -> Readiness:
    """Whether the service can answer: policies loaded, and the store reachable and migrated."""
    policies = Check(bool(library.policies), ", ".join(f"{p.id}@{p.version}" for p in library.policies.values()))
    try:
        with uow:
            revision = uow.revision()
    except DatabaseUnavailable as exc:
        return Readiness(policies, Check(False, f"unreachable ({exc})"))
    detail = f"at revision {revision}"
    if revision != expected_revision:
        detail += f"; this code needs {expected_revision}: run `tms-eligibility db upgrade`"
    return Readiness(policies, Check(revision == expected_revision, detail))
