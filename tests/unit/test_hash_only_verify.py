"""A hash-only statement's file check (issue 16): never "checked by the service". Without the
file it says the file was never seen and cannot be compared; with it, the verifier compares
and says that it, not the service, did."""

from __future__ import annotations

import pytest

from notary.core.digest import digest_bytes
from notary.core.errors import StatementError
from notary.core.signing import SigningKey, jwks, sign_statement
from notary.core.statement import Statement
from notary.core.verdict import CheckStatus
from notary.core.verify import verify_evidence

FILE = b"the ledger of November, kept by the client"


def statement(**extra: object) -> Statement:
    d = digest_bytes(FILE)
    return Statement(evidence_id="ev-1", case_id="HX-1", case_seq=1, kind="other",
                     media_type="application/pdf", size=d.size, sha256=d.hex,
                     file_name="ledger.pdf", received_at="2026-12-07T12:00:00Z",
                     submitter="apikey:x", **extra)  # type: ignore[arg-type]


def file_check(file: bytes | None):
    key = SigningKey.generate()
    verdict = verify_evidence(
        statement_jws=sign_statement(statement(deposit="hash_only"), key),
        jwks=jwks([key.public_jwk()]), file_digest=digest_bytes(file) if file else None,
        proof=None, root=None, claimed_anchor=None, observed_anchor=None)
    return verdict.check("file_hash"), verdict.result


def test_without_the_file_it_is_not_checked_and_says_the_file_was_never_seen() -> None:
    check, result = file_check(None)
    assert check.status is CheckStatus.SKIP and result == "unknown"
    assert "本服务从未见过该文件" in check.reason and "never seen by this service" in check.reason
    assert "Not checked by the service" in check.reason
    assert "match the statement" not in check.reason


def test_with_the_file_the_verifier_compares_it_not_the_service() -> None:
    check, result = file_check(FILE)
    assert check.status is CheckStatus.PASS and result == "valid"
    assert "never seen by this service" in check.reason
    assert "by the verifier, not by the service" in check.reason
    other, result = file_check(FILE + b"!")
    assert other.status is CheckStatus.FAIL and result == "invalid"
    assert "is not the one whose hash was deposited" in other.reason


def test_a_file_statement_keeps_its_bytes_and_a_hash_only_one_stores_nothing() -> None:
    plain = statement()
    assert "deposit" not in plain.to_json() and not plain.hash_only
    assert statement(deposit="hash_only").hash_only
    with pytest.raises(StatementError) as bad:
        statement(deposit="hash_only", content_address="b" + "a" * 58)
    assert bad.value.details["field"] == "content_address"
    with pytest.raises(StatementError):
        statement(deposit="partial")
