"""A dialer's call recorder, for the watcher's tests: writes COUNT recordings (8 kHz mono
16-bit WAV, each a different noise) into DIR, slowly, in chunks with pauses, as a recorder
writes a call while it lasts.

    python -m tests.watch.recorder DIR COUNT [--cases N] [--chunks K] [--pause S]
                                   [--convention close|done|rename]

Layout: DIR/<case>/call_recording/<NNNN>.wav. close: written in place and closed; done: then
``NAME.done`` is created; rename: written as ``NAME.part`` and renamed. Prints each finished
file's relative path and SHA-256, one a line, flushed (the tests read them).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
import wave
from pathlib import Path

RATE = 8000
CHUNK_FRAMES = 800  # 0.1 s of audio


def record(path: Path, chunks: int, pause: float) -> bytes:
    """Write the recording; its bytes, read back before the file is closed (once closed, the
    watcher may move it at once)."""
    with path.open("w+b") as fh:
        with wave.open(fh, "wb") as w:  # its close writes the header's sizes, not fh's
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            for _ in range(chunks):
                w.writeframes(os.urandom(CHUNK_FRAMES * 2))
                time.sleep(pause)
        fh.seek(0)
        return fh.read()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("count", type=int)
    p.add_argument("--cases", type=int, default=4)
    p.add_argument("--chunks", type=int, default=8)
    p.add_argument("--pause", type=float, default=0.03)
    p.add_argument("--convention", choices=("close", "done", "rename"), default="close")
    args = p.parse_args()
    root = Path(args.dir)
    for i in range(args.count):
        rel = f"HX-2026-SIM-{i % args.cases}/call_recording/{i:04d}.wav"
        final = root / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        writing = final.with_name(final.name + ".part") if args.convention == "rename" else final
        data = record(writing, args.chunks, args.pause)
        if args.convention == "rename":
            os.rename(writing, final)
        elif args.convention == "done":
            final.with_name(final.name + ".done").touch()
        print(rel, hashlib.sha256(data).hexdigest(), flush=True)


if __name__ == "__main__":
    main()
