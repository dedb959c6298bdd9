"""The client and admin commands against a live service: human lines by default, --json for
scripts, --wait until anchored (or exit 4), share links, tenants by legal name."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from notary.cli.exits import Exit
from tests.cli.conftest import client_env, run_notary, server_env
from tests.support import REPO, LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "HX-2026-1203-CLI"


@pytest.fixture
def notice(tmp_path: Path) -> Path:
    path = tmp_path / "notice-2026-12-03.pdf"
    path.write_bytes(b"%PDF-1.7 second notice of arrears, loan 88-2041 " + os.urandom(16))
    return path


def submit(server: LiveServer, path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_notary("submit", str(path), "--case", CASE, "--kind", "notice",
                      "--captured-at", "2026-12-03T09:30:00+08:00", *extra,
                      env=client_env(server), cwd=path.parent)


def test_submit_wait_then_status_read_as_lines_and_as_json(server: LiveServer,
                                                           notice: Path) -> None:
    run = submit(server, notice, "--wait", "--timeout", "60")
    assert run.returncode == Exit.OK, run.stderr
    sha = hashlib.sha256(notice.read_bytes()).hexdigest()
    out = run.stdout
    assert out.startswith("ev_") and out.splitlines()[0].endswith("  已存证 / notarised"), out
    assert sha in out and f"{CASE} #1" in out and "tx" in out and "0x" in out
    assert "eyJ" not in out, "no raw JWS in human output"
    assert len(out.splitlines()) <= 10
    # not a terminal: one plain line announces the wait, no spinner frames or escapes
    assert "waiting for the anchor" in run.stderr and "\r" not in run.stderr
    item_id = out.split()[0]

    status = run_notary("status", item_id, "--json", env=client_env(server), cwd=notice.parent)
    assert status.returncode == Exit.OK, status.stderr
    body = json.loads(status.stdout)
    assert body["id"] == item_id and body["status"] == "anchored" and body["sha256"] == sha
    assert body["statement"].startswith("eyJ"), "--json keeps the service's whole answer"
    assert f"{body['anchor']['block_number']} (chain {body['anchor']['chain_id']}" in out

    plain = run_notary("status", item_id, env=client_env(server), cwd=notice.parent)
    assert plain.returncode == Exit.OK and body["anchor"]["tx_hash"] in plain.stdout

    again = run_notary("status", item_id, "--wait", env=client_env(server), cwd=notice.parent)
    assert again.returncode == Exit.OK and "notarised" in again.stdout

    verified = run_notary("verify", str(notice), env=client_env(server), cwd=notice.parent)
    assert verified.returncode == Exit.OK, verified.stderr
    assert verified.stdout.startswith("有效 VALID") and sha in verified.stdout
    assert "computed on this machine" in verified.stdout
    by_hash = run_notary("verify", "--sha256", sha, env=client_env(server), cwd=notice.parent)
    assert by_hash.returncode == Exit.OK, by_hash.stderr
    assert by_hash.stdout.startswith("已存证（仅查询了哈希）NOTARISED, HASH ONLY")
    assert "the file itself was not compared" in by_hash.stdout
    other = notice.with_name("other.pdf")
    other.write_bytes(b"%PDF-1.7 never notarised")
    unknown = run_notary("verify", "--sha256", hashlib.sha256(other.read_bytes()).hexdigest()
                         .upper(), env=client_env(server), cwd=notice.parent)
    assert unknown.returncode == Exit.FAILED, unknown.stdout


def test_submit_json_is_the_services_answer(server: LiveServer, notice: Path) -> None:
    run = submit(server, notice, "--json")
    assert run.returncode == Exit.OK, run.stderr
    body = json.loads(run.stdout)
    assert body["id"].startswith("ev_") and body["status"] in ("pending", "anchored")
    assert body["receipt"] and body["anchor_deadline"]


def test_an_unknown_item_is_1_with_the_services_code(server: LiveServer, tmp_path: Path) -> None:
    run = run_notary("status", "ev_" + "f" * 32, env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.FAILED
    assert run.stderr.startswith("error not_found: ") and run.stdout == ""
    bad_key = run_notary("status", "ev_" + "f" * 32, env=client_env(server, "nk_wrong"),
                         cwd=tmp_path)
    assert bad_key.returncode == Exit.FAILED and bad_key.stderr.startswith("error ")


def test_wait_times_out_with_4_and_spins_only_on_a_terminal(make_server: Any,
                                                            tmp_path: Path) -> None:
    server = make_server(anchor_worker=False)  # nothing anchors: the wait must time out
    doc = tmp_path / "agreement.pdf"
    doc.write_bytes(b"%PDF-1.7 instalment agreement")
    run = run_notary("submit", str(doc), "--case", CASE, "--kind", "agreement", "--wait",
                     "--timeout", "1.5", env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.TIMED_OUT, run.stderr
    assert run.stdout.splitlines()[0].endswith("  已受理，待上链 / received, not yet anchored")
    assert "to be anchored by" in run.stdout
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error wait_timeout: ") and "notary status ev_" in last
    item_id = run.stdout.split()[0]

    # the same wait with stderr on a real pseudo-terminal draws a spinner
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "notary.cli", "status", item_id, "--wait",
                             "--timeout", "1.5"], cwd=tmp_path, env=client_env(server),
                            stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(30)
    os.close(leader)
    text = seen.decode("utf-8", "replace")
    assert proc.returncode == Exit.TIMED_OUT
    assert "\r" in text and any(frame in text for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"), text
    assert "waiting for the anchor" in text and "error wait_timeout" in text


def test_share_create_list_revoke(server: LiveServer, notice: Path) -> None:
    assert submit(server, notice, "--quiet").returncode == Exit.OK
    env, cwd = client_env(server), notice.parent
    made = run_notary("share", "create", "--case", CASE, "--expires-in", "2d", "--label",
                      "Judge Li, Pudong court", env=env, cwd=cwd)
    assert made.returncode == Exit.OK, made.stderr
    url = made.stdout.split("shown once: ")[1].split()[0]
    assert "/s/ns_" in url and "分享链接" in made.stdout  # the judge's page
    assert httpx.get(url, timeout=30).status_code == 200, "the link opens without an account"
    as_json = run_notary("share", "create", "--case", CASE, "--expires-in", "90m", "--json",
                         env=env, cwd=cwd)
    second = json.loads(as_json.stdout)
    assert second["token"] and second["id"]

    listed = run_notary("share", "list", "--case", CASE, "--json", env=env, cwd=cwd)
    assert listed.returncode == Exit.OK, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["label"] for r in rows] == ["Judge Li, Pudong court", None]
    assert all("token" not in r for r in rows) and "ns_" not in listed.stdout
    first_id = rows[0]["id"]

    revoked = run_notary("share", "revoke", "--case", CASE, first_id, env=env, cwd=cwd)
    assert revoked.returncode == Exit.OK and f"revoked share {first_id}" in revoked.stdout
    assert httpx.get(url, timeout=30).status_code == 410
    human = run_notary("share", "list", "--case", CASE, env=env, cwd=cwd)
    assert f"share {first_id}  已撤销 / revoked" in human.stdout
    assert f"share {second['id']}  有效 / active" in human.stdout

    missing = run_notary("share", "revoke", "--case", "NO-SUCH-CASE", first_id, env=env,
                         cwd=cwd)
    assert missing.returncode == Exit.FAILED and missing.stderr.startswith("error not_found")
    none = run_notary("share", "list", "--case", "NO-SUCH-CASE", env=env, cwd=cwd)
    assert none.returncode == Exit.FAILED


def test_tenants_and_keys_on_the_services_own_data(server: LiveServer, tmp_path: Path,
                                                   notice: Path) -> None:
    env = server_env(server)
    made = run_notary("tenants", "create", "华信资产管理有限公司", "--slug", "huaxin",
                      env=env, cwd=tmp_path)
    assert made.returncode == Exit.OK, made.stderr
    assert "huaxin (华信资产管理有限公司)" in made.stdout
    twice = run_notary("tenants", "create", "华信资产管理有限公司", env=env, cwd=tmp_path)
    assert twice.returncode == Exit.BAD_INPUT and "tenant_exists" in twice.stderr
    listed = json.loads(run_notary("tenants", "list", "--json", env=env, cwd=tmp_path).stdout)
    assert {"id": "huaxin", "name": "华信资产管理有限公司"}.items() <= next(
        t for t in listed if t["id"] == "huaxin").items()

    # --tenant takes the legal name; the key works against the running service at once
    key = run_notary("api-keys", "create", "--role", "collector", "--tenant",
                     "华信资产管理有限公司", "--label", "dialer 7", "--name", "外呼系统 7号",
                     env=env, cwd=tmp_path)
    assert key.returncode == Exit.OK, key.stderr
    token = key.stdout.strip()
    assert "\n" not in token and "of tenant huaxin" in key.stderr
    run = run_notary("submit", str(notice), "--case", "HX-HUAXIN-1", "--kind", "notice",
                     "--json", env=client_env(server, token), cwd=tmp_path)
    assert run.returncode == Exit.OK, run.stderr
    keys = json.loads(run_notary("api-keys", "list", "--json", env=env, cwd=tmp_path).stdout)
    mine = next(k for k in keys if k["label"] == "dialer 7")
    assert mine["tenant"] == "huaxin" and mine["role"] == "collector" and not mine["revoked"]
    assert mine["name"] == "外呼系统 7号"  # statements it submits carry it (submitter_name)
    assert token not in json.dumps(keys)
    unknown = run_notary("api-keys", "create", "--role", "lawyer", "--tenant", "Nobody Ltd",
                         env=env, cwd=tmp_path)
    assert unknown.returncode == Exit.BAD_INPUT and "tenant_unknown" in unknown.stderr


class _Recorder(BaseHTTPRequestHandler):
    """Stands in for the bundle endpoint only to see the query the CLI sends: the server
    side of the Chinese certifier fields is built on another branch."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        body = json.dumps({"code": "not_found", "message": "no case 'C-1'", "details": {}})
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_export_sends_the_chinese_certifier_fields(tmp_path: Path) -> None:
    httpd = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
        env |= {"PYTHONPATH": str(REPO), "NOTARY_URL": f"http://127.0.0.1:{httpd.server_port}"}
        run = run_notary("export", "--case", "C-1", "-o", str(tmp_path / "c.zip"),
                         "--certifier-name", "Li Na", "--certifier-name-zh", "李娜",
                         "--certifier-title-zh", "档案管理员",
                         "--certifier-organisation-zh", "华信资产管理有限公司",
                         env=env, cwd=tmp_path)
    finally:
        httpd.shutdown()
    assert run.returncode == Exit.FAILED and run.stderr.startswith("error not_found: ")
    query = parse_qs(urlsplit(_Recorder.seen[-1]).query)
    assert query == {"certifier_name": ["Li Na"], "certifier_name_zh": ["李娜"],
                     "certifier_title_zh": ["档案管理员"],
                     "certifier_organisation_zh": ["华信资产管理有限公司"]}
    assert not list(tmp_path.glob("c.zip*")), "a failed export leaves no file"


def test_export_prints_one_final_line_off_a_terminal(server: LiveServer, notice: Path) -> None:
    run = submit(server, notice, "--wait", "--json")
    item_id = json.loads(run.stdout)["id"]
    out = notice.parent / "item.zip"
    exported = run_notary("export", "--evidence", item_id, "--hashes-only", "-o", str(out),
                          "--json", env=client_env(server), cwd=notice.parent)
    assert exported.returncode == Exit.OK, exported.stderr
    assert json.loads(exported.stdout) == {"file": str(out), "size": out.stat().st_size}
    assert out.stat().st_mode & 0o777 == 0o600, "a bundle may hold originals: owner only"
    lines = exported.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"已保存 / wrote {out} (")
    well_known = f"{server.url}/.well-known/notary-trust-root.json"
    assert lines[0].endswith(f"notary verify {out} --trust-root {well_known} --rpc URL")
    checked = run_notary("verify", str(out), "--json", "--trust-root", well_known,
                         "--rpc", server.settings.chain_url, env=client_env(server),
                         cwd=notice.parent)
    assert checked.returncode == Exit.OK, checked.stdout
    assert json.loads(checked.stdout)["result"] == "valid"
    unpinned = run_notary("verify", str(out), env=client_env(server), cwd=notice.parent)
    assert unpinned.returncode == Exit.NOT_ESTABLISHED, unpinned.stdout
