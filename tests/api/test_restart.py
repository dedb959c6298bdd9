"""A receipt is a promise: acknowledged evidence is anchored exactly once across restarts.

The first two tests stop the service between two steps of a batch (recorded but not sent; sent
but not recorded), which is what a crash at that point leaves behind, then start a new service
on the same data directory. The last one kills a real server process with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import httpx
import pytest
from sqlmodel import select

from notary.config import Settings
from notary.core.merkle import from_hex32, to_hex32
from notary.service.notary import NotaryService
from storage.db import Batch, Evidence, session
from tests.support import REPO, quiescent, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]


def _accept(svc: NotaryService, n: int, case: str = "C-R") -> list[str]:
    from notary.core.statement import EvidenceKind
    from notary.service.submission import Submission

    ids = []
    for i in range(n):
        data = [f"evidence {case} {i}".encode(), b""]
        accepted = svc.notariser.accept(Submission(case_id=case, kind=EvidenceKind.OTHER),
                                        lambda _n, d=data: d.pop(0), submitter="test")
        ids.append(accepted.evidence.id)
    return ids


def _statuses(svc: NotaryService) -> dict[str, str]:
    with session(svc.engine) as s:
        return {e.id: e.status for e in s.exec(select(Evidence))}


def _anchored_everything(settings: Settings, ids: list[str]) -> NotaryService:
    svc = NotaryService.open(settings)
    wait_until(lambda: all(_statuses(svc).get(i) == "anchored" for i in ids))
    wait_until(lambda: quiescent(svc))  # the custody events of those anchors, too
    return svc


def test_batch_recorded_but_not_sent_is_anchored_after_restart(settings: Settings) -> None:
    first = NotaryService.open(settings, run_worker=False)
    ids = _accept(first, 3)
    from notary.service.batching import BatchWorker

    batch = BatchWorker(first.engine, first.chain.registry).build_batch()  # type: ignore[union-attr]
    assert batch is not None and batch.status == "built"
    registry = first.chain.registry  # type: ignore[union-attr]
    assert not registry.batch_of(from_hex32(batch.root))[0]
    first.close()  # "crash": the transaction was never sent

    second = _anchored_everything(settings, ids)
    try:
        reg = second.chain.registry  # type: ignore[union-attr]
        batch_id, *_ = reg.batch_of(from_hex32(batch.root))
        assert batch_id >= 1
        with session(second.engine) as s:
            rows = list(s.exec(select(Batch).order_by(Batch.id)))
        # The recorded batch went out as it was; later batches carry custody events only.
        assert rows[0].root == batch.root and all(r.status == "anchored" for r in rows)
        assert len({r.root for r in rows}) == len(rows)
        _head, count = reg.head()
        assert count == len(rows), "every batch anchored exactly once, nothing else"
    finally:
        second.close()


def test_batch_sent_but_not_recorded_is_not_anchored_twice(settings: Settings) -> None:
    first = NotaryService.open(settings, run_worker=False)
    ids = _accept(first, 4)
    from notary.service.batching import BatchWorker

    registry = first.chain.registry  # type: ignore[union-attr]
    worker = BatchWorker(first.engine, registry)
    batch = worker.build_batch()
    assert batch is not None
    head, _ = registry.head()
    tx_hash, raw = registry.build_anchor(from_hex32(batch.root), batch.leaf_count, head)
    with session(first.engine) as s:
        row = s.get(Batch, batch.id)
        assert row is not None
        row.tx_hash, row.raw_tx, row.status = tx_hash, "0x" + raw.hex(), "sent"
        row.expected_previous_root = to_hex32(head)
        s.add(row)
        s.commit()
    registry.send_raw(raw)
    wait_until(lambda: registry.tx_receipt_status(tx_hash) == 1)
    first.close()  # "crash": mined, but the service never recorded the result

    second = _anchored_everything(settings, ids)
    try:
        reg = second.chain.registry  # type: ignore[union-attr]
        _head, count = reg.head()
        with session(second.engine) as s:
            row = s.get(Batch, batch.id)
            total = len(list(s.exec(select(Batch))))
        assert count == total, "the restart must find the anchor, not anchor again"
        assert row is not None and row.tx_hash == tx_hash and row.status == "anchored"
        assert reg.batch_of(from_hex32(batch.root))[0] == 1
    finally:
        second.close()


def test_sigkill_of_the_server_loses_no_acknowledged_item(settings: Settings) -> None:
    env = {**os.environ, "NOTARY_HOME": str(settings.home), "NOTARY_PORT": str(settings.port),
           "NOTARY_CHAIN_PORT": str(settings.chain_port), "NOTARY_BATCH_SECONDS": "30",
           "NOTARY_LOG_LEVEL": "warning"}
    if settings.database_url:
        env["NOTARY_DATABASE_URL"] = settings.database_url
    url = f"http://127.0.0.1:{settings.port}"

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "notary.cli", "run"], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _up(url), timeout=60)
        return proc

    proc = start()
    token = (settings.home / "admin.key").read_text().strip()
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    ids = []
    for i in range(6):
        resp = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": "C-KILL", "kind": "other"})),
            "file": (f"f{i}.bin", os.urandom(2048 + i))})
        assert resp.status_code == 201
        ids.append(resp.json()["id"])
    proc.send_signal(signal.SIGKILL)  # the batch interval (30 s) has not passed: all pending
    proc.wait(10)

    env["NOTARY_BATCH_SECONDS"] = "0.2"
    proc = start()
    try:
        def all_anchored() -> bool:
            return all(http.get(f"/v1/evidence/{i}").json()["status"] == "anchored" for i in ids)
        wait_until(all_anchored, timeout=30)
        seqs = [http.get(f"/v1/evidence/{i}").json()["case_seq"] for i in ids]
        assert seqs == [1, 2, 3, 4, 5, 6]
        roots = {http.get(f"/v1/evidence/{i}/proof").json()["root"] for i in ids}
        assert len(roots) == 1, "all six went into one batch after the restart"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1/health", timeout=1).status_code in (200, 503)
    except httpx.HTTPError:
        time.sleep(0.1)
        return False


def test_second_start_reuses_chain_state_and_contract(settings: Settings) -> None:
    first = NotaryService.open(settings, run_worker=False)
    address = first.chain.deployment.address  # type: ignore[union-attr]
    first.close()
    second = NotaryService.open(replace(settings), run_worker=False)
    try:
        assert second.chain.deployment.address == address  # type: ignore[union-attr]
        assert second.admin_token_created is None, "the admin key is created only once"
    finally:
        second.close()
