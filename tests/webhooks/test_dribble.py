"""A hostile receiver that dribbles its answer a byte at a time holds a sender no longer than
the attempt's time limit, and one tenant's receivers, however slow, hold at most their share of
the senders: another tenant's deliveries go out meanwhile, and stopping the worker does not wait
for the dribblers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from notary.service.delivery import DeliveryWorker
from notary.webhook import new_secret
from storage.db import WebhookDelivery, WebhookEndpoint, session
from storage.migrate import open_database
from tests.support import wait_until
from tests.webhooks.receiver import TEST_BOX, Dribbler, Receiver

pytestmark = pytest.mark.integration


def _hook(engine: Engine, n: int, tenant: str, url: str, due: datetime) -> str:
    """One endpoint of ``tenant`` at ``url`` with one delivery due at ``due``; its id."""
    now = datetime.now(UTC)
    with session(engine) as s:
        s.add(WebhookEndpoint(id=f"wh_{n:024x}", tenant=tenant, url=url,
                              events='["evidence.anchored"]', secret=new_secret(),
                              created_by="test", created_at=now))
        s.flush()
        s.add(WebhookDelivery(id=f"msg_{n:032x}", endpoint_id=f"wh_{n:024x}", tenant=tenant,
                              event_type="evidence.anchored", payload="{}", created_at=due,
                              next_attempt_at=due))
        s.commit()
    return f"msg_{n:032x}"


def _row(engine: Engine, delivery: str) -> WebhookDelivery:
    with session(engine) as s:
        row = s.get(WebhookDelivery, delivery)
        assert row is not None
        return row


def test_a_dribbling_receiver_is_cut_off_at_the_time_limit(tmp_path: Path) -> None:
    dribbler = Dribbler(interval=0.5, limit=60).start()  # 30 s of answer, a byte per 0.5 s
    engine = open_database(f"sqlite:///{tmp_path / 'outbox.db'}")
    delivery = _hook(engine, 1, "a", dribbler.url, datetime.now(UTC))
    worker = DeliveryWorker(engine, TEST_BOX, backoff=(60.0,), timeout=1.0, poll=0.05,
                            allow_private=True)
    started = time.monotonic()
    worker.start()
    try:
        wait_until(lambda: _row(engine, delivery).last_error is not None, timeout=40)
        took = time.monotonic() - started
        row = _row(engine, delivery)
        assert took < 3 * worker.timeout, f"the attempt held its sender {took:.1f} s"
        assert (row.status, row.attempts, row.last_error, row.leased_by) == (
            "pending", 1, "timeout", None), "a failed attempt, to be retried"
        assert row.next_attempt_at.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(seconds=30)
    finally:
        worker.stop()
        dribbler.stop()
        engine.dispose()


def test_one_tenants_dribblers_leave_the_other_senders_to_other_tenants(tmp_path: Path) -> None:
    dribbler, receiver = Dribbler(interval=0.5, limit=60).start(), Receiver().start()
    engine = open_database(f"sqlite:///{tmp_path / 'outbox.db'}")
    earlier = datetime.now(UTC) - timedelta(seconds=10)
    hostile = [_hook(engine, n, "a", dribbler.url, earlier) for n in range(4)]
    other = _hook(engine, 9, "b", receiver.url, datetime.now(UTC))
    # Three senders and a long time limit: tenant a's four due deliveries are older than b's,
    # so without a share per tenant they would take every sender for the whole limit.
    worker = DeliveryWorker(engine, TEST_BOX, backoff=(60.0,), timeout=20.0, poll=0.05,
                            allow_private=True, senders=3)
    worker.start()
    try:
        wait_until(lambda: other in receiver.deduplicated(), timeout=5)
        assert dribbler.seen == 2, "tenant a has two attempts in flight, its others wait"
        stopping = time.monotonic()
        worker.stop(timeout=1.0)
        assert time.monotonic() - stopping < 3, "stop does not wait for a hung attempt"
        rows = [_row(engine, d) for d in hostile]
        assert [r.status for r in rows] == ["pending"] * 4, "waiting is not failing"
        assert sorted(r.attempts for r in rows) == [0, 0, 1, 1]
    finally:
        worker.stop(timeout=0)
        dribbler.stop()
        receiver.stop()
        engine.dispose()
