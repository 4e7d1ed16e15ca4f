"""The review page in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven
through Selenium against ``tms-eligibility serve``: sign in, open the queue, open an evaluation, override it
with a reason, and see the status change; the audit trail records exactly that.

Selenium is given both binaries, so its manager never looks for (or downloads) a browser or driver. The
test skips when they are missing, except under CI (``CI`` set), where it fails: ``.ci/run`` installs them.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from .conftest import example, first_run_keys, http, serving

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1366,900")

webdriver = pytest.importorskip("selenium.webdriver") if not os.environ.get("CI") else __import__(
    "selenium.webdriver", fromlist=["webdriver"])


@pytest.fixture
def browser(tmp_path):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing {missing}: .ci/run installs chromium and chromium-driver")
        pytest.skip(f"missing {missing}: apt-get install chromium chromium-driver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER,
                                                               log_output=str(tmp_path / "chromedriver.log")))
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(5)  # find_element waits for a page that is still loading after a click
    try:
        yield driver
    finally:
        driver.quit()


def test_a_clinician_signs_in_opens_the_queue_and_overrides_an_evaluation_with_a_reason(database, tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import Select, WebDriverWait


    with serving(database, tmp_path) as (base, log):
        keys = first_run_keys(log)
        intake = {"Authorization": keys["intake"]}
        status, _, body = http(base, "POST", "/v1/evaluations", example("classic-trd"), intake)
        assert status == 201
        evaluation_id = json.loads(body)["id"]

        # Sign in, by keyboard: type the key and press Enter.
        browser.get(f"{base}/review/")
        assert browser.current_url.endswith("/review/sign-in")
        key_field = browser.find_element(By.ID, "key")
        key_field.send_keys(keys["clinician"].removeprefix("Bearer "), Keys.ENTER)
        wait = WebDriverWait(browser, 15)
        wait.until(until.url_contains("/review/queue"))
        cookie = browser.get_cookie("tms_review")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        # The queue: one pending row, with the reference, its determination and status.
        rows = browser.find_elements(By.CSS_SELECTOR, "table.queue tbody tr")
        assert len(rows) == 1
        assert "referral-1001" in rows[0].text and "Meets criteria" in rows[0].text and "Pending" in rows[0].text
        browser.save_screenshot(str(tmp_path / "queue.png"))
        rows[0].find_element(By.LINK_TEXT, "referral-1001").click()
        wait.until(until.url_contains(f"/review/evaluations/{evaluation_id}"))

        # The evaluation: the criteria, the trial evidence as rows, the measures.
        assert browser.find_element(By.ID, "review-status").text == "Pending review"
        page = browser.find_element(By.TAG_NAME, "main").text
        assert "At least one failed adequate antidepressant trial in the current episode" in page
        trial_rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.evidence tbody tr")]
        assert any("sertraline" in r and "150 mg" in r and "10" in r and "no response" in r for r in trial_rows)
        assert "Maudsley Staging Method" in page and "Thase–Rush stage" in page

        # Override with a reason.
        browser.find_element(By.CSS_SELECTOR, "input[name=decision][value=override]").click()
        Select(browser.find_element(By.ID, "determination-field")).select_by_value("insufficient_information")
        browser.find_element(By.ID, "reason-field").send_keys("Adherence to venlafaxine is not documented.")
        browser.find_element(By.CSS_SELECTOR, "form.review-form button[type=submit]").click()
        wait.until(until.url_contains("recorded=1"))

        assert browser.find_element(By.ID, "review-status").text == "Overridden"
        assert "Review 1 recorded." in browser.find_element(By.CSS_SELECTOR, ".notice").text
        current = browser.find_element(By.CSS_SELECTOR, "#review .review-entry").text
        assert "Insufficient information" in current and "local clinician (first run)" in current
        assert "Adherence to venlafaxine is not documented." in current
        browser.execute_script("document.getElementById('review').scrollIntoView()")
        browser.save_screenshot(str(tmp_path / "overridden.png"))
        browser.set_window_size(1366, 4000)
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(tmp_path / "evaluation-full.png"))

        # Back in the queue, pending no longer lists it; "Overridden" does.
        browser.find_element(By.LINK_TEXT, "← Review queue").click()
        wait.until(until.url_contains("/review/queue"))
        assert browser.find_element(By.CSS_SELECTOR, "p.empty").text == "No evaluations match."
        Select(browser.find_element(By.ID, "status")).select_by_value("overridden")
        browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
        wait.until(until.url_contains("status=overridden"))
        assert "Overridden" in browser.find_element(By.CSS_SELECTOR, "table.queue tbody tr").text

        # The API shows the same review, and the audit trail what the browser did, in order.
        evaluation = json.loads(http(base, "GET", f"/v1/evaluations/{evaluation_id}", headers=intake)[2])
        assert evaluation["review"]["status"] == "overridden"
        assert evaluation["review"]["reason"] == "Adherence to venlafaxine is not documented."
        trail = json.loads(http(base, "GET", "/v1/audit?limit=100", headers={"Authorization": keys["admin"]})[2])
        page_rows = [(r["action"], r["evaluation_id"], r["review_number"]) for r in reversed(trail["items"])
                     if r["channel"] == "page"]
        assert page_rows == [("session.start", None, None), ("evaluation.list", None, None),
                             ("evaluation.read", evaluation_id, None), ("evaluation.review", evaluation_id, 1),
                             ("evaluation.read", evaluation_id, None), ("evaluation.list", None, None),
                             ("evaluation.list", None, None)]
        assert "venlafaxine" not in json.dumps(trail)
    print(f"screenshots: {tmp_path}")


def test_a_technician_records_a_session_and_a_rating_and_a_clinician_sees_the_chart_and_the_alert(
        database, tmp_path, browser):
    from datetime import UTC, datetime, timedelta

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import Select, WebDriverWait

    today = datetime.now(UTC).date()
    with serving(database, tmp_path, TMS_ADMIN_MAY_CREATE_CLINICAL_KEYS="1") as (base, log):
        keys = first_run_keys(log)
        admin, clinician = {"Authorization": keys["admin"]}, {"Authorization": keys["clinician"]}
        technician_key = json.loads(http(base, "POST", "/v1/keys", json.dumps(
            {"name": "TMS operator", "role": "technician"}).encode(), admin)[2])["key"]
        evaluation_id = json.loads(http(base, "POST", "/v1/evaluations", example("classic-trd"),
                                        {"Authorization": keys["intake"]})[2])["id"]
        status, _, body = http(base, "POST", "/v1/courses", json.dumps({
            "evaluation_id": evaluation_id, "reference": "course-browser", "protocol": "rtms_10hz",
            "planned_sessions": 30, "taper_sessions": 6, "start_date": (today - timedelta(days=7)).isoformat(),
            "baseline": {"instrument": "phq-9", "score": 20, "date": (today - timedelta(days=8)).isoformat()}}
        ).encode(), clinician)
        assert status == 201
        course_id = json.loads(body)["id"]
        wait = WebDriverWait(browser, 15)

        def sign_in(key: str) -> None:
            browser.get(f"{base}/review/sign-in")
            browser.find_element(By.ID, "key").send_keys(key)
            browser.find_element(By.CSS_SELECTOR, "form.sign-in button").click()
            wait.until(until.url_contains("/review/courses" if key == technician_key else "/review/queue"))

        # The technician finds the course by its id and records a session and a rating (item 9 answered 1).
        sign_in(technician_key)
        browser.find_element(By.ID, "course-id").send_keys(course_id)
        browser.find_element(By.CSS_SELECTOR, "form.sign-in button").click()
        wait.until(until.url_contains(f"/review/courses/{course_id}"))
        browser.find_element(By.ID, "session-pulses").send_keys("3000")
        browser.find_element(By.CSS_SELECTOR, "#session-form button").click()
        wait.until(until.url_contains("recorded=session"))
        browser.find_element(By.ID, "rating-score").send_keys("13")
        Select(browser.find_element(By.ID, "rating-item9")).select_by_value("1")
        browser.find_element(By.CSS_SELECTOR, "#rating-form button").click()
        wait.until(until.url_contains("recorded=rating"))
        assert "Rating recorded." in browser.find_element(By.CSS_SELECTOR, ".notice").text
        browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
        wait.until(until.url_contains("/review/sign-in"))

        # The clinician finds it among the courses with an alert, and sees the banner and the chart.
        sign_in(keys["clinician"].removeprefix("Bearer "))
        browser.get(f"{base}/review/courses?alert=suicidality")
        rows = browser.find_elements(By.CSS_SELECTOR, "table.courses tbody tr")
        assert len(rows) == 1 and "course-browser" in rows[0].text and "suicidality" in rows[0].text
        rows[0].find_element(By.LINK_TEXT, "course-browser").click()
        wait.until(until.url_contains(f"/review/courses/{course_id}"))
        banner = browser.find_element(By.ID, "alerts").text
        assert "CRITICAL" in banner.upper() and "suicidality" in banner and "item 9" in banner
        chart = browser.find_element(By.CSS_SELECTOR, "svg.chart")
        assert chart.size["width"] > 300 and chart.size["height"] > 100
        labels = [t.text for t in chart.find_elements(By.TAG_NAME, "text")]
        assert {"Baseline 20", "50% response (10)", "Remission ≤ 4", "13"} <= set(labels)
        assert len(chart.find_elements(By.CSS_SELECTOR, "line.chart-session")) == 1
        assert browser.find_element(By.ID, "progress-status").text == "Partial (25-49%)"
        browser.set_window_size(1366, 2400)
        browser.save_screenshot(str(tmp_path / "course.png"))
    print(f"screenshots: {tmp_path}")


def _pdf_title(pdf: bytes) -> str:
    """The document information's /Title of a PDF Chromium printed: a literal string, or UTF-16BE in hex."""
    import re

    found = re.search(rb"/Title\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)", pdf)
    assert found, "the PDF has no /Title"
    value = found.group(1)
    if value.startswith(b"<"):
        raw = bytes.fromhex(value[1:-1].decode().replace(" ", ""))
        return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")
    return re.sub(rb"\\(.)", rb"\1", value[1:-1]).decode("latin-1")


def test_a_clinician_reviews_one_payer_of_seven_with_attestations_prints_its_packet_and_the_phone_fits(
        database, tmp_path, browser):
    import base64

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import Select, WebDriverWait

    shots = Path(os.environ.get("REVIEW_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    document = json.loads(example("classic-trd"))
    document["policies"] = ["tms-clinical", "aetna-cpb-0469", "bcbsa-mp-170", "cigna-0383", "cms-lcd-l34522",
                            "optum-bh-tms", "centene-cp-bh-200"]
    with serving(database, tmp_path) as (base, log):
        keys = first_run_keys(log)
        intake = {"Authorization": keys["intake"]}
        status, _, body = http(base, "POST", "/v1/evaluations", json.dumps(document).encode(), intake)
        assert status == 201
        evaluation = json.loads(body)
        evaluation_id = evaluation["id"]
        aetna = next(r for r in evaluation["results"] if r["policy"]["id"] == "aetna-cpb-0469")
        wait = WebDriverWait(browser, 15)

        def fits(name: str) -> None:
            """No sideways scrolling of the page at 390 px; a screenshot of what the phone shows."""
            browser.save_screenshot(str(shots / f"{name}-390.png"))
            width, inner = browser.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]")
            assert width <= inner, f"{name}: the page is {width} px wide in a {inner} px window"

        browser.get(f"{base}/review/sign-in")
        browser.find_element(By.ID, "key").send_keys(keys["clinician"].removeprefix("Bearer "))
        browser.find_element(By.CSS_SELECTOR, "form.sign-in button").click()
        wait.until(until.url_contains("/review/queue"))

        # The summary first: every payer with its determination and counts, before the history.
        browser.get(f"{base}/review/evaluations/{evaluation_id}")
        summary = browser.find_element(By.ID, "summary").text
        assert "Medicare LCD L34522" in summary and "Insufficient information" in summary
        assert browser.find_element(By.ID, "summary").location["y"] < browser.find_element(
            By.ID, "referral").location["y"]
        browser.save_screenshot(str(shots / "evaluation-1366.png"))
        browser.set_window_size(1366, 6000)
        for section in ("summary", "referral"):
            browser.find_element(By.ID, section).screenshot(str(shots / f"evaluation-{section}-1366.png"))
        browser.set_window_size(1366, 900)

        # Submitting to Aetna: pick it, tick two documents, accept.
        Select(browser.find_element(By.ID, "policy-choice")).select_by_value("aetna-cpb-0469")
        browser.find_element(By.CSS_SELECTOR, "form.submitting-to button").click()
        wait.until(until.url_contains("policy=aetna-cpb-0469"))
        assert aetna["policy"]["title"] in browser.find_element(By.ID, "chosen-policy").text
        boxes = browser.find_elements(By.CSS_SELECTOR, "input[name=attested]")
        assert len(boxes) == len(aetna["documentation_requirements"]) >= 2
        ticked = [boxes[0].get_attribute("value"), boxes[1].get_attribute("value")]
        for box in boxes[:2]:
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
            box.click()
        browser.find_element(By.CSS_SELECTOR, "input[name=decision][value=accept]").click()
        browser.find_element(By.CSS_SELECTOR, "form.review-form button[type=submit]").click()
        wait.until(until.url_contains("recorded=1"))
        assert "Review 1 recorded." in browser.find_element(By.CSS_SELECTOR, ".notice").text
        assert "Dr" not in ticked  # ids, not names
        browser.save_screenshot(str(shots / "reviewed-1366.png"))

        # The packet, printed to PDF by Chromium (print stylesheet).
        browser.find_element(By.ID, "packet-link").click()
        wait.until(until.url_contains("/packet"))
        assert browser.find_element(By.ID, "packet-title").text == aetna["policy"]["title"]
        assert browser.find_element(By.ID, "packet-review").text.count("local clinician (first run)") == 1
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        browser.set_window_size(900, 3000)
        browser.save_screenshot(str(shots / "packet-print.png"))  # what the print stylesheet keeps
        assert not browser.find_element(By.CSS_SELECTOR, "header.bar").is_displayed()
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        browser.set_window_size(1366, 900)
        pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})["data"])
        (shots / "packet.pdf").write_bytes(pdf)
        assert pdf.startswith(b"%PDF") and len(pdf) > 5000
        assert aetna["policy"]["title"] in _pdf_title(pdf)
        saved = json.loads(http(base, "GET", f"/v1/evaluations/{evaluation_id}", headers=intake)[2])["review"]
        assert next(p for p in saved["policies"] if p["policy"] == "aetna-cpb-0469")["attested"] == ticked

        # A phone: neither the queue nor the seven-policy evaluation scrolls sideways.
        browser.set_window_size(390, 844)
        browser.get(f"{base}/review/queue?status=all")
        fits("queue")
        browser.get(f"{base}/review/evaluations/{evaluation_id}")
        fits("evaluation")
        browser.set_window_size(390, 9000)  # tall, so each section is seen whole
        for section in ("summary", "referral", "missing", "review"):
            browser.find_element(By.ID, section).screenshot(str(shots / f"evaluation-{section}-390.png"))
        browser.set_window_size(390, 844)
        browser.get(f"{base}/review/evaluations/{evaluation_id}/packet?policy=aetna-cpb-0469")
        fits("packet")

        browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
        wait.until(until.url_contains("/review/sign-in"))
    print(f"screenshots: {shots}")
