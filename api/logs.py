"""Request ids and the JSON-lines log.

One line per request: time, request id, method, route (the URL rule, never the path with its
values), status, duration, and for evaluations their id and outcomes. Submissions are PHI, so
nothing here ever sees a body, a header value other than the request id, or an exception's
message (only its type and stack).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, g, request

REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")

log = logging.getLogger("api")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: message, level, logger, time and its ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        out.update(getattr(record, "fields", None) or {})
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            # The type and the stack, never str(exception): its message may quote client data.
            out["exception"] = f"{kind.__module__}.{kind.__qualname__}"
            out["stack"] = traceback.format_tb(tb)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str) -> None:
    """Send the ``api`` logger to standard error as JSON lines, once per process."""
    log.setLevel(level)
    if not any(getattr(h, "_tms_json", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._tms_json = True
        log.addHandler(handler)
        log.propagate = False


def _start() -> None:
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _finish(response):
    response.headers["X-Request-Id"] = g.request_id
    fields = {"request_id": g.request_id, "method": request.method,
              "route": request.url_rule.rule if request.url_rule else None, "status": response.status_code,
              "duration_ms": round((time.perf_counter() - g.started) * 1000, 2)}
    fields.update(g.get("log_fields") or {})
    log.info("request", extra={"fields": fields})
    return response


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
