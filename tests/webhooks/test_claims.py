"""Several processes share one outbox: each due delivery is claimed by one worker at a time (two
engines on one database, as two API processes have), and a claim whose worker died is taken
over, under the same id, once its lease ends."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from notary.service.delivery import Claim, DeliveryWorker
from notary.webhook import new_secret
from storage.db import WebhookDelivery, WebhookEndpoint, session
from storage.migrate import open_database
from tests.support import wait_until
from tests.webhooks.receiver import TEST_BOX, Receiver

pytestmark = pytest.mark.integration


def _worker(url: str) -> DeliveryWorker:
    return DeliveryWorker(open_database(url), TEST_BOX, backoff=(0.1,), timeout=1.0, poll=0.05,
                          allow_private=True, senders=4)


@pytest.fixture
def url(tmp_path: Path, database_url: str | None) -> str:
    """The outbox's database, with 40 endpoints holding one due delivery each."""
    url = database_url or f"sqlite:///{tmp_path / 'outbox.db'}"
    engine = open_database(url)
    now = datetime.now(UTC)
    with session(engine) as s:
        for n in range(40):
            s.add(WebhookEndpoint(id=f"wh_{n:024x}", tenant="default", url="http://127.0.0.1:9/",
                                  events='["evidence.anchored"]', secret="whsec_x",
                                  created_by="test", created_at=now))
            s.flush()
            s.add(WebhookDelivery(id=f"msg_{n:032x}", endpoint_id=f"wh_{n:024x}",
                                  tenant="default", event_type="evidence.anchored",
                                  payload="{}", created_at=now, next_attempt_at=now))
        s.commit()
    engine.dispose()
    return url


def test_two_processes_never_claim_one_delivery(url: str) -> None:
    workers = [_worker(url), _worker(url)]
    claimed: list[list[Claim]] = [[], []]
    start = threading.Barrier(2)

    def run(i: int) -> None:
        for _ in range(10):  # ten rounds, both workers claiming at the same moment
            start.wait()
            claimed[i] += workers[i].claim(2, set())

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert claimed[0] and claimed[1], "both workers took a share"
    # On PostgreSQL a worker skips the rows the other one holds locked (SKIP LOCKED), so a round
    # may leave some for later: the rest are claimed now.
    while more := workers[0].claim(4, set()):
        claimed[0] += more
    ids = [c.id for c in claimed[0] + claimed[1]]
    assert len(ids) == 40 and len(set(ids)) == 40, "each delivery claimed exactly once"
    with session(workers[0].engine) as s:
        rows = list(s.exec(select(WebhookDelivery)))
    assert all(r.attempts == 1 and r.leased_by for r in rows)
    for w in workers:
        w.engine.dispose()


def test_a_dead_workers_claim_is_taken_over_under_the_same_id(url: str) -> None:
    dead, alive = _worker(url), _worker(url)
    dead.lease = timedelta(seconds=0.3)
    first = dead.claim(1, set())
    assert len(first) == 1  # ... and the worker dies before recording anything
    assert first[0].id not in {c.id for c in alive.claim(40, set())}, "leased: not due"
    time.sleep(0.4)  # the lease runs out (a span of time is what is tested here)
    again = alive.claim(40, set())
    assert [c.id for c in again] == [first[0].id]
    with session(alive.engine) as s:
        row = s.get(WebhookDelivery, first[0].id)
        assert row is not None and row.attempts == 2 and row.leased_by == alive.holder
    for w in (dead, alive):
        w.engine.dispose()


def test_a_backlog_drains_at_the_receivers_pace(tmp_path: Path) -> None:
    """Thirty deliveries waiting for one receiver (it was down): one at a time, each attempt's
    end starts the next, so they arrive in far less than thirty polls."""
    receiver = Receiver().start()
    engine = open_database(f"sqlite:///{tmp_path / 'backlog.db'}")
    now = datetime.now(UTC)
    with session(engine) as s:
        s.add(WebhookEndpoint(id="wh_" + "1" * 24, tenant="default", url=receiver.url,
                              events='["evidence.anchored"]', secret=new_secret(),
                              created_by="test", created_at=now))
        s.flush()
        for n in range(30):
            s.add(WebhookDelivery(id=f"msg_{n:032x}", endpoint_id="wh_" + "1" * 24,
                                  tenant="default", event_type="evidence.anchored",
                                  payload="{}", created_at=now, next_attempt_at=now))
        s.commit()
    worker = DeliveryWorker(engine, TEST_BOX, backoff=(0.1,), timeout=2.0, poll=1.0,
                            allow_private=True)
    started = time.monotonic()
    worker.start()
    try:
        wait_until(lambda: len(receiver.deduplicated()) == 30, timeout=20)
        assert time.monotonic() - started < 10, "30 polls of 1 s would take 30 s"
    finally:
        worker.stop()
        receiver.stop()
        engine.dispose()
