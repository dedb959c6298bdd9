"""notary.core.statement and notary.core.validate: canonical bytes byte for byte, strict
parsing, and every rejection (the committed vectors name each one for what it tries)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from notary.core.errors import InputError, StatementError
from notary.core.merkle import statement_leaf, to_hex32
from notary.core.statement import (
    MAX_STATEMENT_BYTES,
    STATEMENT_SCHEMA,
    EvidenceKind,
    Statement,
)
from notary.core.validate import (
    format_rfc3339_utc,
    validate_file_name,
    validate_media_type,
    validate_rfc3339,
    validate_text,
)

pytestmark = pytest.mark.unit

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "statement.json").read_text("utf-8")
)
GOLDEN = {s["name"]: s for s in VECTORS["statements"]}


def _fields(**changes: Any) -> dict[str, Any]:
    fields = dict(GOLDEN["full"]["json"])
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def _kwargs(**changes: Any) -> dict[str, Any]:
    return _fields(**changes)


# --- golden vectors --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_canonical_bytes_match_golden_vector(name: str) -> None:
    vector = GOLDEN[name]
    statement = Statement.from_json(vector["json"])
    canonical = statement.canonical_bytes()
    assert canonical == bytes.fromhex(vector["canonical_hex"])
    assert canonical == vector["canonical_text"].encode("utf-8")
    assert statement.digest().hex() == vector["sha256"] == hashlib.sha256(canonical).hexdigest()
    leaf = statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))
    assert to_hex32(leaf) == vector["leaf"]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_round_trip_bytes_json_statement(name: str) -> None:
    vector = GOLDEN[name]
    canonical = bytes.fromhex(vector["canonical_hex"])
    statement = Statement.from_bytes(canonical)
    assert statement.to_json() == vector["json"]
    assert Statement.from_json(statement.to_json()) == statement
    assert statement.canonical_bytes() == canonical
    assert hash(statement) == hash(Statement.from_bytes(canonical))


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_canonical_form_agrees_with_an_independent_serialiser(name: str) -> None:
    # For objects with ASCII keys, integers and strings, RFC 8785 is exactly sorted keys,
    # no whitespace, raw UTF-8: an independent second opinion on rfc8785's output.
    obj = GOLDEN[name]["json"]
    independent = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert Statement.from_json(obj).canonical_bytes() == independent.encode("utf-8")


def test_case_chain_links_to_previous_statement() -> None:
    first = Statement.from_json(GOLDEN["full"]["json"])
    second = Statement.from_json(GOLDEN["second-in-case"]["json"])
    assert second.case_seq == first.case_seq + 1
    assert second.prev_statement == first.digest_hex()


def test_optional_fields_are_omitted_not_null() -> None:
    statement = Statement.from_json(GOLDEN["second-in-case"]["json"])
    assert statement.description is None
    as_json = statement.to_json()
    assert "description" not in as_json and "parties" not in as_json
    assert b"null" not in statement.canonical_bytes()


def test_identity_fields_are_optional_and_round_trip() -> None:
    """tenant_name and submitter_name (issue 14): absent, a statement keeps its old bytes;
    present, they are signed like any field and survive bytes -> statement -> bytes."""
    old = GOLDEN["second-in-case"]
    plain = Statement.from_json(old["json"])
    assert plain.tenant_name is None and plain.submitter_name is None
    assert plain.canonical_bytes().hex() == old["canonical_hex"]
    assert b"tenant_name" not in plain.canonical_bytes()
    golden = GOLDEN["with-identity"]
    named = Statement.from_bytes(bytes.fromhex(golden["canonical_hex"]))
    assert named.tenant_name == "华信资产管理有限公司"
    assert named.submitter_name == "催收员 工号 1024"
    assert named.prev_statement == plain.digest_hex()
    assert named.canonical_bytes().hex() == golden["canonical_hex"]
    assert Statement.from_json(named.to_json()) == named
    without = Statement.from_json({k: v for k, v in golden["json"].items()
                                   if k not in ("tenant_name", "submitter_name")})
    assert without.digest() != named.digest()  # the names are part of what is signed
    for field, value in [("tenant_name", "n" * 257), ("submitter_name", "工" * 257),
                         ("tenant_name", 7), ("submitter_name", "a\u0000b"),
                         ("submitter_name", " 工号 1024")]:
        with pytest.raises(StatementError) as err:
            Statement.from_json({**golden["json"], field: value})
        assert err.value.details["field"] == field
    assert Statement.from_json({**golden["json"], "tenant_name": "T" * 256}).tenant_name


# --- rejections ------------------------------------------------------------------------

REJECTS = {c["name"]: c for c in VECTORS["rejects"]}


@pytest.mark.parametrize("name", sorted(REJECTS))
def test_rejects_vector(name: str) -> None:
    case = REJECTS[name]
    data = bytes.fromhex(case["hex"]) if "hex" in case else case["text"].encode("utf-8")
    with pytest.raises(StatementError) as err:
        Statement.from_bytes(data)
    assert err.value.code == case["code"], err.value.message
    assert err.value.details.get("field") == case.get("field"), err.value.message


def test_rejects_cover_the_required_attacks() -> None:
    required = {
        "unknown-field", "non-canonical-key-order", "trailing-garbage", "trailing-newline",
        "unknown-kind", "control-character-in-case-id", "path-traversal-in-file-name",
        "backslash-in-file-name", "prev-statement-on-first", "missing-prev-statement",
        "duplicate-key",
    }
    assert required <= set(REJECTS)


def test_oversize_input_is_refused_before_parsing() -> None:
    data = b"[" + b" " * MAX_STATEMENT_BYTES + b"]"
    with pytest.raises(StatementError) as err:
        Statement.from_bytes(data)
    assert err.value.code == "statement_too_large"


def test_statement_too_large_to_construct() -> None:
    # 32 parties of 8 entries of 256 characters: every field within its limit, the whole
    # statement over MAX_STATEMENT_BYTES.
    party = {"role": "r" * 256, "name": "n" * 256} | {f"key_{i}": "v" * 256 for i in range(6)}
    with pytest.raises(StatementError) as err:
        Statement(**_kwargs(parties=[party] * 32))
    assert err.value.code == "statement_too_large"


def test_from_json_rejects_non_object_and_wrong_types() -> None:
    with pytest.raises(StatementError):
        Statement.from_json([])
    for field, value in [("size", "904590"), ("case_id", 5), ("parties", {"role": "x"}),
                         ("kind", 1), ("description", ["x"])]:
        with pytest.raises(StatementError) as err:
            Statement.from_json(_fields(**{field: value}))
        assert err.value.details["field"] == field


def test_constructor_validates_and_normalises() -> None:
    statement = Statement(**_kwargs(kind="agreement"))
    assert statement.kind is EvidenceKind.AGREEMENT
    assert statement.schema == STATEMENT_SCHEMA
    assert statement.parties is not None
    with pytest.raises(TypeError):
        statement.parties[0]["name"] = "someone else"  # type: ignore[index]
    with pytest.raises(StatementError) as err:
        Statement(**_kwargs(media_type="audio"))
    assert err.value.details["field"] == "media_type"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("parties", []),
        ("parties", [{"role": "debtor"}]),
        ("parties", [{"role": "debtor", "name": "x", "Bad-Key": "y"}]),
        ("parties", [{"role": "debtor", "name": "x\u0000"}]),
        ("parties", "debtor"),
        ("content_address", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"),
        ("content_address", "bafy BEI"),
        ("submitter_signature", "not a jws"),
        ("description", "line\r\nbreak"),
        ("description", ""),
        ("captured_at", "2026-11-28 09:30:00Z"),
        ("captured_at", "2026-11-28t09:30:00z"),
        ("received_at", "2026-11-29T24:00:00Z"),
        ("evidence_id", " ev"),
        ("submitter", "s" * 257),
        ("case_id", "c" * 129),
        ("file_name", "f" * 256),
        ("file_name", ".."),
        ("file_name", "a\u0000b"),
        ("media_type", "audio/mpeg; codecs"),
    ],
)
def test_field_rules(field: str, value: object) -> None:
    with pytest.raises(StatementError) as err:
        Statement(**_kwargs(**{field: value}))
    assert err.value.details["field"].split("[")[0] == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("case_id", "c" * 128),
        ("file_name", "f" * 255),
        ("file_name", "Aufnahme Müller (2).wav"),
        ("submitter", "s" * 256),
        ("description", "d" * 4096),
        ("description", "two\nlines\tand a tab"),
        ("captured_at", "2016-12-31T23:59:60Z"),
        ("captured_at", "2026-11-28T09:30:00.123456789-03:30"),
        ("media_type", 'text/plain; charset=utf-8; name="a b"'),
        ("submitter_signature", "eyJhbGciOiJFZERTQSJ9.eyJ4IjoxfQ.c2ln"),
        ("size", 2**53 - 1),
    ],
)
def test_field_limits_are_inclusive(field: str, value: object) -> None:
    statement = Statement(**_kwargs(**{field: value}))
    assert getattr(statement, field) == value
    assert Statement.from_bytes(statement.canonical_bytes()) == statement


def test_prev_statement_must_be_hex_when_required() -> None:
    second = dict(GOLDEN["second-in-case"]["json"])
    second["prev_statement"] = second["prev_statement"].upper()
    with pytest.raises(StatementError) as err:
        Statement.from_json(second)
    assert err.value.details["field"] == "prev_statement"


# --- validators reused by the API ------------------------------------------------------


def test_validators_raise_input_error_by_default() -> None:
    with pytest.raises(InputError) as err:
        validate_text("note", "a\u2028b", 10)
    assert not isinstance(err.value, StatementError)
    assert err.value.details == {"field": "note", "position": 1}
    assert validate_file_name("évidence.pdf") == "évidence.pdf"
    with pytest.raises(InputError):
        validate_file_name("dir/évidence.pdf")
    assert validate_media_type("application/pdf") == "application/pdf"
    assert validate_rfc3339("t", "2024-02-29T00:00:00Z") == "2024-02-29T00:00:00Z"
    with pytest.raises(InputError):
        validate_rfc3339("t", "2023-02-29T00:00:00Z")


def test_format_rfc3339_utc() -> None:
    moment = datetime(2026, 11, 29, 20, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    text = format_rfc3339_utc(moment)
    assert text == "2026-11-29T12:00:00.123456Z"
    assert validate_rfc3339("received_at", text, require_utc=True) == text
    assert format_rfc3339_utc(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"
    with pytest.raises(InputError) as err:
        format_rfc3339_utc(datetime(2026, 1, 1))
    assert err.value.code == "timestamp_naive"
