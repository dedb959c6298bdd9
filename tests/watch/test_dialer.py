"""A dialer simulation: a recorder process writes call recordings slowly into a folder while
``notary watch`` (a real process) deposits them with the real service on a real chain; the
watcher is killed with SIGKILL twice (once right after the service answered a deposit and
before the journal recorded it, once from outside at an arbitrary moment while a recording is
being written) and restarted. Then every recording must be an anchored item, exactly once.

Size: ``NOTARY_WATCH_SIM_FILES`` (default 60; the issue's figure is 200).
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from storage.db import Evidence, session
from tests.cli.conftest import client_env
from tests.support import REPO, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain, pytest.mark.faults]

FILES = int(os.environ.get("NOTARY_WATCH_SIM_FILES", "60"))
PATTERN = "{case}/{kind}/*.wav"


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


def test_a_dialer_writing_recordings_with_the_watcher_killed_ends_with_each_anchored_once(
        tmp_path: Path, make_server: Callable[..., LiveServer]) -> None:
    server = make_server(batch_seconds=0.5, batch_max=100)
    root, logs = tmp_path / "monitor", tmp_path / "logs"
    root.mkdir()
    logs.mkdir()
    journal = Journal(root / ".notary-watch" / "journal.sqlite")
    recorder = subprocess.Popen(
        [sys.executable, "-m", "tests.watch.recorder", str(root), str(FILES),
         "--chunks", "8", "--pause", "0.03"],
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

    # 3. restarted; runs until the recorder has finished and the journal has nothing open
    third = start_watcher(root, server, logs, 3)
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
    http = httpx.Client(base_url=server.url, timeout=60,
                        headers={"Authorization": f"Bearer {server.admin_key}"})

    def item(evidence_id: str) -> dict[str, object]:
        resp = http.get(f"/v1/evidence/{evidence_id}")
        assert resp.status_code == 200, resp.text
        body: dict[str, object] = resp.json()
        return body

    items = {rel: item(evidence_id) for rel, evidence_id in by_file.items()}
    for rel, body in items.items():
        statement = body["statement_json"]
        assert isinstance(statement, dict)
        assert body["sha256"] == statement["sha256"] == written[rel]
        assert body["case_id"] == statement["case_id"] == rel.split("/")[0]
        assert statement["kind"] == "call_recording"
        assert statement["file_name"] == rel.rsplit("/", 1)[1]
    wait_until(lambda: all(item(str(b["id"]))["status"] == "anchored" for b in items.values()),
               timeout=120, interval=1.0)
    with session(server.service.engine) as s:
        assert s.exec(select(func.count()).select_from(Evidence)).one() == FILES
    per_case = Counter(rel.split("/")[0] for rel in written)
    for case, n in per_case.items():
        seqs = sorted(int(str(b["case_seq"])) for rel, b in items.items()
                      if rel.startswith(case + "/"))
        assert seqs == list(range(1, n + 1))
