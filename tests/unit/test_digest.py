"""notary.core.digest: streaming SHA-256 equals hashlib, at every chunk boundary, in constant
memory."""

from __future__ import annotations

import hashlib
import io
import random
import tracemalloc

import pytest

from notary.core.digest import (
    DEFAULT_CHUNK_SIZE,
    FileDigest,
    StreamingDigest,
    digest_bytes,
    digest_stream,
    parse_sha256_hex,
)
from notary.core.errors import InputError, NotaryError

pytestmark = pytest.mark.unit

CHUNK = 64
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 7, 1000]


def _data(size: int) -> bytes:
    return random.Random(f"digest-{size}").randbytes(size)


@pytest.mark.parametrize("size", SIZES)
def test_stream_digest_equals_hashlib_at_chunk_boundaries(size: int) -> None:
    data = _data(size)
    result = digest_stream(io.BytesIO(data), chunk_size=CHUNK)
    assert result.sha256 == hashlib.sha256(data).digest()
    assert result.size == size
    assert result == digest_bytes(data)


@pytest.mark.parametrize("size", [0, 1, DEFAULT_CHUNK_SIZE - 1, DEFAULT_CHUNK_SIZE,
                                  DEFAULT_CHUNK_SIZE + 1])
def test_default_chunk_size_boundaries(size: int) -> None:
    data = _data(size)
    assert digest_stream(io.BytesIO(data)).sha256 == hashlib.sha256(data).digest()


class _ReadOnly:
    """A stream with read() but no readinto(), returning short reads."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, n: int) -> bytes:
        n = min(n, 7)  # short reads must not end the stream early
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk


def test_stream_without_readinto_and_with_short_reads() -> None:
    data = _data(1000)
    result = digest_stream(_ReadOnly(data), chunk_size=CHUNK)  # type: ignore[arg-type]
    assert result.hex == hashlib.sha256(data).hexdigest()
    assert result.size == 1000


class _Generated(io.RawIOBase):
    """A deterministic pseudo-random stream of `total` bytes that never exists in memory
    as a whole; it hashes what it hands out so the test knows the right answer."""

    def __init__(self, total: int) -> None:
        self._left = total
        self._block = random.Random("big").randbytes(1 << 16)
        self._turn = 0
        self.tee = hashlib.sha256()
        self.largest_request = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.largest_request = max(self.largest_request, len(buffer))
        n = min(len(buffer), self._left, len(self._block))
        start = self._turn % 251
        chunk = (self._block[start:] + self._block[:start])[:n]
        self._turn += 1
        buffer[:n] = chunk
        self.tee.update(chunk)
        self._left -= n
        return n


def test_64_mib_stream_in_constant_memory() -> None:
    total = 64 << 20
    stream = _Generated(total)
    tracemalloc.start()
    try:
        result = digest_stream(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.size == total
    assert result.sha256 == stream.tee.digest()
    assert stream.largest_request == DEFAULT_CHUNK_SIZE
    # One 1 MiB buffer plus the generator's own temporaries; 64 MiB would show.
    assert peak < 4 << 20, f"peak traced memory {peak} bytes"


def test_streaming_digest_update_and_finish() -> None:
    acc = StreamingDigest()
    acc.update(b"ab")
    acc.update(memoryview(b"cdef")[1:3])
    acc.update(bytearray(b""))
    first = acc.finish()
    assert first == FileDigest(hashlib.sha256(b"abde").digest(), 4)
    assert acc.finish() is first
    with pytest.raises(InputError) as err:
        acc.update(b"late")
    assert err.value.code == "digest_finished"


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(InputError) as err:
        digest_stream(io.BytesIO(b"x"), chunk_size=0)
    assert err.value.code == "chunk_size_invalid"


def test_file_digest_checks_its_fields() -> None:
    assert FileDigest(bytes(32), 0).hex == "00" * 32
    with pytest.raises(InputError):
        FileDigest(bytes(31), 0)
    with pytest.raises(InputError):
        FileDigest(bytes(32), -1)
    with pytest.raises(InputError):
        FileDigest(bytes(32), True)


def test_parse_sha256_hex() -> None:
    digest = hashlib.sha256(b"x").digest()
    assert parse_sha256_hex(digest.hex()) == digest
    assert parse_sha256_hex(digest.hex().upper()) == digest
    for bad in ["", digest.hex()[:-1], digest.hex() + "0", "0x" + digest.hex()[2:],
                " " + digest.hex()[1:], digest.hex()[:-1] + "g", digest.hex() + "\n"]:
        with pytest.raises(InputError) as err:
            parse_sha256_hex(bad)
        assert err.value.code == "sha256_invalid"
        assert isinstance(err.value, NotaryError)
