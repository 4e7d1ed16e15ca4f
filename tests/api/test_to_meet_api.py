"""``to_meet`` through the API: a referral posted under every policy; each suggested change, applied to the
posted document as the client reads it (``edits``) and posted again, makes its criterion met."""

from __future__ import annotations

import json

from eligibility.changes import apply_edits

from .conftest import example, post


def test_each_change_posted_again_makes_its_criterion_met(app, client):
    library = app.extensions["tms-eligibility"].library
    document = {**json.loads(example("incomplete-referral")), "policies": list(library.policies)}
    response = post(client, document)
    assert response.status_code == 201, response.get_data(as_text=True)
    tried = 0
    for result in response.get_json()["results"]:
        for criterion in result["criteria"]:
            if criterion["status"] == "met":
                assert "to_meet" not in criterion
                continue
            for change in criterion["to_meet"]:
                assert change["text"] and change["pointers"]
                again = post(client, {**apply_edits(document, change["edits"]),
                                      "policies": [result["policy"]["id"]]})
                assert again.status_code == 201, again.get_data(as_text=True)
                after = next(c for c in again.get_json()["results"][0]["criteria"] if c["id"] == criterion["id"])
                assert after["status"] == "met", (result["policy"]["id"], criterion["id"], change["text"])
                tried += 1
    assert tried >= 10
