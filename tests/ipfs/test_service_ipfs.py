"""The whole service on NOTARY_BLOB_STORE=ipfs: real HTTP, the real chain, a real IPFS node.

Evidence is read back the way an outsider would: the ciphertext from the node's own RPC API,
opened with the standard ``age`` CLI and the exported item key. And the node going down and
coming back loses nothing: submissions made meanwhile succeed from the local spool and are
pinned once it returns.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from multiformats import CID

from notary.core.cid import CidBuilder
from notary.service.actors import Actor
from tests.support import SAMPLES, LiveServer, wait_until
from tests.support_ipfs import IpfsDaemon

pytestmark = [
    pytest.mark.ipfs,
    pytest.mark.api,
    pytest.mark.chain,
    pytest.mark.filterwarnings("ignore:The 'strict' parameter is no longer needed:FutureWarning"),
]

CASE = "HX-2026-1128-ZW"
SAMPLE_FILES = {"call-2026-11-28-0930.wav": "call_recording",
                "notice-2026-11-28.pdf": "notice",
                "agreement-2026-11-28.pdf": "agreement"}


def _submit(http: httpx.Client, path: Path, kind: str) -> dict[str, Any]:
    with path.open("rb") as fh:
        resp = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": CASE, "kind": kind}), "application/json"),
            "file": (path.name, fh, "application/octet-stream"),
        })
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _opened_from_the_node(server: LiveServer, node: IpfsDaemon, created: dict[str, Any],
                          tmp_path: Path) -> bytes:
    """Fetch the ciphertext with the node's ``cat``, check it has the CID we issued, and open
    it with the age CLI and the item's exported identity."""
    cipher = node.cat(created["cid"])
    assert cipher.startswith(b"age-encryption.org/v1")
    builder = CidBuilder()
    builder.update(cipher)
    assert builder.finish() == created["cid"]
    blob = tmp_path / f"{created['id']}.age"
    blob.write_bytes(cipher)
    identity = tmp_path / f"{created['id']}.key"
    operator = Actor.operator("test")
    identity.write_text(server.service.export_item_key(created["id"], actor=operator) + "\n")
    age = shutil.which("age")
    assert age, "the age CLI (Debian package 'age') is required"
    return subprocess.run([age, "-d", "-i", str(identity), str(blob)], capture_output=True,
                          check=True, timeout=60).stdout


@pytest.fixture
def ipfs_server(make_server: Callable[..., LiveServer], ipfs_node: IpfsDaemon) -> LiveServer:
    return make_server(blob_store="ipfs", ipfs_api=ipfs_node.multiaddr)


def test_evidence_is_pinned_on_the_node_and_decrypts_to_the_original(
    ipfs_server: LiveServer, ipfs_node: IpfsDaemon, tmp_path: Path
) -> None:
    http = ipfs_server.admin()
    sample = SAMPLES / "call-2026-11-28-0930.wav"
    original = sample.read_bytes()
    created = _submit(http, sample, "call_recording")
    assert created["sha256"] == hashlib.sha256(original).hexdigest()

    assert CID.decode(created["cid"]) in ipfs_node.pinned()
    assert _opened_from_the_node(ipfs_server, ipfs_node, created, tmp_path) == original
    content = http.get(f"/v1/evidence/{created['id']}/content")
    assert content.status_code == 200 and content.content == original

    health = ipfs_server.admin().get("/v1/health").json()["blob_store"]
    assert health["backend"] == "ipfs" and health["ok"] is True and health["spooled"] == 0
    home = ipfs_server.settings.home
    assert not (home / "blobs").exists(), "no local blob store in ipfs mode"


def test_node_down_and_back_loses_nothing(
    ipfs_server: LiveServer, restartable_node: IpfsDaemon, tmp_path: Path
) -> None:
    http = ipfs_server.admin()  # the health details need an admin key
    restartable_node.stop()

    # 1. Down: every submission still gets its 201 and receipt, from the local spool.
    created = {name: _submit(http, SAMPLES / name, kind) for name, kind in SAMPLE_FILES.items()}
    resp = http.get("/v1/health")
    assert resp.status_code == 503
    blob_store = resp.json()["blob_store"]
    assert blob_store["ok"] is False and blob_store["reason"] == "ipfs_unavailable"
    assert blob_store["spooled"] == 3 and blob_store["node"]["ok"] is False
    wav = created["call-2026-11-28-0930.wav"]
    content = http.get(f"/v1/evidence/{wav['id']}/content")  # read from the spool
    assert content.status_code == 200
    assert content.content == (SAMPLES / "call-2026-11-28-0930.wav").read_bytes()

    # 2. Back: the service's flusher pins everything and empties the spool by itself.
    restartable_node.start()
    wait_until(lambda: http.get("/v1/health").json()["blob_store"]["spooled"] == 0,
               timeout=30, interval=0.25)
    pins = restartable_node.pinned()
    for name, item in created.items():
        assert CID.decode(item["cid"]) in pins, name
        original = (SAMPLES / name).read_bytes()
        assert _opened_from_the_node(ipfs_server, restartable_node, item, tmp_path) == original
    assert http.get("/v1/health").json()["blob_store"]["ok"] is True
