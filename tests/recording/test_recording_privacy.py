"""Shredding a recording reaches every trace of its session, and an operator can retry or
discard a ``failed`` session; over real HTTP through the real app."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlmodel import select

from notary.core.errors import NotaryError
from notary.service.doctor import find_debris
from notary.service.recording import Recordings
from notary.service.recording_claims import CLOSE_ATTEMPTS
from notary.service.recording_failed import DISCARDED
from storage.db import AuditEvent, session
from storage.recordings import RecordingSegment, RecordingSession
from tests.recording.recorder import segment_pcm
from tests.recording.test_recording_review import _session_with_segments
from tests.support import LiveServer

pytestmark = [pytest.mark.api]

PCM = {"Content-Type": "application/octet-stream"}


def _cids(server: LiveServer, sid: str) -> list[str]:
    with session(server.service.engine) as s:
        return [g.cid for g in s.exec(select(RecordingSegment).where(
            RecordingSegment.session_id == sid)).all() if g.cid is not None]


def _fail(server: LiveServer, sid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the session ``failed``: CLOSE_ATTEMPTS closes by the timeout, each failing."""
    def broken(self: Recordings, *args: Any) -> Any:
        raise NotaryError("the store is broken", code="boom")

    monkeypatch.setattr(Recordings, "_notarise", broken)
    desk = Recordings(server.service.context, server.service.notariser)
    with session(server.service.engine) as s:
        row = s.get(RecordingSession, sid)
    assert row is not None
    for _ in range(CLOSE_ATTEMPTS):
        with pytest.raises(NotaryError):
            desk.close(tenant=row.tenant, session_id=sid, complete=False)
    monkeypatch.undo()


def test_shredding_a_recording_deletes_segment_ciphertexts_left_behind_and_says_what_remains(
        server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    http = server.admin()
    sid = _session_with_segments(server, "PRIV-SHRED-1")
    cids = _cids(server, sid)
    # A close whose clean-up of the segments' ciphertexts failed (a store down a moment).
    monkeypatch.setattr(Recordings, "_drop_blob", lambda self, cid: False)
    evidence = http.post(f"/v1/recordings/{sid}/close", json={}).json()["evidence_id"]
    monkeypatch.undo()
    blobs = server.service.context.blobs
    assert len(cids) == 3 and all(blobs.exists(c) for c in cids)
    shred = http.post(f"/v1/evidence/{evidence}/shred", json={"reason": "erasure request"})
    assert shred.status_code == 200, shred.text
    assert not any(blobs.exists(c) for c in cids)

    excerpt = http.get(f"/v1/evidence/{evidence}/recording/excerpt",
                       params={"from": "00:00:00", "to": "00:00:02"})
    assert (excerpt.status_code, excerpt.json()["code"]) == (410, "shredded")
    answer = http.get(f"/v1/evidence/{evidence}/recording")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["shredded"] is True and body["problems"] == [] and body["complete"] is True
    assert [(g["n"], g["size"], g["existed_by"]) for g in body["segments"]] == [
        (n, len(segment_pcm(n)), None) for n in range(3)]
    assert body["statement"]["segments"] == 3 and "shredded" in body["note"]
    assert not any({"salt", "sha256", "checkpoint", "leaf"} & set(g) for g in body["segments"])


def test_a_failed_session_is_retried_by_an_admin_and_closes_with_its_item(
        server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    http = server.admin()
    sid = _session_with_segments(server, "PRIV-RETRY-1")
    early = http.post(f"/v1/recordings/{sid}/retry")
    assert (early.status_code, early.json()["code"]) == (409, "recording_not_failed")
    _fail(server, sid, monkeypatch)
    assert http.get(f"/v1/recordings/{sid}").json()["status"] == "failed"
    # still failing: one more try, failed again, every segment kept
    monkeypatch.setattr(Recordings, "_notarise", lambda self, *a: (_ for _ in ()).throw(
        NotaryError("the store is still broken", code="boom")))
    again = http.post(f"/v1/recordings/{sid}/retry")
    assert again.status_code >= 400
    monkeypatch.undo()
    assert http.get(f"/v1/recordings/{sid}").json()["status"] == "failed"
    assert len(_cids(server, sid)) == 3
    done = http.post(f"/v1/recordings/{sid}/retry")
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "incomplete" and body["evidence_id"]  # as the timeout asked
    item = http.get(f"/v1/evidence/{body['evidence_id']}").json()
    assert item["id"] == body["evidence_id"]
    assert _cids(server, sid) == []  # the item holds the audio now


def test_a_failed_session_is_discarded_with_a_record_and_nothing_of_its_audio_left(
        server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    http = server.admin()
    sid = _session_with_segments(server, "PRIV-DISCARD-1")
    cids = _cids(server, sid)
    refused = http.post(f"/v1/recordings/{sid}/discard", json={"reason": "bad line"})
    assert (refused.status_code, refused.json()["code"]) == (409, "recording_not_failed")
    _fail(server, sid, monkeypatch)
    blank = http.post(f"/v1/recordings/{sid}/discard", json={"reason": "  "})
    assert blank.json()["code"] == "reason_required"
    answer = http.post(f"/v1/recordings/{sid}/discard",
                       json={"reason": "store lost; recorder keeps its own copy"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "discarded"
    blobs = server.service.context.blobs
    assert not any(blobs.exists(c) for c in cids)
    with session(server.service.engine) as s:
        rows = s.exec(select(RecordingSegment).where(RecordingSegment.session_id == sid)).all()
        held = s.get(RecordingSession, sid)
        record = s.exec(select(AuditEvent).where(AuditEvent.evidence_id == sid)).one()
    assert rows == [] and held is not None and held.wrapped_key == ""
    assert record.act == DISCARDED and "admin" in record.actor
    detail = json.loads(record.detail or "{}")
    assert detail["segments"] == 3 and detail["reason"].startswith("store lost")
    late = http.put(f"/v1/recordings/{sid}/segments/3", content=segment_pcm(3), headers=PCM)
    assert late.json()["code"] == "recording_closed"
    assert http.post(f"/v1/recordings/{sid}/retry").json()["code"] == "recording_not_failed"


def test_segment_ciphertexts_of_a_live_session_are_no_orphans_at_start_up(
        server: LiveServer) -> None:
    sid = _session_with_segments(server, "PRIV-ORPHAN-1", count=1)
    [cid] = _cids(server, sid)
    eager = dataclasses.replace(server.settings, orphan_grace_seconds=-60.0)
    found = find_debris(eager, server.service.engine)
    assert all(p.name != cid for p in found.orphans)
