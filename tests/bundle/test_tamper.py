"""The tamper matrix: each part of a real bundle altered in turn, and verification must fail
with the check that names that part (and a reason that says what is wrong with it).

The bundle is the whole case HX-2026-1128-ZW (recording, notice, agreement) exported from a
live service and anchored on the session's anvil; verification asks that chain, as
``notary verify --rpc`` does. Vectors are named for the tampering, like the Merkle vectors.
A representative subset runs through the real ``notary verify`` process.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notary.core.signing import SigningKey, jwk_thumbprint
from notary.core.statement import canonical_json
from tests.bundle.conftest import Exported
from tests.bundle.repack import member, names, rezip
from tests.support import REPO

pytestmark = [pytest.mark.api, pytest.mark.chain]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def edit_json(data: bytes, path: str, change: Callable[[dict], None]) -> bytes:
    doc = json.loads(member(data, path))
    change(doc)
    return rezip(data, {path: canonical_json(doc)})


def edit_anchor(data: bytes, item: str, **fields: object) -> bytes:
    return edit_json(data, f"items/{item}/anchor.json", lambda d: d.update(fields))


def flip_signature_bit(data: bytes, path: str) -> bytes:
    header, payload, signature = member(data, path).decode().split(".")
    raw = bytearray(_unb64(signature))
    raw[0] ^= 0x01
    return rezip(data, {path: f"{header}.{payload}.{_b64(bytes(raw))}".encode()})


def altered_statement_payload(data: bytes) -> bytes:
    path = "items/001/statement.jws"
    header, payload, signature = member(data, path).decode().split(".")
    statement = json.loads(_unb64(payload))
    statement["file_name"] = "call-2026-11-29-0930.wav"
    return rezip(data, {path: f"{header}.{_b64(canonical_json(statement))}.{signature}".encode()})


def original_path(data: bytes, item: str) -> str:
    (path,) = [n for n in names(data) if n.startswith(f"items/{item}/original/")]
    return path


def flip_original_byte(data: bytes) -> bytes:
    path = original_path(data, "001")
    content = bytearray(member(data, path))
    content[0] ^= 0xFF
    return rezip(data, {path: bytes(content)})


def changed_root(data: bytes) -> bytes:
    root = "0x" + "5a" * 32
    data = edit_json(data, "items/001/proof.json", lambda d: d.update(root=root))
    return edit_anchor(data, "001", root=root)


def changed_proof_step(data: bytes) -> bytes:
    def change(doc: dict) -> None:
        doc["proof"][0] = "0x" + "00" * 31 + "01"
    return edit_json(data, "items/002/proof.json", change)


def replaced_key(data: bytes) -> bytes:
    def change(doc: dict) -> None:
        other = SigningKey.from_seed(b"\x07" * 32).public_jwk()
        doc["keys"][0].update(x=other["x"], kid=jwk_thumbprint(other))
    return edit_json(data, "keys/jwks.json", change)


def mislabelled_kid(data: bytes) -> bytes:
    return edit_json(data, "keys/jwks.json", lambda d: d["keys"][0].update(kid="not-the-kid"))


def shifted_validity(data: bytes) -> bytes:
    return edit_json(data, "keys/jwks.json",
                     lambda d: d["keys"][0].update(valid_from="2099-01-01T00:00:00.000000Z"))


def changed_manifest_digest(data: bytes) -> bytes:
    def change(doc: dict) -> None:
        entry = next(f for f in doc["files"] if f["path"] == "items/003/proof.json")
        entry["sha256"] = "0" * 64
    return edit_json(data, "manifest.json", change)


def swapped_case_order(data: bytes) -> bytes:
    rename = {}
    for name in names(data):
        if name.startswith("items/001/"):
            rename[name] = "items/002/" + name[len("items/001/"):]
        elif name.startswith("items/002/"):
            rename[name] = "items/001/" + name[len("items/002/"):]
    return rezip(data, rename=rename)


def dropped_middle_item(data: bytes) -> bytes:
    gone = {n: None for n in names(data) if n.startswith("items/002/")}
    data = rezip(data, gone)  # type: ignore[arg-type]

    def change(doc: dict) -> None:
        doc["items"] = [i for i in doc["items"] if i["path"] != "items/002"]
        doc["files"] = [f for f in doc["files"] if not f["path"].startswith("items/002/")]
    return edit_json(data, "manifest.json", change)


def changed_statement_json(data: bytes) -> bytes:
    return rezip(data, {"items/003/statement.json":
                        member(data, "items/003/statement.json").replace(b"agreement", b"notice")})


def failed_receipt_status(data: bytes) -> bytes:
    def change(doc: dict) -> None:
        doc["raw_receipt"]["status"] = "0x0"
    return edit_json(data, "items/001/anchor.json", change)


@dataclass(frozen=True)
class Tamper:
    name: str
    change: Callable[[bytes], bytes]
    #: check name -> a word its reason must contain (the part, and what is wrong with it)
    expect: dict[str, str]


VECTORS = [
    Tamper("modified-original[0]-byte-@0", flip_original_byte, {
        "items[0].file_hash": "not the file that was notarised",
        "manifest": "items/001/original/call-2026-11-28-0930.wav has sha-256"}),
    Tamper("modified-statement[0]-payload-file_name", altered_statement_payload, {
        "items[0].statement_signature": "signature does not verify"}),
    Tamper("flipped-statement[0]-signature-bit-@0",
           lambda b: flip_signature_bit(b, "items/001/statement.jws"), {
               "items[0].statement_signature": "signature does not verify"}),
    Tamper("flipped-receipt[1]-signature-bit-@0",
           lambda b: flip_signature_bit(b, "items/002/receipt.jws"), {
               "items[1].receipt_signature": "items/002/receipt.jws is not a receipt validly "
                                             "signed"}),
    Tamper("flipped-manifest-signature-bit-@0",
           lambda b: flip_signature_bit(b, "manifest.jws"), {
               "manifest_signature": "manifest.jws is not validly signed"}),
    Tamper("modified-proof[1]-step[0]", changed_proof_step, {
        "items[1].merkle_proof": "does not lead from the statement's leaf"}),
    Tamper("modified-root[0]", changed_root, {
        "items[0].merkle_proof": "to the root 0x5a5a",
        "items[0].anchor_record": "the merkle root",
        "items[0].chain_anchor": "has no anchor of the merkle root"}),
    Tamper("modified-block-number[0]", lambda b: edit_anchor(b, "001", block_number=99), {
        "items[0].anchor_record": "the block number (anchor 99",
        "items[0].chain_anchor": "block number (claimed 99"}),
    Tamper("modified-block-hash[0]", lambda b: edit_anchor(b, "001", block_hash="0x" + "ee" * 32), {
        "items[0].anchor_record": "the block hash",
        "items[0].chain_anchor": "block hash (claimed 0xeeee"}),
    Tamper("modified-block-timestamp[0]", lambda b: edit_anchor(b, "001", block_timestamp=1), {
        "items[0].anchor_record": "the block timestamp",
        "items[0].chain_anchor": "block timestamp (claimed 1,"}),
    Tamper("modified-chain-id[0]", lambda b: edit_anchor(b, "001", chain_id=1), {
        "items[0].chain_anchor": "states chain id 1"}),
    Tamper("modified-contract[0]", lambda b: edit_anchor(
        b, "001", contract="0x000000000000000000000000000000000000dEaD"), {
            "items[0].anchor_record": "the contract address",
            "items[0].chain_anchor": "no evidenceregistry at the contract address"}),
    Tamper("modified-raw-receipt-status[0]", failed_receipt_status, {
        "items[0].anchor_record": "the transaction status"}),
    Tamper("replaced-signing-key", replaced_key, {
        "manifest_signature": "keys/jwks.json",
        "items[0].statement_signature": "keys/jwks.json",
        "items[2].receipt_signature": "keys/jwks.json"}),
    Tamper("mislabelled-key-kid", mislabelled_kid, {"keys": "thumbprint"}),
    Tamper("shifted-key-valid-from", shifted_validity, {
        "items[0].key_validity": "was not valid when it signed",
        "manifest_signature": "not valid at the bundle's creation time"}),
    Tamper("modified-manifest-sha256", changed_manifest_digest, {
        "manifest": "items/003/proof.json has sha-256",
        "manifest_signature": "changed after it was signed"}),
    Tamper("unlisted-extra-file", lambda b: rezip(b, {"items/001/note.txt": b"added later"}), {
        "manifest": "present but not listed: items/001/note.txt"}),
    Tamper("swapped-case-order[0,1]", swapped_case_order, {
        "case_sequence": "out of order or were swapped"}),
    Tamper("dropped-case-item[1]", dropped_middle_item, {
        "case_sequence": "without gaps",
        "manifest_signature": "changed after it was signed"}),
    Tamper("modified-statement-json[2]", changed_statement_json, {
        "items[2].statement_signature": "items/003/statement.json is not the statement signed"}),
]


def test_the_exported_case_verifies_fully(exported: Exported) -> None:
    result = exported.verify(exported.case_bundle)
    verdict = result.verdict
    # qualified by one skip: unpinned, the log's key (hence its checkpoint's signature) is
    # unknown; every entry is still proven in the bundle's checkpoint
    assert verdict.result == "valid", verdict.to_json()
    assert [c.name for c in verdict.skipped] == ["log"]
    item_checks = ["statement_signature", "receipt_signature", "key_validity", "file_hash",
                   "merkle_proof", "anchor_record", "chain_anchor", "custody"]
    assert [c.name for c in verdict.checks] == (
        ["keys", "manifest", "manifest_signature"]
        + [f"items[{i}].{n}" for i in range(3) for n in item_checks] + ["case_sequence"]
        + ["log"] + [f"items[{i}].log" for i in range(3)])
    facts = result.facts
    assert facts["scope"] == "case" and facts["case_id"] == "HX-2026-1128-ZW"
    assert [i["evidence_id"] for i in facts["items"]] == exported.evidence_ids
    assert [i["case_seq"] for i in facts["items"]] == [1, 2, 3]
    for check in verdict.checks:  # a sentence, or one that starts by naming the file
        first = check.reason.split(" ")[0]
        assert first[0].isupper() or "/" in first or first.endswith(".json"), check
        assert check.reason.endswith("."), check


def test_the_exported_case_verifies_valid_against_the_services_trust_root(
        exported: Exported) -> None:
    """The genuine bundle, pinned to the service's trust root with a node of its chain: valid,
    every signature checked with the trust root's keys, and the answers say who and when."""
    root = exported.trust_root()
    result = exported.verify(exported.case_bundle, pinned=True)
    # qualified only by neutrality: the service names no witness (not required then)
    assert result.result == "valid" and result.qualified, result.to_json()
    names = [c.name for c in result.verdict.checks]
    assert names[-11:] == ["issuer.trust_root", "issuer.keys", "issuer.chain",
                           "items[0].issuer", "items[1].issuer", "items[2].issuer", "log",
                           "items[0].log", "items[1].log", "items[2].log", "log.witnesses"]
    assert [c.name for c in result.verdict.checks if c.status.value != "pass"] == [
        "log.witnesses"], result.to_json()
    assert "keys/jwks.json" not in result.verdict.check("items[0].statement_signature").reason
    report = result.to_json()
    assert [(a["question"], a["status"]) for a in report["answers"]] == [
        (q, "pass") for q in ("integrity", "existence_time", "issuer", "completeness",
                              "custody")] + [("neutrality", "unknown")]
    assert report["answers"][5]["required"] is False
    time, issuer = report["answers"][1], report["answers"][2]
    latest = max(i["anchor"]["block_timestamp"] for i in result.facts["items"])
    assert time["time"] == datetime.fromtimestamp(latest, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert time["chain_id"] == 31337
    assert issuer["pinned"] is True and issuer["trust_root_fingerprint"] == root.fingerprint
    assert issuer["bundled_trust_root_fingerprint"] == root.fingerprint
    assert issuer["operator"]["name"] == root.root.operator.name
    assert issuer["deployment"]["registry"] == root.root.registry.address
    assert issuer["deployment"]["development"] is True
    assert "DEVELOPMENT" in issuer["reason"]["en"]
    assert issuer["submitters"] and all(s["submitter"] for s in issuer["submitters"])
    account = root.root.anchoring_accounts[0]
    assert account in result.verdict.check("items[0].issuer").reason


def test_pinned_but_offline_is_unknown_and_unpinned_is_not_established(
        exported: Exported) -> None:
    offline = exported.verify(exported.case_bundle, online=False, pinned=True)
    assert offline.result == "unknown"
    statuses = {a.question: a.status for a in offline.answers}
    assert statuses["existence_time"] == "unknown" and statuses["issuer"] == "unknown"
    assert statuses["integrity"] == "pass"
    assert offline.verdict.check("issuer.chain").status.value == "skip"
    unpinned = exported.verify(exported.case_bundle)
    assert unpinned.result == "not_established" and unpinned.answer("issuer").status == "unknown"
    assert "no later than" in unpinned.answer("issuer").reason_en


def test_offline_verification_is_qualified(exported: Exported) -> None:
    verdict = exported.verify(exported.case_bundle, online=False).verdict
    assert verdict.result == "valid" and verdict.qualified
    assert [c.name for c in verdict.skipped] == [
        *(f"items[{i}].chain_anchor" for i in range(3)), "log"]  # log: no trust root
    assert all("offline" in c.reason for c in verdict.skipped[:3])


@pytest.mark.parametrize("tamper", VECTORS, ids=[v.name for v in VECTORS])
def test_tampered_bundle_fails_naming_the_part(exported: Exported, tamper: Tamper) -> None:
    tampered = tamper.change(exported.case_bundle)
    assert tampered != exported.case_bundle
    verdict = exported.verify(tampered).verdict
    assert verdict.result == "invalid"
    for name, words in tamper.expect.items():
        check = verdict.check(name)
        assert check.status.value == "fail", (name, check.reason)
        assert words.lower() in check.reason.lower(), (name, check.reason)
    pinned = exported.verify(tampered, pinned=True)
    assert pinned.result == "invalid", pinned.to_json()


def test_every_named_part_of_the_issue_is_covered() -> None:
    """The issue's list: a byte of an original, the statement's payload, a signature, a proof
    step, the root, the block number, the chain id, the contract address, the keys, the
    manifest, the order of a case."""
    covered = " ".join(v.name for v in VECTORS)
    for part in ("original", "statement[0]-payload", "signature", "proof[1]-step", "root",
                 "block-number", "chain-id", "contract", "key", "manifest", "case-order"):
        assert part in covered, part


def run_verify(path: Path, *args: str, cwd: Path | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "notary.cli", "verify", str(path), *args],
                          cwd=cwd or REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {}), "PYTHONPATH": str(REPO)},
                          check=False)


def test_cli_valid_bundle_exit_0(exported: Exported, tmp_path: Path) -> None:
    """Valid (exit 0) only with the deployment's trust root pinned and a node asked; the
    same bundle without a trust root is "not established" (exit 5), offline with one "unknown"
    (exit 1): nothing but the chain says when it existed and that the keys were registered."""
    path = tmp_path / "case.zip"
    path.write_bytes(exported.case_bundle)
    root = f"{exported.server.url}/.well-known/notary-trust-root.json"
    online = run_verify(path, "--trust-root", root, "--rpc", exported.chain_url)
    assert online.returncode == 0, online.stdout + online.stderr
    assert online.stdout.startswith("有效 VALID")
    unpinned = run_verify(path, "--rpc", exported.chain_url)
    assert unpinned.returncode == 5, unpinned.stdout + unpinned.stderr
    assert unpinned.stdout.startswith("签发方未确立 NOT ESTABLISHED")
    offline = run_verify(path, "--trust-root", root)
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert offline.stdout.startswith("无法判定 UNKNOWN")


@pytest.mark.parametrize(("name", "online"), [("modified-original[0]-byte-@0", False),
                                              ("modified-chain-id[0]", True)])
def test_cli_tampered_bundle_exit_1(exported: Exported, tmp_path: Path, name: str,
                                    online: bool) -> None:
    tamper = next(v for v in VECTORS if v.name == name)
    path = tmp_path / f"{name}.zip"
    path.write_bytes(tamper.change(exported.case_bundle))
    out = run_verify(path, "--json", *(["--rpc", exported.chain_url] if online else []))
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["result"] == "invalid"
    failed = {c["name"]: c["reason"] for c in report["checks"] if c["status"] == "fail"}
    for check, words in tamper.expect.items():
        assert words.lower() in failed[check].lower()


def test_unreachable_node_skips_the_chain_and_says_so(exported: Exported) -> None:
    from notary.bundles.check import verify_bundle_file
    from notary.chain.observe import chain_reader
    from notary.chain.registry import connect

    w3 = connect("http://127.0.0.1:9", timeout=2)
    result = verify_bundle_file(io.BytesIO(exported.case_bundle),
                                chain=chain_reader(w3))
    verdict = result.verdict
    assert verdict.result == "valid" and verdict.qualified
    assert [c.name for c in verdict.skipped] == [
        *(f"items[{i}].chain_anchor" for i in range(3)), "log"]  # log: no trust root
    assert all("could not be asked" in c.reason and "127.0.0.1:9" in c.reason
               for c in verdict.skipped[:3])
    assert result.result == "not_established"
    pinned = verify_bundle_file(io.BytesIO(exported.case_bundle), chain=chain_reader(w3),
                                trust_root=exported.trust_root())
    assert pinned.result == "unknown", "a node that does not answer is never skipped-and-valid"
    time = pinned.answer("existence_time")
    assert time.status == "unknown" and "127.0.0.1:9" in time.reason_en
    assert pinned.answer("issuer").status == "unknown"
    assert "127.0.0.1:9" in pinned.verdict.check("issuer.chain").reason
