"""Reading a JSON request body strictly: the HTTP layer's half of "never a 500 for client input".

The body must be ``application/json`` in UTF-8 without a content coding (else 415), at most
``MAX_CONTENT_LENGTH`` bytes (else 413), and one JSON text (else 400) without NaN or Infinity,
duplicate object keys, NUL characters or unpaired surrogates, all of which RFC 8259 allows or
tolerates but an intake record never needs and a database or client may not survive. Integers
too long for an IEEE double parse as infinity, so that the schema reports them per field.
"""

from __future__ import annotations

import json
import re

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from services.records import Received

from .constants import JSON
from .errors import Problem

# An escape that may decode to NUL or to half of a surrogate pair: only then are strings checked.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_LONGEST_INT = 308  # characters; an integer this long still converts to a double


def _no_duplicates(pairs):
    document = dict(pairs)
    if len(document) != len(pairs):
        seen = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"duplicate object key {duplicate!r}")
    return document


def _no_constants(name):
    raise ValueError(f"{name} is not a JSON number")


def _integer(text: str):
    return int(text) if len(text) <= _LONGEST_INT else float(text)  # beyond: infinity, reported per field


_decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants, parse_int=_integer)


def _bad_strings(node) -> bool:
    """Whether any string (key or value) in ``node`` holds a NUL or an unpaired surrogate."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node or not node.isascii() and _unencodable(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def json_body(media_type: str = JSON, what: str = "the submission", also: tuple[str, ...] = ()) -> Received:
    """The request's JSON body, parsed, as text and as bytes; raise ``Problem`` (400, 413 or 415) if unusable.

    ``media_type`` is the one asked for (``application/fhir+json`` for a FHIR Bundle), ``also`` others accepted
    too, ``what`` names the body."""
    if request.mimetype != media_type and request.mimetype not in also:
        raise Problem(415, f"Send {what} as Content-Type: {media_type}.", headers={"Accept": media_type})
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise Problem(415, f"JSON is read as UTF-8 only, not {charset}.")
    coding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if coding not in ("", "identity"):
        raise Problem(415, "Send the body without a Content-Encoding (no gzip or deflate).",
                      headers={"Accept-Encoding": "identity"})
    raw = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH when Content-Length says so
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit and \
            request.environ["wsgi.input"].read(1):
        # A chunked body is cut at the limit without an error (werkzeug's LimitedStream stops there): past it,
        # another byte means the body was larger, never a shorter body to evaluate.
        raise RequestEntityTooLarge()
    if not raw.strip():
        raise Problem(400, "The request body is empty; send the submission as a JSON object.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, f"The body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        document = _decoder.decode(text)
    except RecursionError:
        raise Problem(400, "The body is nested too deeply to be a submission.") from None
    except ValueError as exc:  # JSONDecodeError, a duplicate key, NaN or Infinity
        raise Problem(400, f"The body is not valid JSON: {exc}.") from None
    if _SUSPECT_ESCAPE.search(text) and _bad_strings(document):
        raise Problem(400, "The body holds a NUL character or an unpaired surrogate (\\u0000, \\ud800-\\udfff).")
    return Received(document, text, raw)


def refuse_nul_in_url() -> None:
    """``before_request``: a path holding a NUL character (``%00``) is a 404 problem (no resource has such a
    name), a query string holding one a 400.

    No id, filter or cursor needs one, and PostgreSQL refuses NUL in any text parameter, so a NUL that
    reached a query (an audit filter, a key id, a queue filter) was a 500 there and a miss on SQLite.
    """
    if "\x00" in request.path:
        raise Problem(404, "Nothing is at this path: it holds a NUL character (%00).")
    if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        raise Problem(400, "The query string holds a NUL character (%00).")
