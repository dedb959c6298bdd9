"""An external chain: a second, separately started node with its own chain id, an operator
keystore, `notary contract deploy`, `notary doctor`, and refusals when anything does not match."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from eth_account import Account

from notary.chain.embedded import EmbeddedChain
from notary.chain.errors import ChainError
from notary.chain.fees import FeePolicy
from notary.chain.registry import Registry, connect
from notary.config import Settings
from notary.core.merkle import MerkleTree
from tests.support import REPO, LiveServer, free_port, wait_until

pytestmark = [pytest.mark.chain]

EXTERNAL_CHAIN_ID = 424242
PASSPHRASE = "operator passphrase"


@pytest.fixture(scope="module")
def external(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedChain]:
    """Another node, started on its own, that notary treats as somebody else's chain."""
    node = EmbeddedChain(tmp_path_factory.mktemp("external"), port=free_port(),
                         chain_id=EXTERNAL_CHAIN_ID)
    node.start()
    yield node
    node.stop()


@pytest.fixture
def operator(tmp_path: Path, external: EmbeddedChain) -> tuple[Path, str]:
    """An operator's keystore file (v3, scrypt), funded on the external chain."""
    acct = Account.create()
    path = tmp_path / "operator.json"
    path.write_text(json.dumps(Account.encrypt(acct.key, PASSPHRASE)))
    path.chmod(0o600)
    connect(external.url).provider.make_request("anvil_setBalance", [acct.address, hex(10**20)])
    return path, acct.address


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "notary.cli", *args], cwd=REPO,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
                          check=False)


def test_deploy_doctor_and_anchor_on_an_external_chain(
    tmp_path: Path, external: EmbeddedChain, operator: tuple[Path, str], settings: Settings
) -> None:
    keystore, address = operator
    env = {"NOTARY_HOME": str(tmp_path / "home"), "NOTARY_RPC_URL": external.url,
           "NOTARY_CHAIN_ID": str(EXTERNAL_CHAIN_ID), "NOTARY_KEYSTORE_FILE": str(keystore),
           "NOTARY_KEYSTORE_PASSPHRASE": PASSPHRASE, "NOTARY_PORT": str(free_port())}
    deployed = cli(["contract", "deploy"], env)
    assert deployed.returncode == 0, deployed.stderr
    deployment = json.loads(deployed.stdout)
    assert deployment["chain_id"] == EXTERNAL_CHAIN_ID
    env["NOTARY_CONTRACT_ADDRESS"] = deployment["address"]

    doctor = cli(["doctor"], env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"chain {EXTERNAL_CHAIN_ID}" in doctor.stdout and "code matches" in doctor.stdout
    assert address in doctor.stdout

    server = LiveServer(replace(
        settings, home=tmp_path / "svc", rpc_url=external.url, chain_id=EXTERNAL_CHAIN_ID,
        contract_address=deployment["address"], keystore_file=keystore,
        keystore_passphrase=PASSPHRASE))
    try:
        http = server.admin()
        created = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": "EXT-1", "kind": "notice"})),
            "file": ("n.pdf", b"%PDF external chain notice", "application/pdf")}).json()
        body = wait_until(lambda: (b := http.get(f"/v1/evidence/{created['id']}").json())
                          ["status"] == "anchored" and b)
        assert body["anchor"]["chain_id"] == EXTERNAL_CHAIN_ID  # type: ignore[index]
        assert body["anchor"]["contract"] == deployment["address"]  # type: ignore[index]
        health = server.admin().get("/v1/health").json()
        assert "rpc_url" not in health["chain"], "an external node's URL is not published"
    finally:
        server.stop()


def test_refuses_to_start_when_chain_or_contract_do_not_match(
    tmp_path: Path, external: EmbeddedChain, operator: tuple[Path, str]
) -> None:
    keystore, _ = operator
    base = {"NOTARY_HOME": str(tmp_path / "home"), "NOTARY_RPC_URL": external.url,
            "NOTARY_KEYSTORE_FILE": str(keystore), "NOTARY_KEYSTORE_PASSPHRASE": PASSPHRASE,
            "NOTARY_PORT": str(free_port())}
    good = cli(["contract", "deploy"], {**base, "NOTARY_CHAIN_ID": str(EXTERNAL_CHAIN_ID)})
    address = json.loads(good.stdout)["address"]
    w3 = connect(external.url)
    # a contract that is not ours: runtime code that just returns 42
    other = Account.create()
    w3.provider.make_request("anvil_setBalance", [other.address, hex(10**20)])
    w3.provider.make_request("anvil_setCode", ["0x" + "42" * 20, "0x602a60005260206000f3"])

    cases = {
        "no chain id given": ({}, "NOTARY_CHAIN_ID"),
        "wrong chain id": ({"NOTARY_CHAIN_ID": "1", "NOTARY_CONTRACT_ADDRESS": address},
                           f"chain {EXTERNAL_CHAIN_ID}"),
        "no contract there": ({"NOTARY_CHAIN_ID": str(EXTERNAL_CHAIN_ID),
                               "NOTARY_CONTRACT_ADDRESS": other.address}, "no contract"),
        "another contract": ({"NOTARY_CHAIN_ID": str(EXTERNAL_CHAIN_ID),
                              "NOTARY_CONTRACT_ADDRESS": "0x" + "42" * 20}, "code differs"),
        "no contract configured": ({"NOTARY_CHAIN_ID": str(EXTERNAL_CHAIN_ID)},
                                   "NOTARY_CONTRACT_ADDRESS"),
    }
    for name, (extra, expected) in cases.items():
        run = cli(["run"], {**base, **extra})
        assert run.returncode != 0, name
        assert expected in run.stderr, (name, run.stderr)
        assert len(run.stderr.strip().splitlines()) == 1, (name, run.stderr)


def test_fee_ceiling_holds_anchors_back(external: EmbeddedChain) -> None:
    w3 = connect(external.url)
    acct = Account.create()
    w3.provider.make_request("anvil_setBalance", [acct.address, hex(10**20)])
    registry, _ = Registry.deploy(w3, acct)
    root = MerkleTree.build([os.urandom(32)]).root
    capped = Registry(w3, registry.address, acct, fees=FeePolicy(max_fee_wei=1))
    with pytest.raises(ChainError) as err:
        capped.build_anchor(root, 1, registry.head()[0])
    assert err.value.code == "fee_above_ceiling"
    ceiling = 50 * 10**9
    roomy = Registry(w3, registry.address, acct, fees=FeePolicy(max_fee_wei=ceiling))
    tx_hash, raw = roomy.build_anchor(root, 1, registry.head()[0])
    roomy.send_raw(raw)
    facts = roomy.wait_for_anchor(tx_hash)
    assert facts.root == root
    assert int(w3.eth.get_transaction(tx_hash)["maxFeePerGas"]) <= ceiling
