"""RFC 3161 timestamps end to end, against OpenSSL's TSA and the session's anvil: the batch
worker timestamps the anchored root, the proof API and the exported bundle carry the token,
and it verifies with ``openssl ts -verify`` (as VERIFY.md writes it) and with ``notary
verify``; a tampered token or root fails both."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from notary.bundles.check import verify_bundle_file
from notary.chain.embedded import EmbeddedChain
from notary.config import Settings
from notary.core.verdict import CheckStatus
from notary.tsa import load_trust_roots
from storage.db import Batch, session
from tests.bundle.repack import member, names, rezip
from tests.bundle.test_verify_guide import run_guide, served_fingerprint
from tests.support import REPO, SAMPLES, LiveServer, free_port, wait_until
from tests.tsa.conftest import OpenSslTsa

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "TSA-2026-1129"
SAMPLE = SAMPLES / "notice-2026-11-28.pdf"


@dataclass
class Stamped:
    server: LiveServer
    tsa: OpenSslTsa
    evidence_id: str
    root: bytes
    proof: dict[str, object]
    bundle: bytes  # the case (one item), with its original


def submit(server: LiveServer, case_id: str) -> str:
    with SAMPLE.open("rb") as fh:
        resp = server.admin().post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": case_id, "kind": "notice"}),
                         "application/json"),
            "file": (SAMPLE.name, fh, "application/pdf")})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def timestamp_of(server: LiveServer, evidence_id: str) -> dict[str, object] | None:
    resp = server.admin().get(f"/v1/evidence/{evidence_id}/proof")
    return resp.json() if resp.status_code == 200 and resp.json()["timestamp"] else None


@pytest.fixture(scope="module")
def stamped(anvil: EmbeddedChain, tsa: OpenSslTsa,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stamped]:
    settings = Settings(home=tmp_path_factory.mktemp("tsa-home"), port=free_port(),
                        chain_port=anvil.port, batch_seconds=0.2, chain_timeout=20.0,
                        tsa_url=tsa.url, tsa_ca_file=tsa.ca, tsa_timeout=5.0)
    server = LiveServer(settings)
    try:
        evidence_id = submit(server, CASE)
        proof = wait_until(lambda: timestamp_of(server, evidence_id))
        assert isinstance(proof, dict)
        bundle = server.admin().get(f"/v1/cases/{CASE}/bundle")
        assert bundle.status_code == 200, bundle.text
        yield Stamped(server, tsa, evidence_id, bytes.fromhex(str(proof["root"])[2:]), proof,
                      bundle.content)
    finally:
        server.stop()


def unpack(data: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as z:  # our own bundle: safe to extract here
        z.extractall(folder)
    return folder


def timestamp_block(folder: Path) -> str:
    """The shell block of VERIFY.md that checks the timestamps, as it stands."""
    text = (folder / "VERIFY.md").read_text("utf-8")
    (block,) = [b for b in re.findall(r"^```sh\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)
                if "openssl ts -verify" in b]
    return block


def run_block(block: str, folder: Path, tsa_ca: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=folder,
                          env={**os.environ, "TSA_CA": str(tsa_ca)}, capture_output=True,
                          text=True, timeout=60, check=False)


def notary_verify(path: Path, *args: str) -> dict[str, object]:
    run = subprocess.run([sys.executable, "-m", "notary.cli", "verify", str(path), "--json",
                          *args], env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode in (0, 1, 5), run.stderr  # 5: no trust root pinned
    report: dict[str, object] = json.loads(run.stdout)
    return report


def check_named(report: dict[str, object], name: str) -> dict[str, str]:
    checks = report["checks"]
    assert isinstance(checks, list)
    (found,) = [c for c in checks if c["name"] == name]
    return dict(found)


def test_the_worker_timestamps_the_anchored_root(stamped: Stamped, tmp_path: Path) -> None:
    stamp = stamped.proof["timestamp"]
    assert isinstance(stamp, dict)
    assert stamp["tsa_url"] == stamped.tsa.url
    token = base64.b64decode(stamp["token"])
    with session(stamped.server.service.engine) as s:
        (batch,) = s.exec(select(Batch).where(Batch.root == stamped.proof["root"])).all()
    assert batch.status == "anchored" and batch.tsa_token == stamp["token"]
    assert batch.tsa_url == stamped.tsa.url and batch.tsa_time is not None
    assert stamp["gen_time"].startswith(batch.tsa_time.strftime("%Y-%m-%dT%H:%M:%S"))
    # OpenSSL checks the stored answer over SHA-256 of the 32 root bytes, on its own.
    (tmp_path / "t.tsr").write_bytes(token)
    run = subprocess.run(["openssl", "ts", "-verify", "-digest",
                          hashlib.sha256(stamped.root).hexdigest(), "-in", "t.tsr",
                          "-CAfile", str(stamped.tsa.ca)], cwd=tmp_path, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0 and "Verification: OK" in run.stdout, run.stderr
    health = stamped.server.admin().get("/v1/health").json()
    assert health["anchoring"]["timestamp_error"] is None, health


def test_the_bundle_carries_the_token_and_vouches_for_it(stamped: Stamped) -> None:
    hexroot = stamped.root.hex()
    files = {f"timestamps/{hexroot}.tsr", f"timestamps/{hexroot}.bin", "timestamps/tsa-chain.pem"}
    assert files <= set(names(stamped.bundle))
    listed = {f["path"] for f in json.loads(member(stamped.bundle, "manifest.json"))["files"]}
    assert files <= listed
    assert member(stamped.bundle, f"timestamps/{hexroot}.bin") == stamped.root
    token = stamped.proof["timestamp"]["token"]  # type: ignore[index]
    assert member(stamped.bundle, f"timestamps/{hexroot}.tsr") == base64.b64decode(token)
    chain = member(stamped.bundle, "timestamps/tsa-chain.pem").decode()
    assert chain.count("BEGIN CERTIFICATE") == 2  # the TSA's certificate and its root
    guide = member(stamped.bundle, "VERIFY.md").decode()
    assert "RFC 3161 时间戳 / RFC 3161 timestamps" in guide and "TSA_CA" in guide


def test_openssl_verifies_the_bundle_as_verify_md_says(stamped: Stamped, tmp_path: Path) -> None:
    folder = unpack(stamped.bundle, tmp_path)
    block = timestamp_block(folder)
    hexroot = stamped.root.hex()
    assert ('openssl ts -verify -data "$2" -in "$1" -CAfile "$TSA_CA" '
            '-untrusted timestamps/tsa-chain.pem -attime "$(gentime "$1")"') in block
    assert 'link "$tsr" "$bin"' in block
    assert hexroot not in block  # the roots are read from the proofs, not pasted
    out = run_block(block, folder, stamped.tsa.ca)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Verification: OK" in out.stdout
    assert f"timestamps/{hexroot}.bin is the Merkle root: OK" in out.stdout
    assert "Time stamp:" in out.stdout and "Test TSA" in out.stdout
    # Against a root that is not the TSA's, OpenSSL refuses.
    other = run_block(block, folder, stamped.tsa.other_ca)
    assert other.returncode != 0 and "Verification: OK" not in other.stdout


def test_every_step_of_verify_md_passes(stamped: Stamped, tmp_path: Path) -> None:
    """The whole guide, every block in order, with a chain node and the TSA's root."""
    out = run_guide(stamped.bundle, tmp_path / "work", rpc=stamped.server.settings.chain_url,
                    fingerprint=served_fingerprint(stamped.server),
                    env={"TSA_CA": str(stamped.tsa.ca)})
    assert out.failed is None, out.text
    assert "FAILED" not in out.text
    for line in ("manifest.jws: OK", "items/001 Merkle proof: OK", "Verification: OK",
                 "is the Merkle root: OK"):
        assert line in out.stdout, (line, out.stdout)


def test_notary_verify_checks_the_timestamp(stamped: Stamped, tmp_path: Path) -> None:
    path = tmp_path / "case.zip"
    path.write_bytes(stamped.bundle)
    name = "items[0].rfc3161_timestamp"
    gen_time = str(stamped.proof["timestamp"]["gen_time"])  # type: ignore[index]
    # With the TSA's root and the chain: the timestamp passes; only neutrality is open (no
    # witness cosigns this service's log, and its trust root requires none).
    full = notary_verify(path, "--tsa-ca", str(stamped.tsa.ca), "--rpc",
                         stamped.server.settings.chain_url, "--trust-root",
                         f"{stamped.server.url}/.well-known/notary-trust-root.json")
    assert full["result"] == "valid", full
    open_answers = [a["question"] for a in full["answers"]  # type: ignore[union-attr]
                    if a["status"] != "pass"]
    assert open_answers == ["neutrality"], full
    time = next(a for a in full["answers"] if a["question"] == "existence_time")  # type: ignore[union-attr]
    assert time["rfc3161_time"] and time["time"], time
    passed = check_named(full, name)
    assert passed["status"] == "pass" and gen_time in passed["reason"]
    assert "CN=Test TSA Root" in passed["reason"]
    # The same function in this process (quicker than more `notary verify` processes):
    # offline, without a trust root, the signature holds but the TSA's identity is unchecked.
    offline = verify_bundle_file(io.BytesIO(stamped.bundle)).verdict
    partial = offline.check(name)
    assert offline.result == "valid" and partial.status is CheckStatus.SKIP, partial
    assert "the bundle itself carries" in partial.reason and "--tsa-ca" in partial.reason
    # A root that is not the TSA's: the token does not chain to it.
    wrong = verify_bundle_file(io.BytesIO(stamped.bundle),
                               tsa_roots=load_trust_roots(stamped.tsa.other_ca)).verdict
    failed = wrong.check(name)
    assert wrong.result == "invalid" and failed.status is CheckStatus.FAIL
    assert "does not chain to a trust root" in failed.reason


def _modified_gen_time(token: bytes) -> bytes:
    """The TSTInfo's genTime (a GeneralizedTime, the token's only one) one second later."""
    (at,) = [m.start() for m in re.finditer(rb"\x18\x0f[0-9]{14}Z", token)]
    digit = at + 2 + 13
    bumped = ord("0") + (token[digit] - ord("0") + 1) % 10
    return token[:digit] + bytes([bumped]) + token[digit + 1:]


def _modified_signature(token: bytes) -> bytes:
    """The last byte of the SignerInfo's signature (the end of the DER) changed."""
    return token[:-1] + bytes([token[-1] ^ 0x01])


@pytest.mark.parametrize(("tampering", "target", "words"), [
    ("modified-gen-time", "tsr", "signature does not hold"),
    ("modified-signature", "tsr", "signature does not hold"),
    ("modified-root-bin[0]", "bin", "does not hold the 32 bytes of the root"),
])
def test_a_tampered_timestamp_fails_both(stamped: Stamped, tmp_path: Path, tampering: str,
                                         target: str, words: str) -> None:
    hexroot = stamped.root.hex()
    path = f"timestamps/{hexroot}.{target}"
    data = member(stamped.bundle, path)
    changed = {"modified-gen-time": _modified_gen_time, "modified-signature": _modified_signature,
               "modified-root-bin[0]": lambda b: bytes([b[0] ^ 0x80]) + b[1:]}[tampering](data)
    assert changed != data
    folder = unpack(stamped.bundle, tmp_path)
    (folder / path).write_bytes(changed)
    out = run_block(timestamp_block(folder), folder, stamped.tsa.ca)
    assert out.returncode != 0 and "Verification: OK" not in out.stdout, out.stdout
    verdict = verify_bundle_file(io.BytesIO(rezip(stamped.bundle, {path: changed})),
                                 tsa_roots=load_trust_roots(stamped.tsa.ca)).verdict
    check = verdict.check("items[0].rfc3161_timestamp")
    assert verdict.result == "invalid" and check.status is CheckStatus.FAIL, check
    assert words in check.reason, check.reason


def test_timestamps_taken_out_of_the_bundle(stamped: Stamped) -> None:
    """Without its timestamps the bundle claims none (no rfc3161_timestamp check), but they
    were listed in the signed manifest, which catches their removal."""
    hexroot = stamped.root.hex()
    stripped = rezip(stamped.bundle, {f"timestamps/{hexroot}.tsr": None,
                                      f"timestamps/{hexroot}.bin": None,
                                      "timestamps/tsa-chain.pem": None})
    verdict = verify_bundle_file(io.BytesIO(stripped)).verdict
    assert not [c for c in verdict.checks if c.name.endswith("rfc3161_timestamp")]
    manifest = verdict.check("manifest")
    assert manifest.status is CheckStatus.FAIL and f"timestamps/{hexroot}.tsr" in manifest.reason
