"""SpooledIpfsStore with the real IPFS node going down and coming back: nothing accepted is lost.

The outage is real (the daemon is shut down, its port refuses connections), and so is the
one corruption case (bytes of a spooled file changed on disk, as bit rot would).
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from multiformats import CID

from notary.config import Settings
from notary.core.cid import CHUNK_SIZE, cid_of_bytes
from notary.core.errors import InputError
from notary.service.notary import NotaryService
from storage.blobs import IpfsBlobStore, LocalBlobStore
from storage.ipfs_spool import SpooledIpfsStore, SpoolFlusher
from tests.support import wait_until
from tests.support_ipfs import IpfsDaemon

pytestmark = [
    pytest.mark.ipfs,
    pytest.mark.filterwarnings("ignore:The 'strict' parameter is no longer needed:FutureWarning"),
]


def _data(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _store(node: IpfsDaemon, spool: Path) -> SpooledIpfsStore:
    return SpooledIpfsStore(IpfsBlobStore(node.multiaddr, timeout=30), LocalBlobStore(spool))


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "ipfs-spool"


@pytest.fixture
def store(ipfs_node: IpfsDaemon, spool_dir: Path) -> Iterator[SpooledIpfsStore]:
    s = _store(ipfs_node, spool_dir)
    yield s
    s.close()


def _put_file(store: SpooledIpfsStore, tmp_path: Path, data: bytes) -> str:
    cid = cid_of_bytes(data)
    path = tmp_path / f"{cid}.tmp"
    path.write_bytes(data)
    store.put_file(cid, path)
    assert not path.exists()
    return cid


def test_node_up_blobs_go_straight_to_the_node(
    store: SpooledIpfsStore, ipfs_node: IpfsDaemon, tmp_path: Path
) -> None:
    by_file = _data(CHUNK_SIZE + 7, seed=10)
    by_stream = _data(999, seed=11)
    cid_file = _put_file(store, tmp_path, by_file)
    store.put(cid_of_bytes(by_stream), io.BytesIO(by_stream))
    assert store.spooled() == []
    assert {CID.decode(cid_file), CID.decode(cid_of_bytes(by_stream))} <= ipfs_node.pinned()
    h = store.health()
    assert h["ok"] is True and h["spooled"] == 0 and h["node"]["ok"] is True


def test_node_down_spools_then_a_restarted_service_pins_everything(
    restartable_node: IpfsDaemon, spool_dir: Path, tmp_path: Path
) -> None:
    """While the node is down every put succeeds into the spool and reads still work; a new
    store on the same spool (the service restarted meanwhile) pins all of it once the node is
    back, each under our CID, and empties the spool."""
    node = restartable_node
    before = _store(node, spool_dir)
    blobs = {i: _data(size, seed=20 + i) for i, size in enumerate([10, CHUNK_SIZE * 3 + 1, 70_000])}
    node.stop()

    cids = [_put_file(before, tmp_path, blobs[0])]
    for i in (1, 2):
        cids.append(cid_of_bytes(blobs[i]))
        before.put(cids[-1], io.BytesIO(blobs[i]))
    assert before.spooled() == sorted(cids)
    with before.open(cids[1]) as f:
        assert f.read() == blobs[1]
    assert before.exists(cids[2])
    h = before.health()
    assert h["ok"] is False and h["reason"] == "ipfs_unavailable"
    assert h["node"]["ok"] is False and h["spooled"] == 3
    assert before.flush() == 0, "nothing can leave the spool while the node is down"
    before.close()

    node.start()
    after = _store(node, spool_dir)
    try:
        assert after.flush() == 3
        assert after.spooled() == []
        pins = node.pinned()
        for i, cid in enumerate(cids):
            assert CID.decode(cid) in pins
            assert node.cat(cid) == blobs[i]
        assert after.health()["ok"] is True
    finally:
        after.close()


def _spool_directly(store: SpooledIpfsStore, data: bytes) -> str:
    """Put `data` into the spool as if the node had been down when it was submitted (the
    spool is the whole record of what is unpinned), without paying for a daemon restart."""
    cid = cid_of_bytes(data)
    store.spool.put(cid, io.BytesIO(data))
    return cid


def test_flusher_thread_pins_what_is_spooled(
    ipfs_node: IpfsDaemon, store: SpooledIpfsStore
) -> None:
    data = _data(50_000, seed=30)
    cid = _spool_directly(store, data)
    flusher = SpoolFlusher(store, interval=0.2).start()
    try:
        wait_until(lambda: store.spooled() == [], timeout=30)
    finally:
        flusher.stop()
    assert CID.decode(cid) in ipfs_node.pinned()
    assert ipfs_node.cat(cid) == data


def test_a_corrupted_spool_copy_is_kept_and_reported_never_pinned(
    ipfs_node: IpfsDaemon, store: SpooledIpfsStore
) -> None:
    """A spooled file whose bytes changed on disk (bit rot) no longer has its CID: the node
    files it under another CID, which is unpinned again; the copy stays in the spool and
    health names it, for an operator. It is not deleted: it may still be all there is."""
    good = _data(40_000, seed=40)
    cid = _spool_directly(store, good)
    spooled = store.spool.path_for(cid)
    rotten = bytearray(good)
    rotten[12_345] ^= 0x01
    os.chmod(spooled, 0o644)
    spooled.write_bytes(rotten)

    assert store.flush() == 0
    assert store.spooled() == [cid]
    pins = ipfs_node.pinned()
    assert CID.decode(cid) not in pins
    assert CID.decode(cid_of_bytes(bytes(rotten))) not in pins
    h = store.health()
    assert h["ok"] is False and h["reason"] == "spool_blobs_refused"
    assert h["unpinnable"] == {cid: "cid_mismatch"}


def test_unknown_blob_store_is_a_config_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with pytest.raises(InputError) as info:
        NotaryService.open(Settings(home=home, blob_store="s3"), with_chain=False)
    assert info.value.code == "config_invalid"
    assert info.value.details["field"] == "blob_store"
    assert not home.exists(), "nothing is created for a configuration that cannot run"
