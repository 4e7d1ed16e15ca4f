"""What a use case refuses, in the service's own words; ``api`` turns each into its problem response.

The refusals (``ServiceError`` and its subclasses) are answers to the caller. ``DatabaseUnavailable``
and ``WriteConflict`` are raised by a unit of work: the first means "try again shortly", the second
is how a use case learns that a concurrent one stored the same thing first.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class of the use cases' refusals."""


class NotFound(ServiceError):
    """Nothing of the kind ``what`` (``"evaluation"``, ``"API key"``) has the id ``id``."""

    def __init__(self, what: str, id: str):
        super().__init__(f"no {what} has the id {id!r}")
        self.what, self.id = what, id


class Invalid(ServiceError):
    """The request is well formed but cannot be carried out as asked; ``errors`` maps JSON Pointers to messages."""

    def __init__(self, detail: str, errors: dict[str, list[str]], title: str = "Invalid request"):
        super().__init__(detail)
        self.detail, self.errors, self.title = detail, errors, title


class IdempotencyKeyReused(ServiceError):
    """The Idempotency-Key was first used with a different body."""

    def __init__(self):
        super().__init__("the Idempotency-Key was first used with a different body")


class ReviewConflict(ServiceError):
    """The review to amend is not the current one: ``current`` is its number (``None`` before the first review),
    ``amends`` the number the request named (``None``: it named none); ``policy`` the title of the policy whose
    review it is (``None``: the review of every result)."""

    def __init__(self, current: int | None, amends: int | None, policy: str | None = None):
        super().__init__(f"current review {current}, amends {amends}")
        self.current, self.amends, self.policy = current, amends, policy


class KeyNameTaken(ServiceError):
    """An unrevoked key already has this name (``key_id``): a second would pass for its holder in reviews."""

    def __init__(self, name: str, key_id: str):
        super().__init__(f"the unrevoked key {key_id} already has the name {name!r}")
        self.name, self.key_id = name, key_id


class ClinicalKeyRefused(ServiceError):
    """An admin asked for a key of a role that reads clinical data, and the deployment does not allow it."""

    def __init__(self, role: str):
        super().__init__(f"an admin may not make a {role} key here")
        self.role = role


class NotAuthenticated(ServiceError):
    """The key is unknown or revoked."""


class Forbidden(ServiceError):
    """A valid key whose role may not do this; the refusal is in the audit trail."""

    def __init__(self, role: str, allowed: tuple[str, ...]):
        super().__init__(f"role {role} is not one of {', '.join(allowed)}")
        self.role, self.allowed = role, allowed


class DatabaseUnavailable(Exception):
    """The database cannot be reached or is busy past its timeout; nothing was stored, and the request may be
    retried."""


class WriteConflict(Exception):
    """A uniqueness rule refused a write: a concurrent unit of work stored the same thing first. The unit of work
    must be rolled back before it is used again."""
