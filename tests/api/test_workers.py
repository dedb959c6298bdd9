"""Several processes, one database: exactly one anchoring worker at a time, and a take-over
when it dies. Runs on SQLite by default and on PostgreSQL in the second pass of `make test`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from notary.config import Settings
from notary.core.merkle import from_hex32
from notary.service.lease import Lease
from notary.service.notary import NotaryService
from storage.db import Batch, CustodyRecord, Evidence, WorkerLease, session
from storage.translog import LogCheckpoint
from tests.support import REPO, free_port, quiescent, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]


def test_lease_has_one_holder_and_passes_on_when_it_expires(settings: Settings) -> None:
    svc = NotaryService.open(settings, with_chain=False)
    try:
        first, second = Lease(svc.engine, ttl=1.0), Lease(svc.engine, ttl=1.0)
        assert first.try_acquire() and first.held
        assert not second.try_acquire() and not second.held
        assert first.try_acquire(), "the holder renews"
        time.sleep(1.1)  # the first holder stops renewing: it "died"
        assert not first.held
        assert second.try_acquire() and second.held
        assert not first.try_acquire()
        second.release()
        assert first.try_acquire()
    finally:
        svc.close()


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {**os.environ, "NOTARY_HOME": str(settings.home),
           "NOTARY_CHAIN_PORT": str(settings.chain_port), "NOTARY_LOG_LEVEL": "warning", **extra}
    if settings.database_url:
        env["NOTARY_DATABASE_URL"] = settings.database_url
    return env


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "notary.cli", *args], cwd=REPO, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _lease_holder_pid(svc: NotaryService) -> int | None:
    with session(svc.engine) as s:
        row = s.exec(select(WorkerLease)).first()
    return int(row.holder.split(":")[1]) if row else None


def _check_exactly_once(svc: NotaryService, expected: int) -> int:
    """Every item anchored in exactly one batch; every batch root anchored once on chain."""
    registry = svc.chain.registry  # type: ignore[union-attr]
    with session(svc.engine) as s:
        items = list(s.exec(select(Evidence)))
        events = list(s.exec(select(CustodyRecord).where(CustodyRecord.batch_id.is_not(None))))  # type: ignore[union-attr]
        batches = list(s.exec(select(Batch)))
        checkpoints = [c.anchor_batch_id for c in s.exec(select(LogCheckpoint))
                       if c.anchor_batch_id is not None]
    assert len(items) == expected
    assert all(e.status == "anchored" and e.batch_id is not None for e in items)
    per_batch: dict[int, int] = {}
    for leaf_row in [*items, *events]:  # a batch holds statements and custody events
        per_batch[leaf_row.batch_id] = per_batch.get(leaf_row.batch_id, 0) + 1  # type: ignore[index]
    for batch_id in checkpoints:  # ...and the log's newest checkpoint of the moment
        per_batch[batch_id] = per_batch.get(batch_id, 0) + 1
    assert all(b.status == "anchored" for b in batches)
    assert {b.id: b.leaf_count for b in batches} == per_batch
    onchain_ids = set()
    for b in batches:
        batch_id, _block, _ts, count = registry.batch_of(from_hex32(b.root))
        assert batch_id == b.onchain_batch_id and count == b.leaf_count
        onchain_ids.add(batch_id)
    _head, total = registry.head()
    assert total == len(batches) == len(onchain_ids), "no root anchored twice, none missing"
    return len(batches)


def test_two_api_processes_and_two_workers_anchor_each_item_once(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    env = _env(settings, NOTARY_PORT=str(port), NOTARY_BATCH_SECONDS="0.3",
               NOTARY_BATCH_MAX="100", NOTARY_LEASE_SECONDS="3")
    log = tmp_path / "processes.log"
    api = _spawn(["run", "--workers", "2", "--no-worker"], env, log)
    url = f"http://127.0.0.1:{port}"
    procs = [api]
    try:
        wait_until(lambda: _health(url), timeout=60)
        workers = [_spawn(["worker"], env, log) for _ in range(2)]
        procs += workers
        token = (settings.home / "admin.key").read_text().strip()

        def submit(i: int) -> str:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                              timeout=60) as http:
                resp = http.post("/v1/evidence", files={
                    "metadata": (None, json.dumps({"case_id": f"C-{i % 7}", "kind": "other"})),
                    "file": (f"f{i}.bin", os.urandom(64) + str(i).encode())})
                assert resp.status_code == 201, resp.text
                return str(resp.json()["id"])

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(submit, range(1000)))
        assert len(set(ids)) == 1000

        observer = NotaryService.open(settings, run_worker=False)
        try:
            def all_anchored() -> bool:
                with session(observer.engine) as s:
                    return not s.exec(select(Evidence).where(Evidence.status != "anchored")).first()
            wait_until(all_anchored, timeout=120)
            wait_until(lambda: quiescent(observer), timeout=60)
            batches = _check_exactly_once(observer, 1000)
            assert batches >= 10, "batch_max 100 means at least ten batches"

            # Kill the active worker with SIGKILL; the other must take over within the lease.
            holder = _lease_holder_pid(observer)
            victim = next(w for w in workers if w.pid == holder)
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            start = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(submit, range(1000, 1050)))
            wait_until(all_anchored, timeout=60)
            took = time.monotonic() - start
            wait_until(lambda: quiescent(observer), timeout=60)
            assert _lease_holder_pid(observer) != holder
            _check_exactly_once(observer, 1050)
            print(f"take-over after SIGKILL: 50 new items anchored {took:.1f}s after submission "
                  f"(lease {timedelta(seconds=3)})")
        finally:
            observer.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def _health(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1/health", timeout=1).status_code in (200, 503)
    except httpx.HTTPError:
        time.sleep(0.2)
        return False
