"""Issue 18's second security review: races and leftovers of live recording sessions, over real
HTTP through the real app."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

import notary.recorder as recorder
from tests.support import LiveServer

pytestmark = [pytest.mark.api]

PCM = {"Content-Type": "application/octet-stream"}


def test_two_puts_of_one_segment_at_once_answer_fast_and_stall_no_other_write(
        server: LiveServer) -> None:
    http = server.admin()
    sid = http.post("/v1/recordings", json={"case_id": "REV-DUP-1"}).json()["session_id"]
    barrier = threading.Barrier(2)
    answers: list[tuple[int, str | None, bool | None]] = []

    def put() -> None:
        client = server.client(server.admin_key)
        barrier.wait()
        r = client.put(f"/v1/recordings/{sid}/segments/0", content=b"\x01\x00" * 8000,
                       headers=PCM)
        body = r.json()
        answers.append((r.status_code, body.get("code"),
                        body.get("details", {}).get("same")))

    started = time.monotonic()
    threads = [threading.Thread(target=put) for _ in range(2)]
    for t in threads:
        t.start()
    other = http.post("/v1/recordings", json={"case_id": "REV-DUP-2"})
    for t in threads:
        t.join(30)
    assert other.status_code == 201
    assert sorted(answers) == [(201, None, None), (409, "segment_duplicate", True)]
    assert time.monotonic() - started < 10  # a self-deadlock waits out SQLite's 30 s


def test_the_recorder_takes_a_duplicate_as_sent_only_when_the_bytes_are_the_same() -> None:
    puts = {"n": 0}
    same = {"value": False}

    def handler(req: httpx.Request) -> httpx.Response:
        if req.method == "POST":
            return httpx.Response(201, json={"session_id": "rs_" + "0" * 32})
        puts["n"] += 1
        if puts["n"] % 2 == 1:
            raise httpx.ReadTimeout("answer lost", request=req)
        return httpx.Response(409, json={"code": "segment_duplicate", "message": "held",
                                         "details": {"same": same["value"]}})

    real = httpx.Client
    stream = None
    try:
        recorder.httpx.Client = (  # type: ignore[misc]
            lambda **kw: real(transport=httpx.MockTransport(handler), **kw))
        stream = recorder.RecordingStream("http://x", "k", case_id="C")
    finally:
        recorder.httpx.Client = real  # type: ignore[misc]
    with pytest.raises(recorder.RecordingStreamError) as refused:
        stream.send(b"\x00\x01" * 100)
    assert refused.value.details == {"same": False} and stream.next == 0
    same["value"] = True
    stream.send(b"\x00\x01" * 100)
    assert stream.next == 1
