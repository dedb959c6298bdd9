"""The anchoring lease: at most one batch worker anchors at a time, across processes and hosts.

A row in ``worker_leases`` names the holder and when its claim expires. The holder renews it
from a heartbeat thread; a holder that dies stops renewing, and after ``ttl`` another worker
takes over. Two defences stand behind the lease should clocks drift: pending items are claimed
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (serialised writers on SQLite), and the registry
refuses a second extension of the same head (``EvidenceRegistryStaleHead``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import select

from storage.db import WorkerLease, session, utc

log = logging.getLogger("notary.lease")


def _holder_is_dead(holder: str) -> bool:
    """True when the holder ran on this host and its process is gone (killed, crashed): no
    need to wait for the lease to expire. A holder on another host is never presumed dead."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lease:
    """A renewable claim on ``name`` (default: the anchoring lease)."""

    def __init__(self, engine: Engine, name: str = "anchoring", *, ttl: float = 15.0) -> None:
        self.engine = engine
        self.name = name
        self.ttl = timedelta(seconds=ttl)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held_until: datetime | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        """True while our last successful claim has not expired (with a safety margin)."""
        with self._lock:
            until = self._held_until
        return until is not None and datetime.now(UTC) < until - self.ttl / 3

    def try_acquire(self) -> bool:
        """Take the lease if it is free or expired, or renew it if it is ours."""
        now = datetime.now(UTC)
        expires = now + self.ttl
        try:
            with session(self.engine) as s:
                row = s.exec(select(WorkerLease).where(WorkerLease.name == self.name)
                             .with_for_update()).first()
                if row is None:
                    s.add(WorkerLease(name=self.name, holder=self.holder, expires_at=expires,
                                      acquired_at=now))
                elif (row.holder == self.holder or utc(row.expires_at) <= now
                      or _holder_is_dead(row.holder)):
                    if row.holder != self.holder:
                        log.info("taking over the %s lease from %s", self.name, row.holder)
                        row.acquired_at = now
                    row.holder, row.expires_at = self.holder, expires
                    s.add(row)
                else:
                    self._set(None)
                    return False
                s.commit()
        except (IntegrityError, OperationalError):
            self._set(None)  # someone else inserted first, or the database is away
            return False
        self._set(expires)
        return True

    def release(self) -> None:
        """Give the lease up at once (clean shutdown), so another worker need not wait."""
        self.stop_heartbeat()
        try:
            with session(self.engine) as s:
                row = s.exec(select(WorkerLease).where(WorkerLease.name == self.name)
                             .with_for_update()).first()
                if row is not None and row.holder == self.holder:
                    s.delete(row)
                    s.commit()
        except OperationalError:
            pass
        self._set(None)

    def start_heartbeat(self) -> None:
        """Renew every ttl/3 in the background while the lease is ours."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _beat(self) -> None:
        interval = self.ttl.total_seconds() / 3
        while not self._stop.wait(interval):
            if self._held_until is not None:
                self.try_acquire()

    def _set(self, until: datetime | None) -> None:
        with self._lock:
            self._held_until = until
