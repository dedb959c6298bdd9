"""Building a proof bundle's documents from facts: each item's documents, the
``timestamps/`` documents and the manifest (the archive itself is written by
``notary.bundles.archive``; ``VERIFY.md`` and the certificates by ``notary.bundles``).

CONSENSUS-CRITICAL: what is built here is what :mod:`notary.core.bundle.verify` checks, byte
for byte (docs/bundle-format.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from ..declaration import BundleSummary, Declaration, DeclaredItem, QualifiedPerson
from ..digest import FileDigest
from ..errors import NotaryError
from ..jws import claimed_kid, jws_payload
from ..merkle import leaf_values
from ..statement import Statement, canonical_json
from ..timestamp import TSA_CHAIN_PATH, renewal_path, root_path, token_path
from ..validate import format_rfc3339_utc
from ..verdict import AnchorFacts
from .anchor import anchor_document, proof_document
from .layout import (
    ANCHOR_NAME,
    BUNDLE_VERSION,
    CUSTODY_NAME,
    DELETION_JSON_NAME,
    DELETION_NAME,
    LOG_NAME,
    ORIGINAL_DIR,
    PROOF_NAME,
    READABLE,
    RECEIPT_NAME,
    RECORDING_NAME,
    STATEMENT_JSON_NAME,
    STATEMENT_NAME,
    UNLISTED,
    Scope,
    extra_anchor_name,
    item_dir,
    manifest_limits,
    member_path_problem,
    original_name,
)
from .logpart import ItemLog, log_document
from .recording import recording_document

__all__ = ["BundleFacts", "BundleItem", "build_manifest", "timestamp_documents"]


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
    #: Its renewals in order (TimeStampResp DER): each over the bytes of the one before.
    renewals: tuple[bytes, ...] = ()
    #: The deletion certificate (compact JWS) when the item's content was shredded.
    deletion_jws: str | None = None
    #: An item notarised while recorded: each segment's ``(salt, checkpoint)`` in order, for
    #: its ``recording.json`` (empty for every other item: no such file).
    segments: tuple[tuple[str, str], ...] = ()
    #: Second anchors of the item's root (issue 19): each chain's anchor and the node's
    #: transaction receipt, written as ``anchor-<chain id>.json``.
    extra_anchors: tuple[tuple[AnchorFacts, Mapping[str, Any]], ...] = ()
    #: The inclusion proofs of its statement and custody events against the bundle's
    #: checkpoint (:attr:`BundleFacts.log_checkpoint`), for its ``log.json``.
    log: ItemLog | None = None

    @property
    def shredded(self) -> bool:
        return self.deletion_jws is not None

    @property
    def hash_only(self) -> bool:
        """A hash-only deposit: there is no original to carry, in any bundle."""
        return self.statement.hash_only

    @property
    def directory(self) -> str:
        """``items/NNN``, NNN being the case sequence number (at least three digits)."""
        return item_dir(self.case_seq)

    @property
    def original_path(self) -> str:
        """Where the original goes when the bundle carries originals."""
        return f"{self.directory}/{ORIGINAL_DIR}/{original_name(self.file_name)}"

    @property
    def statement_bytes(self) -> bytes:
        """The statement's canonical bytes (the JWS payload)."""
        return jws_payload(self.statement_jws)

    @property
    def statement_kid(self) -> str:
        """The key id (``kid``) the statement's signature names."""
        kid = claimed_kid(self.statement_jws)
        if kid is None:
            raise NotaryError("The statement is not a compact JWS naming its key.",
                              code="malformed_token")
        return kid

    @cached_property
    def statement(self) -> Statement:
        """The statement, parsed once (an export reads it for every document it writes)."""
        return Statement.from_bytes(self.statement_bytes)

    @property
    def leaf_values(self) -> list[int | str]:
        """The values of the item's Merkle leaf (:func:`notary.core.merkle.leaf_values`)."""
        statement = self.statement
        return leaf_values(statement.digest(), bytes.fromhex(statement.sha256))

    def proof_document(self) -> dict[str, Any]:
        """``proof.json`` (:func:`notary.core.anchor.proof_document`)."""
        return proof_document(self.statement, self.proof, self.anchor.root)

    def anchor_document(self) -> dict[str, Any]:
        """``anchor.json`` (:func:`notary.core.anchor.anchor_document`)."""
        return anchor_document(self.anchor, self.raw_receipt)

    def documents(self) -> dict[str, bytes]:
        """The item's documents by bundle path (statement, its canonical JSON, receipt,
        inclusion proof, anchor; custody log, deletion certificate and recording segments
        when it has them). Raises :class:`NotaryError` if the statement is not a
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
             } if self.deletion_jws is not None else {}) | ({
                 f"{d}/{RECORDING_NAME}": recording_document(self.statement, self.segments),
             } if self.segments else {}) | ({
                 f"{d}/{LOG_NAME}": log_document(self.log),
             } if self.log is not None else {}) | {
                 f"{d}/{extra_anchor_name(a.chain_id)}": canonical_json(anchor_document(a, r))
                 for a, r in self.extra_anchors}


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
    #: The log's checkpoint the items' ``log.json`` prove against (``log/checkpoint.note``:
    #: the signed note with its cosignatures), when the export found one covering them.
    log_checkpoint: bytes | None = None
    #: The bundle version written (the current one; older ones only for test vectors).
    version: int = BUNDLE_VERSION

    @property
    def created_at_text(self) -> str:
        return format_rfc3339_utc(self.created_at)

    def certification(self, person: QualifiedPerson) -> Declaration:
        """A declaration (the court certification) of this bundle's records for ``person``
        (§5.1), stating each item as :func:`verify_bundle` will compare it."""
        summary = BundleSummary(self.scope, self.case_id, self.created_at_text, self.hashes_only)
        return Declaration(summary, tuple(
            DeclaredItem(statement=item.statement, statement_kid=item.statement_kid,
                         anchor=item.anchor, custody_events=len(item.custody),
                         path=item.directory,
                         original=None if self.hashes_only or item.shredded
                         or item.hash_only else item.original_path)
            for item in self.items), person)


def timestamp_documents(facts: BundleFacts) -> dict[str, bytes]:
    """The ``timestamps/`` documents (notary.core.timestamp): per distinct root with a token,
    ``<root>.tsr`` (the TSA's answer, DER), ``<root>.bin`` (the 32 root bytes) and its
    renewals ``<root>.renewal-<n>.tsr``, plus
    ``tsa-chain.pem`` when there are certificates. Empty when no item has a timestamp."""
    out: dict[str, bytes] = {}
    for item in facts.items:
        if item.timestamp is not None:
            out[token_path(item.anchor.root)] = item.timestamp
            out[root_path(item.anchor.root)] = item.anchor.root
            for n, renewal in enumerate(item.renewals, start=1):
                out[renewal_path(item.anchor.root, n)] = renewal
    if out and facts.tsa_chain is not None:
        out[TSA_CHAIN_PATH] = facts.tsa_chain
    return out


def build_manifest(facts: BundleFacts, files: Mapping[str, FileDigest]) -> bytes:
    """The canonical manifest of a bundle: its version, scope, items and every file with its
    SHA-256 and size (``manifest.json`` and ``manifest.jws`` excepted). Raises
    :class:`NotaryError` if a path is not a valid member path or an original is missing."""
    if not facts.items:
        raise NotaryError("A bundle needs at least one item.", code="bundle_empty")
    max_files, max_items, _ = manifest_limits(facts.version)
    if len(facts.items) > max_items or len(files) > max_files:
        raise NotaryError(
            f"A bundle holds at most {max_items} items and {max_files} files.",
            code="bundle_too_large",
        )
    for path in files:
        problem = member_path_problem(path)
        if problem is not None or path in UNLISTED:
            raise NotaryError(f"{path!r} cannot be a bundle file.", code="bundle_path_invalid")
    items = []
    for item in facts.items:
        entry: dict[str, Any] = {
            "evidence_id": item.evidence_id,
            "case_seq": item.case_seq,
            "path": item.directory,
        }
        if item.hash_only:  # only then: other manifests keep their bytes
            entry["hash_only"] = True
        if item.shredded:
            entry["shredded"] = True
        elif not facts.hashes_only and not item.hash_only:
            if item.original_path not in files:
                raise NotaryError(f"The original {item.original_path} was not written.",
                                  code="bundle_original_missing")
            entry["original"] = item.original_path
        items.append(entry)
    manifest = {
        "bundle_version": facts.version,
        "media_type": READABLE[facts.version],
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
