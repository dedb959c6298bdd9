"""Issue 13 #6 and issue 12: ``captured_at`` must be a plausible moment (not before 1990,
not after receipt plus 5 minutes, offset within ±14:00), refused over HTTP with 422
``captured_at_out_of_range``; and a statement already signed with an extreme date (a legacy
one, made here with the core signing functions) still gets its certificate."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from notary.certificate import CertificateFacts, render_case_certificate, render_item_certificate
from notary.core.merkle import MerkleTree, statement_leaf
from notary.core.signing import SigningKey, jwks, sign_statement
from notary.core.statement import Statement
from notary.core.verdict import AnchorFacts
from tests.intake.files import form, pdf_bytes, statement_of
from tests.support import LiveServer

REFUSED = [
    ("year-9999", "9999-12-31T23:59:59Z", "later than the moment of receipt"),
    ("year-1-offset-2359", "0001-01-01T00:00:00+23:59", "+23:59"),
    ("year-2030", "2030-06-01T09:00:00+08:00", "later than the moment of receipt"),
    ("before-1990", "1989-12-31T23:59:59Z", "before 1990"),
    ("offset-1430", "2026-11-28T09:30:00-14:30", "-14:30"),
]


@pytest.mark.api
@pytest.mark.chain
@pytest.mark.parametrize(("name", "value", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_implausible_captured_at_is_refused(server: LiveServer, name: str, value: str,
                                            words: str) -> None:
    resp = server.admin().post("/v1/evidence", files=form(
        {"case_id": "CA-1", "kind": "notice", "captured_at": value}, pdf_bytes()))
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == "captured_at_out_of_range" and body["details"]["field"] == "captured_at"
    assert words in body["message"]
    assert body["details"]["earliest"] == "1990-01-01T00:00:00Z"


@pytest.mark.api
@pytest.mark.chain
def test_plausible_captured_at_is_signed_as_sent(server: LiveServer) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for value in ("2026-11-28T09:30:00+08:00", "1990-01-01T00:00:00Z",
                  "2026-11-28T23:30:00-12:00", soon):
        resp = server.admin().post("/v1/evidence", files=form(
            {"case_id": "CA-2", "kind": "notice", "captured_at": value}, pdf_bytes(value)))
        assert resp.status_code == 201, resp.text
        assert statement_of(resp.json())["captured_at"] == value


@pytest.mark.unit
@pytest.mark.parametrize("captured", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+23:59",
                                      "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59",
                                      "2016-12-31T23:59:60Z"])
def test_a_signed_extreme_date_still_renders(captured: str) -> None:
    key = SigningKey.from_seed(hashlib.sha256(b"legacy statement key").digest())
    data = b"%PDF-1.4 legacy notice"
    statement = Statement(
        evidence_id="ev_" + "1" * 32, case_id="LEGACY-1", case_seq=1, kind="notice",
        media_type="application/pdf", size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        file_name="notice.pdf", captured_at=captured, received_at="2026-11-29T12:00:01.000000Z",
        submitter="apikey:legacy")
    leaf = statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))
    tree = MerkleTree.build([leaf])
    anchor = AnchorFacts(chain_id=31337, contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
                         batch_id=1, root=tree.root, block_number=3, block_hash="0x" + "ab" * 32,
                         block_timestamp=1796040005, tx_hash="0x" + "cd" * 32)
    facts = CertificateFacts.verified(
        statement_jws=sign_statement(statement, key), jwks=jwks([key.public_jwk()]),
        proof=tree.proof_for(leaf), anchor=anchor, observed_anchor=anchor,
        checked_at=datetime(2026, 11, 29, 12, 5, tzinfo=UTC))
    html, pdf = render_item_certificate(facts, verify_url="https://notary.example.cn/verify")
    assert captured in html and pdf.startswith(b"%PDF")
    case_html, _ = render_case_certificate([dataclasses.replace(facts)], case_id="LEGACY-1",
                                           verify_url="https://notary.example.cn/verify")
    assert captured in case_html
