"""Deletion certificates (notary.core.deletion): signed, strict, and tied to the custody log's
'shredded' event; every tampering is named in the reason."""

from __future__ import annotations

import pytest

from notary.core.custody import CustodyAct, CustodyEvent, sign_event
from notary.core.deletion import (
    DeletionCertificate,
    check_deletion,
    sign_deletion,
    verify_deletion,
)
from notary.core.errors import StatementError
from notary.core.signing import SigningKey, jwks
from notary.core.statement import canonical_json

SHA = "ab" * 32
STATEMENT = "cd" * 32


def _events(key: SigningKey) -> list[CustodyEvent]:
    first = CustodyEvent(evidence_id="ev_1", seq=1, act=CustodyAct.REGISTERED, actor="svc",
                         tenant="default", at="2026-11-29T10:00:00Z",
                         detail={"statement_sha256": STATEMENT})
    shred = CustodyEvent(evidence_id="ev_1", seq=2, act=CustodyAct.SHREDDED, actor="admin",
                         tenant="default", at="2026-11-29T11:00:00Z",
                         detail={"reason": "purpose ended"}, prev_event=first.digest().hex())
    for e in (first, shred):
        sign_event(e, key)
    return [first, shred]


def _cert(events: list[CustodyEvent], **changes: object) -> DeletionCertificate:
    fields: dict[str, object] = {
        "evidence_id": "ev_1", "file_sha256": SHA, "file_size": 10,
        "statement_sha256": STATEMENT, "cid": "bafkreiabc", "case_id": "C-1",
        "kind": "call_recording", "received_at": "2026-11-29T10:00:00Z",
        "shredded_at": "2026-11-29T11:00:00Z", "actor": "admin", "tenant": "default",
        "reason": "purpose ended", "legal_basis": "PIPL art. 47",
        "destroyed": ("item_key", "stored_ciphertext"), "custody_event_seq": 2,
        "custody_event_sha256": events[1].digest().hex(),
        "disclosed_before": {"content_views": 1, "exports": 0, "key_exports": 0}}
    fields.update(changes)
    return DeletionCertificate(**fields)  # type: ignore[arg-type]


def test_round_trip_and_custody_match() -> None:
    key = SigningKey.generate()
    events = _events(key)
    cert = _cert(events)
    token = sign_deletion(cert, key)
    assert verify_deletion(token, jwks([key.public_jwk()])) == cert
    check, parsed = check_deletion(token, jwks([key.public_jwk()]), statement=None,
                                   custody=events)
    assert check.status.value == "pass" and parsed == cert
    assert "unaltered until 2026-11-29T11:00:00Z" in check.reason


def test_other_key_or_other_event_fails() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    events = _events(key)
    token = sign_deletion(_cert(events), other)
    check, _ = check_deletion(token, jwks([key.public_jwk()]), statement=None, custody=events)
    assert check.status.value == "fail" and "does not verify" in check.reason
    wrong = sign_deletion(_cert(events, custody_event_sha256="00" * 32), key)
    check, _ = check_deletion(wrong, jwks([key.public_jwk()]), statement=None, custody=events)
    assert check.status.value == "fail" and "custody log" in check.reason
    dropped = sign_deletion(_cert(events), key)  # the log lost its 'shredded' event
    check, _ = check_deletion(dropped, jwks([key.public_jwk()]), statement=None,
                              custody=events[:1])
    assert check.status.value == "fail" and "no 'shredded' event 2" in check.reason


@pytest.mark.parametrize("change", [
    {"destroyed": ("stored_ciphertext",)},  # the key must be among what was destroyed
    {"disclosed_before": {"content_views": 1}},
    {"shredded_at": "2026-11-29T19:00:00+08:00"},  # UTC only
    {"custody_event_seq": 1},  # a shred is never the first event
])
def test_malformed_certificates_are_refused(change: dict) -> None:
    key = SigningKey.generate()
    with pytest.raises(StatementError):
        _cert(_events(key), **change)


def test_unknown_field_and_non_canonical_bytes_are_refused() -> None:
    key = SigningKey.generate()
    cert = _cert(_events(key))
    with pytest.raises(StatementError):
        DeletionCertificate.from_bytes(canonical_json(cert.to_json() | {"extra": 1}))
    with pytest.raises(StatementError):
        DeletionCertificate.from_bytes(cert.canonical_bytes().replace(b",", b", ", 1))
