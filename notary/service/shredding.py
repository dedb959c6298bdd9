"""Crypto-shredding and legal holds: make an item's content unrecoverable, keep it provable.

A shred destroys the item's age identity (its wrapped key in the database) in the same
transaction that appends the ``shredded`` custody event, so from that commit on nobody (the
service included) can decrypt the stored ciphertext; then the ciphertext itself is deleted
from the blob store (local file, IPFS pin and blocks). What remains is what proves the file
existed unaltered: its statement, Merkle proofs, anchors and custody log, plus a signed
deletion certificate. A legal hold blocks shredding until it is lifted.

Copies of the content handed out before the shred (content reads, bundles with originals,
exported item keys) are outside the service's reach: the certificate counts them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, select

import notary.core.errors as kinds
from notary.core.custody import CustodyAct, CustodyEvent, check_custody
from notary.core.deletion import (
    DESTROYED_IPFS_PIN,
    DESTROYED_KEY,
    DESTROYED_STORED_COPY,
    DeletionCertificate,
    check_deletion,
    sign_deletion,
)
from notary.core.errors import InputError, NotaryError
from notary.core.signing import SigningKey, jws_payload
from notary.core.statement import Statement
from notary.core.validate import format_rfc3339_utc
from notary.core.verdict import Check
from notary.service.actors import Actor
from notary.service.calls import delete_salts
from notary.service.context import Context
from notary.service.custody import CustodyLog
from notary.service.errors import NotFound
from notary.service.tenancy import case_items, visible_evidence
from storage.blobs import BlobStore, StorageError
from storage.db import Batch, Case, CustodyRecord, Evidence, session, utc
from storage.recordings import RecordingSegment, RecordingSession

log = logging.getLogger("notary.shredding")


class LegalHold(NotaryError):
    """The item is under a legal hold: it cannot be shredded until the hold is lifted."""

    kind = kinds.CONFLICT

    default_code = "legal_hold"


class NothingToShred(NotaryError):
    """A hash-only deposit: the service never had its file, so there is no content or key to
    destroy (its statement and proofs are all it holds, and they are kept)."""

    kind = kinds.CONFLICT

    default_code = "nothing_to_shred"


class AlreadyShredded(NotaryError):
    """The item's content was shredded already (its deletion certificate stands)."""

    kind = kinds.CONFLICT

    default_code = "already_shredded"


@dataclass(frozen=True)
class ShredResult:
    certificate: DeletionCertificate
    jws: str
    blob_deleted: bool  # False: the key is gone, the ciphertext deletion is retried later


def _held_item(s: Session, tenant: str, evidence_id: str) -> Evidence:
    """The item, locked, if ``tenant`` holds it (holds its case, or submitted it when it has
    no case). Items handed over to another tenant are that tenant's to hold or shred."""
    row = s.exec(select(Evidence).where(Evidence.id == evidence_id).with_for_update()).first()
    case = s.get(Case, row.case_uid) if row is not None and row.case_uid else None
    holder = case.holder if case is not None else (row.tenant if row is not None else None)
    if row is None or holder != tenant:
        raise NotFound(f"no evidence {evidence_id!r}", evidence_id=evidence_id)
    return row


def _reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        raise InputError(f"a {what} needs a reason", code="reason_required", field="reason")
    return reason.strip()[:1024]


def set_hold(ctx: Context, *, tenant: str, actor: Actor, evidence_id: str,
             reason: str | None) -> Evidence:
    """Put the item under a legal hold (a custody event); setting it again updates the reason."""
    with session(ctx.engine) as s:
        row = _hold(s, ctx.custody, tenant=tenant, actor=actor, evidence_id=evidence_id,
                    reason=reason)
        s.commit()
        return row


def _hold(s: Session, custody: CustodyLog, *, tenant: str, actor: Actor, evidence_id: str,
          reason: str | None) -> Evidence:
    """Hold the item in session ``s`` (the caller commits)."""
    why = _reason(reason, "legal hold")
    row = _held_item(s, tenant, evidence_id)
    if row.shredded_at is not None:
        raise AlreadyShredded(f"evidence {evidence_id!r} was shredded; there is nothing "
                              "left to hold", evidence_id=evidence_id)
    row.hold_reason = why
    s.add(row)
    custody.append(s, row, CustodyAct.LEGAL_HOLD_SET, actor=actor, tenant=tenant,
                   detail={"reason": why})
    return row


def set_case_hold(ctx: Context, *, tenant: str, actor: Actor, case_id: str,
                  reason: str | None) -> list[str]:
    """Hold every item of the case ``tenant`` holds that is not shredded (as :func:`set_hold`
    each), in one transaction: all of them are held, or (on any error) none. The ids held,
    in case order."""
    items = [item for item in case_items(ctx.engine, tenant, case_id) if item.shredded_at is None]
    held = []
    with session(ctx.engine) as s:
        for item in items:
            _hold(s, ctx.custody, tenant=tenant, actor=actor, evidence_id=item.id, reason=reason)
            held.append(item.id)
        s.commit()
    return held


def lift_hold(ctx: Context, *, tenant: str, actor: Actor, evidence_id: str,
              reason: str | None) -> Evidence:
    """Lift the item's legal hold (a custody event); InputError ``not_held`` if there is none."""
    why = _reason(reason, "lifted legal hold")
    with session(ctx.engine) as s:
        row = _held_item(s, tenant, evidence_id)
        if row.hold_reason is None:
            raise InputError(f"evidence {evidence_id!r} is not under a legal hold",
                             code="not_held", evidence_id=evidence_id)
        row.hold_reason = None
        s.add(row)
        ctx.custody.append(s, row, CustodyAct.LEGAL_HOLD_LIFTED, actor=actor, tenant=tenant,
                       detail={"reason": why})
        s.commit()
        return row


def _disclosures(s: Session, evidence_id: str) -> dict[str, int]:
    acts = [r.act for r in s.exec(select(CustodyRecord)
                                  .where(CustodyRecord.evidence_id == evidence_id))]
    return {"content_views": acts.count(CustodyAct.VIEWED.value),
            "exports": acts.count(CustodyAct.EXPORTED.value),
            "key_exports": acts.count(CustodyAct.KEY_EXPORTED.value)}


def _anchor(s: Session, row: Evidence) -> dict[str, str | int] | None:
    batch = s.get(Batch, row.batch_id) if row.batch_id is not None else None
    if batch is None or batch.status != "anchored" or batch.tx_hash is None:
        return None
    return {"chain_id": batch.chain_id or 0, "contract": batch.contract or "",
            "batch_id": batch.onchain_batch_id or 0, "root": batch.root,
            "tx_hash": batch.tx_hash, "block_number": batch.block_number or 0,
            "block_timestamp": batch.block_timestamp or 0}


def shred(engine: Engine, custody: CustodyLog, signing_key: SigningKey, blobs: BlobStore, *,
          tenant: str, actor: Actor, evidence_id: str, reason: str | None,
          legal_basis: str | None = None, ipfs: bool = False) -> ShredResult:
    """Shred one item: destroy its key (with the custody event, in one transaction), then its
    stored ciphertext. Refused with LegalHold while held, AlreadyShredded when done before."""
    why = _reason(reason, "shred")
    basis = legal_basis.strip()[:1024] if legal_basis and legal_basis.strip() else None
    destroyed = (DESTROYED_KEY, DESTROYED_STORED_COPY) + ((DESTROYED_IPFS_PIN,) if ipfs else ())
    with session(engine) as s:
        row = _held_item(s, tenant, evidence_id)
        if row.hash_only:
            raise NothingToShred(f"evidence {evidence_id!r} is a hash-only deposit: this "
                                 "service never had its file, so there is nothing to shred",
                                 evidence_id=evidence_id)
        if row.shredded_at is not None:
            raise AlreadyShredded(f"evidence {evidence_id!r} was shredded already",
                                  evidence_id=evidence_id)
        if row.hold_reason is not None:
            raise LegalHold(f"evidence {evidence_id!r} is under a legal hold "
                            f"({row.hold_reason}); lift the hold before shredding",
                            evidence_id=evidence_id)
        detail: dict[str, str | int] = {"reason": why, "destroyed": ",".join(destroyed),
                                        "cid": row.cid}
        if basis:
            detail["legal_basis"] = basis
        record = custody.append(s, row, CustodyAct.SHREDDED, actor=actor, tenant=tenant,
                                detail=detail)
        event = CustodyEvent.from_bytes(jws_payload(record.jws))
        certificate = DeletionCertificate(
            evidence_id=row.id, file_sha256=row.sha256, file_size=row.size,
            statement_sha256=row.statement_digest, cid=row.cid, case_id=row.case_id,
            kind=row.kind, received_at=format_rfc3339_utc(utc(row.received_at)),
            shredded_at=event.at, actor=actor.label, tenant=tenant, reason=why, legal_basis=basis,
            destroyed=destroyed, custody_event_seq=event.seq,
            custody_event_sha256=record.digest, disclosed_before=_disclosures(s, row.id),
            anchor=_anchor(s, row))
        token = sign_deletion(certificate, signing_key)
        row.wrapped_key = None
        row.shredded_at = datetime.fromisoformat(event.at)
        row.deletion_jws = token
        s.add(row)
        delete_salts(s, row.id, row.case_uid)  # its commitments can no longer be opened
        leftovers = _forget_recording(s, row.id)
        s.commit()
    scrub_database(engine)
    deleted = delete_ciphertext(blobs, row.cid)
    for cid in leftovers:  # unreadable already (the session's key is gone); unreferenced now,
        delete_ciphertext(blobs, cid)  # so the start-up orphan sweep takes what fails here
    log.info("evidence %s shredded (ciphertext %s)", evidence_id,
             "deleted" if deleted else "deletion deferred")
    return ShredResult(certificate, token, deleted)


def delete_ciphertext(blobs: BlobStore, cid: str) -> bool:
    """Delete the stored ciphertext; False (logged, retried by the retention sweep) when the
    store cannot confirm it now. The key is already gone, so what remains is unreadable."""
    try:
        blobs.delete(cid)
        return True
    except StorageError as exc:
        log.warning("ciphertext %s not deleted yet: %s [%s]", cid, exc.message, exc.code)
        return False


def sweep_ciphertexts(engine: Engine, blobs: BlobStore) -> int:
    """Delete ciphertexts of shredded items that are still stored (a shred whose deletion
    failed, e.g. with the IPFS node down). Returns how many were deleted now."""
    with session(engine) as s:
        cids = [r.cid for r in s.exec(select(Evidence).where(
            Evidence.shredded_at.is_not(None)))]  # type: ignore[union-attr]
    done = 0
    for cid in cids:
        try:
            if blobs.exists(cid) and delete_ciphertext(blobs, cid):
                done += 1
        except StorageError:
            continue
    return done


def _forget_recording(s: Session, evidence_id: str) -> list[str]:
    """The traces of the live recording session an item came from: its segments' rows (each
    holds the plaintext's SHA-256, its salt and a checkpoint naming that SHA-256: with the
    salt, a guessed segment could be confirmed against its leaf) and the session's wrapped
    key, in the shredding transaction. The CIDs of segment ciphertexts still stored (a close
    whose clean-up failed), for the caller to delete after the commit. The statement keeps
    the segment tree's root and layout, which is what remains provable."""
    cids: list[str] = []
    for held in s.exec(select(RecordingSession).where(
            RecordingSession.evidence_id == evidence_id)).all():
        for segment in s.exec(select(RecordingSegment).where(
                RecordingSegment.session_id == held.id)).all():
            if segment.cid is not None:
                cids.append(segment.cid)
            s.delete(segment)
        held.wrapped_key, held.call_record, held.call_salts = "", None, None
        s.add(held)
    return cids


def scrub_database(engine: Engine) -> None:
    """Leave no old copy of the wrapped key in the database files we control: SQLite zeroes
    freed content (``secure_delete``) and the write-ahead log is truncated; PostgreSQL's
    dead row versions are vacuumed. (Backups taken before the shred are the operator's:
    docs/privacy.md says how to rotate them.)"""
    try:
        if engine.dialect.name == "sqlite":
            # Outside any transaction (a checkpoint cannot run inside one): the raw connection.
            raw = engine.raw_connection()
            try:
                busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if busy:
                    log.warning("database scrub after shred: the log is busy; it is "
                                "truncated at a later checkpoint")
            finally:
                raw.close()
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM evidence, recording_sessions, recording_segments"))
    except Exception as exc:  # noqa: BLE001 - the shred stands; scrubbing is best effort
        log.warning("database scrub after shred failed: %s", type(exc).__name__)


def shred_many(engine: Engine, custody: CustodyLog, signing_key: SigningKey, blobs: BlobStore,
               ids: Iterable[str], **kwargs: object) -> dict[str, list[str]]:
    """Shred several items; what was shredded, held or already shredded, by evidence id."""
    out: dict[str, list[str]] = {"shredded": [], "held": [], "already_shredded": []}
    for evidence_id in ids:
        try:
            shred(engine, custody, signing_key, blobs, evidence_id=evidence_id,
                  **kwargs)  # type: ignore[arg-type]
            out["shredded"].append(evidence_id)
        except LegalHold:
            out["held"].append(evidence_id)
        except AlreadyShredded:
            out["already_shredded"].append(evidence_id)
    return out


class NotShredded(NotFound):
    """The item was not shredded, so it has no deletion certificate."""

    default_code = "not_shredded"


def deletion_certificate_of(
    row: Evidence, custody: CustodyLog, jwks: Mapping[str, Any],
) -> tuple[DeletionCertificate, str, list[Check]]:
    """The item's deletion certificate, its JWS, and the checks made on it now: its signature,
    that it is about this statement, and that the custody log (itself checked) holds the
    ``shredded`` event it names."""
    if row.deletion_jws is None:
        raise NotShredded(f"evidence {row.id!r} was not shredded", evidence_id=row.id)
    statement = Statement.from_bytes(jws_payload(row.statement_jws))
    custody_check, events = check_custody(
        [r.jws for r in custody.events(row.id)], jwks, evidence_id=row.id,
        statement_digest=bytes.fromhex(row.statement_digest))
    check, cert = check_deletion(row.deletion_jws, jwks, statement=statement, custody=events)
    if cert is None:  # our own record no longer verifies: say so, never hide it
        raise NotaryError(f"the deletion certificate of {row.id!r} does not verify: "
                          f"{check.reason}", code="deletion_certificate_invalid")
    return cert, row.deletion_jws, [check, custody_check]


def read_deletion_certificate(
    ctx: Context, tenant: str, evidence_id: str,
) -> tuple[DeletionCertificate, str, list[Check]]:
    """The deletion certificate of an item ``tenant`` may see (see
    :func:`deletion_certificate_of`)."""
    row = visible_evidence(ctx.engine, tenant, evidence_id)
    return deletion_certificate_of(row, ctx.custody, ctx.jwks())
