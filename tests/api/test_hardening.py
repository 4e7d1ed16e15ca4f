"""Hardening: client input that once reached a 500, and the defaults a deployment gets without asking."""

from __future__ import annotations

import pytest

from .conftest import assert_problem, example, issue_key, post
from .test_page import csrf, sign_in

TOO_BIG = "9999999999999999999"  # above 2**63 - 1: no database row number can be this


# -- no client input reaches a 500 -----------------------------------------------------------------------

@pytest.mark.parametrize("cursor", [TOO_BIG, "9223372036854775808", "²", "１２", "12\n"])
def test_an_impossible_cursor_on_the_queue_is_a_422(clinician, cursor):
    assert_problem(clinician.get("/v1/evaluations", query_string={"cursor": cursor}), 422)


@pytest.mark.parametrize("cursor", [TOO_BIG, "²"])
def test_an_impossible_cursor_on_the_audit_is_a_422(admin, cursor):
    assert_problem(admin.get("/v1/audit", query_string={"cursor": cursor}), 422)


def test_the_largest_possible_cursor_is_read_as_a_cursor(clinician, admin):
    assert clinician.get("/v1/evaluations?cursor=9223372036854775807").get_json() == {"items": [],
                                                                                    "next_cursor": None}
    assert admin.get("/v1/audit?cursor=9223372036854775807").status_code == 200


@pytest.mark.parametrize("path", ["/review/queue", "/review/courses"])
@pytest.mark.parametrize("cursor", ["²", TOO_BIG, "٣"])
def test_the_pages_ignore_a_cursor_that_is_not_one(app, path, cursor):
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    assert browser.get(path, query_string={"cursor": cursor}).status_code == 200


@pytest.mark.parametrize("amends", ["²", "٣", "99999999999999999999999"])
def test_the_review_form_refuses_an_amends_that_is_not_a_number_with_a_422(app, client, amends):
    evaluation_id = post(client, example("classic-trd")).get_json()["id"]
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    page = browser.get(f"/review/evaluations/{evaluation_id}")
    answer = browser.post(f"/review/evaluations/{evaluation_id}",
                          data={"decision": "accept", "amends": amends, "csrf_token": csrf(page)})
    assert answer.status_code == 422 and answer.mimetype == "text/html"
    assert browser.get(f"/review/evaluations/{evaluation_id}?recorded=²").status_code == 200
