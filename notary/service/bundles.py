"""Proof bundles at the service: exporting stored evidence as a ZIP stream (one item's or a
whole case's), and verifying an uploaded bundle against this service's chain node.

Everything that can fail is done before the first byte is sent: the items must all be
anchored, their documents are built (and checked), the bundle's one certificate rendered,
``VERIFY.md`` written and each export recorded in the audit trail. Then the archive is
produced as the client reads it: each item's documents are built again as it is written (so a
case of 10,000 items does not hold them all), and originals are decrypted chunk by chunk
straight into the ZIP stream, so plain-text evidence is never written to disk (not even a
temporary file) and memory stays bounded. The manifest, listing every file with the SHA-256
computed while it was written, and its signature close the archive. If an original does not
decrypt to the notarised bytes the stream stops, and the truncated archive can never verify.

A version 3 bundle carries ONE certificate (``certificate.html|pdf``): for a case, the
listing of its items (no per-item certificates: rendering one, with its CJK font subset, took
about two seconds, which made a case export take seconds per item); for one item, that item's
certificate. Builds are still bounded by an :class:`ExportGate`: at most
``NOTARY_EXPORT_BUILDS`` at once on the service and one per API key or share link
(``export_busy`` otherwise, with ``Retry-After``). A build is given a cancel flag: when its
client goes away it stops at the next item and frees its slot, so nobody waits (not even a
shutting-down server) for a bundle nobody will read.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlmodel import select

from notary.bundles.archive import ArchiveLimits, BundleWriter
from notary.bundles.check import verify_bundle_file
from notary.bundles.declaration import declaration_files
from notary.bundles.guide import render_guide
from notary.certificate import CertificateFacts, Deployment, case_certificate
from notary.certificate.html import case_html
from notary.chain.errors import ChainError
from notary.chain.light import DEV_CHAIN_IDS
from notary.core.bundle import (
    BUNDLE_MEDIA_TYPE,
    GUIDE_PATH,
    KEYS_PATH,
    LOG_CHECKPOINT_PATH,
    MANIFEST_MEDIA_TYPE,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    MAX_ITEMS,
    MAX_ITEMS_V2,
    TRUST_ROOT_PATH,
    BundleFacts,
    BundleItem,
    BundleVerification,
    EntryProof,
    ItemLog,
    Scope,
    build_manifest,
    parse_key_history,
    timestamp_documents,
)
from notary.core.custody import CustodyEvent
from notary.core.declaration import CERTIFICATION_PDF_PATH, QualifiedPerson
from notary.core.errors import InputError, NotaryError
from notary.core.jws import jws_payload
from notary.core.merkle import from_hex32
from notary.core.signing import SigningKey
from notary.core.validate import validate_identifier
from notary.core.verdict import AnchorFacts
from notary.keyfiles import load_key_history
from notary.service.actors import Actor
from notary.service.conduct import bundle_conduct, tenant_rules
from notary.service.context import Context
from notary.service.cosigning import WitnessConfig, witness_threshold
from notary.service.errors import NotFound
from notary.service.excerpts import recording_segments
from notary.service.exportgate import ExportTicket
from notary.service.identity import deployment_of
from notary.service.renewal import renewal_tokens
from notary.service.tenancy import case_items, visible_evidence
from notary.service.trustroot import (
    IssuedTrustRoot,
    current_trust_root,
    read_stored_trust_root,
)
from notary.tsa import certificate_chain
from storage.db import ApiKey, Evidence, ExtraAnchor, session

__all__ = ["BundleDownload", "ConductAsked", "export_bundle", "this_service",
           "verify_uploaded_bundle", "write_bundle"]

#: What an uploaded bundle (held in memory) may expand to; offline verification allows more.
UPLOAD_LIMITS = ArchiveLimits(max_member_bytes=512 << 20, max_total_bytes=512 << 20)

@dataclass(frozen=True)
class ConductAsked:
    """A case bundle with its conduct report, of ``period`` (RFC 3339 ``(from, to)``) or,
    when None, of every call of the bundle's items."""

    period: tuple[str, str] | None = None


def _holder(actor: Actor) -> str:
    """The gate's name for whoever builds: one build per API key or share link."""
    return f"share:{actor.id}" if actor.is_share else f"key:{actor.id}"


@dataclass(frozen=True)
class BundleDownload:
    """A bundle ready to stream: its suggested file name, media type and bytes. Call
    :meth:`close` when the client is gone: it stops the build and frees its slot."""

    file_name: str
    chunks: Iterator[bytes]
    media_type: str = BUNDLE_MEDIA_TYPE
    ticket: ExportTicket | None = None

    def close(self) -> None:
        if self.ticket is not None:
            self.ticket.cancel.set()
            self.ticket.release()
        close = getattr(self.chunks, "close", None)
        if close is not None:
            try:
                close()
            except ValueError:  # still running in another thread: the flag stops it
                pass


def _rows(ctx: Context, key: ApiKey, case_id: str | None,
          evidence_id: str | None) -> list[Evidence]:
    """The items to export, as the key's tenant sees them (others' are *not found*)."""
    if evidence_id is not None:
        return [visible_evidence(ctx.engine, key.tenant, evidence_id)]
    assert case_id is not None
    validate_identifier("case_id", case_id)
    rows = case_items(ctx.engine, key.tenant, case_id)
    if len(rows) > MAX_ITEMS:
        raise InputError(f"case {case_id!r} has {len(rows)} items; a bundle holds at most "
                         f"{MAX_ITEMS}: export the items one by one", code="bundle_too_large")
    return rows


def _raw_tx_receipt(ctx: Context, batch_receipt: str | None, tx_hash: str) -> dict[str, Any]:
    """The anchor transaction's receipt as the node returned it: recorded by the batch worker,
    or asked for now if it could not be recorded then."""
    if batch_receipt is not None:
        return cast(dict[str, Any], json.loads(batch_receipt))
    if ctx.chain is None:
        raise NotaryError(f"the receipt of {tx_hash} was not recorded and no chain node is "
                          "connected to ask for it", code="receipt_unavailable")
    return ctx.chain.raw_tx_receipt(tx_hash)


def _items(ctx: Context, rows: Sequence[Evidence],
           ticket: ExportTicket) -> tuple[BundleItem, ...]:
    """The items as exported. A batch (its row, anchor, raw receipt, the chain's answer) is
    read once for all its items, not once per item."""
    observed: dict[bytes, AnchorFacts | None] = {}
    extras: dict[int, tuple[tuple[AnchorFacts, dict[str, Any]], ...]] = {}
    batches: dict[int, tuple[Any, dict[str, Any] | None]] = {}
    renewals: dict[int, tuple[bytes, ...]] = {}
    items = []
    for row in rows:
        ticket.check()
        batch, raw = None, None
        if row.batch_id is not None:
            if row.batch_id not in batches:
                batches[row.batch_id] = (ctx.get_batch(row.batch_id), None)
            batch, raw = batches[row.batch_id]
        anchor = ctx.anchor_of(batch)
        if row.status != "anchored" or anchor is None or row.proof is None or batch is None:
            raise NotFound(f"evidence {row.id} is not anchored yet; export after its anchor "
                           "deadline at the latest", code="not_anchored", evidence_id=row.id,
                           status=row.status)
        if raw is None:
            raw = _raw_tx_receipt(ctx, batch.raw_receipt, anchor.tx_hash)
            batches[batch.id] = (batch, raw)
        root = anchor.root
        if batch.id not in extras:
            extras[batch.id] = _extra_anchors(ctx, batch.id, root)
        if batch.tsa_token and batch.id not in renewals:
            renewals[batch.id] = tuple(renewal_tokens(ctx.engine, batch.id))
        if root not in observed and ctx.chain is not None:
            try:
                observed[root] = ctx.chain.reader.find_anchor(root)
            except ChainError:
                observed[root] = None  # the certificate then shows the chain as not checked
        items.append(BundleItem(
            evidence_id=row.id, case_seq=row.case_seq, file_name=row.file_name,
            statement_jws=row.statement_jws, receipt_jws=row.receipt_jws,
            proof=tuple(from_hex32(p) for p in json.loads(row.proof)),
            anchor=anchor, raw_receipt=raw, observed_anchor=observed.get(root),
            custody=tuple(r.jws for r in ctx.custody.events(row.id)),
            deletion_jws=row.deletion_jws,
            timestamp=base64.b64decode(batch.tsa_token) if batch.tsa_token else None,
            renewals=renewals.get(batch.id, ()),
            segments=recording_segments(ctx, row),
            extra_anchors=extras[batch.id],
        ))
    return tuple(items)


def _extra_anchors(ctx: Context, batch_id: int, root: bytes
                   ) -> tuple[tuple[AnchorFacts, dict[str, Any]], ...]:
    """The batch's second anchors (issue 19) with their recorded receipts, by chain id."""
    with session(ctx.engine) as s:
        rows = list(s.exec(select(ExtraAnchor).where(ExtraAnchor.batch_id == batch_id)
                           .order_by(ExtraAnchor.chain_id)))  # type: ignore[arg-type]
    return tuple((AnchorFacts(
        chain_id=r.chain_id, contract=r.contract, batch_id=r.onchain_batch_id,
        root=root, block_number=r.block_number,
        block_hash=r.block_hash, block_timestamp=r.block_timestamp, tx_hash=r.tx_hash),
        cast(dict[str, Any], json.loads(r.raw_receipt))) for r in rows)


def _log_part(ctx: Context, items: tuple[BundleItem, ...]
              ) -> tuple[bytes | None, tuple[BundleItem, ...]]:
    """The log's checkpoint and each item with its inclusion proofs (docs/bundle-format.md
    §4.8), from one read of the log's leaves. Without a checkpoint holding every statement
    yet (the next anchoring cycle signs one), the bundle carries no log part."""
    if ctx.translog is None:
        return None, items
    witnesses = [WitnessConfig.parse(w) for w in ctx.settings.log_witnesses]
    part = ctx.translog.bundle_part(
        [item.evidence_id for item in items],
        witness_threshold(ctx.settings.log_witness_threshold, witnesses),
        [(w.verifier.name, w.verifier.key_id) for w in witnesses])
    if part is None:
        return None, items
    note, proofs = part

    def proof(key: tuple[str, int | None]) -> EntryProof | None:
        found = proofs.get(key)
        return EntryProof(found[0], tuple(found[1])) if found is not None else None

    out = []
    for item in items:
        statement = proof((item.evidence_id, None))
        assert statement is not None  # bundle_part holds every statement or returns None
        seqs = [CustodyEvent.from_bytes(jws_payload(t)).seq for t in item.custody]
        out.append(replace(item, log=ItemLog(statement, {
            seq: proof((item.evidence_id, seq)) for seq in seqs})))
    return note, tuple(out)


def _certificates(facts: BundleFacts, verify_url: str, explorer_url: str | None,
                  ticket: ExportTicket, deployment: Deployment | None = None) -> dict[str, bytes]:
    """The bundle's one certificate (HTML and PDF, at ``certificate.*``), from the same
    facts and checks as :func:`notary.certificate.render_certificates`: a case bundle's lists
    its items, an evidence bundle's is the item's certificate (its pages follow the one-line
    listing). A v3 bundle has no per-item certificates (docs/bundle-format.md §5)."""
    key_set, _ = parse_key_history(facts.keys)
    certified = []
    for item in facts.items:
        ticket.check()
        certified.append(CertificateFacts.verified(
            statement_jws=item.statement_jws, jwks=key_set, proof=list(item.proof),
            anchor=item.anchor, observed_anchor=item.observed_anchor,
            checked_at=facts.created_at,
        ))
    # fpdf2 (about 20 MB resident) only in a process that draws a PDF: see notary.certificate.
    from notary.certificate.pdf import case_pdf

    cert = case_certificate(certified, case_id=facts.case_id, verify_url=verify_url,
                            explorer_url=explorer_url, deployment=deployment)
    ticket.check()
    pages = facts.scope == "evidence"
    return {"certificate.html": case_html(cert, item_pages=pages).encode(),
            "certificate.pdf": case_pdf(cert, item_pages=pages)}


def export_bundle(
    ctx: Context, *, key: ApiKey, case_id: str | None = None,
    evidence_id: str | None = None, hashes_only: bool = False, explorer_url: str | None = None,
    certifier: QualifiedPerson | None = None, cancel: threading.Event | None = None,
    conduct: ConductAsked | None = None,
) -> BundleDownload:
    """Prepare the bundle of one item (``evidence_id``) or of a whole case (``case_id``), as
    the tenant of ``key`` sees it.

    With ``hashes_only`` the originals are left out (for privacy); everything else is the
    same. With ``certifier`` the bundle also carries a court certification of its records
    (``certification/``: JSON facts, the English and Chinese declarations, a PDF) for that
    qualified person to sign. With ``conduct`` (a case bundle) it carries the case's signed
    conduct report of its items (``conduct/``), which the verifier derives again from the
    statements. Records an ``exported`` audit event per item, as done by
    ``key``, before returning.
    The build holds a slot of the service's :class:`ExportGate` until the stream ends or
    :meth:`BundleDownload.close`; setting ``cancel`` stops it at the next item.
    Raises ``not_found`` (no such item or case for this tenant), NotFound ``not_anchored``
    (an item is still pending), InputError (``bundle_too_large``), NotaryError
    (``receipt_unavailable``), CertificateError, ExportBusy and ExportCancelled.
    """
    if (case_id is None) == (evidence_id is None):
        raise InputError("export either one evidence item or one case", code="export_invalid")
    if conduct is not None and case_id is None:
        raise InputError("a conduct report goes in a case bundle", code="export_invalid")
    rows = _rows(ctx, key, case_id, evidence_id)
    if (certifier is not None or conduct is not None) and len(rows) > MAX_ITEMS_V2:
        # The certification and the conduct report list every item within their own
        # document limits (docs/bundle-format.md §5.1, §9), sized for 1,000 items.
        raise InputError(f"case {case_id!r} has {len(rows)} items; a bundle with a "
                         f"certification or a conduct report holds at most {MAX_ITEMS_V2}",
                         code="bundle_too_large")
    ticket = ctx.exports.enter(_holder(Actor.of_key(key)), cancel)
    try:
        return _prepare(ctx, key, rows, case_id=case_id, evidence_id=evidence_id,
                        hashes_only=hashes_only, explorer_url=explorer_url,
                        certifier=certifier, ticket=ticket, conduct=conduct)
    except BaseException:
        ticket.release()
        raise


def _prepare(ctx: Context, key: ApiKey, rows: list[Evidence], *, case_id: str | None,
             evidence_id: str | None, hashes_only: bool, explorer_url: str | None,
             certifier: QualifiedPerson | None, ticket: ExportTicket,
             conduct: ConductAsked | None = None) -> BundleDownload:
    actor = Actor.of_key(key)
    scope: Scope = "evidence" if evidence_id is not None else "case"
    log_checkpoint, items = _log_part(ctx, _items(ctx, rows, ticket))
    tokens = [t for item in items if item.timestamp is not None
              for t in (item.timestamp, *item.renewals)]
    facts = BundleFacts(
        scope=scope, case_id=rows[0].case_id, created_at=datetime.now(UTC),
        hashes_only=hashes_only, items=items, keys=load_key_history(ctx.settings.keys_dir),
        tsa_chain=certificate_chain(tokens, ctx.tsa.trust_roots if ctx.tsa else ()),
        trust_root=_trust_root_document(ctx), log_checkpoint=log_checkpoint,
    )
    for item in facts.items:  # fails here, before the first byte, not in mid-stream
        ticket.check()
        item.documents()
    certificates = _certificates(facts, f"{ctx.settings.service_url.rstrip('/')}/verify",
                                 explorer_url, ticket, deployment_of(ctx))
    ticket.check()
    if certifier is not None:  # written with the certificates: documents rendered from facts
        certification = facts.certification(certifier)
        certificates |= declaration_files(certification)
        from notary.certificate.declaration import declaration_pdf  # fpdf2, as above

        certificates[CERTIFICATION_PDF_PATH] = declaration_pdf(certification)
    if conduct is not None:  # of exactly the bundle's items, so that both are one set
        certificates |= bundle_conduct(
            rows, ctx.signing_key, case_id=facts.case_id, period=conduct.period,
            rules=tenant_rules(ctx.settings.conduct_rules, key.tenant),
            verify_url=f"{ctx.settings.service_url.rstrip('/')}/verify")
    chain_id = facts.items[0].anchor.chain_id
    guide = render_guide(facts, certifier=certifier, conduct=conduct is not None,
                         local_chain=ctx.settings.embedded_chain or chain_id in DEV_CHAIN_IDS)
    certified = (f", certification for {certifier.name}" if certifier is not None else "") + (
        ", conduct report" if conduct is not None else "")
    ctx.record_exports(rows, actor, f"{scope} bundle{' (hashes only)' if hashes_only else ''}"
                                    f"{certified}")
    label = evidence_id if evidence_id is not None else f"case-{facts.case_id}"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "bundle"
    chunks = _stream(ctx, facts, rows, guide, certificates, ticket)
    # A stream that is dropped unread (its client gone before the first byte) frees its slot.
    weakref.finalize(chunks, ticket.release)
    return BundleDownload(f"notary-{safe}.zip", chunks, ticket=ticket)


def _checked(chunks: Iterable[bytes], ticket: ExportTicket) -> Iterator[bytes]:
    for chunk in chunks:
        if ticket.cancel.is_set():
            ticket.check()
        yield chunk


def _stream(ctx: Context, facts: BundleFacts, rows: Sequence[Evidence], guide: bytes,
            certificates: dict[str, bytes], ticket: ExportTicket) -> Iterator[bytes]:
    """The archive, member by member: mimetype, items (documents, original), RFC 3161
    timestamps, keys, guide, certificates, then the manifest and its signature. Stops (an
    incomplete archive, which can never verify) when the build is cancelled."""
    try:
        yield from write_bundle(facts, guide, certificates, ctx.signing_key,
                                lambda item, row: _checked(ctx.open_content(row), ticket),
                                rows, ticket)
    finally:
        ticket.release()


def write_bundle(facts: BundleFacts, guide: bytes, certificates: Mapping[str, bytes],
                 signing_key: SigningKey, original: Callable[[BundleItem, Any], Iterable[bytes]],
                 rows: Sequence[Any], ticket: ExportTicket | None = None) -> Iterator[bytes]:
    """The archive's bytes as they are written: mimetype, each item's documents (built as
    it is written) and original (``original(item, row)``'s chunks, when the bundle carries
    it), RFC 3161 timestamps, keys, guide, certificates, then the manifest and its
    signature. What is held meanwhile is the archive's directory and the manifest's list of
    files, never the items' documents or originals."""
    writer = BundleWriter(facts.created_at, facts.version)
    yield writer.take()
    for item, row in zip(facts.items, rows, strict=True):
        if ticket is not None:
            ticket.check()
        for path, data in item.documents().items():
            yield writer.add(path, data)
        if not facts.hashes_only and not item.shredded and not item.hash_only:
            yield from writer.add_stream(item.original_path, original(item, row), row.size,
                                         expected_sha256=row.sha256)
    for path, data in timestamp_documents(facts).items():
        yield writer.add(path, data)
    yield writer.add(KEYS_PATH, facts.keys)
    if facts.trust_root is not None:
        yield writer.add(TRUST_ROOT_PATH, facts.trust_root)
    if facts.log_checkpoint is not None:
        yield writer.add(LOG_CHECKPOINT_PATH, facts.log_checkpoint)
    yield writer.add(GUIDE_PATH, guide)
    for path in sorted(certificates):
        yield writer.add(path, certificates[path])
    manifest = build_manifest(facts, writer.digests)
    yield writer.add(MANIFEST_PATH, manifest)
    signature = signing_key.sign(manifest, MANIFEST_MEDIA_TYPE)
    yield writer.add(MANIFEST_SIGNATURE_PATH, signature.encode("ascii"))
    yield writer.finish()


def _trust_root_document(ctx: Context) -> bytes | None:
    """This deployment's signed trust root, carried in the bundles it exports (only reported
    by a verifier, never trusted by itself); None without a chain."""
    issued = _our_trust_root(ctx)
    return issued.document if issued is not None else None


def _our_trust_root(ctx: Context) -> IssuedTrustRoot | None:
    """The deployment's trust root: as the chain says now, or, while the node does not
    answer, the one last issued (NOTARY_HOME/trust-root.json)."""
    if ctx.chain is None:
        return None
    try:
        return current_trust_root(ctx)
    except ChainError:
        return read_stored_trust_root(ctx.settings)


def verify_uploaded_bundle(ctx: Context, data: bytes) -> BundleVerification:
    """Verify a bundle uploaded to ``POST /v1/verify``, held in memory only, against THIS
    deployment's trust root, with the chain questions asked of this service's own node: a
    bundle with a key, registry, chain or anchoring account that is not ours is answered
    "invalid", naming the part (issue 14 item 6). A service without a chain has no trust
    root: the result is then at best ``not_established``. RFC 3161 timestamps are checked
    against the TSA trust roots of ``NOTARY_TSA_CA_FILE``. Raises UnsafeBundle/UnreadableBundle."""
    from notary.chain.observe import chain_reader  # web3: only when a bundle is checked

    tsa_roots = ctx.tsa.trust_roots if ctx.tsa is not None else ()
    issued = _our_trust_root(ctx)
    reader = (chain_reader(ctx.chain.registry.w3, "this service's chain node")
              if ctx.chain is not None else None)
    return verify_bundle_file(io.BytesIO(data), trust_root=issued.verified if issued else None,
                              chain=reader, limits=UPLOAD_LIMITS, tsa_roots=tsa_roots)


#: The parts of a deployment a failed issuer check names: (pattern on "name: reason",
#: Chinese, English), the first that matches. The issuer checks are docs/bundle-format.md §6's
#: ``keys``, ``issuer.keys``, ``issuer.trust_root``, ``issuer.chain``, ``items[i].issuer``.
_PARTS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^(issuer\.)?keys:|registered on chain|retired on chain|signed by key",
                re.IGNORECASE), "签名密钥", "signing key"),
    (re.compile(r"^issuer\.trust_root:", re.IGNORECASE), "信任根", "trust root"),
    (re.compile(r"\bcode\b", re.IGNORECASE), "登记合约代码", "registry code"),
    (re.compile(r"registr", re.IGNORECASE), "登记合约", "registry"),
    (re.compile(r"sent by|anchoring account", re.IGNORECASE), "锚定账户", "anchoring account"),
    (re.compile(r"chain|block hash|genesis", re.IGNORECASE), "区块链", "chain"),
    (re.compile(r"anchor", re.IGNORECASE), "锚定记录", "anchor"),
)


def _part(name: str, reason: str) -> tuple[str, str]:
    text = f"{name}: {reason}"
    for pattern, zh, en in _PARTS:
        if pattern.search(text):
            return zh, en
    return "签发方", "issuer"


def this_service(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """Whether a bundle checked against our trust root was notarised by this service: from
    its issuer answer. Failed: "not notarised by this service" naming the parts (from the
    failed checks the issuer answer lists), in both languages. Passed: notarised here, by
    the operator the trust root names. Unknown (the node could not be asked) or no issuer
    answer: None."""
    answers = report.get("answers") or []
    issuer = next((a for a in answers if isinstance(a, Mapping)
                   and a.get("question") == "issuer"), None)
    if issuer is None or issuer.get("status") not in ("pass", "fail"):
        return None
    if issuer.get("status") == "pass":
        operator = (issuer.get("operator") or {}).get("name") or "this service's operator"
        return {"notarised_here": True, "parts": [], "reason": {
            "zh": f"是本服务存证的：签名密钥、登记合约和区块链均属本服务（运营方：{operator}）。",
            "en": f"Notarised by this service: its keys, registry and chain are this "
                  f"service's (operator: {operator})."}}
    failed = {c["name"]: c for c in report.get("checks") or [] if c.get("status") == "fail"}
    names = [n for n in issuer.get("checks") or [] if n in failed] or sorted(failed)
    zh_parts: list[str] = []
    en_parts: list[str] = []
    for name in names:
        zh, en = _part(name, str(failed[name].get("reason") or ""))
        if en not in en_parts:
            zh_parts.append(zh)
            en_parts.append(en)
    parts = [{"check": n, "part": _part(n, str(failed[n].get("reason") or ""))[1],
              "reason": failed[n]["reason"]} for n in names]
    zh_list = "、".join(zh_parts) or "签发方"
    en_list = ", ".join(en_parts) or "issuer"
    return {
        "notarised_here": False,
        "parts": parts,
        "reason": {
            "zh": f"不是本服务存证的：证据包的{zh_list}不是本服务的。",
            "en": f"Not notarised by this service: the bundle's {en_list} "
                  f"{'is' if len(en_parts) <= 1 else 'are'} not this service's.",
        },
    }
