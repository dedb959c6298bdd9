"""Issue 18's second security review: races and leftovers of live recording sessions, over real
HTTP through the real app."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from notary import recorder
from notary.client import Client
from notary.core.errors import NotaryError
from notary.core.recording import MAX_SEGMENTS
from notary.core.statement import MAX_STATEMENT_BYTES
from notary.service.recording import STATEMENT_RESERVE, Recordings, segment_cap
from notary.service.recording_claims import CLOSE_ATTEMPTS, claim, finish
from storage.db import session, utc
from storage.recordings import RecordingSegment, RecordingSession
from tests.intake.files import form, wav_bytes
from tests.recording.recorder import segment_pcm
from tests.support import LiveServer, wait_until

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

    sdk = Client("http://x", "k")
    sdk.http = httpx.Client(base_url="http://x", transport=httpx.MockTransport(handler))
    stream = recorder.RecordingStream("http://x", "k", case_id="C", client=sdk)
    with pytest.raises(recorder.RecordingStreamError) as refused:
        stream.send(b"\x00\x01" * 100)
    assert refused.value.details == {"same": False} and stream.next == 0
    same["value"] = True
    stream.send(b"\x00\x01" * 100)
    assert stream.next == 1


def _session_with_segments(server: LiveServer, case: str, count: int = 3) -> str:
    http = server.admin()
    sid: str = http.post("/v1/recordings", json={"case_id": case}).json()["session_id"]
    for n in range(count):
        assert http.put(f"/v1/recordings/{sid}/segments/{n}", content=segment_pcm(n),
                        headers=PCM).status_code == 201
    return sid


def _recordings(server: LiveServer) -> Recordings:
    return Recordings(server.service.context, server.service.notariser)


def test_a_close_slower_than_the_timeout_is_not_taken_for_a_dead_one(
        make_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = make_server(recording_timeout_seconds=1.0)
    http = server.admin()
    sid = _session_with_segments(server, "REV-SLOW-1")
    # The only way to make a close slow on demand: wrap the notarising step (a slow seal or
    # blob store in production); the real step runs after the pause.
    real, calls = Recordings._notarise, []

    def slow(self: Recordings, *args: Any) -> Any:
        calls.append(args[-1])
        time.sleep(3.5)  # over three timeouts: the sweeper runs several times meanwhile
        return real(self, *args)

    monkeypatch.setattr(Recordings, "_notarise", slow)
    answer = http.post(f"/v1/recordings/{sid}/close", json={})
    assert answer.status_code == 200, answer.text
    assert calls == [True]  # the sweeper never took the live closer's claim
    body = http.get(f"/v1/recordings/{sid}").json()
    assert (body["status"], body["evidence_id"]) == ("closed", answer.json()["evidence_id"])
    items = http.get("/v1/evidence", params={"case": "REV-SLOW-1"}).json()["items"]
    assert [i["id"] for i in items] == [body["evidence_id"]]
    late = http.put(f"/v1/recordings/{sid}/segments/3", content=segment_pcm(3), headers=PCM)
    assert (late.status_code, late.json()["code"]) == (409, "recording_closed")


def test_a_close_failing_after_its_item_exists_closes_with_that_item(
        server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    http = server.admin()
    sid = _session_with_segments(server, "REV-AFTER-1")
    real = Recordings._notarise

    def lost_answer(self: Recordings, *args: Any) -> Any:
        real(self, *args)  # the item is recorded, then the closer fails
        raise NotaryError("the closer failed after the item was recorded", code="boom")

    monkeypatch.setattr(Recordings, "_notarise", lost_answer)
    failed = http.post(f"/v1/recordings/{sid}/close", json={})
    assert failed.status_code >= 400
    body = http.get(f"/v1/recordings/{sid}").json()
    items = http.get("/v1/evidence", params={"case": "REV-AFTER-1"}).json()["items"]
    assert body["status"] == "closed" and [i["id"] for i in items] == [body["evidence_id"]]
    late = http.put(f"/v1/recordings/{sid}/segments/3", content=segment_pcm(3), headers=PCM)
    assert late.json()["code"] == "recording_closed"


def test_the_recording_key_namespace_is_reserved_and_failing_closes_give_up(
        server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    http = server.admin()
    sid = _session_with_segments(server, "REV-LOOP-1")
    squat = http.post("/v1/evidence", headers={"Idempotency-Key": f"recording:{sid}"},
                      files=form({"case_id": "REV-LOOP-1", "kind": "call_recording"},
                                 wav_bytes(), "recording.wav"))
    assert (squat.status_code, squat.json()["code"]) == (400, "idempotency_key_reserved")
    digest = hashlib.sha256(b"x").hexdigest()
    deposit = http.post("/v1/evidence/hashes", json={
        "case_id": "REV-LOOP-1", "kind": "other", "sha256": digest, "size": 1,
        "file_name": "x.pdf", "client_id": f"recording:{sid}"})
    assert (deposit.status_code, deposit.json()["code"]) == (400, "idempotency_key_reserved")

    def broken(self: Recordings, *args: Any) -> Any:
        raise NotaryError("the store is broken", code="boom")

    monkeypatch.setattr(Recordings, "_notarise", broken)
    recordings = _recordings(server)
    with session(server.service.engine) as s:
        row = s.get(RecordingSession, sid)
    assert row is not None
    with pytest.raises(NotaryError):
        recordings.close(tenant=row.tenant, session_id=sid, complete=False)
    after = recordings.get(row.tenant, sid)
    assert (after.status, after.close_failures) == ("open", 1) and after.retry_at is not None
    assert sid not in recordings.sweep()  # backing off: the sweep leaves it alone
    for _ in range(CLOSE_ATTEMPTS - 1):
        with pytest.raises(NotaryError):
            recordings.close(tenant=row.tenant, session_id=sid, complete=False)
    assert http.get(f"/v1/recordings/{sid}").json()["status"] == "failed"
    late = http.put(f"/v1/recordings/{sid}/segments/3", content=segment_pcm(3), headers=PCM)
    assert late.json()["code"] == "recording_closed"


def test_shredding_a_recording_forgets_its_segments_and_session_key(
        server: LiveServer) -> None:
    http = server.admin()
    sid = _session_with_segments(server, "REV-SHRED-1")
    evidence = http.post(f"/v1/recordings/{sid}/close", json={}).json()["evidence_id"]
    wait_until(lambda: http.get(f"/v1/evidence/{evidence}").json()["status"] == "anchored",
               timeout=60)
    shred = http.post(f"/v1/evidence/{evidence}/shred",
                      json={"reason": "erasure request", "legal_basis": "PIPL art. 47"})
    assert shred.status_code == 200, shred.text
    with session(server.service.engine) as s:
        rows = s.exec(select(RecordingSegment).where(
            RecordingSegment.session_id == sid)).all()
        held = s.get(RecordingSession, sid)
    assert rows == [] and held is not None and held.wrapped_key == ""
    what = http.get(f"/v1/evidence/{evidence}/recording").json()  # what the statement proves
    assert what["shredded"] is True and what["anchored_at"] is not None
    assert http.get(f"/v1/evidence/{evidence}/recording/excerpt",
                    params={"from": "0", "to": "2"}).status_code == 410
    assert http.get(f"/v1/evidence/{evidence}").status_code == 200  # the statement stands


def test_the_segments_a_session_takes_always_fit_one_statement() -> None:
    for limit in (1, 64 * 1024, 1024 * 1024, 10**9):
        cap = segment_cap(limit)
        assert cap <= MAX_SEGMENTS
        assert cap * (len(str(limit)) + 1) <= MAX_STATEMENT_BYTES - STATEMENT_RESERVE
    assert segment_cap(1024 * 1024) == 6144 and segment_cap(1024) == MAX_SEGMENTS


def test_the_timeout_replacing_a_dead_closer_finishes_as_that_closer_asked(
        make_server: Any) -> None:
    server = make_server(recording_timeout_seconds=1.0)
    http = server.admin()
    sid = _session_with_segments(server, "REV-DEAD-1")
    # A recorder's close that died right after claiming (no lease renewed it).
    taken = claim(server.service.engine, sid, 1.0, '{"complete": true, "ended_at": null}')
    assert taken is not None and taken[1] is None

    def finished() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/recordings/{sid}").json()
        return body if body["status"] not in ("open", "closing") else None

    body = wait_until(finished)
    assert isinstance(body, dict) and body["status"] == "closed"  # complete, as asked
    assert finish(server.service.engine, sid, taken[0], "open", None).status == "closed"


def test_a_segment_arriving_after_the_sweep_chose_the_session_keeps_it_open(
        server: LiveServer) -> None:
    """The sweep picks the sessions idle since its cutoff, then closes them one by one; a
    segment that reaches a picked session in between shows the recorder alive, and the
    timeout's closer must leave that session open (checked again under the session's lock)."""
    http = server.admin()
    sid = _session_with_segments(server, "REV-SWEEP-1")
    recordings = _recordings(server)
    with session(server.service.engine) as s:
        row = s.get(RecordingSession, sid)
    assert row is not None
    cutoff = utc(row.last_at) + timedelta(microseconds=1)  # idle before the cutoff: picked
    assert http.put(f"/v1/recordings/{sid}/segments/3", content=segment_pcm(3),
                    headers=PCM).status_code == 201  # ... and then a segment arrives
    kept = recordings.close(tenant=row.tenant, session_id=sid, complete=False,
                            idle_before=cutoff)
    assert (kept.status, kept.evidence_id, kept.segments) == ("open", None, 4)
    assert http.put(f"/v1/recordings/{sid}/segments/4", content=segment_pcm(4),
                    headers=PCM).status_code == 201
    with session(server.service.engine) as s:
        row = s.get(RecordingSession, sid)
    assert row is not None
    idle = recordings.close(tenant=row.tenant, session_id=sid, complete=False,
                            idle_before=utc(row.last_at) + timedelta(microseconds=1))
    assert idle.status == "incomplete" and idle.evidence_id is not None
