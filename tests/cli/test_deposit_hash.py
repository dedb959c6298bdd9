"""``notary deposit-hash`` and the SDK's ``deposit_hash``/``deposit_hashes`` against a live
service: the file is hashed here and never sent; running it again deposits nothing twice."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from notary.cli.exits import Exit
from notary.client import Client, ServiceError
from tests.cli.conftest import client_env, run_notary
from tests.support import LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "HX-2026-1207-HASH"


def test_cli_deposits_hashes_only_and_again_answers_the_first_receipts(
        server: LiveServer, tmp_path: Path) -> None:
    files = []
    for n in range(3):
        path = tmp_path / f"statement-{n}.pdf"
        path.write_bytes(f"%PDF-1.7 account statement {n}".encode())
        files.append(path)
    args = ("deposit-hash", *map(str, files), "--case", CASE, "--kind", "other")
    run = run_notary(*args, env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.OK, run.stderr
    for path in files:
        assert hashlib.sha256(path.read_bytes()).hexdigest() in run.stdout
    assert "仅哈希存证" in run.stdout and "hash-only deposit" in run.stdout
    assert "never saw them" in run.stdout
    ids = [line.split()[0] for line in run.stdout.splitlines() if line.startswith("ev_")]
    assert len(ids) == 3

    again = run_notary(*args, "--json", env=client_env(server), cwd=tmp_path)
    assert again.returncode == Exit.OK, again.stderr
    results = json.loads(again.stdout)
    assert [r["status"] for r in results] == [200, 200, 200]
    assert [r["evidence"]["id"] for r in results] == ids
    assert all(r["evidence"]["deposit"] == "hash_only" for r in results)

    missing = run_notary("deposit-hash", str(tmp_path / "nope.pdf"), "--case", CASE, "--kind",
                         "other", env=client_env(server), cwd=tmp_path)
    assert missing.returncode == Exit.BAD_INPUT, missing.stderr


def test_sdk_deposits_one_and_many_with_idempotency(server: LiveServer) -> None:
    client = Client(server.url, server.admin_key)
    sha = hashlib.sha256(b"one").hexdigest()
    one = client.deposit_hash({"case_id": CASE, "kind": "notice", "sha256": sha, "size": 3,
                               "client_id": "sdk-1"})
    assert one["deposit"] == "hash_only" and one["cid"] is None
    assert client.deposit_hash({"case_id": CASE, "kind": "notice", "sha256": sha, "size": 3,
                                "client_id": "sdk-1"})["id"] == one["id"]
    with pytest.raises(ServiceError) as conflict:
        client.deposit_hash({"case_id": CASE, "kind": "notice", "sha256": sha, "size": 4,
                             "client_id": "sdk-1"})
    assert conflict.value.code == "client_id_conflict" and conflict.value.http_status == 409
    many = client.deposit_hashes([
        {"case_id": CASE, "kind": "other", "sha256": hashlib.sha256(bytes([n])).hexdigest(),
         "size": 1} for n in range(5)] + [{"case_id": CASE, "kind": "other", "sha256": "x",
                                           "size": 1}])
    assert [r["status"] for r in many] == [201] * 5 + [422]
    assert [r["index"] for r in many] == list(range(6))
    assert many[5]["error"] is not None and many[5]["error"]["code"] == "sha256_invalid"
    assert all(r["client_id"] for r in many)  # made by the SDK: a resend is safe
