"""Hostile archives: each is refused unread (UnsafeBundle / UnreadableBundle, exit code 2)
with a reason, within bounded time and memory, and nothing is written anywhere.

Every archive is built here, named for the attack it reproduces. Most start with a proper
``mimetype`` entry, as a crafted "bundle" would, so that they reach the archive checks.
A representative subset runs through the real ``notary verify`` process in an empty folder.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from notary.bundles.archive import read_archive
from notary.bundles.check import verify_bundle_file
from notary.core.bundle import (
    BUNDLE_MEDIA_TYPE,
    BUNDLE_V2_MEDIA_TYPE,
    MAX_FILES,
    MAX_FILES_V2,
    MAX_MANIFEST_BYTES,
)
from notary.core.errors import UnreadableBundle, UnsafeBundle
from notary.core.statement import canonical_json
from tests.support import REPO

pytestmark = pytest.mark.integration

MIMETYPE = BUNDLE_MEDIA_TYPE.encode()


def archive(*entries: tuple[str | zipfile.ZipInfo, bytes], mimetype: bytes | None = MIMETYPE,
            method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP of ``entries``, after a stored ``mimetype`` entry unless ``mimetype`` is None."""
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names; we mean it
        with zipfile.ZipFile(out, "w") as z:
            if mimetype is not None:
                z.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
            for name, data in entries:
                z.writestr(name, data, compress_type=method)
    return out.getvalue()


def with_mode(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix
    info.external_attr = mode << 16
    return info


def _directory_entries(data: bytes) -> list[int]:
    """Offsets of the central directory entries."""
    (cd_size, cd_offset) = struct.unpack("<II", data[-10:-2])
    offsets, pos = [], cd_offset
    while pos < cd_offset + cd_size:
        assert data[pos:pos + 4] == b"PK\x01\x02"
        n, m, k = struct.unpack("<HHH", data[pos + 28:pos + 34])
        offsets.append(pos)
        pos += 46 + n + m + k
    return offsets


def patched(data: bytes, *, name: bytes | None = None, new_name: bytes | None = None,
            flags: int = 0) -> bytes:
    """Rename a member in place (same length) and OR ``flags`` into its general purpose flags,
    in both its local header and its directory entry: what zipfile would never write."""
    buf = bytearray(data)
    for pos in _directory_entries(data):
        n = struct.unpack("<H", buf[pos + 28:pos + 30])[0]
        if name is not None and bytes(buf[pos + 46:pos + 46 + n]) != name:
            continue
        local = struct.unpack("<I", buf[pos + 42:pos + 46])[0]
        for flag_at, name_at in ((pos + 8, pos + 46), (local + 6, local + 30)):
            struct.pack_into("<H", buf, flag_at, struct.unpack("<H", buf[flag_at:flag_at + 2])[0]
                             | flags)
            if new_name is not None:
                buf[name_at:name_at + len(new_name)] = new_name
    return bytes(buf)


def overlapping_members() -> bytes:
    """David Fifield's non-recursive zip bomb trick: many directory entries, one stored
    body. Each entry would count the same bytes again."""
    base = archive(("items/001/original/a.bin", os.urandom(64 * 1024)),
                   method=zipfile.ZIP_STORED)
    entries = _directory_entries(base)
    first = entries[-1]
    (cd_size, cd_offset) = struct.unpack("<II", base[-10:-2])
    entry = base[first:cd_offset + cd_size]
    copies = [entry.replace(b"a.bin", f"{c}.bin".encode()) for c in "bcdefgh"]
    directory = base[cd_offset:cd_offset + cd_size] + b"".join(copies)
    end = bytearray(base[-22:])
    count = len(entries) + len(copies)
    struct.pack_into("<HHII", end, 8, count, count, len(directory), cd_offset)
    return base[:cd_offset] + directory + bytes(end)


def lying_size() -> bytes:
    """A directory that declares fewer bytes than the member holds."""
    data = archive(("items/001/original/a.bin", os.urandom(4096)), method=zipfile.ZIP_STORED)
    buf = bytearray(data)
    pos = _directory_entries(data)[-1]
    struct.pack_into("<I", buf, pos + 24, 100)  # uncompressed size
    return bytes(buf)


def corrupted_member() -> bytes:
    data = bytearray(archive(("items/001/original/a.bin", b"A" * 4096),
                             method=zipfile.ZIP_STORED))
    at = data.index(b"A" * 64)
    data[at] ^= 0x01
    return bytes(data)


@cache
def many_members() -> bytes:
    return archive(*((f"items/{i:06d}.txt", b"") for i in range(MAX_FILES + 3)),
                   method=zipfile.ZIP_STORED)


@cache
def valid_looking() -> bytes:
    return archive(("manifest.json", b"{}"), ("keys/jwks.json", b"{}"),
                   ("items/001/statement.jws", b"x" * 5000))


def huge_manifest() -> bytes:
    # Random hex: the document is too large without tripping the ratio limit first.
    body = os.urandom((MAX_MANIFEST_BYTES + 1024) // 2).hex().encode()
    return archive(("manifest.json", body))


def manifest_listing_too_many_files() -> bytes:
    # A version 2 bundle, under v2's limit of 10,000 files (v3's 100,000 are tested in
    # tests/unit/test_bundle_v3.py without a time bound).
    files = [{"path": f"f/{i:06d}", "sha256": "0" * 64, "size": 0}
             for i in range(MAX_FILES_V2 + 1)]
    manifest = {"bundle_version": 2, "media_type": BUNDLE_V2_MEDIA_TYPE, "scope": "case",
                "case_id": "C", "created_at": "2026-11-29T00:00:00.000000Z",
                "hashes_only": True, "items": [], "files": files}
    return archive(("manifest.json", canonical_json(manifest)),
                   mimetype=BUNDLE_V2_MEDIA_TYPE.encode())


def manifest_of_version_4() -> bytes:
    return archive(("manifest.json", canonical_json({"bundle_version": 4,
                                                     "media_type": BUNDLE_MEDIA_TYPE})))


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[], bytes]
    error: type[UnreadableBundle]
    reason: str


HOSTILE = [
    Hostile("zip-bomb-high-ratio-member",
            lambda: archive(("items/001/original/silence.wav", bytes(16 << 20))),
            UnsafeBundle, "zip_bomb"),
    Hostile("zip-bomb-overlapping-members", overlapping_members, UnsafeBundle, "zip_bomb"),
    Hostile("path-traversal-dotdot", lambda: archive(("../evil.txt", b"x")),
            UnsafeBundle, "bad_name"),
    Hostile("path-traversal-inside", lambda: archive(("items/001/../../evil.txt", b"x")),
            UnsafeBundle, "bad_name"),
    Hostile("absolute-path", lambda: archive(("/tmp/notary-evil.txt", b"x")),
            UnsafeBundle, "bad_name"),
    Hostile("backslash-path", lambda: archive(("..\\evil.txt", b"x")), UnsafeBundle, "bad_name"),
    Hostile("drive-letter-path", lambda: archive(("C:/evil.txt", b"x")), UnsafeBundle,
            "bad_name"),
    Hostile("nul-in-name", lambda: patched(archive(("items/001/aXb.txt", b"x")),
                                           name=b"items/001/aXb.txt", new_name=b"items/001/a\0b"),
            UnsafeBundle, "bad_name"),
    Hostile("directory-member", lambda: archive(("items/", b"")), UnsafeBundle, "bad_name"),
    Hostile("symlink-member",
            lambda: archive((with_mode("items/001/original/a.wav", stat.S_IFLNK | 0o777),
                             b"/etc/passwd")),
            UnsafeBundle, "not_regular_file"),
    Hostile("device-member",
            lambda: archive((with_mode("items/001/original/a.wav", stat.S_IFCHR | 0o666), b"")),
            UnsafeBundle, "not_regular_file"),
    Hostile("duplicate-names", lambda: archive(("manifest.json", b"{}"), ("manifest.json", b"[]")),
            UnsafeBundle, "duplicate_name"),
    Hostile("duplicate-names-by-case", lambda: archive(("VERIFY.md", b"a"), ("verify.md", b"b")),
            UnsafeBundle, "duplicate_name"),
    Hostile("hundred-thousand-members", many_members, UnsafeBundle, "too_many_members"),
    Hostile("huge-manifest", huge_manifest, UnsafeBundle, "document_too_large"),
    Hostile("manifest-listing-too-many-files", manifest_listing_too_many_files, UnsafeBundle,
            "manifest_too_large"),
    Hostile("non-utf8-name-flagged-utf8",
            lambda: patched(archive(("items/001/aXb.txt", b"x")), name=b"items/001/aXb.txt",
                            new_name=b"items/001/a\xffb.txt", flags=0x800),
            UnsafeBundle, "name_not_utf8"),
    Hostile("non-utf8-name-unflagged",
            lambda: patched(archive(("items/001/aXb.txt", b"x")), name=b"items/001/aXb.txt",
                            new_name=b"items/001/a\xe9b.txt"),
            UnsafeBundle, "name_not_utf8"),
    Hostile("encrypted-member",
            lambda: patched(archive(("items/001/a.txt", b"x")), name=b"items/001/a.txt",
                            flags=0x1),
            UnsafeBundle, "encrypted"),
    Hostile("lzma-member", lambda: archive(("items/001/a.txt", b"x" * 100),
                                           method=zipfile.ZIP_LZMA),
            UnsafeBundle, "compression_method"),
    Hostile("truncated-archive-half", lambda: valid_looking()[: len(valid_looking()) // 2],
            UnreadableBundle, "truncated"),
    Hostile("truncated-archive-last-byte", lambda: valid_looking()[:-1], UnreadableBundle,
            "truncated"),
    Hostile("trailing-garbage", lambda: valid_looking() + b"MZ\x90\x00 trailing",
            UnsafeBundle, "trailing_data"),
    Hostile("prepended-data", lambda: b"#!/bin/sh\nexit 0\n" + valid_looking(),
            UnreadableBundle, "not_a_zip"),
    Hostile("not-a-zip", lambda: b"%PDF-1.7\n" + os.urandom(4096), UnreadableBundle,
            "not_a_zip"),
    Hostile("empty-file", lambda: b"", UnreadableBundle, "not_a_zip"),
    Hostile("lying-uncompressed-size", lying_size, UnreadableBundle, "corrupt"),
    Hostile("corrupted-member-crc", corrupted_member, UnreadableBundle, "corrupt"),
    Hostile("mimetype-not-first", lambda: archive(("manifest.json", b"{}"), ("mimetype", MIMETYPE),
                                                  mimetype=None),
            UnreadableBundle, "not_a_bundle"),
    Hostile("unknown-bundle-version-mimetype",
            lambda: archive(mimetype=b"application/vnd.notary.bundle.v4+zip"),
            UnreadableBundle, "version_unsupported"),
    Hostile("unknown-bundle-version-manifest", manifest_of_version_4, UnreadableBundle,
            "version_unsupported"),
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_archive_is_refused_in_bounded_time_and_memory(hostile: Hostile) -> None:
    data = hostile.build()
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(UnreadableBundle) as caught:
            verify_bundle_file(io.BytesIO(data))
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = caught.value
    assert type(error) is hostile.error, error.diagnostics()
    assert error.reason == hostile.reason, error.diagnostics()
    assert error.code == ("bundle_unsafe" if hostile.error is UnsafeBundle
                          else "bundle_unreadable")
    assert error.message.endswith("."), error.message
    assert elapsed < 5, f"{hostile.name} took {elapsed:.1f}s"
    assert peak < 64 * 1024 * 1024, f"{hostile.name} used {peak / 2**20:.0f} MiB"


def test_our_own_writer_passes_the_reader() -> None:
    """The limits never refuse what the writer makes (originals stored, ratio 1)."""
    from datetime import UTC, datetime

    from notary.bundles.archive import BundleWriter

    writer = BundleWriter(datetime(2026, 11, 29, tzinfo=UTC))
    out = writer.take()
    out += b"".join(writer.add_stream("items/001/original/silence.wav",
                                      iter([bytes(1 << 20)] * 8), 8 << 20))
    out += writer.add("items/001/statement.json", b"{}" * 1000)
    out += writer.finish()
    contents = read_archive(io.BytesIO(out))
    assert contents.order == ("mimetype", "items/001/original/silence.wav",
                              "items/001/statement.json")
    assert contents.digests == writer.digests
    assert contents.documents["items/001/statement.json"] == b"{}" * 1000
    assert "items/001/original/silence.wav" not in contents.documents


def test_many_small_documents_cannot_fill_memory_together() -> None:
    """Each document is under its own limit and under the ratio floor, but together they
    pass the bound on what is read into memory: refused from the directory, before any is
    decompressed (the default bound is 1 GiB; a small one here keeps the test fast)."""
    from notary.bundles.archive import ArchiveLimits

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), BUNDLE_MEDIA_TYPE)
        for n in range(1, 21):
            z.writestr(f"items/{n:03d}/statement.json", bytes(100 * 1024))
    limits = ArchiveLimits(max_document_total_bytes=1024 * 1024)
    with pytest.raises(UnsafeBundle) as err:
        read_archive(io.BytesIO(out.getvalue()), limits)
    assert err.value.details["reason"] == "total_too_large"
    assert "documents" in err.value.message
    assert len(read_archive(io.BytesIO(out.getvalue())).documents) == 21  # 2 MB: under 1 GiB
    assert ArchiveLimits().max_document_total_bytes <= 1024**3


SUBPROCESS = ["zip-bomb-high-ratio-member", "path-traversal-dotdot", "absolute-path",
              "symlink-member", "hundred-thousand-members", "truncated-archive-half"]


@pytest.mark.parametrize("name", SUBPROCESS)
def test_cli_exits_2_and_writes_nothing(tmp_path: Path, name: str) -> None:
    hostile = next(h for h in HOSTILE if h.name == name)
    inbox = tmp_path / "inbox"
    work = tmp_path / "work" / "deeper"
    inbox.mkdir()
    work.mkdir(parents=True)
    bundle = inbox / "bundle.zip"
    bundle.write_bytes(hostile.build())
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "notary.cli", "verify", str(bundle), "--json"],
                         cwd=work, capture_output=True, text=True, timeout=60, check=False,
                         env={**os.environ, "PYTHONPATH": str(REPO), "HOME": str(work),
                              "TMPDIR": str(work)})
    assert out.returncode == 2, out.stdout + out.stderr
    assert time.monotonic() - started < 20
    assert out.stderr.startswith(("error bundle_unsafe: ", "error bundle_unreadable: "))
    assert f"(reason: {hostile.reason})" in out.stderr, out.stderr
    assert '"result": "unreadable"' in out.stdout
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before, "the verifier wrote files"
    assert not Path("/tmp/notary-evil.txt").exists()


def test_cli_bundle_flag_reads_any_file_as_a_bundle(tmp_path: Path) -> None:
    """A plain file is looked up with the service; --bundle forces bundle reading (exit 2)."""
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(1024))
    out = subprocess.run([sys.executable, "-m", "notary.cli", "verify", str(path), "--bundle"],
                         cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2
    assert out.stderr.startswith("error bundle_unreadable: ")
    assert "(reason: not_a_zip)" in out.stderr


def test_zip64_end_records_are_read() -> None:
    """Bundles over 4 GiB (a long recording) end with ZIP64 records; the reader follows them.
    Built small here by rewriting a bundle's end as ZIP64, the way zipfile writes it."""
    data = archive(("items/001/original/a.wav", b"RIFF" + bytes(1000)), method=zipfile.ZIP_STORED)
    _, _, _, _, count, cd_size, cd_offset, _ = struct.unpack("<4sHHHHIIH", data[-22:])
    zip64_end = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                            cd_size, cd_offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, cd_offset + cd_size, 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                      0xFFFFFFFF, 0)
    contents = read_archive(io.BytesIO(data[:-22] + zip64_end + locator + end))
    assert contents.order == ("mimetype", "items/001/original/a.wav")
    assert contents.digests["items/001/original/a.wav"].size == 1004
