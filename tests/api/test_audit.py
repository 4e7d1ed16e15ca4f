"""The audit trail: a full flow leaves exactly its rows; rows hold ids only; nothing updates or deletes them;
keys, reviews and audit rows survive a restart; ``audit export`` writes JSON lines."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from api import cli
from services.keys import KEY_SHAPE
from storage import create_engine
from storage.prepared import Prepared
from storage.tables import APPEND_ONLY, audit_events, reviews

from .conftest import authorised, example, principal, review

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = ("api", "services", "storage")


def trail(admin) -> list[dict]:
    """Every audit row, oldest first, read through the API page by page."""
    rows, cursor = [], None
    while True:
        page = admin.get("/v1/audit?limit=3" + (f"&cursor={cursor}" if cursor else "")).get_json()
        rows += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows[::-1]


def test_a_full_flow_through_the_api_leaves_exactly_its_audit_rows(app):
    intake, clinician, admin = (authorised(app, role) for role in ("intake", "clinician", "admin"))
    ids = {role: principal(app, c.key).key_id
           for role, c in (("intake", intake), ("clinician", clinician), ("admin", admin))}
    submission = json.loads(example("classic-trd"))
    submission["diagnoses"][0]["description"] = "free text canary Jane Doe"
    created = intake.post("/v1/evaluations", json=submission, headers={"X-Request-Id": "flow-create",
                                                                       "Idempotency-Key": "flow-1"})
    evaluation_id = created.get_json()["id"]
    policy = created.get_json()["results"][0]["policy"]
    intake.post("/v1/evaluations", json=submission, headers={"Idempotency-Key": "flow-1"})  # a replay
    clinician.get("/v1/evaluations?review_status=pending")
    clinician.get(f"/v1/evaluations/{evaluation_id}", headers={"X-Request-Id": "flow-read"})
    review(clinician, evaluation_id, decision="override", determination="insufficient_information",
           reason="Reason canary: adherence unknown.")
    intake.post(f"/v1/evaluations/{evaluation_id}/review", json={"decision": "accept"})  # 403
    new_key = admin.post("/v1/keys", json={"name": "Canary admin", "role": "admin"}).get_json()["id"]
    admin.delete(f"/v1/keys/{new_key}")
    # the three key.create rows of the fixtures' keys come first, from the command line (no actor)
    rows = trail(admin)
    assert [(r["action"], r["channel"], r["actor_key_id"], r["subject_key_id"]) for r in rows[:3]] == [
        ("key.create", "cli", None, ids[role]) for role in ("intake", "clinician", "admin")]
    digest = [{"id": policy["id"], "version": policy["version"], "digest": policy["digest"]}]
    got = [(r["action"], r["outcome"], r["actor_role"], r["actor_key_id"], r["evaluation_id"], r["review_number"],
            r["subject_key_id"], r["policies"], r["status"]) for r in rows[3:]]
    assert got == [
        ("evaluation.create", "success", "intake", ids["intake"], evaluation_id, None, None, digest, 201),
        ("evaluation.create", "replayed", "intake", ids["intake"], evaluation_id, None, None, digest, 200),
        ("evaluation.list", "success", "clinician", ids["clinician"], None, None, None, None, 200),
        ("evaluation.read", "success", "clinician", ids["clinician"], evaluation_id, None, None, digest, 200),
        ("evaluation.review", "success", "clinician", ids["clinician"], evaluation_id, 1, None, digest, 201),
        ("evaluation.review", "denied", "intake", ids["intake"], None, None, None, None, 403),
        ("key.create", "success", "admin", ids["admin"], None, None, new_key, None, 201),
        ("key.revoke", "success", "admin", ids["admin"], None, None, new_key, None, 200),
    ]  # each page of this very read is recorded after it was read: the next read shows them
    assert rows[3]["request_id"] == "flow-create" and rows[6]["request_id"] == "flow-read"
    assert all(r["channel"] == "api" for r in rows[3:])
    text = json.dumps(rows)
    for canary in ("Jane Doe", "Reason canary", "referral-1001", "sertraline", "Dr Canary", "F33.2"):
        assert canary not in text


def test_the_audit_endpoint_pages_and_filters(app, client, admin):
    first = client.post("/v1/evaluations", data=example("classic-trd"), content_type="application/json")
    evaluation_id = first.get_json()["id"]
    client.get(f"/v1/evaluations/{evaluation_id}")
    client.post("/v1/evaluations", data=example("aneurysm-clip"), content_type="application/json")
    about = admin.get(f"/v1/audit?evaluation_id={evaluation_id}").get_json()["items"]
    assert [r["action"] for r in about] == ["evaluation.read", "evaluation.create"]
    reads = admin.get("/v1/audit?action=evaluation.read").get_json()["items"]
    assert [r["evaluation_id"] for r in reads] == [evaluation_id]
    page = admin.get("/v1/audit?limit=2")
    assert len(page.get_json()["items"]) == 2 and 'rel="next"' in page.headers["Link"]
    assert admin.get("/v1/audit?limit=0").status_code == 422


# -- append-only ------------------------------------------------------------------------------------------

def test_the_database_refuses_to_update_or_delete_audit_and_review_rows(app, client, clinician):
    evaluation_id = client.post("/v1/evaluations", data=example("classic-trd"),
                                content_type="application/json").get_json()["id"]
    review(clinician, evaluation_id, decision="accept")
    engine = app.extensions["tms-eligibility"].database.engine
    for table in (audit_events, reviews):
        for statement in (table.update().values(request_id="x") if table is audit_events else
                          table.update().values(reason="changed"), table.delete()):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE audit_events"))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar() >= 4
        assert conn.execute(sa.select(reviews.c.reason)).scalar() is None


def test_a_full_flow_sends_no_update_or_delete_to_an_append_only_table(app, monkeypatch):
    """Every statement the app sends during creation, reads, reviews, amendments and keys: through SQLAlchemy
    (seen by its cursor event) and straight to the DBAPI cursor (the prepared statements: the key lookup, the
    evaluation's inserts and the audit rows; seen as their parameters are made)."""
    engine = app.extensions["tms-eligibility"].database.engine
    statements = []

    def record(_conn, _cursor, statement, *_):
        statements.append(statement)

    made = Prepared.params

    def params(self, values):
        statements.append(self.sql)
        return made(self, values)

    monkeypatch.setattr(Prepared, "params", params)
    event.listen(engine, "before_cursor_execute", record)
    try:
        intake, clinician, admin = (authorised(app, role) for role in ("intake", "clinician", "admin"))
        evaluation_id = intake.post("/v1/evaluations", data=example("classic-trd"),
                                    content_type="application/json").get_json()["id"]
        intake.get(f"/v1/evaluations/{evaluation_id}")
        review(clinician, evaluation_id, decision="accept")
        review(clinician, evaluation_id, decision="override", determination="insufficient_information",
               reason="amended", amends=1)
        review(clinician, evaluation_id, decision="accept")  # 409
        clinician.get("/v1/evaluations")
        key = admin.post("/v1/keys", json={"name": "n", "role": "admin"}).get_json()["id"]
        admin.delete(f"/v1/keys/{key}")
        admin.get("/v1/audit")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    written = [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "DELETE", "TRUNCATE"))]
    assert written, "the flow updates evaluations and keys, so some statements should be seen"
    for statement in written:
        for table in APPEND_ONLY:
            assert f" {table} " not in f" {statement} ".replace("\n", " "), statement
    assert any(s.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS") for s in statements)


def test_no_code_of_the_service_updates_or_deletes_an_append_only_table():
    """Statically: no ``<table>.update()``/``.delete()`` on them and no SQL text that would (only migration 0002,
    which makes the database refuse it, names those statements)."""
    for path in (p for package in SERVICE_PACKAGES for p in (ROOT / package).rglob("*.py")):
        source = path.read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("update", "delete") and isinstance(node.func.value, ast.Name)):
                assert node.func.value.id not in ("audit_events", "reviews"), f"{path}:{node.lineno}"
        lowered = " ".join(source.lower().split())
        for table in APPEND_ONLY:
            for verb in (f"update {table}", f"delete from {table}", f"truncate {table}"):
                assert verb not in lowered or path.name.startswith("0002"), (path, verb)


# -- restart survival and export ------------------------------------------------------------------------

def test_keys_reviews_and_audit_rows_survive_a_restart(make_app):
    first = make_app()
    intake, clinician, admin = (authorised(first, role) for role in ("intake", "clinician", "admin"))
    evaluation_id = intake.post("/v1/evaluations", data=example("classic-trd"),
                                content_type="application/json").get_json()["id"]
    review(clinician, evaluation_id, decision="override", determination="does_not_meet_criteria",
           reason="Survives a restart.")
    before = trail(admin)
    first.extensions["tms-eligibility"].database.engine.dispose()

    second = make_app()  # a new process on the same database
    again = {role: authorised(second, role, c.key) for role, c in (("intake", intake), ("clinician", clinician),
                                                                   ("admin", admin))}
    shown = again["intake"].get(f"/v1/evaluations/{evaluation_id}").get_json()["review"]
    assert (shown["status"], shown["reason"]) == ("overridden", "Survives a restart.")
    after = trail(again["admin"])
    assert after[:len(before)] == before
    added = [r["action"] for r in after[len(before):]]
    pages = added.count("audit.read")
    assert pages >= 1 and added == ["audit.read"] * pages + ["evaluation.read"]


def test_audit_export_writes_every_row_as_json_lines(app, client, database, tmp_path, monkeypatch, capsys):
    client.post("/v1/evaluations", data=example("classic-trd"), content_type="application/json")
    monkeypatch.setenv("DATABASE_URL", database)
    out = tmp_path / "audit.jsonl"
    assert cli.main(["audit", "export", "--output", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["action"] for r in lines] == ["key.create", "evaluation.create"]
    assert "exported 2 audit row(s)" in capsys.readouterr().err
    assert cli.main(["audit", "export", "--after", str(lines[-1]["seq"])]) == 0
    resumed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["action"] for r in resumed] == ["audit.export"]  # the first export, recorded


def test_keys_commands_create_list_and_revoke(database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database)
    assert cli.main(["keys", "create", "--role", "clinician", "--name", "Dr Who"]) == 0
    captured = capsys.readouterr()
    key = captured.out.strip()
    assert KEY_SHAPE.fullmatch(key) and "shown only now" in captured.err
    assert cli.main(["keys", "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(k["name"], k["role"], k["revoked_at"]) for k in listed] == [("Dr Who", "clinician", None)]
    assert key not in json.dumps(listed)
    assert cli.main(["keys", "revoke", listed[0]["id"]]) == 0
    assert "revoked" in capsys.readouterr().out
    assert cli.main(["keys", "revoke", listed[0]["id"]]) == 0
    assert "already revoked" in capsys.readouterr().out
    assert cli.main(["keys", "revoke", "nope"]) == 1
    assert cli.main(["keys", "create", "--role", "admin", "--name", " "]) == 1
    assert cli.main(["keys", "list"]) == 0
    assert "Dr Who" in capsys.readouterr().out
    engine = create_engine(database)
    with engine.connect() as conn:
        actions = [r.action for r in conn.execute(sa.select(audit_events.c.action).order_by(audit_events.c.seq))]
    engine.dispose()
    assert actions == ["key.create", "key.revoke", "key.revoke"]
