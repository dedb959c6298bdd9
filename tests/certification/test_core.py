"""The declaration (wire name: certification) on facts made with the real core (keys,
statements, a Merkle tree; no chain): the document (notary.core.declaration), its Markdown
(notary.bundles.declaration), the detached signature and each way a declaration can be wrong,
named for the tampering."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from notary.bundles.declaration import declaration_files
from notary.core.declaration import (
    CERTIFICATION_EN_PATH,
    CERTIFICATION_MEDIA_TYPE,
    CERTIFICATION_PATH,
    CERTIFICATION_PDF_PATH,
    CERTIFICATION_SIGNATURE_PATH,
    CERTIFICATION_ZH_PATH,
    BundleSummary,
    Declaration,
    DeclaredItem,
    QualifiedPerson,
    read_declaration,
    sign_declaration,
)
from notary.core.declaration_verify import check_declaration
from notary.core.errors import InputError, NotaryError
from notary.core.signing import SigningKey, sign_detached
from notary.core.statement import canonical_json
from tests.certificate.facts import CASE, signed_case

pytestmark = pytest.mark.unit

KEY = SigningKey.from_seed(bytes(range(32)))
SIGNED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def person(**changes: Any) -> QualifiedPerson:
    base = QualifiedPerson("Jane *Roe*", "Custodian of Records", "Roe & Partners, Ltd.",
                           {k: KEY.public_jwk()[k] for k in ("kty", "crv", "x")})
    return replace(base, **changes)


def certification(who: QualifiedPerson | None = None) -> Declaration:
    case = signed_case()
    items = tuple(DeclaredItem(statement=s, statement_kid="kid-" + str(i), anchor=case.anchor,
                                custody_events=3 + i, path=f"items/{i + 1:03d}", original=None)
                  for i, s in enumerate(case.statements))
    return Declaration(BundleSummary("case", CASE, "2026-11-29T12:53:36.966117Z", True),
                         items, who or person())


def documents(cert: Declaration, **extra: bytes) -> dict[str, bytes]:
    return {**declaration_files(cert), CERTIFICATION_PDF_PATH: b"%PDF-", **extra}


def checks(cert: Declaration, docs: dict[str, bytes],
           items: tuple[DeclaredItem, ...] | None = None) -> dict[str, Any]:
    found = check_declaration(docs, docs.keys(), items=cert.items if items is None else items,
                                bundle=cert.bundle)
    return {c.name: c for c in found}


def test_document_is_canonical_and_the_markdown_is_its_text() -> None:
    cert = certification()
    files = declaration_files(cert)
    doc = json.loads(files[CERTIFICATION_PATH])
    assert canonical_json(doc) == files[CERTIFICATION_PATH]
    assert read_declaration(files[CERTIFICATION_PATH]) == doc
    assert files[CERTIFICATION_EN_PATH].decode() == doc["declarations"]["en"]
    assert files[CERTIFICATION_ZH_PATH].decode() == doc["declarations"]["zh"]
    assert doc["qualified_person"]["key_thumbprint"] == KEY.kid
    # Markup in a name is escaped, and "Ltd." does not end with two full stops.
    assert "Jane \\*Roe\\*" in doc["declarations"]["en"]
    assert "Ltd.." not in doc["declarations"]["en"]
    assert "ev_" in doc["declarations"]["en"]  # identifiers stay readable


def test_untouched_certification_passes_and_is_not_signed() -> None:
    cert = certification()
    found = checks(cert, documents(cert))
    assert found["certification"].status.value == "pass"
    assert found["certification_signature"].status.value == "skip"
    assert "not signed by the qualified person (sign with notary certify sign)" in \
        found["certification_signature"].reason


def test_signature_by_the_named_key_passes() -> None:
    cert = certification()
    data = declaration_files(cert)[CERTIFICATION_PATH]
    token = sign_declaration(data, KEY, signed_at=SIGNED_AT)
    assert token.split(".")[1] == ""
    found = checks(cert, documents(cert, **{CERTIFICATION_SIGNATURE_PATH: token.encode()}))
    assert found["certification_signature"].status.value == "pass"
    assert "2026-12-01T09:00:00Z" in found["certification_signature"].reason


def _forged(cert: Declaration, change: str) -> dict[str, bytes]:
    data = declaration_files(cert)[CERTIFICATION_PATH]
    token = sign_declaration(data, KEY, signed_at=SIGNED_AT)
    header, _, signature = token.split(".")
    if change == "modified-json":
        data = data.replace(b"Jane", b"June")
    elif change == "attached-payload":
        payload = base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        token = f"{header}.{payload}.{signature}"
    elif change == "wrong-typ":
        token = sign_detached(data, "application/vnd.notary.statement.v1+json", KEY,
                              {"signed_at": "2026-12-01T09:00:00Z"})
    elif change == "no-signed-at":
        token = sign_detached(data, CERTIFICATION_MEDIA_TYPE, KEY)
    elif change == "other-key":
        token = sign_detached(data, CERTIFICATION_MEDIA_TYPE, SigningKey.generate(),
                              {"signed_at": "2026-12-01T09:00:00Z"})
    elif change == "signature[0]-bit-@0":
        raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
        raw[0] ^= 1
        token = f"{header}..{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"
    return {**declaration_files(cert), CERTIFICATION_PATH: data, CERTIFICATION_PDF_PATH: b"%PDF-",
            CERTIFICATION_SIGNATURE_PATH: token.encode()}


@pytest.mark.parametrize("change", ["modified-json", "attached-payload", "wrong-typ",
                                    "no-signed-at", "other-key", "signature[0]-bit-@0"])
def test_bad_signatures_fail(change: str) -> None:
    cert = certification()
    found = checks(cert, _forged(cert, change))
    assert found["certification_signature"].status.value == "fail", \
        found["certification_signature"].reason


def test_signature_without_a_named_key_fails_and_unsigned_is_for_the_hand() -> None:
    cert = certification(person(public_key=None))
    found = checks(cert, documents(cert))
    assert found["certification_signature"].status.value == "skip"
    assert "signed by hand" in found["certification_signature"].reason
    data = declaration_files(cert)[CERTIFICATION_PATH]
    token = sign_detached(data, CERTIFICATION_MEDIA_TYPE, KEY)
    found = checks(cert, documents(cert, **{CERTIFICATION_SIGNATURE_PATH: token.encode()}))
    assert found["certification_signature"].status.value == "fail"
    with pytest.raises(NotaryError) as caught:
        sign_declaration(declaration_files(cert)[CERTIFICATION_PATH], KEY, signed_at=SIGNED_AT)
    assert caught.value.code == "certification_key_mismatch"


def test_facts_other_than_the_bundles_fail_naming_the_field() -> None:
    cert = certification()
    other = tuple(replace(i, custody_events=i.custody_events + 1) if i.path == "items/002"
                  else i for i in cert.items)
    found = checks(cert, documents(cert), items=other)
    assert found["certification"].status.value == "fail"
    assert "items[1].custody_events is 4, the bundle says 5" in found["certification"].reason
    assert "it lists 3 record(s), the bundle holds 2" in \
        checks(cert, documents(cert), items=cert.items[:2])["certification"].reason


@pytest.mark.parametrize(("change", "fault"), [
    ("en-md-edited", f"{CERTIFICATION_EN_PATH} is not the declaration (en)"),
    ("zh-md-missing", f"{CERTIFICATION_ZH_PATH} is missing"),
    ("pdf-missing", f"{CERTIFICATION_PDF_PATH} is missing"),
])
def test_declaration_files_must_be_the_documents_text(change: str, fault: str) -> None:
    cert = certification()
    docs = documents(cert)
    if change == "en-md-edited":
        docs[CERTIFICATION_EN_PATH] = docs[CERTIFICATION_EN_PATH].replace(b"perjury", b"jury")
    else:
        del docs[CERTIFICATION_ZH_PATH if change == "zh-md-missing" else CERTIFICATION_PDF_PATH]
    found = checks(cert, docs)
    assert found["certification"].status.value == "fail" and fault in found["certification"].reason


@pytest.mark.parametrize(("change", "fault"), [
    ("unknown-member", "exactly the members"),
    ("thumbprint-not-of-key", "not the RFC 7638 thumbprint"),
    ("schema-v2", "not 'notary.certification/v1'"),
    ("method-changed", "generation method"),
    ("not-canonical", "canonical"),
])
def test_malformed_documents_are_refused(change: str, fault: str) -> None:
    doc = json.loads(declaration_files(certification())[CERTIFICATION_PATH])
    if change == "unknown-member":
        doc["note"] = "x"
    elif change == "thumbprint-not-of-key":
        doc["qualified_person"]["key_thumbprint"] = SigningKey.generate().kid
    elif change == "schema-v2":
        doc["schema"] = "notary.certification/v2"
    elif change == "method-changed":
        doc["method"]["file_hash"] = "MD5"
    data = json.dumps(doc).encode() if change == "not-canonical" else canonical_json(doc)
    with pytest.raises(InputError) as caught:
        read_declaration(data)
    assert caught.value.code == "certification_invalid" and fault in caught.value.message


def test_public_keys_are_read_from_jwk_or_pem_and_private_ones_refused() -> None:
    from cryptography.hazmat.primitives import serialization

    pem = KEY.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    args = {"name": "N", "title": "T", "organisation": "O"}
    by_pem = QualifiedPerson.from_request(**args, public_key=pem)
    by_jwk = QualifiedPerson.from_request(**args, public_key=json.dumps(KEY.public_jwk()))
    assert by_pem is not None and by_jwk is not None
    assert by_pem.key_thumbprint == by_jwk.key_thumbprint == KEY.kid
    assert by_pem.public_key_pem() == pem
    assert QualifiedPerson.from_request(name=None, title=None, organisation=None) is None
    with pytest.raises(InputError, match="private key"):
        QualifiedPerson.from_request(**args, public_key=KEY.to_pem().decode())
    with pytest.raises(InputError, match="private key"):
        QualifiedPerson.from_request(**args, public_key=json.dumps(
            {**KEY.public_jwk(), "d": "AAAA"}))


# -- the Chinese 存证说明 reads as Chinese (issue 12) -------------------------------------------

ENGLISH_ONLY = QualifiedPerson("Li Na", "Records custodian", "Huaxia Collections Ltd")


def _zh(cert: Declaration) -> str:
    return declaration_files(cert)[CERTIFICATION_ZH_PATH].decode()


def test_chinese_values_are_used_in_the_chinese_declaration() -> None:
    who = replace(ENGLISH_ONLY, name_zh="李娜", title_zh="档案管理员",
                  organisation_zh="华夏催收服务有限公司")
    cert = certification(who)
    zh = _zh(cert)
    assert "本人在华夏催收服务有限公司担任档案管理员，" in zh
    assert "说明人李娜（华夏催收服务有限公司，档案管理员）" in zh
    assert "姓名：李娜（Li Na）" in zh and "职务：档案管理员（Records custodian）" in zh
    assert "Records custodian at Huaxia Collections Ltd." in declaration_files(cert)[
        CERTIFICATION_EN_PATH].decode()
    doc = read_declaration(declaration_files(cert)[CERTIFICATION_PATH])
    assert doc["qualified_person"] == {
        "name": "Li Na", "title": "Records custodian", "organisation": "Huaxia Collections Ltd",
        "name_zh": "李娜", "title_zh": "档案管理员", "organisation_zh": "华夏催收服务有限公司"}
    found = checks(cert, documents(cert))
    assert found["certification"].status.value == "pass", found["certification"].reason


def test_english_values_are_quoted_as_names_not_glued_into_chinese() -> None:
    zh = _zh(certification(ENGLISH_ONLY))
    assert "本人在Huaxia Collections Ltd担任Records custodian" not in zh
    assert "本人在“Huaxia Collections Ltd”担任“Records custodian”，" in zh
    assert "说明人“Li Na”（“Huaxia Collections Ltd”，“Records custodian”）" in zh
    assert "姓名：Li Na" in zh  # a signature line needs no quotation marks
    doc = json.loads(declaration_files(certification(ENGLISH_ONLY))[CERTIFICATION_PATH])
    assert set(doc["qualified_person"]) == {"name", "title", "organisation"}  # as before


def test_kinds_and_media_types_are_said_in_chinese() -> None:
    zh = _zh(certification())
    assert "| 类型、媒体类型 | 通话录音（call_recording）；audio/wav（WAV 音频） |" in zh
    assert "| 类型、媒体类型 | 催收通知（notice）；application/pdf（PDF 文档） |" in zh
    assert "还款协议（agreement）" in zh
    assert "notice，application/pdf" not in zh
    en = declaration_files(certification())[CERTIFICATION_EN_PATH].decode()
    assert "| Kind, media type | collection notice (notice); application/pdf (PDF document) |" \
        in en
    cert = certification()
    odd = replace(cert.items[0], statement=replace(cert.items[0].statement,
                                                   media_type="application/octet-stream"))
    zh = _zh(replace(cert, items=(odd,)))
    assert "；application/octet-stream（未识别格式的二进制数据） |" in zh


def test_a_one_item_certification_numbers_its_record_one_of_one() -> None:
    cert = certification()
    second = replace(cert, bundle=replace(cert.bundle, scope="evidence"), items=cert.items[1:2])
    zh, en = _zh(second), declaration_files(second)[CERTIFICATION_EN_PATH].decode()
    assert "共 1 项" in zh and "holding 1 record." in en
    assert "第 1 项（本案第 2 项，items/002）" in zh and "第 2 项（" not in zh
    assert "Record 1 (entry 2 of the case, items/002)" in en and "Record 2" not in en
    # A whole case: position and case entry agree, so each is said once.
    zh = _zh(cert)
    assert "第 1 项（items/001）" in zh and "第 3 项（items/003）" in zh and "本案第" not in zh


@pytest.mark.parametrize(("changes", "fault"), [
    ({"name_zh": None}, "null"),
    ({"name_zh": ""}, "name_zh"),
    ({"title_zh": "档案\u202e管理员"}, "title_zh"),
    ({"nickname_zh": "x"}, "qualified_person must be"),
])
def test_chinese_person_fields_are_strict(changes: dict[str, Any], fault: str) -> None:
    doc = json.loads(declaration_files(certification())[CERTIFICATION_PATH])
    doc["qualified_person"].update(changes)
    with pytest.raises(InputError) as caught:
        read_declaration(canonical_json(doc))
    assert caught.value.code == "certification_invalid" and fault in caught.value.message


def test_chinese_values_without_a_person_are_refused() -> None:
    with pytest.raises(InputError, match="missing: name, title, organisation"):
        QualifiedPerson.from_request(name=None, title=None, organisation=None,
                                     organisation_zh="华夏催收服务有限公司")
    named = QualifiedPerson.from_request(name="N", title="T", organisation="O", title_zh="",
                                         organisation_zh="机构")
    assert named is not None and named.title_zh is None and named.organisation_zh == "机构"
