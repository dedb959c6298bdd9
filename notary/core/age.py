"""The age v1 file format (age-encryption.org/v1), written on ``cryptography``'s primitives.

Why not pyrage alone: pyrage pulls plaintext through a Python callback every 8 KiB, which made
ingest several times slower than hashing. This module writes the same format from the
published spec with X25519, HKDF-SHA-256, HMAC-SHA-256 and ChaCha20-Poly1305 taken from
``cryptography`` (no primitive is written here): one X25519 recipient stanza per recipient, the
header MAC, and the STREAM payload in 64 KiB chunks. The ``age`` CLI and pyrage decrypt what it
writes, and the C2SP/CCTV age vectors re-encode byte for byte (tests/vectors/test_age.py).
Decryption stays with pyrage and the ``age`` CLI: the service never needs a reader of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass

import bech32
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION_LINE = b"age-encryption.org/v1\n"
CHUNK = 64 * 1024
"""Plaintext bytes per STREAM chunk (the spec's fixed size)."""
TAG = 16
"""Bytes the Poly1305 tag adds to each chunk."""
FILE_KEY_SIZE = 16
NONCE_SIZE = 16
_X25519_LABEL = b"age-encryption.org/v1/X25519"
_ZERO_NONCE = bytes(12)


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza of the header: a type, its arguments and a binary body."""

    type: str
    args: tuple[str, ...]
    body: bytes

    def encode(self) -> bytes:
        """``-> type args...`` then the body in unpadded base64, 64 columns, the last line
        shorter than 64 (an empty line when the body fills whole lines), as the spec requires."""
        text = _b64(self.body)
        lines = [text[i:i + 64] for i in range(0, len(text), 64)]
        if not lines or len(lines[-1]) == 64:
            lines.append("")
        head = " ".join(("->", self.type, *self.args))
        return (head + "\n" + "\n".join(lines) + "\n").encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def recipient_key(recipient: str) -> bytes:
    """The 32-byte X25519 public key of an ``age1...`` recipient (Bech32, HRP ``age``)."""
    text = recipient.strip()
    if text != text.lower():
        raise ValueError("an age recipient is written in lower case")
    hrp, data = bech32.bech32_decode(text)
    key = bech32.convertbits(data, 5, 8, False) if data is not None else None
    if hrp != "age" or key is None or len(key) != 32:
        raise ValueError("not an age X25519 recipient (age1...)")
    return bytes(key)


def identity_key(identity: str) -> bytes:
    """The 32-byte X25519 secret of an ``AGE-SECRET-KEY-1...`` identity (Bech32, upper case)."""
    text = identity.strip()
    hrp, data = bech32.bech32_decode(text)
    key = bech32.convertbits(data, 5, 8, False) if data is not None else None
    if text != text.upper() or hrp != "age-secret-key-" or key is None or len(key) != 32:
        raise ValueError("not an age X25519 identity (AGE-SECRET-KEY-1...)")
    return bytes(key)


def x25519_stanza(file_key: bytes, recipient: bytes,
                  ephemeral: X25519PrivateKey | None = None) -> Stanza:
    """Wrap ``file_key`` to one X25519 recipient: a fresh ephemeral share, a wrap key from
    HKDF(shared secret, share || recipient, "age-encryption.org/v1/X25519"), and the file key
    sealed with ChaCha20-Poly1305 under a zero nonce (each wrap key is used once)."""
    secret = ephemeral or X25519PrivateKey.generate()
    share = secret.public_key().public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)
    shared = secret.exchange(X25519PublicKey.from_public_bytes(recipient))
    if shared == bytes(32):
        raise ValueError("the recipient key is a low-order point")
    wrap_key = _hkdf(shared, share + recipient, _X25519_LABEL)
    body = ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)
    return Stanza("X25519", (_b64(share),), body)


def encode_header(stanzas: Sequence[Stanza], file_key: bytes) -> bytes:
    """The whole header: version line, stanzas, and ``--- MAC`` over all of it up to ``---``
    (HMAC-SHA-256 keyed by HKDF(file key, "", "header"))."""
    text = VERSION_LINE + b"".join(s.encode() for s in stanzas) + b"---"
    mac = hmac.new(_hkdf(file_key, b"", b"header"), text, hashlib.sha256).digest()
    return text + b" " + _b64(mac).encode() + b"\n"


class StreamEncryptor:
    """The STREAM payload: the 16-byte nonce, then 64 KiB chunks each sealed with
    ChaCha20-Poly1305 under HKDF(file key, nonce, "payload") with an 11-byte big-endian
    counter and a last-chunk flag as the nonce. A full chunk is held back until more
    plaintext arrives, so the last chunk is known when ``finish`` is called; only an empty
    plaintext ends with an empty chunk."""

    def __init__(self, file_key: bytes, nonce: bytes | None = None) -> None:
        self.nonce = nonce if nonce is not None else os.urandom(NONCE_SIZE)
        if len(self.nonce) != NONCE_SIZE:
            raise ValueError("the payload nonce is 16 bytes")
        self._aead = ChaCha20Poly1305(_hkdf(file_key, self.nonce, b"payload"))
        self._counter = 0
        self._pending = bytearray()
        self._done = False

    def _seal(self, chunk: bytes | bytearray | memoryview, last: bool,
              out: memoryview) -> None:
        nonce = self._counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        self._counter += 1
        self._aead.encrypt_into(nonce, chunk, None, out)

    def update(self, data: bytes | bytearray | memoryview) -> bytearray:
        """Ciphertext for every chunk that is now known not to be the last. Whole chunks of
        ``data`` are sealed where they are, without copying them into a buffer first."""
        if self._done:
            raise ValueError("the payload is finished")
        view = memoryview(data).cast("B")
        if len(self._pending) + len(view) <= CHUNK:
            self._pending += view
            return bytearray()
        fill = CHUNK - len(self._pending) if self._pending else 0
        direct = (len(view) - fill - 1) // CHUNK  # whole chunks of ``data`` with more after
        out = bytearray((bool(self._pending) + direct) * (CHUNK + TAG))
        dest = memoryview(out)
        if self._pending:
            self._pending += view[:fill]
            self._seal(self._pending, False, dest[:CHUNK + TAG])
            dest = dest[CHUNK + TAG:]
            view = view[fill:]
        for i in range(direct):
            self._seal(view[i * CHUNK:(i + 1) * CHUNK], False,
                       dest[i * (CHUNK + TAG):(i + 1) * (CHUNK + TAG)])
        self._pending = bytearray(view[direct * CHUNK:])
        return out

    def finish(self) -> bytes:
        """The last chunk (flagged as last)."""
        if self._done:
            raise ValueError("the payload is finished")
        self._done = True
        out = bytearray(len(self._pending) + TAG)
        self._seal(self._pending, True, memoryview(out))
        self._pending = bytearray()
        return bytes(out)


class Encryptor:
    """An age v1 file to X25519 recipients: ``header`` (with the payload nonce) first, then
    what ``update`` and ``finish`` return, in order."""

    def __init__(self, recipients: Sequence[bytes], *, file_key: bytes | None = None) -> None:
        if not recipients:
            raise ValueError("an age file needs at least one recipient")
        key = file_key if file_key is not None else os.urandom(FILE_KEY_SIZE)
        self._stream = StreamEncryptor(key)
        self.header = encode_header([x25519_stanza(key, r) for r in recipients], key) \
            + self._stream.nonce

    def update(self, data: bytes | bytearray | memoryview) -> bytearray:
        return self._stream.update(data)

    def finish(self) -> bytes:
        return self._stream.finish()


def encrypt(plaintext: bytes, recipients: Sequence[bytes]) -> bytes:
    """A whole age file for a small plaintext held in memory."""
    enc = Encryptor(recipients)
    return enc.header + enc.update(plaintext) + enc.finish()
