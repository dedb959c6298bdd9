"""Bounds on proof-bundle builds: at most ``NOTARY_EXPORT_BUILDS`` at once on the service and one
per API key or share link, each with a cancel flag.

A build is expensive (a case's certificates take about a second of CPU per item). The gate
never blocks: a build waiting for a slot would hold a worker thread and its client's connection
for minutes, so ``export_busy`` (with ``Retry-After``) answers at once instead. A cancelled
build (its client gone, or the service stopping) stops at its next item and frees its slot.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from notary.core.errors import NotaryError


class ExportBusy(NotaryError):
    """Too many bundle builds: this key or link already has one running (429), or the service
    runs as many as it may (503). ``details["retry_after"]`` says when to try again."""

    default_code = "export_busy"
    kind = "busy"

    def __init__(self, message: str, *, holder_busy: bool, retry_after: int = 10) -> None:
        super().__init__(message, retry_after=retry_after,
                         scope="holder" if holder_busy else "service")
        if holder_busy:  # the asker's own limit, like a rate limit
            self.kind = "rate_limited"


class ExportCancelled(NotaryError):
    """The build was stopped because its client went away (or the service is stopping)."""

    default_code = "export_cancelled"
    kind = "unavailable"


@dataclass
class ExportTicket:
    """One build's slot in the gate and its cancel flag. ``release`` may be called any number
    of times (by the stream's end, its close, or garbage collection)."""

    gate: ExportGate
    holder: str
    cancel: threading.Event = field(default_factory=threading.Event)
    steps: int = 0  # items and members done so far: how a test sees a build stop
    released: bool = False

    def check(self) -> None:
        """Raise :class:`ExportCancelled` if the build was cancelled; else count a step."""
        if self.cancel.is_set():
            raise ExportCancelled("the bundle build was cancelled: its client went away",
                                  holder=self.holder)
        self.steps += 1

    def release(self) -> None:
        self.gate._leave(self)


class ExportGate:
    """At most ``limit`` bundle builds at once, and one per holder (API key or share link).

    Non-blocking on purpose: a build waiting for a slot would hold a worker thread and its
    client's connection for minutes; an immediate ``export_busy`` tells it when to retry."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._lock = threading.Lock()
        self._running: dict[str, ExportTicket] = {}
        self.started = 0
        self.cancelled = 0
        self.recent: deque[ExportTicket] = deque(maxlen=16)  # for `doctor`-style inspection

    def enter(self, holder: str, cancel: threading.Event | None = None) -> ExportTicket:
        with self._lock:
            if holder in self._running:
                raise ExportBusy("a bundle build for this key or link is already running; "
                                 "wait for it to finish (or cancel it) and retry",
                                 holder_busy=True, retry_after=10)
            if len(self._running) >= self.limit:
                raise ExportBusy(f"the service is building {self.limit} bundles already; "
                                 "retry in a moment", holder_busy=False, retry_after=15)
            ticket = ExportTicket(self, holder, cancel if cancel is not None
                                  else threading.Event())
            self._running[holder] = ticket
            self.recent.append(ticket)
            self.started += 1
            return ticket

    def _leave(self, ticket: ExportTicket) -> None:
        with self._lock:
            if ticket.released:
                return
            ticket.released = True
            if ticket.cancel.is_set():
                self.cancelled += 1
            if self._running.get(ticket.holder) is ticket:
                del self._running[ticket.holder]

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def cancel_all(self) -> None:
        """Stop every running build at its next item (the service is closing)."""
        with self._lock:
            for ticket in self._running.values():
                ticket.cancel.set()
