"""What a running instance gives away, and whom it believes (issue 13, #8 and #14): forwarded
headers, health details, the first admin key in the logs, database file modes, and the
recursion limit a dependency raises. Real server, real HTTP, real files.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from notary.config import Settings
from notary.service.apikeys import Role, create_key
from storage.db import make_engine
from tests.support import REPO, LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]


def test_the_recursion_limit_is_sane_after_importing_the_whole_stack() -> None:
    # A fresh interpreter, the chain stack first (py_ecc raises the limit to 100,000 when
    # it is imported), then the app, the CLI and the chain adapters.
    code = ("import sys, web3, eth_account, api.app, notary.cli, notary.chain.setup, "
            "notary.bundles.check; print(sys.getrecursionlimit())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert int(out.stdout.strip()) <= 1000, out.stdout


# -- Medium #8: forwarded headers and the auth-failure limit ---------------------------------


def test_forwarded_headers_are_ignored_unless_the_proxy_is_trusted(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(rate_verify_per_minute=3)  # default: no trusted proxy
    query = {"sha256": "ab" * 32}
    codes = [httpx.post(f"{server.url}/v1/verify", json=query, timeout=30,
                        headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
             for i in range(5)]
    assert codes == [200, 200, 200, 429, 429], "a rotating X-Forwarded-For dodged the limit"


def test_proxy_options_follow_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NOTARY_TRUSTED_PROXIES", raising=False)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setenv("NOTARY_HOME", str(tmp_path))
    plain = Settings.from_env()
    assert plain.trusted_proxies == ""
    # uvicorn's own default would trust 127.0.0.1: both options are always passed.
    assert plain.uvicorn_options() == {"proxy_headers": False, "forwarded_allow_ips": ""}
    monkeypatch.setenv("NOTARY_TRUSTED_PROXIES", "10.0.0.5,10.0.1.0/24")
    assert Settings.from_env().uvicorn_options() == {
        "proxy_headers": True, "forwarded_allow_ips": "10.0.0.5,10.0.1.0/24"}


def test_a_throttled_address_still_admits_a_valid_key(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(rate_auth_failures_per_minute=3)  # every caller is 127.0.0.1 here
    eid = "/v1/evidence/ev_" + "0" * 32
    bad = server.client("nk_000000000000_" + "A" * 43)
    assert [bad.get(eid).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert server.admin().get(eid).status_code == 404  # the valid key is not locked out
    assert bad.get(eid).status_code == 429  # the guesser still is


# -- Info #14: health details, the admin key, file modes -------------------------------------


def test_anonymous_health_is_minimal_and_details_need_an_admin_key(server: LiveServer) -> None:
    anonymous = server.client().get("/v1/health")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ok", "version": "0.1.0"}
    text = anonymous.text
    assert str(server.settings.home) not in text and "rpc_url" not in text
    admin = server.admin().get("/v1/health")
    assert admin.status_code == 200
    details = admin.json()
    assert details["status"] == "ok" and details["chain"]["ok"] and "anchoring" in details
    _row, lawyer = create_key(server.service.engine, Role.LAWYER, label="counsel")
    assert server.client(lawyer).get("/v1/health").status_code == 403
    refused = server.client("nk_000000000000_" + "A" * 43).get("/v1/health")
    assert refused.status_code == 401 and refused.json()["code"] == "api_key_invalid"


def test_the_first_admin_key_never_goes_through_logging(
        make_server: Callable[..., LiveServer], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = make_server()
    assert server.admin_key.startswith("nk_")  # created at this first start
    assert server.admin().get("/v1/health").status_code == 200
    assert server.admin_key not in caplog.text
    # the secret part alone (nk_<id>_<secret>; the secret's base64url may itself hold "_",
    # so split twice only: splitting at every "_" could test a two-letter tail)
    secret = server.admin_key.split("_", 2)[2]
    assert len(secret) == 43 and secret not in caplog.text


def test_the_database_and_its_wal_are_private(server: LiveServer) -> None:
    if server.settings.database_url:
        pytest.skip("the PostgreSQL run has no database files")  # SQLite runs check this
    home = server.settings.home
    server.admin().post("/v1/evidence", files={  # a write, so the WAL exists
        "metadata": (None, '{"case_id": "MODE-1", "kind": "notice"}', "application/json"),
        "file": ("n.pdf", b"%PDF-1.4 mode", "application/pdf")})
    files = [home / "notary.db", home / "notary.db-wal", home / "notary.db-shm"]
    assert all(p.exists() for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_an_older_world_readable_database_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    fresh = tmp_path / "new" / "folder" / "n.db"
    for db in (path, fresh):
        engine = make_engine(f"sqlite:///{db}")
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        engine.dispose()
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(fresh.parent.stat().st_mode) == 0o700
