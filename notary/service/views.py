"""What the API shows of one item a tenant may see: its record, proof, content and custody log.

Each read checks visibility first (another tenant's item is *not found*), so a caller makes
one call and renders what it gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from notary.core.verdict import AnchorFacts, Check
from notary.service.actors import Actor
from notary.service.context import Context
from notary.service.errors import NotFound
from notary.service.tenancy import visible_evidence
from storage.db import ApiKey, Batch, CustodyRecord, Evidence, SupersededAnchor


@dataclass(frozen=True)
class EvidenceView:
    """The item, its anchor once anchored and the anchors the chain no longer has."""

    row: Evidence
    anchor: AnchorFacts | None
    superseded: list[SupersededAnchor]


@dataclass(frozen=True)
class ProofView:
    """An anchored item's inclusion proof, its anchor, batch and superseded anchors."""

    row: Evidence
    leaf: str
    proof: list[bytes]
    root: bytes
    anchor: AnchorFacts
    batch: Batch | None
    superseded: list[SupersededAnchor]


@dataclass(frozen=True)
class CustodyView:
    """Every act on the item, and the result of checking its log."""

    row: Evidence
    events: list[CustodyRecord]
    checks: list[Check]


def evidence_view(ctx: Context, tenant: str, evidence_id: str) -> EvidenceView:
    row = visible_evidence(ctx.engine, tenant, evidence_id)
    return EvidenceView(row, ctx.anchor_of(ctx.get_batch(row.batch_id)), ctx.superseded_of(row))


def proof_view(ctx: Context, tenant: str, evidence_id: str) -> ProofView:
    """NotFound ``not_anchored`` while the item is pending."""
    row = visible_evidence(ctx.engine, tenant, evidence_id)
    proof = ctx.proof_of(row)
    if proof is None or row.leaf is None:
        raise NotFound("this evidence is not anchored yet; retry after its anchor deadline at "
                       "the latest", code="not_anchored", status=row.status)
    steps, root, anchor = proof
    return ProofView(row, row.leaf, steps, root, anchor, ctx.get_batch(row.batch_id),
                     ctx.superseded_of(row))


def read_content(ctx: Context, key: ApiKey, evidence_id: str) -> tuple[Evidence, Iterator[bytes]]:
    """The item and its decrypted original as a stream; the read is recorded as viewed."""
    row = visible_evidence(ctx.engine, key.tenant, evidence_id)
    stream = ctx.open_content(row)
    ctx.record_audit(row.id, "viewed", Actor.of_key(key), "content read", tenant=key.tenant)
    return row, stream


def custody_view(ctx: Context, tenant: str, evidence_id: str) -> CustodyView:
    row = visible_evidence(ctx.engine, tenant, evidence_id)
    return CustodyView(row, ctx.custody.events(row.id), ctx.custody.verify(row, ctx.jwks()))
