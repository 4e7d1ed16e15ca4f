"""The log: one JSON line per request, and never a value of the submission (it is PHI)."""

from __future__ import annotations

import io
import json
import logging

from .conftest import authorised, example, post


def _values(node):
    """Every string value in ``node`` (not the keys: field names are not PHI)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _values(value)
    elif isinstance(node, list):
        for value in node:
            yield from _values(value)
    elif isinstance(node, str):
        yield node


def test_a_full_request_logs_its_facts_and_none_of_the_submission(app):
    submission = json.loads(example("classic-trd"))
    submission["patient"].update({"birth_date": "1982-03-14", "age": 44})
    submission["reference"] = "referral-PHI-canary"
    submission["medication_trials"][0]["side_effects"] = ["nausea-canary"]
    submission["diagnoses"][0]["description"] = "free text canary Jane Doe"
    sensitive = {s for s in _values({k: v for k, v in submission.items() if k != "policies"})
                 if len(s) >= 4 and s not in _ENUM_VALUES}
    assert {"1982-03-14", "referral-PHI-canary", "nausea-canary", "free text canary Jane Doe", "sertraline",
            "2025-08-01", "F33.2"} <= sensitive

    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logging.getLogger("api").handlers[0].formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    logging.getLogger("api").addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        client = authorised(app, "intake")
        created = post(client, json.dumps(submission), **{"X-Request-Id": "log-test"})
        client.get(created.headers["Location"])
        post(client, example("invalid"))
        clinician = authorised(app, "clinician")
        clinician.post(created.headers["Location"] + "/review", json={
            "decision": "override", "determination": "insufficient_information",
            "reason": "review reason canary: patient Jane Doe"})
    finally:
        root.removeHandler(handler)
        logging.getLogger("api").removeHandler(handler)
        root.setLevel(old_level)

    text = captured.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    requests = [line for line in lines if line["message"] == "request"]
    assert [(r["method"], r["route"], r["status"]) for r in requests] == [
        ("POST", "/v1/evaluations", 201), ("GET", "/v1/evaluations/<evaluation_id>", 200),
        ("POST", "/v1/evaluations", 422), ("POST", "/v1/evaluations/<evaluation_id>/review", 201)]
    assert "review reason canary" not in text and client.key not in text and clinician.key not in text
    first = requests[0]
    assert first["request_id"] == "log-test" and first["evaluation_id"] == created.get_json()["id"]
    assert first["outcomes"] == {"tms-clinical": "meets_criteria"} and first["duration_ms"] > 0
    leaked = sorted(s for s in sensitive if s in text)
    assert not leaked, f"the log holds submission values: {leaked}"


# Contract enum values: words, not data about the patient, and some may be in a log for other reasons.
_ENUM_VALUES = {"female", "severe", "current", "monotherapy", "augmentation", "no_response", "partial_response",
                "initial", "psychiatrist", "rtms_10hz", "phq-9"}
