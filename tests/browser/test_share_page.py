"""The judge's page of a share link in a real browser (Debian's Chromium, playwright-core,
tests/browser/share_page.mjs), against the real server and chain: a link opened in a
browser shows the case in Chinese and English, each item's verdict, block and time, its
certificate and the bundle; file names are shown as text, never as markup; a revoked link
says so in both languages. Programs still get JSON at the same address."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_verify_page import chromium
from tests.support import REPO, LiveServer, wait_until
from tests.tenancy.files import call_wav, notice_pdf

pytestmark = [pytest.mark.browser, pytest.mark.api, pytest.mark.chain]

CASE = "HX-2026-1203-JD"
HOSTILE_NAME = "<b>call<img src=x onerror=alert(1)> & 'quote'.wav"


def drive(server: LiveServer, pages: list[dict[str, str]], shots: Path) -> dict[str, Any]:
    shots.mkdir(parents=True, exist_ok=True)
    job = {"chromium": chromium(), "base": server.url, "screenshots": str(shots), "pages": pages}
    out = subprocess.run(["node", "tests/browser/share_page.mjs"], cwd=REPO, input=json.dumps(job),
                         capture_output=True, text=True, timeout=180, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_a_judge_opens_a_share_link(server: LiveServer, tmp_path: Path) -> None:
    http = server.admin()
    ids = []
    for name, data, media, kind in [("notice.pdf", notice_pdf(), "application/pdf", "notice"),
                                    (HOSTILE_NAME, call_wav(), "audio/wav", "call_recording")]:
        made = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": CASE, "kind": kind})),
            "file": (name, data, media)})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    wait_until(lambda: all(http.get(f"/v1/evidence/{i}").json()["status"] == "anchored"
                           for i in ids))
    share = http.post(f"/v1/cases/{CASE}/shares", json={"label": "法院 court"}).json()
    token = share["token"]
    as_json = server.client().get(f"/v1/shared/{token}")
    assert as_json.headers["content-type"].startswith("application/json")
    assert [i["evidence_id"] for i in as_json.json()["items"]] == ids
    report = drive(server, [{"name": "judge", "open": f"/v1/shared/{token}"}], tmp_path)
    page = report["pages"][0]
    assert page["status"] == 200 and page["url"] == f"/s/{token}", page
    assert "案件存证" in page["title"] and "Case evidence" in page["title"]
    assert page["caseId"] == CASE
    assert len(page["rows"]) == 2
    for row in page["rows"]:
        assert "已锚定" in row[4] and "Anchored" in row[4] and "区块 Block" in row[4]
    assert HOSTILE_NAME in page["rows"][1][1], "the file name is shown as text"
    assert page["injected"] == 0 and not report["console"], report
    assert page["bundle"].endswith(f"/v1/shared/{token}/bundle")
    # Issue 14: the operator (trust root) and its fingerprint; the dev-chain line comes first.
    fingerprint = server.client().get("/v1/keys").json()["trust_root_fingerprint"]
    assert page["fingerprint"] == fingerprint and "信任根" in page["operator"]
    assert page["firstText"].startswith("本页的存证锚定于本地开发链，他人无法查询"), page["firstText"]
    certificate = next(h for h in page["links"] if h.endswith("/certificate"))
    pdf = server.client().get(certificate)
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    assert server.client().get(page["bundle"]).content[:2] == b"PK"
    # another case's item is not reachable through this link
    other = http.post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": "OTHER-1", "kind": "notice"})),
        "file": ("n.pdf", notice_pdf("other"), "application/pdf")}).json()["id"]
    assert server.client().get(
        f"/v1/shared/{token}/items/{other}/certificate").status_code == 404
    # revoked: the page says so, in both languages
    assert http.delete(f"/v1/cases/{CASE}/shares/{share['id']}").status_code == 200
    gone = drive(server, [{"name": "revoked", "open": f"/s/{token}"}], tmp_path)["pages"][0]
    assert gone["status"] == 410 and "已撤销" in gone["gone"] and "revoked" in gone["gone"]
