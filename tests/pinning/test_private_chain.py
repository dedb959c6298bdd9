"""Forgery 5 of issue 14: chain id 31337 is a development chain anyone can run with any clock.
A second, private anvil whose clock starts 60 days ago reproduces the genuine contract
address and anchoring account (the same account, deploying from the same nonce on a fresh
chain, gives the same address) and even the genuine statement-signing key (the worst case: a
copy of the deployment's keys, run against the forger's own node). Its bundle is signed by a
key of the trust root, anchored at the pinned address by the pinned account in a registry with
the pinned code, with block times before the genuine deployment existed.

Only the chain itself tells it apart: pinned, the node's hash of the pinned block (the
registry's deployment block, or block 0) is not the trust root's."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from notary.chain.embedded import EmbeddedChain
from notary.chain.registry import connect
from notary.config import Settings
from notary.core.trustroot import VerifiedTrustRoot, verify_trust_root
from tests.pinning.conftest import (
    CASE,
    OPERATOR,
    OPERATOR_REGISTRATION,
    WELL_KNOWN,
    Deployment,
    answer,
    assert_not_established,
    assert_refused,
    cli_verify,
    describe,
    failed,
    notarise,
    sample_files,
    verify,
)
from tests.support import LiveServer, free_port

pytestmark = [pytest.mark.chain]
DAYS_BACK = 60


class PastChain(EmbeddedChain):
    """anvil with chain id 31337 whose genesis (and so every block after it) is in the past."""

    def __init__(self, state_dir: Path, *, port: int, start: int) -> None:
        super().__init__(state_dir, port=port)
        self.start_time = start

    def command(self) -> list[str]:
        return [*super().command(), "--timestamp", str(self.start_time)]


@dataclass
class PrivateCopy:
    chain: EmbeddedChain
    server: LiveServer
    trust_root: VerifiedTrustRoot
    case_bundle: bytes


@pytest.fixture(scope="module")
def private(genuine: Deployment, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[PrivateCopy]:
    chain = PastChain(tmp_path_factory.mktemp("private-anvil"), port=free_port(),
                      start=int(time.time()) - DAYS_BACK * 86400)
    chain.start()
    server = None
    try:
        # As many blocks as the genuine chain has before its registry, so that the pinned
        # block exists on the private chain too (and its hash is compared, not missing).
        pinned = genuine.root.root.registry.deployment_block or 0
        connect(chain.url).provider.make_request("anvil_mine", [hex(pinned + 3)])
        # The genuine deployment's keys (signing key, chain account) on the forger's node.
        home = tmp_path_factory.mktemp("private-home")
        shutil.copytree(genuine.server.settings.keys_dir, home / "keys")
        settings = Settings(home=home, port=free_port(), chain_port=chain.port,
                            batch_seconds=3600, batch_max=3, chain_timeout=20.0,
                            operator_name=OPERATOR, operator_registration=OPERATOR_REGISTRATION,
                            operator_country="CN", public_url="https://notary.example.cn")
        server = LiveServer(settings)
        ids = notarise(server, server.admin_key, sample_files())
        assert ids
        bundle = server.admin().get(f"/v1/cases/{CASE}/bundle")
        assert bundle.status_code == 200, bundle.text
        root = verify_trust_root(server.client().get(WELL_KNOWN).content)
        yield PrivateCopy(chain, server, root, bundle.content)
    finally:
        if server is not None:
            server.stop()
        chain.stop()


def test_the_private_chain_reproduces_every_pin_but_the_chain(genuine: Deployment,
                                                             private: PrivateCopy) -> None:
    """The set-up is the forgery the issue describes: same chain id, registry address, code,
    anchoring account and signing key; only the chain's blocks differ."""
    ours, theirs = genuine.root.root, private.trust_root.root
    assert theirs.chain_id == ours.chain_id == 31337
    assert theirs.registry.address == ours.registry.address
    assert theirs.registry.code_keccak256 == ours.registry.code_keccak256
    assert theirs.anchoring_accounts == ours.anchoring_accounts
    assert [k.kid for k in theirs.signing_keys] == [k.kid for k in ours.signing_keys]
    assert theirs.genesis_hash != ours.genesis_hash
    assert theirs.registry.deployment_block_hash != ours.registry.deployment_block_hash
    # Backdated: on its own chain the case "existed" weeks before the genuine registry did.
    report = verify(private.case_bundle, rpc=private.chain.url)
    assert_not_established(report)
    assert report["result"] == "not_established" and not failed(report), describe(report)
    w3 = connect(genuine.chain_url)
    deployed_at = w3.eth.get_block(ours.registry.deployment_block or 0)["timestamp"]
    claimed = [item["anchor"]["block_timestamp"] for item in report["facts"]["items"]]
    assert claimed and all(t < deployed_at - 30 * 86400 for t in claimed), (claimed, deployed_at)


def test_pinned_the_private_chain_fails_on_the_pinned_block(genuine: Deployment,
                                                           private: PrivateCopy) -> None:
    report = verify(private.case_bundle, trust_root=genuine.trust_root, rpc=private.chain.url)
    bad = assert_refused(report, "chain")
    assert any("hash" in c["reason"].lower() for c in bad), describe(report)
    assert answer(report, "existence_time")["status"] != "pass", describe(report)
    # Nothing of the keys is wrong: the key is the deployment's; the chain is not.
    assert not any(c["name"] == "keys" for c in bad), describe(report)


def test_pinned_against_the_genuine_node_the_anchors_are_not_there(
        genuine: Deployment, private: PrivateCopy) -> None:
    report = verify(private.case_bundle, trust_root=genuine.trust_root, rpc=genuine.chain_url)
    assert report["result"] == "invalid", describe(report)
    assert answer(report, "existence_time")["status"] == "fail", describe(report)


def test_cli_on_the_private_chain(genuine: Deployment, private: PrivateCopy,
                                  tmp_path: Path) -> None:
    code, report = cli_verify(tmp_path, private.case_bundle, trust_root=genuine.trust_root,
                              rpc=private.chain.url)
    assert code == 1, describe(report)
    assert_refused(report, "chain")
    code, report = cli_verify(tmp_path, private.case_bundle, rpc=private.chain.url)
    assert code == 5 and report["result"] == "not_established", describe(report)
