"""SM3 beside SHA-256 (issue 19): a deployment that asks for it (NOTARY_SM3=1) records the
file's SM3 in the signed statement, computed while the upload streams in; the certificate
shows it, and the bundle's verifier and its VERIFY.md steps check it against the original,
as `openssl dgst -sm3` (an independent tool) computes it."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from notary.bundles.check import verify_bundle_file
from notary.core.digest import StreamingDigest
from tests.bundle.test_verify_guide import run_guide, served_fingerprint
from tests.support import SAMPLES, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]
SAMPLE = SAMPLES / "call-2026-11-28-0930.wav"


def openssl_sm3(path: Path) -> str:
    out = subprocess.run(["openssl", "dgst", "-sm3", "-r", str(path)], capture_output=True,
                         text=True, check=True, timeout=30)
    return out.stdout.split()[0]


def test_sm3_streamed_equals_the_standard_vector_and_openssl(tmp_path: Path) -> None:
    # GB/T 32905-2016, appendix A.1: SM3("abc").
    acc = StreamingDigest(sm3=True)
    acc.update(b"a")
    acc.update(b"bc")
    assert acc.finish().sm3_hex == \
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    data = bytes(range(256)) * 5000
    (tmp_path / "f").write_bytes(data)
    acc = StreamingDigest(sm3=True)
    for i in range(0, len(data), 4099):
        acc.update(data[i:i + 4099])
    assert acc.finish().sm3_hex == openssl_sm3(tmp_path / "f")
    assert StreamingDigest().finish().sm3 is None  # only when asked


def _upload(server: LiveServer) -> str:
    with SAMPLE.open("rb") as fh:
        resp = server.admin().post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": "SM3-1", "kind": "call_recording"}),
                         "application/json"),
            "file": (SAMPLE.name, fh, "application/octet-stream")})
    assert resp.status_code == 201, resp.text
    evidence_id: str = resp.json()["id"]
    wait_until(lambda: server.admin().get(f"/v1/evidence/{evidence_id}").json()["status"]
               == "anchored")
    return evidence_id


def test_a_deployment_with_sm3_records_checks_and_shows_it(
        make_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = make_server(sm3=True)
    evidence_id = _upload(server)
    http = server.admin()
    statement = http.get(f"/v1/evidence/{evidence_id}").json()["statement_json"]
    assert statement["sm3"] == openssl_sm3(SAMPLE)
    html = http.get(f"/v1/evidence/{evidence_id}/certificate", params={"format": "html"}).text
    assert "File SM3" in html and statement["sm3"] in html
    bundle = http.get(f"/v1/evidence/{evidence_id}/bundle").content
    verdict = verify_bundle_file(io.BytesIO(bundle), chain=None)
    assert verdict.verdict.result == "valid", verdict.to_json()
    file_checks = [c for c in verdict.verdict.checks if c.name.endswith(".file_hash")]
    assert file_checks and all(c.status.value == "pass" and "SM3" in c.reason
                               for c in file_checks), file_checks
    run = run_guide(bundle, tmp_path / "work", rpc=server.settings.rpc_url or
                    f"http://127.0.0.1:{server.settings.chain_port}",
                    fingerprint=served_fingerprint(server))
    assert run.failed is None, run.text
    assert f"OK, SM3 {statement['sm3']}" in run.stdout
    verify_md = run.folder.joinpath("VERIFY.md").read_text()
    assert "openssl dgst -sm3" in verify_md


def test_without_sm3_statements_keep_their_bytes(server: LiveServer) -> None:
    evidence_id = _upload(server)
    shown = server.admin().get(f"/v1/evidence/{evidence_id}").json()["statement_json"]
    assert "sm3" not in shown and shown["sha256"]
