"""A synthetic anchored case of any size, as an export sees it (``BundleFacts``): signed
statements linked in case order, receipts, custody logs (registered, anchored), Merkle
batches of 256 with their anchors and raw receipts, one signing key. Every item verifies
offline; the chain checks are skipped (no node). Used to measure the export and the offline
verification of a large case without notarising thousands of files over HTTP first."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from notary.core.bundle import BATCH_ANCHORED_TOPIC, BundleFacts, BundleItem, KeyPeriod, key_history
from notary.core.custody import CustodyAct, CustodyEvent, sign_event
from notary.core.merkle import MerkleTree, statement_leaf, to_hex32
from notary.core.signing import SigningKey, sign_receipt, sign_statement
from notary.core.statement import EvidenceKind, Statement
from notary.core.verdict import AnchorFacts

BATCH = 256
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CREATED = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


def _raw_receipt(anchor: AnchorFacts) -> dict[str, Any]:
    return {
        "transactionHash": anchor.tx_hash, "blockHash": anchor.block_hash,
        "blockNumber": hex(anchor.block_number), "blockTimestamp": hex(anchor.block_timestamp),
        "status": "0x1", "to": anchor.contract.lower(), "contractAddress": None,
        "from": "0x" + hashlib.sha256(b"bench anchorer").hexdigest()[:40],
        "logs": [{"address": anchor.contract.lower(), "data": "0x" + "00" * 64,
                  "topics": [BATCH_ANCHORED_TOPIC, f"0x{anchor.batch_id:064x}",
                             to_hex32(anchor.root)], "removed": False}],
    }


def synthetic_case(n: int, *, case_id: str = "HX-BENCH-CASE",
                   key: SigningKey | None = None) -> BundleFacts:
    """A hashes-only case bundle's facts of ``n`` items (deterministic for a given key)."""
    key = key or SigningKey.from_seed(hashlib.sha256(b"bench case key (public)").digest())
    statements: list[Statement] = []
    for seq in range(1, n + 1):
        sha = hashlib.sha256(f"bench file {seq}".encode()).hexdigest()
        statements.append(Statement(
            evidence_id=f"ev_{seq:032x}", case_id=case_id, case_seq=seq,
            prev_statement=statements[-1].digest_hex() if statements else None,
            kind=EvidenceKind.CALL_RECORDING, media_type="audio/wav", size=123_456, sha256=sha,
            file_name=f"call-{seq}.wav",
            received_at=f"2026-11-29T{12 + seq // 36000 % 10:02d}:00:00.{seq % 1_000_000:06d}Z",
            submitter="apikey:bench"))
    items: list[BundleItem] = []
    for start in range(0, n, BATCH):
        batch = statements[start:start + BATCH]
        leaves = [statement_leaf(s.digest(), bytes.fromhex(s.sha256)) for s in batch]
        tree = MerkleTree.build(leaves)
        batch_id = start // BATCH + 1
        anchor = AnchorFacts(
            chain_id=31337, contract=CONTRACT, batch_id=batch_id, root=tree.root,
            block_number=100 + batch_id,
            block_hash="0x" + hashlib.sha256(f"block {batch_id}".encode()).hexdigest(),
            block_timestamp=1_796_040_300 + batch_id * 60,
            tx_hash="0x" + hashlib.sha256(f"tx {batch_id}".encode()).hexdigest())
        raw = _raw_receipt(anchor)
        for s, leaf in zip(batch, leaves, strict=True):
            registered = CustodyEvent(
                evidence_id=s.evidence_id, seq=1, act=CustodyAct.REGISTERED,
                actor="apikey:bench", tenant="bench", at=s.received_at,
                detail={"statement_sha256": s.digest_hex(), "case_id": s.case_id,
                        "case_seq": s.case_seq, "submitter_signature": "none"},
                prev_event=None)
            anchored = CustodyEvent(
                evidence_id=s.evidence_id, seq=2, act=CustodyAct.ANCHORED,
                actor="notary-service", tenant="bench", at="2026-11-30T00:00:00.000000Z",
                detail={"chain_id": anchor.chain_id, "contract": anchor.contract,
                        "batch_id": anchor.batch_id, "tx_hash": anchor.tx_hash,
                        "block_number": anchor.block_number, "root": to_hex32(anchor.root)},
                prev_event=registered.digest().hex())
            items.append(BundleItem(
                evidence_id=s.evidence_id, case_seq=s.case_seq, file_name=s.file_name,
                statement_jws=sign_statement(s, key),
                receipt_jws=sign_receipt(s.digest_hex(), s.evidence_id,
                                         "2026-11-30T12:00:00.000000Z",
                                         s.received_at, key),
                proof=tuple(tree.proof_for(leaf)), anchor=anchor, raw_receipt=raw,
                custody=(sign_event(registered, key), sign_event(anchored, key))))
    keys = key_history([(key.public_jwk(), KeyPeriod(key.kid, "2026-11-01T00:00:00.000000Z"))])
    return BundleFacts(scope="case", case_id=case_id, created_at=CREATED, hashes_only=True,
                       items=tuple(items), keys=keys)
