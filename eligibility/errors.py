"""The package's exceptions; each maps to one kind of failure a caller can act on."""


class EligibilityError(Exception):
    """Base class for every error raised by the eligibility package."""


class InvalidSubmission(EligibilityError):
    """The submission breaks the contract; ``errors`` maps JSON Pointers to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(f"{len(errors)} invalid field(s): " + ", ".join(sorted(errors)))


class InvalidPolicy(EligibilityError):
    """A policy or catalogue file is malformed; the message names the file and the field."""

    def __init__(self, path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems))


class UnknownPolicy(EligibilityError):
    """No policy has the requested id."""

    def __init__(self, policy_id: str):
        self.policy_id = policy_id
        super().__init__(f"unknown policy {policy_id!r}")


class EngineError(EligibilityError):
    """The rules engine failed or disagreed with itself; the evaluation has no result."""
