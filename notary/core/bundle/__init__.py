"""The proof bundle (format v3; v1 and v2 are still read): every document of a bundle, how it
is built, read and verified from bytes already read.

CONSENSUS-CRITICAL. Bundles are handed to courts and checked years later by this code and by
the steps of their own ``VERIFY.md``; the paths, document fields and rules are the format
(``docs/bundle-format.md``). Change them only by adding a version next to this one.

One module per concept: :mod:`~notary.core.bundle.layout` (media types, paths, limits, the
names of originals), :mod:`~notary.core.bundle.anchor` (``proof.json`` and ``anchor.json``
with the transaction receipt), :mod:`~notary.core.bundle.build` (documents and manifest from
facts), :mod:`~notary.core.bundle.read` (container, manifest, each item's documents),
:mod:`~notary.core.bundle.item` and :mod:`~notary.core.bundle.checks` (the checks),
:mod:`~notary.core.bundle.verify` (the whole verification and its answers). The key history
is :mod:`notary.core.keyhistory`. This package lists the names its callers use.

Everything is pure: the archive is read elsewhere (``notary.bundles.archive``), which hands
over each member's SHA-256 and size and the bytes of the small documents; the chain is read
elsewhere too, and its answers come in as :class:`ChainObservation` arguments. Verification
never raises for bad evidence: every problem is a failed :class:`~notary.core.verdict.Check`
whose name says which part of the bundle it concerns (``manifest``, ``keys``,
``items[0].merkle_proof``, ``case_sequence``...). Only a bundle that is not a notary bundle
at all raises :class:`~notary.core.errors.UnreadableBundle`, and one whose manifest is over
the limits raises :class:`~notary.core.errors.UnsafeBundle`.
"""

from ..answers import BundleVerification
from ..keyhistory import KeyPeriod, key_history, parse_key_history
from ..pinning import AnchorQuery, ChainObservation
from .anchor import BATCH_ANCHORED_TOPIC
from .attest import extra_chain_questions
from .build import BundleFacts, BundleItem, build_manifest, timestamp_documents
from .layout import (
    ANCHOR_NAME,
    BUNDLE_MEDIA_TYPE,
    BUNDLE_V1_MEDIA_TYPE,
    BUNDLE_V2_MEDIA_TYPE,
    BUNDLE_VERSION,
    CONDUCT_HTML_PATH,
    CONDUCT_JSON_PATH,
    CONDUCT_JWS_PATH,
    CONDUCT_PDF_PATH,
    CUSTODY_NAME,
    DELETION_JSON_NAME,
    DELETION_NAME,
    GUIDE_PATH,
    KEYS_PATH,
    LOG_CHECKPOINT_PATH,
    LOG_NAME,
    MANIFEST_MEDIA_TYPE,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    MAX_DOCUMENT_BYTES,
    MAX_FILES,
    MAX_FILES_V2,
    MAX_ITEMS,
    MAX_ITEMS_V2,
    MAX_MANIFEST_BYTES,
    MIMETYPE_PATH,
    PROOF_NAME,
    READABLE,
    RECEIPT_NAME,
    RECORDING_NAME,
    RESERVED_CERTIFICATE_NAMES,
    STATEMENT_JSON_NAME,
    STATEMENT_NAME,
    TRUST_ROOT_PATH,
    Scope,
    document_limit,
    is_original_path,
    is_safe_original,
    manifest_limits,
    member_path_problem,
    original_name,
    original_path_problem,
)
from .logpart import EntryProof, ItemLog, log_document, parse_log_document
from .read import Bundle, BundleContents, anchor_queries, open_bundle
from .recording import recording_document, recording_ranges
from .verify import ItemChecks, ItemMap, ItemOutcome, bundle_questions, verify_bundle

__all__ = [
    "ANCHOR_NAME",
    "BATCH_ANCHORED_TOPIC",
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
    "GUIDE_PATH",
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
    "MIMETYPE_PATH",
    "PROOF_NAME",
    "READABLE",
    "RECEIPT_NAME",
    "RECORDING_NAME",
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
    "EntryProof",
    "ItemChecks",
    "ItemLog",
    "ItemMap",
    "ItemOutcome",
    "KeyPeriod",
    "Scope",
    "anchor_queries",
    "build_manifest",
    "bundle_questions",
    "document_limit",
    "extra_chain_questions",
    "is_original_path",
    "is_safe_original",
    "key_history",
    "log_document",
    "manifest_limits",
    "member_path_problem",
    "open_bundle",
    "original_name",
    "original_path_problem",
    "parse_key_history",
    "parse_log_document",
    "recording_document",
    "recording_ranges",
    "timestamp_documents",
    "verify_bundle",
]
