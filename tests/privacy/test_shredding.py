"""Crypto-shredding and legal holds, end to end over real HTTP with a real chain: a held item
cannot be shredded; a shredded recording can no longer be produced by anyone (key gone,
ciphertext gone, no copy of the wrapped key left in the database files), yet its bundle still
verifies its existence and integrity up to the shred, and its deletion certificate verifies."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlmodel import select

from notary.core.deletion import verify_deletion
from notary.core.signing import jws_payload
from storage.db import Evidence, session
from tests.bundle.test_verify_guide import run_guide, served_fingerprint
from tests.support import REPO, SAMPLES, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "HX-2026-1128-ZW"
WAV = SAMPLES / "call-2026-11-28-0930.wav"


def submit(http, path: Path, kind: str, case: str = CASE) -> dict:  # type: ignore[no-untyped-def]
    # "distinct": these suites file the same recording more than once on purpose.
    with path.open("rb") as fh:
        resp = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": case, "kind": kind, "distinct": True})),
            "file": (path.name, fh, "application/octet-stream")})
    assert resp.status_code == 201, resp.text
    return resp.json()


def anchored(http, evidence_id: str) -> bool:  # type: ignore[no-untyped-def]
    return http.get(f"/v1/evidence/{evidence_id}").json()["status"] == "anchored"


def db_files(server: LiveServer) -> bytes:
    home = server.settings.home
    return b"".join(p.read_bytes() for p in sorted(home.glob("*.db*")) if p.is_file())


def test_held_item_cannot_be_shredded_then_shred_leaves_only_proof(
        server: LiveServer, tmp_path: Path) -> None:
    from notary.service.apikeys import create_key

    admin = server.admin()
    lawyer = server.client(create_key(server.service.engine, "lawyer", tenant="default")[1])
    created = submit(admin, WAV, "call_recording")
    eid = created["id"]
    wait_until(lambda: anchored(admin, eid))
    with session(server.service.engine) as s:
        wrapped = s.get(Evidence, eid).wrapped_key  # type: ignore[union-attr]
    assert wrapped

    # 1. A lawyer puts it on hold: shredding is refused, nothing changes.
    held = lawyer.post(f"/v1/evidence/{eid}/legal-hold", json={"reason": "dispute pending"})
    assert held.status_code == 200 and held.json()["legal_hold"] is True
    refused = admin.post(f"/v1/evidence/{eid}/shred", json={"reason": "purpose ended"})
    assert refused.status_code == 409 and refused.json()["code"] == "legal_hold"
    assert admin.get(f"/v1/evidence/{eid}/content").content == WAV.read_bytes()
    assert lawyer.post(f"/v1/evidence/{eid}/shred",
                       json={"reason": "x"}).status_code == 403  # admins shred, not lawyers
    assert admin.get(f"/v1/evidence/{eid}").json()["legal_hold"] == "dispute pending"

    # 2. Lifted (with a reason), then shredded.
    assert lawyer.post(f"/v1/evidence/{eid}/legal-hold/lift",
                       json={"reason": "settled"}).status_code == 200
    assert admin.post(f"/v1/evidence/{eid}/shred", json={}).status_code == 422  # no reason
    shredded = admin.post(f"/v1/evidence/{eid}/shred", json={
        "reason": "debt settled, retention period over", "legal_basis": "PIPL art. 47"})
    assert shredded.status_code == 200, shredded.text
    body = shredded.json()
    assert body["ciphertext_deleted"] is True
    cert = verify_deletion(body["jws"], server.service.jwks())
    with session(server.service.engine) as s:
        statement_digest = s.get(Evidence, eid).statement_digest  # type: ignore[union-attr]
    assert (cert.evidence_id, cert.file_sha256, cert.statement_sha256) == (
        eid, created["sha256"], statement_digest)
    assert cert.disclosed_before["content_views"] == 1  # the read in step 1, disclosed
    assert cert.anchor is not None and cert.anchor["tx_hash"] == \
        admin.get(f"/v1/evidence/{eid}/proof").json()["anchor"]["tx_hash"]
    again = admin.post(f"/v1/evidence/{eid}/shred", json={"reason": "again"})
    assert again.status_code == 409 and again.json()["code"] == "already_shredded"

    # 3. The content is gone: the API says so, the key and the stored ciphertext are gone,
    #    and no copy of the wrapped key is left in the database files (SQLite).
    gone = admin.get(f"/v1/evidence/{eid}/content")
    assert gone.status_code == 410 and gone.json()["code"] == "shredded"
    with session(server.service.engine) as s:
        row = s.get(Evidence, eid)
    assert row is not None and row.wrapped_key is None and row.shredded_at is not None
    assert not server.service.blobs.exists(created["cid"])
    assert not list((server.settings.home / "blobs").rglob(created["cid"]))
    if server.settings.database_url is None:
        body_lines = [ln for ln in wrapped.splitlines() if ln and not ln.startswith("-----")]
        data = db_files(server)
        assert not [ln for ln in body_lines if ln.encode() in data], \
            "a copy of the destroyed wrapped key is still in the database files"
    hold_after = admin.post(f"/v1/evidence/{eid}/legal-hold", json={"reason": "late"})
    assert hold_after.status_code == 409

    # 4. The custody log records hold, lift and shred, signed and linked; it verifies.
    custody = admin.get(f"/v1/evidence/{eid}/custody").json()
    acts = [e["act"] for e in custody["events"]]
    assert acts[-4:] == ["legal_hold_set", "viewed", "legal_hold_lifted", "shredded"]
    assert all(c["status"] in ("pass", "skip") for c in custody["checks"]), custody["checks"]
    assert custody["events"][-1]["event"]["detail"]["reason"] == \
        "debt settled, retention period over"

    # 5. The deletion certificate: JSON with passing checks, bilingual HTML and PDF.
    dc = admin.get(f"/v1/evidence/{eid}/deletion-certificate").json()
    assert [c["status"] for c in dc["checks"]] == ["pass", "pass"], dc["checks"]
    html = admin.get(f"/v1/evidence/{eid}/deletion-certificate?format=html")
    assert html.status_code == 200 and "数据销毁证明" in html.text
    assert "Certificate of Deletion" in html.text and created["sha256"] in html.text
    # Like every certificate: the operator, the trust-root fingerprint, the dev-chain line.
    fingerprint = server.client().get("/v1/keys").json()["trust_root_fingerprint"]
    assert fingerprint and fingerprint in html.text and "信任根指纹" in html.text
    assert html.text.index("本证书锚定于本地开发链") < html.text.index("<h1>")
    pdf = admin.get(f"/v1/evidence/{eid}/deletion-certificate?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (tmp_path / "deletion.pdf").write_bytes(pdf.content)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(tmp_path / "deletion.pdf"),
                    str(tmp_path / "deletion")], check=True, timeout=60)
    assert list(tmp_path.glob("deletion-*.png"))
    other = submit(admin, SAMPLES / "notice-2026-11-28.pdf", "notice")
    none = admin.get(f"/v1/evidence/{other['id']}/deletion-certificate")
    assert none.status_code == 404 and none.json()["code"] == "not_shredded"

    # 6. The public check still says: notarised, and when it was shredded.
    public = server.client().post("/v1/verify", json={"sha256": created["sha256"]}).json()
    assert public["facts"]["shredded_at"] == cert.shredded_at

    # 7. Its bundle (with originals asked for) carries no original, and still verifies, with
    #    notary verify and with VERIFY.md's own commands.
    wait_until(lambda: anchored(admin, other["id"]))
    bundle = admin.get(f"/v1/cases/{CASE}/bundle")
    assert bundle.status_code == 200, bundle.text
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as z:
        names = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
    assert not [n for n in names if n.startswith("items/001/original/")]
    assert [n for n in names if n.startswith("items/002/original/")]
    assert manifest["items"][0]["shredded"] is True and "original" not in manifest["items"][0]
    assert "items/001/deletion.jws" in names
    path = tmp_path / "case.zip"
    path.write_bytes(bundle.content)
    run = subprocess.run([sys.executable, "-m", "notary.cli", "verify", str(path), "--json",
                          "--trust-root", f"{server.url}/.well-known/notary-trust-root.json",
                          "--rpc", server.settings.chain_url],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["items[0].deletion"]["status"] == "pass"
    assert checks["items[0].file_hash"]["status"] == "skip"
    assert "shredded" in checks["items[0].file_hash"]["reason"]
    guide = run_guide(bundle.content, tmp_path / "guide", rpc=server.settings.chain_url,
                      fingerprint=served_fingerprint(server))
    assert guide.failed is None, guide.text
    assert "items/001 deletion certificate: OK" in guide.stdout

    # 8. A deletion certificate edited after signing fails, even with the manifest fixed up.
    forged = cert.to_json() | {"reason": "consent withdrawn"}
    header, _payload, sig = body["jws"].split(".")
    import base64

    from notary.core.statement import canonical_json
    fake = ".".join([header, base64.urlsafe_b64encode(canonical_json(forged)).rstrip(b"=")
                     .decode(), sig])
    from notary.core.deletion import check_deletion
    check, _ = check_deletion(fake, server.service.jwks(), statement=None, custody=None)
    assert check.status.value == "fail"
    assert re.search(r"does not verify", check.reason)
    assert jws_payload(body["jws"]) == cert.canonical_bytes()


def test_other_tenants_cannot_hold_or_shred(server: LiveServer) -> None:
    from notary.service.apikeys import create_key
    from notary.service.tenancy import create_tenant

    admin = server.admin()
    created = submit(admin, SAMPLES / "agreement-2026-11-28.pdf", "agreement")
    create_tenant(server.service.engine, "agency-b")
    other = server.client(create_key(server.service.engine, "admin", tenant="agency-b")[1])
    for path, body in [("shred", {"reason": "x"}), ("legal-hold", {"reason": "x"}),
                       ("deletion-certificate", None)]:
        resp = (other.get(f"/v1/evidence/{created['id']}/{path}") if body is None
                else other.post(f"/v1/evidence/{created['id']}/{path}", json=body))
        assert resp.status_code == 404, (path, resp.text)
    with session(server.service.engine) as s:
        assert s.exec(select(Evidence).where(Evidence.id == created["id"])).one().wrapped_key


def test_cli_holds_and_shreds(server: LiveServer, tmp_path: Path) -> None:
    from tests.bundle.conftest import notary_cli

    created = submit(server.admin(), SAMPLES / "notice-2026-11-28.pdf", "notice")
    eid = created["id"]
    held = notary_cli(server, "hold", eid, "--reason", "litigation", cwd=tmp_path)
    assert held.returncode == 0 and json.loads(held.stdout)["legal_hold"] is True
    refused = notary_cli(server, "shred", eid, "--reason", "purpose ended", cwd=tmp_path)
    assert refused.returncode != 0 and "legal_hold" in refused.stderr
    assert notary_cli(server, "hold", eid, "--lift", "--reason", "settled",
                      cwd=tmp_path).returncode == 0
    done = notary_cli(server, "shred", eid, "--reason", "purpose ended", "--legal-basis",
                      "PIPL art. 47", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["certificate"]["legal_basis"] == "PIPL art. 47"
    report = notary_cli(server, "retention", "run", "--dry-run", cwd=tmp_path)
    assert report.returncode == 0 and json.loads(report.stdout)["dry_run"] is True


def test_a_case_hold_holds_every_item_or_none(server: LiveServer) -> None:
    from notary.core.custody import CustodyAct

    admin = server.admin()
    case = "HX-2026-1201-CH"
    items = [submit(admin, SAMPLES / "notice-2026-11-28.pdf", "notice", case)["id"],
             submit(admin, SAMPLES / "agreement-2026-11-28.pdf", "agreement", case)["id"]]
    refused = admin.post(f"/v1/cases/{case}/legal-hold", json={"reason": "  "})
    assert refused.json()["code"] == "reason_required", refused.text
    assert all(admin.get(f"/v1/evidence/{i}").json()["legal_hold"] is None for i in items)
    held = admin.post(f"/v1/cases/{case}/legal-hold", json={"reason": "court order"})
    assert held.status_code == 200, held.text
    assert held.json() == {"case_id": case, "held": items}
    for i in items:
        assert admin.get(f"/v1/evidence/{i}").json()["legal_hold"] == "court order"
        acts = [e["act"] for e in admin.get(f"/v1/evidence/{i}/custody").json()["events"]]
        assert acts.count(CustodyAct.LEGAL_HOLD_SET.value) == 1, acts
