"""Custody events: who did what to a piece of evidence, as a signed, hash-linked log.

Consensus-critical: these bytes are anchored and handed to courts; changing them breaks proofs
already given. A change is a new schema version.

Each event of an evidence item is a canonical JSON document (RFC 8785) signed as a JWS
(``typ`` :data:`CUSTODY_MEDIA_TYPE`). Event ``seq`` counts from 1 per item and each event names
the SHA-256 of the previous event's canonical bytes (``prev_event``), so that deleting,
reordering or rewriting an event breaks the chain. Each event's digest is also a leaf of the
next Merkle batch (:data:`~notary.core.merkle.LeafType.CUSTODY_EVENT`, subject = the evidence
file's SHA-256), so the log's history is anchored on chain like the statements are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from notary.core.errors import SignatureError, StatementError
from notary.core.merkle import LeafType, statement_leaf
from notary.core.signing import SignedFormat, SigningKey, parse_canonical_document
from notary.core.statement import canonical_json
from notary.core.validate import (
    validate_hex_digest,
    validate_identifier,
    validate_int,
    validate_rfc3339,
    validate_text,
)
from notary.core.verdict import Check, CheckStatus

CUSTODY_SCHEMA = "notary.custody/v1"
CUSTODY_MEDIA_TYPE = "application/vnd.notary.custody.v1+json"
MAX_EVENT_BYTES = 16 * 1024
MAX_DETAIL_ENTRIES = 16


class CustodyAct(StrEnum):
    """What happened. Past tense: the log records facts."""

    REGISTERED = "registered"
    STORED = "stored"
    ANCHORED = "anchored"
    VIEWED = "viewed"
    EXPORTED = "exported"
    SHARED = "shared"
    SHARE_REVOKED = "share_revoked"
    TRANSFERRED = "transferred"
    LEGAL_HOLD_SET = "legal_hold_set"
    LEGAL_HOLD_LIFTED = "legal_hold_lifted"
    KEY_EXPORTED = "key_exported"
    SHREDDED = "shredded"


_FIELDS = ("schema", "evidence_id", "seq", "act", "actor", "tenant", "at", "detail",
           "prev_event")


@dataclass(frozen=True, kw_only=True)
class CustodyEvent:
    """One event. ``detail`` holds short facts (string or integer values) for a reader."""

    schema: str = CUSTODY_SCHEMA
    evidence_id: str
    seq: int
    act: CustodyAct
    actor: str
    tenant: str
    at: str
    detail: Mapping[str, str | int] = field(default_factory=dict)
    prev_event: str | None = None

    def __post_init__(self) -> None:
        err = StatementError
        if self.schema != CUSTODY_SCHEMA:
            raise err(f"Field 'schema' must be '{CUSTODY_SCHEMA}'.", field="schema")
        validate_identifier("evidence_id", self.evidence_id, 128, error=err)
        validate_int("seq", self.seq, minimum=1, error=err)
        try:
            object.__setattr__(self, "act", CustodyAct(self.act))
        except ValueError:
            raise err(f"Field 'act' is {self.act!r}, not a known custody act.",
                      field="act") from None
        validate_identifier("actor", self.actor, 256, error=err)
        validate_identifier("tenant", self.tenant, 128, error=err)
        validate_rfc3339("at", self.at, require_utc=True, error=err)
        if not isinstance(self.detail, Mapping) or len(self.detail) > MAX_DETAIL_ENTRIES:
            raise err(f"Field 'detail' must be an object of at most {MAX_DETAIL_ENTRIES} entries.",
                      field="detail")
        for key, value in self.detail.items():
            validate_identifier("detail key", key, 64, error=err)
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise err(f"detail.{key} must be a string or an integer.", field="detail")
            if isinstance(value, str):
                validate_text(f"detail.{key}", value, 1024, error=err)
            else:
                validate_int(f"detail.{key}", value, error=err)
        object.__setattr__(self, "detail", dict(sorted(self.detail.items())))
        if (self.seq == 1) != (self.prev_event is None):
            raise err("Field 'prev_event' is required exactly when seq > 1.", field="prev_event")
        if self.prev_event is not None:
            validate_hex_digest("prev_event", self.prev_event, error=err)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": self.schema, "evidence_id": self.evidence_id, "seq": self.seq,
            "act": self.act.value, "actor": self.actor, "tenant": self.tenant, "at": self.at,
        }
        if self.detail:
            out["detail"] = dict(self.detail)
        if self.prev_event is not None:
            out["prev_event"] = self.prev_event
        return out

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    def digest(self) -> bytes:
        return hashlib.sha256(self.canonical_bytes()).digest()

    @classmethod
    def from_bytes(cls, data: bytes) -> CustodyEvent:
        """Parse strictly: canonical bytes only, no unknown fields (StatementError)."""
        return parse_canonical_document(data, cls, fields=_FIELDS, max_bytes=MAX_EVENT_BYTES,
                                        what="custody event")


#: A custody event, signed (notary.core.signing.SignedFormat).
CUSTODY_EVENT: SignedFormat[CustodyEvent] = SignedFormat(
    CUSTODY_MEDIA_TYPE, MAX_EVENT_BYTES, CustodyEvent.from_bytes)


def sign_event(event: CustodyEvent, key: SigningKey) -> str:
    """The event as a compact JWS over its canonical bytes."""
    return CUSTODY_EVENT.sign(event.canonical_bytes(), key)


def verify_event(token: str, jwks: Mapping[str, Any]) -> CustodyEvent:
    """Verify one event's signature and parse it (SignatureError / StatementError)."""
    return CUSTODY_EVENT.verify(token, jwks).document


def event_leaf(event: CustodyEvent, evidence_sha256: bytes) -> bytes:
    """The Merkle leaf of an event (:func:`notary.core.merkle.statement_leaf` of type
    :data:`~notary.core.merkle.LeafType.CUSTODY_EVENT`): (2, evidence file SHA-256, event
    SHA-256)."""
    return statement_leaf(event.digest(), evidence_sha256, LeafType.CUSTODY_EVENT)


def check_custody(
    tokens: Sequence[str], jwks: Mapping[str, Any], *, evidence_id: str,
    statement_digest: bytes | None = None,
) -> tuple[Check, list[CustodyEvent]]:
    """Check one item's custody log: every signature, seq 1..n without gaps, each link to the
    previous event, all about ``evidence_id``, and (when given) that the first event registers
    the statement with ``statement_digest``. Returns one check named ``custody`` and the events
    that verified (in order). A failed check names the first event that broke the chain."""
    events: list[CustodyEvent] = []
    prev: bytes | None = None
    for i, token in enumerate(tokens, start=1):
        try:
            signed = CUSTODY_EVENT.verify(token, jwks)
        except (SignatureError, StatementError) as exc:
            return Check("custody", CheckStatus.FAIL,
                         f"Custody event {i} does not verify: {exc.message}"), events
        event = signed.document
        if event.evidence_id != evidence_id:
            return Check("custody", CheckStatus.FAIL,
                         f"Custody event {i} is about {event.evidence_id!r}, not "
                         f"{evidence_id!r}."), events
        if event.seq != i:
            return Check("custody", CheckStatus.FAIL,
                         f"Custody event {i} carries number {event.seq}: an event is missing "
                         "or the log was reordered."), events
        if event.prev_event != (prev.hex() if prev else None):
            return Check("custody", CheckStatus.FAIL,
                         f"Custody event {i} does not link to event {i - 1} (its prev_event "
                         "differs): an event was removed, inserted or changed."), events
        if i == 1 and statement_digest is not None and (
                event.act is not CustodyAct.REGISTERED
                or event.detail.get("statement_sha256") != statement_digest.hex()):
            return Check("custody", CheckStatus.FAIL,
                         "The first custody event does not register this statement."), events
        events.append(event)
        # The signed payload is the event's canonical bytes (from_bytes accepts no other
        # spelling): its digest without writing the event out again.
        prev = hashlib.sha256(signed.payload).digest()
    if not events:
        return Check("custody", CheckStatus.FAIL, "The custody log is empty."), events
    acts = ", ".join(e.act.value for e in events)
    return Check("custody", CheckStatus.PASS,
                 f"All {len(events)} custody events are signed and linked in order "
                 f"({acts})."), events
