"""VERIFY.md works: its shell blocks, run as they stand with standard tools (sha256sum,
openssl, Python with jwcrypto and pycryptodome, curl against the test anvil), pass on the
exported bundle and stop with an error on a tampered one."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.bundle.conftest import Exported

pytestmark = [pytest.mark.api, pytest.mark.chain]


def guide_script(folder: Path) -> str:
    text = (folder / "VERIFY.md").read_text("utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 5
    return "\n".join(blocks)


def run_guide(folder: Path, rpc: str) -> subprocess.CompletedProcess[str]:
    # python3 is this interpreter (it has jwcrypto and pycryptodome, as the guide asks).
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(["bash", "-euo", "pipefail", "-c", guide_script(folder)], cwd=folder,
                          env={**os.environ, "PATH": path, "RPC": rpc}, capture_output=True,
                          text=True, timeout=120, check=False)


def unpack(data: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as z:  # our own bundle: safe to extract here
        z.extractall(folder)
    return folder


def test_guide_is_bilingual_and_carries_this_bundles_values(exported: Exported,
                                                           tmp_path: Path) -> None:
    folder = unpack(exported.case_bundle, tmp_path)
    text = (folder / "VERIFY.md").read_text("utf-8")
    assert text.startswith("# 如何核验本证据包 / How to verify this proof bundle")
    for zh, en in [("文件完整性", "The files are intact"), ("签名与密钥有效期", "Signatures"),
                   ("默克尔证明", "The Merkle proof"), ("链上锚定", "anchored on chain")]:
        assert zh in text and en in text
    anchor = json.loads((folder / "items/002/anchor.json").read_text())
    proof = json.loads((folder / "items/002/proof.json").read_text())
    assert anchor["tx_hash"] in text and anchor["contract"] in text
    assert "eth_getTransactionReceipt" in text and "eth_call" in text
    assert "0x56b504ed" + proof["root"][2:] in text  # verifyInclusion calldata, spelled out
    for value in proof["leaf_values"][1:] + proof["proof"]:
        assert str(value) in text


def test_guide_steps_pass_on_the_bundle(exported: Exported, tmp_path: Path) -> None:
    folder = unpack(exported.case_bundle, tmp_path)
    out = run_guide(folder, exported.chain_url)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAILED" not in out.stdout
    expected = ["manifest files: OK", "manifest.jws: OK", "items/001 original: OK",
                "items/003 statement, receipt, key validity, case link: OK",
                "items/002 Merkle proof: OK", "items/003 verifyInclusion: OK"]
    anchor = json.loads((folder / "items/001/anchor.json").read_text())
    expected += [f"transaction {anchor['tx_hash']}: OK", f"block {anchor['block_number']}: OK"]
    for line in expected:
        assert line in out.stdout, (line, out.stdout)


def forge(folder: Path, path: str, change: bytes, *, fix_manifest: bool) -> None:
    """Change one file; a forger would also put its new hash in manifest.json."""
    target = folder / path
    before = target.read_bytes()
    target.write_bytes(change)
    if fix_manifest:
        manifest = folder / "manifest.json"
        manifest.write_text(manifest.read_text().replace(hashlib.sha256(before).hexdigest(),
                                                         hashlib.sha256(change).hexdigest()))


@pytest.mark.parametrize("part", ["original", "keys", "proof"])
def test_guide_steps_stop_on_a_tampered_bundle(exported: Exported, tmp_path: Path,
                                               part: str) -> None:
    folder = unpack(exported.case_bundle, tmp_path)
    if part == "original":  # caught by the statement's hash, though the manifest was fixed
        original = "items/002/original/notice-2026-11-28.pdf"
        data = bytearray((folder / original).read_bytes())
        data[100] ^= 0x01
        forge(folder, original, bytes(data), fix_manifest=True)
        caught = f"{original}: FAILED"
    elif part == "keys":  # caught by the signatures, though the manifest was fixed
        keys = json.loads((folder / "keys/jwks.json").read_text())
        keys["keys"][0]["x"] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        forge(folder, "keys/jwks.json", json.dumps(keys).encode(), fix_manifest=True)
        caught = "ValueError: not enough values to unpack"
    else:  # caught by the manifest
        proof = json.loads((folder / "items/003/proof.json").read_text())
        proof["proof"][0] = "0x" + "11" * 32
        forge(folder, "items/003/proof.json", json.dumps(proof).encode(), fix_manifest=False)
        caught = "items/003/proof.json: FAILED"
    out = run_guide(folder, exported.chain_url)
    assert out.returncode != 0, out.stdout
    assert caught in out.stdout + out.stderr, out.stdout + out.stderr


def test_guide_merkle_step_alone_catches_a_changed_proof_step(exported: Exported,
                                                              tmp_path: Path) -> None:
    folder = unpack(exported.case_bundle, tmp_path)
    proof = json.loads((folder / "items/003/proof.json").read_text())
    proof["proof"][-1] = "0x" + "11" * 32
    (folder / "items/003/proof.json").write_text(json.dumps(proof))
    text = (folder / "VERIFY.md").read_text("utf-8")
    (merkle,) = [b for b in re.findall(r"^```sh\n(.*?)^```$", text,
                                       flags=re.DOTALL | re.MULTILINE) if "keccak" in b]
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", merkle], cwd=folder,
                         env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                                    f"{os.environ['PATH']}"},
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode != 0
    assert "items/002 Merkle proof: OK" in out.stdout
    assert "AssertionError: items/003" in out.stderr
