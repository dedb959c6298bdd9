"""Crash debris and the item whose 201 was lost (issue 13 #13, #14): a real server process,
killed with a real SIGKILL at named steps (``NOTARY_CRASH_AT``, notary/service/faults.py).

* killed mid-upload, it leaves a partial spool file; killed after the blob was stored but
  before its row was committed, an orphan blob. ``notary doctor`` reports both before the
  restart; the restart removes both, and ``doctor`` is then clean.
* killed after the commit but before the 201, the item is a normal item: the client's retry
  with the same Idempotency-Key is answered with that item, which gets anchored.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from notary.config import Settings
from tests.faults.test_crash import _start
from tests.support import REPO, wait_until

pytestmark = [pytest.mark.chain, pytest.mark.faults]


def _env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "NOTARY_HOME": str(settings.home), "NOTARY_PORT": str(settings.port),
           "NOTARY_CHAIN_PORT": str(settings.chain_port), "NOTARY_ORPHAN_GRACE_SECONDS": "0",
           "NOTARY_CRASH_AT": ""}
    if settings.database_url:
        env["NOTARY_DATABASE_URL"] = settings.database_url
    return env


def _doctor(settings: Settings) -> str:
    run = subprocess.run([sys.executable, "-m", "notary.cli", "doctor"], check=False, cwd=REPO,
                         env=_env(settings), capture_output=True, text=True, timeout=120)
    return run.stdout + run.stderr


def _post(url: str, token: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/evidence", timeout=30, headers={
        "Authorization": f"Bearer {token}", **headers}, files={
        "metadata": (None, json.dumps({"case_id": "CRASH-D", "kind": "notice"})),
        "file": ("notice.bin", body)})


def _killed(proc: subprocess.Popen[bytes], url: str, token: str, body: bytes,
            **headers: str) -> None:
    """Send one upload to a server set to die at a crash point; it must die (SIGKILL)."""
    with pytest.raises(httpx.HTTPError):
        _post(url, token, body, **headers)
    assert proc.wait(timeout=20) == -signal.SIGKILL


def test_kill_mid_upload_leaves_debris_that_doctor_reports_and_restart_removes(
        tmp_path: Path, settings: Settings) -> None:
    settings = replace(settings, orphan_grace_seconds=0)
    log = tmp_path / "server.log"
    url = f"http://127.0.0.1:{settings.port}"
    proc = _start(settings, None, log)
    token = (settings.home / "admin.key").read_text().strip()
    assert _post(url, token, os.urandom(1000)).status_code == 201
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    os.environ["NOTARY_ORPHAN_GRACE_SECONDS"] = "0"
    try:
        # Killed after the blob was stored, before its row was committed: an orphan blob.
        proc = _start(settings, "blob_stored:1.0", log)
        _killed(proc, url, token, os.urandom(5000))
        # A start within the grace period keeps the young orphan (it could be a concurrent
        # process's upload about to be recorded)...
        os.environ["NOTARY_ORPHAN_GRACE_SECONDS"] = "3600"
        proc = _start(settings, "upload:1.0", log)
        # ...and is killed while reading a 3 MB upload: its spool file stays behind.
        _killed(proc, url, token, os.urandom(3_000_000))
        os.environ["NOTARY_ORPHAN_GRACE_SECONDS"] = "0"
        spool = sorted(settings.spool_dir.iterdir())
        assert len(spool) == 1 and spool[0].suffix == ".age"

        report = _doctor(settings)
        assert "[FAIL] partial uploads: 1 file(s)" in report, report
        assert str(spool[0]) in report
        assert "[FAIL] orphan blobs: 1 blob(s)" in report, report

        proc = _start(settings, None, log)  # the restart sweeps
        assert not any(settings.spool_dir.iterdir())
        assert httpx.get(f"{url}/v1/health").status_code == 200
        assert _post(url, token, os.urandom(1000)).status_code == 201  # and works as before
        report = _doctor(settings)  # beside the running service, which has no debris
        assert "[  ok] partial uploads" in report, report
        assert "[  ok] orphan blobs" in report, report
    finally:
        os.environ.pop("NOTARY_ORPHAN_GRACE_SECONDS", None)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "removed crash debris: 1 partial upload file(s), 1 orphan blob(s)" in log.read_text()


def test_an_item_committed_before_a_lost_201_is_found_again_by_its_idempotency_key(
        tmp_path: Path, settings: Settings) -> None:
    log = tmp_path / "server.log"
    url = f"http://127.0.0.1:{settings.port}"
    body = os.urandom(4000)
    proc = _start(settings, "after_commit:1.0", log)
    try:
        token = (settings.home / "admin.key").read_text().strip()
        _killed(proc, url, token, body, **{"Idempotency-Key": "lost-201"})
        proc = _start(settings, None, log)
        again = _post(url, token, body, **{"Idempotency-Key": "lost-201"})
        assert again.status_code == 200, again.text  # the first item, replayed
        assert again.headers["idempotent-replayed"] == "true"
        item = again.json()["id"]
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        chain = f"http://127.0.0.1:{settings.chain_port}"

        def anchored() -> bool:
            # The servers wait for 2 confirmations: mine a block, as later traffic would.
            httpx.post(chain, json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine"})
            return bool(http.get(f"/v1/evidence/{item}").json()["status"] == "anchored")

        wait_until(anchored, timeout=90, interval=0.5)
        # Exactly one item: the retry recorded nothing new.
        third = _post(url, token, body, **{"Idempotency-Key": "lost-201"})
        assert third.status_code == 200 and third.json()["id"] == item
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
