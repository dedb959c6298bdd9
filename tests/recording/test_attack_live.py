"""Issue 18 attack review over real HTTP: audio streamed faster than it could have been
recorded must not verify as ``live``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cached_property

import pytest

from notary.core.excerpt import OPEN_LATENCY, SegmentContext
from notary.core.recording import AudioFormat, RecordingLayout
from tests.recording.test_attack_api import _open, _put
from tests.support import LiveServer

pytestmark = [pytest.mark.api]



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



class _Claimed(SegmentContext):
    """A context whose call record claims ``window`` (the rest of a call record is not read
    by the reference)."""

    window: tuple[datetime, datetime] | None = None

    @cached_property
    def call_window(self) -> tuple[datetime, datetime] | None:
        return self.window


def test_a_call_claimed_to_start_long_before_the_session_does_not_make_an_old_file_live() -> None:
    """The call record is the recorder's word: a ``started_at`` an hour before the session
    opened would otherwise move the real-time reference an hour back, and a file streamed in
    a few seconds would pass as recorded live. The reference moves by OPEN_LATENCY at most."""
    opened = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
    layout = RecordingLayout(session_id="rs_test", format=AudioFormat(sample_rate=8000),
                             sizes=(32000,), root="00" * 32, chain_head="00" * 32,
                             opened_at="2026-12-07T10:00:00Z",
                             last_received_at="2026-12-07T10:00:01Z", complete=True)
    for claimed, reference in [(timedelta(hours=1), OPEN_LATENCY),
                               (timedelta(seconds=10), timedelta(seconds=10)),
                               (-timedelta(seconds=10), timedelta(0))]:
        context = _Claimed(layout, {}, None, None)
        context.window = (opened - claimed, opened + timedelta(minutes=5))
        assert context.reference == opened - reference, claimed
    # an hour-old file streamed at once: its second segment is early, so not real time
    context = _Claimed(layout, {}, None, None)
    context.window = (opened - timedelta(hours=1), opened + timedelta(minutes=5))
    assert context.recorded_by(0) == opened - OPEN_LATENCY + timedelta(seconds=2)
