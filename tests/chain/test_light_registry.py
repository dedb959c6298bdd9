"""The API process's web3-free chain reads (notary.chain.light) against the web3 adapter.

LightRegistry hand-encodes the registry's calls and decodes its events, so that an API process
does not carry web3 (issue 17). Both adapters read the same contract on a real anvil node here,
and must answer value for value: a change of the contract or of either adapter shows up."""

from __future__ import annotations

import os

import pytest
from eth_account import Account

from notary.chain.light import LightRegistry, checksum_address
from notary.chain.registry import Registry
from notary.core.merkle import MerkleTree

pytestmark = [pytest.mark.chain]


def test_light_reads_answer_as_the_web3_adapter(anvil, registry: Registry) -> None:
    light = LightRegistry(anvil.url, registry.address)
    roots = [MerkleTree.build([os.urandom(32) for _ in range(n)]).root for n in (1, 3, 7)]
    anchored = [registry.anchor(root, n) for root, n in zip(roots, (1, 3, 7), strict=True)]
    thumbprint = os.urandom(32)
    registry.register_signing_key(thumbprint)
    retired = os.urandom(32)
    registry.register_signing_key(retired)
    registry.retire_signing_key(retired)

    assert light.address == registry.address
    assert light.chain_id == registry.chain_id
    assert light.latest_block() == registry.latest_block()
    assert light.code_keccak() == registry.code_keccak()
    assert light.version() == registry.version()
    for facts in anchored:
        assert light.block_hash(facts.block_number) == registry.block_hash(facts.block_number)
    for root, facts in zip(roots, anchored, strict=True):
        assert light.find_anchor(root) == registry.find_anchor(root) == facts
    unanchored = os.urandom(32)
    assert light.find_anchor(unanchored) is None and registry.find_anchor(unanchored) is None
    for key in (thumbprint, retired, os.urandom(32)):  # registered, retired, never registered
        assert light.signing_key(key) == registry.signing_key(key)
    assert light.signing_key(retired).retired_at > 0
    assert light.notaries() == registry.notaries() and light.notaries()
    notary = light.notaries()[0]
    assert light.is_notary(notary) and registry.is_notary(notary)
    stranger = Account.create().address
    assert not light.is_notary(stranger) and not registry.is_notary(stranger)
    assert checksum_address(stranger.lower()) == stranger  # EIP-55, as eth-account writes it
