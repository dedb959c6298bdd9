"""Crash tests: a real server process, a real chain, a client submitting all the time, and
SIGKILL of the server again and again, at random moments and at named steps (mid-upload, after
the commit but before the 201, after a batch is recorded, after its transaction is sent, after
it is confirmed but before that is recorded). Then one clean start, and the promise is checked:

* every acknowledged item (a 201 was received) is anchored, exactly once, with a valid proof;
* no batch root is anchored twice; every root on the chain is a batch in the database and
  every anchored batch in the database is on the chain.

CI size: ``NOTARY_CRASH_KILLS`` (default 50). ``make soak`` runs a longer series.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from notary.chain.embedded import EmbeddedChain
from notary.config import Settings
from notary.core.logentry import signed_sha256
from notary.core.merkle import from_hex32, statement_leaf, verify_proof
from notary.service.notary import NotaryService
from storage.db import Batch, CustodyRecord, Evidence, session
from storage.translog import LogCheckpoint, LogEntry
from tests.support import REPO, free_port, quiescent, wait_until

pytestmark = [pytest.mark.chain, pytest.mark.faults]

KILLS = int(os.environ.get("NOTARY_CRASH_KILLS", "50"))
MODES = ["timer", "upload:0.02", "after_commit:0.3", "batch_recorded:0.6", "tx_sent:0.6",
         "confirmed:0.6"]


class Client:
    """Submits files continuously from two threads; remembers every acknowledged id."""

    def __init__(self, url: str, token: str, seed: int) -> None:
        self.url, self.token = url, token
        self.rng = random.Random(seed)
        self.acknowledged: list[str] = []
        self.attempts = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(2)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self.threads:
            t.join(15)

    def _run(self) -> None:
        http = httpx.Client(base_url=self.url, timeout=10,
                            headers={"Authorization": f"Bearer {self.token}"})
        while not self._stop.is_set():
            with self._lock:
                size = self.rng.choice([1_000, 20_000, 300_000, 1_200_000])
                case = f"CRASH-{self.rng.randrange(5)}"
                self.attempts += 1
            try:
                resp = http.post("/v1/evidence", files={
                    "metadata": (None, json.dumps({"case_id": case, "kind": "call_recording"})),
                    "file": ("rec.wav", os.urandom(size))})
            except httpx.HTTPError:
                time.sleep(0.05)  # the server is down (killed): keep trying
                continue
            if resp.status_code == 201:
                with self._lock:
                    self.acknowledged.append(resp.json()["id"])


def _start(settings: Settings, crash_at: str | None, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NOTARY_HOME": str(settings.home), "NOTARY_PORT": str(settings.port),
           "NOTARY_CHAIN_PORT": str(settings.chain_port), "NOTARY_BATCH_SECONDS": "0.3",
           "NOTARY_CONFIRMATIONS": "2", "NOTARY_LOG_LEVEL": "warning",
           "NOTARY_CRASH_AT": crash_at or ""}
    if settings.database_url:
        env["NOTARY_DATABASE_URL"] = settings.database_url
    proc = subprocess.Popen([sys.executable, "-m", "notary.cli", "run"], cwd=REPO, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{settings.port}"

    def up() -> bool:
        if proc.poll() is not None:
            return True  # died during start (a crash point in recovery): fine, caller sees it
        try:
            return httpx.get(f"{url}/v1/health", timeout=1).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=60, interval=0.05)
    return proc


def test_sigkill_storm_loses_nothing_and_anchors_once(tmp_path: Path, settings: Settings) -> None:
    chain = EmbeddedChain(tmp_path / "anvil", port=free_port(), block_time=0.5)
    chain.start()
    try:
        _storm(tmp_path, replace(settings, chain_port=chain.port))
    finally:
        chain.stop()


def _storm(tmp_path: Path, settings: Settings) -> None:
    log = tmp_path / "server.log"
    rng = random.Random(20261129)
    url = f"http://127.0.0.1:{settings.port}"
    proc = _start(settings, None, log)  # first start: keys, schema, contract, admin key
    token = (settings.home / "admin.key").read_text().strip()
    client = Client(url, token, seed=7)
    client.start()
    kills: Counter[str] = Counter()
    started = time.monotonic()
    try:
        for round_no in range(KILLS):
            mode = MODES[round_no % len(MODES)]
            if round_no:
                proc = _start(settings, None if mode == "timer" else mode, log)
            if mode == "timer" or round_no == 0:
                time.sleep(rng.uniform(0.2, 2.0))
            else:
                try:
                    proc.wait(timeout=6)  # died by itself at the crash point
                    kills[mode.split(":")[0]] += 1
                    continue
                except subprocess.TimeoutExpired:
                    pass
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills["timer"] += 1
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    client.stop()
    storm_seconds = time.monotonic() - started

    final = _start(settings, None, log)  # a clean start: recovery must finish the job
    observer = NotaryService.open(settings, run_worker=False)
    try:
        acknowledged = set(client.acknowledged)

        def settled() -> bool:
            with session(observer.engine) as s:
                return not s.exec(select(Evidence).where(Evidence.status != "anchored")).first()

        wait_until(settled, timeout=120)
        wait_until(lambda: quiescent(observer), timeout=120)
        figures = _check(observer, acknowledged)
    finally:
        observer.close()
        final.send_signal(signal.SIGTERM)
        final.wait(20)
    figures.update(kills=sum(kills.values()), kills_by_point=dict(kills),
                   submissions_attempted=client.attempts,
                   storm_seconds=round(storm_seconds, 1))
    line = json.dumps(figures, sort_keys=True)
    print(f"\ncrash figures: {line}")
    figures_dir = Path(os.environ.get("NOTARY_FIGURES_DIR", tmp_path))
    figures_dir.mkdir(parents=True, exist_ok=True)
    (figures_dir / "crash-figures.json").write_text(line)
    assert figures["kills"] >= KILLS
    assert figures["lost"] == 0 and figures["roots_anchored_twice"] == 0
    assert figures["acknowledged"] > 0


def _check(svc: NotaryService, acknowledged: set[str]) -> dict[str, object]:
    registry = svc.chain.registry  # type: ignore[union-attr]
    with session(svc.engine) as s:
        items = {e.id: e for e in s.exec(select(Evidence))}
        batches = {b.id: b for b in s.exec(select(Batch))}
        events_in_batches = len(list(s.exec(select(CustodyRecord).where(
            CustodyRecord.batch_id.is_not(None)))))  # type: ignore[union-attr]
        checkpoints_in_batches = len(list(s.exec(select(LogCheckpoint).where(
            LogCheckpoint.anchor_batch_id.is_not(None)))))  # type: ignore[union-attr]
    lost = acknowledged - items.keys()
    assert not lost, f"{len(lost)} acknowledged items are missing"
    # Every statement and custody event kept has its transparency-log leaf (issue 19), the
    # leaves numbered from 0 without a gap, whatever the kills interrupted.
    with session(svc.engine) as s:
        signed = [e.statement_jws for e in s.exec(select(Evidence))]
        signed += list(s.exec(select(CustodyRecord.jws)))
    with session(svc.engine) as s:
        logged = list(s.exec(select(LogEntry.idx, LogEntry.signed_sha256)
                             .order_by(LogEntry.idx)))  # type: ignore[arg-type]
    assert [idx for idx, _ in logged] == list(range(len(logged)))
    assert {signed_sha256(j).hex() for j in signed} <= {h for _, h in logged}
    for e in items.values():
        assert e.status == "anchored" and e.batch_id is not None and e.proof and e.leaf
        leaf = statement_leaf(bytes.fromhex(e.statement_digest), bytes.fromhex(e.sha256))
        assert leaf == from_hex32(e.leaf)
        batch = batches[e.batch_id]
        verify_proof(from_hex32(batch.root), leaf, [from_hex32(p) for p in json.loads(e.proof)])
    # The chain's view: every BatchAnchored event of this registry.
    logs = registry.contract.events.BatchAnchored().get_logs(from_block=0)
    chain_roots = ["0x" + bytes(log["args"]["root"]).hex() for log in logs]
    db_roots = {b.root for b in batches.values() if b.status == "anchored"}
    twice = len(chain_roots) - len(set(chain_roots))
    assert set(chain_roots) == db_roots, "database and chain disagree on the anchored batches"
    assert all(b.status == "anchored" for b in batches.values())
    for b in batches.values():
        batch_id, block, _ts, count = registry.batch_of(from_hex32(b.root))
        assert (batch_id, block, count) == (b.onchain_batch_id, b.block_number, b.leaf_count)
    assert sum(b.leaf_count for b in batches.values()) == (
        len(items) + events_in_batches + checkpoints_in_batches), \
        "a record in two batches, or a batch with records missing"
    return {"acknowledged": len(acknowledged), "stored": len(items), "lost": len(lost),
            "batches": len(batches), "roots_anchored_twice": twice,
            "stored_but_unacknowledged": len(items.keys() - acknowledged)}
