"""The service as it runs in production, ``python -m api serve`` under gunicorn, for tests that need processes.

``Served`` starts it on a free loopback port, waits for ``/readyz``, finds its workers (the children of the
gunicorn master, which is the process started: ``serve`` execs gunicorn) and sends requests with a bounded
timeout, returning ``None`` for a request the connection dropped.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def issue_key(database_url: str, role: str = "intake") -> str:
    """A new API key of ``role`` in the (migrated) database at ``database_url``."""
    from services import keys
    from services.audit import Caller
    from storage import Database, create_engine

    database = Database(create_engine(database_url))
    try:
        name = f"robustness tests ({role}) {secrets.token_hex(4)}"  # names are unique among unrevoked keys
        return keys.create_key(database.unit_of_work(), name, role, Caller()).key
    finally:
        database.dispose()


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Reply({self.status}, {self.body[:200]!r})"


class Served:
    """One gunicorn master with its workers, on ``database_url``."""

    def __init__(self, database_url: str, folder: Path, auth_headers: dict[str, str], *, workers: int = 2,
                 threads: int = 1, timeout: int = 30, env: dict[str, str] | None = None):
        self.database_url, self.folder, self.auth_headers = database_url, folder, auth_headers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "TMS_PORT": str(self.port),
                    "TMS_WORKERS": str(workers), "TMS_THREADS": str(threads), "TMS_TIMEOUT": str(timeout),
                    "TMS_INSTANCE_PATH": str(folder),
                    # the fault tests look at gunicorn's worker processes; test_slow_clients.py serves with granian
                    "TMS_SERVER": "gunicorn", **(env or {})}
        self.process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / "server.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def start(self, ready_within: float = 60) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "api", "serve"], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready(ready_within)

    def wait_ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        while True:
            reply = self.request("GET", "/readyz", timeout=5)
            if reply is not None and reply.status == 200:
                return
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, f"not ready in {within} s:\n{self.log()[-3000:]}"
            time.sleep(0.1)

    def workers(self) -> list[int]:
        """The pids of the master's live worker processes."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == self.process.pid and fields[0] not in "ZX":
                pids.append(int(entry))
        return sorted(pids)

    def kill_a_worker_mid_request(self) -> int | None:
        """SIGKILL a worker that holds an accepted client connection, so that a request is cut short; its pid,
        or ``None`` if no worker held one. Each worker is frozen (SIGSTOP) while it is looked at, so that
        it cannot finish its request between the look and the kill."""
        for pid in self.workers():
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            if pid in self.busy_workers():
                os.kill(pid, signal.SIGKILL)
                return pid
            os.kill(pid, signal.SIGCONT)
        return None

    def busy_workers(self) -> list[int]:
        """The workers holding an accepted client connection: each is in the middle of a request."""
        accepted = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == self.port and fields[3] == "01":  # ESTABLISHED
                    accepted.add(fields[9])  # the socket's inode
        busy = []
        for pid in self.workers():
            try:
                links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            except OSError:
                continue
            if any(link.startswith("socket:[") and link[8:-1] in accepted for link in links):
                busy.append(pid)
        return busy

    def rss_kib(self, pid: int) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                *, timeout: float = 30) -> Reply | None:
        """One request on a new connection; ``None`` if it could not be sent or the connection dropped."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        all_headers = {**self.auth_headers, **({"Content-Type": "application/json"} if body is not None else {}),
                       **(headers or {})}
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        except (ConnectionError, http.client.RemoteDisconnected, http.client.IncompleteRead,
                http.client.BadStatusLine):
            return None
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def raw_exchange(port: int, data: bytes, *, timeout: float = 10, then_wait: bool = False) -> Reply | None:
    """Send ``data`` as is on a new connection and read one response (the server may answer before all is sent).

    With ``then_wait`` the connection stays open after sending, as a client that announced more body than it
    sent would: the server must answer without waiting for the rest.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if not then_wait:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError, OSError) as exc:  # ENOTCONN from shutdown, too
            if isinstance(exc, TimeoutError):
                raise
            # answered and closed before reading everything: the answer may still be readable
        received = bytearray()
        try:
            while chunk := sock.recv(65536):
                received += chunk
                head, sep, rest = bytes(received).partition(b"\r\n\r\n")
                if sep and _complete(head, rest):
                    break
        except ConnectionResetError:
            pass
    head, sep, rest = bytes(received).partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return Reply(int(lines[0].split()[1]), headers, rest)


def _complete(head: bytes, rest: bytes) -> bool:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value)
    return False
