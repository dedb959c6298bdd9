"""Hash, encrypt and content-address an upload in one streaming pass, in constant memory.

The plaintext is never written anywhere: it is read in pieces, hashed (SHA-256 of the original,
for the statement), encrypted by age (``pyrage``, the maintained binding of the rage
implementation) as it goes, and the ciphertext is written to a spool file while its IPFS CID is
computed. Only ciphertext ever touches the disk. The result is a standard age v1 file with one
X25519 recipient, so ``age -d`` opens it given the item's identity.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyrage

import notary.core.errors as kinds
from notary.core.cid import CidBuilder
from notary.core.digest import FileDigest, StreamingDigest
from notary.core.errors import InputError, NotaryError
from notary.service.faults import crash_point
from storage.blobs import StorageFull

Read = Callable[[int], bytes]


class UploadTooLarge(InputError):
    """The upload is over ``NOTARY_MAX_UPLOAD_BYTES``."""

    kind = kinds.TOO_LARGE

    default_code = "upload_too_large"


@dataclass(frozen=True)
class SealedUpload:
    """What sealing produced: the plaintext digest and the ciphertext's CID and spool file."""

    digest: FileDigest
    cid: str
    path: Path
    stored_size: int


class _HashingReader:
    """The reader pyrage pulls plaintext from; hashes and counts what passes through."""

    def __init__(self, read: Read, max_bytes: int) -> None:
        self._read = read
        self._max = max_bytes
        self.digest = StreamingDigest()
        self.size = 0
        self.error: BaseException | None = None
        self._rest = memoryview(b"")

    def read(self, n: int = -1) -> bytes:
        """At most ``n`` bytes (pyrage's buffer size); a longer piece from the source is
        kept and handed out over the next calls."""
        n = n if n and n > 0 else 1 << 16
        if not self._rest:
            try:
                self._rest = memoryview(self._read(n))
            except BaseException as exc:  # kept and re-raised after pyrage unwinds
                self.error = exc
                raise
        data, self._rest = bytes(self._rest[:n]), self._rest[n:]
        self.size += len(data)
        if self.size > self._max:
            self.error = UploadTooLarge(
                f"the file is larger than the limit of {self._max} bytes", limit=self._max
            )
            raise self.error
        self.digest.update(data)
        crash_point("upload")
        return data


class _CidWriter(io.RawIOBase):
    """The writer pyrage pushes ciphertext to; computes its CID while writing the spool file."""

    def __init__(self, fh: io.BufferedWriter) -> None:
        self._fh = fh
        self.cid = CidBuilder()
        self.size = 0
        self.error: BaseException | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            self._fh.write(data)
        except OSError as exc:
            self.error = exc
            raise
        self.cid.update(data)
        self.size += len(data)
        return len(data)


def seal(read: Read, recipient: pyrage.x25519.Recipient, spool_dir: Path,
         max_bytes: int) -> SealedUpload:
    """Read plaintext with ``read(n)`` until it returns b"", and seal it.

    Raises UploadTooLarge past ``max_bytes``, re-raises whatever ``read`` raised (a client that
    went away, a malformed body), StorageFull (507) or a ``spool_unavailable`` error (503) when
    the spool cannot be written. The spool file is removed on every failure.
    """
    try:
        spool_dir.mkdir(parents=True, exist_ok=True)
        path = spool_dir / f"{os.getpid()}-{secrets.token_hex(16)}.age"  # PID: see doctor
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise _spool_error(exc) from exc
    reader = _HashingReader(read, max_bytes)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = _CidWriter(fh)
            try:
                pyrage.encrypt_io(reader, writer, [recipient])
            except Exception as exc:
                if reader.error is not None:
                    raise reader.error from None
                raise _spool_error(writer.error or exc) from exc
            try:
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as exc:
                raise _spool_error(exc) from exc
    except OSError as exc:  # e.g. the last buffered bytes failed to flush at close
        path.unlink(missing_ok=True)
        if exc is reader.error:
            raise
        raise _spool_error(exc) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return SealedUpload(reader.digest.finish(), writer.cid.finish(), path, writer.size)


def _spool_error(exc: BaseException) -> NotaryError:
    text = str(exc)
    if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) \
            or "No space left" in text:
        return StorageFull("the server's storage is full; nothing was kept, retry later")
    if isinstance(exc, OSError):
        return NotaryError(f"the spool cannot be written ({exc.strerror}); nothing was kept, "
                           "retry later", code="spool_unavailable")
    return NotaryError(f"encryption failed: {text}", code="seal_failed")
