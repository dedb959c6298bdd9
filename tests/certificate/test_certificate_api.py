"""Certificate endpoints over real HTTP, against the real chain: what a lawyer downloads is
the evidence as stored and anchored, checked against the chain when issued."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from notary.certificate import CONTENT_SECURITY_POLICY
from notary.service.apikeys import Role, create_key
from notary.service.tenancy import create_tenant
from storage.db import AuditEvent, session
from tests.support import SAMPLES, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "HX-2026-1128-ZW"
SUBMISSIONS = [("call-2026-11-28-0930.wav", "call_recording"), ("notice-2026-11-28.pdf", "notice"),
               ("agreement-2026-11-28.pdf", "agreement")]


def submit(http: httpx.Client, name: str, kind: str) -> dict[str, Any]:
    with (SAMPLES / name).open("rb") as fh:
        resp = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": CASE, "kind": kind}), "application/json"),
            "file": (name, fh, "application/octet-stream")})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def anchored(http: httpx.Client, evidence_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = http.get(f"/v1/evidence/{evidence_id}").json()
        return body if body["status"] == "anchored" else None
    return wait_until(check)  # type: ignore[return-value]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (Debian poppler-utils) is required"
    out = subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True,
                         check=True)
    return re.sub(r"[ \t]+", " ", out.stdout)


def test_item_certificate_pdf_and_html(server: LiveServer, tmp_path: Path) -> None:
    admin = server.admin()
    created = submit(admin, "notice-2026-11-28.pdf", "notice")
    evidence = anchored(admin, created["id"])
    anchor = evidence["anchor"]
    _, lawyer_token = create_key(server.service.engine, Role.LAWYER, label="counsel")
    lawyer = server.client(lawyer_token)

    resp = lawyer.get(f"/v1/evidence/{created['id']}/certificate")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    assert f"certificate-{created['id']}.pdf" in resp.headers["content-disposition"]
    assert resp.headers["cache-control"] == "no-store"
    text = pdf_text(resp.content, tmp_path)
    for needed in ("存证证书", "证据编号", "Evidence ID", created["id"], CASE, "催收通知",
                   "notice-2026-11-28.pdf", f"{evidence['size']:,}", created["sha256"],
                   created["cid"], evidence["received_at"], "apikey:", anchor["contract"],
                   anchor["tx_hash"], f"#{anchor['block_number']}",
                   f"{server.url}/verify?sha256={created['sha256']}"):
        assert needed in text, needed
    assert text.count("通过") >= 4 and "未通过" not in text  # chain consulted: every check passed

    page = lawyer.get(f"/v1/evidence/{created['id']}/certificate", params={"format": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    for needed in (created["id"], created["sha256"], anchor["tx_hash"], "交易哈希"):
        assert needed in page.text
    assert 'class="pass" data-check="chain_anchor"' in page.text

    # The QR code's URL is the public page, which verifies the hash.
    assert server.client().get("/verify", params={"sha256": created["sha256"]}).status_code == 200

    # Every issue is in the audit trail, with who asked.
    with session(server.service.engine) as s:
        acts = list(s.exec(select(AuditEvent).where(AuditEvent.evidence_id == created["id"])))
    issued = [a for a in acts if a.act == "certificate_issued"]
    assert len(issued) == 2 and all(a.actor.startswith("apikey:") for a in issued)


def test_certificate_needs_a_key_and_a_real_format(server: LiveServer) -> None:
    created = submit(server.admin(), "notice-2026-11-28.pdf", "notice")
    anonymous = server.client().get(f"/v1/evidence/{created['id']}/certificate")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "api_key_missing"
    wrong = server.admin().get(f"/v1/evidence/{created['id']}/certificate",
                               params={"format": "docx"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "request_invalid"
    missing = server.admin().get(f"/v1/evidence/ev_{'0' * 32}/certificate")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_case_certificate_covers_anchored_items_and_counts_the_rest(
    make_server: Any, tmp_path: Path
) -> None:
    # No timer: the worker anchors only when told to. The first two items are anchored, the
    # third waits.
    server: LiveServer = make_server(batch_seconds=3600)
    admin = server.admin()
    created = [submit(admin, name, kind) for name, kind in SUBMISSIONS[:2]]
    assert server.service.worker is not None
    server.service.worker.run_once()
    for item in created:
        anchored(admin, item["id"])
    created.append(submit(admin, *SUBMISSIONS[2]))
    assert admin.get(f"/v1/evidence/{created[2]['id']}").json()["status"] == "pending"

    pending = admin.get(f"/v1/evidence/{created[2]['id']}/certificate")
    assert pending.status_code == 404 and pending.json()["code"] == "not_anchored"

    resp = admin.get(f"/v1/cases/{CASE}/certificate")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    text = pdf_text(resp.content, tmp_path)
    assert "案件存证证书" in text and "另有 1 件尚未上链" in text
    for item in created[:2]:
        assert item["id"] in text and item["sha256"] in text
    assert created[2]["sha256"] not in text
    assert text.index(created[0]["sha256"]) < text.index(created[1]["sha256"])

    page = admin.get(f"/v1/cases/{CASE}/certificate", params={"format": "html"})
    assert page.status_code == 200
    assert "1 more item(s) of the case are not anchored yet" in page.text
    assert page.text.count('<section class="sheet"') == 3  # summary + two items

    unknown = admin.get("/v1/cases/NO-SUCH-CASE/certificate")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


def test_another_tenant_gets_no_certificate(server: LiveServer) -> None:
    created = submit(server.admin(), "notice-2026-11-28.pdf", "notice")
    anchored(server.admin(), created["id"])
    create_tenant(server.service.engine, "Other Agency")
    _, token = create_key(server.service.engine, Role.LAWYER, tenant="other-agency")
    stranger = server.client(token)
    item = stranger.get(f"/v1/evidence/{created['id']}/certificate")
    assert item.status_code == 404 and item.json()["code"] == "not_found"
    case = stranger.get(f"/v1/cases/{CASE}/certificate")
    assert case.status_code == 404 and case.json()["code"] == "not_found"
    assert server.admin().get(f"/v1/cases/{CASE}/certificate").status_code == 200
