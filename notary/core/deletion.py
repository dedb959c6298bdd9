"""Deletion certificates: a signed record that an item's content was crypto-shredded.

Consensus-critical: certificates are handed to data subjects, regulators and courts; changing
these bytes breaks certificates already issued. A change is a new schema version.

A certificate is a canonical JSON document (RFC 8785) signed as a JWS (``typ``
:data:`DELETION_MEDIA_TYPE`) by the service key. It names the evidence by its file's SHA-256
and statement digest (both stay provable: statement, proofs and anchors are kept), who shredded
it, when and why, what was destroyed, and the custody event (``shredded``) that records the act
in the item's anchored log. With it, a verifier can state: the file with this SHA-256 existed
when its statement was anchored and was unaltered until it was shredded at ``shredded_at``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notary.core.custody import CustodyAct, CustodyEvent
from notary.core.errors import NotaryError, SignatureError, StatementError
from notary.core.signing import SignedFormat, SigningKey, parse_canonical_document
from notary.core.statement import Statement, canonical_json
from notary.core.validate import (
    validate_hex_digest,
    validate_identifier,
    validate_int,
    validate_rfc3339,
    validate_text,
)
from notary.core.verdict import Check, CheckStatus

DELETION_SCHEMA = "notary.deletion/v1"
DELETION_MEDIA_TYPE = "application/vnd.notary.deletion.v1+json"
MAX_CERTIFICATE_BYTES = 16 * 1024

#: What a shred destroys, in the words the certificate uses.
DESTROYED_KEY = "item_key"
DESTROYED_STORED_COPY = "stored_ciphertext"
DESTROYED_IPFS_PIN = "ipfs_pin"

_FIELDS = ("schema", "evidence_id", "file_sha256", "file_size", "statement_sha256", "cid",
           "case_id", "kind", "received_at", "shredded_at", "actor", "tenant", "reason",
           "legal_basis", "destroyed", "custody_event_seq", "custody_event_sha256",
           "disclosed_before", "anchor")
_DISCLOSURES = ("content_views", "exports", "key_exports")
_ANCHOR_FIELDS = ("chain_id", "contract", "batch_id", "root", "tx_hash", "block_number",
                  "block_timestamp")


_ANCHOR_INTS = ("chain_id", "batch_id", "block_number", "block_timestamp")
_ANCHOR_HEX = {"contract": re.compile(r"0x[0-9a-fA-F]{40}"),
               "root": re.compile(r"0x[0-9a-fA-F]{64}"),
               "tx_hash": re.compile(r"0x[0-9a-fA-F]{64}")}


def _check_anchor(anchor: Mapping[str, Any]) -> None:
    """The anchor's values: integers where the chain has numbers, 0x-hex where it has hashes."""
    for name in _ANCHOR_INTS:
        validate_int(f"anchor.{name}", anchor[name], error=StatementError)
    for name, pattern in _ANCHOR_HEX.items():
        value = anchor[name]
        if not isinstance(value, str) or pattern.fullmatch(value) is None:
            raise StatementError(f"Field 'anchor.{name}' must be 0x followed by hex digits.",
                                 field=f"anchor.{name}")


@dataclass(frozen=True, kw_only=True)
class DeletionCertificate:
    """The facts of one shred. ``disclosed_before`` counts the content reads, exports and key
    exports recorded before the shred: copies handed out then are outside the service's reach,
    and the certificate says so rather than hide it. ``anchor`` is the statement's anchor at
    the time of the shred (absent while it was still pending)."""

    schema: str = DELETION_SCHEMA
    evidence_id: str
    file_sha256: str
    file_size: int
    statement_sha256: str
    cid: str
    case_id: str
    kind: str
    received_at: str
    shredded_at: str
    actor: str
    tenant: str
    reason: str
    legal_basis: str | None = None
    destroyed: tuple[str, ...]
    custody_event_seq: int
    custody_event_sha256: str
    disclosed_before: Mapping[str, int] = field(default_factory=dict)
    anchor: Mapping[str, str | int] | None = None

    def __post_init__(self) -> None:
        err = StatementError
        if self.schema != DELETION_SCHEMA:
            raise err(f"Field 'schema' must be '{DELETION_SCHEMA}'.", field="schema")
        validate_identifier("evidence_id", self.evidence_id, 128, error=err)
        validate_hex_digest("file_sha256", self.file_sha256, error=err)
        validate_int("file_size", self.file_size, error=err)
        validate_hex_digest("statement_sha256", self.statement_sha256, error=err)
        validate_identifier("cid", self.cid, 128, error=err)
        validate_text("case_id", self.case_id, 128, error=err)
        validate_identifier("kind", self.kind, 32, error=err)
        validate_rfc3339("received_at", self.received_at, error=err)
        validate_rfc3339("shredded_at", self.shredded_at, require_utc=True, error=err)
        validate_identifier("actor", self.actor, 256, error=err)
        validate_identifier("tenant", self.tenant, 128, error=err)
        validate_text("reason", self.reason, 1024, error=err)
        if self.legal_basis is not None:
            validate_text("legal_basis", self.legal_basis, 1024, error=err)
        destroyed = tuple(self.destroyed)
        if not destroyed or DESTROYED_KEY not in destroyed:
            raise err("Field 'destroyed' must name at least the item key.", field="destroyed")
        for what in destroyed:
            validate_identifier("destroyed", what, 64, error=err)
        if len(set(destroyed)) != len(destroyed):
            raise err("Field 'destroyed' names an entry twice.", field="destroyed")
        object.__setattr__(self, "destroyed", destroyed)
        validate_int("custody_event_seq", self.custody_event_seq, minimum=2, error=err)
        validate_hex_digest("custody_event_sha256", self.custody_event_sha256, error=err)
        disclosed = dict(self.disclosed_before)
        if sorted(disclosed) != sorted(_DISCLOSURES):
            raise err(f"Field 'disclosed_before' must hold {', '.join(_DISCLOSURES)}.",
                      field="disclosed_before")
        for key, value in disclosed.items():
            validate_int(f"disclosed_before.{key}", value, error=err)
        object.__setattr__(self, "disclosed_before", dict(sorted(disclosed.items())))
        if self.anchor is not None:
            anchor = dict(self.anchor)
            if sorted(anchor) != sorted(_ANCHOR_FIELDS):
                raise err(f"Field 'anchor' must hold {', '.join(_ANCHOR_FIELDS)}.",
                          field="anchor")
            _check_anchor(anchor)
            object.__setattr__(self, "anchor", dict(sorted(anchor.items())))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in _FIELDS}
        out["destroyed"] = list(self.destroyed)
        out["disclosed_before"] = dict(self.disclosed_before)
        if self.anchor is None:
            del out["anchor"]
        else:
            out["anchor"] = dict(self.anchor)
        if self.legal_basis is None:
            del out["legal_basis"]
        return out

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> DeletionCertificate:
        """Parse strictly: canonical bytes only, no unknown fields (StatementError)."""
        return parse_canonical_document(data, cls, fields=_FIELDS, max_bytes=MAX_CERTIFICATE_BYTES,
                                        what="deletion certificate")


#: A deletion certificate, signed (notary.core.signing.SignedFormat).
DELETION: SignedFormat[DeletionCertificate] = SignedFormat(
    DELETION_MEDIA_TYPE, MAX_CERTIFICATE_BYTES, DeletionCertificate.from_bytes)


def sign_deletion(cert: DeletionCertificate, key: SigningKey) -> str:
    """The certificate as a compact JWS over its canonical bytes."""
    return DELETION.sign(cert.canonical_bytes(), key)


def verify_deletion(token: str, jwks: Mapping[str, Any]) -> DeletionCertificate:
    """Verify the signature and parse (SignatureError / StatementError)."""
    return DELETION.verify(token, jwks).document


def _same_instant(a: str, b: str) -> bool:
    """The same moment, however the two RFC 3339 texts spell it (both were validated)."""
    try:
        return datetime.fromisoformat(a) == datetime.fromisoformat(b)
    except ValueError:
        return a == b


def check_deletion(
    token: str, jwks: Mapping[str, Any], *, statement: Statement | None,
    custody: Sequence[CustodyEvent] | None,
) -> tuple[Check, DeletionCertificate | None]:
    """One check named ``deletion``: the certificate is signed by a key of ``jwks``, is about
    this statement (evidence id, file SHA-256, statement digest), and, when the custody log is
    given, matches its ``shredded`` event (same sequence number and digest)."""
    try:
        cert = verify_deletion(token, jwks)
    except (SignatureError, StatementError) as exc:
        return Check("deletion", CheckStatus.FAIL,
                     f"The deletion certificate does not verify: {exc.message}"), None
    except NotaryError as exc:
        return Check("deletion", CheckStatus.FAIL,
                     f"The deletion certificate is unreadable: {exc.message}"), None
    if statement is not None and (
            cert.evidence_id != statement.evidence_id or cert.file_sha256 != statement.sha256
            or cert.statement_sha256 != statement.digest_hex()):
        return Check("deletion", CheckStatus.FAIL,
                     "The deletion certificate is about another evidence item, file or "
                     "statement than this one."), cert
    if statement is not None:
        differing = [name for name, ours, theirs in (
            ("file_size", cert.file_size, statement.size),
            ("case_id", cert.case_id, statement.case_id),
            ("kind", cert.kind, statement.kind.value),
        ) if ours != theirs]
        if not _same_instant(cert.received_at, statement.received_at):
            differing.append("received_at")
        if differing:
            return Check("deletion", CheckStatus.FAIL,
                         "The deletion certificate restates the statement wrongly: "
                         f"{', '.join(differing)} differ(s) from the signed statement."), cert
    if custody is not None:
        event = next((e for e in custody if e.seq == cert.custody_event_seq), None)
        if (event is None or event.act is not CustodyAct.SHREDDED
                or event.digest().hex() != cert.custody_event_sha256):
            return Check("deletion", CheckStatus.FAIL,
                         f"The custody log has no 'shredded' event {cert.custody_event_seq} "
                         "with the digest the deletion certificate names."), cert
        if not _same_instant(cert.shredded_at, event.at):
            return Check("deletion", CheckStatus.FAIL,
                         f"The deletion certificate says it was shredded at {cert.shredded_at}, "
                         f"but its custody event {event.seq} records {event.at}."), cert
    why = f" under {cert.legal_basis}" if cert.legal_basis else ""
    return Check("deletion", CheckStatus.PASS,
                 f"Shredded at {cert.shredded_at} by {cert.actor} ({cert.reason}{why}): "
                 f"{', '.join(cert.destroyed)} destroyed. The file with SHA-256 "
                 f"{cert.file_sha256} existed when its statement was anchored and was "
                 f"unaltered until {cert.shredded_at}; its content can no longer be "
                 "produced."), cert
