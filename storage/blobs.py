"""Blob stores: age ciphertexts of evidence files, stored and retrieved by their IPFS CID.

A blob's name is its CID as ``ipfs add --cid-version 1 --raw-leaves`` computes it
(:mod:`notary.core.cid`), so a blob can always be checked against its name, by us or by anyone
with stock IPFS tooling. Two backends share the :class:`BlobStore` interface:

* :class:`LocalBlobStore`: a directory, atomic writes, CID verified on :meth:`put`.
* :class:`IpfsBlobStore`: an IPFS node through its HTTP API (``ipfshttpclient``); the node's
  CID must equal ours.

:mod:`storage.ipfs_spool` wraps the IPFS store with a local spool, so a node that is down
delays pinning instead of refusing submissions.

Errors are :class:`StorageError` subclasses (:class:`notary.core.errors.NotaryError`):
:class:`BlobNotFound` (``blob_not_found``), :class:`BlobStoreUnavailable`
(``blob_store_unavailable``), :class:`StorageFull` (``storage_full``); other failures are
:class:`StorageError` with codes ``cid_invalid``, ``cid_mismatch``, ``storage_io_error``,
``ipfs_error``.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from multiformats import CID

import notary.core.errors as kinds
from notary.core.cid import CidBuilder, validate_cid
from notary.core.errors import NotaryError

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "BlobStoreUnavailable",
    "IpfsBlobStore",
    "LocalBlobStore",
    "StorageError",
    "StorageFull",
]

_COPY_BUFFER = 1024 * 1024


# --- errors --------------------------------------------------------------------------------



def _ipfs_exc() -> Any:
    """``ipfshttpclient.exceptions``, imported with the IPFS store's first use: the client
    (with httpx and trio) is several MB resident that a server on local blobs need not hold."""
    import ipfshttpclient.exceptions  # type: ignore[import-untyped]

    return ipfshttpclient.exceptions


def _ipfs_client() -> Any:
    """``ipfshttpclient.Client``, imported as :func:`_ipfs_exc`."""
    import ipfshttpclient

    return ipfshttpclient.Client

class StorageError(NotaryError):
    """A blob store failed. ``code`` says how (see the module docstring)."""

    kind = kinds.UNAVAILABLE

    default_code = "storage_error"


class BlobNotFound(StorageError):
    """No blob with that CID in the store. ``details["cid"]``."""

    default_code = "blob_not_found"


class BlobStoreUnavailable(StorageError):
    """The store cannot be reached or used at all (IPFS daemon down, directory gone)."""

    default_code = "blob_store_unavailable"


class StorageFull(StorageError):
    """No space left on the device (ENOSPC) or quota exceeded (EDQUOT)."""

    kind = kinds.STORAGE_FULL

    default_code = "storage_full"


_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def _checked_cid(cid: str) -> str:
    try:
        return validate_cid(cid)
    except ValueError as exc:
        raise StorageError(str(exc), code="cid_invalid", cid=repr(cid)) from None


# --- interface -----------------------------------------------------------------------------


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed storage of evidence ciphertexts.

    * ``put(cid, source)``: store the bytes of `source` (an open binary file read to its end,
      or a path, which is left in place) under `cid`, which must be the CID of exactly those
      bytes (:mod:`notary.core.cid`). Idempotent: putting an existing CID is a no-op.
    * ``put_file(cid, path)``: the same for a file the caller has just written and hashed,
      which the store takes over: `path` is gone once it returns.
    * ``open(cid)``: a binary stream of the blob; :class:`BlobNotFound` if absent.
    * ``exists(cid)``, ``delete(cid)`` (idempotent: deleting an absent blob is not an error).
    * ``health()``: ``{"backend": name, "ok": bool, ...}``; raises
      :class:`BlobStoreUnavailable` if the store cannot be reached at all, returns
      ``ok: False`` (with ``"reason"``) if it is reachable but not fit for writing.
    """

    name: str

    def put(self, cid: str, source: BinaryIO | Path) -> None: ...

    def put_file(self, cid: str, path: Path) -> None: ...

    def open(self, cid: str) -> BinaryIO: ...

    def exists(self, cid: str) -> bool: ...

    def delete(self, cid: str) -> None: ...

    def health(self) -> dict[str, Any]: ...


# --- local directory -----------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


class LocalBlobStore:
    """Blobs as files in a directory.

    Layout: ``root/<h[0:2]>/<h[2:4]>/<cid>`` where ``h`` is the hex sha256 of the CID string.
    (The CID's own leading characters are the constant multibase/version/codec prefix and its
    last character carries only 3 bits, so they shard badly; a hash of the name spreads blobs
    evenly over 65536 directories.) Temporary files live in ``root/.tmp``, on the same file
    system, so installing a blob is an atomic ``os.replace``. Blob files are made read-only
    (0444).

    Writes are atomic and durable: the bytes go to ``root/.tmp/<random>``, are fsynced, the
    file is renamed to its final name and the directory is fsynced. A reader never sees a
    partial blob under its final name; a crash leaves at most a stray file in ``.tmp``
    (see :meth:`cleanup_tmp`).
    """

    name = "local"

    def __init__(self, root: Path | str, *, min_free_bytes: int = 1024**3) -> None:
        """`min_free_bytes`: below this much free space, :meth:`health` reports ``ok: False``."""
        self.root = Path(root)
        self.min_free_bytes = min_free_bytes
        self._tmp = self.root / ".tmp"
        with self._io_errors("init"):
            self._tmp.mkdir(parents=True, exist_ok=True)

    # paths

    def path_for(self, cid: str) -> Path:
        """Final path of the blob named `cid` (validated: no path tricks possible)."""
        cid = _checked_cid(cid)
        h = hashlib.sha256(cid.encode("ascii")).hexdigest()
        return self.root / h[0:2] / h[2:4] / cid

    def _ensure_parent(self, path: Path) -> None:
        """Create the shard directories of `path`, fsyncing each parent of a new one."""
        for directory in (path.parent.parent, path.parent):
            if not directory.is_dir():
                try:
                    directory.mkdir()
                except FileExistsError:
                    pass
                _fsync_dir(directory.parent)

    def _new_tmp(self) -> tuple[Path, int]:
        # The writer's PID leads the name: a sweep can tell a dead writer's debris from a
        # live concurrent process's write in progress (see :func:`writer_alive`).
        path = self._tmp / f"{os.getpid()}-{secrets.token_hex(16)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        return path, fd

    @contextmanager
    def _io_errors(self, op: str, cid: str | None = None) -> Iterator[None]:
        """Map OSErrors of *our* file operations to StorageErrors (not the source's errors)."""
        try:
            yield
        except OSError as exc:
            facts: dict[str, Any] = {"op": op, "errno": exc.errno, "backend": self.name}
            if cid is not None:
                facts["cid"] = cid
            if exc.errno in _FULL_ERRNOS:
                raise StorageFull(
                    f"blob store {self.root} is full: {exc.strerror}", **facts
                ) from exc
            raise StorageError(
                f"blob store {self.root}: {op} failed: {exc}", code="storage_io_error", **facts
            ) from exc

    def _install(self, tmp: Path, final: Path, cid: str) -> None:
        """Atomically give the (fsynced) `tmp` its final name and make that durable."""
        with self._io_errors("install", cid):
            os.chmod(tmp, 0o444)
            self._ensure_parent(final)
            os.replace(tmp, final)
            _fsync_dir(final.parent)

    # writing

    def put(self, cid: str, source: BinaryIO | Path) -> None:
        """Copy `source` into the store, recomputing its CID on the way.

        A path `source` is read and left in place (use :meth:`put_file` to move instead).
        Raises ``StorageError(code="cid_mismatch")`` if the bytes' CID is not `cid` (nothing
        is stored), :class:`StorageFull` on ENOSPC/EDQUOT. An exception raised by `source`
        itself propagates unchanged, and nothing is stored.
        """
        final = self.path_for(cid)
        if final.is_file():
            return
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as f:  # an unreadable source is the caller's error
                self._copy_in(cid, f, final)
        else:
            self._copy_in(cid, source, final)

    def _copy_in(self, cid: str, source: BinaryIO, final: Path) -> None:
        builder = CidBuilder()
        with self._io_errors("create temporary file", cid):
            tmp, fd = self._new_tmp()
        try:
            try:
                buf = bytearray(_COPY_BUFFER)
                view = memoryview(buf)
                readinto = getattr(source, "readinto", None)
                while True:
                    if readinto is not None:
                        n = readinto(view)
                        chunk = view[:n] if n else b""
                    else:
                        chunk = source.read(_COPY_BUFFER)
                    if not chunk:
                        break
                    builder.update(chunk)
                    with self._io_errors("write", cid):
                        _write_all(fd, memoryview(chunk))
                with self._io_errors("fsync", cid):
                    os.fsync(fd)
            finally:
                os.close(fd)
            actual = builder.finish()
            if actual != cid:
                raise StorageError(
                    "the bytes given do not have the CID they were given under",
                    code="cid_mismatch",
                    expected_cid=cid,
                    computed_cid=actual,
                    backend=self.name,
                )
            self._install(tmp, final, cid)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_file(self, cid: str, path: Path) -> None:
        """Move the file at `path` into the store as blob `cid`, WITHOUT recomputing its CID.

        For large files the caller has just written and hashed (e.g. while encrypting): the
        caller MUST have computed `cid` with :class:`notary.core.cid.CidBuilder` over exactly
        the bytes of this file, and must not touch the file afterwards. The file is fsynced
        and renamed into place when it is on the same file system, as a regular file with no
        other hard links; otherwise it is copied (with CID verification) and then removed.
        Either way `path` no longer exists afterwards (also when the blob was already
        present).
        """
        final = self.path_for(cid)
        src = Path(path)
        st = os.lstat(src)  # FileNotFoundError etc.: the caller's error, unchanged
        if not stat.S_ISREG(st.st_mode):
            raise StorageError(
                f"not a regular file: {src}", code="storage_io_error", op="put_file", cid=cid
            )
        if final.is_file():
            src.unlink()
            return
        with self._io_errors("stat", cid):  # the store's directory may be gone
            same_fs = st.st_dev == os.stat(self._tmp).st_dev
        if not same_fs or st.st_nlink != 1:
            self.put(cid, src)
            src.unlink()
            return
        with self._io_errors("fsync", cid):
            fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        try:
            self._install(src, final, cid)
        except StorageError as exc:
            if exc.details.get("errno") != errno.EXDEV:
                raise
            self.put(cid, src)
            src.unlink()

    # reading and the rest

    def open(self, cid: str) -> BinaryIO:
        path = self.path_for(cid)
        with self._io_errors("open", cid):
            try:
                return open(path, "rb")
            except FileNotFoundError:
                raise BlobNotFound(f"no blob {cid}", cid=cid, backend=self.name) from None

    def exists(self, cid: str) -> bool:
        return self.path_for(cid).is_file()

    def delete(self, cid: str) -> None:
        """Remove the blob (no error if absent)."""
        path = self.path_for(cid)
        with self._io_errors("delete", cid):
            try:
                path.unlink()
            except FileNotFoundError:
                return
            _fsync_dir(path.parent)

    def cids(self) -> list[str]:
        """The CIDs of every blob held, sorted. A full directory walk: for scrubs and small
        stores such as the IPFS spool (:mod:`storage.ipfs_spool`), not for the request path.
        Names that are not valid CIDs (none are written by this class) are ignored."""
        found: list[str] = []
        with self._io_errors("list"):
            for top in os.scandir(self.root):
                if top.name == ".tmp" or not top.is_dir(follow_symlinks=False):
                    continue
                for mid in os.scandir(top.path):
                    if not mid.is_dir(follow_symlinks=False):
                        continue
                    for entry in os.scandir(mid.path):
                        if entry.is_file(follow_symlinks=False) and self._is_blob_name(entry.name):
                            found.append(entry.name)
        return sorted(found)

    @staticmethod
    def _is_blob_name(name: str) -> bool:
        try:
            validate_cid(name)
        except ValueError:
            return False
        return True

    def verify(self, cid: str) -> bool:
        """Recompute the stored blob's CID (a scrub); :class:`BlobNotFound` if absent."""
        builder = CidBuilder()
        with self.open(cid) as f:
            while chunk := f.read(_COPY_BUFFER):
                builder.update(chunk)
        return builder.finish() == cid

    def cleanup_tmp(self, older_than_seconds: float = 24 * 3600) -> int:
        """Remove temporary files left by crashed writes; returns how many were removed.

        Only files older than `older_than_seconds` are touched, so concurrent writers in
        other processes are safe with the default.
        """
        removed = 0
        cutoff = time.time() - older_than_seconds
        with self._io_errors("cleanup"):
            for entry in os.scandir(self._tmp):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
        return removed

    def tmp_files(self) -> list[Path]:
        """Every temporary file in ``.tmp`` (a write in progress, or a crashed write's)."""
        if not self._tmp.is_dir():
            return []
        with self._io_errors("list temporary files"):
            return sorted(Path(e.path) for e in os.scandir(self._tmp)
                          if e.is_file(follow_symlinks=False))

    def health(self) -> dict[str, Any]:
        if not self._tmp.is_dir() or not os.access(self._tmp, os.W_OK | os.X_OK):
            raise BlobStoreUnavailable(
                f"blob store directory {self.root} is missing or not writable",
                backend=self.name,
                root=str(self.root),
            )
        usage = shutil.disk_usage(self.root)
        ok = usage.free >= self.min_free_bytes
        info: dict[str, Any] = {
            "backend": self.name,
            "ok": ok,
            "root": str(self.root),
            "free_bytes": usage.free,
            "total_bytes": usage.total,
            "min_free_bytes": self.min_free_bytes,
        }
        if not ok:
            info["reason"] = "low_space"
        return info


# --- IPFS ----------------------------------------------------------------------------------


def writer_alive(path: Path) -> bool | None:
    """Whether the process whose PID leads ``path``'s name (``<pid>-<random>...``) still runs
    on this host; None when the name carries no PID (written before PIDs were recorded). A
    reused PID only delays a sweep: it never makes a live writer's file look abandoned."""
    head = path.name.split("-", 1)[0]
    if not head.isdigit() or path.name == head:
        return None
    try:
        os.kill(int(head), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _same_cid(reported: str, ours: str) -> bool:
    """True if the node's CID string names the same CID as ours, in whatever multibase."""
    try:
        return bool(CID.decode(reported) == CID.decode(ours))
    except Exception:  # noqa: BLE001 - multiformats raises assorted errors; garbage != ours
        return False


class _IterReader(io.RawIOBase):
    """A read-only raw stream over an iterator of byte chunks (an IPFS ``cat`` response)."""

    def __init__(self, chunks: Any, on_error: Any) -> None:
        self._chunks = chunks
        self._it = iter(chunks)
        self._pending = b""
        self._on_error = on_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._it)
            except StopIteration:
                return 0
            except _ipfs_exc().Error as exc:
                raise self._on_error(exc) from exc
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            closer = getattr(self._chunks, "close", None)
            if closer is not None:
                closer()
        super().close()


class IpfsBlobStore:
    """Blobs in an IPFS node (Kubo or js-ipfs HTTP API), pinned.

    ``put`` adds with ``cid_version=1, raw_leaves=True, chunker="size-262144", pin=True`` and
    requires the CID the node returns to equal the given one (compared as decoded CIDs: js-ipfs
    answers in base58 unless asked for base32, which we ask for); ``exists`` means "pinned
    here" (so ``open`` never waits for the network to find a blob we do not hold); ``delete``
    unpins (the node frees the blocks at its next garbage collection).

    Each thread gets its own client, created on first use (the client's HTTP session is not
    meant to be shared between threads; the request handlers and the spool flusher of
    :mod:`storage.ipfs_spool` call the node at the same time). A node that cannot be reached
    gives :class:`BlobStoreUnavailable` from every method, including :meth:`health`.
    """

    name = "ipfs"

    def __init__(self, addr: str = "/ip4/127.0.0.1/tcp/5001/http", *, timeout: float = 120):
        self.addr = addr
        self.timeout = timeout
        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()

    def _unavailable(self, exc: Exception) -> BlobStoreUnavailable:
        return BlobStoreUnavailable(
            f"IPFS node at {self.addr} is unavailable: {exc}",
            backend=self.name,
            addr=self.addr,
            reason=type(exc).__name__,
        )

    @contextmanager
    def _ipfs_errors(self, op: str, cid: str | None = None) -> Iterator[None]:
        try:
            yield
        except (_ipfs_exc().ConnectionError, _ipfs_exc().TimeoutError,
                _ipfs_exc().ProtocolError) as exc:
            raise self._unavailable(exc) from exc
        except _ipfs_exc().Error as exc:
            facts: dict[str, Any] = {"op": op, "backend": self.name, "addr": self.addr}
            if cid is not None:
                facts["cid"] = cid
            raise StorageError(f"IPFS {op} failed: {exc}", code="ipfs_error", **facts) from exc

    def _conn(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            with self._ipfs_errors("connect"):
                # Client() rather than connect(): connect() checks the daemon version against
                # the range this alpha client knows (0.5-0.9), which current daemons are not in.
                client = _ipfs_client()(self.addr, session=True, timeout=self.timeout)
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        """Close every thread's client (a later call opens new ones)."""
        with self._clients_lock:
            clients, self._clients = self._clients, []
            self._local = threading.local()
        for client in clients:
            client.close()

    def put(self, cid: str, source: BinaryIO | Path) -> None:
        cid = _checked_cid(cid)
        client = self._conn()
        arg = str(source) if isinstance(source, (str, os.PathLike)) else source
        with self._ipfs_errors("add", cid):
            result = client.add(
                arg, cid_version=1, raw_leaves=True, chunker="size-262144", pin=True,
                opts={"cid-base": "base32"},
            )
        returned = str(result["Hash"])
        if not _same_cid(returned, cid):
            try:  # do not keep pinned bytes nobody asked for
                with self._ipfs_errors("pin rm", returned):
                    client.pin.rm(returned)
            except StorageError:
                pass
            raise StorageError(
                "the IPFS node computed a different CID for the bytes given",
                code="cid_mismatch",
                expected_cid=cid,
                computed_cid=returned,
                backend=self.name,
            )

    def put_file(self, cid: str, path: Path) -> None:
        """Add and pin the file at `path` (CID checked by the node), then remove the file.

        On any error the file is left in place, so the caller can keep it elsewhere.
        """
        self.put(cid, Path(path))
        Path(path).unlink()

    def exists(self, cid: str) -> bool:
        cid = _checked_cid(cid)
        client = self._conn()
        try:
            with self._ipfs_errors("pin ls", cid):
                client.pin.ls(cid, type="recursive")
        except StorageError as exc:
            if exc.code == "ipfs_error" and "not pinned" in str(exc.__cause__):
                return False
            raise
        return True

    def open(self, cid: str) -> BinaryIO:
        if not self.exists(cid):
            raise BlobNotFound(f"no blob {cid}", cid=cid, backend=self.name)
        client = self._conn()
        with self._ipfs_errors("cat", cid):
            chunks = client.cat(cid, stream=True)

        def on_error(exc: Exception) -> StorageError:
            if isinstance(exc, (_ipfs_exc().ConnectionError, _ipfs_exc().TimeoutError)):
                return self._unavailable(exc)
            return StorageError(f"IPFS cat failed: {exc}", code="ipfs_error", cid=cid)

        return io.BufferedReader(_IterReader(chunks, on_error), _COPY_BUFFER)

    def delete(self, cid: str) -> None:
        """Unpin and garbage-collect, so the node no longer holds the blocks (no error if not
        pinned). Only a shred deletes, so the cost of a repository GC is acceptable."""
        if not self.exists(cid):
            return
        client = self._conn()
        try:
            with self._ipfs_errors("pin rm", cid):
                client.pin.rm(cid)
        except StorageError as exc:
            if not (exc.code == "ipfs_error" and "not pinned" in str(exc.__cause__)):
                raise
        with self._ipfs_errors("repo gc", cid):
            client.repo.gc(quiet=True)

    def health(self) -> dict[str, Any]:
        client = self._conn()
        with self._ipfs_errors("version"):
            version = client.version()
        return {
            "backend": self.name,
            "ok": True,
            "addr": self.addr,
            "version": version.get("Version"),
        }
