"""Issue 16 #6 (bundles), over real HTTP with a real chain: a case bundle exported with
``conduct=true`` carries the signed conduct report, and the offline verifier derives the
report again from the bundle's statements; a changed report file, or a report signed by the
service's own key that leaves a call out or adds one, fails the ``conduct`` check, naming why."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from notary.bundles.check import verify_bundle_file
from notary.cli.exits import Exit
from notary.core.bundle import (
    CONDUCT_JSON_PATH,
    CONDUCT_JWS_PATH,
    CONDUCT_PDF_PATH,
    GUIDE_PATH,
    KEYS_PATH,
    BundleVerification,
    KeyPeriod,
    key_history,
    parse_key_history,
)
from notary.core.conduct import CONDUCT
from notary.core.signing import SigningKey, jws_payload
from notary.core.statement import canonical_json
from notary.localfiles import tzdata_version
from notary.service.apikeys import Role, create_key
from tests.bundle.repack import with_manifest
from tests.calls.test_conduct import CASE, _call
from tests.certificate.test_certificate_api import pdf_text
from tests.cli.conftest import client_env, run_notary
from tests.support import LiveServer, wait_until
from tests.webhooks.test_webhooks import submit

pytestmark = [pytest.mark.api, pytest.mark.chain]

A, B = "138 0013 8000", "139 0013 9000"


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def _repack(data: bytes, changes: dict[str, bytes], key: SigningKey) -> bytes:
    """The bundle with members replaced and its manifest rewritten and signed again by
    ``key`` (the service's own): only the conduct check can then tell."""
    return with_manifest(_files(data) | changes, key)


def _resigned_report(data: bytes, report: dict[str, Any], key: SigningKey) -> bytes:
    canonical = canonical_json(report)
    return _repack(data, {CONDUCT_JWS_PATH: CONDUCT.sign(canonical, key).encode(),
                          CONDUCT_JSON_PATH: canonical}, key)


def _verify(data: bytes) -> BundleVerification:
    return verify_bundle_file(io.BytesIO(data))


def _conduct_check(checked: BundleVerification) -> dict[str, str]:
    return next(c.to_json() for c in checked.verdict.checks if c.name == "conduct")


def test_a_case_bundle_with_conduct_verifies_and_a_changed_report_fails(
        server: LiveServer, tmp_path: Path) -> None:
    admin = server.admin()
    starts = [("2026-11-28T09:00:00+08:00", A), ("2026-11-28T22:30:00+08:00", A),
              ("2026-11-29T10:00:00+08:00", B)]
    answers = [_call(admin, start, callee, 500.0 + 30 * i)
               for i, (start, callee) in enumerate(starts)]
    wait_until(lambda: all(admin.get(f"/v1/evidence/{a['id']}").json()["status"] == "anchored"
                           for a in answers))

    resp = admin.get(f"/v1/cases/{CASE}/bundle", params={"conduct": "true"})
    assert resp.status_code == 200, resp.text
    bundle = resp.content
    files = _files(bundle)
    assert {CONDUCT_JWS_PATH, CONDUCT_JSON_PATH, CONDUCT_PDF_PATH} <= set(files)
    report = json.loads(files[CONDUCT_JSON_PATH])
    # The default period holds every call of the case.
    assert [r["evidence_id"] for r in report["contacts"]] == [a["id"] for a in answers]
    assert [r["flags"] for r in report["contacts"]] == [[], ["quiet_hours"], []]
    assert all(r["notarised"] for r in report["contacts"])
    assert "合规通话报告 / The conduct report" in files[GUIDE_PATH].decode()
    text = pdf_text(files[CONDUCT_PDF_PATH], tmp_path)
    assert "案件编号 Case" in text and "证据编号 Evidence" not in text
    assert f"tzdata {tzdata_version()}" in text

    checked = _verify(bundle)
    assert _conduct_check(checked)["status"] == "pass", _conduct_check(checked)
    assert checked.result == "not_established"  # nothing failed; no trust root was pinned
    assert checked.facts["conduct"]["matches"] is True
    assert checked.facts["conduct"]["summary"]["quiet_hours"] == 1

    # notary verify prints the verdict on the report, in both languages.
    path = tmp_path / "case.zip"
    path.write_bytes(bundle)
    run = run_notary("verify", str(path), env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.NOT_ESTABLISHED, run.stdout + run.stderr
    assert "合规通话报告 conduct report: 与声明一致 MATCHES the statements" in run.stdout
    assert f"tzdata {tzdata_version()}" in run.stdout

    key = server.service.signing_key
    # 1. The report file edited (a flag removed): the manifest and the report both say so.
    edited = dict(report)
    edited["contacts"] = [dict(r, flags=[]) for r in report["contacts"]]
    changed = _verify(_repack(bundle, {CONDUCT_JSON_PATH: canonical_json(edited)}, key))
    check = _conduct_check(changed)
    assert check["status"] == "fail" and changed.result == "invalid"
    assert "report.json is not the signed report's payload" in check["reason"]
    # 2. The signature of the report broken.
    token = files[CONDUCT_JWS_PATH].decode()
    head, _payload, sig = token.split(".")
    forged = ".".join([head, CONDUCT.sign(canonical_json(edited), key).split(".")[1], sig])
    bad_sig = _conduct_check(_verify(_repack(bundle, {CONDUCT_JWS_PATH: forged.encode(),
                                                      CONDUCT_JSON_PATH: jws_payload(forged)},
                                             key)))
    assert bad_sig["status"] == "fail" and "not a conduct report signed" in bad_sig["reason"]
    # 3. A report signed by the service's own key that leaves the quiet-hours call out.
    missing = dict(report, contacts=[r for r in report["contacts"] if not r["flags"]],
                   summary=dict(report["summary"], calls=2, quiet_hours=0))
    left_out = _verify(_resigned_report(bundle, missing, key))
    check = _conduct_check(left_out)
    assert check["status"] == "fail" and left_out.result == "invalid"
    assert "leaves out the call of items/002" in check["reason"], check["reason"]
    assert answers[1]["id"] in check["reason"]
    # 4. ... or one that lists a call the bundle does not hold.
    ghost = dict(report["contacts"][0], evidence_id="ev_" + "9" * 32,
                 statement_sha256="ab" * 32)
    extra = dict(report, contacts=[*report["contacts"], ghost],
                 summary=dict(report["summary"], calls=4))
    added = _conduct_check(_verify(_resigned_report(bundle, extra, key)))
    assert added["status"] == "fail"
    assert "lists a call that is not in the bundle (evidence ev_999" in added["reason"]
    # 5. ... or one whose flag differs from what the rules give.
    quiet = dict(report, contacts=[dict(r, flags=[]) for r in report["contacts"]])
    reflagged = _conduct_check(_verify(_resigned_report(bundle, quiet, key)))
    assert reflagged["status"] == "fail"
    assert "its row for items/002" in reflagged["reason"]
    assert "flags=['quiet_hours']" in reflagged["reason"]
    # The CLI names the failure too.
    path.write_bytes(_resigned_report(bundle, missing, key))
    run = run_notary("verify", str(path), env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.FAILED
    assert "不一致 DOES NOT MATCH" in run.stdout and "leaves out the call" in run.stdout


def test_a_named_period_the_cli_and_who_may_ask(server: LiveServer, tmp_path: Path) -> None:
    admin = server.admin()
    first = _call(admin, "2026-11-28T09:00:00+08:00", A, 700.0)
    second = _call(admin, "2026-11-29T09:00:00+08:00", A, 730.0)
    notice = submit(admin, "NO-CALLS-1", "a notice, no call")
    wait_until(lambda: all(admin.get(f"/v1/evidence/{a['id']}").json()["status"] == "anchored"
                           for a in (first, second, notice)))
    out = tmp_path / "named.zip"
    run = run_notary("export", "--case", CASE, "-o", str(out), "--conduct", "--conduct-from",
                     "2026-11-29T00:00:00+08:00", "--conduct-to", "2026-11-30T00:00:00+08:00",
                     env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.OK, run.stderr
    report = json.loads(_files(out.read_bytes())[CONDUCT_JSON_PATH])
    assert [r["evidence_id"] for r in report["contacts"]] == [second["id"]]
    assert _conduct_check(_verify(out.read_bytes()))["status"] == "pass"
    half = run_notary("export", "--case", CASE, "-o", str(tmp_path / "x.zip"),
                      "--conduct-from", "2026-11-29T00:00:00+08:00", env=client_env(server),
                      cwd=tmp_path)
    assert half.returncode == Exit.BAD_INPUT and "argument_missing" in half.stderr
    no_calls = admin.get("/v1/cases/NO-CALLS-1/bundle", params={"conduct": "true"})
    assert no_calls.status_code == 400
    assert no_calls.json()["code"] == "conduct_period_invalid"
    # A collector may take a hashes-only bundle, but not the report (admin and lawyer only).
    collector = server.client(create_key(server.service.engine, Role.COLLECTOR)[1])
    assert collector.get(f"/v1/cases/{CASE}/bundle",
                         params={"hashes_only": "true"}).status_code == 200
    refused = collector.get(f"/v1/cases/{CASE}/bundle",
                            params={"hashes_only": "true", "conduct": "true"})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    half = admin.get(f"/v1/cases/{CASE}/bundle", params={
        "conduct": "true", "conduct_from": "2026-11-29T00:00:00+08:00"})
    assert half.status_code == 400 and half.json()["code"] == "conduct_period_invalid"
    item = admin.get(f"/v1/evidence/{first['id']}/bundle", params={"conduct": "true"})
    assert item.status_code == 200 and CONDUCT_JWS_PATH not in _files(item.content)
    plain = admin.get(f"/v1/cases/{CASE}/bundle")
    assert plain.status_code == 200 and CONDUCT_JWS_PATH not in _files(plain.content)
    assert "conduct" not in _verify(plain.content).facts


def test_a_report_signed_by_a_key_not_valid_when_the_bundle_was_made_fails(
        server: LiveServer) -> None:
    """The report is signed when the bundle is made: a key of keys/jwks.json that was retired
    by then (here: one whose period ended in 2020) cannot have signed it, even when the report
    itself is exactly what the statements give."""
    admin = server.admin()
    answer = _call(admin, "2026-11-28T09:00:00+08:00", A, 400.0)
    wait_until(lambda: admin.get(f"/v1/evidence/{answer['id']}").json()["status"] == "anchored")
    bundle = admin.get(f"/v1/cases/{CASE}/bundle", params={"conduct": "true"}).content
    files = _files(bundle)
    retired = SigningKey.generate()
    keys, periods = parse_key_history(files[KEYS_PATH])
    entries = [(k, periods[k["kid"]]) for k in keys["keys"]]
    entries.append((retired.public_jwk(), KeyPeriod(retired.kid, "2020-01-01T00:00:00Z",
                                                     "2020-06-01T00:00:00Z")))
    payload = files[CONDUCT_JSON_PATH]  # the genuine report, signed again by the retired key
    forged = _repack(bundle, {KEYS_PATH: key_history(entries),
                              CONDUCT_JWS_PATH: CONDUCT.sign(payload, retired).encode()},
                     server.service.signing_key)
    check = _conduct_check(_verify(forged))
    assert check["status"] == "fail", check
    assert f"signed by key {retired.kid}, which was not valid" in check["reason"]
