"""notary.service.sealing: the age files we write are opened by pyrage and by the ``age`` CLI,
at every chunk boundary of age's STREAM format, and the digest and CID are those of the bytes.

The encryption is pyrage's; these cross-checks pin that our streaming around it (reader,
writer, CID, digest) produces exactly the bytes a standard age tool opens.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import pyrage
import pytest

from notary.core.cid import cid_of_bytes
from notary.service.sealing import (
    UploadTooLarge,
    seal,
)

pytestmark = pytest.mark.integration

CHUNK = 64 * 1024
SIZES = [0, 1, 1000, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1,
         (1 << 20) + 7, 5 * (1 << 20) + 3]


def _data(size: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


@pytest.fixture(scope="module")
def identity() -> pyrage.x25519.Identity:
    return pyrage.x25519.Identity.generate()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("piece", [None, 1000, CHUNK], ids=["whole", "1000", "64k"])
def test_sealed_upload_opens_with_pyrage(identity, tmp_path: Path, size: int,
                                         piece: int | None) -> None:
    data = _data(size)
    stream = io.BytesIO(data)

    def read(n: int) -> bytes:
        return stream.read(n if piece is None else min(n, piece))

    sealed = seal(read, identity.to_public(), tmp_path, max_bytes=1 << 30)
    stored = sealed.path.read_bytes()
    assert stored.startswith(b"age-encryption.org/v1\n-> X25519 ")
    assert pyrage.decrypt(stored, [identity]) == data
    assert sealed.digest.sha256 == hashlib.sha256(data).digest() and sealed.digest.size == size
    assert sealed.cid == cid_of_bytes(stored) and sealed.stored_size == len(stored)


@pytest.mark.parametrize("size", [0, CHUNK, CHUNK + 1, 5 * (1 << 20) + 3])
def test_sealed_upload_opens_with_the_age_cli(identity, tmp_path: Path, size: int) -> None:
    age = shutil.which("age")
    assert age, "the age CLI (Debian package 'age') is required"
    data = _data(size)
    sealed = seal(io.BytesIO(data).read, identity.to_public(), tmp_path, max_bytes=1 << 30)
    key = tmp_path / "item.key"
    key.write_text(str(identity) + "\n")
    out = subprocess.run([age, "-d", "-i", str(key), str(sealed.path)], capture_output=True,
                         check=True)
    assert out.stdout == data


def test_tampered_ciphertext_is_refused(identity, tmp_path: Path) -> None:
    sealed = seal(io.BytesIO(_data(3 * CHUNK)).read, identity.to_public(), tmp_path, 1 << 30)
    stored = bytearray(sealed.path.read_bytes())
    stored[-CHUNK] ^= 1
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(bytes(stored), [identity])


def _tampered_recipients(good: str) -> dict[str, str]:
    flipped = good[:-1] + ("q" if good[-1] != "q" else "p")
    return {
        "empty": "", "no-data": "age1", "upper-case": good.upper(),
        "bad-checksum": flipped,
        "bad-character": good[:10] + "b" + good[11:],  # 'b' is not in the Bech32 alphabet
        "wrong-hrp": "btc" + good[3:],
        "truncated": good[:-7] + good[-6:],
    }


def test_upload_over_the_limit_leaves_no_spool_file(identity, tmp_path: Path) -> None:
    with pytest.raises(UploadTooLarge):
        seal(io.BytesIO(_data(3 * CHUNK)).read, identity.to_public(), tmp_path, CHUNK)
    assert list(tmp_path.iterdir()) == []


def test_reader_failure_is_raised_unchanged_and_leaves_no_spool_file(identity,
                                                                     tmp_path: Path) -> None:
    class Gone(Exception):
        pass

    calls = 0

    def read(n: int) -> bytes:
        nonlocal calls
        calls += 1
        if calls > 8:  # past the point where the spool writer thread has started
            raise Gone("client went away")
        return _data(1 << 20)

    with pytest.raises(Gone):
        seal(read, identity.to_public(), tmp_path, 1 << 40)
    assert list(tmp_path.iterdir()) == []
