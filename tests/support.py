"""Helpers shared by the test suites: live servers on real ports, polling, paths."""

from __future__ import annotations

import collections
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from notary.config import Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


_RECENT: collections.deque[int] = collections.deque(maxlen=512)
_RECENT_LOCK = threading.Lock()


def _port_range() -> tuple[int, int]:
    """``NOTARY_TEST_PORTS=LO-HI`` (the Makefile gives each concurrent pass its own range)."""
    lo, _, hi = os.environ.get("NOTARY_TEST_PORTS", "20000-32767").partition("-")
    return int(lo), int(hi)


def free_port() -> int:
    """A loopback port nothing listens on, for a server about to start.

    Chosen below the kernel's ephemeral range (32768 and up), so that no outgoing connection
    takes it before the server binds, and within this pass's range, so that two test passes
    running side by side never hand out the same port; one handed out lately is not reused."""
    lo, hi = _port_range()
    with _RECENT_LOCK:
        for _ in range(10_000):
            port = random.randint(lo, hi)
            if port in _RECENT:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _RECENT.append(port)
            return port
    raise RuntimeError(f"no free port in {lo}-{hi}")


class LiveServer:
    """The real app served by uvicorn on a loopback port, in a thread of this process."""

    def __init__(self, settings: Settings) -> None:
        from api.app import create_app
        from notary.service.notary import NotaryService

        self.settings = settings
        self.service = NotaryService.open(settings)
        self.admin_key = self.service.admin_token_created or ""
        config = uvicorn.Config(create_app(service=self.service), host="127.0.0.1",
                                port=settings.port, log_level="warning", lifespan="on",
                                **settings.uvicorn_options())  # as `notary run` does
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{settings.port}"

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def admin(self) -> httpx.Client:
        return self.client(self.admin_key)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.service.close()


def wait_until(predicate: Callable[[], object], timeout: float = 20.0,
               interval: float = 0.1) -> object:
    """Poll ``predicate`` until it returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def quiescent(svc: object) -> bool:
    """True when nothing waits to be anchored and the chain has exactly the database's batches.

    After the last statement is anchored the worker still anchors the custody events that
    record it, and the log's newest checkpoint, so tests that compare the chain with the
    database wait for this first.
    """
    from sqlmodel import col, select

    from storage.db import Batch, CustodyRecord, Evidence, session
    from storage.translog import LogCheckpoint, LogHead

    engine = svc.engine  # type: ignore[attr-defined]
    registry = svc.chain.registry  # type: ignore[attr-defined]
    with session(engine) as s:
        if s.exec(select(Evidence).where(Evidence.status != "anchored")).first():
            return False
        if s.exec(select(CustodyRecord).where(CustodyRecord.status != "anchored")).first():
            return False
        batches = list(s.exec(select(Batch)))
        head = s.get(LogHead, 1)
        newest = s.exec(select(LogCheckpoint).order_by(col(LogCheckpoint.size).desc())
                        .limit(1)).first()
    if head is not None and head.size and (newest is None or newest.size != head.size
                                           or newest.anchor_batch_id is None):
        return False  # the log's last checkpoint is still to be signed or anchored
    if any(b.status != "anchored" for b in batches):
        return False
    return bool(registry.head()[1] == len(batches))
