"""Custody events: signed, canonical, linked; every kind of tampering is named."""

from __future__ import annotations

import hashlib

import pytest

from notary.core.custody import (
    CustodyAct,
    CustodyEvent,
    check_custody,
    event_leaf,
    sign_event,
    verify_event,
)
from notary.core.errors import StatementError
from notary.core.merkle import LeafType, statement_leaf
from notary.core.signing import SigningKey, jwks
from notary.core.verdict import CheckStatus

pytestmark = pytest.mark.unit

KEY = SigningKey.from_seed(hashlib.sha256(b"custody test key").digest())
JWKS = jwks([KEY.public_jwk()])
STATEMENT = hashlib.sha256(b"statement").digest()


def chain(n: int) -> list[str]:
    tokens, prev = [], None
    acts = [CustodyAct.REGISTERED, CustodyAct.STORED, CustodyAct.ANCHORED, CustodyAct.VIEWED,
            CustodyAct.EXPORTED, CustodyAct.TRANSFERRED]
    for seq in range(1, n + 1):
        detail: dict[str, str | int] = {"statement_sha256": STATEMENT.hex()} if seq == 1 else {}
        event = CustodyEvent(evidence_id="ev_1", seq=seq, act=acts[(seq - 1) % len(acts)],
                             actor="apikey:abc", tenant="agency-a",
                             at=f"2026-11-29T12:00:{seq:02d}Z", detail=detail,
                             prev_event=prev.hex() if prev else None)
        tokens.append(sign_event(event, KEY))
        prev = event.digest()
    return tokens


def test_a_good_log_verifies() -> None:
    check, events = check_custody(chain(6), JWKS, evidence_id="ev_1", statement_digest=STATEMENT)
    assert check.status is CheckStatus.PASS and len(events) == 6
    assert verify_event(chain(1)[0], JWKS).act is CustodyAct.REGISTERED


@pytest.mark.parametrize("tamper,expect", [
    ("deleted-event-3", "carries number 4"),
    ("swapped-events-2-3", "carries number 3"),
    ("payload-of-event-4-changed", "does not verify"),
    ("empty-log", "empty"),
    ("other-evidence", "not 'ev_2'"),
])
def test_tampering_is_named(tamper: str, expect: str) -> None:
    tokens = chain(5)
    evidence_id = "ev_1"
    if tamper == "deleted-event-3":
        del tokens[2]
    elif tamper == "swapped-events-2-3":
        tokens[1], tokens[2] = tokens[2], tokens[1]
    elif tamper == "payload-of-event-4-changed":
        h, p, s = tokens[3].split(".")
        tokens[3] = f"{h}.{p[:-2]}{'A' if p[-2] != 'A' else 'B'}{p[-1]}.{s}"
    elif tamper == "empty-log":
        tokens = []
    else:
        evidence_id = "ev_2"
    check, _ = check_custody(tokens, JWKS, evidence_id=evidence_id)
    assert check.status is CheckStatus.FAIL
    assert expect in check.reason


def test_a_resigned_rewrite_still_breaks_the_links() -> None:
    """Even with the signing key, rewriting event 2 breaks event 3's link to it."""
    tokens = chain(4)
    original = verify_event(tokens[1], JWKS)
    forged = CustodyEvent(**{**original.__dict__, "actor": "someone-else"})
    tokens[1] = sign_event(forged, KEY)
    check, _ = check_custody(tokens, JWKS, evidence_id="ev_1")
    assert check.status is CheckStatus.FAIL and "does not link to event 2" in check.reason


def test_rules_of_the_format() -> None:
    with pytest.raises(StatementError):
        CustodyEvent(evidence_id="ev_1", seq=2, act="viewed", actor="a", tenant="t",
                     at="2026-11-29T12:00:00Z")  # seq 2 without prev_event
    with pytest.raises(StatementError):
        CustodyEvent(evidence_id="ev_1", seq=1, act="teleported", actor="a", tenant="t",
                     at="2026-11-29T12:00:00Z")
    with pytest.raises(StatementError):
        CustodyEvent(evidence_id="ev_1", seq=1, act="viewed", actor="a", tenant="t",
                     at="2026-11-29T12:00:00+08:00")  # UTC only
    event = verify_event(chain(1)[0], JWKS)
    assert CustodyEvent.from_bytes(event.canonical_bytes()) == event
    with pytest.raises(StatementError):
        CustodyEvent.from_bytes(event.canonical_bytes() + b" ")
    sha = hashlib.sha256(b"file").digest()
    assert event_leaf(event, sha) == statement_leaf(event.digest(), sha, LeafType.CUSTODY_EVENT)
