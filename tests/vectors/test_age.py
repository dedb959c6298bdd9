"""notary.core.age against the C2SP/CCTV age vectors: for every vector that decrypts
successfully, our header encoder (stanzas and MAC) and our STREAM encryptor reproduce the
vector's bytes exactly from its file key, stanzas, nonce and plaintext (the plaintext comes
from pyrage, an independent implementation, and is checked against the vector's hash)."""

from __future__ import annotations

import base64
import hashlib
import random
import zlib
from pathlib import Path

import pyrage
import pytest

from notary.core import age

pytestmark = pytest.mark.unit

VECTORS = Path(__file__).parent / "age"


def _read(path: Path) -> tuple[dict[str, list[str]], bytes]:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    fields: dict[str, list[str]] = {}
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    if fields.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return fields, body


def _b64(text: bytes) -> bytes:
    return base64.b64decode(text + b"=" * (-len(text) % 4))


def _split(file: bytes) -> tuple[list[age.Stanza], bytes, bytes]:
    """The stanzas, the whole header and the payload (nonce first) of a binary age file."""
    end = file.index(b"\n---") + 1
    mac_end = file.index(b"\n", end) + 1
    lines = file[len(age.VERSION_LINE):end].split(b"\n")[:-1]
    stanzas: list[age.Stanza] = []
    i = 0
    while i < len(lines):
        parts = lines[i].decode().split(" ")
        assert parts[0] == "->"
        i += 1
        body = b""
        while True:
            body += lines[i]
            i += 1
            if len(lines[i - 1]) < 64:
                break
        stanzas.append(age.Stanza(parts[1], tuple(parts[2:]), _b64(body)))
    return stanzas, file[:mac_end], file[mac_end:]


def _success_vectors() -> list[Path]:
    out = []
    for path in sorted(VECTORS.iterdir()):
        if path.name == "README.md":
            continue
        fields, _ = _read(path)
        if fields["expect"] == ["success"] and "armored" not in fields:
            out.append(path)
    return out


SUCCESS = _success_vectors()


def test_the_vectors_are_all_here() -> None:
    assert len(list(VECTORS.iterdir())) == 144
    assert len(SUCCESS) == 19  # the non-armored successes of that commit


@pytest.mark.parametrize("path", SUCCESS, ids=lambda p: p.name)
def test_header_and_payload_reencode_byte_for_byte(path: Path) -> None:
    fields, file = _read(path)
    file_key = bytes.fromhex(fields["file key"][0])
    stanzas, header, payload = _split(file)
    assert age.encode_header(stanzas, file_key) == header

    x25519 = [i for i in fields.get("identity", []) if i.startswith("AGE-SECRET-KEY-1")]
    if not x25519:
        return  # the header still re-encodes; decrypting needs a recipient type pyrage lacks
    plaintext = pyrage.decrypt(file, [pyrage.x25519.Identity.from_str(i) for i in x25519])
    assert hashlib.sha256(plaintext).hexdigest() == fields["payload"][0]
    stream = age.StreamEncryptor(file_key, payload[:age.NONCE_SIZE])
    ours = b""
    for i in range(0, len(plaintext), 10_000):  # pieces that do not align with chunks
        ours += stream.update(plaintext[i:i + 10_000])
    assert ours + stream.finish() == payload[age.NONCE_SIZE:]


@pytest.mark.parametrize("size", [0, 1, age.CHUNK - 1, age.CHUNK, age.CHUNK + 1, 2 * age.CHUNK,
                                  3 * age.CHUNK + 17])
def test_what_we_write_pyrage_decrypts(size: int) -> None:
    identity = pyrage.x25519.Identity.generate()
    other = pyrage.x25519.Identity.generate()
    plaintext = hashlib.shake_256(str(size).encode()).digest(size) if size else b""
    file = age.encrypt(plaintext, [age.recipient_key(str(other.to_public())),
                                   age.recipient_key(str(identity.to_public()))])
    assert pyrage.decrypt(file, [identity]) == plaintext
    assert pyrage.decrypt(file, [other]) == plaintext
    tampered = bytearray(file)
    tampered[-1] ^= 1
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(bytes(tampered), [identity])


def test_a_recipient_that_is_not_age_x25519_is_refused() -> None:
    identity = pyrage.x25519.Identity.generate()
    good = str(identity.to_public())
    for bad in (good.upper(), good[:-1] + ("q" if good[-1] != "q" else "p"), str(identity),
                "age1", ""):
        with pytest.raises(ValueError):
            age.recipient_key(bad)


@pytest.mark.parametrize("seed", range(8))
def test_the_payload_does_not_depend_on_how_the_plaintext_is_cut(seed: int) -> None:
    rng = random.Random(seed)
    plaintext = rng.randbytes(rng.choice([age.CHUNK * 3, age.CHUNK * 4 + 5, 300_001]))
    key, nonce = bytes(16), bytes(range(16))
    whole = age.StreamEncryptor(key, nonce)
    expected = bytes(whole.update(plaintext)) + whole.finish()
    cut = age.StreamEncryptor(key, nonce)
    out, at = b"", 0
    while at < len(plaintext):
        n = rng.choice([0, 1, 17, age.CHUNK - 1, age.CHUNK, age.CHUNK + 1, 3 * age.CHUNK, 99_999])
        out += cut.update(memoryview(plaintext)[at:at + n])
        at += n
    assert out + cut.finish() == expected
