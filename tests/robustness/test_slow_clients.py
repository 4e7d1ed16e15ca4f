"""Slow clients cannot stall the service: ``tms-eligibility serve`` as it runs by default (granian), and the
container deployment's nginx configuration (``deploy/nginx/tms.conf``, Debian's nginx, over TLS) in front of it.

Sixteen clients send request headers one line a second and sixteen send a POST body one byte a second, all
holding their connections, while ``/healthz`` and a POST of a submission are asked again and again for 30 s:
each must be answered (200, 201) within a 1 s client timeout. Marked ``slow_clients`` (about 40 s a test);
the default test run, and CI, runs them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from storage import create_engine, migrate

from ..support import EXAMPLES
from .serving import ROOT, Served, free_port, issue_key

pytestmark = pytest.mark.slow_clients

HOLDERS = 16  # of each kind
DURATION = 30.0  # seconds of probing
DEADLINE = 1.0  # seconds a probe may take (the client's timeout)
SUBMISSION = (EXAMPLES / "classic-trd.json").read_bytes()


class SlowClients:
    """``HOLDERS`` slow-header and ``HOLDERS`` slow-body connections, each fed one line or byte a second."""

    def __init__(self, host: str, port: int, tls: bool, key: str):
        self.host, self.port, self.tls, self.key = host, port, tls, key
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._hold, args=(kind,), daemon=True)
                        for kind in ("headers", "body") for _ in range(HOLDERS)]
        self.opened = 0
        self.lock = threading.Lock()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=5)
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname="localhost")
        return sock

    def _hold(self, kind: str) -> None:
        while not self.stop.is_set():  # a connection the server closes is opened again, as an attacker would
            try:
                with self._connect() as sock:
                    with self.lock:
                        self.opened += 1
                    if kind == "headers":
                        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
                        while not self.stop.wait(1.0):
                            sock.sendall(b"X-Slow: 1\r\n")
                    else:
                        sock.sendall(b"POST /v1/evaluations HTTP/1.1\r\nHost: localhost\r\n"
                                     b"Content-Type: application/json\r\nContent-Length: 200000\r\n"
                                     b"Authorization: Bearer " + self.key.encode() + b"\r\n\r\n{")
                        while not self.stop.wait(1.0):
                            sock.sendall(b" ")
            except OSError:
                self.stop.wait(0.2)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        time.sleep(3)  # every holder connected and sending
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)


def probe(host: str, port: int, tls: bool, key: str) -> list[tuple[str, object]]:
    """Ask ``/healthz`` and POST a submission for ``DURATION`` s; every failure (status, or no answer within
    ``DEADLINE``)."""
    failures = []
    context = None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    end = time.monotonic() + DURATION
    asked = 0
    while time.monotonic() < end:
        for method, path, body, expected in (("GET", "/healthz", None, 200),
                                             ("POST", "/v1/evaluations", SUBMISSION, 201)):
            connection = (http.client.HTTPSConnection(host, port, timeout=DEADLINE, context=context) if tls
                          else http.client.HTTPConnection(host, port, timeout=DEADLINE))
            try:
                connection.request(method, path, body=body, headers={
                    "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
                status = connection.getresponse().status
                if status != expected:
                    failures.append((f"{method} {path}", status))
            except OSError as exc:  # socket.timeout included: no answer within the deadline
                failures.append((f"{method} {path}", repr(exc)))
            finally:
                connection.close()
            asked += 1
        time.sleep(0.2)
    assert asked >= 40, asked
    return failures


@pytest.fixture
def served(tmp_path):
    url = f"sqlite:///{tmp_path / 'slow.sqlite3'}"
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    key = issue_key(url, "intake")
    service = Served(url, tmp_path / "server", {}, env={"TMS_SERVER": "granian"})
    service.start()
    yield service, key
    service.stop()


def test_serve_keeps_answering_while_slow_clients_hold_connections(served):
    service, key = served
    with SlowClients("127.0.0.1", service.port, False, key) as holders:
        failures = probe("127.0.0.1", service.port, False, key)
    assert holders.opened >= 2 * HOLDERS
    assert failures == [], failures[:10]


@contextlib.contextmanager
def nginx_in_front(folder: Path, app_port: int):
    """Debian's nginx with ``deploy/nginx/tms.conf``, its upstream, ports and certificate pointed at this test's."""
    nginx, openssl = shutil.which("nginx") or "/usr/sbin/nginx", shutil.which("openssl")
    if not Path(nginx).exists() or openssl is None:
        pytest.fail("nginx and openssl are needed (Debian: apt-get install nginx openssl; .ci/run installs them)")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(folder / "tls.key"), "-out", str(folder / "tls.crt")], check=True,
                   capture_output=True)
    http_port, https_port = free_port(), free_port()
    site = (ROOT / "deploy" / "nginx" / "tms.conf").read_text()
    for old, new in (("server app:8000;", f"server 127.0.0.1:{app_port};"),
                     ("listen 80;", f"listen 127.0.0.1:{http_port};"), ("listen [::]:80;", ""),
                     ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                     ("listen [::]:443 ssl http2;", ""), ("/etc/nginx/tls/", f"{folder}/")):
        assert old in site, old
        site = site.replace(old, new)
    (folder / "site.conf").write_text(site)
    (folder / "nginx.conf").write_text(
        f"daemon off;\nworker_processes auto;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {folder}/body;\n  proxy_temp_path {folder}/proxy;\n"
        f"  fastcgi_temp_path {folder}/fastcgi;\n  uwsgi_temp_path {folder}/uwsgi;\n  scgi_temp_path {folder}/scgi;\n"
        f"  include {folder}/site.conf;\n}}\n")
    check = subprocess.run([nginx, "-t", "-c", str(folder / "nginx.conf"), "-p", str(folder)], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([nginx, "-c", str(folder / "nginx.conf"), "-p", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", https_port), timeout=1):
                break
            assert process.poll() is None and time.monotonic() < deadline, (folder / "error.log").read_text()
            time.sleep(0.1)
        yield http_port, https_port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_nginx_in_front_keeps_answering_while_slow_clients_hold_connections(served, tmp_path):
    service, key = served
    with nginx_in_front(tmp_path / "nginx", service.port) as (http_port, https_port):
        plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
        plain.request("GET", "/healthz")
        redirected = plain.getresponse().status
        plain.close()
        assert redirected == 308  # plain HTTP only redirects
        with SlowClients("127.0.0.1", https_port, True, key) as holders:
            failures = probe("127.0.0.1", https_port, True, key)
        assert holders.opened >= 2 * HOLDERS
        assert failures == [], failures[:10]
        # nginx's own refusals are problem+json like the app's: a body over its limit
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        big = http.client.HTTPSConnection("127.0.0.1", https_port, timeout=5, context=context)
        big.request("POST", "/v1/evaluations", body=b"{" + b" " * 400_000 + b"}",
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        answer = big.getresponse()
        status, content_type, body = answer.status, answer.getheader("Content-Type"), answer.read()
        big.close()
        assert status == 413 and content_type == "application/problem+json" and json.loads(body)["status"] == 413
