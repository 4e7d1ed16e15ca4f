"""JSON answers: ``json_response`` for every JSON body a view writes, ``json_post`` for every JSON POST view,
and the ``Link`` header of a paged list."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import request
from werkzeug import Response

from services.documents import dumps

from .body import json_body
from .constants import IDEMPOTENCY_KEY, JSON, NO_STORE
from .errors import Problem


def json_response(body, status: int = 200, **headers: str) -> Response:
    """A JSON answer no cache may keep; ``body`` is JSON text or a document to serialise."""
    return Response(body if isinstance(body, str) else dumps(body), status=status, content_type=JSON,
                    headers={"Cache-Control": NO_STORE, **headers})


@dataclass(frozen=True)
class Answer:
    """What a JSON POST view answers: a body (JSON text or a document), its status and the resource's URL."""

    body: object
    status: int = 201
    location: str | None = None


def idempotency_key() -> str | None:
    """The request's ``Idempotency-Key`` (``None`` without one); a 400 problem if it is not 1 to 255 visible
    ASCII characters."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise Problem(400, "Idempotency-Key must be 1 to 255 visible ASCII characters.")
    return key


def json_post(view: Callable | None = None, *, idempotent: bool = False, media_type: str = JSON,
              what: str = "the submission", also: tuple[str, ...] = ()) -> Callable:
    """Make a method view a JSON POST: it is called with the request body read strictly (``api.body``), after the
    ``Idempotency-Key`` (passed as ``idempotency_key``) when ``idempotent``, and returns an ``Answer``, which is
    sent as JSON that no cache may keep, with its ``Location``. The body must be of ``media_type`` or one of
    ``also`` (``what`` names it in a 415)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def post(self, *args, **kwargs):
            if idempotent:
                kwargs["idempotency_key"] = idempotency_key()
            answer: Answer = view(self, json_body(media_type, what, also), *args, **kwargs)
            headers = {"Location": answer.location} if answer.location else {}
            return Response(answer.body if isinstance(answer.body, str) else dumps(answer.body),
                            status=answer.status, content_type=JSON, headers={**headers, "Cache-Control": NO_STORE})

        return post

    return decorate(view) if view is not None else decorate


def next_link(url_prefix: str, **query) -> dict:
    """The ``Link`` header to the page whose ``cursor`` is in ``query`` (none without one); empty
    filters are left out of the URL."""
    if not query.get("cursor"):
        return {}
    return {"Link": f'<{url_prefix}?{urlencode({k: v for k, v in query.items() if v})}>; rel="next"'}
