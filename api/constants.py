"""The constants the API's modules share, in one place: media types, caching, the documented headers, the
command line's exit statuses, and the contract's words (the domain's enums and the service's vocabulary,
re-exported here for the schemas, views and commands)."""

from __future__ import annotations

import re

from eligibility.model import Determination, Kind, Status
from services.vocabulary import CHANNELS, DECISIONS, OUTCOMES, REVIEW_STATUSES, ROLES

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
FHIR_JSON = "application/fhir+json"
NO_STORE = "no-store"  # evaluations carry PHI: no cache may keep them

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")

# The contract's words.
DETERMINATIONS = tuple(d.value for d in Determination)
STATUSES = tuple(s.value for s in Status)
KINDS = tuple(k.value for k in Kind)
REASON_MAX = 4000  # characters of a review's reason

# Documented response headers.
LOCATION_HEADER = {"Location": {"description": "The evaluation's URL.", "schema": {"type": "string"}}}
NEXT_LINK_HEADER = {"Link": {"description": 'RFC 8288 `<...>; rel="next"` when there is a next page.',
                             "schema": {"type": "string"}}}

# The command line's exit statuses: success, a policy, engine or database failure, invalid input.
EXIT_OK, EXIT_FAILURE, EXIT_INVALID = 0, 1, 2

__all__ = [
    "CHANNELS", "DECISIONS", "DETERMINATIONS", "EXIT_FAILURE", "EXIT_INVALID", "EXIT_OK", "FHIR_JSON",
    "IDEMPOTENCY_KEY", "JSON",
    "KINDS", "LOCATION_HEADER", "NEXT_LINK_HEADER", "NO_STORE", "OUTCOMES", "PROBLEM_JSON", "REASON_MAX",
    "REVIEW_STATUSES", "ROLES", "STATUSES",
]
