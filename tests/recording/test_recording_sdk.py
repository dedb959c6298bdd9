"""The SDK's recording methods (one way to talk to the service: the recorder and ``notary
excerpt`` use them), against the real app over real HTTP."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from notary.client import Client, ServiceError
from tests.recording.recorder import segment_pcm
from tests.support import LiveServer

pytestmark = [pytest.mark.api]


def test_the_sdk_opens_appends_closes_and_excerpts_a_recording(server: LiveServer) -> None:
    with Client(server.url, server.admin_key, retries=0) as sdk:
        opened = sdk.open_recording("SDK-REC-1", file_name="call.wav")
        sid = opened["session_id"]
        assert opened["status"] == "open" and opened["segments"] == 0
        first = sdk.append_segment(sid, 0, segment_pcm(0))
        assert first["segment"] == 0 and first["checkpoint"].count(".") == 2
        sdk.append_segment(sid, 1, segment_pcm(1))
        with pytest.raises(ServiceError) as same:
            sdk.append_segment(sid, 1, segment_pcm(1))
        assert (same.value.http_status, same.value.code) == (409, "segment_duplicate")
        assert same.value.details["same"] is True and same.value.details["segment"] == 1
        with pytest.raises(ServiceError) as other:
            sdk.append_segment(sid, 1, segment_pcm(0))  # another tone
        assert other.value.details["same"] is False
        assert sdk.recording(sid)["segments"] == 2
        closed = sdk.close_recording(sid)
        evidence = closed["evidence_id"]
        assert closed["status"] == "closed" and evidence
        data = sdk.recording_excerpt(evidence, "00:00:02", "00:00:04")
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest = json.loads(zf.read("excerpt.json"))
        assert [g["n"] for g in manifest["segments"]] == [1]
        with pytest.raises(ServiceError) as refused:
            sdk.retry_recording(sid)
        assert (refused.value.http_status, refused.value.code) == (409, "recording_not_failed")
