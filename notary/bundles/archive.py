"""Bundle archives: a reader that refuses hostile ZIP files before they can do harm, and a
writer that produces a bundle as a stream of bytes.

Reading: a bundle comes from anyone (the other side of a lawsuit, an upload to the public
verification page), so the reader treats it as hostile. It never extracts anything to disk:
members are hashed as they stream and only the small documents the verifier parses are held
in memory. Before a single member is decompressed it checks, from the archive's own
directory, every limit in :class:`ArchiveLimits` (member count, sizes, compression ratio,
overlapping members, names, file types); :class:`~notary.core.errors.UnsafeBundle` says which
rule an archive broke and :class:`~notary.core.errors.UnreadableBundle` that it is not a
(complete) ZIP archive. Time and memory are bounded by the limits.

Writing: evidence originals may be gigabytes and must never be written to disk in plain
text, so the writer emits the archive incrementally (ZIP data descriptors, as ``zipfile``
writes to a non-seekable stream), hashing every member as it is written for the manifest.
"""

from __future__ import annotations

import bisect
import hashlib
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Final

from notary.core.bundle import (
    BUNDLE_VERSION,
    MAX_FILES,
    MIMETYPE_PATH,
    READABLE,
    BundleContents,
    document_limit,
    is_original_path,
    member_path_problem,
)
from notary.core.digest import FileDigest, StreamingDigest, sm3_available
from notary.core.errors import NotaryError, UnreadableBundle, UnsafeBundle

__all__ = ["ArchiveLimits", "BundleWriter", "hash_ranges", "looks_like_bundle", "read_archive"]

_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD_SIG: Final = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_ZIP64_LOCATOR_SIG: Final = b"PK\x06\x07"
_ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")
_ZIP64_EOCD_SIG: Final = b"PK\x06\x06"
_LOCAL_SIG: Final = b"PK\x03\x04"
_LOCAL_HEADER_SIZE: Final = 30
_READ_CHUNK: Final = 1 << 20
_MAX_COMMENT_SEARCH: Final = 65_535 + _EOCD.size


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on an untrusted archive, all checked from its central directory before any
    member is decompressed (defaults in docs/bundle-format.md §7)."""

    max_members: int = MAX_FILES + 2  # the manifest and its signature are not listed
    max_member_bytes: int = 16 * 1024**3
    max_total_bytes: int = 64 * 1024**3
    max_ratio: int = 100  # uncompressed / compressed, for members above ratio_floor
    ratio_floor: int = 1 << 20
    max_central_directory_bytes: int = 16 * 1024 * 1024
    #: The documents read into memory (statements, proofs, custody logs, recording.json ...),
    #: all together: each is bounded, but 10,000 items of small, highly compressible
    #: documents would otherwise fill memory from a small archive.
    max_document_total_bytes: int = 1024**3


def _unsafe(message: str, reason: str, member: str | None = None) -> UnsafeBundle:
    details = {"member": member} if member is not None else {}
    return UnsafeBundle(message, reason=reason, **details)


def _unreadable(message: str, reason: str) -> UnreadableBundle:
    return UnreadableBundle(message, reason=reason)


def _central_directory(fp: BinaryIO, limits: ArchiveLimits) -> tuple[int, int, int]:
    """(member count, central directory offset, its size) from the end records; refuses a
    comment, trailing or leading data, multi-disk archives and oversize directories."""
    fp.seek(0, 2)
    size = fp.tell()
    if size < _EOCD.size + _LOCAL_HEADER_SIZE:
        raise _unreadable("The file is too short to be a ZIP archive.", "not_a_zip")
    fp.seek(0)
    if fp.read(4) != _LOCAL_SIG:
        raise _unreadable("The file does not start like a ZIP archive (no local file header "
                          "at offset 0).", "not_a_zip")
    fp.seek(size - _EOCD.size)
    tail = fp.read(_EOCD.size)
    if tail[:4] != _EOCD_SIG:
        back = min(size, _MAX_COMMENT_SEARCH)
        fp.seek(size - back)
        found = fp.read(back).rfind(_EOCD_SIG)
        if found >= 0 and size - back + found + _EOCD.size <= size:
            raise _unsafe("The archive has a comment or data after its end record; a bundle "
                          "ends exactly with its end of central directory record.",
                          "trailing_data")
        raise _unreadable("The archive has no end of central directory record: it is "
                          "truncated or not a ZIP archive.", "truncated")
    _, disk, cd_disk, on_disk, total, cd_size, cd_offset, comment = _EOCD.unpack(tail)
    cd_end = size - _EOCD.size
    if comment != 0:
        raise _unsafe("The archive's end record declares a comment.", "trailing_data")
    if 0xFFFF in (total, on_disk) or 0xFFFFFFFF in (cd_size, cd_offset):
        locator_at = size - _EOCD.size - _ZIP64_LOCATOR.size
        if locator_at < 0:
            raise _unreadable("The ZIP64 end record locator is missing.", "truncated")
        fp.seek(locator_at)
        sig, z_disk, z_offset, disks = _ZIP64_LOCATOR.unpack(fp.read(_ZIP64_LOCATOR.size))
        if sig != _ZIP64_LOCATOR_SIG or z_disk != 0 or disks != 1:
            raise _unreadable("The ZIP64 end record locator is missing or damaged.", "truncated")
        if z_offset + _ZIP64_EOCD.size != locator_at:
            raise _unsafe("The ZIP64 end record is not where the locator says, or carries "
                          "extra data.", "trailing_data")
        fp.seek(z_offset)
        record = _ZIP64_EOCD.unpack(fp.read(_ZIP64_EOCD.size))
        sig, rec_size, _, _, disk, cd_disk, on_disk, total, cd_size, cd_offset = record
        if sig != _ZIP64_EOCD_SIG or rec_size != _ZIP64_EOCD.size - 12:
            raise _unreadable("The ZIP64 end record is damaged.", "truncated")
        cd_end = z_offset
    if disk != 0 or cd_disk != 0 or on_disk != total:
        raise _unsafe("The archive spans several disks.", "multi_disk")
    if total > limits.max_members:
        raise _unsafe(f"The archive has {total} members; a bundle has at most "
                      f"{limits.max_members}.", "too_many_members")
    if cd_size > limits.max_central_directory_bytes:
        raise _unsafe(f"The archive's central directory is {cd_size} bytes; the limit is "
                      f"{limits.max_central_directory_bytes}.", "too_many_members")
    if cd_offset + cd_size != cd_end:
        raise _unsafe("The archive's central directory is not where its end record says: "
                      "there is data before or between the archive's parts.", "data_outside")
    return total, cd_offset, cd_size


def _check_member(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    """Refuse one central-directory entry that breaks a rule (name, type, method, size)."""
    name = info.orig_filename
    problem = member_path_problem(name)
    if problem is not None or name != info.filename:
        raise _unsafe(f"The archive member {name!r} is refused: "
                      f"{problem or 'the name contains a NUL byte'}.", "bad_name", name)
    if not info.flag_bits & 0x800 and not name.isascii():
        raise _unsafe(f"The archive member {name!r} has a name that is not marked as UTF-8 "
                      "(ZIP flag bit 11) and is not ASCII.", "name_not_utf8", name)
    if info.flag_bits & 0x1:
        raise _unsafe(f"The archive member {name!r} is encrypted.", "encrypted", name)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _unsafe(f"The archive member {name!r} uses compression method "
                      f"{info.compress_type}; only stored (0) and deflate (8) are read.",
                      "compression_method", name)
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG) or info.external_attr & 0x10:
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        raise _unsafe(f"The archive member {name!r} is {kind}.", "not_regular_file", name)
    if info.file_size > limits.max_member_bytes:
        raise _unsafe(f"The archive member {name!r} is {info.file_size} bytes uncompressed; "
                      f"the limit is {limits.max_member_bytes}.", "member_too_large", name)
    limit = document_limit(name)
    if limit is not None and info.file_size > limit:
        raise _unsafe(f"The document {name!r} is {info.file_size} bytes; the limit is {limit}.",
                      "document_too_large", name)
    if info.file_size > limits.ratio_floor and (
        info.compress_size == 0 or info.file_size > info.compress_size * limits.max_ratio
    ):
        raise _unsafe(f"The archive member {name!r} expands {info.compress_size} bytes to "
                      f"{info.file_size}: a compression ratio over {limits.max_ratio} is "
                      "refused (zip bomb).", "zip_bomb", name)


def _check_layout(infos: list[zipfile.ZipInfo], cd_offset: int) -> None:
    """Members must not overlap (one stored byte may not count for two members, the trick
    of non-recursive zip bombs) and must all lie before the central directory."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for current, following in zip(ordered, [*ordered[1:], None], strict=True):
        end = (current.header_offset + _LOCAL_HEADER_SIZE
               + len(current.orig_filename.encode("utf-8")) + current.compress_size)
        limit = following.header_offset if following is not None else cd_offset
        if end > limit:
            raise _unsafe(f"The archive member {current.orig_filename!r} overlaps the next one "
                          "(overlapping members are a zip bomb technique).", "zip_bomb",
                          current.orig_filename)


def read_archive(fp: BinaryIO, limits: ArchiveLimits | None = None) -> BundleContents:
    """Read a bundle archive from a seekable binary file, safely; nothing is written anywhere.

    Returns every member's SHA-256 and size, in archive order, and the bytes of the documents
    :func:`~notary.core.bundle.document_limit` names. Raises :class:`UnsafeBundle` (reason
    ``too_many_members``, ``zip_bomb``, ``member_too_large``, ``document_too_large``,
    ``bad_name``, ``name_not_utf8``, ``duplicate_name``, ``not_regular_file``, ``encrypted``,
    ``compression_method``, ``trailing_data``, ``data_outside``, ``multi_disk``,
    ``total_too_large``) or :class:`UnreadableBundle` (``not_a_zip``, ``truncated``,
    ``corrupt``).
    """
    limits = limits or ArchiveLimits()
    # Step 1: the end records: member count and directory size, before zipfile parses it.
    count, cd_offset, _ = _central_directory(fp, limits)
    fp.seek(0)
    # Step 2: the central directory, entry by entry.
    try:
        archive = zipfile.ZipFile(fp)
    except UnicodeDecodeError as exc:
        raise _unsafe("An archive member's name is marked as UTF-8 but is not valid UTF-8.",
                      "name_not_utf8") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error, EOFError,
            OSError, NotImplementedError, OverflowError) as exc:
        raise _unreadable(f"The archive's directory is damaged: {exc}.", "corrupt") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) != count:
            raise _unsafe("The archive's directory holds another number of members than its "
                          "end record says.", "too_many_members")
        seen: set[str] = set()
        folded: dict[str, str] = {}
        total = documents_total = 0
        for info in infos:
            _check_member(info, limits)
            name = info.orig_filename
            if name in seen:
                raise _unsafe(f"The archive has two members named {name!r}.", "duplicate_name",
                              name)
            key = name.casefold()
            if key in folded:
                raise _unsafe(f"The archive members {folded[key]!r} and {name!r} differ only by "
                              "case (one would overwrite the other on many file systems).",
                              "duplicate_name", name)
            seen.add(name)
            folded[key] = name
            total += info.file_size
            if total > limits.max_total_bytes:
                raise _unsafe(f"The archive expands to more than {limits.max_total_bytes} bytes.",
                              "total_too_large", name)
            if document_limit(name) is not None:
                documents_total += info.file_size
                if documents_total > limits.max_document_total_bytes:
                    raise _unsafe(f"The archive's documents expand to more than "
                                  f"{limits.max_document_total_bytes} bytes together.",
                                  "total_too_large", name)
        _check_layout(infos, cd_offset)
        # Step 3: stream every member: hash it, keep the documents (their sizes were bounded
        # above; zipfile stops at the declared size and checks the CRC-32).
        digests: dict[str, FileDigest] = {}
        documents: dict[str, bytes] = {}
        sm3 = sm3_available()  # originals get SM3 too, for statements that carry one
        for info in infos:
            name = info.orig_filename
            keep = document_limit(name) is not None
            digest = StreamingDigest(sm3=sm3 and is_original_path(name))
            kept = bytearray()
            try:
                with archive.open(info) as member:
                    while chunk := member.read(_READ_CHUNK):
                        digest.update(chunk)
                        if keep:
                            kept += chunk
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                    NotImplementedError, struct.error) as exc:
                raise _unreadable(f"The archive member {name!r} cannot be read: {exc}.",
                                  "corrupt") from exc
            result = digest.finish()
            if result.size != info.file_size:
                raise _unreadable(f"The archive member {name!r} is {result.size} bytes, not the "
                                  f"{info.file_size} its directory says.", "corrupt")
            digests[name] = result
            if keep:
                documents[name] = bytes(kept)
    return BundleContents(tuple(i.orig_filename for i in infos), digests, documents)


def hash_ranges(fp: BinaryIO, wanted: Mapping[str, Sequence[tuple[int, int]]]
                ) -> dict[str, list[FileDigest | None]]:
    """For each member of ``wanted``, the SHA-256 of each of its byte ranges ``(offset,
    size)`` (sorted, not overlapping), streamed as :func:`read_archive` reads (call it after,
    on the same accepted archive): None for a range the member does not hold whole, all None
    when the member cannot be read."""
    if not wanted:
        return {}
    fp.seek(0)
    try:
        archive = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error):
        return {member: [None] * len(ranges) for member, ranges in wanted.items()}
    with archive:
        return {member: _hash_member(archive, member, ranges)
                for member, ranges in wanted.items()}


def _hash_member(archive: zipfile.ZipFile, member: str,
                 ranges: Sequence[tuple[int, int]]) -> list[FileDigest | None]:
    starts = [offset for offset, _ in ranges]
    ends = [offset + size for offset, size in ranges]
    digests = [StreamingDigest() for _ in ranges]
    at = 0
    try:
        with archive.open(member) as src:
            while chunk := src.read(_READ_CHUNK):
                end = at + len(chunk)
                view = memoryview(chunk)
                i = bisect.bisect_right(ends, at)  # the first range that ends after ``at``
                while i < len(ranges) and starts[i] < end:
                    digests[i].update(view[max(starts[i] - at, 0):min(ends[i], end) - at])
                    i += 1
                at = end
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError,
            NotImplementedError, struct.error):
        return [None] * len(ranges)
    results = [d.finish() for d in digests]
    return [r if r.size == size else None for r, (_, size) in zip(results, ranges, strict=True)]


def looks_like_bundle(head: bytes) -> bool:
    """True when the first bytes of a file are a ZIP local header for ``mimetype``: how a
    bundle starts (the verifier then reads it as one; a plain file is hashed instead)."""
    return (
        len(head) >= _LOCAL_HEADER_SIZE + len(MIMETYPE_PATH)
        and head[:4] == _LOCAL_SIG
        and struct.unpack("<H", head[26:28])[0] == len(MIMETYPE_PATH)
        and head[_LOCAL_HEADER_SIZE:_LOCAL_HEADER_SIZE + len(MIMETYPE_PATH)] == b"mimetype"
    )


class _Chunks:
    """A write-only sink collecting the archive's bytes until the caller takes them."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def write(self, data: bytes) -> int:
        self._buffer += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out = bytes(self._buffer)
        self._buffer.clear()
        return out


class BundleWriter:
    """Write a bundle as a stream: each call returns (or yields) the bytes produced so far.

    Members get the bundle's creation time and mode 0644; documents are deflated, originals
    stored as they are (media files do not compress, and a reader's ratio limit must never
    refuse our own bundles). Every member is hashed as written: :attr:`digests` feeds the
    manifest. The first member is always ``mimetype``, of bundle ``version`` (the current one;
    an older one only to write test vectors).
    """

    def __init__(self, created_at: datetime, version: int = BUNDLE_VERSION) -> None:
        moment = created_at.astimezone(UTC)
        self._date_time = (max(moment.year, 1980), moment.month, moment.day, moment.hour,
                           moment.minute, moment.second)
        self._out = _Chunks()
        self._zip = zipfile.ZipFile(self._out, "w", allowZip64=True)
        self.digests: dict[str, FileDigest] = {}
        self._add(MIMETYPE_PATH, READABLE[version].encode("ascii"), compress=False)

    def _info(self, path: str, size: int, compress: bool) -> zipfile.ZipInfo:
        problem = member_path_problem(path)
        if problem is not None or path in self.digests:
            raise NotaryError(f"{path!r} cannot be written to a bundle: "
                              f"{problem or 'it was written already'}.",
                              code="bundle_path_invalid")
        info = zipfile.ZipInfo(path, self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        info.file_size = size
        return info

    def _add(self, path: str, data: bytes, *, compress: bool) -> None:
        with self._zip.open(self._info(path, len(data), compress), "w") as member:
            member.write(data)
        self.digests[path] = FileDigest(hashlib.sha256(data).digest(), len(data))

    def take(self) -> bytes:
        """The bytes written since the last call."""
        return self._out.take()

    def add(self, path: str, data: bytes) -> bytes:
        """Add a document (deflated); returns the archive bytes produced."""
        self._add(path, data, compress=True)
        return self.take()

    def add_stream(self, path: str, chunks: Iterable[bytes], size: int,
                   expected_sha256: str | None = None) -> Iterator[bytes]:
        """Add a large member (stored) from an iterable of chunks, yielding archive bytes
        as they are produced. Raises :class:`NotaryError` (``bundle_content_mismatch``) if
        the content does not have ``size`` bytes and the SHA-256 ``expected_sha256``: the
        stream then stops, and the incomplete archive is unreadable, never wrong."""
        digest = StreamingDigest()
        with self._zip.open(self._info(path, size, compress=False), "w") as member:
            for chunk in chunks:
                member.write(chunk)
                digest.update(chunk)
                if len(self._out._buffer) >= _READ_CHUNK:
                    yield self.take()
            result = digest.finish()
            if result.size != size or (expected_sha256 is not None
                                       and result.hex != expected_sha256):
                raise NotaryError(f"The content written as {path} is not the notarised file "
                                  f"(SHA-256 {result.hex}, {result.size} bytes).",
                                  code="bundle_content_mismatch")
        self.digests[path] = result
        yield self.take()

    def finish(self) -> bytes:
        """Write the central directory; returns the last bytes of the archive."""
        self._zip.close()
        return self.take()
