"""The logs of a full run hold no secret, no key and no evidence.

A real ``notary run`` process (its own chain, keys encrypted with a passphrase, the service's
loggers at DEBUG) goes through everything a deployment does: keys created, a call recording
submitted with its parties' names, bad requests, anchoring, proof, content read, public
verification by file and by hash, a certificate, an item key exported. Then its log (stderr)
and console (stdout) are scanned for every secret that passed through it.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.hostile.figures import report
from tests.support import SAMPLES, free_port, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

SAMPLE = SAMPLES / "call-2026-11-28-0930.wav"
PASSPHRASE = "correct horse battery staple 存证"
PARTY_NAMES = ["张伟", "Zhang Wei", "王芳 Wang Fang"]
DESCRIPTION = "Reminder call about the overdue instalment; debtor asked for a new plan"
CASE = "HX-2026-1128-ZW"


def cli(home: Path, *args: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "notary.cli", *args], env=env, check=True,
                         capture_output=True, text=True, timeout=120)
    return out.stdout


def windows(data: bytes, size: int = 16) -> set[bytes]:
    return {data[i:i + size] for i in range(len(data) - size + 1)}


def test_a_full_run_logs_no_secret_and_no_evidence(tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    home = tmp_path / "home"
    port = free_port()
    env = {**os.environ, "NOTARY_HOME": str(home), "NOTARY_PORT": str(port),
           "NOTARY_CHAIN_PORT": str(free_port()), "NOTARY_LOG_LEVEL": "debug",
           "NOTARY_KEY_PASSPHRASE": PASSPHRASE, "NOTARY_BATCH_SECONDS": "0.2",
           "NOTARY_CHAIN_TIMEOUT": "30", "PYTHONUNBUFFERED": "1"}
    env.pop("NOTARY_DATABASE_URL", None)
    env.pop("NOTARY_RPC_URL", None)
    log_path, console_path = tmp_path / "server.log", tmp_path / "console.txt"
    with open(log_path, "wb") as log, open(console_path, "wb") as console:
        proc = subprocess.Popen([sys.executable, "-m", "notary.cli", "run"], env=env,
                                stdout=console, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    secrets: list[str] = [PASSPHRASE]
    try:
        def up() -> bool:
            try:
                return httpx.get(f"{url}/v1/keys", timeout=2).status_code == 200
            except httpx.HTTPError:
                return proc.poll() is not None  # fail fast below if it died
        wait_until(up, timeout=90, interval=0.3)
        assert proc.poll() is None, log_path.read_text()
        admin_token = (home / "admin.key").read_text().strip()
        collector_token = cli(home, "keys", "create", "--role", "collector",
                              env=env).strip().splitlines()[0]
        # nk_<12 hex id>_<secret>: the id may be shown, the secret never.
        secrets += [collector_token, collector_token[16:], admin_token, admin_token[16:]]

        http = httpx.Client(base_url=url, timeout=60,
                            headers={"Authorization": f"Bearer {collector_token}"})
        meta = {"case_id": CASE, "kind": "call_recording",
                "captured_at": "2026-11-28T09:30:00+08:00", "description": DESCRIPTION,
                "parties": [{"role": "debtor", "name": PARTY_NAMES[0]},
                            {"role": "collector", "name": PARTY_NAMES[2]}]}
        evidence = SAMPLE.read_bytes()
        created = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps(meta, ensure_ascii=False), "application/json"),
            "file": (SAMPLE.name, evidence, "audio/wav")})
        assert created.status_code == 201, created.text
        eid = created.json()["id"]
        payload_segment = created.json()["statement"].split(".")[1]
        # Requests that fail: a guessed key, metadata that names a party in a wrong field.
        wrong = "nk_" + admin_token.split("_")[1] + "_" + "Q" * 43
        secrets.append(wrong)
        assert httpx.get(f"{url}/v1/evidence/{eid}",
                         headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
        bad = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": CASE, "kind": PARTY_NAMES[1]})),
            "file": ("x.wav", evidence[:4096], "audio/wav")})
        assert bad.status_code == 422

        def anchored() -> bool:
            return http.get(f"/v1/evidence/{eid}").json()["status"] == "anchored"
        wait_until(anchored, timeout=60, interval=0.2)
        assert http.get(f"/v1/evidence/{eid}/proof").status_code == 200
        content = http.get(f"/v1/evidence/{eid}/content")
        assert content.status_code == 200 and content.content == evidence
        public = httpx.Client(base_url=url, timeout=60)
        by_file = public.post("/v1/verify", files={"file": (SAMPLE.name, evidence)})
        assert by_file.json()["result"] == "valid"
        by_hash = public.post("/v1/verify", json={"sha256": created.json()["sha256"]})
        assert by_hash.json()["result"] == "valid"
        certificate = http.get(f"/v1/evidence/{eid}/certificate", params={"format": "html"})
        assert certificate.status_code == 200
        item_key = cli(home, "key", "export", eid, env=env).strip()
        assert item_key.startswith("AGE-SECRET-KEY-1")
        secrets.append(item_key)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    log = log_path.read_bytes()
    console = console_path.read_bytes()
    assert b"Uvicorn running" in log and b"notary.batching" in log, log[-2000:]
    assert b"DEBUG" in log  # libraries at DEBUG too: the most a log will ever hold
    time.sleep(0)  # (nothing else writes the files now)

    # 1. No secret: API tokens (whole or their secret part), the passphrase, an item key, any
    #    private key. The console shows the first admin key once by design (README); nothing else.
    for secret in secrets:
        assert secret.encode() not in log, f"a secret is in the log: {secret[:12]}..."
    shown_once = {admin_token, admin_token[16:]}
    for secret in set(secrets) - shown_once:
        assert secret.encode() not in console, f"a secret is on the console: {secret[:12]}..."
    for marker in (b"AGE-SECRET-KEY-", b"PRIVATE KEY", b"BEGIN ENCRYPTED", b'"d":'):
        assert marker not in log and marker not in console, marker
    # The chain account's private key (a keystore encrypted with the passphrase).
    from eth_account import Account

    chain_key = Account.decrypt((home / "keys" / "chain-account.json").read_text(), PASSPHRASE)
    assert chain_key.hex().encode() not in log.lower() and chain_key not in log

    # 2. No evidence: no 16-byte window of the file (windows with fewer than 4 distinct byte
    #    values, like silence, are left out: text can match those by chance); not base64 either.
    logged = windows(log)
    leaked = [w for w in windows(evidence) if len(set(w)) >= 4 and w in logged]
    assert leaked == [], f"{len(leaked)} windows of the evidence are in the log"
    assert base64.b64encode(evidence[1000:1024]) not in log

    # 3. No statement plaintext: party names, description, nor the signed payload.
    for text in [*PARTY_NAMES, DESCRIPTION]:
        assert text.encode() not in log, f"personal data in the log: {text}"
    assert payload_segment[:64].encode() not in log
    report(request, "log-scan", f"log scan: {len(log)} bytes of log at DEBUG, "
           f"{len(set(secrets))} secrets and {len(evidence)} evidence bytes looked for: 0 found",
           {"log_bytes": len(log), "secrets": len(set(secrets)), "evidence_bytes": len(evidence),
            "found": 0})

    # 4. Secret files are 0600 in a 0700 directory; the public key history holds no private key.
    keys = home / "keys"
    assert keys.stat().st_mode & 0o777 == 0o700
    for path in [*keys.iterdir(), home / "admin.key"]:
        mode = path.stat().st_mode & 0o777
        if path.name == "signing-keys.json":
            assert '"d"' not in path.read_text()  # a public JWK Set
            continue
        assert mode == 0o600, f"{path.name} has mode {mode:o}"
