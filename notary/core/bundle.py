"""The proof bundle (format v2; v1 is still read): every document of a bundle, how it is built,
and how it is verified from bytes already read.

CONSENSUS-CRITICAL. Bundles are handed to courts and checked years later by this code and by
the steps of their own ``VERIFY.md``; the paths, document fields and rules below are the
format (``docs/bundle-format.md``). Change them only by adding a version next to this one.

The module is pure: the archive is read elsewhere (``notary.bundles.archive``), which hands
over each member's SHA-256 and size and the bytes of the small documents; the chain is read
elsewhere too, and its answers come in as :class:`ChainObservation` arguments. Verification
never raises for bad evidence: every problem is a failed :class:`~notary.core.verdict.Check`
whose name says which part of the bundle it concerns (``manifest``, ``keys``,
``items[0].merkle_proof``, ``case_sequence``...). Only a bundle that is not a notary bundle
v1 at all raises :class:`~notary.core.errors.UnreadableBundle`, and one whose manifest is
over the limits raises :class:`~notary.core.errors.UnsafeBundle`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from .answers import BundleVerification
from .custody import CustodyAct, check_custody
from .declaration import (
    CERTIFICATION_DIR,
    CERTIFICATION_SIGNATURE_PATH,
    BundleSummary,
    QualifiedPerson,
)
from .declaration import Declaration as Certification
from .declaration import DeclaredItem as CertifiedItem
from .declaration import declaration_limit as certification_limit
from .deletion import check_deletion
from .digest import FileDigest
from .errors import InputError, NotaryError, UnreadableBundle, UnsafeBundle
from .merkle import (
    LEAF_ENCODING,
    MAX_PROOF_LENGTH,
    from_hex32,
    keccak256,
    statement_leaf,
    to_hex32,
)
from .pinning import AnchorQuery, ChainObservation
from .signing import (
    jwk_thumbprint,
    jws_payload,
    public_key_from_jwk,
    verify_jws,
    verify_receipt,
)
from .statement import STATEMENT_MEDIA_TYPE, Statement, canonical_json, parse_strict_json
from .timestamp import (
    TSA_CHAIN_PATH,
    TimestampReading,
    check_timestamp,
    is_timestamp_document,
    root_path,
    token_path,
)
from .trustroot import MAX_TRUST_ROOT_BYTES
from .validate import format_rfc3339_utc, validate_identifier, validate_rfc3339
from .verdict import AnchorFacts, Check, CheckStatus
from .verify import verify_evidence

__all__ = [
    "ANCHOR_NAME",
    "BATCH_ANCHORED_TOPIC",
    "BUNDLE_MEDIA_TYPE",
    "BUNDLE_VERSION",
    "DELETION_JSON_NAME",
    "DELETION_NAME",
    "GUIDE_PATH",
    "KEYS_PATH",
    "MANIFEST_MEDIA_TYPE",
    "MANIFEST_PATH",
    "MANIFEST_SIGNATURE_PATH",
    "MAX_DOCUMENT_BYTES",
    "MAX_FILES",
    "MAX_ITEMS",
    "MAX_MANIFEST_BYTES",
    "MIMETYPE_PATH",
    "PROOF_NAME",
    "RECEIPT_NAME",
    "RESERVED_CERTIFICATE_NAMES",
    "STATEMENT_JSON_NAME",
    "STATEMENT_NAME",
    "TRUST_ROOT_PATH",
    "AnchorQuery",
    "Bundle",
    "BundleContents",
    "BundleFacts",
    "BundleItem",
    "BundleVerification",
    "ChainObservation",
    "KeyPeriod",
    "anchor_queries",
    "build_manifest",
    "document_limit",
    "is_safe_original",
    "key_history",
    "member_path_problem",
    "open_bundle",
    "original_name",
    "original_path_problem",
    "parse_key_history",
    "timestamp_documents",
]

BUNDLE_VERSION: Final = 2
BUNDLE_MEDIA_TYPE: Final = "application/vnd.notary.bundle.v2+zip"
#: Version 1 (same layout; any portable original name) is still read: see SAFE_ORIGINAL.
BUNDLE_V1_MEDIA_TYPE: Final = "application/vnd.notary.bundle.v1+zip"
_READABLE: Final = {1: BUNDLE_V1_MEDIA_TYPE, 2: BUNDLE_MEDIA_TYPE}
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
CUSTODY_NAME: Final = "custody.jsonl"
#: A shredded item's signed deletion certificate and its canonical payload
#: (notary.core.deletion); such an item has no original, whatever ``hashes_only`` says.
DELETION_NAME: Final = "deletion.jws"
DELETION_JSON_NAME: Final = "deletion.json"
ORIGINAL_DIR: Final = "original"
#: File names reserved for certificates, at the top (the whole bundle) and in each item
#: directory. Their content is not part of the proof; the manifest covers their bytes.
RESERVED_CERTIFICATE_NAMES: Final = ("certificate.html", "certificate.pdf")

#: Members the manifest does not list: itself, its signature, and the qualified person's
#: signature of a certification, added after the bundle was made (§5.1).
_UNLISTED: Final = (MANIFEST_PATH, MANIFEST_SIGNATURE_PATH, CERTIFICATION_SIGNATURE_PATH)

#: Limits on untrusted input, checked before parsing (see docs/bundle-format.md §7).
MAX_FILES: Final = 10_000
MAX_ITEMS: Final = 1_000
MAX_MANIFEST_BYTES: Final = 4 * 1024 * 1024
MAX_DOCUMENT_BYTES: Final = 256 * 1024
MAX_PATH_BYTES: Final = 400

#: ``topics[0]`` of ``BatchAnchored(uint64 indexed batchId, bytes32 indexed root,
#: uint32 leafCount, bytes32 previousRoot)`` (docs/formats.md §9.4).
BATCH_ANCHORED_TOPIC: Final = "0x" + keccak256(
    b"BatchAnchored(uint64,bytes32,uint32,bytes32)"
).hex()

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP
_ITEM_DIR = re.compile(r"items/([0-9]{3,9})")
_ITEM_DOCUMENT = re.compile(
    r"items/[0-9]{3,9}/(statement\.jws|statement\.json|receipt\.jws|proof\.json|anchor\.json"
    r"|custody\.jsonl|deletion\.jws|deletion\.json)"
)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_QUANTITY = re.compile(r"0x(0|[1-9a-fA-F][0-9a-fA-F]{0,15})")
_NOT_PORTABLE = re.compile(r'[<>:"/\\|?*\u0000-\u001f\u007f]')
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)
_KEY_MEMBERS = frozenset({"kty", "crv", "x", "kid", "alg", "use", "valid_from", "valid_until"})
_MANIFEST_FIELDS = frozenset(
    {"bundle_version", "media_type", "scope", "case_id", "created_at", "hashes_only", "items",
     "files"}
)
_PROOF_FIELDS = frozenset({"leaf_encoding", "leaf_values", "leaf", "proof", "root"})
_ANCHOR_FIELDS = frozenset(
    {"chain_id", "contract", "batch_id", "root", "tx_hash", "block_number", "block_hash",
     "block_timestamp", "raw_receipt"}
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


def document_limit(path: str) -> int | None:
    """The largest size the verifier reads into memory for ``path``, or None when the member
    is only hashed (originals, certificates, ``VERIFY.md``)."""
    if path == MANIFEST_PATH:
        return MAX_MANIFEST_BYTES
    if path.startswith(f"{CERTIFICATION_DIR}/"):
        return certification_limit(path)
    if path in (MIMETYPE_PATH, MANIFEST_SIGNATURE_PATH, KEYS_PATH):
        return MAX_DOCUMENT_BYTES
    if path == TRUST_ROOT_PATH:
        return MAX_TRUST_ROOT_BYTES
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


def _item_dir(case_seq: int) -> str:
    return f"items/{case_seq:03d}"


# -- time ------------------------------------------------------------------------------------


def _instant(text: str) -> datetime:
    """An RFC 3339 UTC timestamp as an aware datetime (fraction cut to microseconds, a leap
    second read as the last microsecond of the minute). Raises InputError if malformed."""
    validate_rfc3339("timestamp", text, require_utc=True)
    base, _, rest = text[:-1].partition(".")
    leap = base.endswith(":60")
    if leap:
        base = base[:-2] + "59"
    try:
        moment = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:  # e.g. year 0000, which RFC 3339 allows and datetime does not
        raise InputError(f"The time {text!r} is out of range.", code="timestamp_invalid") from exc
    micros = int((rest + "000000")[:6]) if rest else 0
    if leap:
        micros = 999_999
    return moment + timedelta(microseconds=micros)


# -- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPeriod:
    """When a signing key may sign: from ``valid_from`` (its creation) until ``valid_until``
    (its retirement; None while it is in use). Both RFC 3339 UTC."""

    kid: str
    valid_from: str
    valid_until: str | None = None

    def covers(self, moment: str) -> bool:
        """True when ``moment`` (RFC 3339 UTC) is in ``[valid_from, valid_until)``."""
        at = _instant(moment)
        if at < _instant(self.valid_from):
            return False
        return self.valid_until is None or at < _instant(self.valid_until)

    def describe(self) -> str:
        until = f"until {self.valid_until}" if self.valid_until else "with no end yet"
        return f"valid from {self.valid_from} {until}"


def parse_key_history(data: bytes) -> tuple[dict[str, Any], dict[str, KeyPeriod]]:
    """Parse a key history: a JWK Set whose Ed25519 public keys carry ``valid_from`` (and,
    once retired, ``valid_until``). Returns the plain JWK Set and each key's period by kid.

    Strict: only the members ``kty crv x kid alg use valid_from valid_until``; ``kid`` must
    be the key's RFC 7638 thumbprint; no kid twice. Raises :class:`NotaryError` (``InputError``
    or ``KeyMaterialError``) with a sentence naming the key.
    """
    doc = parse_strict_json(data, max_bytes=MAX_DOCUMENT_BYTES)
    if not isinstance(doc, dict) or set(doc) != {"keys"} or not isinstance(doc["keys"], list):
        raise NotaryError("It is not a JWK Set with only a 'keys' member.", code="keys_invalid")
    if not doc["keys"]:
        raise NotaryError("It holds no keys.", code="keys_invalid")
    plain: list[dict[str, Any]] = []
    periods: dict[str, KeyPeriod] = {}
    for i, jwk in enumerate(doc["keys"]):
        where = f"key {i}"
        if not isinstance(jwk, dict):
            raise NotaryError(f"The {where} is not a JSON object.", code="keys_invalid")
        unknown = sorted(set(jwk) - _KEY_MEMBERS)
        if unknown:
            raise NotaryError(
                f"The {where} has unknown member(s): {', '.join(unknown)}.", code="keys_invalid"
            )
        public_key_from_jwk(jwk)
        kid = jwk_thumbprint(jwk)
        if jwk.get("kid") != kid:
            raise NotaryError(
                f"The {where} says its kid is {jwk.get('kid')!r}, but its thumbprint is {kid}.",
                code="keys_invalid",
            )
        if kid in periods:
            raise NotaryError(f"The key {kid} is listed twice.", code="keys_invalid")
        valid_from = jwk.get("valid_from")
        valid_until = jwk.get("valid_until")
        try:
            validate_rfc3339("valid_from", valid_from, require_utc=True)
            if valid_until is not None:
                validate_rfc3339("valid_until", valid_until, require_utc=True)
        except NotaryError as exc:
            raise NotaryError(
                f"The key {kid} has no valid validity period: {exc.message}", code="keys_invalid"
            ) from exc
        assert isinstance(valid_from, str)
        start = _instant(valid_from)
        if valid_until is not None and _instant(valid_until) <= start:
            raise NotaryError(
                f"The key {kid} is valid until {valid_until}, before it is valid from "
                f"{valid_from}.",
                code="keys_invalid",
            )
        periods[kid] = KeyPeriod(kid, valid_from, valid_until)
        plain.append({k: v for k, v in jwk.items() if k not in ("valid_from", "valid_until")})
    return {"keys": plain}, periods


def key_history(entries: Sequence[tuple[Mapping[str, Any], KeyPeriod]]) -> bytes:
    """The canonical bytes of a key history (see :func:`parse_key_history`) from public JWKs
    and their periods. Raises :class:`NotaryError` if the result would not parse back."""
    keys = []
    for jwk, period in entries:
        entry = {k: v for k, v in jwk.items() if k in _KEY_MEMBERS}
        entry["valid_from"] = period.valid_from
        if period.valid_until is not None:
            entry["valid_until"] = period.valid_until
        else:
            entry.pop("valid_until", None)
        keys.append(entry)
    data = canonical_json({"keys": keys})
    parse_key_history(data)
    return data


# -- building --------------------------------------------------------------------------------


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@dataclass(frozen=True)
class BundleItem:
    """One notarised item as exported: everything its directory holds except the original.

    ``raw_receipt`` is the anchor transaction's receipt as the chain node returned it
    (``eth_getTransactionReceipt``). Build documents with :meth:`documents`.
    """

    evidence_id: str
    case_seq: int
    file_name: str
    statement_jws: str
    receipt_jws: str
    proof: tuple[bytes, ...]
    anchor: AnchorFacts
    raw_receipt: Mapping[str, Any]
    observed_anchor: AnchorFacts | None = None
    #: The item's custody log: signed events (compact JWS), oldest first.
    custody: tuple[str, ...] = ()
    #: The RFC 3161 TimeStampResp (DER) a TSA gave for the item's Merkle root, if any.
    timestamp: bytes | None = None
    #: The deletion certificate (compact JWS) when the item's content was shredded.
    deletion_jws: str | None = None

    @property
    def shredded(self) -> bool:
        return self.deletion_jws is not None

    @property
    def directory(self) -> str:
        """``items/NNN``, NNN being the case sequence number (at least three digits)."""
        return _item_dir(self.case_seq)

    @property
    def original_path(self) -> str:
        """Where the original goes when the bundle carries originals."""
        return f"{self.directory}/{ORIGINAL_DIR}/{original_name(self.file_name)}"

    @property
    def statement_bytes(self) -> bytes:
        """The statement's canonical bytes (the JWS payload)."""
        return jws_payload(self.statement_jws)

    @property
    def statement(self) -> Statement:
        return Statement.from_bytes(self.statement_bytes)

    @property
    def leaf_values(self) -> list[int | str]:
        statement = self.statement
        return [1, "0x" + statement.sha256, "0x" + statement.digest_hex()]

    @property
    def leaf(self) -> bytes:
        statement = self.statement
        return statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))

    def proof_document(self) -> dict[str, Any]:
        return {
            "leaf_encoding": list(LEAF_ENCODING),
            "leaf_values": self.leaf_values,
            "leaf": to_hex32(self.leaf),
            "proof": [to_hex32(p) for p in self.proof],
            "root": to_hex32(self.anchor.root),
        }

    def anchor_document(self) -> dict[str, Any]:
        a = self.anchor
        return {
            "chain_id": a.chain_id,
            "contract": a.contract,
            "batch_id": a.batch_id,
            "root": to_hex32(a.root),
            "tx_hash": a.tx_hash,
            "block_number": a.block_number,
            "block_hash": a.block_hash,
            "block_timestamp": a.block_timestamp,
            "raw_receipt": dict(self.raw_receipt),
        }

    def documents(self) -> dict[str, bytes]:
        """The item's documents by bundle path (statement, its canonical JSON, receipt,
        inclusion proof, anchor). Raises :class:`NotaryError` if the statement is not a
        canonical v1 statement or the raw receipt cannot be written as canonical JSON."""
        d = self.directory
        return {
            f"{d}/{STATEMENT_NAME}": self.statement_jws.encode("ascii"),
            f"{d}/{STATEMENT_JSON_NAME}": self.statement.canonical_bytes(),
            f"{d}/{RECEIPT_NAME}": self.receipt_jws.encode("ascii"),
            f"{d}/{PROOF_NAME}": canonical_json(self.proof_document()),
            f"{d}/{ANCHOR_NAME}": canonical_json(self.anchor_document()),
        } | ({f"{d}/{CUSTODY_NAME}": "".join(f"{t}\n" for t in self.custody).encode("ascii")}
             if self.custody else {}) | ({
                 f"{d}/{DELETION_NAME}": self.deletion_jws.encode("ascii"),
                 f"{d}/{DELETION_JSON_NAME}": jws_payload(self.deletion_jws),
             } if self.deletion_jws is not None else {})


@dataclass(frozen=True)
class BundleFacts:
    """What one export is about, for the parts rendered from facts (``VERIFY.md`` and the
    certificates): the scope, the items in case order, and the keys with their periods."""

    scope: Scope
    case_id: str
    created_at: datetime
    hashes_only: bool
    items: tuple[BundleItem, ...]
    keys: bytes  # the key history document (keys/jwks.json)
    tsa_chain: bytes | None = None  # the TSAs' certificates (PEM), when there are timestamps
    #: The exporter's signed trust root (TRUST_ROOT_PATH), when it has one.
    trust_root: bytes | None = None

    @property
    def created_at_text(self) -> str:
        return format_rfc3339_utc(self.created_at)

    def certification(self, person: QualifiedPerson) -> Certification:
        """A court certification of this bundle's records for ``person`` (§5.1), stating each
        item as :func:`verify_bundle` will compare it."""
        summary = BundleSummary(self.scope, self.case_id, self.created_at_text, self.hashes_only)
        return Certification(summary, tuple(
            CertifiedItem(statement=item.statement, statement_kid=_header_kid(item.statement_jws),
                          anchor=item.anchor, custody_events=len(item.custody),
                          path=item.directory,
                          original=None if self.hashes_only or item.shredded
                          else item.original_path)
            for item in self.items), person)


def timestamp_documents(facts: BundleFacts) -> dict[str, bytes]:
    """The ``timestamps/`` documents (notary.core.timestamp): per distinct root with a token,
    ``<root>.tsr`` (the TSA's answer, DER) and ``<root>.bin`` (the 32 root bytes), plus
    ``tsa-chain.pem`` when there are certificates. Empty when no item has a timestamp."""
    out: dict[str, bytes] = {}
    for item in facts.items:
        if item.timestamp is not None:
            out[token_path(item.anchor.root)] = item.timestamp
            out[root_path(item.anchor.root)] = item.anchor.root
    if out and facts.tsa_chain is not None:
        out[TSA_CHAIN_PATH] = facts.tsa_chain
    return out


def build_manifest(facts: BundleFacts, files: Mapping[str, FileDigest]) -> bytes:
    """The canonical manifest of a bundle: its version, scope, items and every file with its
    SHA-256 and size (``manifest.json`` and ``manifest.jws`` excepted). Raises
    :class:`NotaryError` if a path is not a valid member path or an original is missing."""
    if not facts.items:
        raise NotaryError("A bundle needs at least one item.", code="bundle_empty")
    if len(facts.items) > MAX_ITEMS or len(files) > MAX_FILES:
        raise NotaryError(
            f"A bundle holds at most {MAX_ITEMS} items and {MAX_FILES} files.",
            code="bundle_too_large",
        )
    for path in files:
        problem = member_path_problem(path)
        if problem is not None or path in _UNLISTED:
            raise NotaryError(f"{path!r} cannot be a bundle file.", code="bundle_path_invalid")
    items = []
    for item in facts.items:
        entry: dict[str, Any] = {
            "evidence_id": item.evidence_id,
            "case_seq": item.case_seq,
            "path": item.directory,
        }
        if item.shredded:
            entry["shredded"] = True
        elif not facts.hashes_only:
            if item.original_path not in files:
                raise NotaryError(f"The original {item.original_path} was not written.",
                                  code="bundle_original_missing")
            entry["original"] = item.original_path
        items.append(entry)
    manifest = {
        "bundle_version": BUNDLE_VERSION,
        "media_type": BUNDLE_MEDIA_TYPE,
        "scope": facts.scope,
        "case_id": facts.case_id,
        "created_at": facts.created_at_text,
        "hashes_only": facts.hashes_only,
        "items": items,
        "files": [
            {"path": path, "sha256": files[path].hex, "size": files[path].size}
            for path in sorted(files)
        ],
    }
    return canonical_json(manifest)


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleContents:
    """A bundle as the archive reader hands it over: every member's path in archive order,
    its SHA-256 and size, and the bytes of the members :func:`document_limit` names."""

    order: tuple[str, ...]
    digests: Mapping[str, FileDigest]
    documents: Mapping[str, bytes]


@dataclass(frozen=True)
class _ManifestItem:
    evidence_id: str | None
    case_seq: int | None
    path: str
    original: str | None
    shredded: bool = False


@dataclass(frozen=True)
class _Manifest:
    scope: Scope
    case_id: str
    created_at: str
    hashes_only: bool
    items: tuple[_ManifestItem, ...]
    files: Mapping[str, FileDigest]
    version: int = BUNDLE_VERSION


@dataclass(frozen=True)
class Bundle:
    """A bundle whose container was accepted: its contents, its manifest when it could be
    read (else ``manifest_problem`` says why), and the items to verify (from the manifest, or
    from the archive's ``items/NNN/`` folders when the manifest is unusable)."""

    contents: BundleContents
    manifest: _Manifest | None
    manifest_problem: str | None
    items: tuple[_ManifestItem, ...]
    #: The container's version (its ``mimetype``): 1 or 2.
    version: int = BUNDLE_VERSION

    @property
    def hashes_only(self) -> bool:
        if self.manifest is not None:
            return self.manifest.hashes_only
        return not any(i.original for i in self.items)


def _fail(message: str, code: str = "manifest_invalid") -> NotaryError:
    return NotaryError(message, code=code)


def _parse_manifest(doc: Any, version: int = BUNDLE_VERSION) -> _Manifest:
    if not isinstance(doc, dict):
        raise _fail("It is not a JSON object.")
    unknown = sorted(set(doc) - _MANIFEST_FIELDS)
    if unknown:
        raise _fail(f"It has unknown field(s): {', '.join(unknown)}.")
    missing = sorted(_MANIFEST_FIELDS - set(doc))
    if missing:
        raise _fail(f"It lacks the field(s): {', '.join(missing)}.")
    if doc["scope"] not in ("case", "evidence"):
        raise _fail("Its 'scope' is neither 'case' nor 'evidence'.")
    case_id = validate_identifier("case_id", doc["case_id"])
    created_at = validate_rfc3339("created_at", doc["created_at"], require_utc=True)
    if not isinstance(doc["hashes_only"], bool):
        raise _fail("Its 'hashes_only' is not true or false.")
    if not isinstance(doc["files"], list) or not isinstance(doc["items"], list):
        raise _fail("Its 'files' and 'items' must be lists.")
    files: dict[str, FileDigest] = {}
    previous = ""
    for i, entry in enumerate(doc["files"]):
        if not isinstance(entry, dict) or set(entry) != {"path", "sha256", "size"}:
            raise _fail(f"Its files[{i}] is not {{path, sha256, size}}.")
        path, sha, size = entry["path"], entry["sha256"], entry["size"]
        if not isinstance(path, str) or member_path_problem(path) is not None:
            raise _fail(f"Its files[{i}] has an invalid path {path!r}.")
        if path in _UNLISTED:
            raise _fail(f"Its files[{i}] lists {path}, which the manifest cannot list.")
        if path <= previous:
            raise _fail(f"Its files are not in strictly ascending order at {path!r}.")
        previous = path
        if not isinstance(sha, str) or _HEX64.fullmatch(sha) is None:
            raise _fail(f"Its entry for {path} has no valid sha256.")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise _fail(f"Its entry for {path} has no valid size.")
        files[path] = FileDigest(bytes.fromhex(sha), size)
    if not doc["items"]:
        raise _fail("It lists no items.")
    items: list[_ManifestItem] = []
    for i, entry in enumerate(doc["items"]):
        allowed = {"evidence_id", "case_seq", "path", "original", "shredded"}
        if not isinstance(entry, dict) or not {"evidence_id", "case_seq", "path"} <= set(
            entry
        ) or not set(entry) <= allowed:
            raise _fail(f"Its items[{i}] is not "
                        "{evidence_id, case_seq, path, original?, shredded?}.")
        shredded = entry.get("shredded", False)
        if shredded is not False and shredded is not True:
            raise _fail(f"Its items[{i}] has a 'shredded' that is not true or false.")
        validate_identifier("evidence_id", entry["evidence_id"])
        seq = entry["case_seq"]
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise _fail(f"Its items[{i}] has no valid case_seq.")
        if entry["path"] != _item_dir(seq):
            raise _fail(f"Its items[{i}] has the path {entry['path']!r}; entry {seq} of a "
                        f"case lives in {_item_dir(seq)}.")
        original = entry.get("original")
        if doc["hashes_only"] and original is not None:
            raise _fail(f"Its items[{i}] lists an original in a hashes-only bundle.")
        if shredded and original is not None:
            raise _fail(f"Its items[{i}] lists an original of a shredded item.")
        if not doc["hashes_only"] and original is None and not shredded:
            raise _fail(f"Its items[{i}] lists no original, but the bundle is not hashes-only.")
        if original is not None and (
            not isinstance(original, str)
            or not original.startswith(f"{entry['path']}/{ORIGINAL_DIR}/")
            or original.count("/") != 3
            or original not in files
        ):
            raise _fail(f"Its items[{i}] names the original {original!r}, which is not a file "
                        f"of {entry['path']}/{ORIGINAL_DIR}/ listed in 'files'.")
        if original is not None and (unsafe := original_path_problem(original, version)):
            raise _fail(f"Its items[{i}]: {unsafe}.")
        items.append(_ManifestItem(entry["evidence_id"], seq, entry["path"], original,
                                   shredded))
    if len({i.path for i in items}) != len(items):
        raise _fail("It lists the same item twice.")
    if doc["scope"] == "evidence" and len(items) != 1:
        raise _fail("An evidence bundle holds exactly one item.")
    return _Manifest(doc["scope"], case_id, created_at, doc["hashes_only"], tuple(items), files,
                     version)


def _items_from_archive(order: Sequence[str]) -> tuple[_ManifestItem, ...]:
    found: dict[str, list[str]] = {}
    for path in order:
        head = "/".join(path.split("/")[:2])
        if _ITEM_DIR.fullmatch(head):
            found.setdefault(head, []).append(path)
    items = []
    for head in sorted(found, key=lambda h: int(h.split("/")[1])):
        originals = [p for p in found[head] if p.startswith(f"{head}/{ORIGINAL_DIR}/")]
        items.append(_ManifestItem(None, None, head, originals[0] if len(originals) == 1 else None,
                                   f"{head}/{DELETION_NAME}" in found[head]))
    return tuple(items)


def open_bundle(contents: BundleContents) -> Bundle:
    """Accept the container and read the manifest; nothing is verified yet.

    Raises :class:`UnreadableBundle` when the first member is not ``mimetype`` holding
    exactly :data:`BUNDLE_MEDIA_TYPE` (``not_a_bundle``, or ``version_unsupported`` for
    another notary bundle version), or when the manifest declares an unknown
    ``bundle_version`` or ``media_type``; :class:`UnsafeBundle` (``manifest_too_large``) when
    it lists more than :data:`MAX_FILES` files or :data:`MAX_ITEMS` items. A manifest that is
    merely wrong does not raise: the ``manifest`` check will fail with the reason.
    """
    # Step 1: the container says what it is, in its first member.
    if not contents.order or contents.order[0] != MIMETYPE_PATH:
        raise UnreadableBundle(
            "The archive's first entry is not 'mimetype': it is not a notary proof bundle.",
            reason="not_a_bundle",
        )
    media_type = contents.documents.get(MIMETYPE_PATH, b"")
    container = next((v for v, m in _READABLE.items() if media_type == m.encode("ascii")), None)
    if container is None:
        shown = media_type[:100].decode("utf-8", "replace")
        other = re.fullmatch(r"application/vnd\.notary\.bundle\.v[0-9]+\+zip", shown)
        raise UnreadableBundle(
            f"The archive declares the media type {shown!r}; this verifier reads "
            f"{BUNDLE_MEDIA_TYPE} and {BUNDLE_V1_MEDIA_TYPE} only.",
            reason="version_unsupported" if other else "not_a_bundle",
        )

    # Step 2: the manifest, if it parses. Only a version we do not know, or one over the
    # limits, stops verification; any other fault is reported by the 'manifest' check.
    raw = contents.documents.get(MANIFEST_PATH)
    manifest: _Manifest | None = None
    problem: str | None = None
    if raw is None:
        problem = f"The bundle has no {MANIFEST_PATH}."
    else:
        try:
            doc = parse_strict_json(raw, max_bytes=MAX_MANIFEST_BYTES)
        except NotaryError as exc:
            doc = None
            problem = f"{MANIFEST_PATH} is not strict JSON: {exc.message}"
        if isinstance(doc, dict):
            version = doc.get("bundle_version")
            if version != container or doc.get("media_type") != _READABLE[container]:
                raise UnreadableBundle(
                    f"{MANIFEST_PATH} declares bundle_version {version!r} and media type "
                    f"{doc.get('media_type')!r}; this container is version {container} "
                    f"({_READABLE[container]}).",
                    reason="version_unsupported",
                )
            files, items = doc.get("files"), doc.get("items")
            if (isinstance(files, list) and len(files) > MAX_FILES) or (
                isinstance(items, list) and len(items) > MAX_ITEMS
            ):
                raise UnsafeBundle(
                    f"{MANIFEST_PATH} lists more than {MAX_FILES} files or {MAX_ITEMS} items.",
                    reason="manifest_too_large",
                    member=MANIFEST_PATH,
                )
            try:
                manifest = _parse_manifest(doc, container)
            except NotaryError as exc:
                problem = f"{MANIFEST_PATH} is not a valid v{container} manifest. {exc.message}"
            else:
                try:
                    canonical = canonical_json(doc) == raw
                except NotaryError:
                    canonical = False
                if not canonical:
                    manifest, problem = None, f"{MANIFEST_PATH} is not in RFC 8785 canonical form."
        elif problem is None:
            problem = f"{MANIFEST_PATH} is not a JSON object."
    items = manifest.items if manifest is not None else _items_from_archive(contents.order)
    return Bundle(contents, manifest, problem, items, container)


# -- verification ----------------------------------------------------------------------------


def anchor_queries(bundle: Bundle) -> list[AnchorQuery]:
    """The distinct anchors the bundle's items claim (for the caller to look up)."""
    out: dict[AnchorQuery, None] = {}
    for ref in bundle.items:
        raw = bundle.contents.documents.get(f"{ref.path}/{ANCHOR_NAME}")
        if raw is None:
            continue
        try:
            anchor, _ = _parse_anchor(raw)
        except NotaryError:
            continue
        out[AnchorQuery(anchor.chain_id, anchor.contract.lower(), anchor.root)] = None
    return list(out)


def _hex_quantity(value: object) -> int | None:
    if isinstance(value, str) and _QUANTITY.fullmatch(value):
        return int(value, 16)
    return None


def _parse_proof(raw: bytes) -> tuple[list[bytes], bytes, list[Any], bytes]:
    doc = parse_strict_json(raw, max_bytes=MAX_DOCUMENT_BYTES)
    if not isinstance(doc, dict) or set(doc) != _PROOF_FIELDS:
        raise NotaryError(f"It must have exactly the members {', '.join(sorted(_PROOF_FIELDS))}.",
                          code="proof_document_invalid")
    if doc["leaf_encoding"] != list(LEAF_ENCODING):
        raise NotaryError("Its leaf_encoding is not [\"uint8\", \"bytes32\", \"bytes32\"].",
                          code="proof_document_invalid")
    steps = doc["proof"]
    if not isinstance(steps, list) or len(steps) > MAX_PROOF_LENGTH:
        raise NotaryError(f"Its proof is not a list of at most {MAX_PROOF_LENGTH} steps.",
                          code="proof_document_invalid")
    values = doc["leaf_values"]
    if not isinstance(values, list) or len(values) != 3:
        raise NotaryError("Its leaf_values are not three values.", code="proof_document_invalid")
    try:
        proof = [from_hex32(s) for s in steps]
        return proof, from_hex32(doc["root"]), values, from_hex32(doc["leaf"])
    except NotaryError as exc:
        raise NotaryError(f"A value is not 0x followed by 64 hex digits ({exc.message})",
                          code="proof_document_invalid") from exc


def _parse_anchor(raw: bytes) -> tuple[AnchorFacts, dict[str, Any]]:
    doc = parse_strict_json(raw, max_bytes=MAX_DOCUMENT_BYTES)
    if not isinstance(doc, dict) or set(doc) != _ANCHOR_FIELDS:
        raise NotaryError(
            f"It must have exactly the members {', '.join(sorted(_ANCHOR_FIELDS))}.",
            code="anchor_document_invalid",
        )
    if not isinstance(doc["raw_receipt"], dict):
        raise NotaryError("Its raw_receipt is not a JSON object.", code="anchor_document_invalid")
    root = doc["root"]
    if not isinstance(root, str) or _HEX32.fullmatch(root) is None:
        raise NotaryError("Its root is not 0x followed by 64 hex digits.",
                          code="anchor_document_invalid")
    anchor = AnchorFacts(
        chain_id=doc["chain_id"], contract=doc["contract"], batch_id=doc["batch_id"],
        root=bytes.fromhex(root[2:]), block_number=doc["block_number"],
        block_hash=doc["block_hash"], block_timestamp=doc["block_timestamp"],
        tx_hash=doc["tx_hash"],
    )
    return anchor, doc["raw_receipt"]


def _receipt_differences(anchor: AnchorFacts, receipt: Mapping[str, Any]) -> list[str]:
    """How the raw transaction receipt contradicts the anchor record (empty if it does not)."""
    out = []

    def same_hex(a: object, b: str) -> bool:
        return isinstance(a, str) and a.lower() == b.lower()

    if not same_hex(receipt.get("transactionHash"), anchor.tx_hash):
        out.append(f"the transaction hash (anchor {anchor.tx_hash}, receipt "
                   f"{receipt.get('transactionHash')})")
    number = _hex_quantity(receipt.get("blockNumber"))
    if number != anchor.block_number:
        out.append(f"the block number (anchor {anchor.block_number}, receipt "
                   f"{receipt.get('blockNumber')} = {number})")
    if "blockTimestamp" in receipt:  # some nodes (anvil, reth) include it
        stamp = receipt["blockTimestamp"]
        seconds = _hex_quantity(stamp) if isinstance(stamp, str) else stamp
        if isinstance(seconds, bool) or seconds != anchor.block_timestamp:
            out.append(f"the block timestamp (anchor {anchor.block_timestamp}, receipt {stamp})")
    if not same_hex(receipt.get("blockHash"), anchor.block_hash):
        out.append(f"the block hash (anchor {anchor.block_hash}, receipt "
                   f"{receipt.get('blockHash')})")
    if receipt.get("status") != "0x1":
        out.append(f"the transaction status (receipt {receipt.get('status')}, not 0x1: success)")
    if not same_hex(receipt.get("to"), anchor.contract):
        out.append(f"the contract address (anchor {anchor.contract}, the transaction went to "
                   f"{receipt.get('to')})")
    logs = receipt.get("logs")
    events = [
        log for log in (logs if isinstance(logs, list) else [])
        if isinstance(log, dict) and isinstance(log.get("topics"), list) and log["topics"]
        and same_hex(log["topics"][0], BATCH_ANCHORED_TOPIC)
    ]
    if len(events) != 1:
        out.append(f"the BatchAnchored event (the receipt has {len(events)}, not exactly one)")
    else:
        event = events[0]
        topics = event["topics"]
        if not same_hex(event.get("address"), anchor.contract):
            out.append(f"the contract address (anchor {anchor.contract}, the event was emitted "
                       f"by {event.get('address')})")
        if len(topics) != 3 or not same_hex(topics[1], f"0x{anchor.batch_id:064x}"):
            out.append(f"the batch id (anchor {anchor.batch_id}, event topic "
                       f"{topics[1] if len(topics) > 1 else None})")
        if len(topics) != 3 or not same_hex(topics[2], to_hex32(anchor.root)):
            out.append(f"the Merkle root (anchor {to_hex32(anchor.root)}, event topic "
                       f"{topics[2] if len(topics) > 2 else None})")
    return out


def _header_kid(token: str) -> str:
    """The ``kid`` of a token that has already been verified (so its header is sound)."""
    header = parse_strict_json(_b64url_decode(token.split(".")[0]), max_bytes=4096)
    return str(header["kid"])


@dataclass
class _ItemResult:
    checks: list[Check]
    statement: Statement | None
    facts: dict[str, Any]


@dataclass
class _ItemDocuments:
    """One item's documents as read (nothing verified yet); a missing or malformed document
    leaves its fields None and says why in ``*_problem``."""

    path: str
    original: str | None
    file_digest: FileDigest | None
    statement_token: str | None
    statement_json: bytes | None
    receipt_token: str | None
    proof: list[bytes] | None = None
    root: bytes | None = None
    leaf_values: list[Any] | None = None
    leaf: bytes | None = None
    proof_problem: str | None = None
    anchor: AnchorFacts | None = None
    raw_receipt: dict[str, Any] | None = None
    anchor_problem: str | None = None
    custody_tokens: list[str] | None = None
    shredded: bool = False
    deletion_token: str | None = None


def _text(raw: bytes | None) -> str | None:
    return raw.decode("ascii", "replace") if raw is not None else None


def _read_item(ref: _ManifestItem, contents: BundleContents) -> _ItemDocuments:
    docs, d = contents.documents, ref.path
    item = _ItemDocuments(
        path=d, original=ref.original,
        file_digest=contents.digests.get(ref.original) if ref.original is not None else None,
        statement_token=_text(docs.get(f"{d}/{STATEMENT_NAME}")),
        statement_json=docs.get(f"{d}/{STATEMENT_JSON_NAME}"),
        receipt_token=_text(docs.get(f"{d}/{RECEIPT_NAME}")),
        shredded=ref.shredded, deletion_token=_text(docs.get(f"{d}/{DELETION_NAME}")),
    )
    raw_custody = docs.get(f"{d}/{CUSTODY_NAME}")
    if raw_custody is not None:
        item.custody_tokens = raw_custody.decode("ascii", "replace").splitlines()
    raw_proof = docs.get(f"{d}/{PROOF_NAME}")
    if raw_proof is None:
        item.proof_problem = f"{d}/{PROOF_NAME} is missing."
    else:
        try:
            item.proof, item.root, item.leaf_values, item.leaf = _parse_proof(raw_proof)
        except NotaryError as exc:
            item.proof_problem = f"{d}/{PROOF_NAME} is not a valid inclusion proof. {exc.message}"
    raw_anchor = docs.get(f"{d}/{ANCHOR_NAME}")
    if raw_anchor is None:
        item.anchor_problem = f"{d}/{ANCHOR_NAME} is missing."
    else:
        try:
            item.anchor, item.raw_receipt = _parse_anchor(raw_anchor)
        except NotaryError as exc:
            item.anchor_problem = f"{d}/{ANCHOR_NAME} is not a valid anchor record. {exc.message}"
    return item


_UNVERIFIED = "Not checked, because the statement could not be verified."


def _statement_check(item: _ItemDocuments, core: Check,
                     key_set: Mapping[str, Any]) -> tuple[Check, Statement | None]:
    """statement_signature: signed by a key of the bundle, a canonical v1 statement, and
    statement.json is exactly the signed bytes."""
    d = item.path
    if item.statement_token is None:
        return Check("statement_signature", _FAIL, f"{d}/{STATEMENT_NAME} is missing."), None
    if core.status is not _PASS:
        return Check("statement_signature", _FAIL,
                     f"{d}/{STATEMENT_NAME} (checked against the keys of {KEYS_PATH}): "
                     f"{core.reason}"), None
    header, payload = verify_jws(item.statement_token, key_set, expected_typ=STATEMENT_MEDIA_TYPE)
    if item.statement_json != payload:
        return Check("statement_signature", _FAIL,
                     f"{d}/{STATEMENT_JSON_NAME} is not the statement signed in "
                     f"{d}/{STATEMENT_NAME} (its bytes differ from the signed payload)."), None
    statement = Statement.from_bytes(payload)
    return Check("statement_signature", _PASS,
                 f"{d}/{STATEMENT_NAME}: the statement for evidence {statement.evidence_id!r} "
                 f"(case {statement.case_id!r}, entry {statement.case_seq}) carries a valid "
                 f"Ed25519 signature by key {header['kid']} of {KEYS_PATH}, and "
                 f"{d}/{STATEMENT_JSON_NAME} is exactly the signed statement."), statement


def _receipt_check(item: _ItemDocuments, statement: Statement | None,
                   key_set: Mapping[str, Any]) -> tuple[Check, dict[str, str] | None]:
    """receipt_signature: signed by a key of the bundle, for this statement."""
    where = f"{item.path}/{RECEIPT_NAME}"
    if item.receipt_token is None:
        return Check("receipt_signature", _FAIL, f"{where} is missing."), None
    try:
        receipt = verify_receipt(item.receipt_token, key_set)
    except NotaryError as exc:
        return Check("receipt_signature", _FAIL,
                     f"{where} is not a receipt validly signed by a key of {KEYS_PATH}. "
                     f"{exc.message}"), None
    if statement is None:
        return Check("receipt_signature", _SKIP,
                     f"{where} is validly signed, but it could not be matched with the "
                     "statement, which did not verify."), receipt
    if (receipt["statement_sha256"] != statement.digest_hex()
            or receipt["evidence_id"] != statement.evidence_id):
        return Check("receipt_signature", _FAIL,
                     f"{where} is for statement {receipt['statement_sha256']} of evidence "
                     f"{receipt['evidence_id']!r}, not for this statement "
                     f"({statement.digest_hex()})."), receipt
    return Check("receipt_signature", _PASS,
                 f"{where} is validly signed by a key of {KEYS_PATH}; it promised anchoring "
                 f"by {receipt['anchor_deadline']}."), receipt


def _key_validity_check(item: _ItemDocuments, statement: Statement | None,
                        receipt: dict[str, str] | None,
                        periods: Mapping[str, KeyPeriod]) -> Check:
    """key_validity: each signing key was within its validity period when it signed."""
    if statement is None or item.statement_token is None:
        return Check("key_validity", _SKIP, _UNVERIFIED)
    signed = [("statement", item.statement_token, statement.received_at)]
    if receipt is not None and item.receipt_token is not None:
        signed.append(("receipt", item.receipt_token, receipt["issued_at"]))
    problems, notes = [], []
    for what, token, moment in signed:
        kid = _header_kid(token)
        period = periods.get(kid)
        try:
            covered = period is not None and period.covers(moment)
        except NotaryError:
            covered = False
        if period is None:
            problems.append(f"the {what}'s key {kid} has no validity period in {KEYS_PATH}")
        elif not covered:
            problems.append(f"the {what} was signed at {moment} by key {kid}, which is "
                            f"{period.describe()}")
        else:
            notes.append(f"the {what} was signed at {moment} by key {kid}, {period.describe()}")
    if problems:
        return Check("key_validity", _FAIL,
                     "A signing key was not valid when it signed: " + "; ".join(problems) + ".")
    return Check("key_validity", _PASS,
                 "Each key was valid when it signed: " + "; ".join(notes) + ".")


def _file_check(item: _ItemDocuments, statement: Statement | None, core: Check,
                hashes_only: bool) -> Check:
    """file_hash: the original against the statement (skipped in a hashes-only bundle)."""
    if statement is None:
        return Check("file_hash", _SKIP, _UNVERIFIED)
    if item.shredded and item.original is None:
        return Check("file_hash", _SKIP,
                     f"The original of {statement.file_name!r} was shredded (crypto-shredding, "
                     f"see {item.path}/{DELETION_NAME}): it can no longer be produced, by "
                     f"anyone. The statement, proof and anchor still prove that the file with "
                     f"SHA-256 {statement.sha256} existed and was unaltered until the shred.")
    if hashes_only and item.original is None:
        return Check("file_hash", _SKIP,
                     "This bundle was exported without originals (hashes only, for privacy): "
                     f"compare your copy of {statement.file_name!r} with the statement's "
                     f"SHA-256 {statement.sha256} and size {statement.size} bytes.")
    if item.original is None or item.file_digest is None:
        return Check("file_hash", _FAIL,
                     f"The original file of {item.path} is missing from the bundle.")
    return Check("file_hash", core.status, f"{item.original}: {core.reason}")


def _merkle_check(item: _ItemDocuments, statement: Statement | None, core: Check) -> Check:
    """merkle_proof: proof.json's own leaf is the statement's, and the proof leads to its
    root."""
    where = f"{item.path}/{PROOF_NAME}"
    if statement is None:
        return Check("merkle_proof", _SKIP, _UNVERIFIED)
    if item.proof_problem is not None or item.leaf is None or item.leaf_values is None:
        return Check("merkle_proof", _FAIL, item.proof_problem or f"{where} is unreadable.")
    expected = [1, "0x" + statement.sha256, "0x" + statement.digest_hex()]
    leaf = statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))
    stated = [v.lower() if isinstance(v, str) else v for v in item.leaf_values]
    if stated != expected or item.leaf != leaf:
        return Check("merkle_proof", _FAIL,
                     f"{where} states the leaf {to_hex32(item.leaf)} with values "
                     f"{item.leaf_values}, but the statement gives the leaf {to_hex32(leaf)} "
                     f"with values {expected}.")
    return Check("merkle_proof", core.status, f"{where}: {core.reason}")


def _anchor_record_check(item: _ItemDocuments, receipt: dict[str, str] | None,
                         core: Check) -> Check:
    """anchor_record: the anchor is for the proof's root, and the node's receipt of the
    anchoring transaction (carried in anchor.json) agrees with it."""
    where = f"{item.path}/{ANCHOR_NAME}"
    if item.anchor_problem is not None or item.anchor is None or item.raw_receipt is None:
        return Check("anchor_record", _FAIL, item.anchor_problem or f"{where} is unreadable.")
    if item.root is None:
        return Check("anchor_record", _SKIP, f"{where} could not be compared with the proof's "
                                             "root, because the proof is unreadable.")
    if core.status is not _PASS:
        return Check("anchor_record", core.status, f"{where}: {core.reason}")
    anchor = item.anchor
    differences = _receipt_differences(anchor, item.raw_receipt)
    if differences:
        return Check("anchor_record", _FAIL,
                     f"{where} contradicts the transaction receipt it carries in: "
                     + "; ".join(differences) + ".")
    deadline = ""
    if receipt is not None:
        try:
            due = _instant(receipt["anchor_deadline"]).timestamp()
        except NotaryError:
            due = -1.0
        deadline = (" It was anchored within the receipt's deadline."
                    if anchor.block_timestamp <= due else
                    f" It was anchored AFTER the receipt's deadline of "
                    f"{receipt['anchor_deadline']}.")
    return Check("anchor_record", _PASS,
                 f"{where} is for the proof's root, and the transaction receipt it carries "
                 f"records {anchor.tx_hash} in block {anchor.block_number} ({anchor.block_hash}) "
                 f"calling contract {anchor.contract}, emitting BatchAnchored for batch "
                 f"{anchor.batch_id}.{deadline}")


def _chain_check(item: _ItemDocuments, core: Check, asked: bool,
                 observation: ChainObservation | None) -> Check:
    """chain_anchor: what a chain node says, when the caller asked one."""
    where = f"{item.path}/{ANCHOR_NAME}"
    anchor = item.anchor
    if anchor is None:
        return Check("chain_anchor", _SKIP, f"Not checked, because {where} could not be read.")
    if not asked:
        return Check("chain_anchor", _SKIP,
                     "The anchor was not checked against a chain node (offline); run 'notary "
                     f"verify --rpc URL' with a node of chain {anchor.chain_id}, or follow "
                     f"{GUIDE_PATH}.")
    if observation is None or observation.error is not None:
        why = observation.error if observation is not None else "it was not asked"
        return Check("chain_anchor", _SKIP,
                     f"The chain node could not be asked about this anchor: {why}")
    if observation.chain_id != anchor.chain_id:
        return Check("chain_anchor", _FAIL,
                     f"The node {observation.node} is on chain id {observation.chain_id}, but "
                     f"{where} states chain id {anchor.chain_id}: the anchor is not on the "
                     "chain it claims, or the node is of another chain.")
    if not observation.registry_found:
        return Check("chain_anchor", _FAIL,
                     f"There is no EvidenceRegistry at the contract address {anchor.contract} "
                     f"stated in {where} on chain {anchor.chain_id}.")
    if observation.anchor is None:
        return Check("chain_anchor", _FAIL,
                     f"The registry at the contract address {anchor.contract} on chain "
                     f"{anchor.chain_id} has no anchor of the Merkle root "
                     f"{to_hex32(anchor.root)}.")
    return core


def _item_facts(item: _ItemDocuments, statement: Statement | None) -> dict[str, Any]:
    """What the item establishes, from its verified statement only."""
    facts: dict[str, Any] = {"path": item.path}
    if statement is None:
        return facts
    facts.update({
        "evidence_id": statement.evidence_id,
        "case_id": statement.case_id,
        "case_seq": statement.case_seq,
        "kind": statement.kind.value,
        "file_name": statement.file_name,
        "media_type": statement.media_type,
        "size": statement.size,
        "sha256": statement.sha256,
        "received_at": statement.received_at,
        "statement_sha256": statement.digest_hex(),
    })
    if statement.captured_at is not None:
        facts["captured_at"] = statement.captured_at
    if item.original is not None:
        facts["original"] = item.original
    if item.anchor is not None:
        a = item.anchor
        facts["anchor"] = {
            "chain_id": a.chain_id, "contract": a.contract, "batch_id": a.batch_id,
            "root": to_hex32(a.root), "tx_hash": a.tx_hash, "block_number": a.block_number,
            "block_hash": a.block_hash, "block_timestamp": a.block_timestamp,
        }
    return facts


def _verify_item(
    index: int,
    ref: _ManifestItem,
    bundle: Bundle,
    key_set: Mapping[str, Any],
    periods: Mapping[str, KeyPeriod],
    observations: Mapping[AnchorQuery, ChainObservation] | None,
    timestamps: Mapping[str, TimestampReading] | None = None,
    stamped: bool = False,
) -> _ItemResult:
    """Every check of one item, named ``items[index].<part>``."""
    # Step 4a: read the item's documents; a missing or malformed one fails its own check.
    item = _read_item(ref, bundle.contents)
    anchor = item.anchor
    observation = None
    if observations is not None and anchor is not None:
        observation = observations.get(
            AnchorQuery(anchor.chain_id, anchor.contract.lower(), anchor.root))
    trusted_observation = (
        observation.anchor
        if observation is not None and observation.error is None and anchor is not None
        and observation.chain_id == anchor.chain_id and observation.registry_found
        else None
    )
    # Step 4b: the single-evidence verification of notary.core.verify (statement signature,
    # file, Merkle proof, anchor root, chain) on what the item holds ...
    core = verify_evidence(
        statement_jws=item.statement_token or "", jwks=key_set, file_digest=item.file_digest,
        proof=item.proof, root=item.root, claimed_anchor=anchor,
        observed_anchor=trusted_observation,
    )
    # Step 4c: ... completed by what only a bundle holds: statement.json, the receipt, the
    # keys' periods, proof.json's stated leaf, the node's raw receipt, the node's answers.
    signature, statement = _statement_check(item, core.check("statement_signature"), key_set)
    receipt_check, receipt = _receipt_check(item, statement, key_set)
    checks = [
        signature,
        receipt_check,
        _key_validity_check(item, statement, receipt, periods),
        _file_check(item, statement, core.check("file_hash"), bundle.hashes_only),
        _merkle_check(item, statement, core.check("merkle_proof")),
        _anchor_record_check(item, receipt, core.check("anchor_root")),
        _chain_check(item, core.check("chain_anchor"), observations is not None, observation),
        _custody_check(item, statement, key_set),
    ]
    if stamped:
        checks.append(_timestamp_check(item, bundle.contents, timestamps))
    if item.shredded:
        checks.append(_deletion_check(item, statement, key_set))
    named = [Check(f"items[{index}].{c.name}", c.status, c.reason) for c in checks]
    return _ItemResult(named, statement, _item_facts(item, statement))


def _custody_check(item: _ItemDocuments, statement: Statement | None,
                   key_set: Mapping[str, Any]) -> Check:
    """The item's custody log (``custody.jsonl``): signed, numbered, linked events from its
    registration on (notary.core.custody). A bundle without one says so (SKIP)."""
    where = f"{item.path}/{CUSTODY_NAME}"
    if item.custody_tokens is None:
        return Check("custody", _SKIP, f"The bundle carries no custody log ({where}).")
    if statement is None:
        return Check("custody", _SKIP, "Not checked, because the statement could not be "
                                       "verified (see above).")
    check, events = check_custody(item.custody_tokens, key_set,
                                  evidence_id=statement.evidence_id,
                                  statement_digest=statement.digest())
    if check.status is not _PASS:
        return Check("custody", check.status, f"{where}: {check.reason}")
    handovers = [f"{e.detail.get('from_tenant')} → {e.detail.get('to_tenant')}" for e in events
                 if e.act is CustodyAct.TRANSFERRED]
    extra = f" Handovers: {'; '.join(handovers)}." if handovers else ""
    return Check("custody", _PASS, f"{check.reason}{extra}")


def _deletion_check(item: _ItemDocuments, statement: Statement | None,
                    key_set: Mapping[str, Any]) -> Check:
    """deletion: the shredded item's certificate is signed, about this statement, and matches
    the ``shredded`` event of its custody log (notary.core.deletion)."""
    where = f"{item.path}/{DELETION_NAME}"
    if item.deletion_token is None:
        return Check("deletion", _FAIL,
                     f"The item is marked shredded but {where} is missing.")
    events = None
    if statement is not None and item.custody_tokens is not None:
        custody, verified = check_custody(item.custody_tokens, key_set,
                                          evidence_id=statement.evidence_id,
                                          statement_digest=statement.digest())
        events = verified if custody.status is _PASS else None
    if events is None:
        return Check("deletion", _FAIL, f"{where} cannot be matched with the item's custody "
                                        "log, which is missing or does not verify.")
    check, _cert = check_deletion(item.deletion_token, key_set, statement=statement,
                                  custody=events)
    return Check("deletion", check.status, f"{where}: {check.reason}")


def _timestamp_check(item: _ItemDocuments, contents: BundleContents,
                     timestamps: Mapping[str, TimestampReading] | None) -> Check:
    """rfc3161_timestamp: a TSA's token over the item's Merkle root, when the bundle has one
    (notary.core.timestamp; the caller read the token)."""
    root = item.root if item.root is not None else (
        item.anchor.root if item.anchor is not None else None)
    if root is None:
        return check_timestamp(None, None, token_present=False, root_bytes=None)
    path = token_path(root)
    return check_timestamp(root, (timestamps or {}).get(path),
                           token_present=path in contents.digests,
                           root_bytes=contents.documents.get(root_path(root)))


def _check_keys(raw: bytes | None) -> tuple[Check, dict[str, Any], dict[str, KeyPeriod]]:
    if raw is None:
        return Check("keys", _FAIL, f"The bundle has no {KEYS_PATH}."), {"keys": []}, {}
    try:
        key_set, periods = parse_key_history(raw)
    except NotaryError as exc:
        return (Check("keys", _FAIL, f"{KEYS_PATH} is not a valid key history. {exc.message}"),
                {"keys": []}, {})
    described = "; ".join(f"{p.kid}, {p.describe()}" for p in periods.values())
    return (Check("keys", _PASS,
                  f"{KEYS_PATH} holds {len(periods)} Ed25519 public key(s), each named by its "
                  f"RFC 7638 thumbprint and with its validity period: {described}. They are the "
                  "keys the bundle claims; compare the key ids with the notary's published "
                  "keys."), key_set, periods)


def _check_manifest(bundle: Bundle) -> Check:
    manifest = bundle.manifest
    if manifest is None:
        return Check("manifest", _FAIL, bundle.manifest_problem or "The manifest is unusable.")
    actual = {p: d for p, d in bundle.contents.digests.items()
              if p not in _UNLISTED}
    problems = []
    missing = sorted(set(manifest.files) - set(actual))
    extra = sorted(set(actual) - set(manifest.files))
    if missing:
        problems.append("listed but missing: " + ", ".join(missing[:10]))
    if extra:
        problems.append("present but not listed: " + ", ".join(extra[:10]))
    for path in sorted(set(manifest.files) & set(actual)):
        want, got = manifest.files[path], actual[path]
        if want != got:
            problems.append(f"{path} has SHA-256 {got.hex} and {got.size} bytes, the manifest "
                            f"says {want.hex} and {want.size} bytes")
    if MIMETYPE_PATH not in manifest.files:
        problems.append(f"{MIMETYPE_PATH} is not listed")
    if KEYS_PATH not in manifest.files:
        problems.append(f"{KEYS_PATH} is not listed")
    if problems:
        return Check("manifest", _FAIL,
                     f"The files of the bundle do not match {MANIFEST_PATH}: "
                     + "; ".join(problems) + ".")
    return Check("manifest", _PASS,
                 f"Every one of the {len(actual)} files of the bundle is listed in "
                 f"{MANIFEST_PATH} with its SHA-256 and size, and nothing else is in the bundle.")


def _check_manifest_signature(
    bundle: Bundle, key_set: Mapping[str, Any], periods: Mapping[str, KeyPeriod]
) -> Check:
    raw = bundle.contents.documents.get(MANIFEST_PATH)
    token = bundle.contents.documents.get(MANIFEST_SIGNATURE_PATH)
    if token is None:
        return Check("manifest_signature", _FAIL, f"The bundle has no {MANIFEST_SIGNATURE_PATH}.")
    if raw is None:
        return Check("manifest_signature", _FAIL,
                     f"{MANIFEST_SIGNATURE_PATH} has no {MANIFEST_PATH} to sign.")
    try:
        header, payload = verify_jws(token.decode("ascii", "replace"), key_set,
                                     expected_typ=MANIFEST_MEDIA_TYPE)
    except NotaryError as exc:
        return Check("manifest_signature", _FAIL,
                     f"{MANIFEST_SIGNATURE_PATH} is not validly signed by a key of {KEYS_PATH}. "
                     f"{exc.message}")
    if payload != raw:
        return Check("manifest_signature", _FAIL,
                     f"{MANIFEST_SIGNATURE_PATH} is a valid signature, but of other bytes than "
                     f"{MANIFEST_PATH}: the manifest was changed after it was signed.")
    kid = str(header["kid"])
    period = periods.get(kid)
    if bundle.manifest is None:
        return Check("manifest_signature", _SKIP,
                     f"{MANIFEST_SIGNATURE_PATH} is a valid signature of {MANIFEST_PATH} by key "
                     f"{kid}, but the manifest is unusable, so its creation time is unknown.")
    created = bundle.manifest.created_at
    try:
        covered = period is not None and period.covers(created)
    except NotaryError:
        covered = False
    if not covered:
        return Check("manifest_signature", _FAIL,
                     f"{MANIFEST_SIGNATURE_PATH} is signed by key {kid}, which was not valid at "
                     f"the bundle's creation time {created}.")
    return Check("manifest_signature", _PASS,
                 f"{MANIFEST_PATH} is signed, as {MANIFEST_SIGNATURE_PATH}, by key {kid} of "
                 f"{KEYS_PATH}, valid when the bundle was created ({created}).")


def _check_case_sequence(
    bundle: Bundle, statements: Sequence[Statement | None]
) -> Check:
    manifest = bundle.manifest
    refs = bundle.items
    # Every item must hold the entry its manifest line names.
    for i, (ref, statement) in enumerate(zip(refs, statements, strict=True)):
        if statement is None:
            continue
        if ref.path != _item_dir(statement.case_seq) or (
            ref.evidence_id is not None and ref.evidence_id != statement.evidence_id
        ):
            return Check("case_sequence", _FAIL,
                         f"items[{i}] ({ref.path}) should hold entry {ref.case_seq} "
                         f"({ref.evidence_id}) of the case, but its statement is entry "
                         f"{statement.case_seq} ({statement.evidence_id}): the items are out of "
                         "order or were swapped.")
        if manifest is not None and statement.case_id != manifest.case_id:
            return Check("case_sequence", _FAIL,
                         f"items[{i}] belongs to case {statement.case_id!r}, not to the "
                         f"bundle's case {manifest.case_id!r}.")
    unverified = [i for i, s in enumerate(statements) if s is None]
    if unverified:
        return Check("case_sequence", _SKIP,
                     "The case sequence could not be checked, because the statement of "
                     + ", ".join(f"items[{i}]" for i in unverified) + " did not verify.")
    verified = [s for s in statements if s is not None]
    if manifest is None:
        return Check("case_sequence", _SKIP,
                     "The case sequence was not checked, because the manifest (which says "
                     "whether this is a whole case) is unusable.")
    if manifest.scope == "evidence":
        s = verified[0]
        link = (f"links to the previous entry by prev_statement {s.prev_statement}"
                if s.prev_statement else "is the first of its case")
        return Check("case_sequence", _SKIP,
                     f"This bundle holds one entry ({s.case_seq}) of case {s.case_id!r}, which "
                     f"{link}; the rest of the sequence can only be checked with a bundle of "
                     "the whole case (partial check).")
    for k, s in enumerate(verified):
        if s.case_seq != k + 1:
            return Check("case_sequence", _FAIL,
                         f"The case's entries are not 1 to {len(verified)} without gaps: "
                         f"items[{k}] is entry {s.case_seq}, expected {k + 1}.")
        if k > 0 and s.prev_statement != verified[k - 1].digest_hex():
            return Check("case_sequence", _FAIL,
                         f"Entry {s.case_seq} does not link to entry {k}: its prev_statement is "
                         f"{s.prev_statement}, but entry {k}'s statement digest is "
                         f"{verified[k - 1].digest_hex()}.")
    return Check("case_sequence", _PASS,
                 f"The {len(verified)} entries of case {manifest.case_id!r} (all of them when the "
                 f"bundle was made, {manifest.created_at}) are numbered 1 to {len(verified)} "
                 "without gaps, and each links to the one before by the SHA-256 of its "
                 "statement.")


def _summary(bundle: Bundle) -> BundleSummary | None:
    m = bundle.manifest
    return None if m is None else BundleSummary(m.scope, m.case_id, m.created_at, m.hashes_only)


def _certified_items(bundle: Bundle,
                     statements: Sequence[Statement | None]) -> list[CertifiedItem] | None:
    """The items as a certification states them, from what verified (None when a statement
    or an anchor record is unusable: the certification cannot be compared then)."""
    out = []
    for ref, statement in zip(bundle.items, statements, strict=True):
        item = _read_item(ref, bundle.contents)
        if statement is None or item.anchor is None or item.statement_token is None:
            return None
        out.append(CertifiedItem(
            statement=statement, statement_kid=_header_kid(item.statement_token),
            anchor=item.anchor, custody_events=len(item.custody_tokens or ()), path=ref.path,
            original=ref.original))
    return out
