"""Exporting bundles: layout, originals byte for byte, hashes-only bundles, who may export,
the audit trail, ``notary export`` over HTTP, and ``POST /v1/verify`` with a bundle."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from notary.core.bundle import BUNDLE_MEDIA_TYPE
from notary.core.signing import jws_payload
from notary.service.apikeys import create_key
from storage.db import AuditEvent, session
from tests.bundle.conftest import CASE, SAMPLE_FILES, Exported, notary_cli
from tests.bundle.repack import member, names, rezip
from tests.support import SAMPLES, LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]

ITEM_FILES = ["statement.jws", "statement.json", "receipt.jws", "proof.json", "anchor.json",
              "custody.jsonl"]


def test_case_bundle_layout(exported: Exported) -> None:
    data = exported.case_bundle
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
    assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
    assert member(data, "mimetype") == BUNDLE_MEDIA_TYPE.encode()
    expected = {"mimetype", "manifest.json", "manifest.jws", "keys/jwks.json",
                "keys/trust-root.json", "VERIFY.md",
                "certificate.html", "certificate.pdf", "log/checkpoint.note"}
    for seq, (sample, _, _) in enumerate(SAMPLE_FILES, start=1):
        d = f"items/{seq:03d}"
        expected |= {f"{d}/{n}" for n in [*ITEM_FILES, "log.json"]}
        expected.add(f"{d}/original/{sample}")  # v3: no per-item certificates
        # The original is exactly the file that was submitted.
        assert member(data, f"{d}/original/{sample}") == (SAMPLES / sample).read_bytes()
    assert set(names(data)) == expected
    assert names(data)[-2:] == ["manifest.json", "manifest.jws"]
    manifest = json.loads(member(data, "manifest.json"))
    assert manifest["bundle_version"] == 3 and manifest["media_type"] == BUNDLE_MEDIA_TYPE
    assert manifest["scope"] == "case" and manifest["case_id"] == CASE
    assert [i["evidence_id"] for i in manifest["items"]] == exported.evidence_ids
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert set(listed) == expected - {"manifest.json", "manifest.jws"}
    for path, sha in listed.items():
        assert hashlib.sha256(member(data, path)).hexdigest() == sha
    anchor = json.loads(member(data, "items/001/anchor.json"))
    assert anchor["raw_receipt"]["transactionHash"] == anchor["tx_hash"]
    assert int(anchor["raw_receipt"]["blockNumber"], 16) == anchor["block_number"]
    keys = json.loads(member(data, "keys/jwks.json"))["keys"]
    assert [k["kid"] for k in keys] == [exported.server.service.signing_key.kid]
    assert keys[0]["valid_from"].endswith("Z") and "valid_until" not in keys[0]
    # The one case certificate lists every item (with its SHA-256), without per-item pages.
    html = member(data, "certificate.html").decode()
    assert "存证证书" in html and "Each item's certificate follows" not in html
    for seq in (1, 2, 3):
        statement = json.loads(member(data, f"items/{seq:03d}/statement.json"))
        assert statement["sha256"] in html and statement["file_name"] in html
    assert member(data, "certificate.pdf").startswith(b"%PDF-")


def test_item_bundle_hashes_only(exported: Exported, item_bundle: bytes) -> None:
    assert not [n for n in names(item_bundle) if "/original/" in n]
    manifest = json.loads(member(item_bundle, "manifest.json"))
    assert manifest["scope"] == "evidence" and manifest["hashes_only"] is True
    assert manifest["items"] == [{"evidence_id": exported.evidence_ids[1], "case_seq": 2,
                                  "path": "items/002"}]
    verdict = exported.verify(item_bundle).verdict
    assert verdict.result == "valid" and verdict.qualified
    assert [c.name for c in verdict.skipped] == ["items[0].file_hash", "case_sequence", "log"]
    assert "without originals" in verdict.check("items[0].file_hash").reason
    assert "partial check" in verdict.check("case_sequence").reason
    guide = member(item_bundle, "VERIFY.md").decode()
    assert "hashes only" in guide and "sha256sum FILE" in guide  # step 2 prints the signed hash


def test_exports_are_audited_and_originals_need_a_content_key(exported: Exported,
                                                              item_bundle: bytes) -> None:
    svc = exported.server.service
    _, auditor = create_key(svc.engine, "auditor")
    denied = exported.server.client(auditor).get(f"/v1/cases/{CASE}/bundle")
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert exported.server.client().get(f"/v1/cases/{CASE}/bundle").status_code == 401
    # Exports are custody events (signed, anchored), with who exported and what.
    events = [(evidence_id, json.loads(jws_payload(r.jws)))
              for evidence_id in exported.evidence_ids
              for r in svc.custody.events(evidence_id) if r.act == "exported"]
    by_item = {(eid, e["detail"].get("note")) for eid, e in events}
    for evidence_id in exported.evidence_ids:
        assert (evidence_id, "case bundle") in by_item
    assert (exported.evidence_ids[1], "evidence bundle (hashes only)") in by_item
    assert all(e["actor"].startswith("apikey:") for _, e in events)


def test_another_tenant_gets_no_bundle(exported: Exported) -> None:
    from notary.service.tenancy import create_tenant

    svc = exported.server.service
    tenant = create_tenant(svc.engine, "Other Agency")
    _, token = create_key(svc.engine, "admin", tenant=tenant.id)
    other = exported.server.client(token)
    for path in (f"/v1/cases/{CASE}/bundle", f"/v1/evidence/{exported.evidence_ids[0]}/bundle"):
        resp = other.get(path, params={"hashes_only": "true"})
        assert resp.status_code == 404 and resp.json()["code"] == "not_found", resp.text


def test_unknown_and_pending_items_are_not_exported(exported: Exported,
                                                    make_server: Callable[..., LiveServer]) -> None:
    http = exported.server.admin()
    unknown = http.get("/v1/cases/NO-SUCH-CASE/bundle")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    missing = http.get(f"/v1/evidence/ev_{'0' * 32}/bundle")
    assert missing.status_code == 404
    slow = make_server(batch_seconds=3600)
    sample = SAMPLES / "notice-2026-11-28.pdf"
    with sample.open("rb") as fh:
        created = slow.admin().post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": "C-PENDING", "kind": "notice"})),
            "file": (sample.name, fh)}).json()
    pending = slow.admin().get(f"/v1/evidence/{created['id']}/bundle")
    assert pending.status_code == 404 and pending.json()["code"] == "not_anchored"
    with session(slow.service.engine) as s:
        assert not list(s.exec(select(AuditEvent).where(AuditEvent.act == "exported")))


def test_public_verify_accepts_a_bundle_upload(exported: Exported) -> None:
    public = exported.server.client()
    ok = public.post("/v1/verify", files={"bundle": ("case.zip", exported.case_bundle,
                                                     "application/zip")})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["result"] == "valid"
    # qualified by neutrality alone: this service names no witness
    assert [a["question"] for a in body["answers"] if a["status"] != "pass"] == ["neutrality"]
    assert {c["name"] for c in body["checks"]} >= {"manifest", "case_sequence",
                                                    "items[2].chain_anchor"}
    assert [i["case_seq"] for i in body["facts"]["items"]] == [1, 2, 3]
    tampered = rezip(exported.case_bundle, {"items/002/proof.json": b"{}"})
    bad = public.post("/v1/verify", files={"bundle": ("t.zip", tampered)}).json()
    assert bad["result"] == "invalid"
    assert {c["name"] for c in bad["checks"] if c["status"] == "fail"} >= {
        "manifest", "items[1].merkle_proof"}
    unsafe = public.post("/v1/verify", files={"bundle": ("x.zip", exported.case_bundle[:5000])})
    assert unsafe.status_code == 422
    assert unsafe.json()["code"] == "bundle_unreadable"
    assert unsafe.json()["details"]["reason"] == "truncated"
    two = public.post("/v1/verify", files=[("bundle", ("a.zip", b"x")), ("file", ("b", b"y"))])
    assert two.status_code == 400 and two.json()["code"] == "part_unexpected"


def test_cli_export_then_verify(exported: Exported, tmp_path: Path) -> None:
    """The case was exported by `notary export --case` (see the fixture); `notary verify`
    checks that file (exit 0); a second export refuses to overwrite; errors exit 1."""
    out = tmp_path / "case.zip"
    out.write_bytes(exported.case_bundle)
    again = notary_cli(exported.server, "export", "--case", CASE, "-o", str(out), cwd=tmp_path)
    assert again.returncode == 2 and "output_exists" in again.stderr
    assert out.read_bytes() == exported.case_bundle
    checked = notary_cli(exported.server, "verify", str(out), "--json", cwd=tmp_path)
    assert checked.returncode == 5, checked.stdout + checked.stderr  # no trust root pinned
    report = json.loads(checked.stdout)
    assert report["result"] == "not_established" and report["facts"]["chain_checked"] is False
    fingerprint = exported.trust_root().fingerprint
    assert report["facts"]["bundled_trust_root_fingerprint"] == fingerprint
    pinned = notary_cli(exported.server, "verify", str(out), "--json", "--rpc",
                        exported.chain_url, "--trust-root-fingerprint", fingerprint, cwd=tmp_path)
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert json.loads(pinned.stdout)["result"] == "valid"
    missing = notary_cli(exported.server, "export", "--evidence", f"ev_{'1' * 32}", "-o",
                         str(tmp_path / "x.zip"), cwd=tmp_path)
    assert missing.returncode == 1 and "not_found" in missing.stderr
    assert not (tmp_path / "x.zip").exists() and not (tmp_path / "x.zip.part").exists()


def test_a_case_reference_is_one_path_segment(exported: Exported) -> None:
    """Issue 13 #9: '/' is refused in case ids at submission (tests/intake), so the bundle
    route, like every case route, takes one segment: 'HX/2026/NONE' matches no route."""
    http = exported.server.admin()
    resp = http.get("/v1/cases/HX/2026/NONE/bundle")
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    resp = http.get("/v1/cases/NONE/bundle")
    assert resp.status_code == 404 and resp.json()["message"] == "no case 'NONE'"
