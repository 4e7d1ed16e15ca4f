"""The app behind granian's ASGI interface: each request read whole in the event loop, then run in a thread.

granian reads request headers in Rust, without Python; but its WSGI interface hands the app a body stream
that a worker thread reads, so a client sending its body one byte a second holds a thread (measured: 16
such clients stalled ``/healthz`` with 1 thread per worker). Here the body is read by the event loop,
which waits for any number of slow clients at no cost, with a deadline (``TMS_TIMEOUT``, then 408) and the
size limit (``TMS_MAX_BODY_BYTES``, then 413); only a complete request reaches a thread and the Flask app,
as behind a buffering proxy. Responses are small JSON or HTML documents, collected whole and sent at once.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from concurrent.futures import ThreadPoolExecutor

from .config import serve_settings


def _problem(status: int, title: str, detail: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    return status, [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
                    (b"x-content-type-options", b"nosniff"), (b"connection", b"close")], body


def environ_of(scope: dict, body: bytes) -> dict:
    """The WSGI environ (PEP 3333) of an ASGI HTTP request whose body has been read."""
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]), "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]), "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0), "wsgi.url_scheme": scope.get("scheme", "http"), "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").upper().replace("-", "_"), raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _run(app, environ: dict) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Call the WSGI app in this (worker) thread and collect its whole answer."""
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers
        return lambda data: chunks.append(data)

    chunks: list[bytes] = []
    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in started["headers"]]
    return int(started["status"].split(" ", 1)[0]), headers, b"".join(chunks)


class BufferedWSGI:
    """An ASGI app that reads each request whole, asynchronously, and then runs the WSGI ``app`` in a thread."""

    def __init__(self, app, *, threads: int, body_timeout: float, max_body: int):
        self.app, self.body_timeout, self.max_body = app, body_timeout, max_body
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="app")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.executor.shutdown(wait=True)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = await self._body(receive)
        if isinstance(body, tuple):
            answer = body
        elif body is None:
            return  # the client went away
        else:
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(self.executor, _run, self.app, environ_of(scope, body))
        status, headers, content = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _body(self, receive):
        """The whole body; a problem answer (408, 413) when it is late or too large; ``None`` on disconnect."""
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        return _problem(413, "Payload Too Large", f"The request body is larger than "
                                                                  f"{self.max_body} bytes.")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            return _problem(408, "Request Timeout", f"The request body was not sent within {self.body_timeout:g} s.")


def create_asgi() -> BufferedWSGI:
    """What ``serve`` gives granian (``--factory``): the Flask app, made in this worker, behind ``BufferedWSGI``."""
    from . import create_app

    app = create_app()
    served = serve_settings()
    # a little over the app's own limit, so that the app answers its own 413 for a body just too large
    return BufferedWSGI(app, threads=served["THREADS"], body_timeout=served["TIMEOUT"],
                        max_body=app.config["MAX_CONTENT_LENGTH"] + 64 * 1024)
