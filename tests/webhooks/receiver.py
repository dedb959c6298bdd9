"""A real webhook receiver for the tests: a threaded HTTP server on a loopback port that can
be down (stopped: connections are refused), slow (it sleeps before answering) or failing (500
for the first attempts of each delivery), and that keeps every attempt it saw."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from notary.service.itemkeys import SecretBox
from tests.support import free_port

#: The box of delivery workers the tests build by hand: a fixed test key (their endpoints'
#: secrets are written in clear, as before sealing, or sealed with this box).
TEST_BOX = SecretBox(bytes(32), webhook=True)


@dataclass(frozen=True)
class Attempt:
    """One request as the receiver saw it, and what it answered."""

    headers: dict[str, str]
    body: bytes
    answered: int
    at: float

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


def signature_ok(secret: str, attempt: Attempt) -> bool:
    """The Standard Webhooks check written out here, independently of notary's code: HMAC-SHA256
    over ``id.timestamp.body`` with the base64-decoded secret, compared in constant time."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = (f"{attempt.headers['webhook-id']}.{attempt.headers['webhook-timestamp']}."
              .encode() + attempt.body)
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in attempt.headers["webhook-signature"].split()
             if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


class Receiver:
    """``fail_first`` answers ``fail_status`` (500; with ``retry_after`` if set) to the first
    attempts of each webhook-id; ``slow_first``
    sleeps ``delay`` seconds before answering the first attempts of each id."""

    def __init__(self) -> None:
        self.port = free_port()
        self.attempts: list[Attempt] = []
        self.arrivals: dict[str, int] = {}
        self.fail_first = 0
        self.fail_status = 500
        self.retry_after: str | None = None
        self.slow_first = 0
        self.delay = 0.0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/notary"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                msg_id = headers.get("webhook-id", "")
                with receiver.lock:  # counted on arrival: a slow attempt is recorded later
                    seen = receiver.arrivals.get(msg_id, 0)
                    receiver.arrivals[msg_id] = seen + 1
                slow = seen < receiver.slow_first
                status = receiver.fail_status if seen < receiver.fail_first else 200
                if slow:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.attempts.append(Attempt(headers, body, status, time.time()))
                try:
                    self.send_response(status)
                    if status != 200 and receiver.retry_after is not None:
                        self.send_header("retry-after", receiver.retry_after)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up waiting (slow): that is the point

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self) -> list[Attempt]:
        """The attempts answered 2xx, in order."""
        with self.lock:
            return [a for a in self.attempts if 200 <= a.answered < 300]

    def by_id(self) -> dict[str, list[Attempt]]:
        out: dict[str, list[Attempt]] = {}
        with self.lock:
            for a in self.attempts:
                out.setdefault(a.id, []).append(a)
        return out

    def deduplicated(self) -> dict[str, Attempt]:
        """What a receiver deduplicating by webhook-id keeps: the first accepted attempt of
        each id."""
        out: dict[str, Attempt] = {}
        for a in self.accepted():
            out.setdefault(a.id, a)
        return out


class Dribbler:
    """A hostile receiver: it reads the request, then answers one byte every ``interval``
    seconds (a header line that never ends), ``limit`` bytes in all, then hangs up. Each byte
    arrives within any per-read timeout, so only a limit on the whole attempt cuts it off."""

    def __init__(self, interval: float = 0.5, limit: int = 60) -> None:
        self.port = free_port()
        self.interval, self.limit = interval, limit
        self.seen = 0  # connections accepted
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/notary"

    def start(self) -> Dribbler:
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.1)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.seen += 1
            threading.Thread(target=self._dribble, args=(conn,), daemon=True).start()

    def _dribble(self, conn: socket.socket) -> None:
        answer = (b"HTTP/1.1 200 OK\r\nx-slow: " + b"x" * self.limit)[:self.limit]
        try:
            conn.recv(65536)
            for byte in answer:
                if self._stop.wait(self.interval):
                    break
                conn.sendall(bytes([byte]))
        except OSError:
            pass  # the sender hung up: what a time limit does
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()
        if self._thread is not None:
            self._thread.join(5)
