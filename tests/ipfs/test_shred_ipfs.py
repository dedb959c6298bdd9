"""Shredding on NOTARY_BLOB_STORE=ipfs: the recording's ciphertext is unpinned and its blocks
garbage-collected on the real node, the item key is gone, and the proof stays."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from multiformats import CID

from tests.ipfs.test_service_ipfs import _submit
from tests.support import SAMPLES, LiveServer, wait_until
from tests.support_ipfs import IpfsDaemon

pytestmark = [
    pytest.mark.ipfs,
    pytest.mark.api,
    pytest.mark.chain,
    pytest.mark.filterwarnings("ignore:The 'strict' parameter is no longer needed:FutureWarning"),
]


def _local_blocks(node: IpfsDaemon) -> set[bytes]:
    """The multihashes of every block the node stores (js-ipfs keys blocks by multihash and
    reports them as raw CIDs)."""
    lines = node.rpc("refs/local").text.splitlines()
    return {bytes(CID.decode(json.loads(line)["Ref"]).raw_digest) for line in lines
            if line.strip()}


def test_shredded_recording_is_gone_from_the_node(
    make_server: Callable[..., LiveServer], ipfs_node: IpfsDaemon
) -> None:
    server = make_server(blob_store="ipfs", ipfs_api=ipfs_node.multiaddr)
    http = server.admin()
    created = _submit(http, SAMPLES / "call-2026-11-28-0930.wav", "call_recording")
    cid = CID.decode(created["cid"])
    assert cid in ipfs_node.pinned() and bytes(cid.raw_digest) in _local_blocks(ipfs_node)
    wait_until(lambda: http.get(f"/v1/evidence/{created['id']}").json()["status"] == "anchored")

    resp = http.post(f"/v1/evidence/{created['id']}/shred",
                     json={"reason": "data subject's erasure request granted"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["ciphertext_deleted"] is True
    assert "ipfs_pin" in body["certificate"]["destroyed"]
    assert cid not in ipfs_node.pinned()
    assert bytes(cid.raw_digest) not in _local_blocks(ipfs_node), "the node still holds the blocks"
    assert http.get(f"/v1/evidence/{created['id']}/content").status_code == 410
    proof = http.get(f"/v1/evidence/{created['id']}/proof")
    assert proof.status_code == 200 and proof.json()["anchor"]["tx_hash"]
