"""``notary verify BUNDLE`` as a court's expert runs it, and ``POST /v1/verify`` as the
service's own page calls it, on the genuine case bundle of the session's live service
(tests/bundle/conftest.py) and on a copy re-signed with somebody else's key.

The trust root is the live service's own, fetched over real HTTP from its
``/.well-known/notary-trust-root.json`` (as a file and as a URL); the chain node is the
session's anvil, named by the verifier (``--rpc``), never taken from the bundle. Exit codes:
0 valid, 1 invalid or unknown, 2 an unusable trust root, 5 not established (no trust root).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from notary.cli.exits import Exit
from notary.core.signing import SigningKey
from notary.core.trustroot import MAX_TRUST_ROOT_BYTES
from tests.bundle.conftest import Exported
from tests.bundle.repack import resigned
from tests.support import REPO, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

WELL_KNOWN = "/.well-known/notary-trust-root.json"
#: The five, and neutrality: the bundle carries the log's part (docs/bundle-format.md §4.8).
QUESTIONS = ["integrity", "existence_time", "issuer", "completeness", "custody", "neutrality"]


def notary_verify(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, in a clean environment (no NOTARY_* of the machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    return subprocess.run([sys.executable, "-m", "notary.cli", "verify", str(path), *args],
                          cwd=path.parent, capture_output=True, text=True, timeout=120,
                          env={**env, "PYTHONPATH": str(REPO)}, check=False)


@pytest.fixture(scope="module")
def trust_root(exported: Exported) -> bytes:
    resp = httpx.get(exported.server.url + WELL_KNOWN, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.content


@pytest.fixture
def files(exported: Exported, trust_root: bytes, tmp_path: Path) -> dict[str, Path]:
    bundle = tmp_path / "case.zip"
    bundle.write_bytes(exported.case_bundle)
    root = tmp_path / "trust-root.json"
    root.write_bytes(trust_root)
    return {"bundle": bundle, "root": root}


def fingerprint_of(exported: Exported) -> str:
    return str(exported.server.client().get("/v1/keys").json()["trust_root_fingerprint"])


def answers(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert [a["question"] for a in report["answers"]] == QUESTIONS
    return {a["question"]: a for a in report["answers"]}


# -- notary verify ------------------------------------------------------------------------------


def test_pinned_by_file_with_a_node_is_valid_and_says_who(exported: Exported,
                                                          files: dict[str, Path]) -> None:
    run = notary_verify(files["bundle"], "--trust-root", str(files["root"]),
                        "--rpc", exported.chain_url)
    assert run.returncode == Exit.OK, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("有效 VALID"), lines[0]
    # the five answers come first, one line each, both languages, then who, then the checks
    assert lines[1] == "六个问题 / The six questions:"
    for line, (zh, en) in zip(lines[2:7], [("完整性", "Integrity"), ("存在时间", "Existence time"),
                                           ("签发方", "Issuer"), ("齐全性", "Completeness"),
                                           ("保管链", "Custody")], strict=True):
        assert line.startswith(f"  {zh} {en} ") and "[通过 pass]" in line, line
    # no witness is configured: nobody but the operator attests the log (not required)
    assert lines[7].startswith("  中立性 Neutrality ") and "[未知 unknown]" in lines[7]
    assert lines[4].endswith(exported.server.settings.operator_name)  # the issuer's line
    assert lines[8] == "理由 / Why:"
    assert lines[9].startswith("  完整性：") and lines[10].startswith("  Integrity: ")
    who = run.stdout.index("谁 / Who:")
    assert run.stdout.index("六个问题") < who < run.stdout.index("各项检查 / Every check:")
    operator = exported.server.settings.operator_name
    assert f"运营方 operator:      {operator}" in run.stdout
    assert f"{fingerprint_of(exported)}  已固定 pinned (from {files['root']})" in run.stdout

    as_json = notary_verify(files["bundle"], "--trust-root", str(files["root"]),
                            "--rpc", exported.chain_url, "--json")
    assert as_json.returncode == Exit.OK, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["result"] == "valid"
    issuer = answers(report)["issuer"]
    assert issuer["status"] == "pass" and issuer["pinned"] is True
    assert issuer["operator"]["name"] == operator
    assert issuer["trust_root_fingerprint"] == fingerprint_of(exported)


@pytest.mark.parametrize("how", ["well-known URL", "site URL"])
def test_pinned_by_url_of_the_service(exported: Exported, files: dict[str, Path],
                                      how: str) -> None:
    url = exported.server.url + (WELL_KNOWN if how == "well-known URL" else "")
    run = notary_verify(files["bundle"], "--trust-root", url, "--rpc", exported.chain_url,
                        "--trust-root-fingerprint", fingerprint_of(exported).upper())
    assert run.returncode == Exit.OK, run.stdout + run.stderr
    assert f"(from {exported.server.url}{WELL_KNOWN})" in run.stdout


def test_pinned_without_a_node_is_unknown_exit_1(files: dict[str, Path]) -> None:
    run = notary_verify(files["bundle"], "--trust-root", str(files["root"]), "--json")
    assert run.returncode == Exit.FAILED, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["result"] == "unknown"
    assert answers(report)["existence_time"]["status"] == "unknown"
    assert not [c for c in report["checks"] if c["status"] == "fail"]


@pytest.mark.parametrize("online", [False, True])
def test_without_a_trust_root_it_is_not_established_exit_5(exported: Exported,
                                                           files: dict[str, Path],
                                                           online: bool) -> None:
    rpc = ["--rpc", exported.chain_url] if online else []
    run = notary_verify(files["bundle"], *rpc)
    assert run.returncode == Exit.NOT_ESTABLISHED, run.stdout + run.stderr
    assert run.stdout.startswith("签发方未确立 NOT ESTABLISHED")
    assert "VALID" not in run.stdout.splitlines()[0]
    # how to pin: the file from `notary trust-root`, the well-known URL, the fingerprint
    assert "notary trust-root" in run.stdout and WELL_KNOWN in run.stdout
    assert "--trust-root-fingerprint <" in run.stdout
    # the bundle's own fingerprint is reported, never offered as the one to pin
    bundled = answers(json.loads(notary_verify(files["bundle"], "--json").stdout))["issuer"][
        "bundled_trust_root_fingerprint"]
    assert bundled and f"--trust-root-fingerprint {bundled}" not in run.stdout
    assert "未固定 NOT pinned" in run.stdout
    report = json.loads(notary_verify(files["bundle"], *rpc, "--json").stdout)
    assert report["result"] == "not_established"
    issuer = answers(report)["issuer"]
    assert issuer["pinned"] is False and issuer["status"] == "unknown"
    assert issuer["trust_root_fingerprint"] is None


def test_a_wrong_fingerprint_is_bad_input_exit_2(files: dict[str, Path]) -> None:
    wrong = "0123-4567-89ab-cdef-0123-4567-89ab-cdef"
    run = notary_verify(files["bundle"], "--trust-root", str(files["root"]),
                        "--trust-root-fingerprint", wrong)
    assert run.returncode == Exit.BAD_INPUT, run.stdout + run.stderr
    assert run.stdout == ""
    assert run.stderr.startswith("error trust_root_unusable: ")
    assert "trust_root_fingerprint_mismatch" in run.stderr
    assert wrong in run.stderr and "Traceback" not in run.stderr
    alone = notary_verify(files["bundle"], "--trust-root-fingerprint", wrong)
    assert alone.returncode == Exit.BAD_INPUT, alone.stdout + alone.stderr


def test_the_fingerprint_alone_pins_the_bundles_own_copy(exported: Exported,
                                                         files: dict[str, Path]) -> None:
    run = notary_verify(files["bundle"], "--trust-root-fingerprint", fingerprint_of(exported),
                        "--rpc", exported.chain_url)
    assert run.returncode == Exit.OK, run.stdout + run.stderr
    assert "(from the bundle's keys/trust-root.json)" in run.stdout


@pytest.mark.parametrize(("what", "code"), [
    ("missing file", "trust_root_missing"),
    ("one byte changed", "trust_root_"),
    ("too large", "trust_root_too_large"),
    ("not found at the URL", "trust_root_unreachable"),
    ("nobody listening", "trust_root_unreachable"),
    ("a fingerprint that is not one", "fingerprint_invalid"),
])
def test_an_unusable_trust_root_is_bad_input_exit_2(exported: Exported, files: dict[str, Path],
                                                    trust_root: bytes, what: str,
                                                    code: str) -> None:
    where = files["root"].parent
    extra: list[str] = []
    if what == "missing file":
        source = str(where / "nope.json")
    elif what == "one byte changed":
        (where / "bad.json").write_bytes(trust_root.replace(b'"chain_id":', b'"chain_id": ', 1))
        source = str(where / "bad.json")
    elif what == "too large":
        (where / "big.json").write_bytes(b" " * (MAX_TRUST_ROOT_BYTES + 1))
        source = str(where / "big.json")
    elif what == "not found at the URL":
        source = exported.server.url + "/.well-known/no-such-root.json"
    elif what == "nobody listening":
        source = "http://127.0.0.1:9/.well-known/notary-trust-root.json"
    else:
        source, extra = str(files["root"]), ["--trust-root-fingerprint", "abcd"]
    run = notary_verify(files["bundle"], "--trust-root", source, *extra,
                        "--rpc", exported.chain_url)
    assert run.returncode == Exit.BAD_INPUT, run.stdout + run.stderr
    assert run.stderr.startswith(f"error {code}"), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and run.stdout == ""


# -- a bundle re-signed with another key --------------------------------------------------------


@pytest.fixture(scope="module")
def forged(exported: Exported) -> bytes:
    return resigned(exported.case_bundle, SigningKey.from_seed(b"\x42" * 32))


def test_a_resigned_bundle_fails_with_the_trust_root_and_is_not_established_without(
        exported: Exported, files: dict[str, Path], forged: bytes) -> None:
    path = files["bundle"].with_name("forged.zip")
    path.write_bytes(forged)
    pinned = notary_verify(path, "--trust-root", str(files["root"]), "--rpc",
                           exported.chain_url, "--json")
    assert pinned.returncode == Exit.FAILED, pinned.stdout + pinned.stderr
    report = json.loads(pinned.stdout)
    assert report["result"] == "invalid"
    assert answers(report)["issuer"]["status"] == "fail"
    kid = SigningKey.from_seed(b"\x42" * 32).kid
    assert any(kid in c["reason"] for c in report["checks"] if c["status"] == "fail")
    bare = notary_verify(path, "--rpc", exported.chain_url)
    assert bare.returncode == Exit.NOT_ESTABLISHED, bare.stdout + bare.stderr


# -- POST /v1/verify ----------------------------------------------------------------------------


def post_bundle_to(server: LiveServer, data: bytes) -> dict[str, Any]:
    resp = server.client().post("/v1/verify", files={
        "bundle": ("case.zip", data, "application/zip")})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def post_bundle(exported: Exported, data: bytes) -> dict[str, Any]:
    return post_bundle_to(exported.server, data)


def test_the_service_verifies_its_own_bundle_against_its_trust_root(exported: Exported) -> None:
    body = post_bundle(exported, exported.case_bundle)
    assert body["result"] == "valid", json.dumps(body, ensure_ascii=False)[:2000]
    issuer = answers(body)["issuer"]
    assert issuer["status"] == "pass" and issuer["pinned"] is True
    assert issuer["operator"]["name"] == exported.server.settings.operator_name
    assert issuer["trust_root_fingerprint"] == fingerprint_of(exported)
    assert body["this_service"]["notarised_here"] is True
    assert exported.server.settings.operator_name in body["this_service"]["reason"]["en"]
    for answer in body["answers"]:
        assert answer["reason"]["zh"] and answer["reason"]["en"]


def test_a_resigned_bundle_is_not_notarised_by_this_service_naming_the_keys(
        exported: Exported, forged: bytes) -> None:
    body = post_bundle(exported, forged)
    assert body["result"] == "invalid"
    ours = body["this_service"]
    assert ours["notarised_here"] is False
    assert ours["reason"]["zh"].startswith("不是本服务存证的")
    assert ours["reason"]["en"].startswith("Not notarised by this service")
    assert "signing key" in ours["reason"]["en"] and "签名密钥" in ours["reason"]["zh"]
    assert {p["part"] for p in ours["parts"]} >= {"signing key"}
    kid = SigningKey.from_seed(b"\x42" * 32).kid
    assert any(kid in p["reason"] for p in ours["parts"])


def test_a_check_by_hash_says_the_file_was_not_compared(exported: Exported) -> None:
    public = exported.server.client()
    item = exported.server.admin().get(f"/v1/evidence/{exported.evidence_ids[1]}").json()
    body = public.post("/v1/verify", json={"sha256": item["sha256"]}).json()
    assert body["file_compared"] is False
    file_hash = next(c for c in body["checks"] if c["name"] == "file_hash")
    assert file_hash["status"] == "skip"
    assert "the file itself was not compared" in file_hash["reason"]
    assert "its hash was looked up" in file_hash["reason"]


def test_another_deployments_bundle_is_not_ours_naming_key_and_registry(
        exported: Exported, make_server: Callable[..., LiveServer]) -> None:
    # Somebody else runs the same code: their own key, account and registry on the same chain.
    other = make_server()
    created = other.admin().post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": "HX-2026-1128-ZW", "kind": "agreement"}),
                     "application/json"),
        "file": ("agreement.pdf", b"%PDF-1.4 an agreement nobody signed", "application/pdf")})
    assert created.status_code == 201, created.text
    item = created.json()["id"]
    wait_until(lambda: other.admin().get(f"/v1/evidence/{item}").json()["status"] == "anchored")
    bundle = other.admin().get(f"/v1/evidence/{item}/bundle")
    assert bundle.status_code == 200, bundle.text
    # Their own service calls it theirs; ours says it is not, naming what is not ours.
    assert post_bundle_to(other, bundle.content)["this_service"]["notarised_here"] is True
    body = post_bundle(exported, bundle.content)
    assert body["result"] == "invalid"
    ours = body["this_service"]
    assert ours["notarised_here"] is False, ours
    named = {p["part"] for p in ours["parts"]}
    assert {"signing key", "registry"} <= named, ours
    assert "登记合约" in ours["reason"]["zh"] and "registry" in ours["reason"]["en"]
    other_registry = other.service.chain.registry.address  # type: ignore[union-attr]
    assert any(other_registry in p["reason"] for p in ours["parts"])


def test_a_node_that_does_not_answer_makes_the_time_unknown_exit_1(
        files: dict[str, Path]) -> None:
    run = notary_verify(files["bundle"], "--trust-root", str(files["root"]),
                        "--rpc", "http://127.0.0.1:9", "--json")
    assert run.returncode == Exit.FAILED, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["result"] == "unknown"
    assert answers(report)["existence_time"]["status"] == "unknown"
