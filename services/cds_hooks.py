"""CDS Hooks 2.0 service (contract section 7): discovery, the order-sign and order-select hooks, feedback.

A hook call whose draft orders hold a TMS ``ServiceRequest`` (CPT 90867-90869; for ``order-select``, one of
the ``selections``) is answered with one card per configured policy, from an evaluation stored like any other:
the patient's record comes from the request's ``prefetch``, and what it does not hold is fetched from its
``fhirServer`` with its ``fhirAuthorization``; without either, ``PrefetchUnavailable`` (412). No TMS order:
no cards and nothing stored. Feedback on a card goes into the audit trail with the card's evaluation.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from datetime import date, datetime

from eligibility import Library
from eligibility.fhir import InvalidBundle, is_tms_order

from .audit import Caller
from .clock import Clock, utc_now
from .documents import dumps
from .errors import Invalid
from .fhir import evaluate_bundle
from .records import Received
from .unit_of_work import UnitOfWork

SERVICE_ID = "tms-eligibility"
HOOKS = ("order-sign", "order-select")
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
}
CARD_NAMESPACE = uuid.UUID("6f1c5b1e-0d3a-4d8e-9a47-2b8c1f3e7a10")
SUMMARY_MAX = 139  # characters: the specification's "< 140"
PAGES_MAX = 20  # of one search fetched from the FHIR server
INDICATORS = {"meets_criteria": "info", "does_not_meet_criteria": "warning", "insufficient_information": "warning",
              "contraindicated": "critical"}
VERDICTS = {"meets_criteria": "meets the criteria", "does_not_meet_criteria": "does not meet the criteria",
            "insufficient_information": "cannot be decided: information is missing",
            "contraindicated": "is contraindicated"}

Fetcher = Callable[[str, str, str | None], object]  # (fhirServer, relative URL, access token) -> JSON


class PrefetchUnavailable(Exception):
    """What the service needs is neither prefetched nor fetchable (412)."""


def discovery() -> dict:
    """``GET /cds-services``: the service, once for each hook it answers."""
    description = ("Checks a TMS order (CPT 90867-90869) against the configured TMS coverage and clinical policies "
                   "and answers one card per policy: whether the patient meets its criteria, what is not met or "
                   "unknown and what would change that, with a link to the stored evaluation's review page.")
    return {"services": [{"hook": hook, "title": "TMS eligibility", "description": description, "id": SERVICE_ID,
                          "prefetch": dict(PREFETCH)} for hook in HOOKS]}


def card_uuid(evaluation_id: str, policy_id: str) -> str:
    """A card's uuid: derived from its evaluation and policy, so it is known before the evaluation is stored."""
    return str(uuid.uuid5(CARD_NAMESPACE, f"{evaluation_id}/{policy_id}"))


# -- the hook request -------------------------------------------------------------------------------------

def _check_request(document) -> tuple[str, dict]:
    errors: dict[str, list[str]] = {}
    if not isinstance(document, dict):
        raise Invalid("The hook request must be a JSON object.", {"": ["Not an object."]})
    hook = document.get("hook")
    if hook not in HOOKS:
        errors["/hook"] = [f"This service answers {' and '.join(HOOKS)}."]
    if not isinstance(document.get("hookInstance"), str) or not document["hookInstance"]:
        errors["/hookInstance"] = ["Required: a string."]
    context = document.get("context")
    if not isinstance(context, dict):
        errors["/context"] = ["Required: an object."]
        context = {}
    if not isinstance(context.get("patientId"), str) or not context["patientId"]:
        errors["/context/patientId"] = ["Required: a string."]
    orders = context.get("draftOrders")
    if not isinstance(orders, dict) or orders.get("resourceType") != "Bundle":
        errors["/context/draftOrders"] = ["Required: a FHIR Bundle of the draft orders."]
    if hook == "order-select" and not (isinstance(context.get("selections"), list)
                                       and all(isinstance(s, str) for s in context["selections"])):
        errors["/context/selections"] = ["Required for order-select: the ids of the orders selected."]
    for name in ("prefetch", "fhirAuthorization"):
        if name in document and document[name] is not None and not isinstance(document[name], dict):
            errors[f"/{name}"] = ["Must be an object."]
    if "fhirServer" in document and not (isinstance(document["fhirServer"], str)
                                         and document["fhirServer"].startswith(("https://", "http://"))):
        errors["/fhirServer"] = ["Must be an http(s) URL."]
    if errors:
        raise Invalid("The hook request is not one this service reads; every problem is listed in errors.", errors)
    return hook, context


def tms_orders(hook: str, context: dict) -> list[tuple[int, dict]]:
    """The draft TMS ServiceRequests (with their entry index); for order-select, only those selected."""
    selected = set(context.get("selections") or [])
    found = []
    for i, entry in enumerate(context["draftOrders"].get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not is_tms_order(resource):
            continue
        if hook == "order-select" and f"ServiceRequest/{resource.get('id')}" not in selected:
            continue
        found.append((i, resource))
    return found


def fetch_fhir(server: str, relative: str, access_token: str | None, timeout: float = 10.0):
    """GET ``server/relative`` as FHIR JSON with the hook's bearer token; a 404 is ``None``."""
    url = server.rstrip("/") + "/" + relative.lstrip("/")
    headers = {"Accept": "application/fhir+json"}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise PrefetchUnavailable(f"The FHIR server answered {exc.code} to {relative.split('?')[0]}.") from None
    except (OSError, ValueError) as exc:
        raise PrefetchUnavailable(f"The FHIR server could not be read ({type(exc).__name__}).") from None


def _resources(value, where: str) -> list[tuple[dict, str]]:
    """The resources a prefetch value holds (a resource, or a searchset Bundle's entries), with pointers."""
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") != "Bundle":
        return [(value, where)]
    found = []
    for i, entry in enumerate(value.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") != "OperationOutcome":
            found.append((resource, f"{where}/entry/{i}/resource"))
    return found


def _gather(document: dict, context: dict, fetch: Fetcher) -> list[tuple[dict, str]]:
    """Every prefetch key's resources: from ``prefetch``, else fetched from ``fhirServer`` (412 without one)."""
    prefetch = document.get("prefetch") or {}
    server = document.get("fhirServer")
    token = (document.get("fhirAuthorization") or {}).get("access_token")
    patient_id = urllib.parse.quote(context["patientId"], safe="")
    gathered: list[tuple[dict, str]] = []
    for key, template in PREFETCH.items():
        if key in prefetch:  # null: the client has no such data
            gathered.extend(_resources(prefetch[key], f"/prefetch/{key}"))
            continue
        if not server:
            raise PrefetchUnavailable(f"The prefetch {key!r} is missing and the request names no fhirServer to "
                                      "fetch it from.")
        relative = template.replace("{{context.patientId}}", patient_id)
        base = server.rstrip("/") + "/"
        value, page = fetch(server, relative, token), 0
        while True:
            gathered.extend(_resources(value, f"fhirServer:{relative}"))
            page += 1
            following = _next_link(value)
            # a next page elsewhere than the hook's server is not followed: its token is for that server only
            if not following or not following.startswith(base) or page >= PAGES_MAX:
                break
            value = fetch(server, following[len(base):], token)
    return gathered


def _next_link(value) -> str | None:
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return None
    return next((link.get("url") for link in value.get("link") or []
                 if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str)),
                None)


def _bundle(gathered: list[tuple[dict, str]], orders: list[tuple[int, dict]], patient_id: str):
    entries, origins, seen = [], [], set()
    patient = next((r for r, _ in gathered if r.get("resourceType") == "Patient" and r.get("id") == patient_id),
                   None)
    if patient is None:
        raise PrefetchUnavailable(f"The patient {patient_id!r} is neither prefetched nor on the FHIR server.")
    records = [(r, w) for r, w in gathered if r.get("resourceType") != "Patient" or r is patient]
    records += [(r, f"/context/draftOrders/entry/{i}/resource") for i, r in orders]
    for resource, where in records:
        identity = (resource.get("resourceType"), resource.get("id"))
        if identity[1] is not None and identity in seen:
            continue
        seen.add(identity)
        entries.append({"resource": resource})
        origins.append(where)
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}, origins


def _rekey(errors: dict[str, list[str]], origins: list[str]) -> dict[str, list[str]]:
    rekeyed: dict[str, list[str]] = {}
    for pointer, messages in errors.items():
        parts = pointer.split("/")
        if len(parts) >= 4 and parts[1] == "entry" and parts[2].isdigit() and parts[3] == "resource":
            where = origins[int(parts[2])] + "/".join([""] + parts[4:])
        else:
            where = pointer
        rekeyed.setdefault(where, []).extend(messages)
    return rekeyed


# -- cards ------------------------------------------------------------------------------------------------

def _summary(result: dict, title: str) -> str:
    text = f"TMS order {VERDICTS[result['determination']]}: {title}"
    return text if len(text) <= SUMMARY_MAX else text[:SUMMARY_MAX - 1].rstrip() + "…"


def _detail(result: dict) -> str:
    lines = [f"**{result['policy']['title']}** (`{result['policy']['id']}` {result['policy']['version']}): "
             f"{result['determination'].replace('_', ' ')}."]
    missing: dict[str, list[dict]] = {}
    for item in result.get("missing_information") or []:
        missing.setdefault(item["needed_for"], []).append(item)
    open_criteria = [c for c in result["criteria"] if c["status"] != "met"]
    if open_criteria:
        lines.append("")
        lines.append("What is not met or not known, and what would change it:")
    for criterion in open_criteria:
        status = "not met" if criterion["status"] == "not_met" else "unknown"
        lines.append(f"- **{criterion['title']}** ({status}): {criterion['reason']}")
        to_meet = criterion.get("to_meet") or []
        if to_meet:
            lines.extend(f"  - To meet it: {step['text']}" for step in to_meet if isinstance(step, dict))
        for item in missing.get(criterion["id"], []):
            lines.append(f"  - Add: {item['detail']} (`{item['field']}`)")
    if result.get("cautions"):
        lines.append("")
        lines.append("Cautions: " + "; ".join(c["detail"] for c in result["cautions"]))
    return "\n".join(lines)


def cards(body: dict, policies: dict, review_url: str) -> list[dict]:
    """One card per result of a stored evaluation's body; ``policies`` maps id -> (publisher, source URL)."""
    made = []
    for result in body["results"]:
        policy = result["policy"]
        publisher, url = policies[policy["id"]]
        source = {"label": publisher}
        if url:
            source["url"] = url
        made.append({
            "uuid": card_uuid(body["id"], policy["id"]),
            "summary": _summary(result, policy["title"]),
            "indicator": INDICATORS[result["determination"]],
            "source": source,
            "detail": _detail(result),
            "links": [{"label": "Review the evaluation", "url": review_url, "type": "absolute"}],
        })
    return made


# -- the use cases ----------------------------------------------------------------------------------------

def answer_hook(uow: UnitOfWork, library: Library, document, caller: Caller, *, review_base: str,
                policies: tuple[str, ...] | None = None, fetch: Fetcher = fetch_fhir, clock: Clock = utc_now,
                as_of: date | None = None) -> dict:
    """Answer a hook request (see the module's docstring); each call with a TMS order stores its evaluation.

    :raises services.errors.Invalid: the request is not a hook request this service reads, or the record it
        gives is not valid FHIR R4 (pointers into the request).
    :raises PrefetchUnavailable: the record is neither prefetched nor fetchable.
    """
    hook, context = _check_request(document)
    orders = tms_orders(hook, context)
    if not orders:
        return {"cards": []}
    bundle, origins = _bundle(_gather(document, context, fetch), orders, context["patientId"])
    policy_ids = list(policies or library.default_policies)
    text = dumps(bundle)

    def remember(unit: UnitOfWork, evaluation_id: str, now: datetime) -> None:
        for policy_id in policy_ids:
            unit.cards.add(card_uuid(evaluation_id, policy_id), evaluation_id, policy_id, now)

    try:
        done = evaluate_bundle(uow, library, Received(bundle, text, text.encode()), caller, as_of=as_of,
                               policies=policy_ids, clock=clock, also=remember)
    except InvalidBundle as exc:
        raise Invalid("The patient's record is not valid FHIR R4, or records what the submission contract "
                      "refuses; every problem is listed in errors.", _rekey(exc.errors, origins)) from None
    body = json.loads(done.answered.body)
    known = {}
    for policy_id in policy_ids:
        policy = library.policy(policy_id)
        first = next(iter(policy.sources.values()), None)
        known[policy_id] = (policy.publisher, first.url if first else None)
    return {"cards": cards(body, known, f"{review_base.rstrip('/')}/review/evaluations/{body['id']}")}


def record_feedback(uow: UnitOfWork, document, caller: Caller, *, clock: Clock = utc_now) -> int:
    """Record each feedback item (``accepted`` or ``overridden`` on a card) in the audit trail, with the card's
    evaluation and policy when the card is one this service answered; return how many were recorded.

    :raises services.errors.Invalid: not a feedback request.
    """
    items = document.get("feedback") if isinstance(document, dict) else None
    errors: dict[str, list[str]] = {}
    if not isinstance(items, list) or not items:
        errors["/feedback"] = ["Required: a non-empty array of feedback items."]
        items = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors[f"/feedback/{i}"] = ["Must be an object."]
            continue
        if not isinstance(item.get("card"), str) or not item["card"]:
            errors[f"/feedback/{i}/card"] = ["Required: the card's uuid."]
        if item.get("outcome") not in ("accepted", "overridden"):
            errors[f"/feedback/{i}/outcome"] = ["Must be accepted or overridden."]
        if not isinstance(item.get("outcomeTimestamp"), str):
            errors[f"/feedback/{i}/outcomeTimestamp"] = ["Required: when the outcome happened (RFC 3339)."]
    if errors:
        raise Invalid("The feedback is not one this service reads; every problem is listed in errors.", errors)
    with uow:
        now = clock()
        for item in items:
            found = uow.cards.get(item["card"])
            ids: dict = {}
            if found is not None:
                evaluation_id, policy_id = found
                ids["evaluation_id"] = evaluation_id
                ids["policies"] = tuple(p.ref() for p in uow.evaluations.policies(evaluation_id) if p.id == policy_id)
            uow.audit.add(caller.event("cds.feedback", item["outcome"], now, **ids))
        uow.commit()
    return len(items)
