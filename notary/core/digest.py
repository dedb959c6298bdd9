"""SHA-256 of evidence files, computed in constant memory.

Evidence files (call recordings, scanned notices) can be gigabytes; they are hashed as a
stream, never loaded whole. The statement records the file's SHA-256 and size, so both
are computed together.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import BinaryIO

from .errors import InputError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FileDigest",
    "StreamingDigest",
    "digest_bytes",
    "digest_stream",
    "parse_sha256_hex",
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

    def __post_init__(self) -> None:
        if not isinstance(self.sha256, bytes) or len(self.sha256) != 32:
            raise InputError("A SHA-256 digest must be exactly 32 bytes.", code="sha256_invalid")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise InputError("A file size must be a non-negative integer.", code="size_invalid")

    @property
    def hex(self) -> str:
        """The digest as 64 lowercase hex characters (the form used in statements)."""
        return self.sha256.hex()


class StreamingDigest:
    """Incremental SHA-256 plus byte count.

    Feed chunks with :meth:`update`, then call :meth:`finish`. ``update`` after ``finish``
    raises :class:`InputError` (``digest_finished``): the result would silently not cover
    the late bytes.
    """

    __slots__ = ("_hash", "_result", "_size")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._size = 0
        self._result: FileDigest | None = None

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        """Add ``chunk`` to the digest. The chunk is not kept."""
        if self._result is not None:
            raise InputError("The digest is already finished.", code="digest_finished")
        self._hash.update(chunk)
        self._size += memoryview(chunk).nbytes

    def finish(self) -> FileDigest:
        """Return the digest of everything fed so far; later calls return the same value."""
        if self._result is None:
            self._result = FileDigest(sha256=self._hash.digest(), size=self._size)
        return self._result


def digest_bytes(data: bytes) -> FileDigest:
    """Digest of an in-memory byte string (for small inputs and tests)."""
    return FileDigest(sha256=hashlib.sha256(data).digest(), size=len(data))


def digest_stream(stream: BinaryIO, chunk_size: int = DEFAULT_CHUNK_SIZE) -> FileDigest:
    """Read ``stream`` to its end and return its digest, using one reusable buffer.

    Memory use is ``chunk_size`` whatever the stream length. Uses ``readinto`` when the
    stream has it, else ``read``. Raises :class:`InputError` for a non-positive
    ``chunk_size`` or a non-blocking stream that has no data ready (it would otherwise
    look like end of file and yield a wrong digest).
    """
    if chunk_size <= 0:
        raise InputError("chunk_size must be positive.", code="chunk_size_invalid")
    acc = StreamingDigest()
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
