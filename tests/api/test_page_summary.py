"""The review page for a referral under seven policies: the summary first, the history once, the missing
information once, a review per payer with its attestations, the packet, and the triage queue."""

from __future__ import annotations

import html
import re

from .conftest import example, issue_key, post
from .test_page import csrf, sign_in
from .test_policy_reviews import seven_policy_evaluation


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def test_the_summary_comes_first_and_the_history_and_missing_information_appear_once(app, client, tmp_path):
    evaluation = seven_policy_evaluation(client)
    browser, _ = sign_in(app, issue_key(app, "clinician", "Dr Seven"))
    page = browser.get(f"/review/evaluations/{evaluation['id']}")
    html = page.get_data(as_text=True)
    (tmp_path / "seven.html").write_text(html)
    text = text_of(page)
    assert page.status_code == 200
    summary_at, history_at, policies_at = (html.index('id="summary"'), html.index('id="referral"'),
                                           html.index('id="policy-1"'))
    assert summary_at < history_at < policies_at
    head = text[:text.index("Referral and treatment history")]
    # every policy with its determination and counts, and the not-met and unknown criteria with their reasons
    assert "Medicare LCD L34522 Insufficient information" in head and "1 unknown" in head
    session_limit = next(c for r in evaluation["results"] if r["policy"]["id"] == "cms-lcd-l34522"
                         for c in r["criteria"] if c["id"] == "session-limit")
    assert session_limit["reason"] in head
    assert "Criteria by policy (25 criteria × 7 policies)" in head
    # the medication history once, with the catalogue range, the weeks against each policy and who cites it
    assert html.count('<table class="evidence trials stack">') == 1
    assert "sertraline 150 mg 50 mg – 200 mg 10" in text
    assert "aripiprazole 5 mg 2 mg – 15 mg 8" in text
    assert "Rating scales" in text and "Psychotherapy trials" in text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline"' in html
    assert "<script" not in html
    # met criteria folded
    assert html.count('<details class="met">') == 7
    # a review form per payer is one choice away
    assert html.count("Review for this payer") == 7


def test_missing_information_is_consolidated_in_plain_words_with_a_request_text(app, client):
    import json
    document = json.loads(example("incomplete-referral"))
    document["policies"] = ["tms-clinical", "aetna-cpb-0469", "cms-lcd-l34522", "centene-cp-bh-200"]
    evaluation_id = post(client, document).get_json()["id"]
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    html = browser.get(f"/review/evaluations/{evaluation_id}").get_data(as_text=True)
    section = html[html.index('id="missing"'):html.index('aria-label="Policies in this evaluation"')]
    items = re.findall(r"<li><strong>([^<]+)</strong>", section)
    assert len(items) == len(set(items)) > 5  # one entry per field
    shown = re.sub(r"<[^>]+>", " ", section)
    assert "as_of" not in shown and "/safety" not in shown and "/scales" not in shown
    assert "To complete the TMS referral" in section and 'readonly' in section


def test_a_review_for_one_payer_with_attestations_and_its_packet(app, client):
    evaluation = seven_policy_evaluation(client)
    evaluation_id = evaluation["id"]
    aetna = next(r for r in evaluation["results"] if r["policy"]["id"] == "aetna-cpb-0469")
    wanted = [d["id"] for d in aetna["documentation_requirements"]][:2]
    browser, _ = sign_in(app, issue_key(app, "clinician", "Dr Payer"))
    page = browser.get(f"/review/evaluations/{evaluation_id}?policy=aetna-cpb-0469")
    html = page.get_data(as_text=True)
    assert "Submitting to:" in html and html.count('name="attested"') == len(aetna["documentation_requirements"])
    form = {"csrf_token": csrf(page), "policy": "aetna-cpb-0469", "decision": "accept", "attested": wanted}
    done = browser.post(f"/review/evaluations/{evaluation_id}", data=form)
    assert done.status_code == 303 and "policy=aetna-cpb-0469" in done.headers["Location"]
    again = browser.post(f"/review/evaluations/{evaluation_id}", data=form)  # sent again: nothing new
    assert again.status_code == 303
    review = client.get(f"/v1/evaluations/{evaluation_id}").get_json()["review"]
    aetna_review = next(p for p in review["policies"] if p["policy"] == "aetna-cpb-0469")
    assert aetna_review["attested"] == wanted and aetna_review["number"] == 1 and "earlier" not in aetna_review
    bad = browser.post(f"/review/evaluations/{evaluation_id}",
                       data={**form, "attested": ["not-a-requirement"], "amends": "1", "reason": "x"})
    assert bad.status_code == 422 and "not-a-requirement" in bad.get_data(as_text=True)

    packet = browser.get(f"/review/evaluations/{evaluation_id}/packet?policy=aetna-cpb-0469")
    text = text_of(packet)
    assert packet.status_code == 200 and aetna["policy"]["title"] in text
    assert text.count("Attested:") == 2 and "Dr Payer" in text and "Accepted (review 1)" in text
    assert browser.get(f"/review/evaluations/{evaluation_id}/packet?policy=nope").status_code == 404

    queue = text_of(browser.get("/review/queue?status=all"))
    assert ("Aetna Clinical Policy Bulletin 0469 : Insufficient information 0 not met · 1 unknown · Accepted as "
            "Insufficient information") in queue
    assert "Dr Payer (you)" in queue
    mine = browser.get("/review/queue?status=all&mine=1").get_data(as_text=True)
    assert evaluation_id in mine
    other, _ = sign_in(app, issue_key(app, "clinician", "Dr Other"))
    assert evaluation_id not in other.get("/review/queue?status=all&mine=1").get_data(as_text=True)


def test_the_queue_sorts_oldest_first_on_request(app, client):
    first = post(client, example("classic-trd")).get_json()["id"]
    second = post(client, example("aneurysm-clip")).get_json()["id"]
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    newest = browser.get("/review/queue").get_data(as_text=True)
    oldest = browser.get("/review/queue?sort=oldest").get_data(as_text=True)
    assert newest.index(second) < newest.index(first) and oldest.index(first) < oldest.index(second)
    assert 'class="det det-contraindicated"' in newest


def test_cautions_show_once_and_dated_treatments_are_drawn_on_the_timeline(app, client):
    import json
    document = json.loads(example("classic-trd"))
    document["policies"] = ["tms-clinical", "aetna-cpb-0469", "cigna-0383", "optum-bh-tms"]
    document["safety"]["cardiac_device"] = True
    document["medication_trials"][0].update(start_date="2025-09-01", end_date="2025-11-10")
    document["medication_trials"][1].update(start_date="2025-11-15", end_date="2026-01-10")
    document["medication_trials"][2]["daily_dose_mg"] = 1
    created = post(client, document).get_json()
    details = [k["detail"] for r in created["results"] for k in r["cautions"]]
    assert details and len(set(details)) < len(details)  # several policies caution about the device
    browser, _ = sign_in(app, issue_key(app, "clinician"))
    html = browser.get(f"/review/evaluations/{created['id']}").get_data(as_text=True)
    banner = html[html.index('id="cautions"'):html.index('id="summary"')]
    assert banner.count('<span class="alert-tag tag-warning">Caution</span>') == len(set(details))
    assert html.index('id="cautions"') < html.index('id="summary"') < html.index('id="referral"')
    svg = html[html.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline"'):]
    svg = svg[:svg.index("</svg>")]
    assert svg.count('class="timeline-bar"') == 2 and ">sertraline<" in svg and ">PHQ-9 22<" in svg
    assert "<title>sertraline: 2025-09-01 to 2025-11-10</title>" in svg
    text = text_of(browser.get(f"/review/evaluations/{created['id']}"))
    assert "2 treatment(s) without dates are listed below but not drawn" in text
    assert "aripiprazole 1 mg (below the catalogue's minimum adequate dose) 2 mg – 15 mg" in text
