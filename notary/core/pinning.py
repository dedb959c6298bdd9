"""Pinned verification: what to ask a chain node about a bundle, what it answered, and the
issuer checks that compare both with a pinned trust root (issue 14, item 4).

CONSENSUS-CRITICAL, and pure: nothing here reads a chain. The caller turns
:class:`ChainQuestions` into a :class:`ChainReading` (``notary.chain.observe.chain_reader``),
and :func:`issuer_checks` judges it. The trust root is the only source of keys, registries,
accounts and the chain's identity; nothing the bundle claims is trusted by itself.

A node that could not be asked is a :class:`ChainReading` with ``error`` set: every check that
needs the chain is then skipped with that reason (the issuer and time questions become
"unknown"), never passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .errors import NotaryError
from .trustroot import PreviousRegistry, TrustRoot, TrustRootKey, VerifiedTrustRoot
from .validate import utc_instant
from .verdict import AnchorFacts, Check, CheckStatus

__all__ = [
    "EMPTY_CODE_KECCAK",
    "AnchorQuery",
    "ChainObservation",
    "ChainQuestions",
    "ChainReading",
    "ItemPin",
    "KeyRegistration",
    "SignatureUse",
    "chain_questions",
    "compare_bundle_keys",
    "issuer_checks",
    "registry_for",
    "trust_root_key_set",
]

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP

#: keccak-256 of empty code: what ``eth_getCode`` gives where there is no contract.
EMPTY_CODE_KECCAK = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


@dataclass(frozen=True)
class AnchorQuery:
    """One anchor a bundle claims: the caller asks a chain node about it."""

    chain_id: int
    contract: str  # lower case
    root: bytes


@dataclass(frozen=True)
class ChainObservation:
    """What a chain node said about one :class:`AnchorQuery`, read by the caller.

    ``error`` is set when the node could not be asked (the check is then skipped with that
    reason); otherwise ``chain_id`` is the node's chain, ``registry_found`` whether there is
    contract code at the address, and ``anchor`` the anchor of the root as the registry
    records it (None when it does not).
    """

    node: str
    chain_id: int | None = None
    registry_found: bool = False
    anchor: AnchorFacts | None = None
    error: str | None = None


@dataclass(frozen=True)
class KeyRegistration:
    """What the registry records for a signing key (``signingKeyOf``): the block (and time)
    of its registration and retirement, 0 for never / not yet."""

    kid: str
    registered_block: int = 0
    retired_block: int = 0
    registered_at: int = 0
    retired_at: int = 0

    @property
    def registered(self) -> bool:
        return self.registered_block != 0

    @property
    def retired(self) -> bool:
        return self.retired_block != 0


@dataclass(frozen=True)
class ChainQuestions:
    """What to ask one node for a bundle.

    Always: ``eth_chainId`` and, for each of ``anchors``, the registry's record of the root.
    When pinned (``chain_id`` set, from a trust root): also the hash of block
    ``pinned_block`` (compared with ``pinned_block_hash`` by the checks, not by the reader),
    the keccak-256 of the code at each of ``registries`` (the pinned one first), the sender of
    each of ``tx_hashes``, and ``signingKeyOf`` in ``registries[0]`` for each of ``kids``.
    The anchors of a pinned question are only those at pinned addresses.
    """

    anchors: tuple[AnchorQuery, ...] = ()
    tx_hashes: tuple[str, ...] = ()
    kids: tuple[str, ...] = ()
    chain_id: int | None = None
    pinned_block: int | None = None
    pinned_block_hash: str | None = None
    registries: tuple[str, ...] = ()

    @property
    def pinned(self) -> bool:
        return self.chain_id is not None

    @property
    def key_registry(self) -> str | None:
        return self.registries[0] if self.registries else None


@dataclass(frozen=True)
class ChainReading:
    """What one node answered to :class:`ChainQuestions`.

    ``error``: the node could not be asked at all (nothing else is set). Otherwise
    ``chain_id`` is its ``eth_chainId``; ``pinned_block_hash`` its hash of the pinned block;
    ``code_keccak256`` by registry address (lower case; None when the node would not say);
    ``senders`` by transaction hash (lower case; the ``from`` of the transaction, None when
    the node does not know it); ``keys`` by kid (None when it could not be read); ``anchors``
    the answer for each anchor query. A question left out of a mapping was not answered.
    """

    node: str
    error: str | None = None
    chain_id: int | None = None
    pinned_block_hash: str | None = None
    code_keccak256: Mapping[str, str | None] = field(default_factory=dict)
    senders: Mapping[str, str | None] = field(default_factory=dict)
    keys: Mapping[str, KeyRegistration | None] = field(default_factory=dict)
    anchors: Mapping[AnchorQuery, ChainObservation] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class SignatureUse:
    """One signature of the bundle: which part (``manifest.jws``, ``items/001/statement.jws``,
    ``items/001/custody.jsonl`` event 2...), by which key, at which time it claims."""

    part: str
    kid: str
    moment: str  # RFC 3339 UTC


@dataclass(frozen=True)
class ItemPin:
    """What the issuer checks need of one item: its anchor record (None when unreadable) and
    the kid of its statement's signature (None when the statement did not verify)."""

    index: int
    path: str
    anchor: AnchorFacts | None
    statement_kid: str | None


# -- questions ----------------------------------------------------------------------------------


def registry_for(root: TrustRoot, anchor: AnchorFacts
                 ) -> tuple[str, PreviousRegistry | None] | None:
    """The pinned registry an anchor is in: ``(address, None)`` for the current one,
    ``(address, previous)`` for an earlier one it may still be in, None when neither."""
    if anchor.chain_id != root.chain_id:
        return None
    if anchor.contract.lower() == root.registry.address.lower():
        return root.registry.address, None
    for previous in root.previous_registries:
        if previous.chain_id == anchor.chain_id and previous.address.lower() == \
                anchor.contract.lower():
            if previous.until_block is not None and anchor.block_number > previous.until_block:
                return None
            return previous.address, previous
    return None


def _pinned_block(root: TrustRoot) -> tuple[int, str]:
    if root.registry.deployment_block is not None and root.registry.deployment_block_hash:
        return root.registry.deployment_block, root.registry.deployment_block_hash
    return 0, root.genesis_hash


def chain_questions(anchors: Sequence[AnchorFacts], kids: Sequence[str],
                    trust_root: TrustRoot | None = None) -> ChainQuestions:
    """The questions for a node about a bundle whose items claim ``anchors`` and whose
    statements are signed by ``kids``. Without a trust root only the anchors are asked (at
    the addresses they claim); with one, only anchors in a pinned registry are asked, with
    the chain's identity, the registries' code, the senders and the key registrations."""
    seen: dict[AnchorQuery, None] = {}
    txs: dict[str, None] = {}
    for a in anchors:
        if trust_root is not None and registry_for(trust_root, a) is None:
            continue
        seen[AnchorQuery(a.chain_id, a.contract.lower(), a.root)] = None
        txs[a.tx_hash.lower()] = None
    if trust_root is None:
        return ChainQuestions(anchors=tuple(seen), tx_hashes=tuple(txs))
    block, block_hash = _pinned_block(trust_root)
    registries = (trust_root.registry.address,) + tuple(
        p.address for p in trust_root.previous_registries if p.chain_id == trust_root.chain_id)
    pinned_kids = {k.kid for k in trust_root.signing_keys}  # others fail without asking
    return ChainQuestions(
        anchors=tuple(seen), tx_hashes=tuple(txs),
        kids=tuple(k for k in dict.fromkeys(kids) if k in pinned_kids),
        chain_id=trust_root.chain_id, pinned_block=block, pinned_block_hash=block_hash,
        registries=registries)


# -- keys ---------------------------------------------------------------------------------------


def trust_root_key_set(root: TrustRoot) -> dict[str, list[dict[str, str]]]:
    """The JWK Set of the trust root's signing keys: the only keys a pinned verification
    accepts for any signature of a bundle."""
    return {"keys": [dict(k.to_json()["jwk"]) for k in root.signing_keys]}


def _root_key(root: TrustRoot, kid: str) -> TrustRootKey | None:
    return next((k for k in root.signing_keys if k.kid == kid), None)


def compare_bundle_keys(bundle_keys: Sequence[Mapping[str, object]] | None, problem: str | None,
                        root: VerifiedTrustRoot, keys_path: str) -> Check:
    """``keys``: every key the bundle carries is a key of the trust root, with the same public
    key (kty, crv, x), not merely the same kid. A key that is not names itself."""
    if bundle_keys is None:
        return Check("keys", _FAIL, f"{keys_path} is not a valid key history. {problem or ''}"
                     .strip())
    extra, different = [], []
    for jwk in bundle_keys:
        kid = str(jwk.get("kid"))
        pinned = _root_key(root.root, kid)
        if pinned is None:
            extra.append(kid)
        elif any(jwk.get(m) != pinned.jwk.get(m) for m in ("kty", "crv", "x")):
            different.append(kid)
    problems = []
    if extra:
        problems.append("key(s) not in the pinned trust root: " + ", ".join(extra))
    if different:
        problems.append("key(s) with the kid of a pinned key but another public key: "
                        + ", ".join(different))
    if problems:
        return Check("keys", _FAIL,
                     f"{keys_path} is not the deployment's key history ({'; '.join(problems)}); "
                     f"the signatures were checked against the keys of trust root "
                     f"{root.fingerprint} only.")
    return Check("keys", _PASS,
                 f"The {len(bundle_keys)} key(s) of {keys_path} are keys of the pinned trust "
                 f"root {root.fingerprint}; every signature was checked against the trust "
                 "root's keys, never the bundle's.")


# -- the issuer checks --------------------------------------------------------------------------


def _covers(key: TrustRootKey, moment: str) -> bool | None:
    try:
        at = utc_instant(moment)
        start = utc_instant(key.not_before)
        end = utc_instant(key.not_after) if key.not_after is not None else None
    except (ValueError, NotaryError):
        return None
    return start <= at and (end is None or at < end)


def _on_chain_problem(use: SignatureUse, reading: ChainReading | None) -> str | None:
    """What the registry says against a signature's key: never registered. (Its retirement
    is judged by block, against the anchor, in ``items[i].issuer``: the time a signature
    claims is written by its signer, and the chain's clock is not the service's, so a time
    comparison would only reject genuine bundles signed in the second of a rotation.)"""
    if reading is None or reading.error is not None:
        return None
    record = reading.keys.get(use.kid)
    if record is not None and not record.registered:
        return (f"{use.part} is signed by key {use.kid}, which is not registered on chain in "
                "the pinned registry")
    return None


def _keys_check(root: VerifiedTrustRoot, uses: Sequence[SignatureUse],
                reading: ChainReading | None = None) -> Check:
    problems, kids = [], []
    for use in uses:
        key = _root_key(root.root, use.kid)
        if key is None:
            problems.append(f"{use.part} is signed by key {use.kid}, which is not in the trust "
                            "root")
            continue
        covered = _covers(key, use.moment)
        chain_problem = _on_chain_problem(use, reading)
        if not covered:
            until = f"until {key.not_after}" if key.not_after else "with no end yet"
            problems.append(f"{use.part} says it was signed at {use.moment} by key {use.kid}, "
                            f"which the trust root makes valid from {key.not_before} {until}")
        elif chain_problem is not None:
            problems.append(chain_problem)
        elif use.kid not in kids:
            kids.append(use.kid)
    if problems:
        return Check("issuer.keys", _FAIL,
                     "A signature is not by a key of the deployment valid at its time: "
                     + "; ".join(problems[:10]) + ".")
    if not uses:
        return Check("issuer.keys", _SKIP, "No signature of the bundle verified, so no signing "
                                           "key could be compared with the trust root.")
    on_chain = ("" if reading is None or reading.error is not None else
                " The registry confirms that each of these keys is registered on chain.")
    return Check("issuer.keys", _PASS,
                 f"All {len(uses)} signature(s) of the bundle are by key(s) of the trust root "
                 f"({', '.join(kids)}), each within its validity period at the time it "
                 f"signed.{on_chain}")


def _trust_root_check(root: VerifiedTrustRoot) -> Check:
    r = root.root
    dev = (" The trust root says this is a DEVELOPMENT deployment: its chain may be a local "
           "chain that nobody else can query, with any clock." if r.development else "")
    return Check("issuer.trust_root", _PASS,
                 f"The pinned trust root {root.fingerprint} (signed by {root.signed_by}, issued "
                 f"{r.issued_at}) names the operator {r.operator.name!r}, the deployment "
                 f"{r.public_url}, chain {r.chain_id} and registry {r.registry.address} "
                 f"(version {r.registry.version}).{dev}")


def _no_node(reading: ChainReading | None) -> str | None:
    if reading is None:
        return ("no chain node was asked (offline): the chain's identity, the registry's code, "
                "the anchoring accounts and the key registrations are on chain")
    if reading.error is not None:
        return f"the chain node {reading.node} could not be asked: {reading.error}"
    return None


def _chain_check(root: VerifiedTrustRoot, reading: ChainReading | None,
                 used: Sequence[str]) -> Check:
    """issuer.chain: the node is on the pinned chain (chain id and the pinned block's hash),
    and each registry the anchors use has the pinned code."""
    why = _no_node(reading)
    if why is not None or reading is None:
        return Check("issuer.chain", _SKIP, f"Not checked: {why}.")
    r = root.root
    block, expected = _pinned_block(r)
    which = "block 0 (genesis)" if block == 0 else f"block {block} (the registry's deployment)"
    if reading.chain_id != r.chain_id:
        return Check("issuer.chain", _FAIL,
                     f"The node {reading.node} is on chain id {reading.chain_id}, not the pinned "
                     f"chain {r.chain_id}.")
    if reading.pinned_block_hash is None:
        return Check("issuer.chain", _SKIP,
                     f"The node {reading.node} did not give the hash of {which}, so it cannot be "
                     "told from another chain with the same id.")
    if reading.pinned_block_hash.lower() != expected.lower():
        return Check("issuer.chain", _FAIL,
                     f"The node {reading.node} gives {which} the hash "
                     f"{reading.pinned_block_hash}, but the trust root pins {expected}: it is "
                     f"another chain with the id {r.chain_id} (a private copy?).")
    pins = {r.registry.address.lower(): r.registry.code_keccak256}
    pins |= {p.address.lower(): p.code_keccak256 for p in r.previous_registries}
    for address in dict.fromkeys([r.registry.address.lower(), *(a.lower() for a in used)]):
        code = reading.code_keccak256.get(address)
        if code is None:
            return Check("issuer.chain", _SKIP,
                         f"The node {reading.node} did not give the code of registry {address}.")
        if code.lower() != pins[address].lower():
            what = "there is no contract" if code.lower() == EMPTY_CODE_KECCAK else \
                f"the code's keccak-256 is {code}"
            return Check("issuer.chain", _FAIL,
                         f"At registry {address} {what}, but the trust root pins "
                         f"{pins[address]}: it is not the pinned EvidenceRegistry.")
    return Check("issuer.chain", _PASS,
                 f"The node {reading.node} is on the pinned chain {r.chain_id} (its {which} has "
                 f"the pinned hash {expected}), and the registry code is the pinned code.")


def _item_check(pin: ItemPin, root: VerifiedTrustRoot, reading: ChainReading | None) -> Check:
    """items[i].issuer: the anchor is in a pinned registry on the pinned chain, sent by a
    pinned account, and the statement's key was registered on chain when it was anchored."""
    name = f"items[{pin.index}].issuer"
    r = root.root
    anchor = pin.anchor
    if anchor is None:
        return Check(name, _FAIL, f"{pin.path} has no readable anchor record, so it cannot be "
                                  "tied to the deployment.")
    if anchor.chain_id != r.chain_id:
        return Check(name, _FAIL, f"{pin.path} is anchored on chain {anchor.chain_id}, not the "
                                  f"pinned chain {r.chain_id}.")
    found = registry_for(r, anchor)
    if found is None:
        return Check(name, _FAIL,
                     f"{pin.path} is anchored in contract {anchor.contract}, which is not the "
                     f"deployment's registry {r.registry.address}"
                     + (" nor one of its earlier registries within its block range"
                        if r.previous_registries else "") + ".")
    address, previous = found
    why = _no_node(reading)
    if why is not None or reading is None:
        return Check(name, _SKIP,
                     f"{pin.path} claims registry {address} of the pinned chain; not checked "
                     f"further: {why}.")
    sender = reading.senders.get(anchor.tx_hash.lower())
    if sender is None:
        return Check(name, _SKIP, f"The node did not give the sender of {anchor.tx_hash}.")
    accounts = {a.lower() for a in r.anchoring_accounts}
    if sender.lower() not in accounts:
        return Check(name, _FAIL,
                     f"The anchor of {pin.path} (transaction {anchor.tx_hash}) was sent by "
                     f"{sender}, which is not an anchoring account of the trust root.")
    if pin.statement_kid is None:
        return Check(name, _SKIP, f"The statement of {pin.path} did not verify, so its key's "
                                  "registration was not checked.")
    record = reading.keys.get(pin.statement_kid)
    if record is None:
        return Check(name, _SKIP, f"The node did not give the registration of key "
                                  f"{pin.statement_kid}.")
    block = anchor.block_number
    if not record.registered:
        return Check(name, _FAIL, f"The statement of {pin.path} is signed by key "
                                  f"{pin.statement_kid}, which is not registered on chain in "
                                  f"registry {r.registry.address}.")
    if record.retired and block >= record.retired_block:
        return Check(name, _FAIL, f"The statement of {pin.path} is signed by key "
                                  f"{pin.statement_kid}, retired on chain in block "
                                  f"{record.retired_block}, but anchored later, in block {block}.")
    if previous is None and record.registered_block > block:
        return Check(name, _FAIL, f"The statement of {pin.path} is signed by key "
                                  f"{pin.statement_kid}, registered on chain only in block "
                                  f"{record.registered_block}, after its anchor in block {block}.")
    earlier = (f" (an earlier registry of the deployment, before keys were registered on "
               f"chain; the key is registered in block {record.registered_block})"
               if previous is not None else
               f", after the key's registration in block {record.registered_block}")
    return Check(name, _PASS,
                 f"{pin.path} is anchored in registry {address} of the pinned chain in block "
                 f"{block}{earlier}, sent by the anchoring account {sender}; its statement is "
                 f"signed by key {pin.statement_kid}"
                 + (f", retired only in block {record.retired_block}." if record.retired
                    else ", not retired."))


def issuer_checks(root: VerifiedTrustRoot, reading: ChainReading | None,
                  uses: Sequence[SignatureUse], items: Sequence[ItemPin]) -> list[Check]:
    """The checks that tie a bundle to the pinned deployment: ``issuer.trust_root``,
    ``issuer.keys`` (every signature by a trust-root key within its period and, when the node
    was asked, registered on chain), ``issuer.chain``
    (the node's chain id and pinned block hash, the registries' code) and per item
    ``items[i].issuer`` (pinned registry and chain, pinned sender, key registered on chain at
    the anchor block). Checks needing a node are skipped when there is none."""
    used = []
    for pin in items:
        if pin.anchor is not None and (found := registry_for(root.root, pin.anchor)):
            used.append(found[0])
    return [_trust_root_check(root), _keys_check(root, uses, reading),
            _chain_check(root, reading, used),
            *(_item_check(pin, root, reading) for pin in items)]
