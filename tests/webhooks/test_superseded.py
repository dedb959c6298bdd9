"""An anchor the chain loses (its own anvil, reverted) is announced as superseded, then the item
is announced anchored again, in the new block."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from notary.chain.embedded import EmbeddedChain
from notary.config import Settings
from tests.faults.test_chain_faults import node, rpc  # noqa: F401 - node is a fixture
from tests.support import LiveServer, wait_until
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_webhooks import FAST, register, submit

pytestmark = [pytest.mark.chain, pytest.mark.faults, pytest.mark.api]


@pytest.fixture
def reverted(node: EmbeddedChain, settings: Settings) -> Iterator[LiveServer]:  # noqa: F811
    live = LiveServer(replace(settings, chain_port=node.port, chain_timeout=3.0,
                              replace_after_seconds=1.0, **FAST))  # type: ignore[arg-type]
    yield live
    live.stop()


def test_a_lost_anchor_is_announced_superseded_then_anchored_again(
        node: EmbeddedChain, reverted: LiveServer) -> None:  # noqa: F811
    receiver = Receiver().start()
    try:
        admin = reverted.admin()
        register(admin, receiver.url, ["evidence.anchored", "evidence.anchor_superseded"])
        snapshot = rpc(node, "evm_snapshot")
        item = submit(admin, "HX-2026-0008", "lost block")

        def events() -> list[dict]:
            return [a.event for a in receiver.deduplicated().values()]

        wait_until(lambda: any(e["type"] == "evidence.anchored" for e in events()))
        first = next(e for e in events() if e["type"] == "evidence.anchored")
        assert rpc(node, "evm_revert", snapshot) is True
        wait_until(lambda: [e["type"] for e in events()].count("evidence.anchored") == 2,
                   timeout=30)
        kinds = [e["type"] for e in events()]
        superseded = next(e for e in events() if e["type"] == "evidence.anchor_superseded")
        assert superseded["data"]["evidence_id"] == item["id"]
        assert superseded["data"]["superseded_tx_hash"] == first["data"]["tx_hash"]
        again = [e for e in events() if e["type"] == "evidence.anchored"][-1]
        assert again["data"]["root"] == first["data"]["root"], "same tree, anchored again"
        assert kinds == ["evidence.anchored", "evidence.anchor_superseded",
                         "evidence.anchored"], "in the order they happened"
    finally:
        receiver.stop()
