"""Proof bundles at the service: exporting stored evidence as a ZIP stream (one item's or a
whole case's), and verifying an uploaded bundle against this service's chain node.

Everything that can fail is done before the first byte is sent: the items must all be
anchored, their documents are built, their certificates rendered, ``VERIFY.md`` written and
each export recorded in the audit trail. Then the archive is produced as the client reads
it: originals are decrypted chunk by chunk straight into the ZIP stream, so plain-text
evidence is never written to disk (not even a temporary file) and memory stays bounded. The
manifest, listing every file with the SHA-256 computed while it was written, and its
signature close the archive. If an original does not decrypt to the notarised bytes the
stream stops, and the truncated archive can never verify.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from notary.bundles.archive import ArchiveLimits, BundleWriter
from notary.bundles.check import verify_bundle_file
from notary.bundles.guide import render_guide
from notary.certificate import CertificateFacts, render_certificates
from notary.certificate.declaration import certification_pdf
from notary.chain.errors import ChainError
from notary.chain.observe import observe_anchors
from notary.core.bundle import (
    BUNDLE_MEDIA_TYPE,
    GUIDE_PATH,
    KEYS_PATH,
    MANIFEST_MEDIA_TYPE,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    MAX_ITEMS,
    RESERVED_CERTIFICATE_NAMES,
    AnchorQuery,
    BundleFacts,
    BundleItem,
    BundleVerification,
    ChainObservation,
    Scope,
    build_manifest,
    parse_key_history,
    timestamp_documents,
)
from notary.core.certification import CERTIFICATION_PDF_PATH, QualifiedPerson
from notary.core.errors import InputError, NotaryError
from notary.core.validate import validate_identifier
from notary.core.verdict import AnchorFacts
from notary.keyfiles import load_key_history
from notary.service.tenancy import actor_of, case_items, visible_evidence
from notary.tsa import certificate_chain
from storage.db import ApiKey, Evidence

if TYPE_CHECKING:
    from notary.service.notary import NotaryService

__all__ = ["BundleDownload", "export_bundle", "verify_uploaded_bundle"]

#: What an uploaded bundle (held in memory) may expand to; offline verification allows more.
UPLOAD_LIMITS = ArchiveLimits(max_member_bytes=512 << 20, max_total_bytes=512 << 20)

_ITEM_CERTIFICATE = re.compile(r"items/0*([0-9]+)/(certificate\.(?:html|pdf))")


@dataclass(frozen=True)
class BundleDownload:
    """A bundle ready to stream: its suggested file name, media type and bytes."""

    file_name: str
    chunks: Iterator[bytes]
    media_type: str = BUNDLE_MEDIA_TYPE


def _rows(svc: NotaryService, key: ApiKey, case_id: str | None,
          evidence_id: str | None) -> list[Evidence]:
    """The items to export, as the key's tenant sees them (others' are *not found*)."""
    if evidence_id is not None:
        return [visible_evidence(svc.engine, key.tenant, evidence_id)]
    assert case_id is not None
    validate_identifier("case_id", case_id)
    rows = case_items(svc.engine, key.tenant, case_id)
    if len(rows) > MAX_ITEMS:
        raise InputError(f"case {case_id!r} has {len(rows)} items; a bundle holds at most "
                         f"{MAX_ITEMS}: export the items one by one", code="bundle_too_large")
    return rows


def _raw_receipt(svc: NotaryService, batch_receipt: str | None, tx_hash: str) -> dict[str, Any]:
    """The anchor transaction's receipt as the node returned it: recorded by the batch worker,
    or asked for now if it could not be recorded then."""
    if batch_receipt is not None:
        return cast(dict[str, Any], json.loads(batch_receipt))
    if svc.chain is None:
        raise NotaryError(f"the receipt of {tx_hash} was not recorded and no chain node is "
                          "connected to ask for it", code="receipt_unavailable")
    return svc.chain.registry.raw_receipt(tx_hash)


def _items(svc: NotaryService, rows: Sequence[Evidence]) -> tuple[BundleItem, ...]:
    from notary.service.notary import NotFound

    observed: dict[bytes, AnchorFacts | None] = {}
    items = []
    for row in rows:
        proof = svc.proof_of(row)
        batch = svc.get_batch(row.batch_id)
        if proof is None or batch is None:
            raise NotFound(f"evidence {row.id} is not anchored yet; export after its anchor "
                           "deadline at the latest", code="not_anchored", evidence_id=row.id,
                           status=row.status)
        steps, root, anchor = proof
        if root not in observed and svc.chain is not None:
            try:
                observed[root] = svc.chain.registry.find_anchor(root)
            except ChainError:
                observed[root] = None  # the certificate then shows the chain as not checked
        items.append(BundleItem(
            evidence_id=row.id, case_seq=row.case_seq, file_name=row.file_name,
            statement_jws=row.statement_jws, receipt_jws=row.receipt_jws, proof=tuple(steps),
            anchor=anchor, raw_receipt=_raw_receipt(svc, batch.raw_receipt, anchor.tx_hash),
            observed_anchor=observed.get(root),
            custody=tuple(r.jws for r in svc.custody.events(row.id)),
            deletion_jws=row.deletion_jws,
            timestamp=base64.b64decode(batch.tsa_token) if batch.tsa_token else None,
        ))
    return tuple(items)


def _certificates(facts: BundleFacts, verify_url: str,
                  explorer_url: str | None) -> dict[str, bytes]:
    """The bundle's certificates (HTML and PDF, for the bundle and for each item), rendered by
    :func:`notary.certificate.render_certificates` from the same facts, placed at the
    reserved paths (``certificate.*`` and ``items/NNN/certificate.*``)."""
    key_set, _ = parse_key_history(facts.keys)
    certified = [
        CertificateFacts.verified(
            statement_jws=item.statement_jws, jwks=key_set, proof=list(item.proof),
            anchor=item.anchor, observed_anchor=item.observed_anchor,
            checked_at=facts.created_at,
        )
        for item in facts.items
    ]
    rendered = render_certificates(certified, case_id=facts.case_id, verify_url=verify_url,
                                   explorer_url=explorer_url)
    out: dict[str, bytes] = {}
    for path, data in rendered.items():
        match = _ITEM_CERTIFICATE.fullmatch(path)
        if match is not None:
            path = f"items/{int(match.group(1)):03d}/{match.group(2)}"
        elif path not in RESERVED_CERTIFICATE_NAMES:
            raise NotaryError(f"the certificate renderer produced {path!r}, which is not a "
                              "reserved certificate path", code="certificate_path_invalid")
        out[path] = data
    return out


def export_bundle(
    svc: NotaryService, *, key: ApiKey, case_id: str | None = None,
    evidence_id: str | None = None, hashes_only: bool = False, explorer_url: str | None = None,
    certifier: QualifiedPerson | None = None,
) -> BundleDownload:
    """Prepare the bundle of one item (``evidence_id``) or of a whole case (``case_id``), as
    the tenant of ``key`` sees it.

    With ``hashes_only`` the originals are left out (for privacy); everything else is the
    same. With ``certifier`` the bundle also carries a court certification of its records
    (``certification/``: JSON facts, the English and Chinese declarations, a PDF) for that
    qualified person to sign. Records an ``exported`` audit event per item, as done by
    ``key``, before returning.
    Raises ``not_found`` (no such item or case for this tenant), NotFound ``not_anchored``
    (an item is still pending), InputError (``bundle_too_large``), NotaryError
    (``receipt_unavailable``) and CertificateError.
    """
    if (case_id is None) == (evidence_id is None):
        raise InputError("export either one evidence item or one case", code="export_invalid")
    rows = _rows(svc, key, case_id, evidence_id)
    actor = actor_of(key)
    scope: Scope = "evidence" if evidence_id is not None else "case"
    items = _items(svc, rows)
    tokens = [item.timestamp for item in items if item.timestamp is not None]
    facts = BundleFacts(
        scope=scope, case_id=rows[0].case_id, created_at=datetime.now(UTC),
        hashes_only=hashes_only, items=items, keys=load_key_history(svc.settings.keys_dir),
        tsa_chain=certificate_chain(tokens, svc.tsa.trust_roots if svc.tsa else ()),
    )
    documents = [item.documents() for item in facts.items]
    certificates = _certificates(facts, f"{svc.settings.service_url.rstrip('/')}/verify",
                                 explorer_url)
    if certifier is not None:  # written with the certificates: documents rendered from facts
        certification = facts.certification(certifier)
        certificates |= certification.files()
        certificates[CERTIFICATION_PDF_PATH] = certification_pdf(certification)
    rpc_hint = svc.settings.chain_url if svc.settings.embedded_chain else None
    guide = render_guide(facts, rpc_hint=rpc_hint, certifier=certifier)
    certified = f", certification for {certifier.name}" if certifier is not None else ""
    for row in rows:
        svc.record_audit(row.id, "exported", actor,
                         detail=f"{scope} bundle{' (hashes only)' if hashes_only else ''}"
                                f"{certified}")
    label = evidence_id if evidence_id is not None else f"case-{facts.case_id}"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "bundle"
    return BundleDownload(f"notary-{safe}.zip",
                          _stream(svc, facts, rows, documents, guide, certificates))


def _stream(svc: NotaryService, facts: BundleFacts, rows: Sequence[Evidence],
            documents: Sequence[dict[str, bytes]], guide: bytes,
            certificates: dict[str, bytes]) -> Iterator[bytes]:
    """The archive, member by member: mimetype, items (documents, original), RFC 3161
    timestamps, keys, guide, certificates, then the manifest and its signature."""
    writer = BundleWriter(facts.created_at)
    yield writer.take()
    for item, row, docs in zip(facts.items, rows, documents, strict=True):
        for path, data in docs.items():
            yield writer.add(path, data)
        if not facts.hashes_only and not item.shredded:
            yield from writer.add_stream(item.original_path, svc.open_content(row), row.size,
                                         expected_sha256=row.sha256)
    for path, data in timestamp_documents(facts).items():
        yield writer.add(path, data)
    yield writer.add(KEYS_PATH, facts.keys)
    yield writer.add(GUIDE_PATH, guide)
    for path in sorted(certificates):
        yield writer.add(path, certificates[path])
    manifest = build_manifest(facts, writer.digests)
    yield writer.add(MANIFEST_PATH, manifest)
    signature = svc.signing_key.sign(manifest, MANIFEST_MEDIA_TYPE)
    yield writer.add(MANIFEST_SIGNATURE_PATH, signature.encode("ascii"))
    yield writer.finish()


def verify_uploaded_bundle(svc: NotaryService, data: bytes) -> BundleVerification:
    """Verify a bundle uploaded to ``POST /v1/verify``, held in memory only, with the anchors
    looked up on this service's chain node. An anchor on another chain is left unchecked (its
    ``chain_anchor`` is skipped with the reason): only ``notary verify --rpc`` with a node of
    that chain can check it. RFC 3161 timestamps are checked against the TSA trust roots of
    ``NOTARY_TSA_CA_FILE``. Raises UnsafeBundle/UnreadableBundle."""
    chain = svc.chain
    tsa_roots = svc.tsa.trust_roots if svc.tsa is not None else ()
    if chain is None:
        return verify_bundle_file(io.BytesIO(data), limits=UPLOAD_LIMITS, tsa_roots=tsa_roots)
    ours = chain.deployment.chain_id

    def observe(queries: Sequence[AnchorQuery]) -> dict[AnchorQuery, ChainObservation]:
        out = observe_anchors(chain.registry.w3, [q for q in queries if q.chain_id == ours])
        for q in queries:
            if q.chain_id != ours:
                out[q] = ChainObservation(
                    node="this service", error=f"this service's node is on chain {ours}, not "
                    f"{q.chain_id}; verify with a node of chain {q.chain_id} (notary verify "
                    "--rpc URL).")
        return out

    return verify_bundle_file(io.BytesIO(data), observe=observe, limits=UPLOAD_LIMITS,
                              tsa_roots=tsa_roots)
