"""What the CDS Hooks tests share: an EHR's signing keys and JWK Set, tokens, hook requests and a fake FHIR server."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cds-hooks"
ISSUER = "https://ehr.example.test"
HOOK_PATH = "/cds-services/tms-eligibility"
SERVICE_URL = "http://localhost" + HOOK_PATH
CPT = "http://www.ama-assn.org/go/cpt"


class Ehr:
    """An EHR's two signing keys (ES384 and RS384) and the JWK Set that publishes their public halves."""

    def __init__(self):
        self.keys = {"es-1": ("ES384", ec.generate_private_key(ec.SECP384R1())),
                     "rs-1": ("RS384", rsa.generate_private_key(public_exponent=65537, key_size=2048))}

    def jwks(self) -> dict:
        published = []
        for kid, (alg, key) in self.keys.items():
            jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
            published.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
        return {"keys": published}

    def write_jwks(self, folder: Path) -> str:
        path = folder / "ehr-jwks.json"
        path.write_text(json.dumps(self.jwks()))
        return str(path)

    def token(self, kid: str = "es-1", *, aud: str = SERVICE_URL, iss: str = ISSUER, lifetime: int = 300,
              issued: float | None = None, jti: str | None = None, alg: str | None = None, **claims) -> str:
        key_alg, key = self.keys[kid]
        now = time.time() if issued is None else issued
        payload = {"iss": iss, "aud": aud, "exp": int(now + lifetime), "iat": int(now),
                   "jti": jti or str(uuid.uuid4()), **claims}
        return jwt.encode(payload, key, algorithm=alg or key_alg, headers={"kid": kid, "typ": "JWT"})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def tms_service_request(patient_ref: str, order_id: str = "tms-order-1", sessions: int = 36) -> dict:
    return {"resourceType": "ServiceRequest", "id": order_id, "status": "draft", "intent": "original-order",
            "code": {"coding": [{"system": CPT, "code": "90867", "display": "TMS treatment, initial"}]},
            "quantityQuantity": {"value": sessions}, "subject": {"reference": patient_ref}, "authoredOn": "2026-11-01"}


def with_tms_order(request: dict, patient_ref: str) -> dict:
    """``request`` with a draft TMS ServiceRequest added to its draft orders (and selected, for order-select)."""
    request = copy.deepcopy(request)
    order = tms_service_request(patient_ref)
    request["context"]["draftOrders"].setdefault("entry", []).append(
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": order})
    if request["hook"] == "order-select":
        request["context"]["selections"] = [*request["context"].get("selections", []), f"ServiceRequest/{order['id']}"]
    return request


def history_prefetch(bundle_document: dict, patient_id: str) -> dict:
    """The prefetch a client would send for the service's templates, from an example Bundle's records."""
    by_type: dict[str, list] = {}
    patient = None
    for entry in bundle_document["entry"]:
        resource = copy.deepcopy(entry["resource"])
        if resource["resourceType"] == "Patient":
            patient = {**resource, "id": patient_id}
            continue
        for name in ("subject", "patient"):
            if name in resource:
                resource[name] = {"reference": f"Patient/{patient_id}"}
        by_type.setdefault(resource["resourceType"], []).append(resource)

    def searchset(kind):
        return {"resourceType": "Bundle", "type": "searchset",
                "entry": [{"resource": r, "search": {"mode": "match"}} for r in by_type.get(kind, [])]}

    return {"patient": patient, "conditions": searchset("Condition"),
            "medicationRequests": searchset("MedicationRequest"),
            "medicationStatements": searchset("MedicationStatement"), "observations": searchset("Observation"),
            "procedures": searchset("Procedure")}


class FakeFhirServer:
    """A FHIR server on a thread: answers the service's prefetch queries from a prefetch document, and records
    what it was asked with which bearer token."""

    def __init__(self, prefetch: dict, token: str = "SAMPLE_TOKEN"):
        self.prefetch, self.token, self.requests = prefetch, token, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests.append((self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    return self.answer(401, {"resourceType": "OperationOutcome"})
                path = self.path.split("/", 2)[-1] if self.path.startswith("/r4/") else self.path.lstrip("/")
                kind, _, rest = path.partition("?")
                if kind.startswith("Patient/"):
                    patient = server.prefetch["patient"]
                    return self.answer(200, patient) if patient and kind == f"Patient/{patient['id']}" else \
                        self.answer(404, {"resourceType": "OperationOutcome"})
                key = {"Condition": "conditions", "MedicationRequest": "medicationRequests",
                       "MedicationStatement": "medicationStatements", "Observation": "observations",
                       "Procedure": "procedures"}.get(kind)
                if key is None:
                    return self.answer(404, {"resourceType": "OperationOutcome"})
                return self.answer(200, server.prefetch[key])

            def answer(self, status, document):
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/r4"

    @contextlib.contextmanager
    def running(self):
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join()
