"""``/v1/courses`` on each database: start a course, record sessions, ratings and adverse events, end it, list and
filter courses, evaluate the next step; bad input as everywhere else (422 with pointers, 404, 409, nothing stored);
every write audited by ids."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from .conftest import assert_problem, authorised, example, post, rows

START = date(2026, 11, 9)
COURSE_TABLES = ("courses", "course_sessions", "course_ratings", "course_adverse_events", "course_evaluations")


def day(n: int) -> str:
    return (START + timedelta(days=n)).isoformat()


def course_body(**more) -> dict:
    return {"kind": "initial", "protocol": "rtms_10hz", "planned_sessions": 30, "taper_sessions": 6,
            "start_date": day(0), "baseline": {"instrument": "phq-9", "score": 22, "date": day(-1)},
            "reference": "course-7", **more}


@pytest.fixture
def technician(app):
    return authorised(app, "technician")


@pytest.fixture
def today(app, monkeypatch):
    """The app's clock, set to a day of the course (``today.set(n)``)."""

    class Today:
        def set(self, n: int) -> None:
            moment = datetime.combine(START + timedelta(days=n), datetime.min.time(), UTC) + timedelta(hours=12)
            monkeypatch.setattr(app.extensions["tms-eligibility"], "clock", lambda: moment)

    t = Today()
    t.set(60)
    return t


def start(clinician, **more):
    response = clinician.post("/v1/courses", json=course_body(**more))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_a_course_is_started_read_by_clinician_and_technician_and_its_records_change_progress_and_alerts(
        app, client, clinician, technician, today):
    evaluation_id = post(client, example("classic-trd")).get_json()["id"]
    created = clinician.post("/v1/courses", json=course_body(evaluation_id=evaluation_id))
    assert created.status_code == 201 and created.headers["Location"] == f"/v1/courses/{created.get_json()['id']}"
    course = created.get_json()
    assert (course["status"], course["end"], course["evaluation_id"], course["sessions"]) == ("active", None,
                                                                                              evaluation_id, [])
    assert course["progress"] == {"sessions_delivered": 0, "sessions_planned": 36, "sessions_remaining": 36,
                                  "latest": None, "improvement_percent": None, "response": None, "remission": None,
                                  "status": "unknown"}
    path = f"/v1/courses/{course['id']}"
    session = technician.post(f"{path}/sessions", json={"date": day(0), "motor_threshold_percent": 48,
                                                        "intensity_percent_mt": 120, "pulses": 3000})
    assert session.status_code == 201 and session.headers["Location"] == path
    assert session.get_json()["sessions"][0]["pulses"] == 3000
    rating = technician.post(f"{path}/ratings", json={"instrument": "phq-9", "score": 11, "date": day(7), "item9": 1})
    assert rating.get_json()["progress"]["improvement_percent"] == 50.0
    assert rating.get_json()["progress"]["status"] == "responding"
    event = technician.post(f"{path}/adverse-events", json={"date": day(7), "kind": "seizure", "severity": "serious",
                                                            "action": "stopped"})
    assert [(a["code"], a["severity"]) for a in event.get_json()["alerts"]] == [("seizure", "critical"),
                                                                                ("suicidality", "critical")]
    read = technician.get(path)
    assert read.status_code == 200 and read.headers["Cache-Control"] == "no-store"
    assert read.get_json() == clinician.get(path).get_json()
    assert read.get_json()["sessions"][0]["recorded_by"] == \
        next(k for k in authorised(app, "admin").get("/v1/keys").get_json()["items"] if k["role"] == "technician")["id"]


def test_the_contract_s_bad_inputs_are_422_with_pointers_and_store_nothing(app, clinician, technician, today):
    course = start(clinician)
    path = f"/v1/courses/{course['id']}"
    before = rows(app, COURSE_TABLES)
    cases = [
        ("ratings", {"instrument": "phq-9", "score": 10, "date": day(-1)}, "/date"),  # before the start
        ("ratings", {"instrument": "ham-d", "score": 10, "date": day(1)}, "/instrument"),
        ("ratings", {"instrument": "madrs", "score": 10, "date": day(1), "item9": 1}, "/item9"),
        ("ratings", {"instrument": "phq-9", "score": 28, "date": day(1)}, "/score"),
        ("ratings", {"instrument": "phq-9", "score": "10", "date": day(1)}, "/score"),
        ("ratings", {"instrument": "phq-9", "score": 9, "date": day(1), "item9": 4}, "/item9"),
        ("sessions", {"date": day(3), "pulses": 0}, "/pulses"),
        ("sessions", {"date": day(3), "intensity_percent_mt": 201}, "/intensity_percent_mt"),
        ("sessions", {"date": "2026-13-01"}, "/date"),
        ("sessions", {"date": day(3), "extra": True}, "/extra"),
        ("sessions", {}, "/date"),
        ("adverse-events", {"date": day(1), "kind": "nausea", "severity": "mild", "action": "none"}, "/kind"),
        ("adverse-events", {"date": day(1), "kind": "headache"}, "/severity"),
    ]
    for endpoint, body, pointer in cases:
        problem = assert_problem(technician.post(f"{path}/{endpoint}", json=body), 422)
        assert pointer in problem["errors"], (endpoint, body, problem)
    assert_problem(technician.post(f"{path}/ratings", data="[1]", content_type="application/json"), 422)
    for body, pointer in [(course_body(baseline={"instrument": "phq-9", "score": 22, "date": day(1)}),
                           "/baseline/date"),
                          (course_body(planned_sessions=0), "/planned_sessions"),
                          (course_body(taper_sessions=31), "/taper_sessions"),
                          (course_body(kind="taper"), "/kind"),
                          (course_body(evaluation_id="0" * 32), "/evaluation_id"),
                          ({k: v for k, v in course_body().items() if k != "baseline"}, "/baseline")]:
        assert pointer in assert_problem(clinician.post("/v1/courses", json=body), 422)["errors"]
    assert rows(app, COURSE_TABLES) == before
    # A session on an ended course: 422, nothing stored; ending it again: 409.
    assert clinician.post(f"{path}/end", json={"date": day(2), "reason": "stopped_patient_choice"}).status_code == 200
    ended_rows = rows(app, COURSE_TABLES)
    problem = assert_problem(technician.post(f"{path}/sessions", json={"date": day(2)}), 422)
    assert "" in problem["errors"] and "ended" in problem["detail"]
    problem = assert_problem(clinician.post(f"{path}/end", json={"date": day(3), "reason": "completed"}), 409)
    assert problem["title"] == "Course already ended"
    assert rows(app, COURSE_TABLES) == ended_rows


def test_an_end_before_what_is_recorded_is_refused(clinician, today):
    path = f"/v1/courses/{start(clinician)['id']}"
    clinician.post(f"{path}/sessions", json={"date": day(4)})
    assert "/date" in assert_problem(clinician.post(f"{path}/end", json={"date": day(3), "reason": "completed"}),
                                     422)["errors"]
    assert "/reason" in assert_problem(clinician.post(f"{path}/end", json={"date": day(4), "reason": "bored"}),
                                       422)["errors"]
    assert clinician.post(f"{path}/end", json={"date": day(4), "reason": "completed"}).get_json()["status"] == "ended"


@pytest.mark.parametrize("course_id", ["0" * 32, "not-a-course", "A" * 32])
def test_an_unknown_course_is_404(clinician, course_id, today):
    assert_problem(clinician.get(f"/v1/courses/{course_id}"), 404)
    assert_problem(clinician.post(f"/v1/courses/{course_id}/sessions", json={"date": day(1)}), 404)
    assert_problem(clinician.post(f"/v1/courses/{course_id}/end", json={"date": day(1), "reason": "other"}), 404)
    assert_problem(clinician.post(f"/v1/courses/{course_id}/next", json={"kind": "extension"}), 404)


def test_the_list_pages_newest_first_with_status_and_alert_filters(clinician, technician, today):
    made = [start(clinician, reference=f"c{i}")["id"] for i in range(4)]
    technician.post(f"/v1/courses/{made[0]}/adverse-events",
                    json={"date": day(1), "kind": "hypomania_or_mania", "severity": "severe", "action": "paused"})
    technician.post(f"/v1/courses/{made[2]}/sessions", json={"date": day(15)})  # no rating in 15 days
    clinician.post(f"/v1/courses/{made[3]}/end", json={"date": day(0), "reason": "other"})
    first = clinician.get("/v1/courses?limit=2")
    assert [c["id"] for c in first.get_json()["items"]] == [made[3], made[2]]
    cursor = first.get_json()["next_cursor"]
    assert first.headers["Link"] == f'</v1/courses?limit=2&cursor={cursor}>; rel="next"'
    second = clinician.get(f"/v1/courses?limit=2&cursor={cursor}").get_json()
    assert [c["id"] for c in second["items"]] == [made[1], made[0]] and second["next_cursor"] is None

    def listed(query: str) -> list[str]:
        return [c["id"] for c in clinician.get(f"/v1/courses?{query}").get_json()["items"]]

    assert listed("status=active") == made[2::-1]
    assert listed("status=ended") == [made[3]]
    assert listed("status=active&alert=mania") == [made[0]]
    assert listed("alert=rating_overdue") == [made[2]]
    assert listed("alert=any") == [made[2], made[0]]
    assert listed("alert=seizure") == []
    item = clinician.get("/v1/courses?alert=mania").get_json()["items"][0]
    assert item["alerts"][0]["code"] == "mania" and "sessions" not in item and item["reference"] == "c0"
    for query, pointer in [("status=paused", "/status"), ("alert=fever", "/alert"), ("limit=0", "/limit"),
                           ("cursor=abc", "/cursor"), ("evaluation_id=x", "/evaluation_id")]:
        assert pointer in assert_problem(clinician.get(f"/v1/courses?{query}"), 422)["errors"]


def test_the_next_step_needs_an_evaluation_and_is_stored_reviewable_and_linked(app, client, clinician, today):
    lone = start(clinician)["id"]
    problem = assert_problem(clinician.post(f"/v1/courses/{lone}/next", json={"kind": "extension"}), 422)
    assert list(problem["errors"]) == ["/evaluation_id"] and "no evaluation" in problem["detail"]
    evaluation_id = post(client, example("classic-trd")).get_json()["id"]
    path = f"/v1/courses/{start(clinician, evaluation_id=evaluation_id)['id']}"
    for n in range(10):
        clinician.post(f"{path}/sessions", json={"date": day(n)})
    clinician.post(f"{path}/ratings", json={"instrument": "phq-9", "score": 15, "date": day(7)})
    before = rows(app)
    for body, pointer in [({"kind": "initial"}, "/kind"), ({}, "/kind"), ({"kind": "extension", "sessions": 0},
                                                                          "/sessions"),
                          ({"kind": "extension", "policies": ["no-such-policy"]}, "/policies/0"),
                          ({"kind": "extension", "as_of": "2026-01-01"}, "/scales/0/date")]:
        assert pointer in assert_problem(clinician.post(f"{path}/next", json=body), 422)["errors"], body
    assert rows(app) == before
    answered = clinician.post(f"{path}/next", json={"kind": "extension", "policies": ["cms-lcd-l37086"],
                                                    "sessions": 16, "as_of": day(10)})
    assert answered.status_code == 201, answered.get_data(as_text=True)
    evaluation = answered.get_json()
    assert answered.headers["Location"] == f"/v1/evaluations/{evaluation['id']}"
    assert evaluation["review"] == {"status": "pending"} and evaluation["as_of"] == day(10)
    limit = next(c for c in evaluation["results"][0]["criteria"] if c["id"] == "session-limit")
    assert limit["status"] == "met" and "31.8%" in limit["reason"]
    assert clinician.get(f"/v1/evaluations/{evaluation['id']}").get_json() == evaluation
    assert client.get(f"/v1/evaluations/{evaluation['id']}").get_json() == evaluation  # the referral's client
    queue = clinician.get("/v1/evaluations?review_status=pending").get_json()["items"]
    assert evaluation["id"] in [i["id"] for i in queue]
    assert clinician.get(path).get_json()["next_steps"] == [{"id": evaluation["id"], "kind": "extension",
                                                             "created_at": evaluation["created_at"]}]
    linked = clinician.get(f"/v1/courses?evaluation_id={evaluation['id']}").get_json()["items"]
    assert [c["id"] for c in linked] == [path.rsplit("/", 1)[1]]
    assert [c["id"] for c in clinician.get(f"/v1/courses?evaluation_id={evaluation_id}").get_json()["items"]] == \
        [path.rsplit("/", 1)[1]]


def test_every_course_write_is_audited_by_ids_without_clinical_content(app, clinician, technician, today):
    course = start(clinician, reference="ref-secret-77")
    path = f"/v1/courses/{course['id']}"
    technician.post(f"{path}/sessions", json={"date": day(1), "pulses": 2999})
    technician.post(f"{path}/ratings", json={"instrument": "qids-sr16", "score": 17, "date": day(1)})
    technician.post(f"{path}/adverse-events", json={"date": day(1), "kind": "syncope", "severity": "moderate",
                                                    "action": "paused"})
    clinician.get(path)
    clinician.get("/v1/courses")
    clinician.post(f"{path}/end", json={"date": day(1), "reason": "stopped_adverse_event"})
    assert_problem(technician.get("/v1/courses"), 403)
    trail = authorised(app, "admin").get(f"/v1/audit?course_id={course['id']}&limit=100").get_json()["items"]
    assert [(r["action"], r["actor_role"], r["status"]) for r in reversed(trail)] == [
        ("course.create", "clinician", 201), ("course.session", "technician", 201),
        ("course.rating", "technician", 201), ("course.adverse_event", "technician", 201),
        ("course.read", "clinician", 200), ("course.end", "clinician", 200)]
    rows = authorised(app, "admin").get("/v1/audit?limit=500").get_json()["items"]
    # ids, hashes and times are random hex or today's clock: only the other columns could carry content
    kept = [{k: v for k, v in row.items() if not k.endswith(("_id", "_hash", "hash", "_at", "seq"))} for row in rows]
    everything = json.dumps(kept)
    for content in ("ref-secret-77", "2999", "qids", "syncope", "stopped_adverse_event", day(1)):
        assert content not in everything
    denied = authorised(app, "admin").get("/v1/audit?action=course.list&limit=10").get_json()["items"]
    assert [(r["outcome"], r["actor_role"]) for r in denied] == [("denied", "technician"), ("success", "clinician")]


def test_the_openapi_document_describes_the_course_endpoints_and_their_roles(client):
    spec = client.get("/openapi.json").get_json()
    roles = {(path, method): op["x-roles"] for path, ops in spec["paths"].items() if path.startswith("/v1/courses")
             for method, op in ops.items() if method in ("get", "post")}
    assert roles == {
        ("/v1/courses", "post"): ["clinician"], ("/v1/courses", "get"): ["clinician"],
        ("/v1/courses/{course_id}", "get"): ["clinician", "technician"],
        ("/v1/courses/{course_id}/sessions", "post"): ["clinician", "technician"],
        ("/v1/courses/{course_id}/ratings", "post"): ["clinician", "technician"],
        ("/v1/courses/{course_id}/adverse-events", "post"): ["clinician", "technician"],
        ("/v1/courses/{course_id}/end", "post"): ["clinician"],
        ("/v1/courses/{course_id}/next", "post"): ["clinician"]}
    progress = spec["components"]["schemas"]["Progress"]["properties"]
    assert set(progress) == {"sessions_delivered", "sessions_planned", "sessions_remaining", "latest",
                             "improvement_percent", "response", "remission", "status"}
    assert "409" in spec["paths"]["/v1/courses/{course_id}/end"]["post"]["responses"]


def test_the_command_line_shows_a_course_s_progress_and_alerts(app, database, clinician, technician, today,
                                                               monkeypatch, capsys):
    from api import cli

    path = f"/v1/courses/{start(clinician)['id']}"
    technician.post(f"{path}/sessions", json={"date": day(0)})
    technician.post(f"{path}/ratings", json={"instrument": "phq-9", "score": 4, "date": day(7), "item9": 2})
    monkeypatch.setenv("DATABASE_URL", database)
    course_id = path.rsplit("/", 1)[1]
    assert cli.main(["course", "show", course_id]) == 0
    shown = capsys.readouterr().out
    assert "1 delivered of 36 planned" in shown and "81.8%" in shown and "status: remitted" in shown
    assert "CRITICAL suicidality" in shown
    assert cli.main(["course", "show", course_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == clinician.get(path).get_json()
    assert cli.main(["course", "show", "0" * 32]) == 1
    assert "no course" in capsys.readouterr().err
    reads = authorised(app, "admin").get(f"/v1/audit?course_id={course_id}&action=course.read").get_json()["items"]
    assert [r["channel"] for r in reads][-2:] == ["cli", "cli"]
