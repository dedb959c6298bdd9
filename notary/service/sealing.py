"""Hash, encrypt and content-address an upload in one streaming pass, in constant memory.

The plaintext is never written anywhere: it is read in pieces, hashed (SHA-256 of the original,
for the statement), encrypted as it goes, and the ciphertext is written to a spool file while
its IPFS CID is computed. Only ciphertext ever touches the disk.

The ciphertext is a standard age v1 file (https://age-encryption.org/v1) with one X25519
recipient, so ``age -d``, rage and pyrage decrypt it. It is written here from the primitives of
``cryptography`` (X25519, HKDF-SHA-256, HMAC-SHA-256, ChaCha20-Poly1305) rather than through
pyrage's ``encrypt_io``, which pulls the plaintext through a Python callback every 8 KiB and
holds the GIL while it encrypts: written this way the age encryption runs at OpenSSL's speed
(about 3 GB/s) and the ciphertext's CID and disk writes run beside it in a second thread, which
makes a large upload about three times faster (bench/results.md, "Profile"). Decryption still
uses pyrage (``NotaryService.open_content``), and the tests decrypt our output with the ``age``
CLI and with pyrage.

The spool file is not fsynced here: the blob store fsyncs it before giving it its final name
(``BlobStore.put_file``). Writeback of a large file is started as it is written, so that fsync
has little left to do.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import os
import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyrage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from notary.core.cid import CidBuilder
from notary.core.digest import FileDigest, StreamingDigest
from notary.core.errors import InputError, NotaryError
from storage.blobs import StorageFull

Read = Callable[[int], bytes]

READ_SIZE = 1 << 20
"""How much plaintext is asked of ``read`` at a time."""

_AGE_CHUNK = 64 * 1024  # age STREAM plaintext chunk size (fixed by the format)
_FLUSH = 1 << 20  # ciphertext handed to the spool writer in pieces of about this size
_THREAD_AFTER = 4 << 20  # a spool writer thread is started once this much ciphertext exists
_QUEUE_DEPTH = 4  # pieces in flight to the writer thread (bounds memory: ~5 MiB per upload)
_WRITEBACK_EVERY = 32 << 20  # start writeback of the spool file every this many bytes


class UploadTooLarge(InputError):
    """The upload is over ``NOTARY_MAX_UPLOAD_BYTES``."""

    default_code = "upload_too_large"


@dataclass(frozen=True)
class SealedUpload:
    """What sealing produced: the plaintext digest and the ciphertext's CID and spool file."""

    digest: FileDigest
    cid: str
    path: Path
    stored_size: int


# --- age v1, X25519 recipient ---------------------------------------------------------------

_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _BECH32_GEN[i]
    return chk


def recipient_public_key(recipient: pyrage.x25519.Recipient | str) -> bytes:
    """The 32-byte X25519 public key of an ``age1...`` recipient (BIP 173 Bech32, checksum
    verified). Raises ValueError for anything else."""
    text = str(recipient)
    if text != text.lower() or not text.startswith("age1") or len(text) < 10:
        raise ValueError("not an age X25519 recipient")
    hrp, data_part = text[:3], text[4:]
    try:
        data = [_BECH32.index(c) for c in data_part]
    except ValueError:
        raise ValueError("not an age X25519 recipient: bad Bech32 character") from None
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    if _bech32_polymod(expanded + data) != 1:
        raise ValueError("not an age X25519 recipient: bad Bech32 checksum")
    acc, bits, out = 0, 0, bytearray()
    for v in data[:-6]:
        acc = (acc << 5) | v
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)) or len(out) != 32:
        raise ValueError("not an age X25519 recipient: bad key length or padding")
    return bytes(out)


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


class AgeEncryptor:
    """age v1 encryption to one X25519 recipient, fed in pieces of any size.

    :attr:`header` (header and payload nonce) comes first; :meth:`update` returns the
    ciphertext of every complete 64 KiB chunk so far, except that the last complete chunk is
    held back until more plaintext arrives, because the final chunk is marked as such
    (age's STREAM construction); :meth:`finish` returns the final chunk.
    """

    __slots__ = ("_aead", "_counter", "_pending", "header")

    def __init__(self, recipient: bytes) -> None:
        # Recipient stanza (age spec, "X25519 recipient stanza").
        file_key = secrets.token_bytes(16)
        ephemeral = X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes_raw()
        # cryptography refuses a low-order recipient key (all-zero shared secret) with
        # ValueError, as age requires.
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
        wrap_key = _hkdf(shared, share + recipient, b"age-encryption.org/v1/X25519")
        body = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None)
        head = (b"age-encryption.org/v1\n-> X25519 " + _b64(share) + b"\n" + _b64(body)
                + b"\n---")
        mac = hmac.new(_hkdf(file_key, b"", b"header"), head, hashlib.sha256).digest()
        nonce = secrets.token_bytes(16)
        self.header = head + b" " + _b64(mac) + b"\n" + nonce
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._counter = 0
        self._pending = bytearray()

    def _chunk(self, plaintext: bytes | bytearray | memoryview, last: bool) -> bytes:
        nonce = self._counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        self._counter += 1
        return self._aead.encrypt(nonce, plaintext, None)

    def update(self, data: bytes | bytearray | memoryview,
               out: bytearray | None = None) -> bytearray:
        """Encrypt ``data``; the ciphertext is appended to ``out`` (a new bytearray if None),
        which is returned."""
        if out is None:
            out = bytearray()
        view = memoryview(data).cast("B")
        n = len(view)
        pos = 0
        pending = self._pending
        if pending:
            pos = min(_AGE_CHUNK - len(pending), n)
            pending += view[:pos]
            if pos == n:
                return out  # the held-back chunk may still be the last one
            out += self._chunk(pending, False)
            pending.clear()
        while n - pos > _AGE_CHUNK:
            out += self._chunk(view[pos:pos + _AGE_CHUNK], False)
            pos += _AGE_CHUNK
        pending += view[pos:]
        return out

    def finish(self) -> bytes:
        """The final chunk (empty only when the whole plaintext was empty)."""
        last = self._chunk(self._pending, True)
        self._pending.clear()
        return last


# --- the spool file -------------------------------------------------------------------------


class _SpoolWriter:
    """Writes ciphertext to the spool file and computes its CID; once the ciphertext is large,
    both move to a second thread (SHA-256 and ``write`` release the GIL, so they run beside the
    encryption)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.cid = CidBuilder()
        self.size = 0
        self._synced_to = 0
        self._queue: queue.Queue[bytes | bytearray | None] | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def write(self, data: bytes | bytearray) -> None:
        """Write ``data`` (the caller must not change it afterwards)."""
        if self.error is not None:
            raise self.error
        if self._queue is not None:
            self._queue.put(data)
            return
        try:
            self._write(data)
        except OSError as exc:
            raise _spool_error(exc) from exc
        if self.size >= _THREAD_AFTER:
            self._queue = queue.Queue(_QUEUE_DEPTH)
            self._thread = threading.Thread(target=self._run, name="seal-spool", daemon=True)
            self._thread.start()

    def _write(self, data: bytes | bytearray) -> None:
        self.cid.update(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        self.size += len(data)
        if self.size - self._synced_to >= _WRITEBACK_EVERY and hasattr(os, "posix_fadvise"):
            # Linux starts writeback of dirty pages in the range (without waiting for it), so
            # the blob store's fsync does not have to write the whole file at once.
            os.posix_fadvise(self._fd, self._synced_to, self.size - self._synced_to,
                             os.POSIX_FADV_DONTNEED)
            self._synced_to = self.size

    def _run(self) -> None:
        assert self._queue is not None
        while (data := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self._write(data)
                except OSError as exc:  # handed to the sealing thread
                    self.error = _spool_error(exc)
                    self.error.__cause__ = exc
                except BaseException as exc:  # noqa: BLE001 - re-raised by close()
                    self.error = exc

    def close(self) -> None:
        """Wait for the writer thread; re-raise what it failed with."""
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._queue = None
        if self.error is not None:
            raise self.error


def seal(read: Read, recipient: pyrage.x25519.Recipient, spool_dir: Path, max_bytes: int) -> SealedUpload:
    """Read plaintext with ``read(n)`` until it returns b"", and seal it.

    Raises UploadTooLarge past ``max_bytes``, re-raises whatever ``read`` raised (a client that
    went away, a malformed body), and StorageFull/NotaryError when the spool cannot be written.
    The spool file is removed on every failure.
    """
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = spool_dir / f"{secrets.token_hex(16)}.age"
    age = AgeEncryptor(recipient_public_key(recipient))
    digest = StreamingDigest()
    size = 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise _spool_error(exc) from exc
    writer = _SpoolWriter(fd)
    try:
        try:
            out = bytearray(age.header)
            while data := read(READ_SIZE):
                size += len(data)
                if size > max_bytes:
                    raise UploadTooLarge(
                        f"the file is larger than the limit of {max_bytes} bytes", limit=max_bytes
                    )
                digest.update(data)
                age.update(data, out)
                if len(out) >= _FLUSH:
                    writer.write(out)  # handed over, not copied: a new buffer follows
                    out = bytearray()
            out += age.finish()
            writer.write(out)
        finally:
            try:
                writer.close()
            finally:
                os.close(fd)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return SealedUpload(digest.finish(), writer.cid.finish(), path, writer.size)


def _spool_error(exc: BaseException) -> NotaryError:
    text = str(exc)
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left" in text:
        return StorageFull("the server's storage is full; nothing was kept, retry later")
    return NotaryError(f"encryption failed: {text}", code="seal_failed")
