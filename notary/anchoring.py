"""One-shot notarisation of local files (``notary anchor``): hash, sign, batch, anchor.

This is the smallest complete path through the proof core and the chain adapter; the service
(issue 3) does the same work durably and in batches.
"""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from notary.chain.registry import Registry
from notary.core.digest import FileDigest, digest_stream
from notary.core.merkle import MerkleTree, statement_leaf, to_hex32
from notary.core.signing import SigningKey, sign_statement
from notary.core.statement import EvidenceKind, Statement
from notary.core.validate import validate_file_name
from notary.core.verdict import AnchorFacts
from notary.localfiles import check_readable_file

__all__ = ["AnchoredFile", "anchor_files", "rfc3339_now", "statements_for_files"]


def rfc3339_now() -> str:
    """The server clock as RFC 3339 UTC with microseconds (the statement's ``received_at``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AnchoredFile:
    path: Path
    digest: FileDigest
    statement_jws: str
    leaf: bytes
    proof: list[bytes]
    anchor: AnchorFacts

    def to_json(self, rpc_url: str) -> dict[str, object]:
        return {
            "file": str(self.path),
            "sha256": self.digest.hex,
            "size": self.digest.size,
            "statement": self.statement_jws,
            "leaf": to_hex32(self.leaf),
            "proof": [to_hex32(p) for p in self.proof],
            "root": to_hex32(self.anchor.root),
            "batch_id": self.anchor.batch_id,
            "tx_hash": self.anchor.tx_hash,
            "block_number": self.anchor.block_number,
            "block_hash": self.anchor.block_hash,
            "block_timestamp": self.anchor.block_timestamp,
            "chain_id": self.anchor.chain_id,
            "contract": self.anchor.contract,
            "rpc_url": rpc_url,
        }


def statements_for_files(
    paths: list[Path], key: SigningKey, *, case_id: str, kind: EvidenceKind, submitter: str
) -> list[tuple[Path, FileDigest, Statement, str]]:
    """Hash and sign every file; all inputs are checked before any is hashed."""
    for path in paths:
        check_readable_file(path)
        validate_file_name(path.name)
    out = []
    prev: bytes | None = None
    for seq, path in enumerate(paths, start=1):
        with path.open("rb") as fh:
            digest = digest_stream(fh)
        statement = Statement(
            evidence_id=f"ev_{uuid.uuid4().hex}",
            case_id=case_id,
            case_seq=seq,
            prev_statement=prev.hex() if prev else None,
            kind=kind,
            media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            size=digest.size,
            sha256=digest.hex,
            file_name=path.name,
            captured_at=None,
            received_at=rfc3339_now(),
            submitter=submitter,
            content_address=None,
        )
        prev = statement.digest()
        out.append((path, digest, statement, sign_statement(statement, key)))
    return out


def anchor_files(
    paths: list[Path], key: SigningKey, registry: Registry, *, case_id: str,
    kind: EvidenceKind = EvidenceKind.OTHER, submitter: str = "cli",
) -> list[AnchoredFile]:
    """Notarise ``paths`` as one batch anchored on ``registry``; nothing is anchored on bad
    input."""
    signed = statements_for_files(paths, key, case_id=case_id, kind=kind, submitter=submitter)
    leaves = [statement_leaf(st.digest(), digest.sha256) for _, digest, st, _ in signed]
    tree = MerkleTree.build(leaves)
    anchor = registry.anchor(tree.root, len(leaves))
    return [
        AnchoredFile(path, digest, jws, leaf, tree.proof_for(leaf), anchor)
        for (path, digest, _, jws), leaf in zip(signed, leaves, strict=True)
    ]
