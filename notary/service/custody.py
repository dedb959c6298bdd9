"""The custody log of each evidence item: append signed, linked events; verify them.

Events are appended inside the caller's database transaction where the act itself is recorded
(a submission, a transfer), so an act and its event commit together or not at all. Verification
checks the signatures and links (notary.core.custody) and, for every anchored batch that holds
an event, recomputes the batch's Merkle root from the leaves the database still has: a deleted,
reordered or rewritten event no longer adds up to the root the chain recorded.

Reads through a share link are anonymous and can be repeated at will; so that they cannot grow
a log without bound, a link's ``viewed`` and ``exported`` events are coalesced: at most one per
link, act and item per :data:`COALESCE_WINDOW` (the first read of the window is recorded, with
its time; later reads in that window are covered by it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from notary.core.custody import CustodyAct, CustodyEvent, check_custody, event_leaf, sign_event
from notary.core.errors import Contention, NotaryError
from notary.core.logentry import EntryType, checkpoint_leaf
from notary.core.merkle import MerkleTree, from_hex32, statement_leaf
from notary.core.note import Note
from notary.core.signing import SigningKey, jws_payload
from notary.core.validate import format_rfc3339_utc
from notary.core.verdict import Check, CheckStatus
from notary.service.actors import Actor
from notary.service.translog import stage
from notary.service.webhooks import announce_custody
from storage.db import (
    Batch,
    Case,
    CustodyRecord,
    Evidence,
    row_values,
    session,
    table_of,
    utc,
)
from storage.translog import LogCheckpoint

#: How often one append is retried when a concurrent transaction took its sequence number.
APPEND_ATTEMPTS = 5
COALESCE_WINDOW = timedelta(hours=1)
#: Items per statement when one event is appended to many logs (:meth:`CustodyLog.append_each`).
APPEND_GROUP = 500
_COALESCED_ACTS = frozenset({CustodyAct.VIEWED, CustodyAct.EXPORTED})
_EVENTS = table_of(CustodyRecord)
_CASES = table_of(Case)


def coalesce_key(act: CustodyAct, actor: Actor) -> str | None:
    """The key repeated events share, or None for an event that is always recorded: only
    reads by a share link are coalesced (keyed ``viewed|share:<id>`` as stored so far)."""
    if act in _COALESCED_ACTS and actor.is_share:
        return f"{act.value}|{actor.name}"[:96]
    return None


class CustodyLog:
    """Appends and verifies custody events with the service's signing key."""

    def __init__(self, engine: Engine, signing_key: SigningKey) -> None:
        self.engine = engine
        self.signing_key = signing_key

    def append(self, s: Session, evidence: Evidence, act: CustodyAct, *, actor: Actor,
               tenant: str, detail: Mapping[str, str | int] | None = None,
               coalesce: str | None = None) -> CustodyRecord:
        """Add the next event of ``evidence`` in session ``s`` (the caller commits).

        Another transaction may take the same sequence number between our read and our write
        (a shred or hold racing a read that records a ``viewed`` event, on PostgreSQL). So
        appends to one item queue on its evidence row (``SELECT ... FOR UPDATE``: a hold
        holds that lock already, and a reader that took the number first would otherwise
        wait for it while the hold waits for the reader's number, a deadlock), and the insert
        is flushed in a savepoint: on a unique ``(evidence_id, seq)`` conflict or a deadlock
        it is undone alone and retried. The caller's other work in ``s`` stays. After
        :data:`APPEND_ATTEMPTS` raises ``custody_contention`` (503, retry)."""
        for _attempt in range(APPEND_ATTEMPTS):
            try:
                with s.begin_nested():
                    s.exec(select(Evidence.id).where(Evidence.id == evidence.id)
                           .with_for_update())
                    record = self._next_record(s, evidence, act, actor=actor, tenant=tenant,
                                               detail=detail, coalesce=coalesce)
                    s.add(record)
                    announce_custody(s, evidence, act, seq=record.seq, at=record.at,
                                     detail=detail)
            except (IntegrityError, OperationalError) as exc:
                if isinstance(exc, OperationalError) and not _contended(exc):
                    raise
                time.sleep(0.01 * (_attempt + 1))
                continue
            # staged once the savepoint is released: a retried number is never logged twice
            stage(s, EntryType.CUSTODY_EVENT, record.jws, evidence.id, record.seq)
            return record
        raise Contention("the custody log of this item is busy; nothing was recorded: retry",
                         code="custody_contention", evidence_id=evidence.id, retry_after=1)

    def append_each(self, s: Session, items: Sequence[Evidence], act: CustodyAct, *,
                    actor: Actor, detail: Mapping[str, str | int]) -> None:
        """The same event appended to the log of each of ``items`` (the batch worker's
        ``anchored``), in session ``s`` (the caller commits), in a few statements instead of
        :meth:`append`'s three per item: every item's row is locked first (in id order), then
        the last event of each read in one query. If that fails (a concurrent append took a
        sequence number, a deadlock), what it did is undone and each item goes through
        :meth:`append`, with its retries. Items go :data:`APPEND_GROUP` at a time (the
        number of parameters of one statement is bounded)."""
        for start in range(0, len(items), APPEND_GROUP):
            self._append_group(s, items[start:start + APPEND_GROUP], act, actor=actor,
                               detail=detail)

    def _append_group(self, s: Session, items: Sequence[Evidence], act: CustodyAct, *,
                      actor: Actor, detail: Mapping[str, str | int]) -> None:
        ids = sorted(item.id for item in items)
        added: list[CustodyRecord] = []
        try:
            with s.begin_nested():
                s.exec(select(Evidence.id).where(Evidence.id.in_(ids))  # type: ignore[attr-defined]
                       .order_by(Evidence.id).with_for_update())
                newest = (select(CustodyRecord.evidence_id,
                                 func.max(CustodyRecord.seq).label("seq"))
                          .where(CustodyRecord.evidence_id.in_(ids))  # type: ignore[attr-defined]
                          .group_by(CustodyRecord.evidence_id).subquery())
                last = {r.evidence_id: r for r in s.exec(
                    select(CustodyRecord).join(newest, (CustodyRecord.evidence_id  # type: ignore[arg-type]
                                                        == newest.c.evidence_id)
                                               & (CustodyRecord.seq == newest.c.seq)))}
                # Who holds each item's case (who hears of it), in one query for the group
                # rather than one per case; an item without a case is its submitter's.
                uids = sorted({item.case_uid for item in items if item.case_uid})
                holders = {uid: holder for uid, holder in s.connection().execute(
                    select(_CASES.c.uid, _CASES.c.holder).where(_CASES.c.uid.in_(uids)))}
                for item in items:
                    record = self._record_after(last.get(item.id), item, act, actor=actor,
                                                tenant=item.tenant, detail=detail,
                                                coalesce=None)
                    s.add(record)
                    added.append(record)
                    announce_custody(s, item, act, seq=record.seq, at=record.at,
                                     detail=detail,
                                     holder=holders.get(item.case_uid or "", item.tenant))
            # staged once the savepoint is released, as in append: an undone group logs nothing
            for record in added:
                stage(s, EntryType.CUSTODY_EVENT, record.jws, record.evidence_id, record.seq)
            return
        except (IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and not _contended(exc):
                raise
        for item in items:
            self.append(s, item, act, actor=actor, tenant=item.tenant, detail=detail)

    def append_first(self, s: Session, evidence: Evidence,
                     events: Sequence[tuple[CustodyAct, Actor, Mapping[str, str | int]]], *,
                     tenant: str, holder: str | None = None) -> list[CustodyRecord]:
        """The first events of an item whose row ``s`` has just inserted (the caller commits).

        Nothing else can append to that log before the commit (no other transaction sees the
        row), so the queueing, savepoint and read of the last event that :meth:`append` needs
        are left out: the events are linked here, in order, and written in one Core insert
        (the item's row must already be written: they refer to it). The unique
        ``(evidence_id, seq)`` constraint still refuses a duplicate, failing the whole
        transaction. ``holder``: the tenant holding the item's case, when the caller has the
        case locked (its webhooks are announced without reading the case again)."""
        records: list[CustodyRecord] = []
        last: CustodyRecord | None = None
        for act, actor, detail in events:
            last = self._record_after(last, evidence, act, actor=actor, tenant=tenant,
                                      detail=detail, coalesce=None)
            records.append(last)
        if records:
            s.connection().execute(insert(_EVENTS), [row_values(record) for record in records])
        for record, (act, _actor, detail) in zip(records, events, strict=True):
            stage(s, EntryType.CUSTODY_EVENT, record.jws, evidence.id, record.seq)
            announce_custody(s, evidence, act, seq=record.seq, at=record.at, detail=detail,
                             holder=holder)
        return records

    def _next_record(self, s: Session, evidence: Evidence, act: CustodyAct, *, actor: Actor,
                     tenant: str, detail: Mapping[str, str | int] | None,
                     coalesce: str | None) -> CustodyRecord:
        last = s.exec(select(CustodyRecord).where(CustodyRecord.evidence_id == evidence.id)
                      .order_by(CustodyRecord.seq.desc()).limit(1)).first()  # type: ignore[attr-defined]
        return self._record_after(last, evidence, act, actor=actor, tenant=tenant,
                                  detail=detail, coalesce=coalesce)

    def _record_after(self, last: CustodyRecord | None, evidence: Evidence, act: CustodyAct, *,
                      actor: Actor, tenant: str, detail: Mapping[str, str | int] | None,
                      coalesce: str | None) -> CustodyRecord:
        """The signed event that follows ``last`` (the first one when None)."""
        # Never dated before the event it follows, even if the clock stepped back: the order
        # is proven by the links, and the times should not seem to contradict it.
        now = datetime.now(UTC) if last is None else max(datetime.now(UTC), utc(last.at))
        event = CustodyEvent(
            evidence_id=evidence.id, seq=last.seq + 1 if last else 1, act=act, actor=actor.label,
            tenant=tenant, at=format_rfc3339_utc(now), detail=dict(detail or {}),
            prev_event=last.digest if last else None)
        return CustodyRecord(evidence_id=evidence.id, seq=event.seq, act=act.value,
                             jws=sign_event(event, self.signing_key),
                             digest=event.digest().hex(), at=now, coalesce_key=coalesce)

    def record_each(self, rows: Sequence[Evidence], act: CustodyAct, *, actor: Actor,
                    tenant: str | None, detail: Mapping[str, str | int] | None = None,
                    per_commit: int = 500) -> None:
        """:meth:`record` for many items (a case export): the same events, appended
        :data:`per_commit` to a transaction instead of one commit (and fsync) each, which
        was most of exporting a large case. A share link's coalesced events go one by one."""
        if coalesce_key(act, actor) is not None:
            for row in rows:
                self.record(row, act, actor=actor, tenant=tenant or row.tenant, detail=detail)
            return
        for start in range(0, len(rows), per_commit):
            with session(self.engine) as s:
                for row in rows[start:start + per_commit]:
                    self.append(s, row, act, actor=actor, tenant=tenant or row.tenant,
                                detail=detail)
                s.commit()

    def record(self, evidence: Evidence, act: CustodyAct, *, actor: Actor, tenant: str,
               detail: Mapping[str, str | int] | None = None) -> CustodyRecord:
        """Append one event in its own transaction (:meth:`append` retries a raced sequence
        number). A share link's repeated read within the window returns the window's event
        instead."""
        key = coalesce_key(act, actor)
        with session(self.engine) as s:
            if key is not None:
                since = datetime.now(UTC) - COALESCE_WINDOW
                earlier = s.exec(select(CustodyRecord).where(
                    CustodyRecord.evidence_id == evidence.id,
                    CustodyRecord.coalesce_key == key,
                    CustodyRecord.at >= since)).first()
                if earlier is not None:
                    return earlier
            rec = self.append(s, evidence, act, actor=actor, tenant=tenant, detail=detail,
                              coalesce=key)
            s.commit()
            return rec

    def events(self, evidence_id: str) -> list[CustodyRecord]:
        with session(self.engine) as s:
            return list(s.exec(select(CustodyRecord)
                               .where(CustodyRecord.evidence_id == evidence_id)
                               .order_by(CustodyRecord.seq)))  # type: ignore[arg-type]

    def verify(self, evidence: Evidence, jwks: Mapping[str, object]) -> list[Check]:
        """Checks ``custody`` (signatures, order, links) and ``custody_anchored`` (the events in
        anchored batches still add up to those batches' roots)."""
        records = self.events(evidence.id)
        check, _events = check_custody([r.jws for r in records], jwks, evidence_id=evidence.id,
                                       statement_digest=bytes.fromhex(evidence.statement_digest))
        return [check, self._check_batches(records)]

    def _check_batches(self, records: list[CustodyRecord]) -> Check:
        batch_ids = sorted({r.batch_id for r in records if r.batch_id is not None})
        if not batch_ids:
            return Check("custody_anchored", CheckStatus.SKIP,
                         "No custody event of this item is anchored yet.")
        with session(self.engine) as s:
            for batch_id in batch_ids:
                batch = s.get(Batch, batch_id)
                if batch is None or batch.status != "anchored":
                    continue
                leaves = batch_leaves(s, batch_id)
                if len(leaves) != batch.leaf_count:
                    return Check("custody_anchored", CheckStatus.FAIL,
                                 f"Batch {batch.onchain_batch_id} was anchored with "
                                 f"{batch.leaf_count} records, but the database now holds "
                                 f"{len(leaves)} of them: records were deleted or added.")
                if MerkleTree.build(leaves).root != from_hex32(batch.root):
                    return Check("custody_anchored", CheckStatus.FAIL,
                                 f"The records of batch {batch.onchain_batch_id} no longer add up "
                                 "to its anchored Merkle root: a record was changed.")
        return Check("custody_anchored", CheckStatus.PASS,
                     f"The anchored custody events still add up to the Merkle roots of their "
                     f"{len(batch_ids)} batch(es).")


def _contended(exc: OperationalError) -> bool:
    """A deadlock or serialisation failure (PostgreSQL 40P01 / 40001): worth retrying."""
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def batch_leaves(s: Session, batch_id: int) -> list[bytes]:
    """Every leaf of a batch recomputed from the database rows, not from stored leaf fields."""
    leaves = [statement_leaf(bytes.fromhex(e.statement_digest), bytes.fromhex(e.sha256))
              for e in s.exec(select(Evidence).where(Evidence.batch_id == batch_id))]
    for r in s.exec(select(CustodyRecord).where(CustodyRecord.batch_id == batch_id)):
        evidence = s.get(Evidence, r.evidence_id)
        if evidence is None:
            continue
        try:
            event = CustodyEvent.from_bytes(jws_payload(r.jws))
        except NotaryError:
            leaves.append(b"\0" * 32)  # unreadable: cannot be the anchored leaf
            continue
        leaves.append(event_leaf(event, bytes.fromhex(evidence.sha256)))
    for c in s.exec(select(LogCheckpoint).where(LogCheckpoint.anchor_batch_id == batch_id)):
        try:
            leaves.append(checkpoint_leaf(Note.parse(c.note.encode()).text))
        except ValueError:  # NoteError
            leaves.append(b"\0" * 32)  # unreadable: cannot be the anchored leaf
    return leaves




def custody_json(records: list[CustodyRecord]) -> list[dict[str, Any]]:
    """The log as the API shows it: the signed event and its decoded payload (an event whose
    payload no longer decodes is shown as unreadable; the checks say why)."""
    out: list[dict[str, Any]] = []
    for r in records:
        try:
            event = json.loads(jws_payload(r.jws))
        except (NotaryError, ValueError):
            event = {"unreadable": "this event's signed payload does not decode"}
        out.append({"seq": r.seq, "act": r.act, "event": event, "jws": r.jws,
                    "status": r.status})
    return out
