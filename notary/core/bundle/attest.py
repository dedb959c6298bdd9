"""Second anchors in a bundle, and which attestation dates the evidence (issue 19).

CONSENSUS-CRITICAL (docs/bundle-format.md §4.3). An item may carry, beside ``anchor.json``,
``anchor-<chain id>.json`` for each further EVM chain its Merkle root was anchored on: the
same document as ``anchor.json`` (:mod:`notary.core.bundle.anchor`), checked the same way
against the transaction receipt it carries, and, with a pinned trust root, against the
trust root's pin for that chain (``extra_chains``: the registry address, and the sender in
the receipt among the chain's anchoring accounts). When the caller asked a node of that
chain (:func:`extra_chain_questions`, ``notary verify --extra-rpc``), its answers confirm
the anchor (or contradict it); otherwise the receipt is compared as data only.

Every attestation is reported; one that fails its check fails the bundle (it is a false
claim in a signed bundle) and dates nothing. The evidence is dated by the earliest valid
attestation: the primary anchor's block time, an extra anchor's block time, or the RFC 3161
token's genTime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import NotaryError
from ..merkle import to_hex32
from ..pinning import AnchorQuery, ChainQuestions, ChainReading
from ..trustroot import VerifiedTrustRoot
from ..validate import format_rfc3339_utc
from ..verdict import AnchorFacts, Check, CheckStatus
from .anchor import parse_anchor_document, tx_receipt_differences
from .read import Bundle

__all__ = ["Attested", "dating", "extra_anchor_checks", "extra_anchor_paths",
           "extra_chain_questions"]

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP


@dataclass(frozen=True)
class Attested:
    """One attestation of an item's root as the verifier saw it."""

    kind: str  # "chain" (primary), "extra_chain" or "rfc3161"
    time: str | None  # RFC 3339 UTC
    valid: bool
    check: str
    chain_id: int | None = None
    #: the time is a third party's word, not the bundle's: a chain node the verifier chose
    #: confirmed the anchor (its block time), or the TSA's signature was checked (its genTime).
    #: Unconfirmed, a block time is only what the bundle says, and dates nothing.
    confirmed: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "time": self.time, "valid": self.valid,
                               "confirmed": self.confirmed, "check": self.check}
        if self.chain_id is not None:
            out["chain_id"] = self.chain_id
        return out


def extra_anchor_paths(bundle: Bundle, path: str) -> list[tuple[int, str]]:
    """The item's second-anchor documents as ``(chain id, member path)``, by chain id."""
    return list(bundle.extra_anchor_members.get(path, ()))


def _anchors(bundle: Bundle) -> dict[int, list[AnchorFacts]]:
    """Every readable second anchor of the bundle, by chain id."""
    out: dict[int, list[AnchorFacts]] = {}
    for ref in bundle.items:
        for chain_id, member in extra_anchor_paths(bundle, ref.path):
            raw = bundle.contents.documents.get(member)
            try:
                anchor = parse_anchor_document(raw)[0] if raw is not None else None
            except (NotaryError, KeyError, TypeError):
                anchor = None
            if anchor is not None and anchor.chain_id == chain_id:
                out.setdefault(chain_id, []).append(anchor)
    return out


def extra_chain_questions(bundle: Bundle, trust_root: VerifiedTrustRoot | None
                          ) -> dict[int, ChainQuestions]:
    """What to ask a node of each second chain (``notary verify --extra-rpc``): the anchors
    the bundle claims there and, when the trust root pins the chain, its pinned block and
    the registry's code (the same questions as for the primary chain, without keys)."""
    out = {}
    for chain_id, anchors in _anchors(bundle).items():
        queries = tuple(dict.fromkeys(AnchorQuery(chain_id, a.contract.lower(), a.root)
                                      for a in anchors))
        txs = tuple(dict.fromkeys(a.tx_hash.lower() for a in anchors))
        pin = trust_root.root.extra_chain(chain_id) if trust_root is not None else None
        if pin is None:
            out[chain_id] = ChainQuestions(anchors=queries, tx_hashes=txs)
            continue
        reg = pin.registry
        block, block_hash = ((reg.deployment_block, reg.deployment_block_hash)
                             if reg.deployment_block is not None and reg.deployment_block_hash
                             else (0, pin.genesis_hash))
        out[chain_id] = ChainQuestions(anchors=queries, tx_hashes=txs, chain_id=chain_id,
                                       pinned_block=block, pinned_block_hash=block_hash,
                                       registries=(reg.address,))
    return out


def _node(name: str, anchor: AnchorFacts, said: str, reading: ChainReading | None,
          questions: ChainQuestions | None) -> Check | None:
    """What the verifier's node of the second chain says (None: no node was given)."""
    if reading is None:
        return None
    if reading.error is not None:
        return Check(name, _PASS, f"{said}; the node {reading.node} did not answer "
                                  f"({reading.error}): not confirmed on chain.")
    if reading.chain_id != anchor.chain_id:
        return Check(name, _SKIP, f"{said}, but the node {reading.node} is on chain "
                                  f"{reading.chain_id}, not {anchor.chain_id}: not confirmed, "
                                  "it dates nothing.")
    if questions is not None and questions.pinned and \
            reading.pinned_block_hash != questions.pinned_block_hash:
        return Check(name, _SKIP, f"{said}, but the node {reading.node} has another block "
                                  f"{questions.pinned_block} than the trust root pins: it is "
                                  "not the pinned chain; not confirmed, it dates nothing.")
    seen = reading.anchors.get(AnchorQuery(anchor.chain_id, anchor.contract.lower(),
                                           anchor.root))
    if seen is not None and seen.error is not None:
        return Check(name, _PASS, f"{said}; the node {reading.node} did not answer "
                                  f"({seen.error}): not confirmed on chain.")
    got = seen.anchor if seen is not None else None
    if got is None:
        return Check(name, _FAIL, f"{said}, but the node {reading.node} of chain "
                                  f"{anchor.chain_id} has no such anchor in {anchor.contract}.")
    if (got.tx_hash.lower(), got.block_hash.lower(), got.batch_id) != (
            anchor.tx_hash.lower(), anchor.block_hash.lower(), anchor.batch_id):
        return Check(name, _FAIL, f"{said}, but the node {reading.node} records the root in "
                                  f"transaction {got.tx_hash}, block {got.block_number} "
                                  f"({got.block_hash}), batch {got.batch_id}.")
    return None


def unix_time(seconds: object) -> str | None:
    """A block timestamp as RFC 3339 UTC; None when it is no time at all (a mangled record)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return None
    try:
        return format_rfc3339_utc(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, OSError, ValueError):
        return None


def _one(name: str, member: str, chain_id: int, raw: bytes | None, root: bytes | None,
         trust_root: VerifiedTrustRoot | None, reading: ChainReading | None = None,
         questions: ChainQuestions | None = None) -> tuple[Check, AnchorFacts | None]:
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
        return _confirmed(Check(name, _PASS, f"{said} (not tied to a deployment: no trust "
                                             "root is pinned)."), anchor, said, reading,
                          questions)
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
    if reading is not None and reading.error is None and reading.chain_id == chain_id:
        code = reading.code_keccak256.get(pin.registry.address.lower())
        if code is not None and code != pin.registry.code_keccak256:
            return Check(name, _FAIL, f"{said}, but the code at {pin.registry.address} on the "
                                      f"node {reading.node} is not the code the trust root "
                                      "pins."), None
    return _confirmed(Check(name, _PASS, f"{said}; the registry and the sender {sender} are the "
                                         "ones the trust root pins for that chain."), anchor,
                      said, reading, questions)


def _confirmed(offline: Check, anchor: AnchorFacts, said: str, reading: ChainReading | None,
               questions: ChainQuestions | None) -> tuple[Check, AnchorFacts | None]:
    """The offline check, completed by the node's answer when one was asked."""
    node = _node(offline.name, anchor, said, reading, questions)
    if node is None:
        if reading is None:
            return offline, anchor
        return Check(offline.name, _PASS, f"{offline.reason[:-1]}; the node {reading.node} "
                                          "confirms the anchor."), anchor
    return node, anchor if node.status is _PASS else None


def extra_anchor_checks(index: int, bundle: Bundle, path: str, root: bytes | None,
                        trust_root: VerifiedTrustRoot | None,
                        readings: Mapping[int, ChainReading] | None = None,
                        questions: Mapping[int, ChainQuestions] | None = None,
                        ) -> list[tuple[Check, int, AnchorFacts | None, bool]]:
    """``items[index].extra_anchor_<chain id>`` for each second anchor of item ``path``,
    with the chain id, the anchor when the check passed, and whether a node of that chain
    confirmed it. ``readings``: what the verifier's node of each second chain answered to
    ``questions`` (:func:`extra_chain_questions`)."""
    out = []
    questions = questions or {}
    for chain_id, member in extra_anchor_paths(bundle, path):
        reading = (readings or {}).get(chain_id)
        check, anchor = _one(f"items[{index}].extra_anchor_{chain_id}", member, chain_id,
                             bundle.contents.documents.get(member), root, trust_root,
                             reading, questions.get(chain_id))
        out.append((check, chain_id, anchor, _node_confirmed(check, anchor, reading)))
    return out


def _node_confirmed(check: Check, anchor: AnchorFacts | None,
                    reading: ChainReading | None) -> bool:
    """A passed check whose anchor the verifier's node of its chain answered for (a node that
    did not answer passes the check as "not confirmed on chain")."""
    if check.status is not _PASS or anchor is None or reading is None or \
            reading.error is not None or reading.chain_id != anchor.chain_id:
        return False
    seen = reading.anchors.get(AnchorQuery(anchor.chain_id, anchor.contract.lower(),
                                           anchor.root))
    return seen is not None and seen.error is None and seen.anchor is not None


def dating(attested: Sequence[Attested]) -> dict[str, Any] | None:
    """The earliest valid and confirmed attestation (None when there is none): what dates
    the evidence. A block time no node confirmed is the bundle's own claim, and an operator
    holding its keys could write an earlier one: it dates nothing."""
    valid = [a for a in attested if a.valid and a.confirmed and a.time is not None]
    if not valid:
        return None
    first = min(valid, key=lambda a: a.time or "")
    return first.to_json()
