"""Re-packing bundles the way a forger (or a careless clerk) would: members replaced,
removed, added or renamed, with Python's zipfile."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


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
