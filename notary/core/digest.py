"""SHA-256 (and, where a deployment asks for it, SM3) of evidence files, in constant memory.

Evidence files (call recordings, scanned notices) can be gigabytes; they are hashed as a
stream, never loaded whole. The statement records the file's SHA-256 and size, so both
are computed together. SM3 (GB/T 32905, the hash Chinese courts and deposit platforms use)
is computed in the same pass when asked: it costs about five times SHA-256's time here, so
it is a deployment's choice (``NOTARY_SM3``), not the default.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from .errors import InputError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FileDigest",
    "StreamingDigest",
    "digest_bytes",
    "digest_stream",
    "parse_sha256_hex",
    "sm3_available",
]

DEFAULT_CHUNK_SIZE = 1 << 20
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class FileDigest:
    """SHA-256 and size in bytes of one file.

    Raises :class:`InputError` if ``sha256`` is not 32 bytes or ``size`` is negative.
    """

    sha256: bytes
    size: int
    #: The SM3 digest (32 bytes) when it was asked for, else None. Not part of equality:
    #: two digests are equal when SHA-256 and size are (what a manifest lists).
    sm3: bytes | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.sha256, bytes) or len(self.sha256) != 32:
            raise InputError("A SHA-256 digest must be exactly 32 bytes.", code="sha256_invalid")
        if self.sm3 is not None and (not isinstance(self.sm3, bytes) or len(self.sm3) != 32):
            raise InputError("An SM3 digest must be exactly 32 bytes.", code="sm3_invalid")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise InputError("A file size must be a non-negative integer.", code="size_invalid")

    @property
    def hex(self) -> str:
        """The digest as 64 lowercase hex characters (the form used in statements)."""
        return self.sha256.hex()

    @property
    def sm3_hex(self) -> str | None:
        """The SM3 digest as 64 lowercase hex characters, or None when not computed."""
        return None if self.sm3 is None else self.sm3.hex()


def sm3_available() -> bool:
    """Whether this Python's OpenSSL provides SM3 (OpenSSL 1.1.1 and 3.x do, unless a
    distribution built it out)."""
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


class StreamingDigest:
    """Incremental SHA-256 (and SM3 when ``sm3`` is true) plus byte count.

    Feed chunks with :meth:`update`, then call :meth:`finish`. ``update`` after ``finish``
    raises :class:`InputError` (``digest_finished``): the result would silently not cover
    the late bytes.
    """

    __slots__ = ("_hash", "_result", "_size", "_sm3")

    def __init__(self, *, sm3: bool = False) -> None:
        self._hash = hashlib.sha256()
        self._sm3 = hashlib.new("sm3") if sm3 else None
        self._size = 0
        self._result: FileDigest | None = None

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        """Add ``chunk`` to the digest. The chunk is not kept."""
        if self._result is not None:
            raise InputError("The digest is already finished.", code="digest_finished")
        self._hash.update(chunk)
        if self._sm3 is not None:
            self._sm3.update(chunk)
        self._size += memoryview(chunk).nbytes

    def finish(self) -> FileDigest:
        """Return the digest of everything fed so far; later calls return the same value."""
        if self._result is None:
            self._result = FileDigest(sha256=self._hash.digest(), size=self._size,
                                      sm3=None if self._sm3 is None else self._sm3.digest())
        return self._result


def digest_bytes(data: bytes) -> FileDigest:
    """Digest of an in-memory byte string (for small inputs and tests)."""
    return FileDigest(sha256=hashlib.sha256(data).digest(), size=len(data))


def digest_stream(stream: BinaryIO, chunk_size: int = DEFAULT_CHUNK_SIZE, *,
                  sm3: bool = False) -> FileDigest:
    """Read ``stream`` to its end and return its digest, using one reusable buffer.

    Memory use is ``chunk_size`` whatever the stream length; ``sm3`` adds the SM3 digest.
    Uses ``readinto`` when the stream has it, else ``read``. Raises :class:`InputError` for a
    non-positive ``chunk_size`` or a non-blocking stream that has no data ready (it would
    otherwise look like end of file and yield a wrong digest).
    """
    if chunk_size <= 0:
        raise InputError("chunk_size must be positive.", code="chunk_size_invalid")
    acc = StreamingDigest(sm3=sm3)
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        buffer = bytearray(chunk_size)
        view = memoryview(buffer)
        while True:
            n = readinto(view)
            if n is None:
                raise InputError("The stream has no data ready (non-blocking).",
                                 code="stream_blocked")
            if n == 0:
                break
            acc.update(view[:n])
        view.release()
    else:
        while True:
            chunk = stream.read(chunk_size)
            if chunk is None:  # pragma: no cover - non-blocking raw stream
                raise InputError("The stream has no data ready (non-blocking).",
                                 code="stream_blocked")
            if not chunk:
                break
            acc.update(chunk)
    return acc.finish()


def parse_sha256_hex(text: str) -> bytes:
    """Parse exactly 64 hex digits (either case, no prefix, no whitespace) into 32 bytes.

    Raises :class:`InputError` with code ``sha256_invalid`` for anything else.
    """
    if not isinstance(text, str) or _SHA256_HEX.fullmatch(text) is None:
        raise InputError(
            "A SHA-256 digest must be exactly 64 hexadecimal characters.",
            code="sha256_invalid",
        )
    return bytes.fromhex(text)
