"""notary.client's retries against a real HTTP server on a loopback port that answers as a
busy service does: what is sent again (and with which Idempotency-Key), what is not, and how
long it waits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from notary.client import Client, ServiceError
from notary.core.errors import InputError
from tests.support import free_port

pytestmark = pytest.mark.integration

ITEM = {"id": "ev_" + "1" * 32, "sha256": "ab" * 32, "status": "pending", "case_id": "HX-1"}


class Busy(BaseHTTPRequestHandler):
    """Answers each request with the next of ``script`` (status, headers), then 200/201 JSON;
    a status of 0 drops the connection without answering. Records what it was sent."""

    script: ClassVar[list[tuple[int, dict[str, str]]]] = []
    seen: ClassVar[list[tuple[str, str, str | None]]] = []

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        Busy.seen.append((self.command, self.path, self.headers.get("Idempotency-Key")))
        status, headers = Busy.script.pop(0) if Busy.script else (
            201 if self.command == "POST" else 200, {})
        if status == 0:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body = json.dumps(ITEM if status < 400 else {"code": "uploads_busy",
                                                      "message": "busy"}).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def busy() -> Iterator[str]:
    Busy.script, Busy.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_busy_answer_is_sent_again_after_retry_after_with_the_same_idempotency_key(
        busy: str, tmp_path: Path) -> None:
    file = tmp_path / "1701.wav"
    file.write_bytes(b"RIFF recording")
    Busy.script = [(503, {"Retry-After": "1"}), (429, {"Retry-After": "1"})]
    started = time.monotonic()
    with Client(busy, "key", backoff=0.01) as client:
        item = client.submit(file, {"case_id": "HX-1", "kind": "call_recording"})
    assert item["id"] == ITEM["id"]
    assert time.monotonic() - started >= 2.0, "Retry-After was honoured, not the backoff"
    keys = {key for _, _, key in Busy.seen}
    assert len(Busy.seen) == 3 and len(keys) == 1 and None not in keys

    Busy.seen = []
    with Client(busy, "key", backoff=0.01) as client:
        client.submit(file, {"case_id": "HX-1", "kind": "call_recording"},
                      idempotency_key="watch-mine")
        client.submit(file, {"case_id": "HX-1", "kind": "call_recording"})
    assert Busy.seen[0][2] == "watch-mine"
    assert Busy.seen[1][2] not in (None, "watch-mine"), "each call gets a key of its own"


def test_retries_end_and_the_last_answer_is_the_error(busy: str) -> None:
    Busy.script = [(503, {"Retry-After": "0"})] * 3
    with Client(busy, "key", retries=2, backoff=0.01) as client, \
            pytest.raises(ServiceError) as err:
        client.status(ITEM["id"])
    assert err.value.http_status == 503 and err.value.code == "uploads_busy"
    assert len(Busy.seen) == 3


def test_a_request_the_service_may_have_acted_on_is_not_sent_again_unless_repeatable(
        busy: str) -> None:
    Busy.script = [(0, {})]  # the connection drops after the request was read
    with Client(busy, "key", backoff=0.01) as client, pytest.raises(ServiceError) as err:
        client.create_share("HX-1", expires_in=3600, label=None)
    assert err.value.code == "service_unavailable" and len(Busy.seen) == 1
    Busy.script, Busy.seen = [(0, {})], []
    with Client(busy, "key", backoff=0.01) as client:
        assert client.status(ITEM["id"])["id"] == ITEM["id"]  # a GET is
    assert len(Busy.seen) == 2


def test_a_refused_connection_is_tried_again_until_the_service_is_up() -> None:
    port = free_port()
    server: list[ThreadingHTTPServer] = []

    def start_late() -> None:
        time.sleep(0.4)
        server.append(ThreadingHTTPServer(("127.0.0.1", port), Busy))
        server[0].serve_forever()

    Busy.script, Busy.seen = [], []
    threading.Thread(target=start_late, daemon=True).start()
    try:
        with Client(f"http://127.0.0.1:{port}", "key", retries=6, backoff=0.1) as client:
            assert client.create_share("HX-1", expires_in=3600, label=None)["id"] == ITEM["id"]
        assert len(Busy.seen) == 1, "nothing reached the service before it was up"
    finally:
        if server:
            server[0].shutdown()
            server[0].server_close()


def test_a_busy_answer_to_a_request_that_is_not_repeatable_is_the_error(busy: str) -> None:
    Busy.script = [(503, {"Retry-After": "0"})]
    with Client(busy, "key", backoff=0.01) as client, pytest.raises(ServiceError) as err:
        client.shred(ITEM["id"], "purpose ended")
    assert err.value.http_status == 503 and len(Busy.seen) == 1


def test_without_following_links_a_link_is_not_sent(busy: str, tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_bytes(b"a key the watcher's user may read")
    (tmp_path / "1701.wav").symlink_to(tmp_path / "key.pem")
    with Client(busy, "key", backoff=0.01) as client:
        with pytest.raises(InputError) as err:
            client.submit(tmp_path / "1701.wav", {"case_id": "HX-1"}, follow_symlinks=False)
        assert err.value.code == "file_not_regular" and Busy.seen == []
        item = client.submit(tmp_path / "1701.wav", {"case_id": "HX-1"})  # notary submit's way
    assert item["id"] == ITEM["id"] and len(Busy.seen) == 1
