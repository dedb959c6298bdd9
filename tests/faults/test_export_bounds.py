"""Bundle builds are bounded and cancellable (issue 13 #12): a case bundle's build reads,
builds and verifies every item, then renders the case certificate (one PDF, about a second:
its CJK font is loaded and subset), then streams, so

* a client that asks for a case bundle and hangs up stops the build at its next item (its
  slot is freed, no ``exported`` audit event is written for a bundle nobody received), and
  a server shut down right after does not wait for that build;
* over the bound (``NOTARY_EXPORT_BUILDS`` builds overall, one per key) a request is answered
  at once with ``export_busy``: 429 for the same key, 503 for another, both with Retry-After.

Real server, real anvil, real sockets; the hang-up is a real socket close.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable

import pytest
from sqlmodel import select

from notary.service.exportgate import ExportGate
from storage.db import CustodyRecord, session
from tests.support import LiveServer, wait_until

pytestmark = [pytest.mark.chain, pytest.mark.faults]

CASE = "EXP-2026-0001"
ITEMS = 6
#: The steps of a whole build: each item read, its documents built, it verified for the case
#: certificate; one before and one after the certificate is rendered; each item streamed.
FULL = 4 * ITEMS + 2


def _anchored_case(server: LiveServer, n: int = ITEMS) -> list[str]:
    http = server.admin()
    ids = []
    for i in range(n):
        resp = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": CASE, "kind": "notice"})),
            "file": (f"notice-{i}.txt", os.urandom(2000))})
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    wait_until(lambda: all(http.get(f"/v1/evidence/{i}").json()["status"] == "anchored"
                           for i in ids), timeout=60)
    return ids


def _start_export(server: LiveServer, token: str) -> socket.socket:
    """A raw HTTP request for the case's hashes-only bundle; the caller decides when to hang up."""
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET /v1/cases/{CASE}/bundle?hashes_only=true HTTP/1.1\r\n"
                 f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    return sock


def _building(gate: ExportGate, steps: int = 1) -> Callable[[], bool]:
    return lambda: gate.running == 1 and gate.recent[-1].steps >= steps


def _exported_events(server: LiveServer) -> int:
    with session(server.service.engine) as s:
        return len(list(s.exec(select(CustodyRecord).where(CustodyRecord.act == "exported"))))


def test_a_client_that_hangs_up_stops_its_build_and_shutdown_does_not_wait(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(batch_max=ITEMS, batch_seconds=3600)
    _anchored_case(server)
    gate = server.service.exports
    sock = _start_export(server, server.admin_key)
    # The build is under way (items read, documents built, items verified for the case
    # certificate, which is being rendered)...
    wait_until(_building(gate, steps=3 * ITEMS), timeout=60)
    sock.close()  # ...and its client is gone.
    ticket = gate.recent[-1]
    hung_up = time.monotonic()
    wait_until(lambda: gate.running == 0, timeout=20)
    stopped_after = time.monotonic() - hung_up
    # A full build counts FULL steps (the last ITEMS while streaming): it stopped early.
    assert ticket.cancel.is_set() and ticket.released
    assert ticket.steps < FULL - ITEMS, ticket.steps
    assert gate.cancelled == 1
    assert _exported_events(server) == 0  # nothing was handed out, nothing is recorded

    # A second abandoned build, then shutdown at once: the server stops promptly.
    sock = _start_export(server, server.admin_key)
    wait_until(_building(gate, steps=3 * ITEMS), timeout=60)
    sock.close()
    began = time.monotonic()
    server.stop()
    took = time.monotonic() - began
    assert not server.thread.is_alive()
    assert took < 15, f"shutdown waited {took:.1f}s for an abandoned build"
    print(f"build stopped {stopped_after:.1f}s after the hang-up; shutdown took {took:.1f}s")


def test_builds_over_the_bound_are_refused_at_once_with_retry_after(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(batch_max=ITEMS, batch_seconds=3600, export_builds=1)
    ids = _anchored_case(server)
    gate = server.service.exports
    other = server.admin().post("/v1/api-keys", json={"role": "auditor", "label": "court"})
    assert other.status_code == 201, other.text
    other_token = other.json()["token"]

    sock = _start_export(server, server.admin_key)
    try:
        wait_until(_building(gate), timeout=60)
        began = time.monotonic()
        same = server.admin().get(f"/v1/cases/{CASE}/bundle", params={"hashes_only": "true"})
        assert same.status_code == 429, same.text
        assert same.json()["code"] == "export_busy"
        assert same.json()["details"]["scope"] == "holder"
        assert int(same.headers["Retry-After"]) >= 1

        busy = server.client(other_token).get(f"/v1/evidence/{ids[0]}/bundle",
                                              params={"hashes_only": "true"})
        assert busy.status_code == 503, busy.text
        assert busy.json()["code"] == "export_busy"
        assert busy.json()["details"]["scope"] == "service"
        assert int(busy.headers["Retry-After"]) >= 1
        assert time.monotonic() - began < 5  # refused at once, not queued
    finally:
        sock.close()
    wait_until(lambda: gate.running == 0, timeout=30)
    done = server.client(other_token).get(f"/v1/evidence/{ids[0]}/bundle",
                                          params={"hashes_only": "true"})
    assert done.status_code == 200, done.text
    assert done.content[:2] == b"PK"
    assert gate.running == 0
