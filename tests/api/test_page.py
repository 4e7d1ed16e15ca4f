"""The review page through the test client: sign-in, cookies, CSRF, roles, revocation, evidence rows, the audit."""

from __future__ import annotations

import re

import pytest

from .conftest import authorised, example, issue_key, post, principal

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(response) -> str:
    return CSRF.search(response.get_data(as_text=True)).group(1)


def sign_in(app, key: str):
    browser = app.test_client()
    page = browser.get("/review/sign-in")
    response = browser.post("/review/sign-in", data={"key": key, "csrf_token": csrf(page)})
    return browser, response


@pytest.fixture
def evaluation_id(client):
    return post(client, example("classic-trd")).get_json()["id"]


def test_pages_need_a_session_and_sign_in_sets_a_strict_http_only_cookie(app, evaluation_id):
    anonymous = app.test_client()
    for path in ("/review/", "/review/queue", f"/review/evaluations/{evaluation_id}"):
        response = anonymous.get(path)
        assert response.status_code == 303 and response.headers["Location"].endswith("/review/sign-in")
    page = anonymous.get("/review/sign-in")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    browser, response = sign_in(app, issue_key(app, "clinician", "Dr Page"))
    assert response.status_code == 303 and response.headers["Location"].endswith("/review/queue")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("tms_review="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    queue = browser.get("/review/queue")
    assert queue.status_code == 200 and "Signed in as Dr Page" in queue.get_data(as_text=True)


def test_secure_cookies_when_configured(make_app):
    app = make_app(SECURE_COOKIES=True)
    _, response = sign_in(app, issue_key(app, "clinician"))
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-tms_review="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie


def test_sign_in_refuses_bad_keys_other_roles_and_forms_without_their_token(app, admin):
    browser = app.test_client()
    page = browser.get("/review/sign-in")
    assert browser.post("/review/sign-in", data={"key": issue_key(app, "clinician")}).status_code == 400
    wrong = browser.post("/review/sign-in", data={"key": "tms_" + "a" * 43, "csrf_token": csrf(page)})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.get_data(as_text=True)
    _, intake = sign_in(app, issue_key(app, "intake"))
    assert intake.status_code == 403 and "for clinician and technician keys" in intake.get_data(as_text=True)
    denied = [r for r in admin.get("/v1/audit").get_json()["items"] if r["outcome"] == "denied"]
    assert [(r["action"], r["actor_role"], r["channel"]) for r in denied] == [("session.start", "intake", "page")]


def test_the_evaluation_page_shows_criteria_evidence_rows_sources_measures_and_the_form(app, evaluation_id):
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    html = browser.get(f"/review/evaluations/{evaluation_id}").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", html)
    text = " ".join(text.split())
    assert "At least one failed adequate antidepressant trial in the current episode" in text
    assert "1 sertraline 150 mg 10 — current monotherapy no response" in text
    assert "2 venlafaxine 225 mg 8 — current monotherapy partial response (20% better)" in text
    assert "Patient › age 44" in text and "Current episode › severity severe" in text
    assert "F33.2 Major depressive disorder" in text
    assert 'href="https://evms.edu/psychiatry/therapeutic_brain_stimulation/faqs"' in html
    assert "Maudsley Staging Method (3–15)" in text and "Thase–Rush stage (0–V) II" in text
    assert "Documentation requirements" in text and "Missing information" in text
    assert 'name="decision" value="override"' in html and 'name="csrf_token"' in html


def test_a_review_through_the_page_needs_its_csrf_token_and_shows_up_in_the_api(app, client, evaluation_id):
    browser, _ = sign_in(app, issue_key(app, "clinician", "Dr Form"))
    page = browser.get(f"/review/evaluations/{evaluation_id}")
    form = {"decision": "override", "determination": "does_not_meet_criteria", "reason": "Chart says otherwise."}
    assert browser.post(f"/review/evaluations/{evaluation_id}", data=form).status_code == 400
    invalid = browser.post(f"/review/evaluations/{evaluation_id}", data={"decision": "override",
                                                                          "csrf_token": csrf(page)})
    assert invalid.status_code == 422
    assert "An override needs a reason." in invalid.get_data(as_text=True)
    done = browser.post(f"/review/evaluations/{evaluation_id}", data={**form, "csrf_token": csrf(page)})
    assert done.status_code == 303 and "recorded=1" in done.headers["Location"]
    review = client.get(f"/v1/evaluations/{evaluation_id}").get_json()["review"]
    assert (review["status"], review["reason"], review["reviewer"]["name"]) == (
        "overridden", "Chart says otherwise.", "Dr Form")
    resent = browser.post(f"/review/evaluations/{evaluation_id}", data={**form, "csrf_token": csrf(page)})
    assert resent.status_code == 303 and "recorded=1" in resent.headers["Location"]  # the form sent again
    assert "earlier" not in client.get(f"/v1/evaluations/{evaluation_id}").get_json()["review"]
    again = browser.post(f"/review/evaluations/{evaluation_id}",
                         data={**form, "reason": "Another reason.", "csrf_token": csrf(page)})
    assert again.status_code == 409 and "already has a review" in again.get_data(as_text=True)
    amend = browser.post(f"/review/evaluations/{evaluation_id}",
                         data={"decision": "accept", "reason": "Rechecked: it meets the criteria.", "amends": "1",
                               "csrf_token": csrf(page)})
    assert amend.status_code == 303
    shown = browser.get(f"/review/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "Earlier reviews (1)" in shown and "Chart says otherwise." in shown


def test_revoking_the_key_or_signing_out_ends_the_session_at_once(app, admin, evaluation_id):
    key = issue_key(app, "clinician", "Dr Revoked")
    browser, _ = sign_in(app, key)
    assert browser.get("/review/queue").status_code == 200
    key_id = principal(app, key).key_id
    assert admin.delete(f"/v1/keys/{key_id}").status_code == 200
    assert browser.get("/review/queue").status_code == 303

    other, _ = sign_in(app, issue_key(app, "clinician"))
    queue = other.get("/review/queue")
    assert other.post("/review/sign-out", data={}).status_code == 400  # without its token
    out = other.post("/review/sign-out", data={"csrf_token": csrf(queue)})
    assert out.status_code == 303
    assert other.get("/review/queue").status_code == 303


def test_an_idle_session_ends(make_app, monkeypatch):
    from datetime import timedelta

    from services.clock import utc_now

    app = make_app(SESSION_IDLE_MINUTES=1)
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    assert browser.get("/review/queue").status_code == 200
    later = utc_now() + timedelta(minutes=2)
    monkeypatch.setattr(app.extensions["tms-eligibility"], "clock", lambda: later)
    assert browser.get("/review/queue").status_code == 303


def test_the_queue_page_filters_and_escapes(app, client):
    document = {"patient": {}, "reference": "<script>alert(1)</script>"}
    post(client, document)
    clip = post(client, example("aneurysm-clip")).get_json()["id"]
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    html = browser.get("/review/queue").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    only = browser.get("/review/queue?determination=contraindicated").get_data(as_text=True)
    assert re.findall(r'href="/review/evaluations/([0-9a-f]{32})"', only) == [clip]
    assert browser.get("/review/queue?status=bogus&cursor=x&policy=nope").status_code == 200


def test_a_full_flow_through_the_page_leaves_its_audit_rows(app, evaluation_id):
    key = issue_key(app, "clinician")
    clinician_id = principal(app, key).key_id
    browser, _ = sign_in(app, key)
    page = browser.get(f"/review/evaluations/{evaluation_id}")
    browser.post(f"/review/evaluations/{evaluation_id}", data={"decision": "accept", "csrf_token": csrf(page)})
    browser.post("/review/sign-out", data={"csrf_token": csrf(page)})
    rows = authorised(app, "admin").get("/v1/audit").get_json()["items"][::-1]
    page_rows = [(r["action"], r["actor_key_id"], r["evaluation_id"], r["review_number"], r["status"])
                 for r in rows if r["channel"] == "page"]
    assert page_rows == [("session.start", clinician_id, None, None, None),
                         ("evaluation.read", clinician_id, evaluation_id, None, 200),
                         ("evaluation.review", clinician_id, evaluation_id, 1, 303),
                         ("session.end", clinician_id, None, None, None)]


def test_the_page_names_a_drug_given_by_rxcui_and_dots_diagnosis_codes(client, clinician, app):
    document = {"as_of": "2026-11-02", "patient": {"age": 44}, "diagnoses": [{"code": "F332"}],
                "medication_trials": [{"rxnorm": "36437", "daily_dose_mg": 200, "duration_weeks": 10,
                                       "episode": "current", "outcome": "no_response"}]}
    evaluation_id = post(client, document).get_json()["id"]
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    page = browser.get(f"/review/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "sertraline (RxCUI 36437)" in page and "RxNorm 36437" not in page
    assert "F33.2" in page and "F332" not in page


def test_a_therapy_declared_as_data_alone_renders(make_app, tmp_path):
    """The test-only light therapy (tests/therapy_fixture), served and reviewed with no TMS file loaded."""
    import shutil
    from pathlib import Path

    from eligibility.library import CATALOGUE_DIR, rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(rules_dir() / CATALOGUE_DIR, rules / CATALOGUE_DIR)
    shutil.copytree(Path(__file__).resolve().parent.parent / "therapy_fixture", rules, dirs_exist_ok=True)
    app = make_app(RULES_DIR=str(rules), DEFAULT_POLICIES=("light-demo",))
    intake = authorised(app, "intake")
    created = post(intake, {"as_of": "2026-12-01", "patient": {"age": 40}, "diagnoses": [{"code": "F33.1"}],
                            "safety": {"retinal_disease": True}})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["results"][0]["determination"] == "contraindicated"
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    page = browser.get(f"/review/evaluations/{created.get_json()['id']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "No retinal disease" in text and "A retinal disease was reported." in text
    assert "intracranial" not in text.lower()
    policies = intake.get("/v1/policies").get_json()
    assert [p["id"] for p in policies["items"]] == ["light-demo"]
