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


# -- per-client scoping ----------------------------------------------------------------------------------

def _intake(app, client: str | None, name: str):
    from services import keys
    from services.audit import Caller

    key = keys.create_key(app.extensions["tms-eligibility"].unit_of_work(), name, "intake", Caller(),
                          client=client).key
    return authorised(app, "intake", key)


def test_an_intake_key_reads_only_its_own_client_s_evaluations(app, clinician):
    partner_a, partner_a2 = _intake(app, "partner-a", "A one"), _intake(app, "partner-a", "A two")
    partner_b, loner = _intake(app, "partner-b", "B"), _intake(app, None, "Loner")
    made = post(partner_a, example("classic-trd")).get_json()["id"]
    assert partner_a.get(f"/v1/evaluations/{made}").status_code == 200
    assert partner_a2.get(f"/v1/evaluations/{made}").status_code == 200  # same client
    for other in (partner_b, loner):
        missing = assert_problem(other.get(f"/v1/evaluations/{made}"), 404)
        assert missing == {**missing, "status": 404}
    assert clinician.get(f"/v1/evaluations/{made}").status_code == 200
    with app.extensions["tms-eligibility"].database.engine.connect() as conn:
        import sqlalchemy as sa

        row = conn.execute(sa.text("SELECT created_by, client_id FROM evaluations WHERE id = :id"),
                           {"id": made}).one()
    assert row == (principal(app, partner_a.key).key_id, "partner-a")


def test_idempotency_keys_are_scoped_per_client(app):
    partner_a, partner_b = _intake(app, "partner-a", "A"), _intake(app, "partner-b", "B")
    first = post(partner_a, example("classic-trd"), **{"Idempotency-Key": "shared-key"})
    assert first.status_code == 201
    # another client's use of the same key neither replays A's evaluation nor is refused as a reuse
    other = post(partner_b, example("incomplete-referral"), **{"Idempotency-Key": "shared-key"})
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]
    again = post(partner_a, example("classic-trd"), **{"Idempotency-Key": "shared-key"})
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]


# -- an audit trail that cannot be rewritten -------------------------------------------------------------

def _dialect(app) -> str:
    return app.extensions["tms-eligibility"].database.engine.dialect.name


def test_replace_cannot_rewrite_an_audit_row_or_a_review(app, client, clinician):
    import sqlalchemy as sa

    evaluation_id = post(client, example("classic-trd")).get_json()["id"]
    assert clinician.post(f"/v1/evaluations/{evaluation_id}/review", json={"decision": "accept"}).status_code == 201
    engine = app.extensions["tms-eligibility"].database.engine
    with engine.connect() as conn:
        seq, reviewer = conn.execute(sa.text("SELECT min(seq), (SELECT reviewer_key_id FROM reviews) "
                                             "FROM audit_events")).one()
    if _dialect(app) == "sqlite":
        attempts = [f"REPLACE INTO audit_events (seq, recorded_at, action, outcome, channel) VALUES ({seq}, "
                    "'2020-01-01 00:00:00', 'forged', 'success', 'cli')",
                    f"INSERT OR REPLACE INTO audit_events (seq, recorded_at, action, outcome, channel) VALUES ({seq}, "
                    "'2020-01-01 00:00:00', 'forged', 'success', 'cli')",
                    "REPLACE INTO reviews (evaluation_id, number, decision, determination, reviewer_key_id, "
                    f"reviewed_at) VALUES ('{evaluation_id}', 1, 'override', 'not_eligible', '{reviewer}', "
                    "'2020-01-01 00:00:00')"]
    else:  # PostgreSQL has no REPLACE: its upsert is an UPDATE, which the append-only trigger refuses
        attempts = [f"INSERT INTO audit_events (seq, recorded_at, action, outcome, channel) VALUES ({seq}, "
                    "now(), 'forged', 'success', 'cli') ON CONFLICT (seq) DO UPDATE SET action = 'forged'",
                    "INSERT INTO reviews (evaluation_id, number, decision, determination, reviewer_key_id, "
                    f"reviewed_at) VALUES ('{evaluation_id}', 1, 'override', 'not_eligible', '{reviewer}', now()) "
                    "ON CONFLICT (evaluation_id, number) DO UPDATE SET decision = 'override'",
                    "UPDATE audit_events SET action = 'forged'", "DELETE FROM reviews"]
    for statement in attempts:
        with pytest.raises(sa.exc.DatabaseError), engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_events WHERE action = 'forged'")).scalar() == 0
        assert conn.execute(sa.text("SELECT decision FROM reviews")).scalar() == "accept"


def test_audit_verify_finds_a_row_changed_behind_the_service_s_back(app, client, database, monkeypatch, capsys):
    import sqlalchemy as sa

    from api import cli

    for _ in range(3):
        post(client, example("classic-trd"))
    monkeypatch.setenv("DATABASE_URL", database)
    assert cli.main(["audit", "verify"]) == 0
    assert "audit chain holds" in capsys.readouterr().out
    engine = app.extensions["tms-eligibility"].database.engine
    with engine.begin() as conn:
        seq = conn.execute(sa.text("SELECT seq FROM audit_events ORDER BY seq LIMIT 1 OFFSET 2")).scalar()
        if _dialect(app) == "sqlite":  # the owner of the file can do anything: drop the guard, edit, restore it
            conn.execute(sa.text("DROP TRIGGER audit_events_append_only_update"))
        else:
            conn.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(sa.text("UPDATE audit_events SET actor_key_id = 'forged' WHERE seq = :seq"), {"seq": seq})
        if _dialect(app) != "sqlite":
            conn.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    assert cli.main(["audit", "verify"]) == 1
    assert f"audit chain broken at seq {seq}" in capsys.readouterr().out


def test_every_new_audit_row_is_chained_to_the_one_before(app, client):
    import sqlalchemy as sa

    for _ in range(3):
        post(client, example("classic-trd"))
    with app.extensions["tms-eligibility"].database.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT prev_hash, row_hash FROM audit_events ORDER BY seq")).all()
    assert rows[0].prev_hash is None and all(r.row_hash for r in rows)
    assert [r.prev_hash for r in rows[1:]] == [r.row_hash for r in rows[:-1]]


# -- indexes for the filters -----------------------------------------------------------------------------

QUERIES = {
    "queue by status": ("SELECT seq FROM evaluations WHERE review_status = 'pending' ORDER BY seq DESC LIMIT 26",
                        "ix_evaluations_review_status_seq"),
    "queue by policy": ("SELECT evaluation_id FROM evaluation_policies WHERE policy_id = 'tms-clinical' AND "
                        "determination = 'meets_criteria'",
                        "ix_evaluation_policies_policy_id_determination_evaluation_id"),
    "audit by action": ("SELECT seq FROM audit_events WHERE action = 'evaluation.read' ORDER BY seq DESC LIMIT 51",
                        "ix_audit_events_action_seq"),
    "audit by actor": ("SELECT seq FROM audit_events WHERE actor_key_id = 'abc' ORDER BY seq DESC LIMIT 51",
                       "ix_audit_events_actor_key_id_seq"),
    "audit by evaluation": ("SELECT seq FROM audit_events WHERE evaluation_id = 'x' ORDER BY seq DESC LIMIT 51",
                            "ix_audit_events_evaluation_id_seq"),
    "audit by course": ("SELECT seq FROM audit_events WHERE course_id = 'x' ORDER BY seq DESC LIMIT 51",
                        "ix_audit_events_course_id_seq"),
    "active courses": ("SELECT seq FROM courses WHERE end_date IS NULL ORDER BY seq DESC LIMIT 26",
                       "ix_courses_end_date_seq"),
}


@pytest.mark.parametrize("name", QUERIES)
def test_the_filters_use_their_indexes(app, name):
    import sqlalchemy as sa

    query, index = QUERIES[name]
    with app.extensions["tms-eligibility"].database.engine.connect() as conn:
        if _dialect(app) == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {query}")))
        else:  # a tiny table would be scanned: ask what the planner does when a scan is the last resort
            conn.execute(sa.text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in conn.execute(sa.text(f"EXPLAIN {query}")))
    assert index in plan, plan
