"""A TSA that is down never stops anchoring: the batch is anchored without its timestamp, the
service says why, and once the TSA is back a later cycle timestamps the root."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import LiveServer, wait_until
from tests.tsa.conftest import OpenSslTsa
from tests.tsa.test_live import submit, timestamp_of

pytestmark = [pytest.mark.api, pytest.mark.chain, pytest.mark.faults]


def test_anchoring_goes_on_while_the_tsa_is_down(make_server: Callable[..., LiveServer],
                                                 tsa: OpenSslTsa, tmp_path: Path) -> None:
    tsa.stop()
    try:
        server = make_server(tsa_url=tsa.url, tsa_ca_file=tsa.ca, tsa_timeout=2.0)
        evidence_id = submit(server, "TSA-OUTAGE-1")
        http = server.admin()
        wait_until(lambda: http.get(f"/v1/evidence/{evidence_id}").json()["status"] == "anchored")
        proof = http.get(f"/v1/evidence/{evidence_id}/proof").json()
        assert proof["anchor"]["tx_hash"].startswith("0x") and proof["timestamp"] is None
        # Step 5 of the cycle that anchored it tried the TSA after the anchor was recorded.
        health = wait_until(lambda: (h := server.admin().get("/v1/health").json())["anchoring"]
                            ["timestamp_error"] and h)
        assert isinstance(health, dict)
        assert health["anchoring"]["ok"] is True, health  # anchoring itself is fine
        assert health["anchoring"]["timestamp_error"].startswith("tsa_unavailable"), health
        answered = tsa.answered
    finally:
        tsa.start()
    # Back up: a later cycle picks the batch up; the token is over the same anchored root.
    stamped = wait_until(lambda: timestamp_of(server, evidence_id))
    assert isinstance(stamped, dict) and tsa.answered > answered
    assert stamped["root"] == proof["root"] and stamped["anchor"] == proof["anchor"]
    (tmp_path / "t.tsr").write_bytes(base64.b64decode(stamped["timestamp"]["token"]))
    root = bytes.fromhex(proof["root"][2:])
    run = subprocess.run(["openssl", "ts", "-verify", "-digest", hashlib.sha256(root).hexdigest(),
                          "-in", "t.tsr", "-CAfile", str(tsa.ca)], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0 and "Verification: OK" in run.stdout, run.stderr
    wait_until(lambda: server.admin().get("/v1/health").json()["anchoring"]["timestamp_error"]
               is None)
