"""Hash, encrypt and content-address an upload in one streaming pass, in constant memory.

The plaintext is never written anywhere: it is read in pieces, hashed (SHA-256 of the original,
for the statement), encrypted to age v1 as it goes (``notary.core.age``, on ``cryptography``'s
primitives; pyrage and the ``age`` CLI decrypt it), and the ciphertext is written to a spool
file while its IPFS CID is computed. Only ciphertext ever touches the disk. The result is a
standard age v1 file with one X25519 recipient, so ``age -d`` opens it given the item's identity.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyrage

import notary.core.errors as kinds
from notary.core import age
from notary.core.cid import CidBuilder
from notary.core.digest import FileDigest, StreamingDigest
from notary.core.errors import InputError, NotaryError
from notary.service.faults import crash_point
from storage.blobs import StorageFull

Read = Callable[[int], bytes]
READ_SIZE = 1 << 20
"""Plaintext asked of ``read`` at a time: large pieces keep the per-call cost of Python small."""


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


def seal(read: Read, recipient: pyrage.x25519.Recipient, spool_dir: Path,
         max_bytes: int, *, sm3: bool = False) -> SealedUpload:
    """Read plaintext with ``read(n)`` until it returns b"", and seal it.

    Raises UploadTooLarge past ``max_bytes``, re-raises whatever ``read`` raised (a client that
    went away, a malformed body), StorageFull (507) or a ``spool_unavailable`` error (503) when
    the spool cannot be written. The spool file is removed on every failure.
    """
    encryptor = age.Encryptor([age.recipient_key(str(recipient))])
    try:
        spool_dir.mkdir(parents=True, exist_ok=True)
        path = spool_dir / f"{os.getpid()}-{secrets.token_hex(16)}.age"  # PID: see doctor
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise _spool_error(exc) from exc
    digest, cid = StreamingDigest(sm3=sm3), CidBuilder()
    size = stored = 0
    fh = os.fdopen(fd, "wb", buffering=0)  # unbuffered: a write error is raised where it happens

    def write(data: bytes | bytearray) -> None:
        nonlocal stored
        if data:
            view = memoryview(data)
            try:
                while view:  # a raw write may take less than it was given
                    view = view[fh.write(view) or 0:]
            except OSError as exc:
                raise _spool_error(exc) from exc
            cid.update(data)
            stored += len(data)

    try:
        write(encryptor.header)
        while piece := read(READ_SIZE):  # whatever ``read`` raises passes unchanged
            size += len(piece)
            if size > max_bytes:
                raise UploadTooLarge(
                    f"the file is larger than the limit of {max_bytes} bytes", limit=max_bytes
                )
            digest.update(piece)
            crash_point("upload")
            write(encryptor.update(piece))
        write(encryptor.finish())
        try:
            os.fsync(fh.fileno())
        except OSError as exc:
            raise _spool_error(exc) from exc
    except BaseException:
        fh.close()
        path.unlink(missing_ok=True)
        raise
    try:
        fh.close()
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise _spool_error(exc) from exc
    return SealedUpload(digest.finish(), cid.finish(), path, stored)


def _spool_error(exc: BaseException) -> NotaryError:
    text = str(exc)
    if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) \
            or "No space left" in text:
        return StorageFull("the server's storage is full; nothing was kept, retry later")
    if isinstance(exc, OSError):
        return NotaryError(f"the spool cannot be written ({exc.strerror}); nothing was kept, "
                           "retry later", code="spool_unavailable")
    return NotaryError(f"encryption failed: {text}", code="seal_failed")
