"""Hostile bodies: each gets the right 4xx problem, quickly, in bounded memory, and stores nothing.

Extends ``tests/api/test_errors.py`` (which has the basic empty, NaN, duplicate-key, invalid UTF-8,
nesting, gzip and media-type cases) with the sizes and variants of issue 6: nesting tens of thousands
deep, numbers beyond a double, 1 MB strings, 10,000-element arrays, more invalid UTF-8 and duplicate
keys, more content types and codings. In process on each database with the allocation peak measured
(``tracemalloc``), then over HTTP through gunicorn with the workers' resident memory measured.
"""

from __future__ import annotations

import gzip
import io
import json
import time
import tracemalloc
import zlib
from functools import partial

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import assert_problem, authorised, rows

from .serving import raw_exchange

MiB = 1 << 20
SECONDS = 2.0  # per request; the slowest case here (10,000 unknown members) takes about 0.3 s


def _doc(**members) -> bytes:
    return json.dumps({"patient": {}, **members}).encode()


def _scale(score: bytes) -> bytes:
    return b'{"patient":{},"scales":[{"instrument":"phq-9","score":' + score + b',"date":"2026-01-01"}]}'


def _dose(dose: bytes) -> bytes:
    return b'{"patient":{},"medication_trials":[{"drug":"sertraline","daily_dose_mg":' + dose + b"}]}"


# (id, body, status, a JSON Pointer the 422 must name)
BODIES = [
    # nesting: the decoder's recursion limit answers, well before memory or the stack is at risk
    ("objects-40000-deep", b'{"a":' * 40_000 + b"1" + b"}" * 40_000, 400, None),
    ("arrays-100000-deep-in-a-field", b'{"patient":{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}}", 400, None),
    ("arrays-500-deep-in-an-unknown-field", b'{"patient":{},"x":' + b"[" * 500 + b"]" * 500 + b"}", 422, "/x"),
    # numbers beyond a double: refused per field, never an OverflowError
    ("score-1e400", _scale(b"1e400"), 422, "/scales/0/score"),
    ("score-minus-1e400", _scale(b"-1e400"), 422, "/scales/0/score"),
    ("age-of-100000-digits", b'{"patient":{"age":' + b"9" * 100_000 + b"}}", 422, "/patient/age"),
    ("sessions-of-5000-digits", b'{"patient":{},"request":{"sessions":' + b"1" * 5000 + b"}}", 422,
     "/request/sessions"),
    ("dose-1e-400-underflows-to-zero", _dose(b"1e-400"), 422, "/medication_trials/0/daily_dose_mg"),
    ("dose-with-200000-digit-fraction", _dose(b"0." + b"0" * 200_000), 422, "/medication_trials/0/daily_dose_mg"),
    # NaN and Infinity anywhere
    ("minus-infinity", _dose(b"-Infinity"), 400, None),
    ("nan-in-an-unknown-array", b'{"patient":{},"x":[1,NaN]}', 400, None),
    ("nan-lowercase", _scale(b"nan"), 400, None),
    ("nan-as-a-string", _scale(b'"NaN"'), 422, "/scales/0/score"),
    # 10,000-element arrays: refused by length before any item is read, with one error
    ("10000-medication-trials", _doc(medication_trials=[{}] * 10_000), 422, "/medication_trials"),
    ("10000-scales", _doc(scales=[{}] * 10_000), 422, "/scales"),
    ("10000-diagnoses", _doc(diagnoses=[{"code": "F33.2"}] * 10_000), 422, "/diagnoses"),
    ("10000-policies", _doc(policies=["tms-clinical"] * 10_000), 422, "/policies"),
    ("10000-side-effects", _doc(medication_trials=[{"drug": "sertraline", "side_effects": ["x"] * 10_000}]), 422,
     "/medication_trials/0/side_effects"),
    ("10000-numbers-in-an-unknown-field", _doc(x=list(range(10_000))), 422, "/x"),
    ("a-top-level-array-of-10000", json.dumps([{}] * 10_000).encode(), 422, ""),
    ("10000-unknown-members", _doc(**{f"k{i}": i for i in range(10_000)}), 422, "/k9999"),
    # invalid UTF-8
    ("utf8-overlong-slash", b'{"patient":{},"reference":"\xc0\xaf"}', 400, None),
    ("utf8-encoded-surrogate", b'{"patient":{},"reference":"\xed\xa0\x80"}', 400, None),
    ("utf8-truncated-at-the-end", b'{"patient":{},"reference":"\xe2\x82', 400, None),
    ("utf8-lone-continuation-in-a-key", b'{"patient":{},"\x80":1}', 400, None),
    ("latin-1-text", '{"patient":{},"reference":"café"}'.encode("latin-1"), 400, None),
    ("utf-16-text", '{"patient":{}}'.encode("utf-16"), 400, None),
    ("gzip-bytes-without-a-coding", gzip.compress(b'{"patient":{}}'), 400, None),
    # duplicate keys, however spelt
    ("duplicate-key-nested", b'{"patient":{"age":40,"age":41}}', 400, None),
    ("duplicate-key-in-an-array-item",
     b'{"patient":{},"diagnoses":[{"code":"F33.2"},{"code":"F33.2","code":"F31.81"}]}', 400, None),
    ("duplicate-key-spelt-with-an-escape", b'{"patient":{},"p\\u0061tient":{}}', 400, None),
    # not an object
    ("null", b"null", 422, ""),
    ("a-string", b'""', 422, ""),
    ("a-number", b"0", 422, ""),
    ("an-empty-object", b"{}", 422, "/patient"),
]

# (id, content type, extra headers, body, status)
FRAMINGS = [
    ("text-json", "text/json", {}, b'{"patient":{}}', 415),
    ("multipart", "multipart/form-data; boundary=x", {}, b'--x\r\n\r\n{"patient":{}}\r\n--x--', 415),
    ("json-as-utf-16", "application/json; charset=utf-16", {}, '{"patient":{}}'.encode("utf-16"), 415),
    ("deflate", "application/json", {"Content-Encoding": "deflate"}, zlib.compress(b'{"patient":{}}'), 415),
    ("br", "application/json", {"Content-Encoding": "br"}, b"\x0b\x06\x80{}\x03", 415),
    ("x-gzip", "application/json", {"Content-Encoding": "x-gzip"}, gzip.compress(b'{"patient":{}}'), 415),
    ("gzip-then-identity", "application/json", {"Content-Encoding": "gzip, identity"},
     gzip.compress(b'{"patient":{}}'), 415),
    ("gzip-bomb", "application/json", {"Content-Encoding": "gzip"}, gzip.compress(b" " * (64 * MiB)), 415),
]

# with the body limit raised to 4 MiB, so that the schema (not the limit) meets each 1 MB string
MEGABYTE_STRINGS = [
    ("reference", _doc(reference="x" * MiB), "/reference"),
    ("a-key", _doc(**{"k" * MiB: 1}), "/" + "k" * MiB),
    ("diagnosis-code", _doc(diagnoses=[{"code": "F" * MiB}]), "/diagnoses/0/code"),
    ("drug-name", _doc(medication_trials=[{"drug": "d" * MiB}]), "/medication_trials/0/drug"),
    ("side-effect", _doc(medication_trials=[{"drug": "sertraline", "side_effects": ["s" * MiB]}]),
     "/medication_trials/0/side_effects/0"),
    ("nested-deep-too", b'{"a":' * 200_000 + b"1" + b"}" * 200_000, None),
]


def _timed(client, body: bytes, content_type: str = "application/json", headers: dict | None = None):
    """POST ``body`` twice: the response and the seconds it took, then the peak of Python allocations while
    it is sent again under ``tracemalloc`` (which slows it down). The client is Flask's own, so that the
    time is the app's and not the documented client's validation of the response."""
    key = client.environ_base.get("HTTP_AUTHORIZATION")
    client = FlaskClient(client.application)
    client.environ_base["HTTP_AUTHORIZATION"] = key
    post = partial(client.post, "/v1/evaluations", data=body, content_type=content_type, headers=headers or {})
    started = time.perf_counter()
    response = post()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        post()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return response, seconds, peak


def _bounded(seconds: float, peak: int, body: bytes) -> None:
    assert seconds < SECONDS, f"took {seconds:.2f} s"
    assert peak < 8 * len(body) + 8 * MiB, f"allocated up to {peak / MiB:.1f} MiB for a {len(body)}-byte body"


@pytest.mark.parametrize(("body", "status", "pointer"), [c[1:] for c in BODIES], ids=[c[0] for c in BODIES])
def test_hostile_bodies_are_refused_quickly_and_store_nothing(app, client, body, status, pointer):
    assert len(body) <= app.config["MAX_CONTENT_LENGTH"]  # each case reaches the parser, not the size limit
    response, seconds, peak = _timed(client, body)
    problem = assert_problem(response, status)
    if pointer is not None:
        assert pointer in problem["errors"], sorted(problem["errors"])[:5]
    if pointer in ("/medication_trials", "/scales", "/diagnoses", "/policies", "/medication_trials/0/side_effects"):
        assert len(problem["errors"]) == 1  # the list's length, not one error per item
    _bounded(seconds, peak, body)
    assert rows(app) == {"evaluations": 0, "evaluation_policies": 0}


@pytest.mark.parametrize(("content_type", "headers", "body", "status"), [c[1:] for c in FRAMINGS],
                         ids=[c[0] for c in FRAMINGS])
def test_other_types_and_codings_are_415_without_reading_the_body(app, client, content_type, headers, body,
                                                                   status):
    response, seconds, peak = _timed(client, body, content_type, headers)
    assert_problem(response, status)
    _bounded(seconds, peak, body)
    assert rows(app)["evaluations"] == 0


def test_a_megabyte_string_is_413_under_the_default_limit(app, client):
    body = _doc(reference="x" * MiB)
    response, seconds, peak = _timed(client, body)
    assert_problem(response, 413)
    _bounded(seconds, peak, body)
    assert rows(app)["evaluations"] == 0


@pytest.mark.parametrize(("body", "pointer"), [c[1:] for c in MEGABYTE_STRINGS], ids=[c[0] for c in MEGABYTE_STRINGS])
def test_megabyte_strings_under_a_raised_limit_are_refused_by_the_schema(make_app, body, pointer):
    app = make_app(MAX_CONTENT_LENGTH=4 * MiB)
    response, seconds, peak = _timed(authorised(app, "intake"), body)
    problem = assert_problem(response, 400 if pointer is None else 422)
    if pointer is not None:
        assert list(problem["errors"]) == [pointer]
    _bounded(seconds, peak, body)
    assert rows(app)["evaluations"] == 0


def _post_chunked(client, body: bytes):
    """POST ``body`` as a server passes a chunked request on: no Content-Length, a terminated input stream."""
    return client.post("/v1/evaluations", input_stream=io.BytesIO(body), content_type="application/json",
                       headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})


def test_a_chunked_body_past_the_limit_is_413_not_cut_short_and_evaluated(make_app):
    """werkzeug cuts a chunked body at the limit without an error: a valid submission padded to the limit and
    followed by anything was evaluated and stored as if the rest had not been sent."""
    app = make_app(MAX_CONTENT_LENGTH=1024)
    client = authorised(app, "intake")
    document = _doc(reference="padded")
    padded = document + b" " * (1024 - len(document))
    assert_problem(_post_chunked(client, padded + b"and more"), 413)
    assert rows(app)["evaluations"] == 0
    assert _post_chunked(client, padded).status_code == 201  # exactly at the limit is fine
    assert _post_chunked(client, document).status_code == 201


@pytest.mark.parametrize(("role", "method", "path", "status"), [
    ("admin", "GET", "/v1/audit?action=%00", 400), ("admin", "GET", "/v1/audit?actor_key_id=a%00b", 400),
    ("admin", "DELETE", "/v1/keys/%00", 404), ("clinician", "GET", "/v1/evaluations?policy=%00", 400),
    ("clinician", "GET", "/v1/evaluations?%00=1", 400), ("intake", "GET", "/v1/policies/tms%00clinical", 404),
    ("intake", "GET", "/v1/evaluations/%00", 404),
])
def test_a_nul_in_the_url_is_a_4xx_on_every_database(app, role, method, path, status):
    """Found by schemathesis: PostgreSQL refuses NUL in a text parameter, so the first four were 500s there."""
    assert_problem(authorised(app, role).open(path, method=method), status)


def test_a_refused_body_does_not_use_up_its_idempotency_key(app, client):
    key = {"Idempotency-Key": "hostile-then-good"}
    for body in (b'{"patient":{"age":NaN}}', _doc(medication_trials=[{}] * 10_000), b'{"patient":{},"patient":{}}'):
        assert client.post("/v1/evaluations", data=body, content_type="application/json", headers=key).status_code \
            in (400, 422)
    assert rows(app)["evaluations"] == 0
    good = client.post("/v1/evaluations", data=_doc(), content_type="application/json", headers=key)
    assert good.status_code == 201
    assert rows(app)["evaluations"] == 1


# -- over HTTP, through gunicorn ------------------------------------------------------------------------------

def _http(method: str, headers: dict[str, str], body: bytes = b"", *, length: int | None = None) -> bytes:
    lines = [f"{method} /v1/evaluations HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if "Transfer-Encoding" not in headers:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _chunked(body: bytes, size: int = 65536) -> bytes:
    out = bytearray()
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def test_hostile_requests_through_gunicorn_are_4xx_fast_in_bounded_memory(serve, database):
    """Over real sockets: bodies past the limit (sent, announced, chunked), a gzip bomb, deep nesting, 10,000
    items, invalid UTF-8, empty and untyped bodies; each 5 times. Every answer is the right 4xx problem within
    2 s, the workers' resident memory stays within 64 MiB of where it was, nothing is stored, and the service
    still evaluates afterwards."""
    served = serve(database, env={"TMS_LOG_LEVEL": "WARNING"})
    auth_headers = served.auth_headers
    json_type = {**auth_headers, "Content-Type": "application/json"}
    cases = [
        ("1 MB body", _http("POST", json_type, _doc(reference="x" * MiB)), 413, False),
        ("100 MB announced, none sent", _http("POST", json_type, length=100 * MiB), 413, True),
        ("1 MB chunked", _http("POST", {**json_type, "Transfer-Encoding": "chunked"},
                               _chunked(_doc(reference="x" * MiB))), 413, False),
        ("gzip bomb", _http("POST", {**json_type, "Content-Encoding": "gzip"}, gzip.compress(b" " * (64 * MiB))),
         415, False),
        ("40,000 deep", _http("POST", json_type, BODIES[0][1]), 400, False),
        ("10,000 trials", _http("POST", json_type, _doc(medication_trials=[{}] * 10_000)), 422, False),
        ("10,000 unknown members", _http("POST", json_type, _doc(**{f"k{i}": i for i in range(10_000)})), 422,
         False),
        ("invalid UTF-8", _http("POST", json_type, b'{"patient":{},"reference":"\xc0\xaf"}'), 400, False),
        ("empty", _http("POST", json_type, b""), 400, False),
        ("no Content-Type", _http("POST", auth_headers, _doc()), 415, False),
    ]
    assert served.request("POST", "/v1/evaluations", _doc()).status == 201  # warm both paths up
    baseline = sum(served.rss_kib(pid) for pid in served.workers())
    slowest = {}
    for _ in range(5):
        for name, data, status, then_wait in cases:
            started = time.perf_counter()
            reply = raw_exchange(served.port, data, timeout=10, then_wait=then_wait)
            slowest[name] = max(slowest.get(name, 0.0), time.perf_counter() - started)
            assert reply is not None, f"{name}: no answer"
            assert reply.status == status, (name, reply)
            assert reply.headers.get("Content-Type") == "application/problem+json", (name, reply)
            assert json.loads(reply.body)["status"] == status
    assert max(slowest.values()) < SECONDS, slowest
    grown = sum(served.rss_kib(pid) for pid in served.workers()) - baseline
    assert grown < 64 * 1024, f"the workers grew by {grown / 1024:.0f} MiB"
    reply = served.request("POST", "/v1/evaluations", _doc(reference="after"))
    assert reply.status == 201
    import sqlalchemy as sa

    from storage import create_engine
    from storage.tables import evaluations
    engine = create_engine(database)
    with engine.connect() as conn:
        references = conn.execute(sa.select(evaluations.c.reference)).scalars().all()
    engine.dispose()
    assert sorted(references, key=str) == [None, "after"]  # the warm-up and the last one: nothing else
