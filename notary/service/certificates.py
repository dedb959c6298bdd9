"""Certificates of stored evidence: gather each item's facts (its signed statement, Merkle
proof, the anchor as recorded and as the chain records it now) and verify them, for
:mod:`notary.certificate` to render. Nothing is certified that does not verify, and a caller
gets certificates only of evidence its tenant may see (others are answered *not found*).
"""

from __future__ import annotations

from datetime import UTC, datetime

from notary.certificate import CertificateError, CertificateFacts
from notary.chain.errors import ChainError
from notary.core.verdict import AnchorFacts
from notary.service.actors import Actor
from notary.service.context import Context
from notary.service.errors import NotFound
from notary.service.tenancy import case_items, share_key, shared_item, visible_evidence
from storage.db import ApiKey, Evidence

__all__ = ["case_certificate_facts", "item_certificate_facts", "shared_certificate_facts"]


def _facts(ctx: Context, row: Evidence, checked_at: datetime) -> CertificateFacts | None:
    """The item's verified facts, or None while it is not anchored."""
    proof = ctx.proof_of(row)
    if proof is None:
        return None
    steps, root, anchor = proof
    observed: AnchorFacts | None = None
    if ctx.chain is not None:
        try:
            observed = ctx.chain.registry.find_anchor(root)
        except ChainError:
            observed = None  # shown on the certificate as "not checked"
        else:
            if observed is None:
                raise CertificateError(
                    f"The chain does not record the Merkle root of evidence {row.id!r}'s "
                    "batch, so no certificate is issued.", evidence_id=row.id)
    return CertificateFacts.verified(
        statement_jws=row.statement_jws, jwks=ctx.jwks(), proof=steps, anchor=anchor,
        observed_anchor=observed, checked_at=checked_at,
    )


def item_certificate_facts(ctx: Context, evidence_id: str, *,
                           key: ApiKey) -> CertificateFacts:
    """The facts for one item's certificate, recorded in the audit trail as issued to
    ``key``. Raises ``not_found`` (no such item, or not visible to the key's tenant),
    :class:`NotFound` ``not_anchored`` while pending, and :class:`CertificateError` (the
    evidence does not verify)."""
    row = visible_evidence(ctx.engine, key.tenant, evidence_id)
    facts = _facts(ctx, row, datetime.now(UTC))
    if facts is None:
        raise NotFound("this evidence is not anchored yet, so there is nothing to certify; "
                       "retry after its anchor deadline at the latest", code="not_anchored",
                       status=row.status)
    ctx.record_audit(row.id, "certificate_issued", Actor.of_key(key))
    return facts


def shared_certificate_facts(ctx: Context, token: str, evidence_id: str) -> CertificateFacts:
    """One item's certificate facts through a share link (issued to the link's reader);
    NotFound for an item outside the shared case."""
    link, row = shared_item(ctx, token, evidence_id)
    return item_certificate_facts(ctx, row.id, key=share_key(link))


def case_certificate_facts(
    ctx: Context, case_id: str, *, key: ApiKey
) -> tuple[list[CertificateFacts], int]:
    """The facts for a case's certificate: the anchored items of the case the key's tenant
    knows as ``case_id``, in case order, and how many items are left out because they are not
    anchored yet. Raises ``not_found`` (no such case for this tenant) and :class:`NotFound`
    ``not_anchored`` when no item is anchored yet."""
    rows = case_items(ctx.engine, key.tenant, case_id)
    checked_at = datetime.now(UTC)
    items = [f for f in (_facts(ctx, row, checked_at) for row in rows) if f is not None]
    if not items:
        raise NotFound("no evidence of this case is anchored yet, so there is nothing to "
                       "certify", code="not_anchored", case_id=case_id)
    for f in items:
        ctx.record_audit(f.statement.evidence_id, "certificate_issued", Actor.of_key(key))
    return items, len(rows) - len(items)
