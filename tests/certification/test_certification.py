"""Court certifications in proof bundles: exported over real HTTP (``notary export
--certifier-...`` and the API) from a live service on anvil, their facts equal to the
evidence, the bilingual PDF rendered by poppler, signed offline by the qualified person with
an openssl-made Ed25519 key (``notary certify sign``), and verified by ``notary verify``, by
jwcrypto and by ``openssl pkeyutl -verify -rawin`` (the steps of VERIFY.md). Tampered and
wrongly signed copies are named for what was done to them."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwk, jws

from notary.bundles.check import verify_bundle_file
from notary.bundles.guide import guide_blocks
from notary.core.bundle import BundleVerification
from notary.core.declaration import (
    CERTIFICATION_EN_PATH,
    CERTIFICATION_PATH,
    CERTIFICATION_PDF_PATH,
    CERTIFICATION_SIGNATURE_PATH,
    CERTIFICATION_ZH_PATH,
    METHOD,
)
from notary.core.signing import SigningKey, sign_detached
from tests.bundle.conftest import CASE, SAMPLE_FILES
from tests.bundle.repack import member, names, rezip
from tests.certification.conftest import PERSON, Certified, ed25519_key
from tests.support import SAMPLES

pytestmark = [pytest.mark.api, pytest.mark.chain]

UNSIGNED = "not signed by the qualified person (sign with notary certify sign)"


def verify(data: bytes) -> BundleVerification:
    """Offline, as ``notary verify BUNDLE.zip`` does."""
    return verify_bundle_file(io.BytesIO(data))


def status(result: BundleVerification, name: str) -> str:
    return result.verdict.check(name).status.value


def sign(certified: Certified, folder: Path, key: Path,
         bundle: Path | None = None) -> subprocess.CompletedProcess[str]:
    return certified.cli("certify", "sign", str(bundle or certified.bundle), "--key", str(key),
                         "-o", str(folder / "signed.zip"), cwd=folder)


@pytest.fixture(scope="module")
def signed(certified: Certified, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The case bundle signed by the custodian with `notary certify sign`."""
    folder = tmp_path_factory.mktemp("signed")
    run = sign(certified, folder, certified.private_key)
    assert run.returncode == 0, run.stderr
    assert "certification signed with key" in run.stderr
    return (folder / "signed.zip").read_bytes()


def document(data: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(member(data, CERTIFICATION_PATH))
    return doc


def test_certification_states_the_evidence(certified: Certified) -> None:
    data = certified.bundle.read_bytes()
    files = {CERTIFICATION_PATH, CERTIFICATION_EN_PATH, CERTIFICATION_ZH_PATH,
             CERTIFICATION_PDF_PATH}
    assert files <= set(names(data))
    manifest = json.loads(member(data, "manifest.json"))
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    for path in files:  # covered by the manifest, like every other file
        assert listed[path] == hashlib.sha256(member(data, path)).hexdigest()
    doc = document(data)
    assert doc["schema"] == "notary.certification/v1" and doc["method"] == dict(METHOD)
    assert doc["bundle"] == {"scope": "case", "case_id": CASE, "hashes_only": False,
                             "created_at": manifest["created_at"]}
    public = jwk.JWK.from_pem(certified.public_key.read_bytes())
    x = public.export_public(as_dict=True)["x"]
    assert doc["qualified_person"] == {**PERSON, "public_key": {"kty": "OKP", "crv": "Ed25519",
                                                                "x": x},
                                       "key_thumbprint": public.thumbprint()}
    http = certified.server.admin()
    assert [i["evidence_id"] for i in doc["items"]] == certified.evidence_ids
    for seq, (item, (sample, kind, captured)) in enumerate(zip(doc["items"], SAMPLE_FILES,
                                                            strict=True), start=1):
        evidence = http.get(f"/v1/evidence/{item['evidence_id']}").json()
        statement, anchor = evidence["statement_json"], evidence["anchor"]
        content = (SAMPLES / sample).read_bytes()
        d = f"items/{seq:03d}"
        assert item["path"] == d and item["case_seq"] == seq
        assert item["file_name"] == sample and item["kind"] == kind
        assert item["captured_at"] == captured
        assert item["sha256"] == hashlib.sha256(content).hexdigest() == statement["sha256"]
        assert item["size"] == len(content)
        assert item["received_at"] == statement["received_at"] == evidence["received_at"]
        assert item["original"] == f"{d}/original/{sample}"
        assert item["statement_sha256"] == hashlib.sha256(
            member(data, f"{d}/statement.json")).hexdigest()
        assert item["statement_kid"] == certified.server.service.signing_key.kid
        assert {k: item["anchor"][k] for k in ("chain_id", "contract", "batch_id", "tx_hash",
                                                "block_number", "block_hash", "block_timestamp")
                } == {k: anchor[k] for k in ("chain_id", "contract", "batch_id", "tx_hash",
                                             "block_number", "block_hash", "block_timestamp")}
        assert item["anchor"]["merkle_root"] == anchor["root"]
        custody = member(data, f"{d}/custody.jsonl").decode().splitlines()
        assert item["custody_events"] == len(custody) >= 3  # registered, stored, anchored
    # The declarations are the texts the document carries, and name every record.
    en = member(data, CERTIFICATION_EN_PATH).decode()
    zh = member(data, CERTIFICATION_ZH_PATH).decode()
    assert (en, zh) == (doc["declarations"]["en"], doc["declarations"]["zh"])
    for item in doc["items"]:
        for text in (en, zh):
            assert item["sha256"] in text and item["anchor"]["tx_hash"] in text
    assert "902(11)" in en and "902(14)" in en and "28 U.S.C. § 1746" in en
    assert "under penalty of perjury" in en and "Executed on (date)" in en
    assert "process of digital identification" in en
    assert "电子数据存证情况说明" in zh and "第十一条" in zh and "第十六条至第十九条" in zh
    assert "说明人（签字）" in zh and "单位（盖章）" in zh and "交易哈希" in zh and "区块高度" in zh
    # The thumbprint is base64url: Markdown escapes an '_' next to '-' (r\_-9), so compare
    # the text as a Markdown reader sees it.
    assert public.thumbprint() in en.replace("\\", "") and \
        public.thumbprint() in zh.replace("\\", "")


def test_unsigned_certification_verifies_with_the_signature_skipped(certified: Certified) -> None:
    result = verify(certified.bundle.read_bytes())
    assert result.verdict.result == "valid" and result.verdict.qualified
    assert status(result, "certification") == "pass"
    assert status(result, "certification_signature") == "skip"
    assert UNSIGNED in result.verdict.check("certification_signature").reason


def test_pdf_renders_in_both_languages(certified: Certified, tmp_path: Path) -> None:
    pdf = tmp_path / "certification.pdf"
    pdf.write_bytes(member(certified.bundle.read_bytes(), CERTIFICATION_PDF_PATH))
    pdftoppm, pdftotext = shutil.which("pdftoppm"), shutil.which("pdftotext")
    assert pdftoppm and pdftotext, "poppler-utils is required (make test installs it)"
    subprocess.run([pdftoppm, "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True,
                   timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages and all(p.read_bytes().startswith(b"\x89PNG") for p in pages)
    text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    text = re.sub(r"\s+", "", text)  # lines wrap anywhere in hashes and Chinese
    doc = document(certified.bundle.read_bytes())
    for expected in ["电子数据存证情况说明", "附表一", "说明人（签字）", "ScheduleA",
                     "underpenaltyofperjury", PERSON["name"].replace(" ", ""),
                     doc["qualified_person"]["key_thumbprint"],
                     *[i["sha256"] for i in doc["items"]]]:
        assert expected in text, expected


def test_signed_by_the_named_key_verifies(certified: Certified, signed: bytes,
                                          tmp_path: Path) -> None:
    assert names(signed)[:-1] == names(certified.bundle.read_bytes())
    assert names(signed)[-1] == CERTIFICATION_SIGNATURE_PATH
    bundle = tmp_path / "signed.zip"
    bundle.write_bytes(signed)
    run = certified.cli("verify", str(bundle), "--json", "--trust-root",
                        f"{certified.server.url}/.well-known/notary-trust-root.json",
                        "--rpc", certified.chain_url, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["result"] == "valid"
    assert checks["manifest"]["status"] == "pass"  # the signature is outside the manifest
    assert checks["certification"]["status"] == "pass"
    assert checks["certification_signature"]["status"] == "pass"
    assert PERSON["name"] in checks["certification_signature"]["reason"]


def test_jwcrypto_verifies_the_detached_signature(signed: bytes, certified: Certified) -> None:
    data = member(signed, CERTIFICATION_PATH)
    token = member(signed, CERTIFICATION_SIGNATURE_PATH).decode()
    _, payload, _ = token.split(".")
    assert payload == ""  # detached: RFC 7515 Appendix F
    key = jwk.JWK.from_pem(certified.public_key.read_bytes())
    obj = jws.JWS()
    obj.deserialize(token)
    obj.verify(key, alg="EdDSA", detached_payload=data)
    assert obj.jose_header["kid"] == key.thumbprint()
    assert obj.jose_header["typ"] == "application/vnd.notary.certification.v1+json"
    with pytest.raises(jws.InvalidJWSSignature):
        obj.verify(key, alg="EdDSA", detached_payload=data.replace(b"Wang", b"Wong"))


def test_verify_md_checks_the_signature_with_jwcrypto_and_openssl(signed: bytes,
                                                                  tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(signed)) as z:  # our own bundle: safe to extract
        z.extractall(tmp_path)
    text = (tmp_path / "VERIFY.md").read_text("utf-8")
    assert "法庭认证 / Court certification" in text
    blocks = [b for h, b in guide_blocks(text) if h.startswith("## 法庭认证")]
    assert len(blocks) == 2
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(blocks)], cwd=tmp_path,
                         env={**os.environ, "PATH": path}, capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{CERTIFICATION_SIGNATURE_PATH}: OK, signed by {PERSON['name']}" in run.stdout
    assert "Signature Verified Successfully" in run.stdout
    assert f"{CERTIFICATION_SIGNATURE_PATH} (openssl): OK" in run.stdout
    # The same steps stop on a changed certification.json.
    target = tmp_path / CERTIFICATION_PATH
    target.write_bytes(target.read_bytes().replace(b"Wang", b"Wong"))
    for block in blocks:
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path,
                             env={**os.environ, "PATH": path}, capture_output=True, text=True,
                             timeout=60, check=False)
        assert run.returncode != 0 and "OK" not in run.stdout, run.stdout


def test_tampered_certification_json_fails(signed: bytes) -> None:
    data = member(signed, CERTIFICATION_PATH)
    forged = rezip(signed, {CERTIFICATION_PATH: data.replace(b"Wang Xiaoming", b"Wang Xiaoling")})
    result = verify(forged)
    assert result.verdict.result == "invalid"
    assert status(result, "manifest") == "fail"
    assert status(result, "certification_signature") == "fail"
    assert "not a valid signature" in result.verdict.check("certification_signature").reason


def test_certification_with_other_facts_fails(certified: Certified) -> None:
    """A certification whose record differs from the bundle's item is caught by its facts,
    whatever the manifest says."""
    original = certified.bundle.read_bytes()
    doc = document(original)
    doc["items"][1]["sha256"] = "0" * 64
    forged = rezip(original, {CERTIFICATION_PATH: json.dumps(doc).encode()})
    result = verify(forged)
    check = result.verdict.check("certification")
    assert check.status.value == "fail"
    assert "canonical" in check.reason  # re-serialised by the forger: not RFC 8785
    from notary.core.statement import canonical_json

    forged = rezip(original, {CERTIFICATION_PATH: canonical_json(doc)})
    check = verify(forged).verdict.check("certification")
    assert check.status.value == "fail" and "items[1].sha256" in check.reason, check.reason


def test_signature_by_another_key_fails(certified: Certified, signed: bytes,
                                        tmp_path: Path) -> None:
    other, _ = ed25519_key(tmp_path, "impostor")
    # notary certify sign refuses a key the certification does not name ...
    run = sign(certified, tmp_path, other)
    assert run.returncode == 1 and "certification_key_mismatch" in run.stderr, run.stderr
    assert not (tmp_path / "signed.zip").exists()
    # ... and a signature made with it anyway fails verification.
    impostor = SigningKey.from_pem(other.read_bytes())
    token = sign_detached(member(signed, CERTIFICATION_PATH),
                          "application/vnd.notary.certification.v1+json", impostor,
                          {"signed_at": "2026-12-01T09:00:00Z"})
    result = verify(rezip(signed, {CERTIFICATION_SIGNATURE_PATH: token.encode()}))
    assert result.verdict.result == "invalid"
    assert status(result, "manifest") == "pass"
    check = result.verdict.check("certification_signature")
    assert check.status.value == "fail" and "unknown_kid" not in check.reason
    assert impostor.kid in check.reason


def test_signing_twice_and_unreadable_input_are_refused(certified: Certified, signed: bytes,
                                                        tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    again.write_bytes(signed)
    run = sign(certified, tmp_path, certified.private_key, bundle=again)
    assert run.returncode == 1 and "certification_signed" in run.stderr
    plain = tmp_path / "plain.zip"
    plain.write_bytes(rezip(certified.bundle.read_bytes(),
                            {p: None for p in names(certified.bundle.read_bytes())
                             if p.startswith("certification/")}))
    run = sign(certified, tmp_path, certified.private_key, bundle=plain)
    assert run.returncode == 1 and "certification_missing" in run.stderr


def test_hashes_only_item_bundle_with_a_person_but_no_key(certified: Certified) -> None:
    http = certified.server.admin()
    resp = http.get(f"/v1/evidence/{certified.evidence_ids[2]}/bundle", params={
        "hashes_only": "true", "certifier_name": "Jane Roe", "certifier_title": "Paralegal",
        "certifier_organisation": "Roe & Partners LLP"})
    assert resp.status_code == 200, resp.text
    doc = document(resp.content)
    assert doc["qualified_person"] == {"name": "Jane Roe", "title": "Paralegal",
                                       "organisation": "Roe & Partners LLP"}
    assert [i["case_seq"] for i in doc["items"]] == [3] and "original" not in doc["items"][0]
    assert "hash values, not copies of the records" in doc["declarations"]["en"]
    result = verify(resp.content)
    assert result.verdict.result == "valid"
    assert status(result, "certification") == "pass"
    check = result.verdict.check("certification_signature")
    assert check.status.value == "skip" and "signed by hand" in check.reason


def test_one_item_export_in_chinese_terms(certified: Certified, tmp_path: Path) -> None:
    """Issue 12: the 存证说明 of a one-item export uses the Chinese values sent with
    ``certifier_*_zh``, names the kind in Chinese and numbers its one record 1 (of 1)."""
    http = certified.server.admin()
    resp = http.get(f"/v1/evidence/{certified.evidence_ids[1]}/bundle", params={
        "certifier_name": "Li Na", "certifier_title": "Records custodian",
        "certifier_organisation": "Huaxia Collections Ltd", "certifier_name_zh": "李娜",
        "certifier_title_zh": "档案管理员", "certifier_organisation_zh": "华夏催收服务有限公司"})
    assert resp.status_code == 200, resp.text
    doc = document(resp.content)
    assert doc["qualified_person"]["organisation_zh"] == "华夏催收服务有限公司"
    zh = member(resp.content, CERTIFICATION_ZH_PATH).decode()
    assert "本人在华夏催收服务有限公司担任档案管理员，" in zh and "Records custodian，" not in zh
    assert "共 1 项" in zh and "第 1 项（本案第 2 项，items/002）" in zh and "第 2 项（" not in zh
    # The fixture uploads the PDF as application/octet-stream: the type read from its content
    # is named in Chinese, not left bare.
    assert "| 类型、媒体类型 | 催收通知（notice）；application/pdf（PDF 文档） |" in zh
    en = member(resp.content, CERTIFICATION_EN_PATH).decode()
    assert "Record 1 (entry 2 of the case, items/002)" in en
    result = verify(resp.content)
    assert result.verdict.result == "valid" and status(result, "certification") == "pass"
    pdf = tmp_path / "certification.pdf"
    pdf.write_bytes(member(resp.content, CERTIFICATION_PDF_PATH))
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils is required (make test installs it)"
    text = re.sub(r"\s+", "", subprocess.run([pdftotext, str(pdf), "-"], capture_output=True,
                                              text=True, check=True).stdout)
    for expected in ["本人在华夏催收服务有限公司担任档案管理员", "李娜", "催收通知（notice）",
                     "第1项（本案第2项，items/002）"]:
        assert expected in text, expected


@pytest.mark.parametrize(("params", "fault"), [
    ({"certifier_name": "Jane Roe"}, "missing: title, organisation"),
    ({"certifier_key": "{}"}, "missing: name, title, organisation"),
    ({"certifier_organisation_zh": "华夏催收服务有限公司"}, "missing: name, title, organisation"),
    ({"certifier_name": "J", "certifier_title": "T", "certifier_organisation": "O",
      "certifier_title_zh": "档案\u202e管理员"}, "title_zh"),
    ({"certifier_name": "J", "certifier_title": "T", "certifier_organisation": "O",
      "certifier_key": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n"
                       "-----END PRIVATE KEY-----\n"}, "private key"),
    ({"certifier_name": "J", "certifier_title": "T", "certifier_organisation": "O",
      "certifier_key": '{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}'}, "not an Ed25519"),
    ({"certifier_name": "J\u202e", "certifier_title": "T", "certifier_organisation": "O"},
     "name"),
])
def test_bad_certification_requests_are_refused(certified: Certified, params: dict[str, str],
                                                fault: str) -> None:
    resp = certified.server.admin().get(f"/v1/cases/{CASE}/bundle", params=params)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == "certification_invalid" and fault in body["message"], body
