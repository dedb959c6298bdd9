"""Re-packing bundles the way a forger (or a careless clerk) would: members replaced,
removed, added or renamed, with Python's zipfile."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

from notary.core.bundle import (
    KEYS_PATH,
    LOG_CHECKPOINT_PATH,
    MANIFEST_MEDIA_TYPE,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    KeyPeriod,
    key_history,
)
from notary.core.signing import SigningKey, jws_payload
from notary.core.statement import canonical_json


def rezip(data: bytes, changes: dict[str, bytes | None] | None = None, *,
          rename: dict[str, str] | None = None) -> bytes:
    """A copy of a bundle with members replaced (bytes), removed (None), added or renamed;
    ``mimetype`` stays first. Written with zipfile, as anyone re-packing a bundle would."""
    changes = dict(changes or {})
    rename = rename or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            name = info.filename
            content = changes.pop(name, src.read(name)) if name in changes else src.read(name)
            if content is None:
                continue
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            dst.writestr(zipfile.ZipInfo(rename.get(name, name), info.date_time), content,
                         compress_type=method)
        for name, content in changes.items():
            if content is not None:
                dst.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(name)


def names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.namelist()


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _resign(token: str, key: SigningKey) -> str:
    """The same payload, type and extra header parameters, signed by ``key`` instead."""
    segment = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    extra = {k: v for k, v in header.items() if k not in ("alg", "kid", "typ")}
    return key.sign(jws_payload(token), header["typ"], extra or None)


def resigned(data: bytes, key: SigningKey) -> bytes:
    """The genuine bundle with its key history replaced by ``key`` and every JWS re-signed
    by it, the manifest rewritten and re-signed: internally consistent, not ours. The log's
    part is left out: the re-signed JWS are no leaves of any log (kept, it fails the bundle)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        files = {i.filename: z.read(i.filename) for i in z.infolist()
                 if i.filename != LOG_CHECKPOINT_PATH and not i.filename.endswith("/log.json")}
    for path, content in list(files.items()):
        if path.endswith(".jws") and path != MANIFEST_SIGNATURE_PATH:
            files[path] = _resign(content.decode("ascii"), key).encode("ascii")
        elif path.endswith("/custody.jsonl"):
            files[path] = "".join(_resign(t, key) + "\n" for t in
                                  content.decode("ascii").splitlines() if t).encode("ascii")
    files[KEYS_PATH] = key_history([(key.public_jwk(),
                                     KeyPeriod(key.kid, "2020-01-01T00:00:00Z", None))])
    return with_manifest(files, key)


def with_manifest(files: dict[str, bytes], key: SigningKey) -> bytes:
    """A bundle of ``files`` whose manifest lists them as they are, signed by ``key``."""
    files = dict(files)
    doc = json.loads(files[MANIFEST_PATH])
    listed = {p: d for p, d in files.items() if p not in (MANIFEST_PATH, MANIFEST_SIGNATURE_PATH)}
    doc["files"] = [{"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                    for p, d in sorted(listed.items())]
    files[MANIFEST_PATH] = canonical_json(doc)
    files[MANIFEST_SIGNATURE_PATH] = key.sign(files[MANIFEST_PATH], MANIFEST_MEDIA_TYPE).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for path, content in files.items():
            method = zipfile.ZIP_STORED if path == "mimetype" else zipfile.ZIP_DEFLATED
            z.writestr(zipfile.ZipInfo(path, (2026, 12, 4, 10, 0, 0)), content,
                       compress_type=method)
    return out.getvalue()
