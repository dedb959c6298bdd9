"""Chain faults with a real node: it stops for a while, it loses recent blocks, a transaction
gets stuck. Each test has its own anvil so it can be stopped, reverted or frozen."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from notary.chain.embedded import EmbeddedChain
from notary.config import Settings
from storage.db import Batch, session
from tests.support import LiveServer, free_port, quiescent, wait_until

pytestmark = [pytest.mark.chain, pytest.mark.faults]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[EmbeddedChain]:
    chain = EmbeddedChain(tmp_path / "anvil", port=free_port())
    chain.start()
    yield chain
    chain.stop()


@pytest.fixture
def server(node: EmbeddedChain, settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(replace(settings, chain_port=node.port, batch_seconds=0.2,
                              chain_timeout=3.0, replace_after_seconds=1.0))
    yield live
    live.stop()


def rpc(node: EmbeddedChain, method: str, *params: object) -> object:
    resp = httpx.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                      "params": list(params)}, timeout=10)
    body = resp.json()
    assert "error" not in body, body
    return body["result"]


def submit(http: httpx.Client, n: int, case: str) -> list[str]:
    ids = []
    for i in range(n):
        resp = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": case, "kind": "other"})),
            "file": (f"f{i}.bin", os.urandom(100) + case.encode())})
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    return ids


def all_anchored(http: httpx.Client, ids: list[str]) -> bool:
    return all(http.get(f"/v1/evidence/{i}").json()["status"] == "anchored" for i in ids)


def test_node_down_for_a_while_then_anchoring_catches_up(
    node: EmbeddedChain, server: LiveServer
) -> None:
    http = server.admin()
    first = submit(http, 3, "C-DOWN")
    wait_until(lambda: all_anchored(http, first))
    node.stop()  # the node goes away (state dumped, as a clean stop would)
    during = submit(http, 5, "C-DOWN")  # submissions continue: receipts are still given
    health = wait_until(lambda: (h := server.admin().get("/v1/health")).status_code == 503 and h)
    assert health.json()["chain"]["ok"] is False  # type: ignore[union-attr]
    assert all(http.get(f"/v1/evidence/{i}").json()["status"] == "pending" for i in during)
    node.start()  # back, with its state
    wait_until(lambda: all_anchored(http, first + during), timeout=30)
    wait_until(lambda: quiescent(server.service), timeout=30)
    registry = server.service.chain.registry  # type: ignore[union-attr]
    with session(server.service.engine) as s:
        batches = list(s.exec(select(Batch)))
    assert registry.head()[1] == len(batches), "chain and database agree on the batches"


def test_lost_blocks_are_detected_reanchored_and_old_proofs_marked_superseded(
    node: EmbeddedChain, server: LiveServer
) -> None:
    http = server.admin()
    kept = submit(http, 2, "C-REORG")
    wait_until(lambda: all_anchored(http, kept))
    snapshot = rpc(node, "evm_snapshot")
    lost = submit(http, 3, "C-REORG")
    wait_until(lambda: all_anchored(http, lost))
    old_proof = http.get(f"/v1/evidence/{lost[0]}/proof").json()
    assert old_proof["superseded_anchors"] == []

    assert rpc(node, "evm_revert", snapshot) is True  # the chain loses the last blocks

    def re_anchored() -> dict | None:
        body = http.get(f"/v1/evidence/{lost[0]}").json()
        return body if body["status"] == "anchored" and body["superseded_anchors"] else None

    body = wait_until(re_anchored, timeout=30)
    gone = body["superseded_anchors"][0]  # type: ignore[index]
    assert gone["tx_hash"] == old_proof["anchor"]["tx_hash"]
    assert gone["block_hash"] == old_proof["anchor"]["block_hash"]
    assert "lost" in gone["reason"]
    new_proof = http.get(f"/v1/evidence/{lost[0]}/proof").json()
    # Same tree, so the same leaf, path and root; only the anchor is new.
    assert (new_proof["leaf"], new_proof["proof"], new_proof["root"]) == (
        old_proof["leaf"], old_proof["proof"], old_proof["root"])
    assert new_proof["anchor"]["block_hash"] != old_proof["anchor"]["block_hash"]
    assert new_proof["superseded_anchors"][0]["tx_hash"] == old_proof["anchor"]["tx_hash"]
    registry = server.service.chain.registry  # type: ignore[union-attr]
    assert registry.find_anchor(bytes.fromhex(new_proof["root"][2:])).tx_hash == \
        new_proof["anchor"]["tx_hash"]
    # Items anchored before the snapshot were not touched.
    assert http.get(f"/v1/evidence/{kept[0]}").json()["superseded_anchors"] == []
    # The lost items may have been in more than one batch; the worker re-anchors them one
    # batch per cycle, so the others may come a cycle after lost[0]'s.
    wait_until(lambda: all_anchored(http, kept + lost), timeout=30)


def test_a_stuck_transaction_is_replaced(node: EmbeddedChain, server: LiveServer) -> None:
    http = server.admin()
    warm = submit(http, 1, "C-STUCK")
    wait_until(lambda: all_anchored(http, warm))
    rpc(node, "evm_setAutomine", False)  # the node stops including transactions
    stuck = submit(http, 2, "C-STUCK")

    def replaced() -> list | None:
        with session(server.service.engine) as s:
            rows = list(s.exec(select(Batch).where(Batch.status == "sent")))
        for row in rows:
            history = json.loads(row.tx_history or "[]")
            if len(history) >= 2:
                return history
        return None

    history = wait_until(replaced, timeout=30)
    assert history[-1]["replaces"] == history[-2]["tx_hash"]  # type: ignore[index]
    assert history[-1]["nonce"] == history[0]["nonce"]  # type: ignore[index]
    assert history[-1]["max_fee"] > history[-2]["max_fee"]  # type: ignore[index]
    rpc(node, "evm_setAutomine", True)
    rpc(node, "anvil_mine", "0x1")
    wait_until(lambda: all_anchored(http, stuck), timeout=30)
    proof = http.get(f"/v1/evidence/{stuck[0]}/proof").json()
    assert proof["anchor"]["tx_hash"] in {h["tx_hash"] for h in history[1:]}  # type: ignore[union-attr]
    wait_until(lambda: quiescent(server.service), timeout=30)
    registry = server.service.chain.registry  # type: ignore[union-attr]
    with session(server.service.engine) as s:
        batches = list(s.exec(select(Batch)))
    assert registry.head()[1] == len(batches), "every batch anchored once"
    stuck_batch = next(b for b in batches if b.tx_hash == proof["anchor"]["tx_hash"])
    assert registry.batch_of(bytes.fromhex(stuck_batch.root[2:]))[0] == stuck_batch.onchain_batch_id
