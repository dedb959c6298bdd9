"""Issue 18 attack review over real HTTP: sessions a dishonest recorder (or an unlucky one)
can drive into a false claim or a lost recording. Each test states what must hold and fails
today."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import notary.service.recording as recording_service
from notary.core.signing import jws_payload
from notary.core.statement import Statement
from notary.service.calls import CallMetadataError
from notary.service.recording import Recordings
from storage.db import Evidence, session
from storage.recordings import RecordingSession
from tests.recording.recorder import segment_pcm
from tests.support import LiveServer

pytestmark = [pytest.mark.api]

PCM = {"Content-Type": "application/octet-stream"}


def _open(server: LiveServer, case: str, **extra: Any) -> str:
    resp = server.admin().post("/v1/recordings", json={"case_id": case, **extra})
    assert resp.status_code == 201, resp.text
    sid: str = resp.json()["session_id"]
    return sid


def _put(server: LiveServer, sid: str, n: int) -> None:
    resp = server.admin().put(f"/v1/recordings/{sid}/segments/{n}", content=segment_pcm(n),
                              headers=PCM)
    assert resp.status_code == 201, resp.text


def test_a_file_name_the_statement_refuses_is_refused_at_open(server: LiveServer) -> None:
    """``file_name`` is not validated at open; the statement refuses it at every close, so the
    whole call is streamed, checkpointed, and can never be notarised (the timeout's closer
    fails 5 times and marks the session ``failed``)."""
    http = server.admin()
    opened = http.post("/v1/recordings", json={"case_id": "ATK-NAME-1",
                                                "file_name": "calls/../a.wav"})
    if opened.status_code == 201:  # today: accepted; show what it costs
        sid = opened.json()["session_id"]
        _put(server, sid, 0)
        closed = http.post(f"/v1/recordings/{sid}/close", json={})
        assert closed.status_code == 200, (
            f"open accepted a file name, then close answered {closed.status_code} "
            f"{closed.text[:200]}")
    assert opened.status_code == 422, opened.text


def test_a_call_record_that_starts_after_the_segments_arrived_is_refused(
        server: LiveServer) -> None:
    """A recorder streams a file, then closes with a call record of a call that began after
    every segment had been received (or ends in the future): the service takes it, and the
    item's verification says every segment was ``during_call`` and the recording ``live``."""
    http = server.admin()
    sid = _open(server, "ATK-CLOCK-1")
    for n in range(3):
        _put(server, sid, n)
    later = datetime.now(UTC) + timedelta(minutes=5)
    call = {"started_at": later.isoformat(timespec="seconds"),
            "ended_at": (later + timedelta(minutes=1)).isoformat(timespec="seconds"),
            "timezone": "Asia/Shanghai", "direction": "outbound", "agent_id": "A9",
            "caller": "021-5050-1234", "callee": "138 0013 8000"}
    closed = http.post(f"/v1/recordings/{sid}/close", json={"call": call})
    if closed.status_code == 200:
        report = http.get(f"/v1/evidence/{closed.json()['evidence_id']}/recording").json()
        assert not report["live"], (
            "a call said to start 5 minutes after its audio arrived verifies as live: "
            f"{[s['during_call'] for s in report['segments']]}")
    assert closed.status_code == 422, closed.text


def test_the_timeout_does_not_close_a_session_a_segment_just_reached(
        make_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweeper picks stale sessions, then claims each without looking again: a segment
    arriving in between (the recorder was merely slow) is kept, but the session is closed
    ``incomplete`` under the live recorder, whose every later segment is refused
    (``recording_closed``): the rest of the call is lost."""
    server = make_server(recording_timeout_seconds=3600.0)  # the background sweeper sleeps
    sid = _open(server, "ATK-SWEEP-1")
    _put(server, sid, 0)
    real_claim = recording_service.claim

    def claim_after_a_segment(*args: Any, **kwargs: Any) -> Any:
        _put(server, sid, 1)  # the recorder's next segment lands between query and claim
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(recording_service, "claim", claim_after_a_segment)
    desk = Recordings(server.service.context, server.service.notariser)
    # The sweep as it runs an hour later (the timeout has passed for segment 0).
    desk.sweep(now=datetime.now(UTC) + timedelta(hours=2))
    monkeypatch.setattr(recording_service, "claim", real_claim)
    state = server.admin().get(f"/v1/recordings/{sid}").json()
    later = server.admin().put(f"/v1/recordings/{sid}/segments/2", content=segment_pcm(2),
                               headers=PCM)
    assert state["status"] == "open" and later.status_code == 201, (
        f"a session fed a moment ago was closed {state['status']}; segment 2: "
        f"{later.status_code} {later.text[:120]}")


def test_a_dialer_clock_ahead_of_the_service_does_not_keep_a_dead_session_open_forever(
        make_server: Any) -> None:
    """The call record given at open starts by the dialer's clock; the timeout's closer ends
    it where the last segment arrived by the service's clock. A dialer a few minutes ahead
    (or a recorder that lies) makes that end precede the start: ``_call_at_close`` raises
    before any claim, on every sweep, so the session is neither closed nor counted as a
    failed close: it stays ``open`` for ever and its segments are never notarised."""
    server = make_server(recording_timeout_seconds=3600.0)
    # Ahead by less than the service's clock slack (60 s): further ahead is refused at open.
    ahead = datetime.now(UTC) + timedelta(seconds=45)
    call = {"started_at": ahead.isoformat(timespec="seconds"), "timezone": "Asia/Shanghai",
            "direction": "outbound", "agent_id": "A9", "caller": "021-5050-1234",
            "callee": "138 0013 8000"}
    sid = _open(server, "ATK-SKEW-1", call=call)
    _put(server, sid, 0)
    desk = Recordings(server.service.context, server.service.notariser)
    for hours in range(2, 2 + 6):  # six sweeps, each after the timeout (more than 5 attempts)
        desk.sweep(now=datetime.now(UTC) + timedelta(hours=hours))
    state = server.admin().get(f"/v1/recordings/{sid}").json()
    assert state["status"] != "open", (
        "a dead recorder's session is still open after six timeout sweeps")


# -- the fixes, stated positively ----------------------------------------------------------


def _call(start: datetime, **extra: Any) -> dict[str, Any]:
    return {"started_at": start.isoformat(timespec="seconds"), "timezone": "Asia/Shanghai",
            "direction": "outbound", "agent_id": "A9", "caller": "021-5050-1234",
            "callee": "138 0013 8000", **extra}


def test_open_refuses_what_the_statement_would_with_the_uploads_codes(
        server: LiveServer) -> None:
    http = server.admin()
    for body, code, field in [
            ({"file_name": "calls/../a.wav"}, "file_name_invalid", "file_name"),
            ({"file_name": ".."}, "file_name_invalid", "file_name"),
            ({"case_id": "ATK/1"}, "case_id_invalid", "case_id"),
            ({"kind": "bogus"}, "kind_unknown", "kind"),
            ({"call": _call(datetime.now(UTC) + timedelta(minutes=5))},
             "call_time_implausible", "call.started_at")]:
        refused = http.post("/v1/recordings", json={"case_id": "ATK-OPEN-1", **body})
        assert refused.status_code == 422, refused.text
        assert (refused.json()["code"], refused.json()["details"].get("field")) == (code, field)
        assert refused.json()["message"]


def test_a_call_ending_after_the_close_is_refused_and_loses_nothing(
        server: LiveServer) -> None:
    http = server.admin()
    sid = _open(server, "ATK-CLOCK-2", call=_call(datetime.now(UTC) - timedelta(seconds=5)))
    _put(server, sid, 0)
    future = (datetime.now(UTC) + timedelta(minutes=10)).isoformat(timespec="seconds")
    refused = http.post(f"/v1/recordings/{sid}/close", json={"call": {"ended_at": future}})
    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["details"]["field"]) == (
        "call_time_implausible", "call.ended_at")
    assert "时钟" in refused.json()["message"]
    _put(server, sid, 1)  # still open, segment 0 kept
    now = datetime.now(UTC).isoformat(timespec="seconds")
    closed = http.post(f"/v1/recordings/{sid}/close", json={"call": {"ended_at": now}})
    assert (closed.status_code, closed.json()["status"], closed.json()["segments"]) == (
        200, "closed", 2), closed.text


def test_the_timeouts_close_of_a_call_that_starts_after_its_last_segment_ends_it_at_its_start(
        make_server: Any) -> None:
    server = make_server(recording_timeout_seconds=3600.0)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=45)
    sid = _open(server, "ATK-SKEW-2", call=_call(start))
    _put(server, sid, 0)
    desk = Recordings(server.service.context, server.service.notariser)
    assert desk.sweep(now=datetime.now(UTC) + timedelta(hours=2)) == [sid]
    state = server.admin().get(f"/v1/recordings/{sid}").json()
    assert state["status"] == "incomplete" and state["evidence_id"], state
    with session(server.service.engine) as s:
        item = s.get(Evidence, state["evidence_id"])
    assert item is not None
    call = Statement.from_bytes(jws_payload(item.statement_jws)).call
    assert call is not None
    assert call.ended_at == call.started_at == start.isoformat(timespec="seconds")


def test_a_timeout_close_refused_before_its_claim_counts_as_a_failed_close(
        make_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the timeout's closer cannot build, it counts as a failed close: backed off,
    then ``failed``; never the same error before any claim, on every sweep."""
    server = make_server(recording_timeout_seconds=3600.0)
    sid = _open(server, "ATK-SKEW-3", call=_call(datetime.now(UTC)))
    _put(server, sid, 0)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise CallMetadataError("broken", field="call")

    monkeypatch.setattr(Recordings, "_call_at_close", broken)
    desk = Recordings(server.service.context, server.service.notariser)
    desk.sweep(now=datetime.now(UTC) + timedelta(hours=2))
    with session(server.service.engine) as s:
        row = s.get(RecordingSession, sid)
    assert row is not None and (row.status, row.close_failures) == ("open", 1)
    assert row.retry_at is not None


def test_a_segment_sent_while_a_close_is_under_way_is_retryable_and_the_recorder_retries(
        server: LiveServer) -> None:
    from notary.recorder import RecordingStream
    from notary.service.recording_claims import claim, finish

    stream = RecordingStream(server.url, server.admin_key, case_id="ATK-BUSY-1")
    with stream:
        stream.send(segment_pcm(0))
        engine = server.service.engine
        taken = claim(engine, stream.session_id, 3600.0)
        assert taken is not None
        busy = server.admin().put(f"/v1/recordings/{stream.session_id}/segments/1",
                                  content=segment_pcm(1), headers=PCM)
        assert (busy.status_code, busy.json()["code"]) == (503, "recording_closing"), busy.text
        assert busy.headers["Retry-After"] == "1"
        waits: list[float] = []

        def the_close_fails(seconds: float) -> None:  # the close fails while it waits
            waits.append(seconds)
            finish(engine, stream.session_id, taken[0], "open", None)

        stream.sleep = the_close_fails
        answer = stream.send(segment_pcm(1))
        assert answer["segment"] == 1 and answer["checkpoint"] and waits == [1.0]
        assert server.admin().get(f"/v1/recordings/{stream.session_id}").json()[
            "segments"] == 2
