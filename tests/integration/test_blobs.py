"""storage.blobs: the local blob store on a real file system, and IPFS error paths.

Marked `unit`: everything here runs on tmp_path (plus one tmpfs mount to cause a real ENOSPC)
and a closed local TCP port. Tests against a real IPFS daemon come later.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import io
import os
import random
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from notary.core.cid import CHUNK_SIZE, cid_of_bytes
from notary.core.errors import NotaryError
from storage import blobs
from storage.blobs import (
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    IpfsBlobStore,
    LocalBlobStore,
    StorageError,
    StorageFull,
)

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def _data(size: int, seed: int = 0) -> bytes:
    return random.Random(f"blob-{seed}-{size}").randbytes(size)


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def _tmp_files(store: LocalBlobStore) -> list[str]:
    return os.listdir(store.root / ".tmp")


class RaisingReader(io.RawIOBase):
    """Yields `data`, but raises after `fail_after` bytes; calls `probe()` on each read."""

    def __init__(self, data: bytes, fail_after: int, probe=None) -> None:
        self._buf = io.BytesIO(data)
        self._left = fail_after
        self._probe = probe

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        if self._probe is not None:
            self._probe()
        if self._left <= 0:
            raise ConnectionResetError("upload interrupted")
        n = self._buf.readinto(memoryview(b)[: min(len(b), self._left)])
        self._left -= n
        return n


class MustNotRead(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        raise AssertionError("source read although the blob is already stored")


# --- local store -----------------------------------------------------------------------------


def test_is_a_blob_store(store: LocalBlobStore) -> None:
    assert isinstance(store, BlobStore)
    assert isinstance(IpfsBlobStore(), BlobStore)
    assert issubclass(StorageError, NotaryError)


@pytest.mark.parametrize("size", [0, 1000, 3 * CHUNK_SIZE + 7])
def test_round_trip(store: LocalBlobStore, size: int) -> None:
    data = _data(size)
    cid = cid_of_bytes(data)
    assert not store.exists(cid)
    store.put(cid, io.BytesIO(data))
    assert store.exists(cid)
    with store.open(cid) as f:
        assert f.read() == data
    path = store.path_for(cid)
    assert path.parent.parent.parent == store.root and path.name == cid
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store.verify(cid)
    assert _tmp_files(store) == []


def test_put_path_copies_and_leaves_source(store: LocalBlobStore, tmp_path: Path) -> None:
    data = _data(2 * MiB)
    src = tmp_path / "cipher.age"
    src.write_bytes(data)
    cid = cid_of_bytes(data)
    store.put(cid, src)
    assert src.read_bytes() == data
    assert store.path_for(cid).stat().st_ino != src.stat().st_ino
    assert store.open(cid).read() == data


def test_put_is_idempotent(store: LocalBlobStore) -> None:
    data = _data(5000)
    cid = cid_of_bytes(data)
    store.put(cid, io.BytesIO(data))
    before = store.path_for(cid).stat()
    store.put(cid, io.BufferedReader(MustNotRead()))  # type: ignore[arg-type]
    store.put(cid, io.BytesIO(data))
    after = store.path_for(cid).stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert store.open(cid).read() == data


def test_put_rejects_wrong_cid(store: LocalBlobStore) -> None:
    cid = cid_of_bytes(b"the real bytes")
    with pytest.raises(StorageError) as info:
        store.put(cid, io.BytesIO(b"other bytes"))
    assert info.value.code == "cid_mismatch"
    assert info.value.details["computed_cid"] == cid_of_bytes(b"other bytes")
    assert not store.exists(cid)
    assert _tmp_files(store) == []


@pytest.mark.parametrize(
    "bad", ["../../etc/passwd", "", "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"]
)
def test_invalid_cid_is_refused(store: LocalBlobStore, bad: str) -> None:
    for call in (
        lambda: store.put(bad, io.BytesIO(b"x")),
        lambda: store.open(bad),
        lambda: store.exists(bad),
        lambda: store.delete(bad),
    ):
        with pytest.raises(StorageError) as info:
            call()
        assert info.value.code == "cid_invalid"


def test_source_failure_leaves_nothing(store: LocalBlobStore) -> None:
    """A source failing midway: its error propagates, nothing appears under the final name,
    and while the copy is in progress the final name never exists either."""
    data = _data(5 * MiB)
    cid = cid_of_bytes(data)
    final = store.path_for(cid)
    seen: list[bool] = []

    def probe() -> None:
        seen.append(final.exists() or store.exists(cid))

    reader = io.BufferedReader(RaisingReader(data, fail_after=3 * MiB + 17, probe=probe))
    with pytest.raises(ConnectionResetError):
        store.put(cid, reader)  # type: ignore[arg-type]
    assert len(seen) > 3 and not any(seen)
    assert not final.exists()
    assert not store.exists(cid)
    with pytest.raises(BlobNotFound):
        store.open(cid)
    assert _tmp_files(store) == []
    # and the store still works
    store.put(cid, io.BytesIO(data))
    assert store.open(cid).read() == data


def test_blob_not_found(store: LocalBlobStore) -> None:
    cid = cid_of_bytes(b"never stored")
    with pytest.raises(BlobNotFound) as info:
        store.open(cid)
    assert info.value.code == "blob_not_found"
    assert info.value.details["cid"] == cid
    assert isinstance(info.value, StorageError) and isinstance(info.value, NotaryError)
    with pytest.raises(BlobNotFound):
        store.verify(cid)


def test_delete(store: LocalBlobStore) -> None:
    data = _data(100)
    cid = cid_of_bytes(data)
    store.put(cid, io.BytesIO(data))
    store.delete(cid)
    assert not store.exists(cid)
    store.delete(cid)  # idempotent
    with pytest.raises(BlobNotFound):
        store.open(cid)


def test_put_file_moves(store: LocalBlobStore, tmp_path: Path) -> None:
    data = _data(CHUNK_SIZE * 2 + 3)
    cid = cid_of_bytes(data)
    src = tmp_path / "cipher.tmp"
    src.write_bytes(data)
    inode = src.stat().st_ino
    store.put_file(cid, src)
    assert not src.exists()
    assert store.path_for(cid).stat().st_ino == inode  # renamed, not copied
    assert store.open(cid).read() == data
    # already present: the new source is consumed, the stored blob untouched
    src.write_bytes(data)
    store.put_file(cid, src)
    assert not src.exists()
    assert store.path_for(cid).stat().st_ino == inode


def test_put_file_with_hard_links_is_copied_and_verified(
    store: LocalBlobStore, tmp_path: Path
) -> None:
    data = _data(10_000)
    cid = cid_of_bytes(data)
    src = tmp_path / "cipher.tmp"
    src.write_bytes(data)
    other = tmp_path / "other-link"
    os.link(src, other)
    store.put_file(cid, src)
    assert not src.exists()
    assert store.path_for(cid).stat().st_ino != other.stat().st_ino
    # a copy is verified: a wrong CID is caught on this path
    bad = tmp_path / "bad.tmp"
    bad.write_bytes(b"abc")
    os.link(bad, tmp_path / "bad-link")
    with pytest.raises(StorageError) as info:
        store.put_file(cid_of_bytes(b"abd"), bad)
    assert info.value.code == "cid_mismatch"


def test_put_file_refuses_symlink(store: LocalBlobStore, tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"abc")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(StorageError):
        store.put_file(cid_of_bytes(b"abc"), link)
    assert not store.exists(cid_of_bytes(b"abc"))


def test_health(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs", min_free_bytes=0)
    h = store.health()
    assert h["backend"] == "local" and h["ok"] is True and h["free_bytes"] > 0
    greedy = LocalBlobStore(tmp_path / "blobs", min_free_bytes=2**62)
    h = greedy.health()
    assert h["ok"] is False and h["reason"] == "low_space"
    (tmp_path / "blobs" / ".tmp").rmdir()
    with pytest.raises(BlobStoreUnavailable) as info:
        store.health()
    assert info.value.code == "blob_store_unavailable"


def test_cleanup_tmp(store: LocalBlobStore) -> None:
    stray = store.root / ".tmp" / "stray"
    stray.write_bytes(b"half a blob")
    assert store.cleanup_tmp() == 0  # too recent: may belong to a writer in progress
    os.utime(stray, (0, 0))
    assert store.cleanup_tmp() == 1
    assert _tmp_files(store) == []


# --- ENOSPC ----------------------------------------------------------------------------------


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted on tmp_path/tiny (mount(2) through libc: needs CAP_SYS_ADMIN)."""
    target = tmp_path / "tiny"
    target.mkdir()
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.mount(b"tmpfs", os.fsencode(target), b"tmpfs", 0, b"size=1m") != 0:
        err = ctypes.get_errno()
        pytest.fail(
            f"cannot mount a tmpfs here ({os.strerror(err)}): this test needs root (CI and the "
            "development machines run as root) to cause a real full disk"
        )
    try:
        yield target
    finally:
        libc.umount2(os.fsencode(target), 2)  # MNT_DETACH


def test_enospc_real(tiny_tmpfs: Path) -> None:
    """A real ENOSPC from a full file system becomes StorageFull; the store stays usable."""
    store = LocalBlobStore(tiny_tmpfs / "blobs")
    data = _data(3 * MiB)
    cid = cid_of_bytes(data)
    with pytest.raises(StorageFull) as info:
        store.put(cid, io.BytesIO(data))
    assert info.value.code == "storage_full"
    assert info.value.details["errno"] == errno.ENOSPC
    assert info.value.details["cid"] == cid
    assert not store.exists(cid)
    assert _tmp_files(store) == []  # the partial temporary file was removed: space is back
    small = _data(100_000)
    store.put(cid_of_bytes(small), io.BytesIO(small))
    assert store.open(cid_of_bytes(small)).read() == small


def test_put_file_across_file_systems_copies(tiny_tmpfs: Path, tmp_path: Path) -> None:
    store = LocalBlobStore(tiny_tmpfs / "blobs")
    data = _data(200_000)
    cid = cid_of_bytes(data)
    src = tmp_path / "cipher.tmp"
    src.write_bytes(data)
    store.put_file(cid, src)
    assert not src.exists()
    assert store.open(cid).read() == data


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_enospc_is_mapped_fake(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """FAKE fault: the write raises OSError(ENOSPC/EDQUOT) by monkeypatching. It exists for
    machines where the real test above cannot mount a tmpfs (no CAP_SYS_ADMIN), and for
    EDQUOT, which cannot be caused without quotas set up on the file system."""

    def full(fd: int, data: memoryview) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(blobs, "_write_all", full)
    data = _data(1000)
    cid = cid_of_bytes(data)
    with pytest.raises(StorageFull) as info:
        store.put(cid, io.BytesIO(data))
    assert info.value.details["errno"] == code
    assert not store.exists(cid)
    assert _tmp_files(store) == []


def test_other_io_errors_are_storage_errors(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAKE fault (EIO cannot be caused on purpose): mapped to code storage_io_error."""

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(blobs.os, "fsync", broken)
    with pytest.raises(StorageError) as info:
        store.put(cid_of_bytes(b"x"), io.BytesIO(b"x"))
    assert not isinstance(info.value, StorageFull)
    assert info.value.code == "storage_io_error"
    assert info.value.details["errno"] == errno.EIO


# --- IPFS: unreachable node ------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A local TCP port with nothing listening (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.filterwarnings("ignore:The 'strict' parameter is no longer needed:FutureWarning")
def test_ipfs_unreachable_is_unavailable(closed_port: int, tmp_path: Path) -> None:
    store = IpfsBlobStore(f"/ip4/127.0.0.1/tcp/{closed_port}/http", timeout=5)
    data = b"ciphertext"
    cid = cid_of_bytes(data)
    src = tmp_path / "c"
    src.write_bytes(data)
    calls = {
        "put": lambda: store.put(cid, io.BytesIO(data)),
        "put path": lambda: store.put(cid, src),
        "open": lambda: store.open(cid),
        "exists": lambda: store.exists(cid),
        "delete": lambda: store.delete(cid),
        "health": store.health,
    }
    for what, call in calls.items():
        with pytest.raises(BlobStoreUnavailable) as info:
            call()
        assert info.value.code == "blob_store_unavailable", what
        assert info.value.details["addr"] == store.addr
    store.close()


def test_ipfs_invalid_cid_refused_before_connecting() -> None:
    store = IpfsBlobStore("/ip4/127.0.0.1/tcp/1/http")
    with pytest.raises(StorageError) as info:
        store.put("../x", io.BytesIO(b""))
    assert info.value.code == "cid_invalid"
