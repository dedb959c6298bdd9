"""The issuer checks of a pinned verification (notary.core.pinning), from trust roots and
chain readings written by hand: every way a bundle can fail to be the deployment's names the
part at fault, and nothing that needs a node passes without one."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from notary.core.pinning import (
    EMPTY_CODE_KECCAK,
    AnchorQuery,
    ChainObservation,
    ChainReading,
    ItemPin,
    KeyRegistration,
    SignatureUse,
    chain_questions,
    compare_bundle_keys,
    issuer_checks,
    trust_root_key_set,
)
from notary.core.trustroot import VerifiedTrustRoot, checksum_address
from notary.core.verdict import AnchorFacts, Check, CheckStatus


def _vectors() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "vectors" / "trust-root" / "make_vectors.py"
    spec = importlib.util.spec_from_file_location("trust_root_vectors_pinning", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _vectors()
ROOT = GEN.ROOT
PINNED = VerifiedTrustRoot(ROOT, ROOT.fingerprint, GEN.CURRENT.kid)
CURRENT, OLD, MALLORY = GEN.CURRENT.kid, GEN.OLD.kid, GEN.MALLORY.kid
REGISTRY = ROOT.registry.address
PREVIOUS = ROOT.previous_registries[0].address
ACCOUNT = ROOT.anchoring_accounts[0]
STRANGER = checksum_address("0x" + hashlib.sha256(b"a stranger's registry").hexdigest()[:40])
TX = "0x" + "cd" * 32


def anchor(contract: str = REGISTRY, block: int = 21499995, chain_id: int = 8453,
           tx: str = TX, root: bytes = b"\x01" * 32) -> AnchorFacts:
    return AnchorFacts(chain_id=chain_id, contract=contract, batch_id=7, root=root,
                       block_number=block, block_hash="0x" + "ab" * 32,
                       block_timestamp=1_783_000_000, tx_hash=tx)


def reading(**changes: object) -> ChainReading:
    """What an honest node of the pinned chain answers."""
    base = ChainReading(
        node="http://node.test", chain_id=8453,
        pinned_block_hash=ROOT.registry.deployment_block_hash,
        code_keccak256={REGISTRY.lower(): ROOT.registry.code_keccak256,
                        PREVIOUS.lower(): ROOT.previous_registries[0].code_keccak256},
        senders={TX: ACCOUNT},
        keys={CURRENT: KeyRegistration(CURRENT, 21499990), OLD: KeyRegistration(OLD, 21000003,
                                                                              21500000)},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


USES = [SignatureUse("manifest.jws", CURRENT, "2026-07-02T00:00:00.000000Z"),
        SignatureUse("items/001/statement.jws", CURRENT, "2026-07-01T10:00:00.000000Z")]


def checks(read: ChainReading | None = None, *, pins: list[ItemPin] | None = None,
           uses: list[SignatureUse] | None = None, root: VerifiedTrustRoot = PINNED
           ) -> dict[str, Check]:
    pins = pins if pins is not None else [ItemPin(0, "items/001", anchor(), CURRENT)]
    out = issuer_checks(root, read, USES if uses is None else uses, pins)
    return {c.name: c for c in out}


def status(found: dict[str, Check]) -> dict[str, str]:
    return {n: c.status.value for n, c in found.items()}


# -- questions ----------------------------------------------------------------------------------


def test_unpinned_questions_ask_only_the_claimed_anchors() -> None:
    q = chain_questions([anchor(STRANGER)], [MALLORY])
    assert not q.pinned and q.kids == () and q.registries == ()
    assert q.anchors == (AnchorQuery(8453, STRANGER.lower(), b"\x01" * 32),)


def test_pinned_questions_never_ask_at_an_address_the_bundle_chose() -> None:
    q = chain_questions([anchor(), anchor(STRANGER, root=b"\x02" * 32),
                         anchor(PREVIOUS, block=20999999, root=b"\x03" * 32),
                         anchor(PREVIOUS, block=21000001, root=b"\x04" * 32)],
                        [CURRENT, CURRENT, OLD, MALLORY], ROOT)
    assert q.pinned and q.chain_id == 8453
    assert (q.pinned_block, q.pinned_block_hash) == (21000000, ROOT.registry.deployment_block_hash)
    assert q.registries == (REGISTRY, PREVIOUS) and q.key_registry == REGISTRY
    assert [a.root[0] for a in q.anchors] == [1, 3], "the stranger's and the late v1 anchor"
    assert q.kids == (CURRENT, OLD), "a key outside the trust root is never asked about"
    assert q.tx_hashes == (TX,)


def test_without_a_deployment_block_the_genesis_block_is_pinned() -> None:
    root = replace(ROOT, registry=replace(ROOT.registry, deployment_block=None,
                                          deployment_block_hash=None))
    q = chain_questions([anchor()], [CURRENT], root)
    assert (q.pinned_block, q.pinned_block_hash) == (0, ROOT.genesis_hash)


# -- keys ---------------------------------------------------------------------------------------


def test_bundle_keys_must_be_the_trust_roots_keys() -> None:
    keys = trust_root_key_set(ROOT)["keys"]
    assert {k["kid"] for k in keys} == {CURRENT, OLD}
    assert compare_bundle_keys(keys, None, PINNED, "keys/jwks.json").status is CheckStatus.PASS
    extra = compare_bundle_keys([*keys, GEN.public(GEN.MALLORY)], None, PINNED, "keys/jwks.json")
    assert extra.status is CheckStatus.FAIL and MALLORY in extra.reason
    assert "not in the pinned trust root" in extra.reason
    same_kid = [{**keys[0], "x": GEN.public(GEN.MALLORY)["x"]}]
    other = compare_bundle_keys(same_kid, None, PINNED, "keys/jwks.json")
    assert other.status is CheckStatus.FAIL and keys[0]["kid"] in other.reason
    assert "another public key" in other.reason
    bad = compare_bundle_keys(None, "It holds no keys.", PINNED, "keys/jwks.json")
    assert bad.status is CheckStatus.FAIL and "It holds no keys." in bad.reason


def test_every_signature_by_a_trust_root_key_within_its_period() -> None:
    assert checks(reading())["issuer.keys"].status is CheckStatus.PASS
    late = checks(reading(), uses=[SignatureUse("items/001/receipt.jws", OLD,
                                                "2026-07-01T00:00:00.000000Z")])["issuer.keys"]
    assert late.status is CheckStatus.FAIL
    assert "items/001/receipt.jws" in late.reason and OLD in late.reason
    assert "until 2026-06-30T00:00:00.000000Z" in late.reason
    early = checks(reading(), uses=[SignatureUse("manifest.jws", CURRENT,
                                                 "2026-01-01T00:00:00.000000Z")])["issuer.keys"]
    assert early.status is CheckStatus.FAIL and "manifest.jws" in early.reason
    foreign = checks(reading(), uses=[SignatureUse("items/002/custody.jsonl event 2", MALLORY,
                                                   "2026-07-01T00:00:00.000000Z")])
    assert foreign["issuer.keys"].status is CheckStatus.FAIL
    assert "custody.jsonl event 2" in foreign["issuer.keys"].reason
    assert "not in the trust root" in foreign["issuer.keys"].reason


# -- the chain ----------------------------------------------------------------------------------


def test_an_honest_node_of_the_pinned_chain_passes_everything() -> None:
    found = checks(reading())
    assert status(found) == {"issuer.trust_root": "pass", "issuer.keys": "pass",
                             "issuer.chain": "pass", "items[0].issuer": "pass"}
    assert ROOT.operator.name in found["issuer.trust_root"].reason
    assert ACCOUNT in found["items[0].issuer"].reason


@pytest.mark.parametrize("read", [None, ChainReading(node="http://down.test",
                                                     error="connection refused")])
def test_without_a_node_nothing_on_chain_passes(read: ChainReading | None) -> None:
    found = checks(read)
    assert status(found) == {"issuer.trust_root": "pass", "issuer.keys": "pass",
                             "issuer.chain": "skip", "items[0].issuer": "skip"}
    if read is not None:
        assert "connection refused" in found["issuer.chain"].reason
    else:
        assert "offline" in found["issuer.chain"].reason


def test_an_anchor_in_another_registry_fails_even_offline() -> None:
    for read in (None, reading()):
        found = checks(read, pins=[ItemPin(2, "items/003", anchor(STRANGER), CURRENT)])
        bad = found["items[2].issuer"]
        assert bad.status is CheckStatus.FAIL
        assert STRANGER in bad.reason and REGISTRY in bad.reason and "items/003" in bad.reason


def test_an_anchor_on_another_chain_fails() -> None:
    bad = checks(reading(), pins=[ItemPin(0, "items/001", anchor(chain_id=1), CURRENT)])
    assert bad["items[0].issuer"].status is CheckStatus.FAIL
    assert "chain 1" in bad["items[0].issuer"].reason


def test_a_node_of_another_chain_fails() -> None:
    bad = checks(reading(chain_id=31337))["issuer.chain"]
    assert bad.status is CheckStatus.FAIL and "31337" in bad.reason and "8453" in bad.reason


def test_a_private_copy_of_the_chain_fails_on_the_pinned_block_hash() -> None:
    bad = checks(reading(pinned_block_hash="0x" + "99" * 32))["issuer.chain"]
    assert bad.status is CheckStatus.FAIL
    assert "0x" + "99" * 32 in bad.reason and str(ROOT.registry.deployment_block_hash) in bad.reason
    assert "block 21000000" in bad.reason


def test_other_code_at_the_registry_address_fails() -> None:
    codes = {REGISTRY.lower(): "0x" + "77" * 32}
    bad = checks(reading(code_keccak256=codes))["issuer.chain"]
    assert bad.status is CheckStatus.FAIL and REGISTRY.lower() in bad.reason
    empty = checks(reading(code_keccak256={REGISTRY.lower(): EMPTY_CODE_KECCAK}))["issuer.chain"]
    assert empty.status is CheckStatus.FAIL and "no contract" in empty.reason
    unanswered = checks(reading(code_keccak256={}))["issuer.chain"]
    assert unanswered.status is CheckStatus.SKIP


def test_a_previous_registry_used_by_an_anchor_must_have_its_pinned_code() -> None:
    pins = [ItemPin(0, "items/001", anchor(PREVIOUS, block=20999000), CURRENT)]
    codes = {REGISTRY.lower(): ROOT.registry.code_keccak256, PREVIOUS.lower(): "0x" + "55" * 32}
    bad = checks(reading(code_keccak256=codes, senders={TX: ACCOUNT}), pins=pins)
    assert bad["issuer.chain"].status is CheckStatus.FAIL and PREVIOUS.lower() in \
        bad["issuer.chain"].reason


def test_an_anchor_sent_by_another_account_fails_naming_it() -> None:
    mallory = checksum_address("0x" + "42" * 20)
    bad = checks(reading(senders={TX: mallory}))["items[0].issuer"]
    assert bad.status is CheckStatus.FAIL and mallory in bad.reason and TX in bad.reason
    unknown = checks(reading(senders={}))["items[0].issuer"]
    assert unknown.status is CheckStatus.SKIP


def test_the_statement_key_must_be_registered_on_chain_before_the_anchor() -> None:
    unregistered = checks(reading(keys={CURRENT: KeyRegistration(CURRENT)}))["items[0].issuer"]
    assert unregistered.status is CheckStatus.FAIL and "not registered" in unregistered.reason
    later = checks(reading(keys={CURRENT: KeyRegistration(CURRENT, 21499999)}))["items[0].issuer"]
    assert later.status is CheckStatus.FAIL and "21499999" in later.reason
    unread = checks(reading(keys={CURRENT: None}))["items[0].issuer"]
    assert unread.status is CheckStatus.SKIP


def test_a_key_retired_on_chain_signs_nothing_anchored_after() -> None:
    pins = [ItemPin(0, "items/001", anchor(block=21500000), OLD)]
    bad = checks(reading(), pins=pins)["items[0].issuer"]
    assert bad.status is CheckStatus.FAIL and "retired" in bad.reason and "21500000" in bad.reason
    before = checks(reading(), pins=[ItemPin(0, "items/001", anchor(block=21499999), OLD)])
    assert before["items[0].issuer"].status is CheckStatus.PASS
    assert "retired only in block 21500000" in before["items[0].issuer"].reason


def test_an_anchor_in_an_earlier_registry_needs_the_key_registered_not_before_it() -> None:
    """A v1 registry had no key registrations: its anchors are older than the keys' record."""
    pins = [ItemPin(0, "items/001", anchor(PREVIOUS, block=20000000), OLD)]
    ok = checks(reading(), pins=pins)["items[0].issuer"]
    assert ok.status is CheckStatus.PASS and "earlier registry" in ok.reason
    late = [ItemPin(0, "items/001", anchor(PREVIOUS, block=21000001), OLD)]
    bad = checks(reading(), pins=late)["items[0].issuer"]
    assert bad.status is CheckStatus.FAIL and PREVIOUS in bad.reason


def test_an_item_without_a_readable_anchor_fails() -> None:
    bad = checks(reading(), pins=[ItemPin(1, "items/002", None, None)])["items[1].issuer"]
    assert bad.status is CheckStatus.FAIL and "items/002" in bad.reason


def test_the_anchor_observations_are_kept_for_the_chain_anchor_check() -> None:
    q = AnchorQuery(8453, REGISTRY.lower(), b"\x01" * 32)
    read = reading(anchors={q: ChainObservation(node="n", chain_id=8453, registry_found=True,
                                                anchor=anchor())})
    assert read.anchors[q].anchor == anchor() and read.answered
    assert not ChainReading(node="n", error="down").answered


def test_a_development_trust_root_says_so() -> None:
    dev = VerifiedTrustRoot(replace(ROOT, development=True), "f" * 4, CURRENT)
    assert "DEVELOPMENT" in checks(reading(), root=dev)["issuer.trust_root"].reason


def test_every_signing_key_must_be_registered_on_chain() -> None:
    """Not only the statements' keys: the manifest's, the receipts', the custody events'."""
    uses = [SignatureUse("manifest.jws", CURRENT, "2026-07-05T00:00:00.000000Z")]
    unregistered = checks(reading(keys={CURRENT: KeyRegistration(CURRENT)}), uses=uses)
    assert unregistered["issuer.keys"].status is CheckStatus.FAIL
    assert "manifest.jws" in unregistered["issuer.keys"].reason
    assert "not registered on chain" in unregistered["issuer.keys"].reason
    retired = KeyRegistration(CURRENT, 21499990, 21600000, retired_at=1_783_440_800)
    later = checks(reading(keys={CURRENT: retired}), uses=[SignatureUse(
        "items/001/custody.jsonl event 3", CURRENT, "2026-07-10T00:00:00.000000Z")])
    assert later["issuer.keys"].status is CheckStatus.PASS, (
        "a claimed time is the signer's word: retirement is judged by the anchor's block")


def test_questions_from_a_hostile_bundle_never_raise() -> None:
    """Headers that are not JSON objects, not base64, or name no kid give no question."""
    from notary.core.signing import claimed_kid as _kid

    for token in ("", "W10.e30.sig", "!!!.e30.sig", "eyJraWQiOjF9", "e30.e30.x", "WzFd"):
        assert _kid(token) in (None, "1")
