"""The proof bundle's layout (format v3; v1 and v2 are still read): its media types, the paths of
its documents, the rules every member path and every original's name obey, and the limits
on what a verifier reads.

CONSENSUS-CRITICAL. Bundles are handed to courts and checked years later by this code and by
the steps of their own ``VERIFY.md``; the paths, document fields and rules of the bundle are
the format (``docs/bundle-format.md``). Change them only by adding a version next to this one.

The bundle's other concepts have their own modules (see :mod:`notary.core.bundle`). All of
them are pure: the archive is read and written elsewhere (``notary.bundles.archive``).
"""

from __future__ import annotations

import re
from typing import Final, Literal

from ..declaration import CERTIFICATION_DIR, CERTIFICATION_SIGNATURE_PATH, declaration_limit
from ..timestamp import is_timestamp_document
from ..trustroot import MAX_TRUST_ROOT_BYTES

__all__ = [
    "ANCHOR_NAME",
    "BUNDLE_MEDIA_TYPE",
    "BUNDLE_V1_MEDIA_TYPE",
    "BUNDLE_V2_MEDIA_TYPE",
    "BUNDLE_VERSION",
    "CONDUCT_HTML_PATH",
    "CONDUCT_JSON_PATH",
    "CONDUCT_JWS_PATH",
    "CONDUCT_PDF_PATH",
    "CUSTODY_NAME",
    "DELETION_JSON_NAME",
    "DELETION_NAME",
    "EXTRA_ANCHOR_NAME",
    "GUIDE_PATH",
    "ITEM_DIR",
    "KEYS_PATH",
    "LOG_CHECKPOINT_PATH",
    "LOG_NAME",
    "MANIFEST_MEDIA_TYPE",
    "MANIFEST_PATH",
    "MANIFEST_SIGNATURE_PATH",
    "MAX_DOCUMENT_BYTES",
    "MAX_FILES",
    "MAX_FILES_V2",
    "MAX_ITEMS",
    "MAX_ITEMS_V2",
    "MAX_MANIFEST_BYTES",
    "MAX_MANIFEST_SIGNATURE_BYTES",
    "MAX_PATH_BYTES",
    "MIMETYPE_PATH",
    "ORIGINAL_DIR",
    "PROOF_NAME",
    "READABLE",
    "RECEIPT_NAME",
    "RECORDING_NAME",
    "RESERVED_CERTIFICATE_NAMES",
    "SAFE_EXTENSIONS",
    "SAFE_ORIGINAL",
    "STATEMENT_JSON_NAME",
    "STATEMENT_NAME",
    "TRUST_ROOT_PATH",
    "UNLISTED",
    "Scope",
    "document_limit",
    "extra_anchor_name",
    "is_original_path",
    "is_safe_original",
    "item_dir",
    "manifest_limits",
    "member_path_problem",
    "original_name",
    "original_path_problem",
]

BUNDLE_VERSION: Final = 3
BUNDLE_MEDIA_TYPE: Final = "application/vnd.notary.bundle.v3+zip"
#: Version 2 (per-item certificates, at most 1,000 items) is still read.
BUNDLE_V2_MEDIA_TYPE: Final = "application/vnd.notary.bundle.v2+zip"
#: Version 1 (same layout as 2; any portable original name) is still read: see SAFE_ORIGINAL.
BUNDLE_V1_MEDIA_TYPE: Final = "application/vnd.notary.bundle.v1+zip"
#: The container versions this code reads, with their media types.
READABLE: Final = {1: BUNDLE_V1_MEDIA_TYPE, 2: BUNDLE_V2_MEDIA_TYPE, 3: BUNDLE_MEDIA_TYPE}
MANIFEST_MEDIA_TYPE: Final = "application/vnd.notary.bundle-manifest.v1+json"

MIMETYPE_PATH: Final = "mimetype"
MANIFEST_PATH: Final = "manifest.json"
MANIFEST_SIGNATURE_PATH: Final = "manifest.jws"
KEYS_PATH: Final = "keys/jwks.json"
#: A copy of the exporter's trust root (notary.core.trustroot), carried from issue 14 on. It
#: is only reported ("the bundle carries trust root <fingerprint>"), never trusted by itself:
#: a verifier pins its own trust root (``verify_bundle(trust_root=...)``).
TRUST_ROOT_PATH: Final = "keys/trust-root.json"
GUIDE_PATH: Final = "VERIFY.md"
STATEMENT_NAME: Final = "statement.jws"
STATEMENT_JSON_NAME: Final = "statement.json"
RECEIPT_NAME: Final = "receipt.jws"
PROOF_NAME: Final = "proof.json"
ANCHOR_NAME: Final = "anchor.json"
#: A second anchor's record (issue 19): ``anchor-<chain id>.json`` beside ``anchor.json``,
#: the same document (notary.core.bundle.anchor) for the same root on another chain.
EXTRA_ANCHOR_NAME: Final = re.compile(r"anchor-([1-9][0-9]{0,19})\.json")
CUSTODY_NAME: Final = "custody.jsonl"
#: A shredded item's signed deletion certificate and its canonical payload
#: (notary.core.deletion); such an item has no original, whatever ``hashes_only`` says.
DELETION_NAME: Final = "deletion.jws"
DELETION_JSON_NAME: Final = "deletion.json"
ORIGINAL_DIR: Final = "original"
#: An item notarised while recorded (issue 18; docs/recording.md): its segments' salts and
#: signed checkpoints, so each segment verifies offline (notary.core.bundle.recording).
#: Absent for every other item.
RECORDING_NAME: Final = "recording.json"
#: 7200 segments (notary.core.recording.MAX_SEGMENTS) of a salt and a checkpoint (about 1 KB).
MAX_RECORDING_DOCUMENT_BYTES: Final = 16 * 1024 * 1024
#: File names reserved for certificates, at the top (the whole bundle) and, up to version 2,
#: in each item directory (a v3 bundle has no per-item certificates: its one certificate lists
#: the case's items). Their content is not part of the proof; the manifest covers their bytes.
RESERVED_CERTIFICATE_NAMES: Final = ("certificate.html", "certificate.pdf")

#: A case bundle's conduct report, when asked for (notary.core.bundle.conduct): the signed
#: report (the record), its payload, and the bilingual document (hashed only, like the
#: certificates).
CONDUCT_JWS_PATH: Final = "conduct/report.jws"
CONDUCT_JSON_PATH: Final = "conduct/report.json"
CONDUCT_PDF_PATH: Final = "conduct/report.pdf"
CONDUCT_HTML_PATH: Final = "conduct/report.html"
#: A report lists at most MAX_ITEMS calls of about 700 bytes; its JWS is a third larger.
MAX_CONDUCT_DOCUMENT_BYTES: Final = 4 * 1024 * 1024

#: Members the manifest does not list: itself, its signature, and the qualified person's
#: signature of a certification, added after the bundle was made (§5.1).
UNLISTED: Final = (MANIFEST_PATH, MANIFEST_SIGNATURE_PATH, CERTIFICATION_SIGNATURE_PATH)

#: Limits on untrusted input, checked before parsing (see docs/bundle-format.md §7): those of
#: the current version (the largest; the archive reader applies them before it knows the
#: version), then those of versions 1 and 2, which :func:`manifest_limits` still applies.
MAX_FILES: Final = 100_000
MAX_ITEMS: Final = 10_000
MAX_MANIFEST_BYTES: Final = 24 * 1024 * 1024
#: ``manifest.jws`` carries the manifest as its payload (base64url: 4/3 of it) and a header.
MAX_MANIFEST_SIGNATURE_BYTES: Final = MAX_MANIFEST_BYTES * 4 // 3 + 64 * 1024
MAX_FILES_V2: Final = 10_000
MAX_ITEMS_V2: Final = 1_000
MAX_MANIFEST_BYTES_V2: Final = 4 * 1024 * 1024
MAX_DOCUMENT_BYTES: Final = 256 * 1024
MAX_PATH_BYTES: Final = 400

#: An item's directory: ``items/NNN``, NNN its case sequence number (at least three digits).
ITEM_DIR: Final = re.compile(r"items/([0-9]{3,9})")
_ITEM_DOCUMENT = re.compile(
    r"items/[0-9]{3,9}/(statement\.jws|statement\.json|receipt\.jws|proof\.json|anchor\.json"
    r"|anchor-[1-9][0-9]{0,19}\.json"
    r"|custody\.jsonl|deletion\.jws|deletion\.json)"
)
_ITEM_RECORDING = re.compile(r"items/[0-9]{3,9}/recording\.json")
#: The log's part (notary.core.bundle.logpart): the checkpoint, and each item's proofs.
LOG_CHECKPOINT_PATH: Final = "log/checkpoint.note"
LOG_NAME: Final = "log.json"
MAX_LOG_DOCUMENT_BYTES: Final = 4 * 1024 * 1024
MAX_CHECKPOINT_BYTES: Final = 64 * 1024  # notary.core.note.MAX_NOTE_BYTES
_ITEM_LOG = re.compile(r"items/[0-9]{3,9}/log\.json")
_NOT_PORTABLE = re.compile(r'[<>:"/\\|?*\u0000-\u001f\u007f]')
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)

Scope = Literal["case", "evidence"]


# -- paths -----------------------------------------------------------------------------------


def member_path_problem(path: str) -> str | None:
    """Why ``path`` may not name a member of a bundle, or None if it may.

    A member path is relative, uses ``/`` only, has no empty, ``.`` or ``..`` segment, no
    ``:`` (drive letters, alternate streams), no control characters, no trailing ``/``
    (directories are not members) and is at most :data:`MAX_PATH_BYTES` bytes of UTF-8.
    The archive reader refuses every other name before reading anything.
    """
    if not isinstance(path, str) or not path:
        return "the name is empty"
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        return "the name is not valid Unicode"
    if len(encoded) > MAX_PATH_BYTES:
        return f"the name is longer than {MAX_PATH_BYTES} bytes"
    if path.startswith("/"):
        return "the name is an absolute path"
    if "\\" in path:
        return "the name contains a backslash"
    if ":" in path:
        return "the name contains ':' (a drive letter or stream name)"
    if re.search(r"[\u0000-\u001f\u007f-\u009f]", path):
        return "the name contains a control character"
    if path.endswith("/"):
        return "the name is a directory"
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            return f"the name has a {segment or 'empty'!r} segment (it could leave the bundle)"
    return None


def manifest_limits(version: int) -> tuple[int, int, int]:
    """(files, items, manifest bytes) a manifest of bundle ``version`` may have at most."""
    if version >= 3:
        return MAX_FILES, MAX_ITEMS, MAX_MANIFEST_BYTES
    return MAX_FILES_V2, MAX_ITEMS_V2, MAX_MANIFEST_BYTES_V2


def document_limit(path: str) -> int | None:
    """The largest size the verifier reads into memory for ``path``, or None when the member
    is only hashed (originals, certificates, ``VERIFY.md``)."""
    if path == MANIFEST_PATH:
        return MAX_MANIFEST_BYTES
    if path.startswith(f"{CERTIFICATION_DIR}/"):
        return declaration_limit(path)
    if path == MANIFEST_SIGNATURE_PATH:
        return MAX_MANIFEST_SIGNATURE_BYTES
    if path in (MIMETYPE_PATH, KEYS_PATH):
        return MAX_DOCUMENT_BYTES
    if path == TRUST_ROOT_PATH:
        return MAX_TRUST_ROOT_BYTES
    if path in (CONDUCT_JWS_PATH, CONDUCT_JSON_PATH):
        return MAX_CONDUCT_DOCUMENT_BYTES
    if _ITEM_RECORDING.fullmatch(path):
        return MAX_RECORDING_DOCUMENT_BYTES
    if path == LOG_CHECKPOINT_PATH:
        return MAX_CHECKPOINT_BYTES
    if _ITEM_LOG.fullmatch(path):
        return MAX_LOG_DOCUMENT_BYTES
    if _ITEM_DOCUMENT.fullmatch(path) or is_timestamp_document(path):
        return MAX_DOCUMENT_BYTES
    return None


#: Extensions an original's stored name may carry (lower case); any other becomes ``bin``.
SAFE_EXTENSIONS: Final = frozenset(
    ["3gp", "7z", "aac", "amr", "avi", "bin", "bmp", "csv", "doc", "docx", "eml", "flac", "gif",
     "gz", "heic", "htm", "html", "jpeg", "jpg", "json", "m4a", "mkv", "mov", "mp3", "mp4", "msg",
     "odt", "ods", "ogg", "opus", "pdf", "png", "ppt", "pptx", "rar", "rtf", "tar", "tif", "tiff",
     "txt", "wav", "webm", "webp", "wma", "xls", "xlsx", "xml", "zip"]
)
#: Bundle v2: the stored name of an original is plain ASCII a shell needs no quoting for and
#: a URL needs no escaping for (no quote, space, ``$``, ``;``, ``<``, ``:``...), starting with
#: a letter or digit (never an option such as ``-rf``), with an extension from the list above.
SAFE_ORIGINAL: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}(?:\.[A-Za-z0-9_-]{1,20})*"
                                  r"\.([A-Za-z0-9]{1,10})")
#: Bundle v1 allowed any portable name; it is read, but a name that breaks out of the single
#: quotes or the Markdown of its own VERIFY.md (issue 13 #4) fails the ``manifest`` check.
_V1_UNSAFE = re.compile(r"['`$;&|<>\[\]{}!\\\n\r\t]")


def is_original_path(path: str) -> bool:
    """Whether an archive member is an item's original (``items/NNNN/original/NAME``): the
    members whose SM3 the reader computes too, for statements that carry one."""
    parts = path.split("/")
    return len(parts) == 4 and parts[2] == ORIGINAL_DIR


def is_safe_original(name: str) -> bool:
    """Whether ``name`` is a valid v2 stored name of an original (see SAFE_ORIGINAL)."""
    m = SAFE_ORIGINAL.fullmatch(name)
    if m is None or m.group(1).lower() not in SAFE_EXTENSIONS:
        return False
    stem = name.rpartition(".")[0].split(".")[0]
    return stem.upper() not in _WINDOWS_DEVICES


def original_name(file_name: str) -> str:
    """The name under which an original is stored in its item's ``original/`` folder: the
    statement's ``file_name`` when it is already a safe name (:func:`is_safe_original`),
    otherwise ``original.<ext>`` with the name's extension when it is on the list, else
    ``original.bin``. The statement keeps the name as it was sent; a name chosen by a
    submitter never reaches a shell command or a URL unescaped."""
    if is_safe_original(file_name):
        return file_name
    _stem, dot, ext = file_name.rpartition(".")
    clean_ext = ext.lower() if dot and ext.lower() in SAFE_EXTENSIONS else "bin"
    return f"original.{clean_ext}"


def original_path_problem(path: str, version: int) -> str | None:
    """Why ``path`` may not be where a bundle of ``version`` keeps an original, or None."""
    name = path.rpartition("/")[2]
    if version >= 2 and not is_safe_original(name):
        return (f"the original's name {name!r} is not of the safe form (ASCII letters, digits, "
                "'_', '-', '.', a listed extension)")
    if version == 1 and (_V1_UNSAFE.search(name) or _NOT_PORTABLE.search(name)):
        return f"the original's name {name!r} holds characters unsafe in a shell or Markdown"
    return None


def extra_anchor_name(chain_id: int) -> str:
    """The file name of an item's second anchor on chain ``chain_id``."""
    return f"anchor-{chain_id}.json"


def item_dir(case_seq: int) -> str:
    """The directory of entry ``case_seq`` of a case: ``items/NNN``."""
    return f"items/{case_seq:03d}"
