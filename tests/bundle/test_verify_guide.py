"""VERIFY.md as a judge's expert runs it: its shell blocks, as they stand, with standard tools
only (python3 with jwcrypto and pycryptodome, sha256sum/openssl, curl against the test anvil
the expert chose), the trust-root fingerprint the operator filed (here: the one the service
serves at its well-known URL) and nothing else. They pass on a genuine case bundle; on a
forgery the block that should catch it stops with ``FAILED``, and the ones before it pass."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from notary.bundles.guide import guide_blocks
from notary.chain.registry import Registry, connect
from notary.core.bundle import MANIFEST_MEDIA_TYPE, KeyPeriod, key_history, parse_key_history
from notary.core.signing import SigningKey, jws_payload
from notary.core.statement import STATEMENT_MEDIA_TYPE, canonical_json
from tests.bundle.conftest import Exported
from tests.bundle.repack import member, rezip
from tests.support import SAMPLES, LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]
WELL_KNOWN = "/.well-known/notary-trust-root.json"


def served_fingerprint(server: LiveServer) -> str:
    """The fingerprint the operator publishes (and would file with a court): from the
    service's well-known URL, not from the bundle."""
    resp = server.client().get(WELL_KNOWN)
    assert resp.status_code == 200, resp.text
    return resp.headers["x-notary-trust-root-fingerprint"]


@dataclass
class GuideRun:
    """The blocks of one run: each heading with its output, and the first that failed."""

    outputs: list[tuple[str, subprocess.CompletedProcess[str]]]
    folder: Path

    @property
    def failed(self) -> str | None:
        last = self.outputs[-1]
        return last[0] if last[1].returncode != 0 else None

    @property
    def stdout(self) -> str:
        return "".join(out.stdout for _, out in self.outputs)

    @property
    def text(self) -> str:
        return "".join(out.stdout + out.stderr for _, out in self.outputs)

    @property
    def returncode(self) -> int:
        return self.outputs[-1][1].returncode


def run_guide(bundle: bytes, workdir: Path, *, rpc: str, fingerprint: str,
              tamper: Callable[[Path], None] | None = None,
              env: dict[str, str] | None = None) -> GuideRun:
    """Run the blocks of the bundle's own VERIFY.md one by one, as an expert would: block 0
    in the folder of the .zip, the others in the folder it unpacked; stop at the first that
    fails. ``tamper`` changes the unpacked folder after block 0 (a forger who hands over
    files rather than an archive)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "bundle.zip").write_bytes(bundle)
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:  # reading one member: nothing extracted
        text = z.read("VERIFY.md").decode("utf-8")
    blocks = guide_blocks(text)
    # python3 is this interpreter (it has jwcrypto and pycryptodome, as the guide asks).
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    base = {**os.environ, "PATH": path, "RPC": rpc, "TRUST_ROOT_FINGERPRINT": fingerprint,
            "BUNDLE": "bundle.zip", **(env or {})}
    folder = workdir / "bundle"
    outputs = []
    for i, (heading, script) in enumerate(blocks):
        out = subprocess.run(["bash", "-c", script], cwd=workdir if i == 0 else folder, env=base,
                             capture_output=True, text=True, timeout=120, check=False)
        outputs.append((heading, out))
        if out.returncode != 0:
            break
        if i == 0 and tamper is not None:
            tamper(folder)
    return GuideRun(outputs, folder)


def reseal(folder: Path, key: SigningKey) -> None:
    """What a forger holding ``key`` does after changing files: put every file's SHA-256 and
    size in manifest.json again and sign it anew."""
    manifest = json.loads((folder / "manifest.json").read_bytes())
    for entry in manifest["files"]:
        data = (folder / entry["path"]).read_bytes()
        entry["sha256"], entry["size"] = hashlib.sha256(data).hexdigest(), len(data)
    raw = canonical_json(manifest)
    (folder / "manifest.json").write_bytes(raw)
    (folder / "manifest.jws").write_text(key.sign(raw, MANIFEST_MEDIA_TYPE))


@pytest.fixture(scope="module")
def fingerprint(exported: Exported) -> str:
    return served_fingerprint(exported.server)


def test_guide_names_the_trust_root_and_pastes_no_expected_value(
        exported: Exported, item_bundle: bytes, fingerprint: str) -> None:
    text = member(exported.case_bundle, "VERIFY.md").decode("utf-8")
    head = text.splitlines()[:6]
    assert head[0] == "# 如何核验本证据包 / How to verify this proof bundle"
    assert any("本地开发链" in line for line in head), head  # the first lines say it
    assert any("Local development chain" in line and "nobody" in line for line in head), head
    assert fingerprint in text and "keys/trust-root.json" in text
    assert "pip install notary" not in text and "jwcrypto pycryptodome" in text
    for zh, en in [("解压前检查归档", "before unpacking"), ("信任根", "trust root"),
                   ("保管链", "Chain of custody"), ("默克尔证明", "The Merkle proof"),
                   ("链上锚定", "on chain")]:
        assert zh in text and en in text
    blocks = guide_blocks(text)
    assert [h.split(" / ")[0] for h, _ in blocks] == [
        "## 0. 解压前检查归档", "## 1. 信任根：谁签发了本证据包", "## 2. 密钥、签名与文件",
        "## 3. 保管链", "## 4. 默克尔证明", "## 5. 链上锚定", "## 透明日志与见证人"]
    scripts = "\n".join(script for _, script in blocks)
    assert all(script.startswith("set -euo pipefail\n") for _, script in blocks)
    # Nothing the steps compare against is written into them: no hash, address or key id.
    manifest = json.loads(member(exported.case_bundle, "manifest.json"))
    anchor = json.loads(member(exported.case_bundle, "items/001/anchor.json"))
    kid = json.loads(member(exported.case_bundle, "keys/jwks.json"))["keys"][0]["kid"]
    pasted = [f["sha256"] for f in manifest["files"]] + [
        anchor["root"], anchor["tx_hash"], anchor["block_hash"], anchor["contract"],
        anchor["contract"].lower(), kid, fingerprint, manifest["case_id"]]
    assert not [value for value in pasted if value in scripts]
    # So every bundle's steps are the same: the item bundle (hashes only) has these blocks.
    assert guide_blocks(member(item_bundle, "VERIFY.md").decode("utf-8")) == blocks


def test_guide_steps_pass_on_the_case_bundle(exported: Exported, fingerprint: str,
                                            tmp_path: Path) -> None:
    # The trust root as the expert may get it: the operator's well-known document (the other
    # suites that run VERIFY.md use the bundle's copy); either must have the filed fingerprint.
    served = tmp_path / "operator-trust-root.json"
    served.write_bytes(exported.server.client().get(WELL_KNOWN).content)
    run = run_guide(exported.case_bundle, tmp_path / "work", rpc=exported.chain_url,
                    fingerprint=fingerprint, env={"TRUST_ROOT": str(served)})
    assert run.failed is None, run.text
    assert len(run.outputs) == 7 and "FAILED" not in run.text
    anchor = json.loads((run.folder / "items/003/anchor.json").read_text())
    kid = json.loads((run.folder / "keys/jwks.json").read_text())["keys"][0]["kid"]
    expected = [
        "archive: OK", f"trust root: OK, fingerprint {fingerprint}",
        f"key {kid} of keys/jwks.json is in the trust root: OK", "manifest.jws: OK",
        "manifest files: OK", "items/002/original/notice-2026-11-28.pdf: OK",
        "items/003 statement, receipt, key period, case link: OK",
        "items/001 custody: OK, 3 events", "items/002 Merkle proof: OK",
        "node: OK, chain 31337", f"registry {anchor['contract']}: OK",
        f"items/003 on chain: OK, block {anchor['block_number']}",
        "signing keys on chain: OK",
        "checkpoint: OK, size", "items/003 log: OK, statement and",
        "NOTE: cosigned by 0 of the trust root's witnesses",  # none configured here
    ]
    for line in expected:
        assert line in run.stdout, (line, run.stdout)


def _resigned_statement(exported: Exported) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        """Item 2's statement signed anew with the forger's key, which is added to
        keys/jwks.json; the manifest resealed with that key."""
        forger = SigningKey.generate()
        token = (folder / "items/002/statement.jws").read_text()
        (folder / "items/002/statement.jws").write_text(
            forger.sign(jws_payload(token), STATEMENT_MEDIA_TYPE))
        keys, periods = parse_key_history((folder / "keys/jwks.json").read_bytes())
        entries = [(k, periods[k["kid"]]) for k in keys["keys"]]
        entries.append((forger.public_jwk(), KeyPeriod(forger.kid, "2020-01-01T00:00:00Z")))
        (folder / "keys/jwks.json").write_bytes(key_history(entries))
        reseal(folder, forger)
    return tamper


def _other_registry(exported: Exported) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        """The same root anchored in another copy of EvidenceRegistry, deployed on the same
        chain by another account; the manifest resealed even with the service's own key
        (the worst case: the registry is what must catch it)."""
        w3 = connect(exported.chain_url)
        account = Account.create()
        w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])
        registry, _ = Registry.deploy(w3, account)
        anchored = {}
        for path in sorted(folder.glob("items/*/anchor.json")):
            doc = json.loads(path.read_text())
            if doc["root"] not in anchored:
                anchored[doc["root"]] = registry.anchor(bytes.fromhex(doc["root"][2:]), 3)
            facts = anchored[doc["root"]]
            doc |= {"contract": facts.contract, "batch_id": facts.batch_id,
                    "tx_hash": facts.tx_hash, "block_number": facts.block_number,
                    "block_hash": facts.block_hash, "block_timestamp": facts.block_timestamp,
                    "raw_receipt": registry.raw_tx_receipt(facts.tx_hash)}
            path.write_bytes(canonical_json(doc))
        reseal(folder, exported.server.service.signing_key)
    return tamper


def _dropped_custody_event(exported: Exported) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        """Item 1's second custody event removed, the manifest resealed with the service's
        key: only the custody links can tell."""
        path = folder / "items/001/custody.jsonl"
        lines = path.read_text().splitlines(keepends=True)
        path.write_text(lines[0] + "".join(lines[2:]))
        reseal(folder, exported.server.service.signing_key)
    return tamper


def _symlink_member(data: bytes) -> bytes:
    out = io.BytesIO(rezip(data))
    with zipfile.ZipFile(out, "a") as z:
        info = zipfile.ZipInfo("items/001/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    return out.getvalue()


@pytest.mark.parametrize("case", ["extra file", "dot-dot name", "symlink", "fingerprint",
                                  "re-signed statement", "dropped custody event",
                                  "other registry"])
def test_guide_steps_stop_at_the_right_block(exported: Exported, fingerprint: str,
                                             tmp_path: Path, case: str) -> None:
    bundle, tamper, wanted = exported.case_bundle, None, fingerprint
    if case == "extra file":
        bundle = rezip(bundle, {"items/002/original/forged-agreement.pdf": b"%PDF-1.4 forged"})
        block, reason = "## 0.", "forged-agreement.pdf is in the archive but not in manifest.json"
    elif case == "dot-dot name":
        bundle = rezip(bundle, {"../x": b"outside"})
        block, reason = "## 0.", "'../x' has an empty, '.' or '..' part"
    elif case == "symlink":
        bundle = _symlink_member(bundle)
        block, reason = "## 0.", "'items/001/link' is not a regular file"
    elif case == "fingerprint":
        wanted = "0000-1111-2222-3333-4444-5555-6666-7777"
        block, reason = "## 1.", "not the one filed with the court (0000-1111-"
    elif case == "re-signed statement":
        tamper = _resigned_statement(exported)
        block, reason = "## 2.", "which is not in the trust root"
    elif case == "dropped custody event":
        tamper = _dropped_custody_event(exported)
        block, reason = "## 3.", "items/001/custody.jsonl line 2 carries number 3"
    else:
        tamper = _other_registry(exported)
        block, reason = "## 5.", "which is not the trust root's registry"
    run = run_guide(bundle, tmp_path / "work", rpc=exported.chain_url, fingerprint=wanted,
                    tamper=tamper)
    assert run.failed is not None and run.failed.startswith(block), (run.failed, run.text)
    assert run.returncode != 0 and "FAILED: " in run.text
    assert reason in run.text, run.text
    if block == "## 0.":  # refused before anything was extracted
        assert not run.folder.exists() and not (tmp_path / "x").exists()
    assert re.search(r"^FAILED: ", run.outputs[-1][1].stderr, flags=re.MULTILINE)


def test_guide_steps_pass_on_a_hashes_only_item_bundle(exported: Exported, item_bundle: bytes,
                                                      fingerprint: str, tmp_path: Path) -> None:
    """Without originals, step 2 prints the SHA-256 the signed statement records, for the
    expert to compare with their own copy."""
    run = run_guide(item_bundle, tmp_path, rpc=exported.chain_url, fingerprint=fingerprint)
    assert run.failed is None, run.text
    sha = hashlib.sha256((SAMPLES / "notice-2026-11-28.pdf").read_bytes()).hexdigest()
    assert (f"items/002: no original in this bundle; your copy of 'notice-2026-11-28.pdf' "
            f"must have SHA-256 {sha}") in run.stdout
    assert "items/002 on chain: OK" in run.stdout
