"""Second anchors in a bundle, and which attestation dates the evidence (issue 19).

CONSENSUS-CRITICAL (docs/bundle-format.md §4.3). An item may carry, beside ``anchor.json``,
``anchor-<chain id>.json`` for each further EVM chain its Merkle root was anchored on: the
same document as ``anchor.json`` (:mod:`notary.core.bundle.anchor`), checked the same way
against the transaction receipt it carries, and, with a pinned trust root, against the
trust root's pin for that chain (``extra_chains``: the registry address, and the sender in
the receipt among the chain's anchoring accounts). No node is asked: the receipt is
compared as data.

Every attestation is reported; one that fails its check fails the bundle (it is a false
claim in a signed bundle) and dates nothing. The evidence is dated by the earliest valid
attestation: the primary anchor's block time, an extra anchor's block time, or the RFC 3161
token's genTime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import NotaryError
from ..merkle import to_hex32
from ..trustroot import VerifiedTrustRoot
from ..validate import format_rfc3339_utc
from ..verdict import AnchorFacts, Check, CheckStatus
from .anchor import parse_anchor_document, tx_receipt_differences
from .layout import EXTRA_ANCHOR_NAME
from .read import Bundle

__all__ = ["Attested", "dating", "extra_anchor_checks", "extra_anchor_paths"]

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP


@dataclass(frozen=True)
class Attested:
    """One attestation of an item's root as the verifier saw it."""

    kind: str  # "chain" (primary), "extra_chain" or "rfc3161"
    time: str | None  # RFC 3339 UTC
    valid: bool
    check: str
    chain_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "time": self.time, "valid": self.valid,
                               "check": self.check}
        if self.chain_id is not None:
            out["chain_id"] = self.chain_id
        return out


def extra_anchor_paths(bundle: Bundle, path: str) -> list[tuple[int, str]]:
    """The item's second-anchor documents as ``(chain id, member path)``, by chain id."""
    out = []
    for member in bundle.contents.digests:
        head, _, name = member.rpartition("/")
        if head == path and (m := EXTRA_ANCHOR_NAME.fullmatch(name)):
            out.append((int(m.group(1)), member))
    return sorted(out)


def unix_time(seconds: object) -> str | None:
    """A block timestamp as RFC 3339 UTC; None when it is no time at all (a mangled record)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return None
    try:
        return format_rfc3339_utc(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, OSError, ValueError):
        return None


def _one(name: str, member: str, chain_id: int, raw: bytes | None, root: bytes | None,
         trust_root: VerifiedTrustRoot | None) -> tuple[Check, AnchorFacts | None]:
    if raw is None:
        return Check(name, _FAIL, f"{member} could not be read."), None
    try:
        anchor, receipt = parse_anchor_document(raw)
    except NotaryError as exc:
        return Check(name, _FAIL, f"{member} is not a valid anchor record. {exc.message}"), None
    if anchor.chain_id != chain_id:
        return Check(name, _FAIL, f"{member} records chain {anchor.chain_id}, not the chain "
                                  f"{chain_id} its name says."), None
    if root is None:
        return Check(name, _SKIP, f"{member} could not be compared with the proof's root, "
                                  "because the proof is unreadable."), None
    if anchor.root != root:
        return Check(name, _FAIL, f"{member} anchors root {to_hex32(anchor.root)}, not the "
                                  f"proof's root {to_hex32(root)}."), None
    differences = tx_receipt_differences(anchor, receipt)
    if differences:
        return Check(name, _FAIL, f"{member} contradicts the transaction receipt it carries "
                                  "in: " + "; ".join(differences) + "."), None
    said = (f"{member}: the root is anchored on chain {chain_id} in contract "
            f"{anchor.contract}, block {anchor.block_number} ({unix_time(anchor.block_timestamp)})"
            f", transaction {anchor.tx_hash}, as the receipt it carries records")
    if trust_root is None:
        return Check(name, _PASS, f"{said} (not tied to a deployment: no trust root is "
                                  "pinned)."), anchor
    pin = trust_root.root.extra_chain(chain_id)
    if pin is None:
        return Check(name, _SKIP, f"{said}, but the pinned trust root does not pin chain "
                                  f"{chain_id}: it dates nothing."), None
    if anchor.contract.lower() != pin.registry.address.lower():
        return Check(name, _FAIL, f"{member} is anchored in contract {anchor.contract}, which "
                                  f"is not the registry {pin.registry.address} the trust root "
                                  f"pins on chain {chain_id}."), None
    sender = receipt.get("from")
    if not isinstance(sender, str) or sender.lower() not in {
            a.lower() for a in pin.anchoring_accounts}:
        return Check(name, _FAIL, f"{member}'s transaction was sent by {sender}, which is not "
                                  f"an anchoring account the trust root pins on chain "
                                  f"{chain_id}."), None
    return Check(name, _PASS, f"{said}; the registry and the sender {sender} are the ones the "
                              "trust root pins for that chain."), anchor


def extra_anchor_checks(index: int, bundle: Bundle, path: str, root: bytes | None,
                        trust_root: VerifiedTrustRoot | None
                        ) -> list[tuple[Check, int, AnchorFacts | None]]:
    """``items[index].extra_anchor_<chain id>`` for each second anchor of item ``path``,
    with the chain id and the anchor when the check passed."""
    out = []
    for chain_id, member in extra_anchor_paths(bundle, path):
        check, anchor = _one(f"items[{index}].extra_anchor_{chain_id}", member, chain_id,
                             bundle.contents.documents.get(member), root, trust_root)
        out.append((check, chain_id, anchor))
    return out


def dating(attested: Sequence[Attested]) -> dict[str, Any] | None:
    """The earliest valid attestation (None when none is valid): what dates the evidence."""
    valid = [a for a in attested if a.valid and a.time is not None]
    if not valid:
        return None
    first = min(valid, key=lambda a: a.time or "")
    return first.to_json()
