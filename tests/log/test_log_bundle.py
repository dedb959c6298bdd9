"""The log's part of a proof bundle (docs/bundle-format.md §4.8): a case bundle exported by a
real service after two real witness processes cosigned its log verifies with its neutrality
answered by them; a changed custody event, a removed proof, a trust root requiring a witness
that did not cosign and another deployment's log key never come out valid."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from notary.bundles.check import verify_bundle_file
from notary.chain.embedded import EmbeddedChain
from notary.chain.observe import chain_reader
from notary.chain.registry import connect
from notary.core import note
from notary.core.bundle import LOG_CHECKPOINT_PATH, BundleVerification
from notary.core.signing import SigningKey, jws_payload
from notary.core.statement import canonical_json
from notary.core.trustroot import VerifiedTrustRoot, sign_trust_root, verify_trust_root
from storage.db import session
from storage.translog import LogEntry
from tests.bundle.repack import with_manifest
from tests.bundle.test_verify_guide import run_guide
from tests.log.test_log import (  # noqa: F401  (witnessed: the fixture of two witnesses)
    CASE,
    Witnessed,
    cosigned_by,
    log_verifier,
    upload,
    witnessed,
)
from tests.support import REPO, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]


def files_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def answer(result: BundleVerification, question: str) -> dict[str, Any]:
    return next(a.to_json() for a in result.answers if a.question == question)


def check(result: BundleVerification, name: str) -> dict[str, str]:
    return result.verdict.check(name).to_json()


def test_a_case_bundle_carries_the_log_and_its_witnesses(
        witnessed: Witnessed, anvil: EmbeddedChain, tmp_path: Path) -> None:  # noqa: F811
    server = witnessed.server
    keys = [log_verifier(server), *(w.verifier for w in witnessed.witnesses)]
    http = server.admin()
    ids = [upload(http, n) for n in (1, 2)]
    wait_until(lambda: all(http.get(f"/v1/evidence/{i}").json()["status"] == "anchored"
                           for i in ids), timeout=60)
    with session(server.service.engine) as s:
        logged = s.exec(select(func.count()).select_from(LogEntry)).one()
    wait_until(cosigned_by(server, keys, logged), timeout=60)
    resp = http.get(f"/v1/cases/{CASE}/bundle")
    assert resp.status_code == 200, resp.text
    bundle = resp.content
    files = files_of(bundle)
    assert LOG_CHECKPOINT_PATH in files and "items/001/log.json" in files
    root_doc = http.get("/.well-known/notary-trust-root.json").content
    pinned = verify_trust_root(root_doc)
    assert pinned.root.log is not None and pinned.root.log.witness_threshold == 1
    assert len(pinned.root.log.witnesses) == 3  # two up, the late one down

    def verify(data: bytes, trust_root: VerifiedTrustRoot = pinned) -> BundleVerification:
        return verify_bundle_file(io.BytesIO(data), trust_root=trust_root,
                                  chain=chain_reader(connect(anvil.url), anvil.url))

    # genuine: valid, and the neutrality answer names both witnesses
    result = verify(bundle)
    assert result.result == "valid", result.to_json()
    neutral = answer(result, "neutrality")
    names = sorted(w.verifier.name for w in witnessed.witnesses)
    assert neutral["status"] == "pass" and sorted(neutral["witnesses"]) == names
    assert all(n in neutral["reason"]["en"] and n in neutral["reason"]["zh"] for n in names)
    assert check(result, "items[1].log")["status"] == "pass"

    # POST /v1/verify answers the same, from the same code
    served = http.post("/v1/verify", files={"bundle": ("case.zip", bundle, "application/zip")})
    assert served.status_code == 200, served.text
    by = {a["question"]: a for a in served.json()["answers"]}
    assert by["neutrality"]["status"] == "pass"

    # the command a court's expert runs, read as they would
    (tmp_path / "case.zip").write_bytes(bundle)
    (tmp_path / "root.json").write_bytes(root_doc)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    run = subprocess.run([sys.executable, "-m", "notary.cli", "verify", "case.zip",
                          "--trust-root", "root.json", "--rpc", anvil.url], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False,
                         env={**env, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "六个问题 / The six questions:" in run.stdout
    assert any(line.startswith("  中立性 Neutrality")
               and "[通过 pass]" in line for line in run.stdout.splitlines()), run.stdout
    # and a monitor takes the bundle's checkpoint as it is
    mon = subprocess.run([sys.executable, "-m", "notary.cli", "witness", "monitor",
                          "--log", keys[0].vkey, "--bundle", "case.zip", "--witness",
                          f"{witnessed.witnesses[0].url}={witnessed.witnesses[0].vkey}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         check=False, env={**env, "PYTHONPATH": str(REPO)})
    assert mon.returncode == 0, mon.stdout + mon.stderr

    # the bundle's own VERIFY.md checks the same by hand, witnesses included
    guide = run_guide(bundle, tmp_path / "guide", rpc=anvil.url, fingerprint=pinned.fingerprint)
    assert guide.failed is None and "FAILED" not in guide.text, guide.text
    assert f"witnesses: OK, cosigned by {', '.join(names)}" in guide.stdout, guide.stdout

    # a custody event changed, or its proof removed, the manifest re-signed with the
    # deployment's own key: the log check fails naming the event
    key: SigningKey = server.service.signing_key
    custody = files["items/001/custody.jsonl"].decode().splitlines()
    segment = custody[-1].split(".")[0]
    typ = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["typ"]
    event = json.loads(jws_payload(custody[-1]))
    event["actor"] = "someone else"  # signed by the deployment's key, never logged
    changed = {**files, "items/001/custody.jsonl": "".join(
        f"{line}\n" for line in [*custody[:-1], key.sign(canonical_json(event), typ)]).encode()}
    bad = verify(with_manifest(changed, key))
    assert bad.result == "invalid"
    assert check(bad, "items[0].log")["status"] == "fail"
    assert f"Custody event {len(custody)}" in check(bad, "items[0].log")["reason"]
    doc = json.loads(files["items/002/log.json"])
    removed = doc["custody"].pop(0)
    cut = {**files, "items/002/log.json": json.dumps(doc).encode()}
    bad = verify(with_manifest(cut, key))
    assert bad.result == "invalid" and answer(bad, "integrity")["status"] == "fail"
    reason = check(bad, "items[1].log")["reason"]
    assert f"Custody event {removed['seq']} of items/002" in reason and "no inclusion" in reason

    # a trust root requiring all three witnesses (the late one never cosigned): unknown
    assert pinned.root.log is not None
    strict_root = replace(pinned.root, log=replace(pinned.root.log, witness_threshold=3))
    strict = verify_trust_root(sign_trust_root(strict_root, key))
    unsure = verify(bundle, strict)
    assert unsure.result == "unknown", unsure.to_json()
    neutral = answer(unsure, "neutrality")
    assert neutral["status"] == "unknown" and neutral["required"] is True
    assert check(unsure, "log.witnesses")["status"] == "skip"
    assert "fewer than the 3" in neutral["reason"]["en"] and "少于" in neutral["reason"]["zh"]

    # another deployment's log key: in the trust root, or signing the bundle's checkpoint
    other = note.Signer(pinned.root.log.origin, note.ED25519,
                        SigningKey.generate().private_key)
    foreign_root = replace(pinned.root, log=replace(pinned.root.log,
                                                    vkey=other.verifier.vkey))
    foreign = verify(bundle, verify_trust_root(sign_trust_root(foreign_root, key)))
    assert foreign.result == "invalid" and check(foreign, "log")["status"] == "fail"
    signed = note.Note.parse(files[LOG_CHECKPOINT_PATH])
    forged = note.Note(signed.text, (other.sign(signed.text),)).encode()
    swapped = verify(with_manifest({**files, LOG_CHECKPOINT_PATH: forged}, key))
    assert swapped.result == "invalid" and check(swapped, "log")["status"] == "fail"
    assert answer(swapped, "neutrality")["status"] == "fail"
