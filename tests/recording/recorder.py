"""A real recorder for the tests: a process making 8 kHz mono 16-bit PCM of a call (two tones
turn about) in 2-second segments and streaming it through :class:`notary.recorder.RecordingStream`.

``python -m tests.recording.recorder URL KEY CASE SECONDS SPEEDUP`` records SECONDS of audio,
sending each segment when its time has come divided by SPEEDUP (the tests run 20 times faster
than real time, so a one-minute call takes 3 s). It prints ``session ID`` when the session is
open and ``sent N`` after each checkpoint, so a test can kill it mid-call.
"""

from __future__ import annotations

import math
import struct
import sys
import time
from datetime import UTC, datetime

from notary.recorder import RecordingStream

RATE = 8000
SEGMENT_SECONDS = 2


def segment_pcm(index: int) -> bytes:
    """Segment ``index``: 2 s of a tone that changes every segment (agent, then contact)."""
    tone = 440.0 if index % 2 == 0 else 620.0
    start = index * SEGMENT_SECONDS * RATE
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * tone * (start + i) / RATE)))
                    for i in range(SEGMENT_SECONDS * RATE))


def main(url: str, key: str, case_id: str, seconds: str, speedup: str) -> None:
    total, pace = int(seconds), float(speedup)
    started = datetime.now(UTC).astimezone()
    begun = time.monotonic()
    call = {"started_at": started.isoformat(timespec="seconds"), "timezone": "Asia/Shanghai",
            "direction": "outbound", "agent_id": "工号 2048", "caller": "021-5050-1234",
            "callee": "138 0013 8000"}
    with RecordingStream(url, key, case_id=case_id, sample_rate=RATE, call=call) as stream:
        print(f"session {stream.session_id}", flush=True)
        for index in range(total // SEGMENT_SECONDS):
            due = begun + (index + 1) * SEGMENT_SECONDS / pace  # a segment is sent once recorded
            time.sleep(max(0.0, due - time.monotonic()))
            stream.send(segment_pcm(index))
            print(f"sent {index}", flush=True)
        ended = datetime.now(UTC).astimezone()
        closed = stream.close(call={"ended_at": ended.isoformat(timespec="seconds")})
        print(f"closed {closed['evidence_id']}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
