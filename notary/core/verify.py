"""Verification of one piece of evidence, end to end, from facts given as arguments.

Nothing is fetched here: the caller supplies the statement JWS, the published keys, the
file's digest, the Merkle proof and root, the anchor as claimed in the proof bundle and,
if it consulted a chain node, the anchor as observed on chain. Bad evidence never raises:
every problem becomes a failed :class:`Check` with a sentence saying what is wrong.
Exceptions are only for programmer errors (wrong argument types).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .digest import FileDigest
from .errors import NotaryError, ProofError, RootMismatchError, SignatureError
from .merkle import LeafType, statement_leaf, to_hex32, verify_proof
from .signing import STATEMENT, Signed
from .statement import Statement
from .verdict import AnchorFacts, Check, CheckStatus, Verdict

__all__ = ["NEVER_SEEN", "AnchorFacts", "VerifiedEvidence", "verify_evidence"]

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _utc(timestamp: int) -> str:
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"unix time {timestamp}"


@dataclass
class VerifiedEvidence(Verdict):
    """The verdict of :func:`verify_evidence` and what it verified, so that a caller with
    more to check (a bundle, a certificate) builds on it instead of verifying the statement
    again. ``statement``, ``statement_kid`` (the key that signed it) and ``payload`` (the
    signed bytes) are None unless the statement's signature verified."""

    statement: Statement | None = None
    statement_kid: str | None = None
    payload: bytes | None = None


def _check_signature(
    statement_jws: str, jwks: Mapping[str, Any]
) -> tuple[Check, Signed[Statement] | None]:
    try:
        signed = STATEMENT.verify(statement_jws, jwks)
    except SignatureError as exc:
        return Check(
            "statement_signature",
            _FAIL,
            f"The statement is not validly signed by a published notary key. {exc.message}",
        ), None
    except NotaryError as exc:
        return Check(
            "statement_signature",
            _FAIL,
            "The signature is valid, but the signed content is not a well-formed notary "
            f"statement. {exc.message}",
        ), None
    statement = signed.document
    return Check(
        "statement_signature",
        _PASS,
        f"The statement for evidence {statement.evidence_id!r} (case {statement.case_id!r}, "
        f"entry {statement.case_seq}) carries a valid Ed25519 signature by the published "
        f"notary key {signed.kid}.",
    ), signed


#: What every check of a hash-only statement's file says first (docs/api.md, hash-only deposits).
NEVER_SEEN = ("本服务从未见过该文件，仅收到存证方提交的 SHA-256 / The file was never seen by this "
              "service: the depositor sent only its SHA-256 and size.")


def _check_hash_only_file(statement: Statement, file_digest: FileDigest | None) -> Check:
    """file_hash of a hash-only deposit: never "checked by the service". With the file in
    hand, the verifier compares it with the declared hash; without it, nothing can be said."""
    if file_digest is None:
        return Check(
            "file_hash",
            _SKIP,
            f"{NEVER_SEEN} 服务未核验文件 / Not checked by the service. Compare your copy of "
            f"{statement.file_name!r} with the declared SHA-256 {statement.sha256} and size "
            f"{statement.size} bytes (e.g. with sha256sum).",
        )
    if file_digest.hex != statement.sha256 or file_digest.size != statement.size:
        return Check(
            "file_hash",
            _FAIL,
            f"{NEVER_SEEN} The file supplied here (SHA-256 {file_digest.hex}, "
            f"{file_digest.size} bytes) is not the one whose hash was deposited "
            f"(SHA-256 {statement.sha256}, {statement.size} bytes).",
        )
    return Check(
        "file_hash",
        _PASS,
        f"{NEVER_SEEN} The file supplied to this verification has the deposited SHA-256 "
        f"({file_digest.hex}) and size ({file_digest.size} bytes): compared here, by the "
        "verifier, not by the service.",
    )


def _sm3_note(statement: Statement, file_digest: FileDigest) -> str:
    """What a passing file check says of SM3, when the statement records one."""
    if statement.sm3 is None:
        return ""
    if file_digest.sm3 is None:
        return (f" The statement also records the SM3 {statement.sm3}; it was not computed "
                "here (this verifier's OpenSSL has no SM3) / 声明另记载 SM3 摘要，本机未核对.")
    return f" Its SM3 ({file_digest.sm3_hex}) matches too / SM3 摘要亦一致."


def _check_file(statement: Statement, file_digest: FileDigest | None) -> Check:
    if statement.hash_only:
        return _check_hash_only_file(statement, file_digest)
    if file_digest is None:
        return Check(
            "file_hash",
            _SKIP,
            "No file was supplied, so it could not be compared with the statement.",
        )
    if file_digest.hex != statement.sha256:
        return Check(
            "file_hash",
            _FAIL,
            f"The file's SHA-256 ({file_digest.hex}) differs from the SHA-256 recorded in the "
            f"statement ({statement.sha256}); it is not the file that was notarised.",
        )
    if file_digest.size != statement.size:
        return Check(
            "file_hash",
            _FAIL,
            f"The file's SHA-256 matches the statement, but its size ({file_digest.size} "
            f"bytes) differs from the size recorded in the statement ({statement.size} bytes).",
        )
    if statement.sm3 is not None and file_digest.sm3 is not None \
            and file_digest.sm3_hex != statement.sm3:
        return Check(
            "file_hash",
            _FAIL,
            f"The file's SHA-256 matches the statement, but its SM3 ({file_digest.sm3_hex}) "
            f"differs from the SM3 recorded in the statement ({statement.sm3}) / 文件的 SM3 "
            "摘要与声明记载的不一致.",
        )
    return Check(
        "file_hash",
        _PASS,
        f"The file's SHA-256 ({file_digest.hex}) and size ({file_digest.size} bytes) match "
        f"the statement.{_sm3_note(statement, file_digest)}",
    )


def _check_merkle(
    statement: Statement,
    proof: Sequence[bytes] | None,
    root: bytes | None,
    leaf_type: LeafType,
) -> Check:
    if proof is None:
        return Check(
            "merkle_proof",
            _SKIP,
            "No Merkle proof was supplied, so inclusion in an anchored batch could not be "
            "checked.",
        )
    if root is None:
        return Check(
            "merkle_proof",
            _SKIP,
            "No Merkle root was supplied, so inclusion in an anchored batch could not be "
            "checked.",
        )
    leaf = statement_leaf(statement.digest(), bytes.fromhex(statement.sha256), leaf_type)
    try:
        verify_proof(root, leaf, proof)
    except RootMismatchError as exc:
        return Check(
            "merkle_proof",
            _FAIL,
            f"The Merkle proof does not lead from the statement's leaf {_hex(leaf)} to the "
            f"root {_hex(exc.expected_root)}; it leads to {_hex(exc.computed_root)}.",
        )
    except ProofError as exc:
        return Check("merkle_proof", _FAIL, f"The Merkle proof is malformed. {exc.message}")
    return Check(
        "merkle_proof",
        _PASS,
        f"The statement's leaf {_hex(leaf)} is included, by the supplied proof of "
        f"{len(proof)} step(s), in the Merkle tree with root {_hex(root)}.",
    )


def _check_anchor_root(claimed: AnchorFacts | None, root: bytes | None) -> Check:
    if claimed is None:
        return Check(
            "anchor_root",
            _SKIP,
            "No anchor record was supplied, so it is not known where the Merkle root was "
            "anchored.",
        )
    if root is None:
        return Check(
            "anchor_root",
            _SKIP,
            "No Merkle root was supplied, so it could not be compared with the anchor record.",
        )
    if claimed.root != root:
        return Check(
            "anchor_root",
            _FAIL,
            f"The anchor record is for root {_hex(claimed.root)}, not for the Merkle root "
            f"{_hex(root)} of the proof.",
        )
    return Check(
        "anchor_root",
        _PASS,
        f"The anchor record (batch {claimed.batch_id} on chain {claimed.chain_id}) is for the "
        f"Merkle root {to_hex32(root)}.",
    )


def _check_chain(claimed: AnchorFacts | None, observed: AnchorFacts | None) -> Check:
    if observed is None:
        return Check(
            "chain_anchor",
            _SKIP,
            "The anchor was not checked against a chain node (offline).",
        )
    if claimed is None:
        return Check(
            "chain_anchor",
            _SKIP,
            "No anchor record was supplied, so there was nothing to compare with the chain.",
        )
    comparisons: list[tuple[str, object, object]] = [
        ("chain id", claimed.chain_id, observed.chain_id),
        ("contract address", claimed.contract.lower(), observed.contract.lower()),
        ("batch id", claimed.batch_id, observed.batch_id),
        ("Merkle root", _hex(claimed.root), _hex(observed.root)),
        ("block number", claimed.block_number, observed.block_number),
        ("block hash", claimed.block_hash.lower(), observed.block_hash.lower()),
        ("block timestamp", claimed.block_timestamp, observed.block_timestamp),
        ("transaction hash", claimed.tx_hash.lower(), observed.tx_hash.lower()),
    ]
    differences = [
        f"{what} (claimed {a}, on chain {b})" for what, a, b in comparisons if a != b
    ]
    if differences:
        return Check(
            "chain_anchor",
            _FAIL,
            "The chain's record of the anchor differs from the anchor record in: "
            + "; ".join(differences)
            + ".",
        )
    return Check(
        "chain_anchor",
        _PASS,
        f"Chain {observed.chain_id} records, in contract {observed.contract}, batch "
        f"{observed.batch_id} with Merkle root {_hex(observed.root)} in block "
        f"{observed.block_number} ({observed.block_hash}) of {_utc(observed.block_timestamp)}, "
        f"transaction {observed.tx_hash}.",
    )


def verify_evidence(
    *,
    statement_jws: str,
    jwks: Mapping[str, Any],
    file_digest: FileDigest | None,
    proof: Sequence[bytes] | None,
    root: bytes | None,
    claimed_anchor: AnchorFacts | None,
    observed_anchor: AnchorFacts | None,
    leaf_type: LeafType = LeafType.STATEMENT,
) -> VerifiedEvidence:
    """Verify a statement, its file, its Merkle inclusion and its anchor.

    Returns a :class:`Verdict` with the checks ``statement_signature``, ``file_hash``,
    ``merkle_proof``, ``anchor_root`` and ``chain_anchor``, in that order, and what it
    verified (:class:`VerifiedEvidence`). Missing inputs make the corresponding check SKIP
    with the reason; they never raise.
    """
    checks: list[Check] = []

    # Step 1: the statement must be signed by one of the published notary keys, and its
    # signed bytes must be a canonical v1 statement. Everything about the file and the
    # tree is read from this statement, so if it fails, steps 2 and 3 cannot be made.
    signature_check, signed = _check_signature(statement_jws, jwks)
    statement = signed.document if signed is not None else None
    checks.append(signature_check)

    if statement is None:
        why = "Not checked, because the statement could not be verified (see above)."
        checks.append(Check("file_hash", _SKIP, why))
        checks.append(Check("merkle_proof", _SKIP, why))
    else:
        # Step 2: the file in hand must have the SHA-256 and size the statement records.
        checks.append(_check_file(statement, file_digest))
        # Step 3: recompute the leaf from the statement (leaf type, file SHA-256,
        # statement SHA-256) and walk the proof up to the given root.
        checks.append(_check_merkle(statement, proof, root, leaf_type))

    # Step 4: the claimed anchor must be for the same root.
    checks.append(_check_anchor_root(claimed_anchor, root))

    # Step 5: the anchor as observed on chain (supplied by the caller) must agree with the
    # claimed one in every fact: chain, contract, batch, root, block, time, transaction.
    checks.append(_check_chain(claimed_anchor, observed_anchor))

    if signed is None:
        return VerifiedEvidence(checks)
    return VerifiedEvidence(checks, statement=signed.document, statement_kid=signed.kid,
                            payload=signed.payload)
