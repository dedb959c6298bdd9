"""IPFS storage that keeps accepting evidence while the IPFS node is down.

Why: a receipt is only signed once the ciphertext is stored. If that required the IPFS node to
answer, restarting or upgrading the node would turn submissions away (and a caller that gives
up may lose the evidence). So :class:`SpooledIpfsStore` stores a blob on the node when it can
and otherwise in a local *spool* (a :class:`~storage.blobs.LocalBlobStore`, durable and
content-addressed like the node), and :class:`SpoolFlusher` adds and pins spooled blobs once
the node answers again.

The spool itself is the record of what is still to be pinned: every blob in it is accepted
but not yet pinned, and nothing else is. There is no second list that could disagree with it,
and a restart of the service resumes from the directory. A spooled blob is deleted only after
the node has pinned it under exactly our CID (``pin ls`` confirms it); a blob the node files
under a different CID (a corrupted spool copy) stays in the spool and is reported by
:meth:`SpooledIpfsStore.health`, for an operator: nothing is ever dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from storage.blobs import (
    BlobNotFound,
    BlobStoreUnavailable,
    IpfsBlobStore,
    LocalBlobStore,
    StorageError,
)

__all__ = ["SpoolFlusher", "SpooledIpfsStore"]

log = logging.getLogger("notary.storage.ipfs")

# Codes of node failures after which a blob is spooled rather than refused: the node is down
# or cannot take it now. A "cid_mismatch" is not among them: it means the bytes are not what
# the caller says they are, and is refused like the local store refuses it.
_SPOOL_ON = frozenset({"blob_store_unavailable", "ipfs_error"})


class SpooledIpfsStore:
    """A :class:`~storage.blobs.BlobStore` on an IPFS node, with a local spool for outages.

    * ``put``/``put_file`` add and pin on the node; if the node is unavailable (or fails the
      add) the ciphertext goes to the spool instead and the call succeeds.
    * ``open`` reads the spool copy when there is one, else the node.
    * ``health`` never raises for a down node: it reports ``ok: False`` with a reason and how
      many blobs are spooled (the submissions still succeed).
    * :meth:`flush` moves spooled blobs to the node; :class:`SpoolFlusher` calls it.
    """

    name = "ipfs"

    def __init__(self, node: IpfsBlobStore, spool: LocalBlobStore, *,
                 rescan_seconds: float = 30.0) -> None:
        """`rescan_seconds`: how often :meth:`flush` walks an apparently empty spool anyway,
        to pick up blobs spooled by another process sharing it."""
        self.node = node
        self.spool = spool
        self.rescan_seconds = rescan_seconds
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._dirty = True  # walk the spool at the first flush: it may hold a backlog
        self._last_scan = 0.0
        self._stuck: dict[str, str] = {}  # cid -> error code, for blobs the node refuses
        self.last_error: str | None = None

    # -- writing --------------------------------------------------------------------------------

    def put(self, cid: str, source: BinaryIO | Path) -> None:
        """Store `source` under `cid` on the node, or in the spool if the node cannot take it.

        A stream `source` is spooled first (the CID is checked on the way in) and then pushed
        from the spool, because a failed upload would have consumed the stream.
        """
        if isinstance(source, Path):
            try:
                self.node.put(cid, source)
            except StorageError as exc:
                if exc.code not in _SPOOL_ON:
                    raise
                self._spooled(cid, exc)
                self.spool.put(cid, source)
            return
        self.spool.put(cid, source)
        self._mark_dirty()
        try:
            self._push(cid)
        except BlobStoreUnavailable as exc:
            self._spooled(cid, exc)

    def put_file(self, cid: str, path: Path) -> None:
        """Take over the file at `path` (see :meth:`LocalBlobStore.put_file
        <storage.blobs.LocalBlobStore.put_file>`): pinned on the node, or moved into the spool.
        Either way `path` is gone afterwards; on an error it is left for the caller."""
        try:
            self.node.put_file(cid, path)
        except StorageError as exc:
            if exc.code not in _SPOOL_ON:
                raise
            self._spooled(cid, exc)
            self.spool.put_file(cid, path)

    def _spooled(self, cid: str, exc: StorageError) -> None:
        log.warning("IPFS node cannot take %s (%s): kept in the spool %s", cid, exc.code,
                    self.spool.root)
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        with self._lock:
            self._dirty = True

    # -- reading and the rest -------------------------------------------------------------------

    def open(self, cid: str) -> BinaryIO:
        """The spool copy if there is one (it may be flushed and removed meanwhile: an open
        file stays readable), else the node's; :class:`BlobNotFound` if neither has it."""
        try:
            return self.spool.open(cid)
        except BlobNotFound:
            return self.node.open(cid)

    def exists(self, cid: str) -> bool:
        return self.spool.exists(cid) or self.node.exists(cid)

    def delete(self, cid: str) -> None:
        """Unpin on the node and drop any spool copy. Raises
        :class:`~storage.blobs.BlobStoreUnavailable` when the node is down: a deletion we
        cannot confirm is not reported as done."""
        self.node.delete(cid)
        self.spool.delete(cid)

    def spooled(self) -> list[str]:
        """The CIDs accepted but not yet pinned on the node (a walk of the spool)."""
        return self.spool.cids()

    def health(self) -> dict[str, Any]:
        """Node and spool state. Raises only if the spool itself is unusable (then nothing can
        be accepted while the node is down)."""
        spool = self.spool.health()
        spooled = len(self.spooled())
        info: dict[str, Any] = {"backend": self.name, "addr": self.node.addr,
                                "spooled": spooled, "spool": spool}
        try:
            node = self.node.health()
            info["node"] = {"ok": True, "version": node.get("version")}
        except BlobStoreUnavailable as exc:
            info["node"] = {"ok": False, "reason": exc.details.get("reason", exc.code)}
        with self._lock:
            stuck = dict(self._stuck)
        if stuck:
            info["unpinnable"] = stuck
        if not info["node"]["ok"]:
            info["ok"], info["reason"] = False, "ipfs_unavailable"
        elif stuck:
            info["ok"], info["reason"] = False, "spool_blobs_refused"
        elif not spool["ok"]:
            info["ok"], info["reason"] = False, "spool_" + str(spool.get("reason", "not_ok"))
        else:
            info["ok"] = True
        if self.last_error is not None:
            info["last_error"] = self.last_error
        return info

    def close(self) -> None:
        self.node.close()

    # -- flushing -------------------------------------------------------------------------------

    def flush(self) -> int:
        """Add and pin every spooled blob the node takes; return how many left the spool.

        Stops at the first sign that the node is unavailable (the rest wait for the next
        call). Skips the directory walk when nothing was spooled since the last walk found the
        spool empty, except every `rescan_seconds`. Serialised: one flush at a time.
        """
        with self._flush_lock:
            with self._lock:
                due = self._dirty or time.monotonic() - self._last_scan >= self.rescan_seconds
                self._dirty = False
            if not due:
                return 0
            self._last_scan = time.monotonic()
            cids = self.spooled()
            moved = 0
            for cid in cids:
                try:
                    if self._push(cid):
                        moved += 1
                except BlobStoreUnavailable:
                    self._mark_dirty()  # try again next time
                    break
            remaining = len(cids) - moved
            if remaining:
                self._mark_dirty()
            if moved:
                log.info("pinned %d spooled blob(s) on %s; %d still spooled", moved,
                         self.node.addr, remaining)
            return moved

    def _push(self, cid: str) -> bool:
        """Add and pin the spool copy of `cid`, confirm the pin, then drop the copy.

        Returns False (copy kept) if the node failed or refused it; raises
        :class:`~storage.blobs.BlobStoreUnavailable` if the node cannot be reached.
        """
        try:
            self.node.put(cid, self.spool.path_for(cid))
            if not self.node.exists(cid):
                raise StorageError("the node did not keep the pin", code="ipfs_error", cid=cid)
        except BlobStoreUnavailable as exc:
            self.last_error = exc.code
            raise
        except FileNotFoundError:
            return False  # flushed meanwhile by another flusher sharing the spool
        except StorageError as exc:
            self.last_error = exc.code
            with self._lock:
                first = self._stuck.get(cid) != exc.code
                self._stuck[cid] = exc.code
            if first:
                log.error("spooled blob %s not pinned: %s (kept in %s)", cid, exc.message,
                          self.spool.root)
            return False
        self.spool.delete(cid)
        with self._lock:
            self._stuck.pop(cid, None)
        self.last_error = None
        return True


class SpoolFlusher:
    """A daemon thread calling :meth:`SpooledIpfsStore.flush` every `interval` seconds.

    It never dies of an error: failures are logged and kept in the store's ``last_error``
    (shown by its ``health``); the spool keeps the blobs until a later round succeeds.
    """

    def __init__(self, store: SpooledIpfsStore, *, interval: float = 2.0) -> None:
        self.store = store
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SpoolFlusher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ipfs-spool-flusher",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop after the blob in hand and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.store.flush()
            except Exception as exc:  # the spool keeps the blobs: log, retry next round
                self.store.last_error = type(exc).__name__
                log.exception("IPFS spool flush failed")
            self._stop.wait(self.interval)
