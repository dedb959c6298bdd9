"""A recording notarised while it is made (issue 18): segment commitments, their tree and chain.

A recorder streams a call in segments of a few seconds. Each segment ``i`` (numbered from 0)
is committed as a *salted leaf* ``leaf_i = SHA-256(salt_i || SHA-256(segment_i))`` with 32
random bytes of salt per segment, kept by the service: a leaf shown without its salt reveals
nothing about the segment, so an excerpt can prove some segments and say nothing of the rest.

Two structures are built over the leaves:

* the *chain* ``head_0 = SHA-256("notary.recording/v1" || session_id)``,
  ``head_{i+1} = SHA-256(head_i || leaf_i)``, whose running head each signed checkpoint
  carries (a later checkpoint commits to every earlier segment, in order);
* the *segment tree*, the log tree of :mod:`notary.core.tlog` (RFC 9162: interior nodes
  ``SHA-256(0x01 || left || right)``) with the salted leaves as its leaf hashes (a leaf's
  64-byte preimage can never be an interior node's 65-byte one), whose root the statement
  carries.

The recording the statement hashes is a WAV file: a 44-byte header, then the segments' PCM
bytes in order. Everything here is pure.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from .errors import StatementError
from .validate import validate_hex_digest, validate_identifier, validate_rfc3339

__all__ = [
    "CHAIN_DOMAIN",
    "ENCODING",
    "SALT_BYTES",
    "WAV_HEADER_BYTES",
    "AudioFormat",
    "RecordingLayout",
    "chain_start",
    "chain_step",
    "leaf_commitment",
    "parse_clock",
    "wav_header",
]

CHAIN_DOMAIN = b"notary.recording/v1"
ENCODING = "pcm_s16le"
SALT_BYTES = 32
WAV_HEADER_BYTES = 44
SAMPLE_RATES = frozenset({8000, 11025, 16000, 22050, 32000, 44100, 48000})
#: The most segments one recording may have: the statement lists each one's size, and must stay
#: within its 64 KiB (4 hours in 2-second segments).
MAX_SEGMENTS = 7200
_FIELDS = frozenset({"session_id", "format", "segments", "sizes", "root", "chain_head",
                     "opened_at", "last_received_at", "complete"})


def _fail(message: str, field: str) -> NoReturn:
    raise StatementError(message, field=f"recording.{field}" if field else "recording")


def leaf_commitment(salt: bytes, segment_sha256: bytes) -> bytes:
    """``SHA-256(salt || SHA-256(segment))``: the segment's leaf."""
    return hashlib.sha256(salt + segment_sha256).digest()


def chain_start(session_id: str) -> bytes:
    return hashlib.sha256(CHAIN_DOMAIN + session_id.encode("ascii")).digest()


def chain_step(head: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(head + leaf).digest()


def parse_clock(text: str) -> int:
    """``HH:MM:SS``, ``MM:SS`` or seconds (each with an optional ``.fraction``) as
    milliseconds. ValueError for anything else."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or any(not p for p in parts):
        raise ValueError(f"not a time in the recording: {text!r}")
    whole, _, fraction = parts[-1].partition(".")
    numbers = [*parts[:-1], whole]
    if not all(p.isascii() and p.isdigit() for p in numbers) or (
            fraction and not (fraction.isascii() and fraction.isdigit())):
        raise ValueError(f"not a time in the recording: {text!r}")
    seconds = 0
    for p in numbers:
        seconds = seconds * 60 + int(p)
    return seconds * 1000 + int((fraction + "000")[:3] or 0)


def wav_header(data_bytes: int, sample_rate: int, channels: int) -> bytes:
    """The canonical 44-byte header of a 16-bit PCM WAV file of ``data_bytes`` sample bytes."""
    block = channels * 2
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block,
                          block, 16)
            + b"data" + struct.pack("<I", data_bytes))


@dataclass(frozen=True)
class AudioFormat:
    """What the segments hold: 16-bit little-endian PCM at ``sample_rate`` Hz."""

    sample_rate: int
    channels: int = 1
    encoding: str = ENCODING

    def __post_init__(self) -> None:
        if self.encoding != ENCODING:
            _fail(f"Field 'recording.format.encoding' must be '{ENCODING}'.", "format.encoding")
        if isinstance(self.sample_rate, bool) or self.sample_rate not in SAMPLE_RATES:
            _fail("Field 'recording.format.sample_rate' must be one of "
                  f"{sorted(SAMPLE_RATES)}.", "format.sample_rate")
        if isinstance(self.channels, bool) or self.channels not in (1, 2):
            _fail("Field 'recording.format.channels' must be 1 or 2.", "format.channels")

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.channels * 2

    def to_json(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "sample_rate": self.sample_rate,
                "channels": self.channels}

    @classmethod
    def from_json(cls, obj: object) -> AudioFormat:
        if not isinstance(obj, Mapping) or set(obj) != {"encoding", "sample_rate", "channels"}:
            _fail("Field 'recording.format' must have exactly 'encoding', 'sample_rate' and "
                  "'channels'.", "format")
        return cls(sample_rate=obj["sample_rate"], channels=obj["channels"],
                   encoding=obj["encoding"])


@dataclass(frozen=True, kw_only=True)
class RecordingLayout:
    """What a statement says of a recording notarised while it was made: the session, the
    audio format, each segment's size in order, the segment tree's root, the chain's last
    head, when the session opened and its last segment arrived, and whether it was closed by
    the recorder (``complete``) or by the timeout after the recorder vanished."""

    session_id: str
    format: AudioFormat
    sizes: tuple[int, ...]
    root: str
    chain_head: str
    opened_at: str
    last_received_at: str
    complete: bool

    def __post_init__(self) -> None:
        validate_identifier("recording.session_id", self.session_id, 64, error=StatementError)
        if not isinstance(self.format, AudioFormat):
            _fail("Field 'recording.format' must be an audio format.", "format")
        if not 1 <= len(self.sizes) <= MAX_SEGMENTS:
            _fail(f"A recording has 1 to {MAX_SEGMENTS} segments.", "sizes")
        block = self.format.channels * 2
        for i, size in enumerate(self.sizes):
            if isinstance(size, bool) or not isinstance(size, int) or size <= 0 \
                    or size % block:
                _fail(f"Segment {i}'s size must be a positive whole number of samples.",
                      f"sizes[{i}]")
        validate_hex_digest("recording.root", self.root, error=StatementError)
        validate_hex_digest("recording.chain_head", self.chain_head, error=StatementError)
        validate_rfc3339("recording.opened_at", self.opened_at, require_utc=True,
                         error=StatementError)
        validate_rfc3339("recording.last_received_at", self.last_received_at,
                         require_utc=True, error=StatementError)
        if not isinstance(self.complete, bool):
            _fail("Field 'recording.complete' must be true or false.", "complete")

    @property
    def data_bytes(self) -> int:
        return sum(self.sizes)

    def offsets(self) -> list[int]:
        """Each segment's first byte within the WAV file (after its header)."""
        out, at = [], WAV_HEADER_BYTES
        for size in self.sizes:
            out.append(at)
            at += size
        return out

    def starts_ms(self) -> list[int]:
        """Each segment's start in the recording, in milliseconds."""
        rate = self.format.bytes_per_second
        return [(off - WAV_HEADER_BYTES) * 1000 // rate for off in self.offsets()]

    def covering(self, from_ms: int, to_ms: int) -> list[int]:
        """The segments that hold any of the audio from ``from_ms`` to ``to_ms``."""
        rate = self.format.bytes_per_second
        out = []
        for i, (start, size) in enumerate(zip(self.starts_ms(), self.sizes, strict=True)):
            end = start + size * 1000 // rate
            if start < to_ms and end > from_ms:
                out.append(i)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "format": self.format.to_json(),
                "segments": len(self.sizes), "sizes": list(self.sizes), "root": self.root,
                "chain_head": self.chain_head, "opened_at": self.opened_at,
                "last_received_at": self.last_received_at, "complete": self.complete}

    @classmethod
    def from_json(cls, obj: object) -> RecordingLayout:
        """A layout from its JSON object, strictly (no unknown or missing fields)."""
        if not isinstance(obj, Mapping):
            _fail("Field 'recording' must be an object.", "")
        unknown = sorted(str(k) for k in obj if k not in _FIELDS)
        if unknown:
            _fail(f"Unknown field(s) in 'recording': {', '.join(unknown)}.", unknown[0])
        missing = sorted(_FIELDS - set(obj))
        if missing:
            _fail(f"Field 'recording.{missing[0]}' is required.", missing[0])
        sizes = obj["sizes"]
        if not isinstance(sizes, list) or obj["segments"] != len(sizes):
            _fail("Field 'recording.sizes' must list 'segments' sizes.", "sizes")
        return cls(session_id=obj["session_id"], format=AudioFormat.from_json(obj["format"]),
                   sizes=tuple(sizes), root=obj["root"], chain_head=obj["chain_head"],
                   opened_at=obj["opened_at"], last_received_at=obj["last_received_at"],
                   complete=obj["complete"])
