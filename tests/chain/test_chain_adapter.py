"""The chain adapter against a real anvil node: errors come out as our own types."""

from __future__ import annotations

import os
import threading

import pytest
from eth_account import Account

from notary.chain.errors import AnchorRejected, ChainError, ChainUnavailable
from notary.chain.registry import Registry, connect
from notary.core.merkle import MerkleTree
from tests.support import free_port

pytestmark = [pytest.mark.chain]


def root_of(n: int) -> bytes:
    return MerkleTree.build([os.urandom(32) for _ in range(n)]).root


def test_anchor_and_read_back(registry: Registry) -> None:
    root = root_of(5)
    facts = registry.anchor(root, 5)
    assert facts.batch_id == 1 and facts.root == root
    block = registry.w3.eth.get_block(facts.block_number)
    assert facts.block_hash == "0x" + bytes(block["hash"]).hex()
    assert facts.block_timestamp == block["timestamp"]
    assert registry.find_anchor(root) == facts
    assert registry.batch_of(root)[3] == 5
    assert registry.head() == (root, 1)
    assert registry.find_anchor(root_of(2)) is None
    receipt = registry.raw_tx_receipt(facts.tx_hash)
    assert receipt["transactionHash"] == facts.tx_hash and receipt["status"] == "0x1"


@pytest.mark.parametrize("case,code", [
    ("zero-root", "EvidenceRegistryZeroRoot"),
    ("zero-count", "EvidenceRegistryZeroLeafCount"),
    ("duplicate-root", "EvidenceRegistryRootAlreadyAnchored"),
    ("stale-head", "EvidenceRegistryStaleHead"),
])
def test_registry_refusals_are_named(registry: Registry, case: str, code: str) -> None:
    first = root_of(3)
    registry.anchor(first, 3)
    args = {"zero-root": (b"\0" * 32, 1, first), "zero-count": (root_of(1), 0, first),
            "duplicate-root": (first, 3, first), "stale-head": (root_of(2), 2, b"\1" * 32)}[case]
    with pytest.raises(AnchorRejected) as err:
        registry.anchor(*args)
    assert err.value.code == code
    assert registry.head()[1] == 1, "nothing was anchored"


def test_only_the_notary_role_may_anchor(registry: Registry) -> None:
    stranger = Account.create()
    registry.w3.provider.make_request("anvil_setBalance", [stranger.address, hex(10**20)])
    other = Registry(registry.w3, registry.address, stranger)
    with pytest.raises(AnchorRejected) as err:
        other.anchor(root_of(1), 1)
    assert err.value.code == "AccessControlUnauthorizedAccount"


def test_waits_for_confirmations(registry: Registry) -> None:
    registry.confirmations = 3
    root = root_of(2)
    tx_hash, raw = registry.build_anchor(root, 2, registry.head()[0])
    registry.send_raw(raw)
    result: list[object] = []
    waiter = threading.Thread(target=lambda: result.append(registry.wait_for_anchor(tx_hash)))
    waiter.start()
    waiter.join(1.0)
    assert waiter.is_alive() and not result, "must wait for 3 confirmations"
    registry.w3.provider.make_request("anvil_mine", [2])
    waiter.join(10)
    assert result and result[0].root == root  # type: ignore[attr-defined]


def test_resending_the_same_transaction_is_harmless(registry: Registry) -> None:
    root = root_of(4)
    tx_hash, raw = registry.build_anchor(root, 4, registry.head()[0])
    assert registry.send_raw(raw) == tx_hash
    registry.wait_for_anchor(tx_hash)
    with pytest.raises(ChainError):
        registry.send_raw(raw)  # nonce already used: the node refuses, as our error type
    assert registry.head() == (root, 1)


def test_node_down_is_chain_unavailable() -> None:
    reg = Registry(connect(f"http://127.0.0.1:{free_port()}", timeout=2),
                   "0x" + "11" * 20, Account.create())
    with pytest.raises(ChainUnavailable) as err:
        reg.head()
    assert err.value.code == "chain_unavailable"
    with pytest.raises(ChainUnavailable):
        reg.anchor(root_of(1), 1, b"\0" * 32)
