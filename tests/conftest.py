"""Shared fixtures: one loaded library per test session (policies register once per process)."""

from datetime import date

import pytest

from .support import AS_OF, shared_library


@pytest.fixture(scope="session")
def library():
    return shared_library()


@pytest.fixture(scope="session")
def evaluate(library):
    """Validate and evaluate a wire-format document; return the result of its first policy."""

    def run(document, policy="tms-clinical"):
        document = {"as_of": AS_OF, "policies": [policy], **document}
        submission = library.load(document, today=date.fromisoformat(document["as_of"]))
        return library.evaluate(submission).result(policy)

    return run
