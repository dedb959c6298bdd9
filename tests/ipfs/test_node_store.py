"""IpfsBlobStore against a real IPFS node (js-ipfs 0.66, Kubo RPC API).

What a third party relies on: the node we pin evidence on names every blob with exactly the
CID we computed and printed (checked three ways: ours, the node's own ``add`` answer in its
default base58, and ``ipfs-unixfs-importer``), holds it pinned, and serves back the very bytes.
"""

from __future__ import annotations

import io
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from multiformats import CID

from notary.core.cid import CHUNK_SIZE, MAX_LINKS_PER_NODE, cid_of_bytes
from storage.blobs import BlobNotFound, IpfsBlobStore, StorageError
from tests.support import REPO
from tests.support_ipfs import IpfsDaemon

pytestmark = [
    pytest.mark.ipfs,
    pytest.mark.filterwarnings("ignore:The 'strict' parameter is no longer needed:FutureWarning"),
]


def _data(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _js_cid(path: Path) -> CID:
    """The CID ipfs-unixfs-importer (js-ipfs's own importer, run without a node) computes."""
    out = subprocess.run(["node", "tests/node/unixfs_cid.mjs", str(path)], cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=True)
    return CID.decode(out.stdout.strip())


@pytest.fixture
def store(ipfs_node: IpfsDaemon) -> Iterator[IpfsBlobStore]:
    s = IpfsBlobStore(ipfs_node.multiaddr, timeout=60)
    yield s
    s.close()


@pytest.mark.parametrize("size", [
    1000,                                        # one raw block
    CHUNK_SIZE,                                  # exactly one chunk: still a raw block
    CHUNK_SIZE + 1,                              # two chunks: a dag-pb root
    4 * CHUNK_SIZE + 12_345,                     # several chunks, short last one
    MAX_LINKS_PER_NODE * CHUNK_SIZE + 1,         # 175 chunks (~45.6 MB): a two-level tree
], ids=["1000B", "256KiB", "256KiB+1", "1MiB+", "174x256KiB+1"])
def test_round_trip_same_cid_pinned_and_read_back(
    store: IpfsBlobStore, ipfs_node: IpfsDaemon, tmp_path: Path, size: int
) -> None:
    data = _data(size, seed=size)
    ours = cid_of_bytes(data)
    path = tmp_path / "blob"
    path.write_bytes(data)

    # The node's own answer for the bytes, as any IPFS user would ask for it.
    assert ipfs_node.add(data) == CID.decode(ours)
    assert _js_cid(path) == CID.decode(ours)

    store.put(ours, path)  # raises cid_mismatch if the node disagrees
    assert path.exists(), "put leaves a path source in place"
    assert CID.decode(ours) in ipfs_node.pinned()
    assert store.exists(ours)
    assert ipfs_node.cat(ours) == data
    with store.open(ours) as f:
        assert f.read() == data


def test_put_stream_and_put_file(store: IpfsBlobStore, ipfs_node: IpfsDaemon,
                                 tmp_path: Path) -> None:
    streamed = _data(3 * CHUNK_SIZE, seed=1)
    store.put(cid_of_bytes(streamed), io.BytesIO(streamed))
    assert ipfs_node.cat(cid_of_bytes(streamed)) == streamed

    taken = _data(CHUNK_SIZE // 2, seed=2)
    path = tmp_path / "cipher.tmp"
    path.write_bytes(taken)
    store.put_file(cid_of_bytes(taken), path)
    assert not path.exists(), "put_file takes the file over"
    assert CID.decode(cid_of_bytes(taken)) in ipfs_node.pinned()


def test_wrong_cid_is_refused_and_not_left_pinned(store: IpfsBlobStore,
                                                  ipfs_node: IpfsDaemon) -> None:
    data, other = _data(5000, seed=3), _data(5000, seed=4)
    claimed = cid_of_bytes(other)
    with pytest.raises(StorageError) as info:
        store.put(claimed, io.BytesIO(data))
    assert info.value.code == "cid_mismatch"
    assert CID.decode(info.value.details["computed_cid"]) == CID.decode(cid_of_bytes(data))
    pins = ipfs_node.pinned()
    assert CID.decode(claimed) not in pins
    assert CID.decode(cid_of_bytes(data)) not in pins, "the node's copy was unpinned again"


def test_delete_unpins_and_absent_blobs_are_not_found(store: IpfsBlobStore,
                                                      ipfs_node: IpfsDaemon) -> None:
    data = _data(2 * CHUNK_SIZE + 1, seed=5)
    cid = cid_of_bytes(data)
    store.put(cid, io.BytesIO(data))
    store.delete(cid)
    assert CID.decode(cid) not in ipfs_node.pinned()
    assert not store.exists(cid)
    with pytest.raises(BlobNotFound):
        store.open(cid)
    store.delete(cid)  # idempotent


def test_health_names_the_node(store: IpfsBlobStore) -> None:
    h = store.health()
    assert h["backend"] == "ipfs" and h["ok"] is True and h["version"]
