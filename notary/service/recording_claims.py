"""Closing claims on recording sessions (issue 18 review): one closer at a time, by token.

A closer takes a session (``closing``) with a fresh token; finishing or reopening it is a
compare-and-set on that token, so a closer that lost its claim changes nothing. The claim's
lease (``closed_at``) is extended while the closer works (:class:`Lease`): only a closer whose
lease ran out, one that died, is replaced. A failed close opens the session again with a
back-off for the timeout's closer, and after ``CLOSE_ATTEMPTS`` marks it ``failed``.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Self

from sqlalchemy import Engine
from sqlmodel import select

from storage.db import session, utc
from storage.recordings import RecordingSession

__all__ = ["CLOSE_ATTEMPTS", "Lease", "claim", "close_request", "finish", "give_back", "renew"]

log = logging.getLogger(__name__)

#: Failed closes after which a session is ``failed`` (the timeout's closer stops retrying).
CLOSE_ATTEMPTS = 5


def _now() -> datetime:
    return datetime.now(UTC)


def close_request(call: object, complete: bool) -> str:
    """What a closer was asked, kept with its claim (no numbers: ``ended_at`` only)."""
    ended = call.get("ended_at") if isinstance(call, dict) else None
    return json.dumps({"complete": complete,
                       "ended_at": ended if isinstance(ended, str) else None})


def _locked(s: object, session_id: str) -> RecordingSession:
    return s.exec(select(RecordingSession).where(  # type: ignore[attr-defined]
        RecordingSession.id == session_id).with_for_update()).one()


def claim(engine: Engine, session_id: str, timeout: float, request: str | None = None, *,
          failed: bool = False,
          idle_before: datetime | None = None) -> tuple[str, str | None] | None:
    """Take the session for closing, asked ``request``: the claim's token and, when it
    replaces a dead closer's claim (or, with ``failed``, retries a ``failed`` session), what
    that closer was asked; None when another closer holds a live claim (or the session is
    closed).

    ``idle_before``: the timeout's closer takes an open session only if, under the lock, its
    last segment is still older than this and no retry is pending: a segment that arrived
    after the sweep chose the session keeps it open (the recorder is alive)."""
    now = _now()
    stale = now - timedelta(seconds=timeout)
    with session(engine) as s:
        row = _locked(s, session_id)
        if row.status == "open" and idle_before is not None and (
                utc(row.last_at) >= idle_before
                or (row.retry_at is not None and utc(row.retry_at) > now)):
            return None
        if row.status == "open" or (failed and row.status == "failed") or (
                row.status == "closing" and row.closed_at is not None
                and utc(row.closed_at) < stale):
            earlier = row.close_request if row.status in ("closing", "failed") else None
            token = secrets.token_hex(16)
            row.status, row.closed_at, row.claim = "closing", now, token
            row.close_request = request if earlier is None or not failed else earlier
            s.add(row)
            s.commit()
            return token, earlier
    return None


def renew(engine: Engine, session_id: str, token: str) -> bool:
    """Extend the claim ``token`` holds; False when it holds it no more."""
    with session(engine) as s:
        row = _locked(s, session_id)
        if row.status != "closing" or row.claim != token:
            return False
        row.closed_at = _now()
        s.add(row)
        s.commit()
        return True


def finish(engine: Engine, session_id: str, token: str, status: str,
           evidence_id: str | None) -> RecordingSession:
    """Finish the claim ``token`` with ``status``; a claim taken over or finished by another
    closer changes nothing (the session as it is)."""
    with session(engine) as s:
        row = _locked(s, session_id)
        if row.status != "closing" or row.claim != token:
            return row
        row.status, row.evidence_id, row.claim = status, evidence_id, None
        row.closed_at = None if status == "open" else _now()
        if status != "open":  # the item's call_salts hold them now (shredding reaches them)
            row.call_salts = None
        s.add(row)
        s.commit()
        return row


def give_back(engine: Engine, session_id: str, token: str, timeout: float,
              exc: BaseException) -> None:
    """After a failed close under ``token``: the session open again, not to be retried by the
    timeout before ``retry_at`` (the timeout × 2, 4, 8, ...), or ``failed`` (logged as an
    error) after ``CLOSE_ATTEMPTS`` failures."""
    with session(engine) as s:
        held = _locked(s, session_id)
        if held.status != "closing" or held.claim != token:
            return  # another closer holds or finished it
        held.close_failures += 1
        held.retry_at = _now() + timedelta(seconds=timeout * 2 ** held.close_failures)
        held.status, held.claim, held.closed_at = "open", None, None
        if held.close_failures >= CLOSE_ATTEMPTS:
            held.status, held.closed_at = "failed", _now()
            log.error("recording session %s failed to close %d times (%s); it is marked "
                      "failed and takes no more segments", session_id, held.close_failures,
                      getattr(exc, "code", type(exc).__name__))
        s.add(held)
        s.commit()


class Lease:
    """Extends a closing claim every third of the timeout while its closer works, so a slow
    close is never taken for a dead one."""

    def __init__(self, engine: Engine, session_id: str, token: str, timeout: float) -> None:
        self._renew = lambda: renew(engine, session_id, token)
        self._every = max(0.02, timeout / 3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recording-lease", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                if not self._renew():
                    return
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.warning("could not extend a recording's closing claim")


class SessionSweeper:
    """Closes timed-out sessions every few seconds in a daemon thread."""

    def __init__(self, sweep: Callable[[], object], timeout: float) -> None:
        self.sweep = sweep  # Recordings.sweep: closes what timed out
        self.interval = max(0.05, min(timeout / 4, 5.0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recording-sweeper",
                                        daemon=True)

    def start(self) -> SessionSweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception:  # the next round tries again
                log.exception("the recording sweep failed")


