"""The two documents of a bundle item that tie its statement to the chain: the inclusion
proof (``proof.json``) and the anchor record (``anchor.json``), which carries the node's
transaction receipt (``eth_getTransactionReceipt``) of the anchoring transaction.

CONSENSUS-CRITICAL: their fields are the format (docs/bundle-format.md §4). Reading them
never reaches a chain: the transaction receipt is compared with the anchor record as data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..errors import NotaryError
from ..merkle import (
    LEAF_ENCODING,
    MAX_PROOF_LENGTH,
    from_hex32,
    keccak256,
    leaf_values,
    statement_leaf,
    to_hex32,
)
from ..statement import Statement, parse_strict_json
from ..verdict import AnchorFacts
from .layout import MAX_DOCUMENT_BYTES

__all__ = [
    "BATCH_ANCHORED_TOPIC",
    "ProofDocument",
    "anchor_document",
    "hex_quantity",
    "parse_anchor_document",
    "parse_proof_document",
    "proof_document",
    "tx_receipt_differences",
]

#: ``topics[0]`` of ``BatchAnchored(uint64 indexed batchId, bytes32 indexed root,
#: uint32 leafCount, bytes32 previousRoot)`` (docs/formats.md §9.4).
BATCH_ANCHORED_TOPIC: Final = "0x" + keccak256(
    b"BatchAnchored(uint64,bytes32,uint32,bytes32)"
).hex()

_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_QUANTITY = re.compile(r"0x(0|[1-9a-fA-F][0-9a-fA-F]{0,15})")
_PROOF_FIELDS = frozenset({"leaf_encoding", "leaf_values", "leaf", "proof", "root"})
_ANCHOR_FIELDS = frozenset(
    {"chain_id", "contract", "batch_id", "root", "tx_hash", "block_number", "block_hash",
     "block_timestamp", "raw_receipt"}
)


# -- proof.json --------------------------------------------------------------------------------


def proof_document(statement: Statement, proof: Sequence[bytes], root: bytes) -> dict[str, Any]:
    """``proof.json`` of a statement: its leaf, the leaf's values, the steps and the root."""
    digest, sha256 = statement.digest(), bytes.fromhex(statement.sha256)
    return {
        "leaf_encoding": list(LEAF_ENCODING),
        "leaf_values": leaf_values(digest, sha256),
        "leaf": to_hex32(statement_leaf(digest, sha256)),
        "proof": [to_hex32(p) for p in proof],
        "root": to_hex32(root),
    }


@dataclass(frozen=True)
class ProofDocument:
    """``proof.json`` as read: the steps, the root, and the leaf and values it states."""

    proof: list[bytes]
    root: bytes
    leaf_values: list[Any]
    leaf: bytes


def parse_proof_document(raw: bytes) -> ProofDocument:
    """Parse ``proof.json`` strictly (its members, its encoding, at most
    :data:`~notary.core.merkle.MAX_PROOF_LENGTH` steps). Raises :class:`NotaryError`
    (``proof_document_invalid``); whether the proof holds is the verifier's question."""
    doc = parse_strict_json(raw, max_bytes=MAX_DOCUMENT_BYTES)
    if not isinstance(doc, dict) or set(doc) != _PROOF_FIELDS:
        raise NotaryError(f"It must have exactly the members {', '.join(sorted(_PROOF_FIELDS))}.",
                          code="proof_document_invalid")
    if doc["leaf_encoding"] != list(LEAF_ENCODING):
        raise NotaryError("Its leaf_encoding is not [\"uint8\", \"bytes32\", \"bytes32\"].",
                          code="proof_document_invalid")
    steps = doc["proof"]
    if not isinstance(steps, list) or len(steps) > MAX_PROOF_LENGTH:
        raise NotaryError(f"Its proof is not a list of at most {MAX_PROOF_LENGTH} steps.",
                          code="proof_document_invalid")
    values = doc["leaf_values"]
    if not isinstance(values, list) or len(values) != 3:
        raise NotaryError("Its leaf_values are not three values.", code="proof_document_invalid")
    try:
        proof = [from_hex32(s) for s in steps]
        return ProofDocument(proof, from_hex32(doc["root"]), values, from_hex32(doc["leaf"]))
    except NotaryError as exc:
        raise NotaryError(f"A value is not 0x followed by 64 hex digits ({exc.message})",
                          code="proof_document_invalid") from exc


# -- anchor.json -------------------------------------------------------------------------------


def anchor_document(anchor: AnchorFacts, tx_receipt: Mapping[str, Any]) -> dict[str, Any]:
    """``anchor.json``: the anchor's facts and the node's transaction receipt as it was."""
    return {
        "chain_id": anchor.chain_id,
        "contract": anchor.contract,
        "batch_id": anchor.batch_id,
        "root": to_hex32(anchor.root),
        "tx_hash": anchor.tx_hash,
        "block_number": anchor.block_number,
        "block_hash": anchor.block_hash,
        "block_timestamp": anchor.block_timestamp,
        "raw_receipt": dict(tx_receipt),
    }


def parse_anchor_document(raw: bytes) -> tuple[AnchorFacts, dict[str, Any]]:
    """Parse ``anchor.json`` strictly: the anchor's facts and the transaction receipt it
    carries. Raises :class:`NotaryError` (``anchor_document_invalid``)."""
    doc = parse_strict_json(raw, max_bytes=MAX_DOCUMENT_BYTES)
    if not isinstance(doc, dict) or set(doc) != _ANCHOR_FIELDS:
        raise NotaryError(
            f"It must have exactly the members {', '.join(sorted(_ANCHOR_FIELDS))}.",
            code="anchor_document_invalid",
        )
    if not isinstance(doc["raw_receipt"], dict):
        raise NotaryError("Its raw_receipt is not a JSON object.", code="anchor_document_invalid")
    root = doc["root"]
    if not isinstance(root, str) or _HEX32.fullmatch(root) is None:
        raise NotaryError("Its root is not 0x followed by 64 hex digits.",
                          code="anchor_document_invalid")
    anchor = AnchorFacts(
        chain_id=doc["chain_id"], contract=doc["contract"], batch_id=doc["batch_id"],
        root=bytes.fromhex(root[2:]), block_number=doc["block_number"],
        block_hash=doc["block_hash"], block_timestamp=doc["block_timestamp"],
        tx_hash=doc["tx_hash"],
    )
    return anchor, doc["raw_receipt"]


def hex_quantity(value: object) -> int | None:
    """An Ethereum JSON-RPC quantity (``0x`` + hex, no leading zero) as an int, else None."""
    if isinstance(value, str) and _QUANTITY.fullmatch(value):
        return int(value, 16)
    return None


def tx_receipt_differences(anchor: AnchorFacts, receipt: Mapping[str, Any]) -> list[str]:
    """How the raw transaction receipt contradicts the anchor record (empty if it does not)."""
    out = []

    def same_hex(a: object, b: str) -> bool:
        return isinstance(a, str) and a.lower() == b.lower()

    if not same_hex(receipt.get("transactionHash"), anchor.tx_hash):
        out.append(f"the transaction hash (anchor {anchor.tx_hash}, receipt "
                   f"{receipt.get('transactionHash')})")
    number = hex_quantity(receipt.get("blockNumber"))
    if number != anchor.block_number:
        out.append(f"the block number (anchor {anchor.block_number}, receipt "
                   f"{receipt.get('blockNumber')} = {number})")
    if "blockTimestamp" in receipt:  # some nodes (anvil, reth) include it
        stamp = receipt["blockTimestamp"]
        seconds = hex_quantity(stamp) if isinstance(stamp, str) else stamp
        if isinstance(seconds, bool) or seconds != anchor.block_timestamp:
            out.append(f"the block timestamp (anchor {anchor.block_timestamp}, receipt {stamp})")
    if not same_hex(receipt.get("blockHash"), anchor.block_hash):
        out.append(f"the block hash (anchor {anchor.block_hash}, receipt "
                   f"{receipt.get('blockHash')})")
    if receipt.get("status") != "0x1":
        out.append(f"the transaction status (receipt {receipt.get('status')}, not 0x1: success)")
    if not same_hex(receipt.get("to"), anchor.contract):
        out.append(f"the contract address (anchor {anchor.contract}, the transaction went to "
                   f"{receipt.get('to')})")
    logs = receipt.get("logs")
    events = [
        log for log in (logs if isinstance(logs, list) else [])
        if isinstance(log, dict) and isinstance(log.get("topics"), list) and log["topics"]
        and same_hex(log["topics"][0], BATCH_ANCHORED_TOPIC)
    ]
    if len(events) != 1:
        out.append(f"the BatchAnchored event (the receipt has {len(events)}, not exactly one)")
    else:
        event = events[0]
        topics = event["topics"]
        if not same_hex(event.get("address"), anchor.contract):
            out.append(f"the contract address (anchor {anchor.contract}, the event was emitted "
                       f"by {event.get('address')})")
        if len(topics) != 3 or not same_hex(topics[1], f"0x{anchor.batch_id:064x}"):
            out.append(f"the batch id (anchor {anchor.batch_id}, event topic "
                       f"{topics[1] if len(topics) > 1 else None})")
        if len(topics) != 3 or not same_hex(topics[2], to_hex32(anchor.root)):
            out.append(f"the Merkle root (anchor {to_hex32(anchor.root)}, event topic "
                       f"{topics[2] if len(topics) > 2 else None})")
    return out
