"""A dialer simulation (issue 16's "done when"): a recorder process writes call recordings
into a folder while ``notary watch`` (a real process) deposits them with the real service on a
real chain; the watcher is killed with SIGKILL twice (once right after the service answered a
deposit and before the journal recorded it, once from outside at an arbitrary moment while a
recording is being written) and restarted. A webhook endpoint registered through the API hears
of each anchored item at a receiver that is down (connections refused) for the first part of
the run and answers 500 to the first attempt of each delivery when it is back.

Then every recording is an anchored item, exactly once (0 duplicates, 0 lost); the receiver,
deduplicating by ``webhook-id``, kept exactly one signed ``evidence.anchored`` event per item,
each id the same on every attempt; and ``GET /v1/evidence`` paged by cursor and ``GET
/v1/cases/{id}`` reconcile all of them.

Size: ``NOTARY_WATCH_SIM_FILES`` (default 200, the issue's figure).
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from storage.db import Evidence, session
from tests.cli.conftest import client_env
from tests.support import REPO, LiveServer, wait_until
from tests.webhooks.receiver import Receiver, signature_ok

pytestmark = [pytest.mark.api, pytest.mark.chain, pytest.mark.faults]

FILES = int(os.environ.get("NOTARY_WATCH_SIM_FILES", "200"))
CASES = 4
PATTERN = "{case}/{kind}/*.wav"
#: The webhook schedule of this test: quick retries, then waits of 2 s for about two minutes,
#: so no delivery runs out of attempts while the receiver is down (it is failed after the last).
BACKOFF = (0.2, 0.5, 1.0) + (2.0,) * 60
WEBHOOKS = {"webhook_allow_private": True, "webhook_backoff": BACKOFF, "webhook_timeout": 2.0,
            "webhook_poll_seconds": 0.05}


class Journal:
    """The watcher's journal as the test reads it (the watcher's own module is under test)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self, where: str = "1") -> list[sqlite3.Row]:
        if not self.path.exists():
            return []
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            return list(db.execute(f"SELECT * FROM files WHERE {where} ORDER BY id"))
        finally:
            db.close()

    def count(self, where: str) -> int:
        return len(self.rows(where))


def start_watcher(root: Path, server: LiveServer, logs: Path, run: int,
                  crash_at: str | None = None) -> subprocess.Popen[bytes]:
    env = client_env(server)
    if crash_at:
        env["NOTARY_WATCH_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "notary.cli", "watch", str(root), "--pattern", PATTERN,
         "--settle", "2", "--poll", "0.5"],
        env=env, cwd=REPO, stdout=(logs / f"watch{run}.out").open("wb"),
        stderr=(logs / f"watch{run}.err").open("wb"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Down (its port refuses connections) until the test starts it."""
    r = Receiver()
    yield r
    r.stop()


def deliveries(http: httpx.Client, endpoint: str, status: str | None = None,
               ) -> list[dict[str, Any]]:
    resp = http.get(f"/v1/webhooks/{endpoint}/deliveries",
                    params={"limit": 500, **({"status": status} if status else {})})
    assert resp.status_code == 200, resp.text
    rows: list[dict[str, Any]] = resp.json()
    return rows


def listing(http: httpx.Client, **params: object) -> list[dict[str, Any]]:
    """Every item ``GET /v1/evidence`` lists for ``params``, following ``next_cursor``."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(FILES + 2):
        resp = http.get("/v1/evidence", params={**params, **({"cursor": cursor} if cursor
                                                              else {})})
        assert resp.status_code == 200, resp.text
        page = resp.json()
        items += page["items"]
        cursor = page["next_cursor"]
        assert ("Link" in resp.headers) == (cursor is not None)
        if cursor is None:
            return items
    raise AssertionError("the listing did not end")


def test_a_dialer_writing_recordings_with_the_watcher_killed_ends_with_each_anchored_once(
        tmp_path: Path, make_server: Callable[..., LiveServer], receiver: Receiver) -> None:
    server = make_server(batch_seconds=0.5, batch_max=100, **WEBHOOKS)
    http = httpx.Client(base_url=server.url, timeout=60,
                        headers={"Authorization": f"Bearer {server.admin_key}"})
    resp = http.post("/v1/webhooks", json={"url": receiver.url, "events": ["evidence.anchored"],
                                           "description": "collections system"})
    assert resp.status_code == 201, resp.text
    endpoint = resp.json()
    root, logs = tmp_path / "monitor", tmp_path / "logs"
    root.mkdir()
    logs.mkdir()
    journal = Journal(root / ".notary-watch" / "journal.sqlite")
    recorder = subprocess.Popen(
        [sys.executable, "-m", "tests.watch.recorder", str(root), str(FILES),
         "--cases", str(CASES), "--chunks", "4", "--pause", "0.02"],
        cwd=REPO, env=client_env(server), stdout=subprocess.PIPE)

    # 1. killed right after the service answered its 10th deposit, before the journal said so
    first = start_watcher(root, server, logs, 1, crash_at="answered:10")
    assert first.wait(timeout=120) == -signal.SIGKILL
    (unrecorded,) = journal.rows("state = 'hashed'")
    with session(server.service.engine) as s:
        assert s.exec(select(Evidence).where(Evidence.sha256 == unrecorded["sha256"])).first(), \
            "the service holds the item the journal does not know was deposited"

    # 2. restarted, then killed from outside while the recorder is mid-file
    second = start_watcher(root, server, logs, 2)
    wait_until(lambda: journal.count("state = 'done'") >= 20 or recorder.poll() is not None,
               timeout=120, interval=0.05)
    assert recorder.poll() is None, "the recorder is still writing when the watcher is killed"
    second.send_signal(signal.SIGKILL)
    assert second.wait(timeout=30) == -signal.SIGKILL

    # 3. restarted; meanwhile the receiver, down so far, comes back once a quarter of the
    # items' deliveries have each been refused at least once, and answers 500 to each id's
    # first attempt
    third = start_watcher(root, server, logs, 3)
    wait_until(lambda: len([d for d in deliveries(http, endpoint["id"], "pending")
                            if d["attempts"] >= 2]) >= FILES // 4, timeout=120, interval=0.2)
    assert deliveries(http, endpoint["id"], "delivered") == []
    tried_while_down = {d["id"] for d in deliveries(http, endpoint["id"]) if d["attempts"] >= 2}
    receiver.fail_first = 1
    receiver.start()
    out, _ = recorder.communicate(timeout=300)
    assert recorder.returncode == 0
    written = dict(line.split() for line in out.decode().splitlines())
    assert len(written) == FILES
    wait_until(lambda: journal.count("state = 'done'") == FILES
               and journal.count("state != 'done'") == 0, timeout=120)
    third.send_signal(signal.SIGTERM)
    assert third.wait(timeout=30) == 0, (logs / "watch3.err").read_text()
    summary = (logs / "watch3.out").read_text()
    assert summary.startswith("汇总 / summary: ") and "0 failed" in summary, summary
    progress = (logs / "watch2.err").read_text() + (logs / "watch3.err").read_text()
    assert "已存证 / deposited" in progress and "继续 / resuming" in progress

    # every recording was moved, unchanged, under .done/; nothing is left in the folder
    left = [p for p in root.rglob("*") if p.is_file()
            and not p.relative_to(root).parts[0].startswith(".")]
    assert left == []
    for rel, sha in written.items():
        assert hashlib.sha256((root / ".done" / rel).read_bytes()).hexdigest() == sha

    # one done row per recording in the journal, each a different item
    done = journal.rows("state = 'done'")
    by_file = {r["rel_path"]: r["evidence_id"] for r in done}
    assert sorted(by_file) == sorted(written) and len(done) == FILES
    assert len(set(by_file.values())) == FILES

    # the service: each item holds its recording's SHA-256 in its statement, in its case,
    # and is anchored; the service holds no other item (0 duplicates)
    def item(evidence_id: str) -> dict[str, Any]:
        resp = http.get(f"/v1/evidence/{evidence_id}")
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    items = {rel: item(evidence_id) for rel, evidence_id in by_file.items()}
    for rel, body in items.items():
        statement = body["statement_json"]
        assert body["sha256"] == statement["sha256"] == written[rel]
        assert body["case_id"] == statement["case_id"] == rel.split("/")[0]
        assert statement["kind"] == "call_recording"
        assert statement["file_name"] == rel.rsplit("/", 1)[1]
    with session(server.service.engine) as s:
        assert s.exec(select(func.count()).select_from(Evidence)).one() == FILES
    per_case = Counter(rel.split("/")[0] for rel in written)
    for case, n in per_case.items():
        seqs = sorted(int(b["case_seq"]) for rel, b in items.items()
                      if rel.startswith(case + "/"))
        assert seqs == list(range(1, n + 1))

    # the list endpoint reconciles: all anchored, each recording's SHA-256 once, per case and
    # over the tenant, a page at a time
    ids = {b["id"] for b in items.values()}
    wait_until(lambda: len(listing(http, status="anchored", limit=1000)) == FILES,
               timeout=120, interval=0.5)
    listed = listing(http, status="anchored", limit=64)
    assert sorted(i["sha256"] for i in listed) == sorted(written.values())
    assert {i["id"] for i in listed} == ids and all(i["anchor"] for i in listed)
    assert listing(http, status="pending", limit=64) == []
    for case, n in per_case.items():
        in_case = listing(http, case=case, order="asc", limit=7)
        assert [i["case_seq"] for i in in_case] == list(range(1, n + 1))
        assert sorted(i["sha256"] for i in in_case) == sorted(
            sha for rel, sha in written.items() if rel.startswith(case + "/"))
        assert {i["status"] for i in in_case} == {"anchored"}
        resp = http.get(f"/v1/cases/{case}")
        assert resp.status_code == 200, resp.text
        counts = resp.json()["counts"]
        assert counts == {"total": n, "pending": 0, "anchored": n, "held": 0, "shredded": 0}
        assert resp.json()["head"]["case_seq"] == n

    # the webhooks: every delivery delivered, none failed; the receiver, deduplicating by
    # webhook-id, kept one evidence.anchored event per item, signed with the endpoint's secret,
    # each id carrying the same event on every attempt
    wait_until(lambda: len(deliveries(http, endpoint["id"], "delivered")) == FILES,
               timeout=120, interval=0.5)
    rows = deliveries(http, endpoint["id"])
    assert len(rows) == FILES and {r["status"] for r in rows} == {"delivered"}
    kept = receiver.deduplicated()
    assert set(kept) == {r["id"] for r in rows}, "each delivery reached the receiver"
    events = Counter(a.event["data"]["evidence_id"] for a in kept.values())
    assert set(events) == ids and set(events.values()) == {1}, "exactly one event per item"
    anchors = {i["id"]: i["anchor"]["tx_hash"] for i in listed}
    for msg_id, attempts in receiver.by_id().items():
        event = attempts[0].event
        assert event["type"] == "evidence.anchored"
        assert event["data"]["tx_hash"] == anchors[event["data"]["evidence_id"]]
        assert len({a.body for a in attempts}) == 1, "the same event under the same id"
        assert all(signature_ok(endpoint["secret"], a) for a in attempts)
        assert [a.answered for a in attempts][:2] == [500, 200], msg_id
    # a delivery tried twice while the receiver was down had at least one attempt refused
    # before it: the receiver saw fewer attempts than the service made, all under one id
    made = {r["id"]: r["attempts"] for r in rows}
    assert all(made[i] > len(receiver.by_id()[i]) for i in tried_while_down)
