"""The checks of one bundle item (docs/bundle-format.md §6 step 4): the single-evidence
verification of :mod:`notary.core.verify`, completed by what only a bundle holds
(``statement.json``, the receipt, the keys' periods, ``proof.json``'s stated leaf, the
transaction receipt in ``anchor.json``, the chain node's answers, the custody log, the RFC
3161 timestamp, the deletion certificate).

CONSENSUS-CRITICAL and pure. Each document is verified once: what
:func:`~notary.core.verify.verify_evidence` verified (the statement, its key, its bytes)
and what a check verified (the receipt, the custody events) is handed to the checks after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..custody import CustodyAct, CustodyEvent, check_custody
from ..deletion import check_deletion
from ..digest import FileDigest
from ..errors import NotaryError
from ..keyhistory import KeyPeriod
from ..merkle import leaf_values, statement_leaf, to_hex32
from ..pinning import AnchorQuery, ChainObservation
from ..signing import RECEIPT, Signed
from ..statement import Statement
from ..timestamp import (
    MAX_RENEWALS,
    TimestampReading,
    check_timestamp,
    renewal_path,
    root_path,
    token_path,
)
from ..validate import utc_instant
from ..verdict import Check, CheckStatus
from ..verify import VerifiedEvidence, verify_evidence
from .anchor import tx_receipt_differences
from .layout import (
    ANCHOR_NAME,
    CUSTODY_NAME,
    DELETION_NAME,
    GUIDE_PATH,
    KEYS_PATH,
    PROOF_NAME,
    RECEIPT_NAME,
    RECORDING_NAME,
    STATEMENT_JSON_NAME,
    STATEMENT_NAME,
)
from .read import Bundle, BundleContents, ItemDocuments, ManifestItem, read_item
from .recording import recording_check

__all__ = ["ItemResult", "verify_item"]

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP


@dataclass(frozen=True)
class ItemResult:
    """One item's checks (named ``items[i].<part>``) and what verified: the statement (None
    unless ``statement_signature`` passed), the key that signed it, the receipt, the custody
    events (None unless the ``custody`` check passed); the documents as read; its facts."""

    checks: list[Check]
    statement: Statement | None
    statement_kid: str | None
    receipt: Signed[dict[str, str]] | None
    custody: list[CustodyEvent] | None
    documents: ItemDocuments
    facts: dict[str, Any]


_UNVERIFIED = "Not checked, because the statement could not be verified."


def _statement_check(item: ItemDocuments, evidence: VerifiedEvidence) -> Check:
    """statement_signature: signed by a key of the bundle, a canonical v1 statement (as
    :func:`~notary.core.verify.verify_evidence` found), and statement.json is exactly the
    signed bytes."""
    d = item.path
    core = evidence.check("statement_signature")
    if item.statement_token is None:
        return Check("statement_signature", _FAIL, f"{d}/{STATEMENT_NAME} is missing.")
    statement = evidence.statement
    if core.status is not _PASS or statement is None:
        return Check("statement_signature", _FAIL,
                     f"{d}/{STATEMENT_NAME} (checked against the keys of {KEYS_PATH}): "
                     f"{core.reason}")
    if item.statement_json != evidence.payload:
        return Check("statement_signature", _FAIL,
                     f"{d}/{STATEMENT_JSON_NAME} is not the statement signed in "
                     f"{d}/{STATEMENT_NAME} (its bytes differ from the signed payload).")
    return Check("statement_signature", _PASS,
                 f"{d}/{STATEMENT_NAME}: the statement for evidence {statement.evidence_id!r} "
                 f"(case {statement.case_id!r}, entry {statement.case_seq}) carries a valid "
                 f"Ed25519 signature by key {evidence.statement_kid} of {KEYS_PATH}, and "
                 f"{d}/{STATEMENT_JSON_NAME} is exactly the signed statement.")


def _receipt_check(item: ItemDocuments, statement: Statement | None,
                   key_set: Mapping[str, Any]) -> tuple[Check, Signed[dict[str, str]] | None]:
    """receipt_signature: signed by a key of the bundle, for this statement."""
    where = f"{item.path}/{RECEIPT_NAME}"
    if item.receipt_token is None:
        return Check("receipt_signature", _FAIL, f"{where} is missing."), None
    try:
        signed = RECEIPT.verify(item.receipt_token, key_set)
    except NotaryError as exc:
        return Check("receipt_signature", _FAIL,
                     f"{where} is not a receipt validly signed by a key of {KEYS_PATH}. "
                     f"{exc.message}"), None
    receipt = signed.document
    if statement is None:
        return Check("receipt_signature", _SKIP,
                     f"{where} is validly signed, but it could not be matched with the "
                     "statement, which did not verify."), signed
    if (receipt["statement_sha256"] != statement.digest_hex()
            or receipt["evidence_id"] != statement.evidence_id):
        return Check("receipt_signature", _FAIL,
                     f"{where} is for statement {receipt['statement_sha256']} of evidence "
                     f"{receipt['evidence_id']!r}, not for this statement "
                     f"({statement.digest_hex()})."), signed
    return Check("receipt_signature", _PASS,
                 f"{where} is validly signed by a key of {KEYS_PATH}; it promised anchoring "
                 f"by {receipt['anchor_deadline']}."), signed


def _key_validity_check(evidence: VerifiedEvidence, statement: Statement | None,
                        receipt: Signed[dict[str, str]] | None,
                        periods: Mapping[str, KeyPeriod]) -> Check:
    """key_validity: each signing key was within its validity period when it signed."""
    if statement is None or evidence.statement_kid is None:
        return Check("key_validity", _SKIP, _UNVERIFIED)
    signed = [("statement", evidence.statement_kid, statement.received_at)]
    if receipt is not None:
        signed.append(("receipt", receipt.kid, receipt.document["issued_at"]))
    problems, notes = [], []
    for what, kid, moment in signed:
        period = periods.get(kid)
        try:
            covered = period is not None and period.covers(moment)
        except NotaryError:
            covered = False
        if period is None:
            problems.append(f"the {what}'s key {kid} has no validity period in {KEYS_PATH}")
        elif not covered:
            problems.append(f"the {what} was signed at {moment} by key {kid}, which is "
                            f"{period.describe()}")
        else:
            notes.append(f"the {what} was signed at {moment} by key {kid}, {period.describe()}")
    if problems:
        return Check("key_validity", _FAIL,
                     "A signing key was not valid when it signed: " + "; ".join(problems) + ".")
    return Check("key_validity", _PASS,
                 "Each key was valid when it signed: " + "; ".join(notes) + ".")


def _file_check(item: ItemDocuments, statement: Statement | None, core: Check,
                hashes_only: bool) -> Check:
    """file_hash: the original against the statement (skipped in a hashes-only bundle)."""
    if statement is None:
        return Check("file_hash", _SKIP, _UNVERIFIED)
    if item.hash_only != statement.hash_only:
        return Check("file_hash", _FAIL,
                     f"The manifest {'says' if item.hash_only else 'does not say'} that "
                     f"{item.path} is a hash-only deposit, but its signed statement "
                     f"{'does not' if item.hash_only else 'does'}.")
    if statement.hash_only:  # the service never saw the file: never "checked" by it
        return Check("file_hash", core.status, core.reason)
    if item.shredded and item.original is None:
        return Check("file_hash", _SKIP,
                     f"The original of {statement.file_name!r} was shredded (crypto-shredding, "
                     f"see {item.path}/{DELETION_NAME}): it can no longer be produced, by "
                     f"anyone. The statement, proof and anchor still prove that the file with "
                     f"SHA-256 {statement.sha256} existed and was unaltered until the shred.")
    if hashes_only and item.original is None:
        return Check("file_hash", _SKIP,
                     "This bundle was exported without originals (hashes only, for privacy): "
                     f"compare your copy of {statement.file_name!r} with the statement's "
                     f"SHA-256 {statement.sha256} and size {statement.size} bytes.")
    if item.original is None or item.file_digest is None:
        return Check("file_hash", _FAIL,
                     f"The original file of {item.path} is missing from the bundle.")
    return Check("file_hash", core.status, f"{item.original}: {core.reason}")


def _merkle_check(item: ItemDocuments, statement: Statement | None, core: Check) -> Check:
    """merkle_proof: proof.json's own leaf is the statement's, and the proof leads to its
    root."""
    where = f"{item.path}/{PROOF_NAME}"
    if statement is None:
        return Check("merkle_proof", _SKIP, _UNVERIFIED)
    if item.proof_problem is not None or item.leaf is None or item.leaf_values is None:
        return Check("merkle_proof", _FAIL, item.proof_problem or f"{where} is unreadable.")
    digest, sha256 = statement.digest(), bytes.fromhex(statement.sha256)
    expected, leaf = leaf_values(digest, sha256), statement_leaf(digest, sha256)
    stated = [v.lower() if isinstance(v, str) else v for v in item.leaf_values]
    if stated != expected or item.leaf != leaf:
        return Check("merkle_proof", _FAIL,
                     f"{where} states the leaf {to_hex32(item.leaf)} with values "
                     f"{item.leaf_values}, but the statement gives the leaf {to_hex32(leaf)} "
                     f"with values {expected}.")
    return Check("merkle_proof", core.status, f"{where}: {core.reason}")


def _anchor_record_check(item: ItemDocuments, receipt: Signed[dict[str, str]] | None,
                         core: Check) -> Check:
    """anchor_record: the anchor is for the proof's root, and the node's receipt of the
    anchoring transaction (carried in anchor.json) agrees with it."""
    where = f"{item.path}/{ANCHOR_NAME}"
    if item.anchor_problem is not None or item.anchor is None or item.tx_receipt is None:
        return Check("anchor_record", _FAIL, item.anchor_problem or f"{where} is unreadable.")
    if item.root is None:
        return Check("anchor_record", _SKIP, f"{where} could not be compared with the proof's "
                                             "root, because the proof is unreadable.")
    if core.status is not _PASS:
        return Check("anchor_record", core.status, f"{where}: {core.reason}")
    anchor = item.anchor
    differences = tx_receipt_differences(anchor, item.tx_receipt)
    if differences:
        return Check("anchor_record", _FAIL,
                     f"{where} contradicts the transaction receipt it carries in: "
                     + "; ".join(differences) + ".")
    deadline = ""
    if receipt is not None:
        promised = receipt.document["anchor_deadline"]
        try:
            due = utc_instant(promised).timestamp()
        except NotaryError:
            due = -1.0
        deadline = (" It was anchored within the receipt's deadline."
                    if anchor.block_timestamp <= due else
                    f" It was anchored AFTER the receipt's deadline of {promised}.")
    return Check("anchor_record", _PASS,
                 f"{where} is for the proof's root, and the transaction receipt it carries "
                 f"records {anchor.tx_hash} in block {anchor.block_number} ({anchor.block_hash}) "
                 f"calling contract {anchor.contract}, emitting BatchAnchored for batch "
                 f"{anchor.batch_id}.{deadline}")


def _chain_check(item: ItemDocuments, core: Check, asked: bool,
                 observation: ChainObservation | None) -> Check:
    """chain_anchor: what a chain node says, when the caller asked one."""
    where = f"{item.path}/{ANCHOR_NAME}"
    anchor = item.anchor
    if anchor is None:
        return Check("chain_anchor", _SKIP, f"Not checked, because {where} could not be read.")
    if not asked:
        return Check("chain_anchor", _SKIP,
                     "The anchor was not checked against a chain node (offline); run 'notary "
                     f"verify --rpc URL' with a node of chain {anchor.chain_id}, or follow "
                     f"{GUIDE_PATH}.")
    if observation is None or observation.error is not None:
        why = observation.error if observation is not None else "it was not asked"
        return Check("chain_anchor", _SKIP,
                     f"The chain node could not be asked about this anchor: {why}")
    if observation.chain_id != anchor.chain_id:
        return Check("chain_anchor", _FAIL,
                     f"The node {observation.node} is on chain id {observation.chain_id}, but "
                     f"{where} states chain id {anchor.chain_id}: the anchor is not on the "
                     "chain it claims, or the node is of another chain.")
    if not observation.registry_found:
        return Check("chain_anchor", _FAIL,
                     f"There is no EvidenceRegistry at the contract address {anchor.contract} "
                     f"stated in {where} on chain {anchor.chain_id}.")
    if observation.anchor is None:
        return Check("chain_anchor", _FAIL,
                     f"The registry at the contract address {anchor.contract} on chain "
                     f"{anchor.chain_id} has no anchor of the Merkle root "
                     f"{to_hex32(anchor.root)}.")
    return core


def _item_facts(item: ItemDocuments, statement: Statement | None) -> dict[str, Any]:
    """What the item establishes, from its verified statement only."""
    facts: dict[str, Any] = {"path": item.path}
    if statement is None:
        return facts
    facts.update({
        "evidence_id": statement.evidence_id,
        "case_id": statement.case_id,
        "case_seq": statement.case_seq,
        "kind": statement.kind.value,
        "file_name": statement.file_name,
        "media_type": statement.media_type,
        "size": statement.size,
        "sha256": statement.sha256,
        "received_at": statement.received_at,
        "statement_sha256": statement.digest_hex(),
    })
    if statement.captured_at is not None:
        facts["captured_at"] = statement.captured_at
    if statement.hash_only:
        facts["deposit"] = statement.deposit
    if item.original is not None:
        facts["original"] = item.original
    if item.anchor is not None:
        a = item.anchor
        facts["anchor"] = {
            "chain_id": a.chain_id, "contract": a.contract, "batch_id": a.batch_id,
            "root": to_hex32(a.root), "tx_hash": a.tx_hash, "block_number": a.block_number,
            "block_hash": a.block_hash, "block_timestamp": a.block_timestamp,
        }
    return facts


def verify_item(
    index: int,
    ref: ManifestItem,
    bundle: Bundle,
    key_set: Mapping[str, Any],
    periods: Mapping[str, KeyPeriod],
    observations: Mapping[AnchorQuery, ChainObservation] | None,
    timestamps: Mapping[str, TimestampReading] | None = None,
    stamped: bool = False,
    slices: Mapping[str, Sequence[FileDigest | None]] | None = None,
) -> ItemResult:
    """Every check of one item, named ``items[index].<part>``. ``slices``: the digests of
    the byte ranges of originals that :func:`~notary.core.bundle.recording.recording_ranges`
    named (for a recording's segments)."""
    # Step 4a: read the item's documents; a missing or malformed one fails its own check.
    item = read_item(ref, bundle.contents)
    anchor = item.anchor
    observation = None
    if observations is not None and anchor is not None:
        observation = observations.get(
            AnchorQuery(anchor.chain_id, anchor.contract.lower(), anchor.root))
    trusted_observation = (
        observation.anchor
        if observation is not None and observation.error is None and anchor is not None
        and observation.chain_id == anchor.chain_id and observation.registry_found
        else None
    )
    # Step 4b: the single-evidence verification of notary.core.verify (statement signature,
    # file, Merkle proof, anchor root, chain) on what the item holds ...
    core = verify_evidence(
        statement_jws=item.statement_token or "", jwks=key_set, file_digest=item.file_digest,
        proof=item.proof, root=item.root, claimed_anchor=anchor,
        observed_anchor=trusted_observation,
    )
    # Step 4c: ... completed by what only a bundle holds: statement.json, the receipt, the
    # keys' periods, proof.json's stated leaf, the node's transaction receipt, the node's
    # answers, the custody log, the timestamp, the deletion certificate.
    signature = _statement_check(item, core)
    statement = core.statement if signature.status is _PASS else None
    receipt_check, receipt = _receipt_check(item, statement, key_set)
    custody_check, events = _custody_check(item, statement, key_set)
    checks = [
        signature,
        receipt_check,
        _key_validity_check(core, statement, receipt, periods),
        _file_check(item, statement, core.check("file_hash"), bundle.hashes_only),
        _merkle_check(item, statement, core.check("merkle_proof")),
        _anchor_record_check(item, receipt, core.check("anchor_root")),
        _chain_check(item, core.check("chain_anchor"), observations is not None, observation),
        custody_check,
    ]
    if stamped:
        checks.append(_timestamp_check(item, bundle.contents, timestamps))
    if item.shredded:
        checks.append(_deletion_check(item, statement, events, key_set))
    facts = _item_facts(item, statement)
    raw_recording = bundle.contents.documents.get(f"{item.path}/{RECORDING_NAME}")
    if raw_recording is not None or (statement is not None and statement.recording):
        recording, said = recording_check(
            item.path, raw_recording, statement, key_set, anchor,
            (slices or {}).get(item.original) if item.original is not None else None,
            shredded=item.shredded, periods=periods)
        checks.append(recording)
        if said is not None:
            facts["recording"] = said
    named = [Check(f"items[{index}].{c.name}", c.status, c.reason) for c in checks]
    kid = core.statement_kid if statement is not None else None
    return ItemResult(named, statement, kid, receipt, events, item, facts)


def _custody_check(item: ItemDocuments, statement: Statement | None, key_set: Mapping[str, Any]
                   ) -> tuple[Check, list[CustodyEvent] | None]:
    """The item's custody log (``custody.jsonl``): signed, numbered, linked events from its
    registration on (notary.core.custody). A bundle without one says so (SKIP). The events
    are handed back when they all verified."""
    where = f"{item.path}/{CUSTODY_NAME}"
    if item.custody_tokens is None:
        return Check("custody", _SKIP, f"The bundle carries no custody log ({where})."), None
    if statement is None:
        return Check("custody", _SKIP, "Not checked, because the statement could not be "
                                       "verified (see above)."), None
    check, events = check_custody(item.custody_tokens, key_set,
                                  evidence_id=statement.evidence_id,
                                  statement_digest=statement.digest())
    if check.status is not _PASS:
        return Check("custody", check.status, f"{where}: {check.reason}"), None
    handovers = [f"{e.detail.get('from_tenant')} → {e.detail.get('to_tenant')}" for e in events
                 if e.act is CustodyAct.TRANSFERRED]
    extra = f" Handovers: {'; '.join(handovers)}." if handovers else ""
    return Check("custody", _PASS, f"{check.reason}{extra}"), events


def _deletion_check(item: ItemDocuments, statement: Statement | None,
                    events: Sequence[CustodyEvent] | None, key_set: Mapping[str, Any]) -> Check:
    """deletion: the shredded item's certificate is signed, about this statement, and matches
    the ``shredded`` event of its custody log (``events``, as the ``custody`` check verified
    them; notary.core.deletion)."""
    where = f"{item.path}/{DELETION_NAME}"
    if item.deletion_token is None:
        return Check("deletion", _FAIL,
                     f"The item is marked shredded but {where} is missing.")
    if events is None:
        return Check("deletion", _FAIL, f"{where} cannot be matched with the item's custody "
                                        "log, which is missing or does not verify.")
    check, _cert = check_deletion(item.deletion_token, key_set, statement=statement,
                                  custody=events)
    return Check("deletion", check.status, f"{where}: {check.reason}")


def _timestamp_check(item: ItemDocuments, contents: BundleContents,
                     timestamps: Mapping[str, TimestampReading] | None) -> Check:
    """rfc3161_timestamp: a TSA's token over the item's Merkle root, when the bundle has one,
    with its renewals (notary.core.timestamp; the caller read the tokens)."""
    root = item.root if item.root is not None else (
        item.anchor.root if item.anchor is not None else None)
    if root is None:
        return check_timestamp(None, None, token_present=False, root_bytes=None)
    path = token_path(root)
    renewals = []
    previous = path
    for n in range(1, MAX_RENEWALS + 1):  # the renewal chain, as far as it goes unbroken
        link = renewal_path(root, n)
        if link not in contents.digests:
            break
        renewals.append(((timestamps or {}).get(link), contents.documents.get(previous)))
        previous = link
    return check_timestamp(root, (timestamps or {}).get(path),
                           token_present=path in contents.digests,
                           root_bytes=contents.documents.get(root_path(root)),
                           renewals=renewals)
