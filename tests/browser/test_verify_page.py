"""The verification page in a real browser: Debian's Chromium, driven by the npm package
playwright-core (tests/browser/verify_page.mjs), against the real server and chain.

A notice is notarised through the API and anchored; then a person's three ways in are
tried: choosing the original file (hashed in the browser, never uploaded), choosing a copy
with one byte changed, and opening the QR code's URL ``/verify?sha256=...``.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from notary.config import DEV_OPERATOR_NAME
from notary.core.signing import SigningKey
from tests.bundle.repack import resigned
from tests.support import REPO, SAMPLES, LiveServer, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.api, pytest.mark.chain]

CASE = "HX-2026-1128-ZW"
CHROMIUM_PATHS = ("chromium", "chromium-browser")


def chromium() -> str:
    """Debian's Chromium; the tests need it (``make test`` installs it)."""
    for name in CHROMIUM_PATHS:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("Chromium is required: apt-get install chromium (make test does)")


def notarise(http: httpx.Client, path: Path, kind: str) -> dict[str, Any]:
    """Submit ``path`` and wait until it is anchored; the evidence as the API shows it."""
    with path.open("rb") as fh:
        created = http.post("/v1/evidence", files={
            "metadata": (None, json.dumps({"case_id": CASE, "kind": kind}), "application/json"),
            "file": (path.name, fh, "application/octet-stream")})
    assert created.status_code == 201, created.text

    def anchored() -> dict[str, Any] | None:
        body = http.get(f"/v1/evidence/{created.json()['id']}").json()
        return body if body["status"] == "anchored" else None

    return wait_until(anchored)  # type: ignore[return-value]


def drive(server: LiveServer, steps: list[dict[str, str]], shots: Path) -> dict[str, Any]:
    """Run the steps in Chromium; the report of what each step showed."""
    shots.mkdir(parents=True, exist_ok=True)
    job = {"chromium": chromium(), "base": server.url, "screenshots": str(shots), "steps": steps}
    out = subprocess.run(["node", "tests/browser/verify_page.mjs"], cwd=REPO, input=json.dumps(job),
                         capture_output=True, text=True, timeout=180, check=False)
    assert out.returncode == 0, out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in report["steps"]}


def statuses(step: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in step["checks"]}


def test_page_verifies_original_rejects_changed_copy_and_opens_from_qr(
    server: LiveServer, tmp_path: Path
) -> None:
    original = SAMPLES / "notice-2026-11-28.pdf"
    data = original.read_bytes()
    evidence = notarise(server.admin(), original, "notice")
    changed = tmp_path / "notice-2026-11-28.pdf"  # same name, one byte different
    changed.write_bytes(data[:100] + bytes([data[100] ^ 0x01]) + data[101:])
    sha = hashlib.sha256(data).hexdigest()

    report = drive(server, [
        {"name": "original", "open": "/verify", "file": str(original)},
        {"name": "changed", "file": str(changed)},
        {"name": "qr-link", "open": f"/verify?sha256={sha}"},
        {"name": "unknown-hash", "hash": "00" * 32},
        {"name": "malformed-hash", "hash": "not-a-sha256"},
        {"name": "phone", "viewport": {"width": 390, "height": 844},
         "open": f"/verify?sha256={sha}"},
    ], tmp_path / "screenshots")
    steps = by_name(report)
    anchor = evidence["anchor"]

    # The original: valid, every check passed, the chain facts shown, the hash from WebCrypto.
    ok = steps["original"]
    assert ok["verdict"] == "valid" and ok["result"] == "valid", ok
    assert "存证有效" in ok["title"] and "Valid" in ok["title"]
    assert ok["hashInput"] == sha and sha in ok["subject"] and original.name in ok["subject"]
    compared = next(c for c in ok["checks"] if c["name"] == "file_hash")
    assert "您的浏览器计算了所选文件的 SHA-256" in compared["text"], compared
    assert statuses(ok) == {"registered": "pass", "statement_signature": "pass",
                            "file_hash": "pass", "merkle_proof": "pass", "anchor_root": "pass",
                            "chain_anchor": "pass"}
    signature = next(c for c in ok["checks"] if c["name"] == "statement_signature")
    assert "签名" in signature["text"] and "signed by a published notary key" in signature["text"]
    assert anchor["tx_hash"] in ok["anchor"] and anchor["contract"] in ok["anchor"]
    assert f"#{anchor['block_number']}" in ok["anchor"] and ok["links"] == []  # no explorer set

    # The changed copy: not found, and never shown as valid.
    bad = steps["changed"]
    assert bad["verdict"] == "notfound" and bad["result"] == "unknown", bad
    assert "未找到存证" in bad["title"] and "No record found" in bad["title"]
    assert "存证有效" not in bad["title"] and "valid" not in bad["classes"].split()
    assert statuses(bad) == {"registered": "skip"}
    assert bad["hashInput"] != sha and bad["anchor"] == ""

    # The QR code's URL verifies on load, without choosing anything; only a hash was looked
    # up, so the page says the file itself was not compared, never "content identical".
    qr = steps["qr-link"]
    assert qr["verdict"] == "hashonly" and qr["hashInput"] == sha and sha in qr["subject"]
    assert "仅核对了哈希" in qr["title"] and "only the hash was checked" in qr["title"]
    assert "没有比对文件本身" in qr["summary"]
    assert "the file itself was not compared" in qr["summary"]
    assert "完全一致" not in qr["summary"] and "exactly as it was" not in qr["summary"]
    assert statuses(qr)["file_hash"] == "skip"
    # Who operated (the trust root), with its fingerprint and the sentence to compare it; the
    # default tenant has no legal name; the chain is a local development chain (issue 14).
    fingerprint = server.client().get("/v1/keys").json()["trust_root_fingerprint"]
    assert fingerprint and fingerprint in qr["issuer"] and "信任根指纹" in qr["issuer"]
    assert "filed with the court" in qr["issuer"] and DEV_OPERATOR_NAME in qr["issuer"]
    assert "本地开发链，他人无法查询" in qr["issuer"] and "未记录 / not recorded" in qr["issuer"]
    assert bad["issuer"] == ""  # nothing was found: nobody is named

    assert steps["unknown-hash"]["verdict"] == "notfound"
    assert steps["phone"]["verdict"] == "hashonly"
    malformed = steps["malformed-hash"]
    assert malformed["verdict"] == "error" and "64" in malformed["summary"]
    assert not any(s["overflow"] for s in report["steps"]), "the page scrolls sideways"

    # Only hashes left the browser: JSON bodies of one SHA-256 each, no file upload.
    posts = [r for r in report["requests"] if r["method"] == "POST"]
    assert len(posts) == 5 and all(r["type"] == "application/json" for r in posts), posts
    assert all(r["body"] < 200 for r in posts)
    assert json.loads(posts[0]["json"]) == {"sha256": sha}
    assert report["console"] == [], report["console"]  # no script error, no CSP violation
    for step in report["steps"]:
        assert Path(step["screenshot"]).stat().st_size > 10_000


def with_member_changed(bundle: bytes, member: str) -> bytes:
    """A copy of ``bundle`` with one byte of ``member`` changed, re-packed with zipfile."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == member:
                data = data[:64] + bytes([data[64] ^ 0x01]) + data[65:]
            dst.writestr(info, data)
    return out.getvalue()


def test_page_checks_a_proof_bundle_and_a_tampered_one(server: LiveServer, tmp_path: Path) -> None:
    admin = server.admin()
    items = [notarise(admin, SAMPLES / "notice-2026-11-28.pdf", "notice"),
             notarise(admin, SAMPLES / "agreement-2026-11-28.pdf", "agreement")]
    resp = admin.get(f"/v1/cases/{CASE}/bundle")
    assert resp.status_code == 200, resp.text
    bundle = tmp_path / "case-bundle.zip"
    bundle.write_bytes(resp.content)
    with zipfile.ZipFile(bundle) as z:
        original = next(n for n in z.namelist()
                        if "/original/" in n and n.endswith("notice-2026-11-28.pdf"))
    tampered = tmp_path / "case-bundle-tampered.zip"
    tampered.write_bytes(with_member_changed(resp.content, original))

    forged = tmp_path / "case-bundle-resigned.zip"  # every signature re-made with another key
    forged.write_bytes(resigned(resp.content, SigningKey.from_seed(b"\x42" * 32)))

    report = drive(server, [{"name": "bundle", "open": "/verify", "bundle": str(bundle)},
                            {"name": "bundle-tampered", "bundle": str(tampered)},
                            {"name": "bundle-not-ours", "bundle": str(forged)}],
                   tmp_path / "screenshots")
    steps = by_name(report)
    good = steps["bundle"]
    # valid with reservations: no witness cosigns this service's log, so neutrality is
    # unknown (not required by its trust root); every other check passes
    assert good["verdict"] == "qualified" and good["result"] == "valid", good
    assert "证据包有效" in good["title"] and "Valid bundle" in good["title"]
    assert all(c["status"] == "pass" for c in good["checks"]
               if not c["name"].startswith("log")), good["checks"]
    assert ("neutrality", "unknown") in [(a["question"], a["status"]) for a in good["answers"]]
    # The five answers first, in both languages, then who: this service's operator.
    assert good["answersFirst"] is True
    assert [(a["question"], a["status"]) for a in good["answers"]][:3] == [
        ("integrity", "pass"), ("existence_time", "pass"), ("issuer", "pass")]
    assert "完整性" in good["answers"][0]["text"] and "Integrity" in good["answers"][0]["text"]
    assert server.settings.operator_name in good["who"] and "运营方" in good["who"]
    fingerprint = server.client().get("/v1/keys").json()["trust_root_fingerprint"]
    assert fingerprint in good["who"]
    names = {c["name"] for c in good["checks"]}
    assert {"manifest", "manifest_signature", "items[0].chain_anchor", "items[1].merkle_proof",
            "case_sequence"} <= names
    manifest = next(c for c in good["checks"] if c["name"] == "manifest")
    assert "清单" in manifest["text"] and "manifest" in manifest["text"]
    assert "第 2 件证据 · Item 2" in next(c["text"] for c in good["checks"]
                                        if c["name"] == "items[1].merkle_proof")
    for item in items:
        assert item["sha256"] in good["anchor"] and item["anchor"]["tx_hash"] in good["anchor"]
    assert CASE in good["subject"] and bundle.name in good["subject"]

    bad = steps["bundle-tampered"]
    assert bad["verdict"] == "invalid" and bad["result"] == "invalid", bad
    assert "核验未通过" in bad["title"] and "Invalid" in bad["title"]
    failed = {c["name"] for c in bad["checks"] if c["status"] == "fail"}
    assert "manifest" in failed or "items[0].file_hash" in failed, bad["checks"]
    # Re-signed with somebody else's key: internally consistent, but not ours, and the page
    # says so first, naming the part.
    alien = steps["bundle-not-ours"]
    assert alien["verdict"] == "notours" and alien["result"] == "invalid", alien
    assert "不是本服务存证的" in alien["title"]
    assert "Not notarised by this service" in alien["title"]
    assert "签名密钥" in alien["summary"] and "signing key" in alien["summary"]
    assert ("issuer", "fail") in [(a["question"], a["status"]) for a in alien["answers"]]
    uploads = [r for r in report["requests"] if r["method"] == "POST"]
    assert len(uploads) == 3 and all(r["type"].startswith("multipart/form-data") for r in uploads)
    assert report["console"] == [], report["console"]


def test_page_shows_explorer_link_when_configured(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTARY_EXPLORER_URL", "https://explorer.example/tx/{tx}")
    original = SAMPLES / "agreement-2026-11-28.pdf"
    evidence = notarise(server.admin(), original, "agreement")
    report = drive(server, [{"name": "explorer", "open": "/verify", "file": str(original)}],
                   tmp_path / "screenshots")
    step = report["steps"][0]
    assert step["verdict"] == "valid"
    assert step["links"] == [f"https://explorer.example/tx/{evidence['anchor']['tx_hash']}"]


def test_page_is_served_with_a_strict_policy(server: LiveServer) -> None:
    http = server.client()
    page = http.get("/verify")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "script-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text and 'src="/static/verify.js"' in page.text
    assert "存证核验" in page.text and "Evidence verification" in page.text
    script = http.get("/static/verify.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "crypto.subtle.digest('SHA-256'" in script.text
    assert http.get("/static/verify.css").headers["content-type"].startswith("text/css")
    assert http.get("/static/../app.py").status_code == 404
    assert http.get("/static/app.py").status_code == 404
