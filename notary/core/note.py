"""Signed notes, checkpoints and cosignatures (C2SP signed-note, tlog-checkpoint, tlog-cosignature).

Why these formats: a witness run by someone else (a notary office, a court) must check our log
with tools that already exist for transparency logs (Sigstore, Go's sumdb, Tessera), so the
log head is a C2SP checkpoint signed as a note with Ed25519 (type 0x01), and a witness adds a
timestamped ``cosignature/v1`` (type 0x04). Parsing is strict: valid UTF-8, no control
characters but newline, at most :data:`MAX_SIGNATURES` signatures and :data:`MAX_NOTE_BYTES`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .tlog import HASH_SIZE

ED25519 = 0x01
"""Signature type of a note signed by its log (signed-note)."""
COSIGNATURE = 0x04
"""Signature type of a timestamped Ed25519 checkpoint cosignature (tlog-cosignature)."""
MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 32
_DASH = "\u2014"
_NAME = re.compile(r"[^\s+]+")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


class NoteError(ValueError):
    """A note, checkpoint or key that is malformed, or whose signatures do not verify."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("not standard base64") from None


def key_id(name: str, sig_type: int, public: bytes) -> int:
    """SHA-256(name || 0x0A || type || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise NoteError("a key name is non-empty, without spaces or '+'")
    return name


@dataclass(frozen=True)
class Verifier:
    """A public key a note may be signed with: name, type (0x01 or 0x04) and Ed25519 key."""

    name: str
    sig_type: int
    public: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.sig_type not in (ED25519, COSIGNATURE) or len(self.public) != 32:
            raise NoteError("only Ed25519 note keys (types 0x01 and 0x04) are known here")

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public)

    @property
    def vkey(self) -> str:
        """``name+hex(key id)+base64(type || public key)``."""
        return (f"{self.name}+{self.key_id:08x}+"
                f"{base64.b64encode(bytes([self.sig_type]) + self.public).decode()}")

    @classmethod
    def from_vkey(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise NoteError("a verifier key is name+hex8+base64")
        raw = _b64decode(parts[2])
        if not raw:
            raise NoteError("the verifier key holds no key")
        verifier = cls(parts[0], raw[0], raw[1:])
        if verifier.key_id != int(parts[1], 16):
            raise NoteError("the verifier key's id does not match its name and key")
        return verifier

    def check(self, text: bytes, signature: bytes) -> int | None:
        """Whether ``signature`` (without the key id) signs ``text``: the cosignature's
        timestamp for type 0x04, None for 0x01. Raises NoteError when it does not."""
        key = Ed25519PublicKey.from_public_bytes(self.public)
        timestamp = None
        message = text
        if self.sig_type == COSIGNATURE:
            if len(signature) != 8 + 64:
                raise NoteError(f"{self.name}: a cosignature is 72 bytes")
            timestamp = int.from_bytes(signature[:8], "big")
            if timestamp >= 1 << 63:
                raise NoteError(f"{self.name}: the cosignature's time is out of range")
            message = cosigned_message(text, timestamp)
            signature = signature[8:]
        elif len(signature) != 64:
            raise NoteError(f"{self.name}: an Ed25519 signature is 64 bytes")
        try:
            key.verify(signature, message)
        except InvalidSignature:
            raise NoteError(f"{self.name}: the signature does not verify") from None
        return timestamp


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """What a ``cosignature/v1`` signs: the header, the time, then the note text."""
    return b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key that signs notes under ``name``, as a log (0x01) or as a
    witness's cosignature (0x04)."""

    name: str
    sig_type: int
    key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        public = self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)
        return Verifier(self.name, self.sig_type, public)

    def sign(self, text: bytes, timestamp: int | None = None) -> Signature:
        """The signature line for note ``text`` (a cosignature needs ``timestamp``)."""
        verifier = self.verifier
        if self.sig_type == COSIGNATURE:
            if timestamp is None or not 0 < timestamp < 1 << 63:
                raise NoteError("a cosignature needs a positive timestamp")
            body = timestamp.to_bytes(8, "big") + self.key.sign(cosigned_message(text,
                                                                                  timestamp))
        else:
            body = self.key.sign(text)
        return Signature(self.name, verifier.key_id, body)


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key id and the signature bytes after the id."""

    name: str
    key_id: int
    body: bytes

    def line(self) -> str:
        raw = self.key_id.to_bytes(4, "big") + self.body
        return f"{_DASH} {self.name} {base64.b64encode(raw).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A note: its text (ending in a newline) and its signature lines, in order."""

    text: bytes
    signatures: tuple[Signature, ...]

    def encode(self) -> bytes:
        return self.text + b"\n" + "".join(s.line() for s in self.signatures).encode()

    @classmethod
    def parse(cls, data: bytes) -> Note:
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError("the note is too large")
        try:
            text = data.decode()
        except UnicodeDecodeError:
            raise NoteError("a note is UTF-8") from None
        if any(ord(c) < 0x20 and c != "\n" for c in text):
            raise NoteError("a note holds no control characters but newline")
        split = text.rfind("\n\n")
        if split < 0 or not text.endswith("\n"):
            raise NoteError("a note is text, a blank line, then signature lines")
        body, lines = text[:split + 1], text[split + 2:-1].split("\n")
        return cls(body.encode(), _signatures(lines))

    def verify(self, verifiers: Iterable[Verifier]) -> dict[Verifier, int | None]:
        """The known verifiers whose signature verifies (with the cosignature's time). Lines
        of unknown keys are ignored; a known key whose line fails, or no known key at all,
        is a NoteError (as signed-note requires)."""
        known = {(v.name, v.key_id): v for v in verifiers}
        good: dict[Verifier, int | None] = {}
        for sig in self.signatures:
            verifier = known.get((sig.name, sig.key_id))
            if verifier is not None:
                good[verifier] = verifier.check(self.text, sig.body)
        if not good:
            raise NoteError("no signature of a known key")
        return good

    def with_signatures(self, extra: Sequence[Signature]) -> Note:
        """The note with ``extra`` lines added (a key that already signed is not repeated)."""
        lines = list(self.signatures)
        keys = {(s.name, s.key_id) for s in lines}
        for sig in extra:
            if (sig.name, sig.key_id) not in keys:
                lines.append(sig)
                keys.add((sig.name, sig.key_id))
        if len(lines) > MAX_SIGNATURES:
            raise NoteError(f"at most {MAX_SIGNATURES} signature lines")
        return Note(self.text, tuple(lines))


def _signatures(lines: Sequence[str]) -> tuple[Signature, ...]:
    """Signature lines (split on newline only, as signed-note and Go's note package do); one
    line per key: a repeated name and key id is refused."""
    if not lines or lines == [""] or len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note has 1 to {MAX_SIGNATURES} signature lines")
    out = tuple(_parse_signature(line) for line in lines)
    if len({(s.name, s.key_id) for s in out}) != len(out):
        raise NoteError("a key signs a note once: a signature line is repeated")
    return out


def _parse_signature(line: str) -> Signature:
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != _DASH:
        raise NoteError("a signature line is '\u2014 name base64'")
    raw = _b64decode(parts[2])
    if len(raw) < 5:
        raise NoteError("a signature is a key id and at least one byte")
    return Signature(_check_name(parts[1]), int.from_bytes(raw[:4], "big"), raw[4:])


def parse_signatures(data: bytes) -> list[Signature]:
    """Signature lines alone (a witness's answer to add-checkpoint)."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise NoteError("signature lines are UTF-8") from None
    if not text.endswith("\n"):
        raise NoteError("expected 1 or more signature lines, each ending in a newline")
    return list(_signatures(text[:-1].split("\n")))


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size and RFC 9162 root hash (tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> bytes:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(),
                 *self.extensions]
        return ("\n".join(lines) + "\n").encode()

    @classmethod
    def parse(cls, text: bytes) -> Checkpoint:
        try:
            lines = text.decode().split("\n")
        except UnicodeDecodeError:
            raise NoteError("a checkpoint is UTF-8") from None
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("a checkpoint is origin, size, root hash (and extensions), each "
                            "on its own non-empty line")
        origin, size, root = lines[0], lines[1], _b64decode(lines[2])
        if not _DECIMAL.fullmatch(size) or int(size) >= 1 << 63:
            raise NoteError("the tree size is a decimal without leading zeros")
        if len(root) != HASH_SIZE:
            raise NoteError("the root hash is 32 bytes")
        checkpoint = cls(origin, int(size), root, tuple(lines[3:-1]))
        if checkpoint.text() != text:  # e.g. base64 with stray bits: one text per checkpoint
            raise NoteError("the checkpoint is not in its canonical form")
        return checkpoint
