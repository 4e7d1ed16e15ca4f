"""Hardening: client input that once reached a 500, and the defaults a deployment gets without asking."""

from __future__ import annotations

import re

import pytest

from .conftest import assert_problem, authorised, example, issue_key, post, principal
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


# -- session and header defaults -------------------------------------------------------------------------

def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_cookies_are_secure_and_host_prefixed_by_default_except_on_loopback_http(app):
    public = app.test_client()
    page = public.get("/review/sign-in", base_url="http://tms.example.org")
    sign_in_cookie = _set_cookies(page)[0]
    assert sign_in_cookie.startswith("__Host-tms_review_sign_in=") and "Secure" in sign_in_cookie
    key = issue_key(app, "clinician")
    signed_in = public.post("/review/sign-in", data={"key": key, "csrf_token": csrf(page)},
                            base_url="http://tms.example.org")
    assert signed_in.status_code == 303
    cookies = _set_cookies(signed_in)
    session = next(c for c in cookies if c.startswith("__Host-tms_review="))
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Strict" in session and "Path=/" in session
    assert all(c.startswith("__Host-") for c in cookies)
    for base in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
        local = app.test_client().get("/review/sign-in", base_url=base)
        assert _set_cookies(local)[0].startswith("tms_review_sign_in=") and "Secure" not in _set_cookies(local)[0]
    over_tls = app.test_client().get("/review/sign-in", base_url="https://127.0.0.1:8000")
    assert _set_cookies(over_tls)[0].startswith("__Host-tms_review_sign_in=")


def test_secure_cookies_can_be_turned_off_explicitly(make_app):
    app = make_app(SECURE_COOKIES=False)
    page = app.test_client().get("/review/sign-in", base_url="http://tms.example.org")
    assert _set_cookies(page)[0].startswith("tms_review_sign_in=") and "Secure" not in _set_cookies(page)[0]


@pytest.mark.parametrize("path", ["/healthz", "/v1/evaluations", "/nowhere", "/openapi.json", "/review/sign-in",
                                  "/docs"])
def test_every_response_says_nosniff_and_hsts_only_over_tls(app, path):
    plain = app.test_client().get(path)
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in plain.headers
    over_tls = app.test_client().get(path, base_url="https://tms.example.org")
    assert over_tls.headers["X-Content-Type-Options"] == "nosniff"
    assert over_tls.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_sqlite_busy_timeout_is_well_below_the_worker_timeout():
    from api.config import defaults, serve_settings

    assert defaults()["SQLITE_BUSY_TIMEOUT"] * 3 <= serve_settings({})["TIMEOUT"]
    assert defaults()["SESSION_LIFETIME_HOURS"] == 12


# -- first-run keys stay out of the log ------------------------------------------------------------------

def test_the_docker_image_never_makes_first_run_keys():
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    cmd = [line for line in dockerfile.splitlines() if line.startswith("CMD ")]
    assert cmd == ['CMD ["tms-eligibility", "serve", "--no-initial-keys"]']


def test_first_run_keys_go_to_a_private_file_kept_across_restarts(app, tmp_path):
    from api.cli.service import first_run_keys

    state = app.extensions["tms-eligibility"]
    written = first_run_keys(state, tmp_path / "data", "http://127.0.0.1:8000")
    assert written == tmp_path / "data" / "first-run-keys.txt" and written.stat().st_mode & 0o777 == 0o600
    text = written.read_text()
    assert len(re.findall(r"tms_[A-Za-z0-9_-]{43}", text)) == 3
    assert first_run_keys(state, tmp_path / "data", "http://127.0.0.1:8000") is None
    assert written.read_text() == text and sorted(p.name for p in written.parent.iterdir()) == [written.name]


# -- least privilege for admins --------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["clinician", "intake", "technician"])
def test_an_admin_cannot_make_a_key_that_reads_clinical_data_and_the_attempt_is_audited(app, admin, role):
    refused = assert_problem(admin.post("/v1/keys", json={"name": "Dr Escalation", "role": role}), 403)
    assert role in refused["detail"]
    assert not [k for k in admin.get("/v1/keys").get_json()["items"] if k["name"] == "Dr Escalation"]
    rows = admin.get("/v1/audit?action=key.create").get_json()["items"]
    assert (rows[0]["outcome"], rows[0]["status"], rows[0]["actor_key_id"]) == ("denied", 403, principal(
        app, admin.key).key_id)
    assert admin.post("/v1/keys", json={"name": "Second admin", "role": "admin"}).status_code == 201


def test_a_deployment_may_let_admins_make_clinical_keys_and_each_is_audited(make_app):
    app = make_app(ADMIN_MAY_CREATE_CLINICAL_KEYS=True)
    admin = authorised(app, "admin")
    made = admin.post("/v1/keys", json={"name": "Dr Allowed", "role": "clinician"})
    assert made.status_code == 201
    row = admin.get("/v1/audit?action=key.create").get_json()["items"][0]
    assert (row["outcome"], row["status"], row["subject_key_id"]) == ("success", 201, made.get_json()["id"])


def test_key_names_are_unique_among_unrevoked_keys(app, admin):
    first = admin.post("/v1/keys", json={"name": "Ops Admin", "role": "admin"}).get_json()
    taken = assert_problem(admin.post("/v1/keys", json={"name": "ops admin", "role": "admin"}), 409)
    assert first["id"] in taken["detail"]
    admin.delete(f"/v1/keys/{first['id']}")
    assert admin.post("/v1/keys", json={"name": "Ops Admin", "role": "admin"}).status_code == 201


def test_reviews_show_the_key_id_beside_the_name(app, client):
    evaluation_id = post(client, example("classic-trd")).get_json()["id"]
    key = issue_key(app, "clinician", "Dr Same Name")
    clinician = authorised(app, "clinician", key)
    assert clinician.post(f"/v1/evaluations/{evaluation_id}/review", json={"decision": "accept"}).status_code == 201
    key_id = principal(app, key).key_id
    assert clinician.get(f"/v1/evaluations/{evaluation_id}").get_json()["review"]["reviewer"]["key_id"] == key_id
    browser, _ = sign_in(app, key)
    assert f"Dr Same Name <span class=\"muted\">(key {key_id})" in browser.get(
        f"/review/evaluations/{evaluation_id}").get_data(as_text=True)
