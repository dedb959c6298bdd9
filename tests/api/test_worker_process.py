"""``notary run``: the batch worker in its own process (issue 17).

The API process must not hold web3/eth-account (their ~30 MiB are what kept it over the
memory goal); the worker child anchors, is started again when it dies, and never outlives
``notary run``, not even a ``kill -9`` of it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from notary.chain.embedded import EmbeddedChain
from notary.config import Settings
from notary.service.notary import NotaryService
from tests.support import REPO, free_port, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

#: What an API process of ``notary run`` does (``api.app.create_api_app``: the service opened
#: with the light chain, no worker), then an upload, the keys (the trust root, read from the
#: chain) and the public hash check; prints which heavy modules it holds.
_API_PROCESS = r"""
import json, sys
from fastapi.testclient import TestClient
from api.app import create_api_app

token = sys.argv[1]
with TestClient(create_api_app()) as client:
    sent = client.post("/v1/evidence", headers={"Authorization": f"Bearer {token}"}, files={
        "metadata": (None, json.dumps({"case_id": "C-LEAN", "kind": "other"})),
        "file": ("a.bin", b"lean api process " * 1000)})
    keys = client.get("/v1/keys")
    health = client.get("/v1/health", headers={"Authorization": f"Bearer {token}"})
    print(json.dumps({"sent": sent.status_code, "keys": keys.status_code,
                      "fingerprint": keys.json().get("trust_root_fingerprint"),
                      "chain_ok": health.json()["chain"]["ok"],
                      "loaded": sorted(m for m in ("web3", "eth_account", "eth_abi", "alembic",
                                                   "fpdf", "httpcore")
                                       if m in sys.modules)}))
"""


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {**os.environ, "NOTARY_HOME": str(settings.home),
           "NOTARY_CHAIN_PORT": str(settings.chain_port), "NOTARY_LOG_LEVEL": "warning",
           "NOTARY_PORT": str(settings.port), **extra}
    if settings.database_url:
        env["NOTARY_DATABASE_URL"] = settings.database_url
    return env


def test_the_api_process_never_loads_web3(settings: Settings) -> None:
    # Keys, schema and registry, as the worker's start leaves them for the API process.
    setup = NotaryService.open(settings, run_worker=False)
    token = setup.admin_token_created or ""
    setup.close()
    done = subprocess.run([sys.executable, "-c", _API_PROCESS, token], cwd=REPO, check=False,
                          env=_env(settings), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["sent"] == 201 and answer["keys"] == 200 and answer["chain_ok"], answer
    assert answer["fingerprint"], "the trust root is read from the chain without web3"
    assert answer["loaded"] == [], answer


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_run_supervises_its_worker_process(tmp_path: Path, anvil: EmbeddedChain) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home, port=free_port(), chain_port=anvil.port)
    env = _env(settings, NOTARY_BATCH_SECONDS="0.2")
    url = f"http://127.0.0.1:{settings.port}"
    log = (tmp_path / "run.log").open("ab")

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "notary.cli", "run"], cwd=REPO, env=env,
                                stdout=log, stderr=subprocess.STDOUT)

        def up() -> bool:
            assert proc.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            try:
                return httpx.get(f"{url}/v1/keys", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        wait_until(up, timeout=90, interval=0.3)
        return proc

    proc = start()
    try:
        http = httpx.Client(base_url=url, timeout=30, headers={
            "Authorization": f"Bearer {(home / 'admin.key').read_text().strip()}"})

        def anchoring() -> dict[str, int]:
            return http.get("/v1/health").json()["anchoring"]  # type: ignore[no-any-return]

        def anchored(i: int) -> None:
            eid = http.post("/v1/evidence", files={
                "metadata": (None, json.dumps({"case_id": "C-SUP", "kind": "other"})),
                "file": (f"f{i}.bin", os.urandom(1000 + i))}).json()["id"]
            wait_until(lambda: http.get(f"/v1/evidence/{eid}").json()["status"] == "anchored",
                       timeout=60)

        first = anchoring()
        worker = first["process"]
        assert first["ok"] and first["restarts"] == 0 and _parent_of(worker) == proc.pid
        anchored(1)

        os.kill(worker, signal.SIGKILL)  # the worker dies: it is started again
        again = wait_until(lambda: (a := anchoring())["restarts"] == 1 and a["ok"] and a,
                           timeout=30)
        assert isinstance(again, dict) and again["process"] != worker
        worker = again["process"]
        anchored(2)

        proc.send_signal(signal.SIGTERM)  # a clean stop ends the worker too
        assert proc.wait(60) == 128 + signal.SIGTERM  # as before: the signal, after cleanup
        wait_until(lambda: not _alive(worker), timeout=30)

        proc = start()  # kill -9 of `notary run`: the worker does not stay behind
        worker = anchoring()["process"]
        proc.kill()
        proc.wait(10)
        wait_until(lambda: not _alive(worker), timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
