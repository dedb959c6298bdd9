"""The deployment's transparency log (issue 19): append, sign checkpoints, answer proofs.

Appending: where a statement is accepted or a custody event recorded, :func:`stage` notes its
entry in the caller's session; when that session's outermost transaction commits, the
``before_commit`` hook below locks the log's head row (``SELECT ... FOR UPDATE``; on SQLite
the transaction already holds the write lock from ``BEGIN IMMEDIATE``), numbers the staged
entries from the head's size and writes them in the same transaction. So an item accepted has
its leaf (or neither commits), leaves are numbered in commit order without gaps across threads
and processes, and the head is locked last and only for the moment before the commit (no lock
order with the case or item locks taken earlier, so no deadlock with them).

Checkpoints: the anchoring worker signs one each cycle in which the log grew (see
:meth:`TransparencyLog.publish`), with the log's own key (notary.keyfiles.load_log_key),
and the witnesses cosign it (notary.service.cosigning).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, event, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from notary.core import tlog
from notary.core.errors import InputError
from notary.core.logentry import EntryType, entry_leaf, signed_sha256
from notary.core.merkle import LeafType
from notary.core.note import ED25519, Checkpoint, Note, Signer, parse_signatures
from notary.core.signing import SigningKey
from notary.service.errors import NotFound
from storage.db import Batch, session, table_of
from storage.translog import LogCheckpoint, LogCosignature, LogEntry, LogHead

log = logging.getLogger("notary.translog")

_PENDING = "notary_log_pending"
_HEAD = table_of(LogHead)
_ENTRIES = table_of(LogEntry)
_LOCK_HEAD = select(_HEAD.c.size).where(_HEAD.c.id == 1).with_for_update()
_GROW_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(size=bindparam("b_size"))


def stage(s: Session, kind: EntryType, jws: str, evidence_id: str,
          custody_seq: int | None = None) -> None:
    """Append the entry of ``jws`` to the log when ``s``'s transaction commits."""
    s.info.setdefault(_PENDING, []).append((kind, jws, evidence_id, custody_seq))


@event.listens_for(OrmSession, "before_commit")
def _sequence(s: OrmSession) -> None:
    if s.in_nested_transaction():  # a savepoint: the outermost commit numbers them
        return
    pending = s.info.pop(_PENDING, None)
    if not pending:
        return
    s.flush()  # every other row lock first: the head is the last lock a transaction takes
    # Core statements, not ORM objects: this runs in every submission's transaction, and
    # three entries and the head through the unit of work cost more than the rest of it.
    # Nothing loads LogHead as an object, so no session holds a stale copy of it.
    conn = s.connection()
    size = int(conn.execute(_LOCK_HEAD).scalar_one())
    now = datetime.now(UTC)
    conn.execute(insert(_ENTRIES), [
        {"idx": size + i, "kind": int(kind), "signed_sha256": signed_sha256(jws).hex(),
         "leaf_hash": entry_leaf(kind, jws).hex(), "evidence_id": evidence_id,
         "custody_seq": seq, "created_at": now}
        for i, (kind, jws, evidence_id, seq) in enumerate(pending)])
    conn.execute(_GROW_HEAD, {"b_size": size + len(pending)})


@event.listens_for(OrmSession, "after_transaction_end")
def _forget(s: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost ended (committed or rolled back)
        s.info.pop(_PENDING, None)


def log_signer(key: SigningKey, origin: str | None) -> Signer:
    """The checkpoint signer: key name = origin (as c2sp.org/tlog-checkpoint has it). With no
    origin configured, ``notary-log/`` and 16 hex digits of SHA-256 of the public key: unique
    and stable for the deployment, as its log key is."""
    signer = Signer("-", ED25519, key.private_key)
    if not origin:
        origin = f"notary-log/{hashlib.sha256(signer.verifier.public).hexdigest()[:16]}"
    return Signer(origin, ED25519, key.private_key)


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    kind: EntryType
    signed_sha256: bytes
    leaf_hash: bytes
    proof: list[bytes]
    checkpoint: bytes  # the signed checkpoint of ``size``, with the cosignatures collected

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "tree_size": self.size,
                "entry": {"type": self.kind.name.lower(),
                          "signed_sha256": self.signed_sha256.hex()},
                "leaf_hash": b64(self.leaf_hash), "proof": [b64(p) for p in self.proof],
                "checkpoint": self.checkpoint.decode()}


class TransparencyLog:
    """The log of one deployment: its signer (key name = origin) and its stored state."""

    def __init__(self, engine: Engine, signer: Signer) -> None:
        if signer.sig_type != ED25519:
            raise ValueError("a log signs its checkpoints with an Ed25519 (0x01) key")
        self.engine, self.signer = engine, signer

    @property
    def origin(self) -> str:
        return self.signer.name

    # -- checkpoints ------------------------------------------------------------------------

    def publish(self) -> LogCheckpoint | None:
        """Sign and store a checkpoint of the log as committed now, unless the latest one
        already has this size; returns the new one. Its ``batch_id`` is the newest batch
        built before it: every item of that batch and the earlier ones is in it, since an
        item's leaf commits with the item, before any batch can take it."""
        with session(self.engine) as s:
            newest_batch = s.exec(select(func.max(Batch.id))).one()
            size = s.exec(select(LogHead.size).where(LogHead.id == 1)).one()
            latest = s.exec(select(func.max(LogCheckpoint.size))).one()
            if latest is not None and latest >= size:
                return None
            leaves = self._leaves(s, size)
        cp = Checkpoint(self.origin, size, tlog.root(leaves))
        note = Note(cp.text(), (self.signer.sign(cp.text()),))
        row = LogCheckpoint(size=size, root=cp.root.hex(), note=note.encode().decode(),
                            created_at=datetime.now(UTC), batch_id=newest_batch)
        try:
            with session(self.engine) as s:
                s.add(row)
                s.commit()
        except IntegrityError:  # another process signed this size (the same root) first
            return None
        log.info("log checkpoint signed: size %d, root %s", size, cp.root.hex())
        return row

    def checkpoint_row(self, size: int | None = None) -> LogCheckpoint:
        """The checkpoint of ``size``, or the latest; NotFound when there is none."""
        with session(self.engine) as s:
            query = select(LogCheckpoint)
            query = (query.where(LogCheckpoint.size == size) if size is not None
                     else query.order_by(col(LogCheckpoint.size).desc()).limit(1))
            row = s.exec(query).first()
        if row is None:
            raise NotFound("尚无该大小的签名检查点 / no signed checkpoint of the log"
                           + (f" at size {size}" if size is not None else " yet"),
                           code="log_checkpoint_not_found")
        return row

    def cosigned(self, row: LogCheckpoint) -> Note:
        """The checkpoint note with every cosignature collected for it."""
        with session(self.engine) as s:
            lines = list(s.exec(select(LogCosignature.line).where(LogCosignature.size == row.size)
                                .order_by(col(LogCosignature.witness))))
        note = Note.parse(row.note.encode())
        extra = [sig for line in lines for sig in parse_signatures(line.encode())]
        return note.with_signatures(extra)

    def anchored(self, size: int | None = None) -> tuple[LogCheckpoint, Batch]:
        """The checkpoint of ``size`` (default: the newest one anchored) and the anchored batch
        that holds it. NotFound ``log_checkpoint_not_anchored`` when that checkpoint is in no
        anchored batch (yet: the next anchoring cycle takes the newest one)."""
        with session(self.engine) as s:
            query = (select(LogCheckpoint, Batch)
                     .join(Batch, col(Batch.id) == col(LogCheckpoint.anchor_batch_id))
                     .where(Batch.status == "anchored"))
            query = (query.where(LogCheckpoint.size == size) if size is not None
                     else query.order_by(col(LogCheckpoint.size).desc()).limit(1))
            found = s.exec(query).first()
        if found is None:
            raise NotFound("该检查点尚未锚定上链 / no anchored checkpoint of the log"
                           + (f" at size {size}" if size is not None else " yet"),
                           code="log_checkpoint_not_anchored")
        return found[0], found[1]

    # -- proofs -----------------------------------------------------------------------------

    def leaves(self, size: int) -> list[bytes]:
        with session(self.engine) as s:
            return self._leaves(s, size)

    @staticmethod
    def _leaves(s: Session, size: int) -> list[bytes]:
        hashes = list(s.exec(select(LogEntry.leaf_hash).where(col(LogEntry.idx) < size)
                             .order_by(col(LogEntry.idx))))
        if len(hashes) != size:  # never: numbering is gap-free; a deleted row shows here
            raise RuntimeError(f"the log holds {len(hashes)} of its first {size} leaves")
        return [bytes.fromhex(h) for h in hashes]

    def _published_size(self, size: int | None) -> LogCheckpoint:
        if size is not None and size < 0:
            raise InputError("tree_size 不能为负 / tree_size cannot be negative",
                             code="log_size_invalid")
        return self.checkpoint_row(size)

    def inclusion(self, *, index: int | None = None, evidence_id: str | None = None,
                  custody_seq: int | None = None, size: int | None = None) -> InclusionProof:
        """The audit path of one entry (by leaf index, or the statement of ``evidence_id``,
        or its custody event ``custody_seq``) in the published tree of ``size`` (default:
        the latest checkpoint)."""
        cp = self._published_size(size)
        with session(self.engine) as s:
            query = select(LogEntry)
            if index is not None:
                query = query.where(LogEntry.idx == index)
            elif evidence_id is not None:
                query = query.where(LogEntry.evidence_id == evidence_id,
                                    LogEntry.custody_seq == custody_seq if custody_seq is not None
                                    else col(LogEntry.custody_seq).is_(None))
            else:
                raise InputError("给出 index 或 evidence_id / give index or evidence_id",
                                 code="log_entry_unspecified")
            entry = s.exec(query).first()
            if entry is None:
                raise NotFound("日志中没有该条目 / no such entry in the log",
                               code="log_entry_not_found")
            if entry.idx >= cp.size:
                raise NotFound(f"该条目（第 {entry.idx} 个）在大小为 {cp.size} 的树之后才加入 / "
                               f"entry {entry.idx} was appended after the tree of size "
                               f"{cp.size}: ask again after the next checkpoint",
                               code="log_entry_not_in_tree", index=entry.idx)
            leaves = self._leaves(s, cp.size)
        return InclusionProof(entry.idx, cp.size, EntryType(entry.kind),
                              bytes.fromhex(entry.signed_sha256), leaves[entry.idx],
                              tlog.inclusion_proof(entry.idx, leaves),
                              self.cosigned(cp).encode())

    def bundle_part(self, evidence_ids: Sequence[str], threshold: int = 0,
                    witnesses: Sequence[tuple[str, int]] = ()
                    ) -> tuple[bytes, dict[tuple[str, int | None], tuple[int, list[bytes]]]] | None:
        """The log's part of a bundle of ``evidence_ids``: the checkpoint (with its
        cosignatures) and, by ``(evidence_id, custody_seq or None)``, each entry's index and
        audit path in it, from one read of the leaves (a case of 10,000 items). The checkpoint
        is the newest that holds every statement and has ``threshold`` cosignatures of
        ``witnesses`` (name, key id), else the newest that holds every statement; custody
        events logged after it are left out (the bundle says so). None when no checkpoint
        holds every statement yet."""
        ids = list(dict.fromkeys(evidence_ids))
        entries: dict[tuple[str, int | None], int] = {}
        with session(self.engine) as s:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                for eid, seq, idx in s.exec(select(LogEntry.evidence_id, LogEntry.custody_seq,
                                                   LogEntry.idx)
                                            .where(col(LogEntry.evidence_id).in_(chunk))):
                    entries[eid, seq] = idx
            statements = [entries.get((eid, None)) for eid in ids]
            if not statements or any(idx is None for idx in statements):
                return None
            need = max(idx for idx in statements if idx is not None) + 1
            rows = list(s.exec(select(LogCheckpoint).where(col(LogCheckpoint.size) >= need)
                               .order_by(col(LogCheckpoint.size).desc()).limit(20)))
        if not rows:
            return None
        known = set(witnesses)
        chosen = rows[0]
        for row in rows:
            note = self.cosigned(row)
            if sum((sig.name, sig.key_id) in known for sig in note.signatures) >= threshold:
                chosen = row
                break
        size = chosen.size
        covered = {k: idx for k, idx in entries.items() if idx < size}
        with session(self.engine) as s:
            leaves = self._leaves(s, size)
        paths = tlog.inclusion_proofs_of(covered.values(), leaves)
        return (self.cosigned(chosen).encode(),
                {k: (idx, paths[idx]) for k, idx in covered.items()})

    def consistency(self, old: int, new: int) -> tuple[list[bytes], LogCheckpoint, LogCheckpoint]:
        """PROOF(old, new) between two published checkpoints, and the two."""
        if not 0 < old <= new:
            raise InputError("需要 0 < from <= to / from and to need 0 < from <= to",
                             code="log_size_invalid")
        first, second = self.checkpoint_row(old), self.checkpoint_row(new)
        return tlog.consistency_proof(old, self.leaves(new)), first, second


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def log_of(translog: TransparencyLog | None) -> TransparencyLog:
    """The deployment's log; NotFound when this service was built without one."""
    if translog is None:
        raise NotFound("此服务没有透明日志 / this service keeps no transparency log",
                       code="log_checkpoint_not_found")
    return translog


def consistency_json(old: int, new: int, translog: TransparencyLog) -> dict[str, Any]:
    """The consistency proof between two published sizes, with both checkpoints."""
    proof, first, second = translog.consistency(old, new)
    return {"from": old, "to": new, "proof": [b64(p) for p in proof],
            "from_checkpoint": translog.cosigned(first).encode().decode(),
            "to_checkpoint": translog.cosigned(second).encode().decode()}


def anchor_json(translog: TransparencyLog, size: int | None) -> dict[str, Any]:
    """A checkpoint anchored on chain: the checkpoint (with its cosignatures), its leaf values
    and proof in the batch's OpenZeppelin tree, and the batch's anchor; what a verifier needs
    to check that the log's root was on chain by the block's time (docs/witness.md §4.3)."""
    row, batch = translog.anchored(size)
    note = translog.cosigned(row)
    text = note.text
    return {"tree_size": row.size, "checkpoint": note.encode().decode(),
            "leaf_values": [int(LeafType.LOG_CHECKPOINT),
                            "0x" + hashlib.sha256(text).hexdigest(), "0x" + row.root],
            "leaf": row.leaf, "proof": json.loads(row.proof or "[]"),
            "anchor": {"root": batch.root, "chain_id": batch.chain_id,
                       "contract": batch.contract, "batch_id": batch.onchain_batch_id,
                       "tx_hash": batch.tx_hash, "block_number": batch.block_number,
                       "block_hash": batch.block_hash,
                       "block_timestamp": batch.block_timestamp}}
