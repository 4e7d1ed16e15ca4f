"""Shared fixtures and helpers: one loaded library per test session (policies register once per process), and a
free port for the tests that serve the API."""

import socket
from datetime import date

import pytest

from .support import AS_OF, shared_library


@pytest.fixture(scope="session")
def library():
    return shared_library()


@pytest.fixture(scope="session")
def evaluate(library):
    """Validate and evaluate a wire-format document; return its first policy's result as the contract's object."""

    def run(document, policy="tms-clinical"):
        document = {"as_of": AS_OF, "policies": [policy], **document}
        submission = library.load(document, today=date.fromisoformat(document["as_of"]))
        return library.evaluate(submission).result(policy).to_wire()

    return run


def free_port() -> int:
    """A loopback port nothing listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
