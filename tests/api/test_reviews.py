"""Reviews: accept and override, one review per evaluation unless amended, and results bytes that never change."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from storage.tables import evaluations

from .conftest import assert_problem, authorised, example, post, principal, review

PENDING = b'"review":{"status":"pending"}'


def _around_review(body: bytes) -> tuple[bytes, bytes]:
    """The bytes before and after the top-level review member."""
    head, _, rest = body.partition(b',"review":')
    assert rest.count(b',"warnings":') == 1
    return head, rest[rest.index(b',"warnings":'):]


def test_an_override_shows_in_get_and_every_other_byte_stays_as_created(app, client, clinician):
    created = post(client, example("classic-trd"))
    evaluation_id = created.get_json()["id"]
    assert PENDING in created.get_data()
    recorded = review(clinician, evaluation_id, decision="override", determination="insufficient_information",
                      reason="  Adherence to venlafaxine is not documented.  ")
    assert recorded.status_code == 201, recorded.get_data(as_text=True)
    assert recorded.headers["Location"] == f"/v1/evaluations/{evaluation_id}"
    shown = recorded.get_json()
    assert shown["status"] == "overridden" and shown["number"] == 1 and shown["decision"] == "override"
    assert shown["determination"] == "insufficient_information"
    assert shown["reason"] == "Adherence to venlafaxine is not documented."
    key_id = principal(app, clinician.key).key_id
    assert shown["reviewer"] == {"key_id": key_id, "name": "test clinician", "role": "clinician"}
    assert shown["reviewed_at"].endswith("Z") and "earlier" not in shown

    fetched = client.get(f"/v1/evaluations/{evaluation_id}")
    assert fetched.get_json()["review"] == shown
    assert _around_review(fetched.get_data()) == _around_review(created.get_data())
    assert fetched.get_json()["results"] == created.get_json()["results"]
    with app.extensions["tms-eligibility"].database.engine.connect() as conn:
        stored = conn.execute(sa.select(evaluations.c.result, evaluations.c.review_status)
                              .where(evaluations.c.id == evaluation_id)).one()
    assert stored.result == created.get_data(as_text=True) and stored.review_status == "overridden"


def test_a_second_review_is_409_and_an_amendment_keeps_the_earlier_one(app, client, clinician):
    created = post(client, example("classic-trd"))
    evaluation_id = created.get_json()["id"]
    assert review(clinician, evaluation_id, decision="accept").get_json()["determination"] == "meets_criteria"
    repeated = review(clinician, evaluation_id, decision="accept")  # the same request again: nothing recorded
    assert repeated.status_code == 200 and repeated.get_json()["number"] == 1 and "earlier" not in repeated.get_json()
    again = assert_problem(review(clinician, evaluation_id, decision="accept", reason="Agreed."), 409)
    assert again["current_review"] == 1 and '"amends": 1' in again["detail"]
    stale = assert_problem(review(clinician, evaluation_id, decision="accept", amends=2, reason="x"), 409)
    assert stale["current_review"] == 1
    assert_problem(review(clinician, evaluation_id, decision="override", determination="contraindicated",
                          amends=1), 422)  # an amendment needs a reason

    other = authorised(app, "clinician", None)
    amended = review(other, evaluation_id, decision="override", determination="does_not_meet_criteria",
                     reason="A cardiac device was found on review.", amends=1)
    assert amended.status_code == 201
    body = amended.get_json()
    assert (body["status"], body["number"]) == ("overridden", 2)
    assert [e["number"] for e in body["earlier"]] == [1]
    assert body["earlier"][0]["decision"] == "accept" and body["earlier"][0]["reason"] is None
    assert body["reviewer"]["key_id"] != body["earlier"][0]["reviewer"]["key_id"]
    third = review(clinician, evaluation_id, decision="accept", reason="The device is MR-conditional; fine.",
                   amends=2)
    assert [e["number"] for e in third.get_json()["earlier"]] == [1, 2]
    fetched = client.get(f"/v1/evaluations/{evaluation_id}")
    assert fetched.get_json()["review"]["status"] == "accepted"
    assert _around_review(fetched.get_data()) == _around_review(created.get_data())


def test_amending_an_unreviewed_evaluation_is_409(client, clinician):
    evaluation_id = post(client, example("classic-trd")).get_json()["id"]
    body = assert_problem(review(clinician, evaluation_id, decision="accept", amends=1, reason="x"), 409)
    assert body["current_review"] is None


@pytest.mark.parametrize(("document", "pointers"), [
    ({}, ["/decision"]),
    ({"decision": "maybe"}, ["/decision"]),
    ({"decision": "override"}, ["/determination", "/reason"]),
    ({"decision": "override", "determination": "contraindicated", "reason": "   "}, ["/reason"]),
    ({"decision": "override", "determination": "meets_criteria", "reason": "why"}, ["/determination"]),
    ({"decision": "accept", "determination": "contraindicated"}, ["/determination"]),
    ({"decision": "accept", "comment": "x"}, ["/comment"]),
    ({"decision": "accept", "reason": "x" * 4001}, ["/reason"]),
    ({"decision": "accept", "amends": "1", "reason": "x"}, ["/amends"]),
])
def test_invalid_reviews_are_422_keyed_by_pointer_and_store_nothing(app, client, clinician, document, pointers):
    evaluation_id = post(client, example("classic-trd")).get_json()["id"]  # meets_criteria
    body = assert_problem(review(clinician, evaluation_id, **document), 422)
    assert sorted(body["errors"]) == pointers
    assert client.get(f"/v1/evaluations/{evaluation_id}").get_json()["review"] == {"status": "pending"}


def test_accept_of_policies_that_disagree_must_name_a_determination(client, clinician):
    document = json.loads(example("classic-trd"))
    document["policies"] = ["tms-clinical", "cms-lcd-l34998"]
    created = post(client, document).get_json()
    determinations = [r["determination"] for r in created["results"]]
    assert determinations == ["meets_criteria", "insufficient_information"]  # L34998: 36 sessions in six weeks?
    assert sorted(assert_problem(review(clinician, created["id"], decision="accept"), 422)["errors"]) == [
        "/determination"]
    accepted = review(clinician, created["id"], decision="accept", determination="insufficient_information")
    assert accepted.get_json()["determination"] == "insufficient_information"
    # an override may name either result's determination: it disagrees with the other
    amended = review(clinician, created["id"], decision="override", determination="meets_criteria",
                     reason="The LCD's documentation gap is closed in the chart.", amends=1)
    assert amended.status_code == 201


def test_reviewing_an_unknown_evaluation_is_404(clinician):
    assert_problem(review(clinician, "0" * 32, decision="accept"), 404)
    assert_problem(review(clinician, "not-an-id", decision="accept"), 404)


def test_malformed_review_bodies_are_4xx(client, clinician):
    evaluation_id = post(client, example("classic-trd")).get_json()["id"]
    path = f"/v1/evaluations/{evaluation_id}/review"
    assert_problem(clinician.post(path, data=b"{", content_type="application/json"), 400)
    assert_problem(clinician.post(path, data=b'{"decision":"accept"}', content_type="text/plain"), 415)
    assert_problem(clinician.post(path, data=b"[]", content_type="application/json"), 422)


def test_concurrent_first_reviews_record_one_and_refuse_the_rest(app, client):
    evaluation_id = post(client, example("classic-trd")).get_json()["id"]
    clients = [authorised(app, "clinician") for _ in range(6)]
    barrier, statuses = threading.Barrier(6), []

    def send(c):
        barrier.wait(timeout=10)
        statuses.append(review(c, evaluation_id, decision="accept").status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [201] + [409] * 5
    assert "earlier" not in client.get(f"/v1/evaluations/{evaluation_id}").get_json()["review"]


def test_the_queue_filters_by_status_policy_and_determination(client, clinician):
    ids = {name: post(client, example(name)).get_json()["id"]
           for name in ("classic-trd", "aneurysm-clip", "incomplete-referral")}
    review(clinician, ids["aneurysm-clip"], decision="accept")

    def listed(query):
        return [i["id"] for i in clinician.get(f"/v1/evaluations?{query}").get_json()["items"]]

    assert listed("review_status=pending") == [ids["incomplete-referral"], ids["classic-trd"]]
    assert listed("review_status=accepted") == [ids["aneurysm-clip"]]
    assert listed("determination=contraindicated") == [ids["aneurysm-clip"]]
    assert listed("policy=tms-clinical&determination=meets_criteria") == [ids["classic-trd"]]
    assert listed("policy=aetna-cpb-0469") == []
    items = clinician.get("/v1/evaluations?review_status=accepted").get_json()["items"]
    assert items[0]["review"] == {"status": "accepted"}
    page = clinician.get("/v1/evaluations?limit=1&policy=tms-clinical")
    assert "policy=tms-clinical" in page.headers["Link"]
