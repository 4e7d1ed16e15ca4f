"""A course from referral to retreatment, through the API on each database: a referral meets; a course of 30 + 6
sessions with weekly PHQ-9 (22 -> 18 -> 13 -> 9 -> 6); an extension evaluated under L37086 (at least 25%
improvement); the course ended; six months later a retreatment evaluated under Aetna and L34998 from the stored
course."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta

from eligibility.library import rules_dir

from .conftest import authorised, post

START = date(2026, 11, 9)  # a Monday


def referral() -> dict:
    """Noridian's own meeting referral (adult, severe recurrent MDD, two failed classes, an augmentation, CBT, no
    earlier TMS), asking for a standard 36-session course."""
    policy = json.loads((rules_dir() / "cms-lcd-l37086" / "2024-04-25.r2.json").read_text())
    document = copy.deepcopy(policy["cases"][0]["submission"])
    document["request"]["sessions"] = 36
    document["reference"] = "referral-scenario"
    document["policies"] = ["tms-clinical", "aetna-cpb-0469"]
    return document


def schedule() -> list[date]:
    """30 weekday sessions over six weeks, then a 3-2-1 taper over three weeks: 36 in all."""
    days = [START + timedelta(days=week * 7 + d) for week in range(6) for d in range(5)]
    taper_start = START + timedelta(weeks=6)
    days += [taper_start + timedelta(days=d) for d in (0, 2, 4)]
    days += [taper_start + timedelta(days=7 + d) for d in (0, 3)]
    days += [taper_start + timedelta(days=14)]
    return days


def set_today(app, monkeypatch, when: date) -> None:
    moment = datetime.combine(when, datetime.min.time(), UTC) + timedelta(hours=18)
    monkeypatch.setattr(app.extensions["tms-eligibility"], "clock", lambda: moment)


def criterion(result: dict, criterion_id: str) -> dict:
    return next(c for c in result["criteria"] if c["id"] == criterion_id)


def test_from_referral_to_retreatment(app, client, monkeypatch):
    clinician, technician = authorised(app, "clinician"), authorised(app, "technician")
    set_today(app, monkeypatch, date(2026, 11, 2))
    evaluated = post(client, referral())
    assert evaluated.status_code == 201
    evaluation = evaluated.get_json()
    assert [r["determination"] for r in evaluation["results"]] == ["meets_criteria", "meets_criteria"]

    # The course: 30 + 6 planned, PHQ-9 22 at baseline.
    set_today(app, monkeypatch, START)
    course = clinician.post("/v1/courses", json={
        "evaluation_id": evaluation["id"], "reference": "course-scenario", "kind": "initial", "protocol": "rtms_10hz",
        "planned_sessions": 30, "taper_sessions": 6, "start_date": START.isoformat(),
        "baseline": {"instrument": "phq-9", "score": 22, "date": (START - timedelta(days=3)).isoformat()}}).get_json()
    path = f"/v1/courses/{course['id']}"

    # Sessions every weekday, a PHQ-9 at the end of each of the first four weeks.
    weekly = dict(zip([START + timedelta(days=week * 7 + 4) for week in range(4)], [18, 13, 9, 6], strict=True))
    statuses = []
    for n, when in enumerate(schedule(), start=1):
        set_today(app, monkeypatch, when)
        answer = technician.post(f"{path}/sessions", json={"date": when.isoformat(), "motor_threshold_percent": 50,
                                                           "intensity_percent_mt": 120, "pulses": 3000})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        if when in weekly:
            answer = technician.post(f"{path}/ratings", json={"instrument": "phq-9", "score": weekly[when],
                                                              "date": when.isoformat(), "item9": 0})
            statuses.append(answer.get_json()["progress"]["status"])
        now = answer.get_json()
        assert now["progress"]["sessions_delivered"] == n
        if n == 30:  # day 39: 14 days after the last rating (day 25)
            assert now["alerts"] == []
        if n == 31:  # day 42, the taper's first session: 17 days
            assert [a["code"] for a in now["alerts"]] == ["rating_overdue"]
    assert statuses == ["no_change", "partial", "responding", "responding"]
    progress = now["progress"]
    assert progress == {"sessions_delivered": 36, "sessions_planned": 36, "sessions_remaining": 0,
                        "latest": {"instrument": "phq-9", "score": 6, "date": "2026-12-04"},
                        "improvement_percent": 72.7, "response": True, "remission": False, "status": "responding"}
    assert [(a["code"], a["date"]) for a in now["alerts"]] == [("rating_overdue", "2027-01-04")]
    technician.post(f"{path}/ratings", json={"instrument": "phq-9", "score": 6, "date": "2027-01-04"})
    assert clinician.get(path).get_json()["alerts"] == []  # rated again: no longer overdue

    # An extension under Noridian's L37086: at least 25% improvement in this episode's course, 10 + 6 more.
    extension = clinician.post(f"{path}/next", json={"kind": "extension", "policies": ["cms-lcd-l37086"],
                                                     "sessions": 16})
    assert extension.status_code == 201, extension.get_data(as_text=True)
    [noridian] = extension.get_json()["results"]
    assert noridian["determination"] == "meets_criteria", [
        (c["id"], c["status"], c["reason"]) for c in noridian["criteria"] if c["status"] != "met"]
    assert "72.7%" in criterion(noridian, "session-limit")["reason"]

    # The course ends.
    ended = clinician.post(f"{path}/end", json={"date": "2027-01-04", "reason": "completed"})
    assert ended.status_code == 200 and ended.get_json()["status"] == "ended"

    # Six months later, a relapse: a retreatment under Aetna and Novitas' L34998, from the stored course.
    set_today(app, monkeypatch, date(2027, 7, 5))
    retreatment = clinician.post(f"{path}/next", json={"kind": "retreatment", "sessions": 30,
                                                       "policies": ["aetna-cpb-0469", "cms-lcd-l34998"]})
    assert retreatment.status_code == 201, retreatment.get_data(as_text=True)
    body = retreatment.get_json()
    assert body["as_of"] == "2027-07-05"
    for result in body["results"]:
        assert criterion(result, "retreatment")["status"] == "met", criterion(result, "retreatment")
        assert criterion(result, "session-limit")["status"] == "met"
        assert result["determination"] == "meets_criteria", (result["policy"]["id"], [
            (c["id"], c["status"], c["reason"]) for c in result["criteria"] if c["status"] != "met"])
    aetna = criterion(body["results"][0], "retreatment")
    assert "72.7%" in aetna["reason"] and "2027-01-04" in aetna["reason"]

    # Both next steps are stored evaluations of their own, reviewable, and linked to the course.
    course_now = clinician.get(path).get_json()
    assert [(n["id"], n["kind"]) for n in course_now["next_steps"]] == [
        (extension.get_json()["id"], "extension"), (body["id"], "retreatment")]
    stored = clinician.get(f"/v1/evaluations/{body['id']}")
    assert stored.status_code == 200 and stored.get_json()["review"] == {"status": "pending"}
    review = clinician.post(f"/v1/evaluations/{body['id']}/review", json={"decision": "accept"})
    assert review.status_code == 201
