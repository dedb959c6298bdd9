"""Certificate facts made with the real core (keys, statements, trees), without a chain."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from notary.certificate import CertificateFacts
from notary.core.merkle import MerkleTree, statement_leaf
from notary.core.signing import SigningKey, jwks, sign_statement
from notary.core.statement import Statement
from notary.core.verdict import AnchorFacts

CASE = "HX-2026-1128-ZW"
CHECKED_AT = datetime(2026, 11, 29, 12, 5, 0, tzinfo=UTC)
VERIFY_URL = "https://notary.example.cn/verify"
TENANT = "华信资产管理有限公司"
SUBMITTER = "催收员 工号 1024"
FILES = [
    ("call-2026-11-28-0930.wav", "call_recording", "audio/wav", b"RIFF....WAVE synthetic call"),
    ("notice-2026-11-28.pdf", "notice", "application/pdf", b"%PDF-1.4 synthetic notice"),
    ("还款协议-2026-11-28.pdf", "agreement", "application/pdf", b"%PDF-1.4 synthetic agreement"),
]


@dataclass
class SignedCase:
    """A case of three signed statements in one anchored batch."""

    key_set: dict[str, Any]
    tokens: list[str]
    statements: list[Statement]
    tree: MerkleTree
    anchor: AnchorFacts

    def proof(self, i: int) -> list[bytes]:
        s = self.statements[i]
        return self.tree.proof_for(statement_leaf(s.digest(), bytes.fromhex(s.sha256)))

    def facts(self, i: int, *, observed: AnchorFacts | None | str = "same") -> CertificateFacts:
        return CertificateFacts.verified(
            statement_jws=self.tokens[i], jwks=self.key_set, proof=self.proof(i),
            anchor=self.anchor, observed_anchor=self.anchor if observed == "same" else observed,  # type: ignore[arg-type]
            checked_at=CHECKED_AT)


def signed_case() -> SignedCase:
    key = SigningKey.from_seed(hashlib.sha256(b"notary certificate test key").digest())
    statements: list[Statement] = []
    prev: str | None = None
    for seq, (name, kind, media, data) in enumerate(FILES, start=1):
        statement = Statement(
            evidence_id=f"ev_{hashlib.sha256(name.encode()).hexdigest()[:32]}", case_id=CASE,
            case_seq=seq, prev_statement=prev, kind=kind, media_type=media, size=len(data),
            sha256=hashlib.sha256(data).hexdigest(), file_name=name,
            captured_at="2026-11-28T09:30:00+08:00" if seq == 1 else None,
            received_at=f"2026-11-29T12:00:0{seq}.123456Z", submitter="apikey:0f3c9a7e",
            content_address="bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
            # The first item predates the identity fields (issue 14): it has neither.
            tenant_name=TENANT if seq > 1 else None,
            submitter_name=SUBMITTER if seq > 1 else None,
        )
        statements.append(statement)
        prev = statement.digest_hex()
    tree = MerkleTree.build([statement_leaf(s.digest(), bytes.fromhex(s.sha256))
                             for s in statements])
    anchor = AnchorFacts(
        chain_id=31337, contract="0x5FbDB2315678afecb367f032d93F642f64180aa3", batch_id=4,
        root=tree.root, block_number=12, block_hash="0x" + "ab" * 32,
        block_timestamp=1796040005, tx_hash="0x" + "cd" * 32,
    )
    return SignedCase(jwks([key.public_jwk()]), [sign_statement(s, key) for s in statements],
                      statements, tree, anchor)
