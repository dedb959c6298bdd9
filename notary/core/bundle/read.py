"""Reading a proof bundle from what the archive reader hands over: the container's media
type, the manifest (strictly), the items to verify, and each item's documents as bytes
(nothing is verified here; see :mod:`notary.core.bundle.verify`).

CONSENSUS-CRITICAL: docs/bundle-format.md §6 steps 1 and 2. Only a bundle that is not a
notary bundle at all raises :class:`~notary.core.errors.UnreadableBundle`, and one whose
manifest is over the limits raises :class:`~notary.core.errors.UnsafeBundle`; any other
fault is reported by the checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..digest import FileDigest
from ..errors import NotaryError, UnreadableBundle, UnsafeBundle
from ..pinning import AnchorQuery
from ..statement import canonical_json, parse_strict_json
from ..validate import validate_identifier, validate_rfc3339
from ..verdict import AnchorFacts
from .anchor import parse_anchor_document, parse_proof_document
from .layout import (
    ANCHOR_NAME,
    BUNDLE_VERSION,
    CUSTODY_NAME,
    DELETION_NAME,
    EXTRA_ANCHOR_NAME,
    ITEM_DIR,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    MAX_DOCUMENT_BYTES,
    MAX_MANIFEST_SIGNATURE_BYTES,
    MIMETYPE_PATH,
    ORIGINAL_DIR,
    PROOF_NAME,
    READABLE,
    RECEIPT_NAME,
    STATEMENT_JSON_NAME,
    STATEMENT_NAME,
    UNLISTED,
    Scope,
    item_dir,
    manifest_limits,
    member_path_problem,
    original_path_problem,
)

__all__ = [
    "Bundle",
    "BundleContents",
    "ItemDocuments",
    "Manifest",
    "ManifestItem",
    "anchor_of",
    "anchor_queries",
    "document_text",
    "open_bundle",
    "read_item",
]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_MANIFEST_FIELDS = frozenset(
    {"bundle_version", "media_type", "scope", "case_id", "created_at", "hashes_only", "items",
     "files"}
)


@dataclass(frozen=True)
class BundleContents:
    """A bundle as the archive reader hands it over: every member's path in archive order,
    its SHA-256 and size, and the bytes of the members :func:`document_limit` names."""

    order: tuple[str, ...]
    digests: Mapping[str, FileDigest]
    documents: Mapping[str, bytes]


@dataclass(frozen=True)
class ManifestItem:
    """One line of the manifest's ``items`` (or an ``items/NNN/`` folder of the archive)."""

    evidence_id: str | None
    case_seq: int | None
    path: str
    original: str | None
    shredded: bool = False
    #: A hash-only deposit: the service never had the file, so no bundle carries it.
    hash_only: bool = False


@dataclass(frozen=True)
class Manifest:
    """The manifest, parsed and checked (docs/bundle-format.md §3)."""

    scope: Scope
    case_id: str
    created_at: str
    hashes_only: bool
    items: tuple[ManifestItem, ...]
    files: Mapping[str, FileDigest]
    version: int = BUNDLE_VERSION


@dataclass(frozen=True)
class Bundle:
    """A bundle whose container was accepted: its contents, its manifest when it could be
    read (else ``manifest_problem`` says why), and the items to verify (from the manifest, or
    from the archive's ``items/NNN/`` folders when the manifest is unusable)."""

    contents: BundleContents
    manifest: Manifest | None
    manifest_problem: str | None
    items: tuple[ManifestItem, ...]
    #: The container's version (its ``mimetype``): 1, 2 or 3.
    version: int = BUNDLE_VERSION

    @property
    def hashes_only(self) -> bool:
        if self.manifest is not None:
            return self.manifest.hashes_only
        return not any(i.original for i in self.items)

    @cached_property
    def extra_anchor_members(self) -> Mapping[str, tuple[tuple[int, str], ...]]:
        """Each folder's second-anchor documents (``anchor-<chain id>.json``) as ``(chain id,
        member path)``, by chain id: found in one pass over the members, where a scan of
        every member per item made a large case's verification quadratic."""
        found: dict[str, list[tuple[int, str]]] = {}
        for member in self.contents.digests:
            head, _, name = member.rpartition("/")
            if m := EXTRA_ANCHOR_NAME.fullmatch(name):
                found.setdefault(head, []).append((int(m.group(1)), member))
        return {head: tuple(sorted(paths)) for head, paths in found.items()}


def _fail(message: str, code: str = "manifest_invalid") -> NotaryError:
    return NotaryError(message, code=code)


def _parse_manifest(doc: Any, version: int = BUNDLE_VERSION) -> Manifest:
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
        if path in UNLISTED:
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
    items: list[ManifestItem] = []
    for i, entry in enumerate(doc["items"]):
        allowed = {"evidence_id", "case_seq", "path", "original", "shredded", "hash_only"}
        if not isinstance(entry, dict) or not {"evidence_id", "case_seq", "path"} <= set(
            entry
        ) or not set(entry) <= allowed:
            raise _fail(f"Its items[{i}] is not "
                        "{evidence_id, case_seq, path, original?, shredded?, hash_only?}.")
        shredded = entry.get("shredded", False)
        if shredded is not False and shredded is not True:
            raise _fail(f"Its items[{i}] has a 'shredded' that is not true or false.")
        hash_only = entry.get("hash_only", False)
        if hash_only is not False and hash_only is not True:
            raise _fail(f"Its items[{i}] has a 'hash_only' that is not true or false.")
        validate_identifier("evidence_id", entry["evidence_id"])
        seq = entry["case_seq"]
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise _fail(f"Its items[{i}] has no valid case_seq.")
        if entry["path"] != item_dir(seq):
            raise _fail(f"Its items[{i}] has the path {entry['path']!r}; entry {seq} of a "
                        f"case lives in {item_dir(seq)}.")
        original = entry.get("original")
        if doc["hashes_only"] and original is not None:
            raise _fail(f"Its items[{i}] lists an original in a hashes-only bundle.")
        if shredded and original is not None:
            raise _fail(f"Its items[{i}] lists an original of a shredded item.")
        if hash_only and original is not None:
            raise _fail(f"Its items[{i}] lists an original of a hash-only deposit.")
        if not doc["hashes_only"] and original is None and not shredded and not hash_only:
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
        items.append(ManifestItem(entry["evidence_id"], seq, entry["path"], original,
                                   shredded, hash_only))
    if len({i.path for i in items}) != len(items):
        raise _fail("It lists the same item twice.")
    if doc["scope"] == "evidence" and len(items) != 1:
        raise _fail("An evidence bundle holds exactly one item.")
    return Manifest(doc["scope"], case_id, created_at, doc["hashes_only"], tuple(items), files,
                     version)


def _items_from_archive(order: Sequence[str]) -> tuple[ManifestItem, ...]:
    found: dict[str, list[str]] = {}
    for path in order:
        head = "/".join(path.split("/")[:2])
        if ITEM_DIR.fullmatch(head):
            found.setdefault(head, []).append(path)
    items = []
    for head in sorted(found, key=lambda h: int(h.split("/")[1])):
        originals = [p for p in found[head] if p.startswith(f"{head}/{ORIGINAL_DIR}/")]
        items.append(ManifestItem(None, None, head, originals[0] if len(originals) == 1 else None,
                                   f"{head}/{DELETION_NAME}" in found[head]))
    return tuple(items)


def open_bundle(contents: BundleContents) -> Bundle:
    """Accept the container and read the manifest; nothing is verified yet.

    Raises :class:`UnreadableBundle` when the first member is not ``mimetype`` holding
    exactly the media type of a version it reads (:data:`READABLE`: ``not_a_bundle``, or
    ``version_unsupported`` for another notary bundle version), or when the manifest declares
    another ``bundle_version`` or ``media_type``; :class:`UnsafeBundle` when the manifest is
    over its version's limits (:func:`manifest_limits`: ``document_too_large`` for its bytes,
    ``manifest_too_large`` for its files or items). A manifest that is
    merely wrong does not raise: the ``manifest`` check will fail with the reason.
    """
    # Step 1: the container says what it is, in its first member.
    if not contents.order or contents.order[0] != MIMETYPE_PATH:
        raise UnreadableBundle(
            "The archive's first entry is not 'mimetype': it is not a notary proof bundle.",
            reason="not_a_bundle",
        )
    media_type = contents.documents.get(MIMETYPE_PATH, b"")
    container = next((v for v, m in READABLE.items() if media_type == m.encode("ascii")), None)
    if container is None:
        shown = media_type[:100].decode("utf-8", "replace")
        other = re.fullmatch(r"application/vnd\.notary\.bundle\.v[0-9]+\+zip", shown)
        raise UnreadableBundle(
            f"The archive declares the media type {shown!r}; this verifier reads "
            f"{', '.join(READABLE[v] for v in sorted(READABLE, reverse=True))} only.",
            reason="version_unsupported" if other else "not_a_bundle",
        )

    # Step 2: the manifest, if it parses. Only a version we do not know, or one over the
    # limits, stops verification; any other fault is reported by the 'manifest' check.
    raw = contents.documents.get(MANIFEST_PATH)
    manifest: Manifest | None = None
    problem: str | None = None
    max_files, max_items, max_bytes = manifest_limits(container)
    # Before v3 the archive reader refused these as it now does only above v3's limits.
    signature = contents.documents.get(MANIFEST_SIGNATURE_PATH)
    for path, data, limit in ((MANIFEST_PATH, raw, max_bytes), (
            MANIFEST_SIGNATURE_PATH, signature,
            MAX_MANIFEST_SIGNATURE_BYTES if container >= 3 else MAX_DOCUMENT_BYTES)):
        if data is not None and len(data) > limit:
            raise UnsafeBundle(f"The document {path!r} is {len(data)} bytes; the limit is "
                               f"{limit}.", reason="document_too_large", member=path)
    if raw is None:
        problem = f"The bundle has no {MANIFEST_PATH}."
    else:
        try:
            doc = parse_strict_json(raw, max_bytes=max_bytes)
        except NotaryError as exc:
            doc = None
            problem = f"{MANIFEST_PATH} is not strict JSON: {exc.message}"
        if isinstance(doc, dict):
            version = doc.get("bundle_version")
            if version != container or doc.get("media_type") != READABLE[container]:
                raise UnreadableBundle(
                    f"{MANIFEST_PATH} declares bundle_version {version!r} and media type "
                    f"{doc.get('media_type')!r}; this container is version {container} "
                    f"({READABLE[container]}).",
                    reason="version_unsupported",
                )
            files, items = doc.get("files"), doc.get("items")
            if (isinstance(files, list) and len(files) > max_files) or (
                isinstance(items, list) and len(items) > max_items
            ):
                raise UnsafeBundle(
                    f"{MANIFEST_PATH} lists more than {max_files} files or {max_items} items.",
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

def anchor_of(bundle: Bundle, path: str) -> AnchorFacts | None:
    """The anchor item ``path``'s ``anchor.json`` claims, None when it is missing or
    unreadable (its own check says why)."""
    raw = bundle.contents.documents.get(f"{path}/{ANCHOR_NAME}")
    if raw is None:
        return None
    try:
        return parse_anchor_document(raw)[0]
    except (NotaryError, KeyError, TypeError):
        return None


def anchor_queries(bundle: Bundle) -> list[AnchorQuery]:
    """The distinct anchors the bundle's items claim (for the caller to look up)."""
    out: dict[AnchorQuery, None] = {}
    for ref in bundle.items:
        anchor = anchor_of(bundle, ref.path)
        if anchor is not None:
            out[AnchorQuery(anchor.chain_id, anchor.contract.lower(), anchor.root)] = None
    return list(out)


@dataclass
class ItemDocuments:
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
    tx_receipt: dict[str, Any] | None = None
    anchor_problem: str | None = None
    custody_tokens: list[str] | None = None
    shredded: bool = False
    deletion_token: str | None = None
    #: The manifest says the item is a hash-only deposit (its statement must say so too).
    hash_only: bool = False


def document_text(raw: bytes | None) -> str | None:
    """A token document's text (ASCII; anything else shows as replacement characters)."""
    return raw.decode("ascii", "replace") if raw is not None else None


def read_item(ref: ManifestItem, contents: BundleContents) -> ItemDocuments:
    """Item ``ref``'s documents, read once; each missing or malformed one says why."""
    docs, d = contents.documents, ref.path
    item = ItemDocuments(
        path=d, original=ref.original,
        file_digest=contents.digests.get(ref.original) if ref.original is not None else None,
        statement_token=document_text(docs.get(f"{d}/{STATEMENT_NAME}")),
        statement_json=docs.get(f"{d}/{STATEMENT_JSON_NAME}"),
        receipt_token=document_text(docs.get(f"{d}/{RECEIPT_NAME}")),
        shredded=ref.shredded, deletion_token=document_text(docs.get(f"{d}/{DELETION_NAME}")),
        hash_only=ref.hash_only,
    )
    raw_custody = docs.get(f"{d}/{CUSTODY_NAME}")
    if raw_custody is not None:
        item.custody_tokens = raw_custody.decode("ascii", "replace").splitlines()
    raw_proof = docs.get(f"{d}/{PROOF_NAME}")
    if raw_proof is None:
        item.proof_problem = f"{d}/{PROOF_NAME} is missing."
    else:
        try:
            proof = parse_proof_document(raw_proof)
            item.proof, item.root = proof.proof, proof.root
            item.leaf_values, item.leaf = proof.leaf_values, proof.leaf
        except NotaryError as exc:
            item.proof_problem = f"{d}/{PROOF_NAME} is not a valid inclusion proof. {exc.message}"
    raw_anchor = docs.get(f"{d}/{ANCHOR_NAME}")
    if raw_anchor is None:
        item.anchor_problem = f"{d}/{ANCHOR_NAME} is missing."
    else:
        try:
            item.anchor, item.tx_receipt = parse_anchor_document(raw_anchor)
        except NotaryError as exc:
            item.anchor_problem = f"{d}/{ANCHOR_NAME} is not a valid anchor record. {exc.message}"
    return item
