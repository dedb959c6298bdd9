"""Issue 18 attack review over real HTTP: audio streamed faster than it could have been
recorded must not verify as ``live``."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.recording.recorder import segment_pcm
from tests.support import LiveServer

pytestmark = [pytest.mark.api]

PCM = {"Content-Type": "application/octet-stream"}


def _open(server: LiveServer, case: str) -> str:
    resp = server.admin().post("/v1/recordings", json={"case_id": case})
    assert resp.status_code == 201, resp.text
    sid: str = resp.json()["session_id"]
    return sid


def _put(server: LiveServer, sid: str, n: int) -> None:
    resp = server.admin().put(f"/v1/recordings/{sid}/segments/{n}", content=segment_pcm(n),
                              headers=PCM)
    assert resp.status_code == 201, resp.text


def test_a_file_streamed_faster_than_it_could_be_recorded_is_not_live(
        server: LiveServer) -> None:
    """Ten seconds of audio (five 2-second segments) sent as fast as HTTP allows, by the
    service's clock alone (no call record): segment 4 ends 10 s into the recording yet was
    checkpointed well before 10 s after the session opened, so it was not recorded while
    streamed. The item still verifies ``live`` (and the shipped test streams at 20x real
    time and asserts ``live``)."""
    http = server.admin()
    sid = _open(server, "ATK-FAST-1")
    for n in range(5):
        _put(server, sid, n)
    closed = http.post(f"/v1/recordings/{sid}/close", json={})
    assert closed.status_code == 200, closed.text
    report = http.get(f"/v1/evidence/{closed.json()['evidence_id']}/recording").json()
    opened = datetime.fromisoformat(server.admin().get(
        f"/v1/evidence/{closed.json()['evidence_id']}").json()["statement_json"]["recording"][
        "opened_at"])
    last = datetime.fromisoformat(report["segments"][-1]["existed_by"])
    assert last - opened < timedelta(seconds=10)  # the premise: faster than real time
    assert not report["live"], "10 s of audio received in under 10 s verifies as live"
