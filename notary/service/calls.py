"""Call records on submission, their salts, and proving a number (issue 16 #5).

A client may send the numbers (the service normalises them to E.164, makes a salt per number,
signs only the commitments and keeps the salts in ``call_salts``) or commitments it made itself
(then the client keeps the salts, and this service cannot prove a number for that party). A
readable number is never stored or logged: it lives in memory while its commitment is made and
while a proof is answered. Shredding the item deletes its salts and the case's other rows of the
same salts (:func:`delete_salts`, called in the shredding transaction), after which no one can
show which number the shredded item's commitments hold.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete
from sqlmodel import Session, select

import notary.core.errors as kinds
from notary.core.callrecord import (
    COMMITMENT_ALG,
    SALT_BYTES,
    CallRecord,
    Commitment,
    commit_number,
    normalise_number,
    zone,
)
from notary.core.errors import InputError, NotaryError, StatementError
from notary.core.signing import jws_payload
from notary.core.statement import EvidenceKind, Statement
from notary.service.context import Context
from notary.service.errors import NotFound
from notary.service.itemkeys import SecretBox
from notary.service.tenancy import case_items, visible_evidence
from storage.db import CallSalt, Evidence, session

__all__ = ["CallDraft", "CallMetadataError", "delete_salts", "parse_call", "prove_number",
           "store_salts"]

PARTIES = ("caller", "callee")
#: The country code put in front of a national number (``NOTARY_CALL_COUNTRY_CODE``).
DEFAULT_COUNTRY_CODE = "86"


class CallMetadataError(InputError):
    """The metadata's ``call`` is wrong; ``details.field`` names the field (``call.…``).
    Answered 422, as the other metadata errors are."""

    kind = kinds.UNPROCESSABLE

    default_code = "call_invalid"


class CallRecordAbsent(NotFound):
    """The item's statement carries no call record."""

    default_code = "call_record_absent"


class CallSaltsAbsent(NotaryError):
    """No salt is held for the item: the client committed the numbers itself, or the item
    was shredded. Nothing can be proven here."""

    kind = kinds.GONE

    default_code = "call_salts_absent"


@dataclass(frozen=True)
class CallDraft:
    """A validated call record and the salts this service made for it (party → salt), kept
    until the statement is recorded. Never printed: ``repr`` leaves the salts out."""

    record: CallRecord
    salts: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    #: The E.164 numbers this service committed (party → number), in memory only, so the
    #: commitment can be settled against the case's earlier salts (:func:`settle`).
    numbers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def fingerprint(self) -> dict[str, Any]:
        """The record for idempotency: a commitment this service salted differs on every
        request, so it stands as ``"salted"``; the numbers are compared with the earlier
        item's salts instead (:func:`same_numbers`)."""
        doc = self.record.to_json()
        for party in self.salts:
            doc[party] = "salted"
        return doc


def parse_call(value: object, kind: EvidenceKind, country_code: str) -> CallDraft:
    """The metadata's ``call`` as a draft: each of ``caller``/``callee`` is a number (a
    string; committed here under a new salt) or a commitment object (kept as sent). Validated
    exactly as the statement validates it. CallMetadataError: ``call_invalid``,
    ``call_kind_mismatch``, ``call_number_invalid``."""
    if kind is not EvidenceKind.CALL_RECORDING:
        raise CallMetadataError("'call' is only for kind 'call_recording'.",
                                code="call_kind_mismatch", field="call")
    if not isinstance(value, dict):
        raise CallMetadataError("Field 'call' must be an object.", field="call")
    doc = dict(value)
    salts: dict[str, bytes] = {}
    numbers: dict[str, str] = {}
    for party in PARTIES:
        given = doc.get(party)
        if isinstance(given, str):
            try:
                number = normalise_number(given, country_code)
            except InputError as exc:
                raise CallMetadataError(f"Field 'call.{party}': {exc.message}",
                                        code="call_number_invalid",
                                        field=f"call.{party}") from None
            salt = secrets.token_bytes(SALT_BYTES)
            salts[party], numbers[party] = salt, number
            doc[party] = {"alg": COMMITMENT_ALG, "value": commit_number(number, salt)}
    try:
        record = CallRecord.from_json(doc)
        zone(record.timezone)  # a zone this service knows, not only a well-formed name
    except StatementError as exc:
        raise CallMetadataError(exc.message, **exc.details) from None
    return CallDraft(record, salts, numbers)


def _opened(row: CallSalt, box: SecretBox) -> bytes:
    """The salt of ``row``, opened (it is sealed to its item and party)."""
    return box.open(row.salt, f"{row.evidence_id}/{row.party}")


def settle(s: Session, case_uid: str, draft: CallDraft | None,
           box: SecretBox) -> CallDraft | None:
    """The draft with each number this service salts committed under the salt the case
    already uses for that number and party, if any (found by opening the case's commitments
    with the number): one contact keeps one commitment within a case, so a conduct report
    counts its calls from the statements alone. A new number keeps its new salt. Call inside
    the transaction that records the statement (the case is locked)."""
    if draft is None or not draft.numbers:
        return draft
    rows = s.exec(select(CallSalt).join(Evidence, Evidence.id == CallSalt.evidence_id)  # type: ignore[arg-type]
                  .where(Evidence.case_uid == case_uid)).all()
    salts, doc = dict(draft.salts), draft.record.to_json()
    for party, number in draft.numbers.items():
        for row in rows:
            if row.party == party and Commitment(row.value).opens_with(
                    number, salt := _opened(row, box)):
                salts[party] = salt
                doc[party] = {"alg": COMMITMENT_ALG, "value": row.value}
                break
    return CallDraft(CallRecord.from_json(doc), salts, draft.numbers)


def same_numbers(engine: Engine, evidence_id: str, draft: CallDraft | None,
                 box: SecretBox) -> bool:
    """Whether the numbers of ``draft`` open the commitments recorded for ``evidence_id``: a
    retried submission (same Idempotency-Key) is the same request only with the same numbers,
    which its fingerprint cannot show (their commitments are salted anew each time)."""
    if draft is None or not draft.numbers:
        return True
    with session(engine) as s:
        rows = {r.party: r for r in s.exec(
            select(CallSalt).where(CallSalt.evidence_id == evidence_id)).all()}
    return all(party in rows and Commitment(rows[party].value).opens_with(
        number, _opened(rows[party], box)) for party, number in draft.numbers.items())


def store_salts(s: Session, evidence_id: str, draft: CallDraft | None,
                box: SecretBox) -> None:
    """Add the draft's salts for ``evidence_id`` to the session (the caller commits them
    with the statement, so a recorded statement never lacks its salts)."""
    if draft is None:
        return
    for party, salt in draft.salts.items():
        value = getattr(draft.record, party).value
        s.add(CallSalt(evidence_id=evidence_id, party=party, value=value,
                       salt=box.seal(salt, f"{evidence_id}/{party}")))


def delete_salts(s: Session, evidence_id: str, case_uid: str | None) -> None:
    """Delete the item's salts in the session's transaction (shredding), and every salt of
    the case that made the same commitments: the case's calls to one number share one salt
    (:func:`settle`), so a sibling's salt would open the shredded item's commitment too."""
    values = {r.value for r in s.exec(
        select(CallSalt).where(CallSalt.evidence_id == evidence_id)).all()}
    s.exec(delete(CallSalt).where(CallSalt.evidence_id == evidence_id))  # type: ignore[arg-type]
    if not values or case_uid is None:
        return
    siblings = select(Evidence.id).where(Evidence.case_uid == case_uid)
    s.exec(delete(CallSalt).where(CallSalt.value.in_(values),  # type: ignore[attr-defined]
                                  CallSalt.evidence_id.in_(siblings)))  # type: ignore[attr-defined]


def contact_of(ctx: Context, *, tenant: str, case_id: str, number: str) -> str:
    """The callee commitment ``number`` has in the case ``tenant`` holds as ``case_id``
    (opened with the case's salts). CallRecordAbsent (``call_contact_unknown``) when no call
    of the case went to it, or its salts are gone."""
    try:
        e164 = normalise_number(number, ctx.settings.call_country_code)
    except InputError as exc:
        raise CallMetadataError(exc.message, code="call_number_invalid",
                                field="number") from None
    # Only the salts of the items ``tenant`` may see: a tenant that handed the case over
    # still sees its own items, whose case is now the buyer's, and must not learn through
    # the buyer's salts whether the buyer called a number.
    ids = [row.id for row in case_items(ctx.engine, tenant, case_id)]
    box = ctx.master.salt_box()
    with session(ctx.engine) as s:
        rows = s.exec(select(CallSalt).where(
            CallSalt.party == "callee", CallSalt.evidence_id.in_(ids))).all()  # type: ignore[attr-defined]
    for row in rows:
        if Commitment(row.value).opens_with(e164, _opened(row, box)):
            return row.value
    raise CallRecordAbsent(f"no call of case {case_id!r} went to that number (or its salts "
                           "were shredded)", code="call_contact_unknown", case_id=case_id)


def call_record_of(statement_jws: str) -> CallRecord | None:
    """The call record the stored statement carries, if any."""
    return Statement.from_bytes(jws_payload(statement_jws)).call


def prove_number(ctx: Context, *, tenant: str, evidence_id: str, number: str) -> dict[str, Any]:
    """Whether ``number`` is the item's caller or callee, with a proof for each match: the
    number (E.164), the salt and the commitment, which anyone checks with
    ``printf '%s' NUMBER | openssl dgst -sha256 -hmac SALT``. NotFound (404),
    CallRecordAbsent (404), CallSaltsAbsent (410), CallMetadataError (``call_number_invalid``)."""
    row = visible_evidence(ctx.engine, tenant, evidence_id)
    box = ctx.master.salt_box()
    record = call_record_of(row.statement_jws)
    if record is None:
        raise CallRecordAbsent(f"evidence {evidence_id!r} has no call record",
                               evidence_id=evidence_id)
    try:
        e164 = normalise_number(number, ctx.settings.call_country_code)
    except InputError as exc:
        raise CallMetadataError(exc.message, code="call_number_invalid",
                                field="number") from None
    with session(ctx.engine) as s:
        salts = {r.party: _opened(r, box) for r in s.exec(
            select(CallSalt).where(CallSalt.evidence_id == evidence_id)).all()}
    if not salts:
        raise CallSaltsAbsent(f"no salts are held for evidence {evidence_id!r} (committed by "
                              "the client, or shredded)", evidence_id=evidence_id)
    proofs = []
    for party in PARTIES:
        commitment: Commitment = getattr(record, party)
        salt = salts.get(party)
        if salt is not None and commitment.opens_with(e164, salt):
            proofs.append({"party": party, "number": e164, "salt": salt.hex(),
                           "alg": COMMITMENT_ALG, "value": commitment.value,
                           "check": f"printf '%s' '{e164}' | openssl dgst -sha256 "
                                    f"-hmac '{salt.hex()}'"})
    return {"evidence_id": evidence_id, "matches": [p["party"] for p in proofs],
            "salted": sorted(salts), "proofs": proofs}
