"""Signing a bundle's declaration (wire name: certification), offline, by the qualified person
it names.

``notary certify sign BUNDLE.zip --key person-key.pem -o signed.zip``: the bundle is read
safely and verified first (nobody should certify records that do not verify), then copied
member by member into a new archive with ``certification/certification.json.jws`` added: the
person's detached signature over ``certification/certification.json``. The manifest is not
touched (the person cannot re-sign it, and need not: the signature is checked on its own), so
the copy verifies exactly as the original did, plus the signature.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from notary.bundles.archive import read_archive
from notary.bundles.check import verify_bundle_file
from notary.core.bundle import open_bundle, verify_bundle
from notary.core.declaration import (
    CERTIFICATION_PATH,
    CERTIFICATION_SIGNATURE_PATH,
    sign_declaration,
)
from notary.core.errors import InputError, NotaryError
from notary.core.signing import SigningKey

__all__ = ["sign_bundle"]

_COPY_CHUNK = 1 << 20


def _copy_with(src: BinaryIO, dst: BinaryIO, path: str, data: bytes) -> None:
    """Copy every member of the archive ``src`` into ``dst`` as it is (name, time, mode,
    compression; ``mimetype`` stays first and stored), streaming, then add ``path``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", allowZip64=True) as zout:
        for info in zin.infolist():
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type = info.compress_type
            copy.external_attr = info.external_attr
            copy.file_size = info.file_size
            with zin.open(info) as reader, zout.open(copy, "w") as writer:
                shutil.copyfileobj(reader, writer, _COPY_CHUNK)
        added = zipfile.ZipInfo(path, zin.infolist()[-1].date_time)
        added.compress_type = zipfile.ZIP_DEFLATED
        added.external_attr = 0o100644 << 16
        zout.writestr(added, data)


def sign_bundle(src: Path, out: Path, key: SigningKey, *, signed_at: datetime) -> str:
    """Write to ``out`` a copy of the bundle ``src`` whose certification is signed with
    ``key``; returns the signer's key thumbprint.

    Raises :class:`~notary.core.errors.UnsafeBundle`/``UnreadableBundle`` for an archive
    refused unread, and :class:`NotaryError`: ``certification_missing`` (the bundle carries
    no certification), ``certification_signed`` (it is signed already), ``bundle_invalid``
    (the bundle does not verify, so its records cannot be certified),
    ``certification_key_mismatch`` (the certification names another key, or none), and
    :class:`InputError` ``output_exists`` (never overwrites).
    """
    if out.exists() or out.resolve() == src.resolve():
        raise InputError(f"{out} exists; choose another name", code="output_exists")
    # Step 1: read and verify the bundle offline, as its reader will.
    with src.open("rb") as fh:
        bundle = open_bundle(read_archive(fh))
    documents = bundle.contents.documents
    if CERTIFICATION_PATH not in documents:
        raise NotaryError(f"{src} carries no court certification ({CERTIFICATION_PATH}); "
                          "export the bundle with the certifier options",
                          code="certification_missing")
    if CERTIFICATION_SIGNATURE_PATH in bundle.contents.digests:
        raise NotaryError(f"{src} is signed already ({CERTIFICATION_SIGNATURE_PATH})",
                          code="certification_signed")
    verdict = verify_bundle(bundle).verdict
    if verdict.result != "valid":
        failed = "; ".join(f"{c.name}: {c.reason}" for c in verdict.failed) or verdict.result
        raise NotaryError(f"{src} does not verify, so its records cannot be certified: {failed}",
                          code="bundle_invalid")
    # Step 2: the person's detached signature over the exact bytes of certification.json.
    token = sign_declaration(documents[CERTIFICATION_PATH], key, signed_at=signed_at)
    # Step 3: the copy with the signature, written aside and renamed once it verifies.
    part = out.with_name(out.name + ".part")
    try:
        with src.open("rb") as fin, part.open("xb") as fout:
            _copy_with(fin, fout, CERTIFICATION_SIGNATURE_PATH, token.encode("ascii"))
        with part.open("rb") as fh:
            check = verify_bundle_file(fh).verdict.check("certification_signature")
        if check.status.value != "pass":
            raise NotaryError(f"the signed copy does not verify: {check.reason}",
                              code="certification_signature_invalid")
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return key.kid
