"""Per-policy reviews: a decision per payer (``policy``), with the documentation requirements attested, one
current review per policy (409 unless amended), and an identical request sent again recorded once."""

from __future__ import annotations

import json

import sqlalchemy as sa

from storage.tables import reviews

from .conftest import assert_problem, authorised, example, post, review

SEVEN = ["tms-clinical", "aetna-cpb-0469", "bcbsa-mp-170", "cigna-0383", "cms-lcd-l34522", "optum-bh-tms",
         "centene-cp-bh-200"]


def seven_policy_evaluation(client) -> dict:
    document = json.loads(example("classic-trd"))
    document["policies"] = SEVEN
    created = post(client, document)
    assert created.status_code == 201, created.get_data(as_text=True)
    return created.get_json()


def _result(evaluation: dict, policy: str) -> dict:
    return next(r for r in evaluation["results"] if r["policy"]["id"] == policy)


def _stored_reviews(app) -> int:
    with app.extensions["tms-eligibility"].database.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(reviews)).scalar()


def test_a_policy_review_concerns_that_result_alone_and_the_get_shows_each_policys_state(app, client, clinician,
                                                                                         admin):
    evaluation = seven_policy_evaluation(client)
    evaluation_id = evaluation["id"]
    aetna = _result(evaluation, "aetna-cpb-0469")
    requirements = [d["id"] for d in aetna["documentation_requirements"]]
    assert len(requirements) >= 2
    recorded = review(clinician, evaluation_id, decision="accept", policy="aetna-cpb-0469",
                      attested=requirements[:2])
    assert recorded.status_code == 201, recorded.get_data(as_text=True)
    shown = recorded.get_json()
    assert shown["status"] == "accepted" and "number" not in shown  # no review of every result
    states = {p["policy"]: p for p in shown["policies"]}
    assert list(states) == SEVEN
    assert states["aetna-cpb-0469"]["status"] == "accepted"
    assert states["aetna-cpb-0469"]["determination"] == aetna["determination"]
    assert states["aetna-cpb-0469"]["attested"] == requirements[:2]
    assert states["aetna-cpb-0469"]["number"] == 1
    assert all(states[p] == {"policy": p, "status": "pending"} for p in SEVEN if p != "aetna-cpb-0469")

    fetched = client.get(f"/v1/evaluations/{evaluation_id}").get_json()
    assert fetched["review"] == shown and fetched["results"] == evaluation["results"]

    # Another policy has its own review; an override of one policy's result needs only to differ from it.
    cigna = _result(evaluation, "cigna-0383")
    other = "contraindicated" if cigna["determination"] != "contraindicated" else "meets_criteria"
    second = review(clinician, evaluation_id, decision="override", policy="cigna-0383", determination=other,
                    reason="The device record was found on review.")
    assert second.status_code == 201, second.get_data(as_text=True)
    body = second.get_json()
    assert body["status"] == "overridden"
    assert [(p["policy"], p["status"]) for p in body["policies"]][:4] == [
        ("tms-clinical", "pending"), ("aetna-cpb-0469", "accepted"), ("bcbsa-mp-170", "pending"),
        ("cigna-0383", "overridden")]
    assert next(p for p in body["policies"] if p["policy"] == "cigna-0383")["number"] == 2
    queue = clinician.get("/v1/evaluations?review_status=overridden&limit=5").get_json()
    assert [item["id"] for item in queue["items"]] == [evaluation_id]
    states = {p["policy"]: p for p in queue["items"][0]["review"]["policies"]}
    assert list(states) == SEVEN and states["tms-clinical"] == {"policy": "tms-clinical", "status": "pending"}
    assert states["aetna-cpb-0469"] == {"policy": "aetna-cpb-0469", "status": "accepted",
                                        "determination": aetna["determination"]}
    assert states["cigna-0383"] == {"policy": "cigna-0383", "status": "overridden", "determination": other}
    assert _stored_reviews(app) == 2

    # The audit trail names the reviewed policy's rules and the review's number, never the reason.
    trail = admin.get(f"/v1/audit?evaluation_id={evaluation_id}&action=evaluation.review").get_json()["items"]
    assert [(r["review_number"], [p["id"] for p in r["policies"]]) for r in reversed(trail)] == [
        (1, ["aetna-cpb-0469"]), (2, ["cigna-0383"])]
    assert "device record" not in json.dumps(trail)


def test_a_second_review_of_a_policy_is_409_unless_it_amends_and_the_earlier_stays(client, clinician):
    evaluation_id = seven_policy_evaluation(client)["id"]
    assert review(clinician, evaluation_id, decision="accept", policy="tms-clinical").status_code == 201
    conflict = assert_problem(review(clinician, evaluation_id, decision="accept", policy="tms-clinical",
                                     reason="Checked twice."), 409)
    assert conflict["current_review"] == 1 and "clinical default criteria" in conflict["detail"]
    stale = assert_problem(review(clinician, evaluation_id, decision="accept", policy="tms-clinical",
                                  reason="x", amends=7), 409)
    assert stale["current_review"] == 1
    # another policy, and every result, are other scopes: each has no review yet
    assert review(clinician, evaluation_id, decision="accept", policy="optum-bh-tms").status_code == 201
    amended = review(clinician, evaluation_id, decision="override", policy="tms-clinical",
                     determination="insufficient_information", reason="Adherence is not documented.", amends=1)
    assert amended.status_code == 201, amended.get_data(as_text=True)
    clinical = amended.get_json()["policies"][0]
    assert (clinical["status"], clinical["number"], [e["number"] for e in clinical["earlier"]]) == (
        "overridden", 3, [1])
    assert clinical["earlier"][0]["policy"] == "tms-clinical"
    # amending a policy needs that policy's current review's number, not another's
    assert assert_problem(review(clinician, evaluation_id, decision="accept", policy="tms-clinical",
                                 reason="Back again.", amends=2), 409)["current_review"] == 3


def test_an_unknown_policy_or_attestation_is_422_in_plain_words_and_stores_nothing(app, client, clinician):
    evaluation = seven_policy_evaluation(client)
    evaluation_id = evaluation["id"]
    problem = assert_problem(review(clinician, evaluation_id, decision="accept", policy="humana-tms"), 422)
    assert list(problem["errors"]) == ["/policy"]
    assert "humana-tms" in problem["detail"] and _result(evaluation, "aetna-cpb-0469")["policy"]["title"] in (
        problem["detail"])
    problem = assert_problem(review(clinician, evaluation_id, decision="accept", policy="aetna-cpb-0469",
                                    attested=["face-to-face-evaluation-x"]), 422)
    assert list(problem["errors"]) == ["/attested"] and "face-to-face-evaluation-x" in problem["detail"]
    problem = assert_problem(review(clinician, evaluation_id, decision="accept",
                                    attested=["face-to-face-evaluation"]), 422)
    assert list(problem["errors"]) == ["/attested"]  # attestations belong to a policy
    assert_problem(review(clinician, evaluation_id, decision="accept", policy="aetna-cpb-0469",
                          attested="face-to-face-evaluation"), 422)
    assert_problem(review(clinician, evaluation_id, decision="accept", policy=""), 422)
    differing = assert_problem(review(clinician, evaluation_id, decision="accept"), 422)
    assert "_" not in differing["detail"].split("(")[1]  # determinations in words, not enum ids
    assert _stored_reviews(app) == 0
    assert client.get(f"/v1/evaluations/{evaluation_id}").get_json()["review"] == {"status": "pending"}


def test_an_identical_request_sent_again_records_nothing_and_answers_the_review_as_it_is(app, client, clinician):
    evaluation = seven_policy_evaluation(client)
    evaluation_id = evaluation["id"]
    requirements = [d["id"] for d in _result(evaluation, "cms-lcd-l34522")["documentation_requirements"]]
    document = {"decision": "accept", "policy": "cms-lcd-l34522", "attested": requirements[:2]}
    first = review(clinician, evaluation_id, **document)
    again = review(clinician, evaluation_id, **document)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json() and _stored_reviews(app) == 1
    # an amendment sent twice is recorded once
    amend = {**document, "attested": requirements[:1], "reason": "One document is not on file.", "amends": 1}
    assert review(clinician, evaluation_id, **amend).status_code == 201
    assert review(clinician, evaluation_id, **amend).status_code == 200
    assert _stored_reviews(app) == 2
    # not identical: another body (409), or the same body from another clinician (409)
    assert_problem(review(clinician, evaluation_id, **{**amend, "attested": requirements[:2]}), 409)
    assert_problem(review(authorised(app, "clinician", None), evaluation_id, **amend), 409)
    assert _stored_reviews(app) == 2
