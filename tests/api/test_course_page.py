"""The review page's courses through the test client: a technician signs in to record, and is kept out of the queue,
evaluations and reviews; a clinician sees the course list with alert filters, the chart and the alert banner; the
forms need their CSRF token and refuse what the API refuses; the evaluation page links to its courses."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import authorised, example, issue_key, post

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TODAY = datetime.now(UTC).date()


def csrf(response) -> str:
    return CSRF.search(response.get_data(as_text=True)).group(1)


def sign_in(app, key: str):
    browser = app.test_client()
    page = browser.get("/review/sign-in")
    response = browser.post("/review/sign-in", data={"key": key, "csrf_token": csrf(page)})
    return browser, response


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


@pytest.fixture
def course_id(app, client):
    clinician = authorised(app, "clinician")
    evaluation_id = post(client, example("classic-trd")).get_json()["id"]
    course = clinician.post("/v1/courses", json={
        "evaluation_id": evaluation_id, "reference": "page-course", "protocol": "itbs", "planned_sessions": 20,
        "taper_sessions": 0, "start_date": day(-20),
        "baseline": {"instrument": "phq-9", "score": 20, "date": day(-21)}})
    return course.get_json()["id"]


def test_a_technician_lands_on_the_course_finder_and_is_kept_out_of_the_clinicians_pages(app, course_id):
    browser, signed_in = sign_in(app, issue_key(app, "technician", "Operator One"))
    assert signed_in.status_code == 303
    landing = browser.get(signed_in.headers["Location"], follow_redirects=True)
    assert landing.request.path == "/review/courses/open" and "Signed in as Operator One" in text(landing)
    assert "Review queue" not in text(landing)
    found = browser.get(f"/review/courses/open?course={course_id}")
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/review/courses/{course_id}")
    assert browser.get("/review/courses/open?course=nope").status_code == 422
    evaluation_id = authorised(app, "clinician").get(f"/v1/courses/{course_id}").get_json()["evaluation_id"]
    for path in (f"/review/evaluations/{evaluation_id}", "/review/courses"):
        refused = browser.get(path)
        assert refused.status_code == 403 and "for clinicians" in text(refused)
    page = browser.get(f"/review/courses/{course_id}")
    assert browser.post(f"/review/evaluations/{evaluation_id}", data={"decision": "accept",
                                                                      "csrf_token": csrf(page)}).status_code == 403
    assert browser.post(f"/review/courses/{course_id}/end", data={"date": day(0), "reason": "completed",
                                                                  "csrf_token": csrf(page)}).status_code == 403
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="end-form"' not in body and 'id="next-form"' not in body
    assert "the referral's evaluation" not in body
    trail = authorised(app, "admin").get("/v1/audit?limit=100").get_json()["items"]
    denied = {(r["action"], r["channel"]) for r in trail if r["outcome"] == "denied"}
    assert denied == {("evaluation.read", "page"), ("course.list", "page"), ("evaluation.review", "page"),
                      ("course.end", "page")}


def test_the_technician_records_through_forms_that_need_their_token_and_refuse_what_the_api_refuses(app, course_id):
    browser, _ = sign_in(app, issue_key(app, "technician"))
    page = browser.get(f"/review/courses/{course_id}")
    path = f"/review/courses/{course_id}"
    assert browser.post(f"{path}/sessions", data={"date": day(0), "completed": "true"}).status_code == 400
    done = browser.post(f"{path}/sessions", data={"date": day(-1), "motor_threshold_percent": "51",
                                                  "intensity_percent_mt": "120", "pulses": "600", "completed": "true",
                                                  "csrf_token": csrf(page)})
    assert done.status_code == 303 and done.headers["Location"].endswith("recorded=session#record")
    stopped = browser.post(f"{path}/sessions", data={"date": day(0), "csrf_token": csrf(page)})  # box unticked
    assert stopped.status_code == 303
    wrong = browser.post(f"{path}/ratings", data={"date": day(0), "instrument": "madrs", "score": "14",
                                                  "item9": "1", "csrf_token": csrf(page)})
    assert wrong.status_code == 422
    assert "belongs to a PHQ-9 rating only" in text(wrong) and 'aria-invalid="true"' in wrong.get_data(as_text=True)
    early = browser.post(f"{path}/ratings", data={"date": day(-30), "instrument": "phq-9", "score": "9",
                                                  "csrf_token": csrf(page)})
    assert early.status_code == 422 and "Before the course's start" in text(early)
    rated = browser.post(f"{path}/ratings", data={"date": day(0), "instrument": "phq-9", "score": "9",
                                                  "item9": "0", "csrf_token": csrf(page)}, follow_redirects=True)
    assert "Rating recorded." in text(rated) and "55.0% from the baseline" in text(rated)
    course = authorised(app, "clinician").get(f"/v1/courses/{course_id}").get_json()
    assert [(s["date"], s["completed"], s["pulses"]) for s in course["sessions"]] == [(day(-1), True, 600),
                                                                                       (day(0), False, None)]
    assert [(r["instrument"], r["score"], r["item9"]) for r in course["ratings"]] == [("phq-9", 9, 0)]


def test_a_clinician_sees_the_list_with_alert_filters_the_chart_and_the_alert_banner(app, course_id):
    technician = authorised(app, "technician")
    technician.post(f"/v1/courses/{course_id}/sessions", json={"date": day(-19)})
    technician.post(f"/v1/courses/{course_id}/ratings", json={"instrument": "phq-9", "score": 15, "date": day(-12)})
    technician.post(f"/v1/courses/{course_id}/adverse-events", json={"date": day(-5), "kind": "seizure",
                                                                     "severity": "serious", "action": "stopped"})
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    listed = browser.get("/review/courses?alert=seizure")
    assert listed.status_code == 200 and "page-course" in text(listed) and "Critical seizure" in text(listed)
    assert "No courses match." in text(browser.get("/review/courses?alert=mania"))
    page = browser.get(f"/review/courses/{course_id}")
    body = page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "<script" not in body and "style=" not in body
    banner = re.search(r'<section class="alert-banner[^"]*".*?</section>', body, re.S).group(0)
    assert "Critical" in banner and "seizure" in banner
    svg = re.search(r"<svg.*?</svg>", body, re.S).group(0)
    for part in ('class="chart-baseline"', 'class="chart-response"', 'class="chart-remission"', "Baseline 20",
                 "50% response (10)", "Remission ≤ 4", 'class="chart-session"', "chart-event chart-event-alert",
                 "<title id=\"chart-title\">PHQ-9 over the course</title>", "seizure (serious; action: stopped)"):
        assert part in svg, part
    assert 'id="end-form"' in body and 'id="next-form"' in body and "the referral's evaluation" in body


def test_a_clinician_ends_a_course_and_evaluates_its_next_step_from_the_page(app, course_id):
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    path = f"/review/courses/{course_id}"
    page = browser.get(path)
    bad = browser.post(f"{path}/end", data={"date": day(0), "reason": "", "csrf_token": csrf(page)})
    assert bad.status_code == 422 and 'id="end-form"' in bad.get_data(as_text=True)
    ended = browser.post(f"{path}/end", data={"date": day(0), "reason": "completed", "csrf_token": csrf(page)},
                         follow_redirects=True)
    assert "Course ended." in text(ended) and 'id="session-form"' not in ended.get_data(as_text=True)
    again = browser.post(f"{path}/end", data={"date": day(0), "reason": "completed", "csrf_token": csrf(page)})
    assert again.status_code == 409 and "already ended" in text(again)
    evaluated = browser.post(f"{path}/next", data={"kind": "retreatment", "sessions": "30",
                                                   "policies": ["aetna-cpb-0469", "cms-lcd-l34998"],
                                                   "csrf_token": csrf(page)})
    assert evaluated.status_code == 303 and "/review/evaluations/" in evaluated.headers["Location"]
    evaluation_page = browser.get(evaluated.headers["Location"])
    assert "Aetna" in text(evaluation_page)
    link = re.search(r'<p class="course-links"><a href="([^"]+)"', evaluation_page.get_data(as_text=True)).group(1)
    listed = browser.get(link.replace("&amp;", "&"))
    assert "page-course" in text(listed)
