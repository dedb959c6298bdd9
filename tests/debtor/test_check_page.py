"""The recipient's check on /verify in a real browser (Debian's Chromium through
playwright-core, tests/debtor/check_page.mjs), against the real server and chain.

A notice is notarised with a printed check code and anchored; then the person who received
it opens the QR code's URL ``/verify?code=...``, types the code (lower case, letter O for
zero) with the original file, with a changed copy, types an unknown and a malformed code,
and finally chooses only the file. Only codes and SHA-256s leave the browser, never the file.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_verify_page import chromium
from tests.debtor.test_check_api import CASE, DESCRIPTION, NOTICE, PARTY, anchored, changed, submit
from tests.support import REPO, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.api, pytest.mark.chain]

CODE = "0Q7K-M2XD-9HFA"


def drive(server: LiveServer, steps: list[dict[str, Any]], shots: Path) -> dict[str, Any]:
    """Run the steps in Chromium; the report of what each step showed."""
    shots.mkdir(parents=True, exist_ok=True)
    job = {"chromium": chromium(), "base": server.url, "screenshots": str(shots), "steps": steps}
    out = subprocess.run(["node", "tests/debtor/check_page.mjs"], cwd=REPO, input=json.dumps(job),
                         capture_output=True, text=True, timeout=180, check=False)
    assert out.returncode == 0, out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def test_recipient_checks_a_notice_by_code_and_file_in_the_browser(
    server: LiveServer, tmp_path: Path
) -> None:
    admin = server.admin()
    created = submit(admin, NOTICE, "notice", check_code=CODE)
    assert created.status_code == 201, created.text
    evidence = anchored(admin, created.json()["id"])
    copy = tmp_path / NOTICE.name  # same name, one byte different
    copy.write_bytes(changed(NOTICE.read_bytes()))
    sha = hashlib.sha256(NOTICE.read_bytes()).hexdigest()

    report = drive(server, [
        {"name": "qr-link", "open": f"/verify?code={CODE}", "fullPage": True},
        {"name": "typed-with-original", "code": "oq7k m2xd 9hfa", "file": str(NOTICE)},
        {"name": "typed-with-changed-copy", "code": CODE, "file": str(copy)},
        {"name": "unknown-code", "code": "7K3M-9QXD-2H0A", "clearFile": True},
        {"name": "malformed-code", "code": "0Q7K-M2XD-9HU"},
        {"name": "file-only", "code": "", "file": str(NOTICE)},
        {"name": "phone", "viewport": {"width": 390, "height": 844},
         "open": f"/verify?code={CODE.lower()}"},
    ], tmp_path / "screenshots")
    steps = {s["name"]: s for s in report["steps"]}

    qr = steps["qr-link"]
    assert "收到催收通知或还款协议的当事人" in qr["section"]
    assert "For the person who received a notice" in qr["section"]
    assert qr["outcome"] == "notarised" and qr["anchored"] == "true" and qr["removed"] == "false"
    assert "已存证" in qr["title"] and "Notarised" in qr["title"], qr
    assert "在本服务存证" in qr["words"] and "anchored on the blockchain" in qr["words"]
    assert "请同时选择该文件" in qr["words"] and "choose it as well" in qr["words"]
    assert qr["code"] == CODE and sha in qr["facts"]

    good = steps["typed-with-original"]
    assert good["outcome"] == "unaltered", good
    assert "未被改动" in good["title"] and "Notarised and unaltered" in good["title"]
    assert "exactly the notarised one" in good["words"]

    bad = steps["typed-with-changed-copy"]
    assert bad["outcome"] == "altered", bad
    assert "不一致" in bad["title"] and "differs from the notarised one" in bad["title"]
    assert hashlib.sha256(copy.read_bytes()).hexdigest() in bad["facts"]

    unknown = steps["unknown-code"]
    assert unknown["outcome"] == "notfound" and "未找到" in unknown["title"]
    assert "no notarised document with this check code" in unknown["words"]
    malformed = steps["malformed-code"]
    assert malformed["outcome"] == "error" and "XXXX-XXXX-XXXX" in malformed["words"]
    assert steps["file-only"]["outcome"] == "unaltered"
    assert steps["phone"]["outcome"] == "notarised"
    assert not any(s["overflow"] for s in report["steps"]), "the page scrolls sideways"

    # Nothing of the case is shown, whatever was asked.
    for step in report["steps"]:
        shown = json.dumps(step, ensure_ascii=False)
        for secret in (CASE, PARTY, DESCRIPTION, evidence["id"], NOTICE.name):
            assert secret not in shown.replace(str(tmp_path), ""), (secret, step["name"])

    # Only codes and SHA-256s left the browser: small forms, never a 'file' part.
    posts = [r for r in report["requests"] if r["method"] == "POST"]
    assert len(posts) == 7 and all(r["url"].endswith("/v1/check") for r in posts), posts
    assert all(r["size"] < 1000 and "file" not in r["parts"] for r in posts), posts
    assert [p["parts"] for p in posts][:3] == [["code"], ["code", "sha256"], ["code", "sha256"]]
    # No script error and no CSP violation; Chromium logs the 404 and 422 answers themselves.
    unexpected = [c for c in report["console"] if "Failed to load resource: the server "
                  "responded with a status of 4" not in c]
    assert unexpected == [] and len(report["console"]) == 2, report["console"]
    for step in report["steps"]:
        assert Path(step["screenshot"]).stat().st_size > 5_000


def test_recipient_sees_who_notarised_the_notice(make_server: Any, tmp_path: Path) -> None:
    """Issue 14: the answer names the operator (trust root, with the fingerprint to compare
    with the court filing), the agency by its Chinese legal name and the submitting key's name,
    both marked as the agency's own claims, and says the chain is a local development chain."""
    from notary.service.apikeys import create_key
    from notary.service.tenancy import create_tenant

    server = make_server(operator_name="华信数据科技有限公司",
                         operator_registration="91310000MA1FL0XX1X", operator_country="CN")
    create_tenant(server.service.engine, "华信资产管理有限公司", slug="huaxin")
    _row, token = create_key(server.service.engine, "collector", tenant="huaxin",
                             name="催收员 工号 1024")
    collector = server.client(token)
    created = submit(collector, NOTICE, "notice", check_code=CODE)
    assert created.status_code == 201, created.text
    anchored(collector, created.json()["id"])
    fingerprint = server.client().get("/v1/keys").json()["trust_root_fingerprint"]

    report = drive(server, [{"name": "named", "open": f"/verify?code={CODE}", "fullPage": True}],
                   tmp_path / "screenshots")
    seen = report["steps"][0]
    assert seen["outcome"] == "notarised", seen
    assert "华信资产管理有限公司" in seen["words"] and "华信数据科技有限公司" in seen["words"]
    for needed in ("华信数据科技有限公司", "91310000MA1FL0XX1X", fingerprint,
                   "请与运营方向法院备案的指纹核对", "华信资产管理有限公司", "催收员 工号 1024",
                   "声明：租户自述，notary 未核实", "stated by the tenant, not verified by notary",
                   "本服务锚定于本地开发链，他人无法查询"):
        assert needed in seen["facts"], needed
    assert not seen["overflow"] and report["console"] == [], report["console"]
