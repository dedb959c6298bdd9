"""Item 3: gas of one ``EvidenceRegistry.anchor`` per batch (1, 1,000 and 100,000 leaves) on a
fresh anvil, against a naive registry that writes one storage slot per item
(``bench/NaivePerItemRegistry.sol``), measured with 1,000 real transactions and extrapolated
linearly (every ``register`` of a new hash costs the same)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from bench.data import leaf_values
from bench.procs import REPO, free_port, log
from notary.chain.compile import SETTINGS as SOLC_SETTINGS
from notary.chain.compile import SOLC_SHIM_RELPATH
from notary.chain.embedded import EmbeddedChain
from notary.chain.registry import Registry, connect
from notary.core.merkle import MerkleTree, statement_leaf

NAIVE_SOURCE = "bench/NaivePerItemRegistry.sol"
NAIVE_NAME = "NaivePerItemRegistry"
REFERENCE_GAS_PER_ITEM = 45_500  # measured by the author on this machine
BATCH_SIZES = (1, 1_000, 100_000)


def compile_naive() -> dict[str, Any]:
    """ABI and bytecode of the naive registry, compiled like the real contract (solcjs shim,
    same settings; nothing downloaded)."""
    import solcx

    source = (REPO / NAIVE_SOURCE).read_text()
    settings = dict(SOLC_SETTINGS)
    settings["outputSelection"] = {NAIVE_SOURCE: {NAIVE_NAME: ["abi", "evm.bytecode.object"]}}
    out = solcx.compile_standard(
        {"language": "Solidity", "sources": {NAIVE_SOURCE: {"content": source}},
         "settings": settings},
        base_path=REPO, allow_paths=[REPO], solc_binary=REPO / SOLC_SHIM_RELPATH,
    )
    contract = out["contracts"][NAIVE_SOURCE][NAIVE_NAME]
    return {"abi": contract["abi"], "bytecode": "0x" + contract["evm"]["bytecode"]["object"]}


def _rpc_batch(url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    resp = requests.post(url, json=body, timeout=120)
    resp.raise_for_status()
    answers = sorted(resp.json(), key=lambda a: a["id"])
    for a in answers:
        if "error" in a:
            raise RuntimeError(f"RPC error: {a['error']}")
    return [a["result"] for a in answers]


def _receipts(url: str, hashes: list[str], timeout: float = 60) -> list[Any]:
    """Receipts of ``hashes``, waiting for any not mined yet."""
    deadline = time.monotonic() + timeout
    while True:
        receipts = _rpc_batch(url, [("eth_getTransactionReceipt", [h]) for h in hashes])
        if all(r is not None for r in receipts) or time.monotonic() > deadline:
            return receipts
        time.sleep(0.1)


def _tree(n: int, seed: str) -> MerkleTree:
    return MerkleTree.build([statement_leaf(d, s) for _t, s, d in leaf_values(n, seed)])


def _naive(w3: Web3, url: str, account: LocalAccount, items: list[bytes]) -> list[int]:
    art = compile_naive()
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = factory.constructor().build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction), timeout=60)
    naive = w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])
    nonce = w3.eth.get_transaction_count(account.address)
    fees = {"maxFeePerGas": 2 * w3.eth.gas_price + 10**9, "maxPriorityFeePerGas": 10**9}
    raws = []
    for i, item in enumerate(items):
        data = naive.encode_abi("register", [item])
        raws.append(account.sign_transaction({
            "to": naive.address, "data": data, "gas": 100_000, "nonce": nonce + i,
            "chainId": w3.eth.chain_id, "value": 0, "type": 2, **fees,
        }))
    hashes: list[str] = []
    for start in range(0, len(raws), 100):
        chunk = raws[start:start + 100]
        hashes += _rpc_batch(url, [("eth_sendRawTransaction", ["0x" + s.raw_transaction.hex()])
                                   for s in chunk])
    gas = []
    for start in range(0, len(hashes), 100):
        receipts = _receipts(url, hashes[start:start + 100])
        for r in receipts:
            if r is None or int(r["status"], 16) != 1:
                raise RuntimeError(f"a naive register transaction failed: {r}")
            gas.append(int(r["gasUsed"], 16))
    return gas


def run(tmp: Path, *, naive_items: int = 1_000) -> dict[str, Any]:
    chain = EmbeddedChain(tmp / "anvil-gas", port=free_port())
    chain.start()
    try:
        w3 = connect(chain.url)
        account = Account.create()
        w3.provider.make_request("anvil_setBalance",  # type: ignore[arg-type]
                                 [account.address, hex(10**24)])
        registry, _deployment = Registry.deploy(w3, account)

        def gas_of(tx_hash: str) -> int:
            return int(w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])  # type: ignore[arg-type]

        log("gas: anchoring batches of 1 (first ever), 1, 1,000, 100,000 leaves")
        first = gas_of(registry.anchor(_tree(1, "gas-first").root, 1).tx_hash)
        anchors = {}
        trees = {}
        for n in BATCH_SIZES:
            trees[n] = _tree(n, f"gas-{n}")
            anchors[n] = gas_of(registry.anchor(trees[n].root, n).tx_hash)
        log(f"  first anchor {first} gas; then {anchors}")
        log(f"gas: naive per-item registry, {naive_items} real register() transactions")
        items = trees[1_000].leaves[:naive_items]
        if len(items) < naive_items:
            items = _tree(naive_items, "gas-naive").leaves
        per_tx = _naive(w3, chain.url, account, items)
        mean = sum(per_tx) / len(per_tx)
        log(f"  naive register: mean {mean:.0f} gas (min {min(per_tx)}, max {max(per_tx)})")
        return {
            "first_anchor_gas": first,
            "anchor_gas": {str(n): g for n, g in anchors.items()},
            "naive": {"transactions": len(per_tx), "gas_min": min(per_tx), "gas_max": max(per_tx),
                      "gas_mean": mean, "total_measured": sum(per_tx),
                      "extrapolated": {str(n): round(mean * n) for n in BATCH_SIZES}},
            "naive_reference_gas_per_item": REFERENCE_GAS_PER_ITEM,
        }
    finally:
        chain.stop()


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(run(Path(d), naive_items=int(sys.argv[1]) if len(sys.argv) > 1 else 1000),
                         indent=1))
