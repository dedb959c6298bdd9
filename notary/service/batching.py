"""The batch worker: turn pending statements into anchored Merkle batches, crash-safely.

One cycle (only while this worker holds the anchoring lease):
  1. Watch recent anchors: an anchor the chain no longer has (blocks lost, a node restarted
     from older state) is recorded as superseded and its batch is anchored again, with the same
     root and so the same inclusion proofs; an anchor re-mined in another block is updated.
  2. Reconcile every batch recorded but not yet anchored (after a crash or a timeout): ask
     the registry whether its root is anchored; if so, record it; if its transaction is stuck
     past ``replace_after``, replace it (same nonce, higher fee); otherwise send it again.
  3. Build a batch from the oldest pending items (at most ``batch_max``) and the newest
     checkpoint of the transparency log not anchored yet (signed first if the log grew, so it
     covers those items, bar any committed between the signing and the selection): compute
     the tree, and in ONE transaction record the batch, its signed anchor transaction, and
     each leaf and proof. Only then send the transaction. A
     checkpoint alone makes a batch too, so the last one after a burst is anchored; anchoring
     it appends nothing to the log, so that stops.
  4. Wait for the receipt and the confirmations; record the anchor; mark items ``anchored``.
  5. When a TSA is configured (``NOTARY_TSA_URL``), timestamp the roots of batches that have
     no RFC 3161 token yet. Last, and stopping at the first failure, so that a TSA that is
     down or slow never delays or loses an anchor; a later cycle picks the batches up.
     Then renew the tokens whose TSA certificate expires within ``NOTARY_TSA_RENEW_BEFORE``
     (notary.service.renewal, RFC 4998), under the same rule: a failure waits (for
     ``NOTARY_TSA_RENEW_RETRY`` seconds) and never delays anchoring.
  5b. When second anchors are configured (``NOTARY_EXTRA_ANCHORS``), anchor the roots of
     batches already anchored on the primary chain on each extra chain
     (:meth:`BatchWorker.attest_extra`): after the primary and the TSA, each backend on its
     own, stopping at its first failure, so that an extra chain that is down or reverts
     never delays the primary; a later cycle adds the missing attestations.
  6. Sign a checkpoint of the transparency log if it grew (notary.service.translog), and ask
     the configured witnesses to cosign it (notary.service.cosigning). Even when an earlier
     step failed (the chain is down): the log does not depend on the chain, and a witness
     that is down only costs its own request.
The registry refuses a root that is already anchored, so a transaction sent twice (before and
after a crash) can never anchor the same batch twice.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from notary.chain.errors import AnchorRejected, ChainError
from notary.chain.extra import AnchorBackend
from notary.chain.registry import Registry, SignedAnchor
from notary.core.custody import CustodyAct
from notary.core.errors import NotaryError
from notary.core.logentry import checkpoint_leaf
from notary.core.merkle import LeafType, MerkleTree, from_hex32, statement_leaf, to_hex32
from notary.core.note import Note
from notary.core.verdict import AnchorFacts
from notary.service.actors import SERVICE
from notary.service.cosigning import WitnessConfig, collect
from notary.service.custody import CustodyLog
from notary.service.faults import crash_point
from notary.service.lease import Lease
from notary.service.renewal import DEFAULT_RENEW_BEFORE, renew_timestamps
from notary.service.translog import TransparencyLog
from notary.service.webhooks import announce_superseded
from notary.tsa import TimestampAuthority, TimestampError
from storage.db import (
    Batch,
    CustodyRecord,
    Evidence,
    ExtraAnchor,
    SupersededAnchor,
    pending_count,
    session,
)
from storage.translog import LogCheckpoint

log = logging.getLogger("notary.batching")


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class BatchWorker:
    """Anchors pending evidence every ``interval`` seconds or at ``batch_max`` items."""

    def __init__(
        self, engine: Engine, registry: Registry, *, interval: float = 2.0, batch_max: int = 1000,
        lease_ttl: float = 15.0, replace_after: float = 60.0, reorg_window: int = 64,
        custody: CustodyLog | None = None, tsa: TimestampAuthority | None = None,
        translog: TransparencyLog | None = None, witnesses: Sequence[WitnessConfig] = (),
        witness_timeout: float = 10.0, tsa_renew_before: float = DEFAULT_RENEW_BEFORE,
        tsa_renew_retry: float = 600.0, extra: Sequence[AnchorBackend] = (),
    ) -> None:
        self.engine = engine
        self.extra = tuple(extra)
        #: Each second anchor's last failure (None once it attested again).
        self.extra_errors: dict[str, str | None] = {}
        self.translog, self.witnesses = translog, tuple(witnesses)
        self.witness_timeout = witness_timeout
        self.witness_errors: dict[str, str | None] = {}
        self.tsa = tsa
        self.tsa_renew_before, self.tsa_renew_retry = tsa_renew_before, tsa_renew_retry
        self._renew_after = 0.0  # monotonic: no renewal attempt before (after a failure)
        self.last_renewal_error: str | None = None
        self.custody = custody
        self.registry = registry
        self.interval = interval
        self.batch_max = batch_max
        self.replace_after = timedelta(seconds=replace_after)
        self.reorg_window = reorg_window
        self.lease = Lease(engine, ttl=lease_ttl)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.last_tsa_error: str | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self.lease.start_heartbeat()
        self._thread = threading.Thread(target=self.run_forever, name="batch-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.lease.release()

    def poke(self) -> None:
        """Called after a submission: anchor early once ``batch_max`` items wait."""
        self._wake.set()

    def run_forever(self) -> None:
        next_due = time.monotonic() + self.interval
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_due - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                break
            due = time.monotonic() >= next_due
            if not due and self.pending_count() < self.batch_max:
                continue
            try:
                self.run_once()
                self.last_error = None
            except NotaryError as exc:
                # The chain or database is away: keep the items pending and try again later.
                self.last_error = f"{exc.code}: {exc.message}"
                log.warning("anchoring deferred: %s", self.last_error)
            except Exception as exc:
                self.last_error = f"unexpected: {type(exc).__name__}"
                log.exception("anchoring cycle failed")
            next_due = time.monotonic() + self.interval

    # -- one cycle ----------------------------------------------------------------------------

    def pending_count(self) -> int:
        """Statements and custody events waiting for a batch."""
        return pending_count(self.engine)

    def run_once(self) -> int:
        """Steps 1-5 once; returns the number of items anchored. Does nothing (returns 0)
        unless this worker holds the anchoring lease."""
        if not (self.lease.held or self.lease.try_acquire()):
            return 0
        try:
            self.watch_anchors()
            anchored = self.reconcile()
            while not self._stop.is_set() and self.lease.held:
                batch = self.build_batch()
                if batch is None:
                    break
                anchored += self.send_and_confirm(batch)
                if batch.leaf_count < self.batch_max:
                    break
            self.timestamp_roots()
            if self.last_tsa_error is None:  # the TSA answers: renew what is due
                self.renew_timestamps()
            self.attest_extra()
        finally:
            self.sign_log()
        return anchored

    def sign_log(self) -> None:
        """Step 6: a checkpoint if the log grew, then the witnesses' cosignatures. Never
        raises: a failure is logged and the next cycle tries again."""
        if self.translog is None:
            return
        try:
            self.translog.publish()
            if self.witnesses:
                self.witness_errors = collect(self.translog, self.witnesses,
                                              self.witness_timeout)
        except Exception:
            log.exception("signing the log's checkpoint failed")

    def watch_anchors(self) -> int:
        """Step 1: re-check anchors in the last ``reorg_window`` blocks against the chain.
        Returns how many were superseded."""
        latest = self.registry.latest_block()
        with session(self.engine) as s:
            recent = list(s.exec(select(Batch).where(
                Batch.status == "anchored",
                Batch.block_number >= latest - self.reorg_window)  # type: ignore[operator]
                .order_by(Batch.id)))  # type: ignore[arg-type]
            # A block number above the chain's tip means the chain went backwards.
            recent += list(s.exec(select(Batch).where(Batch.status == "anchored",
                                                      Batch.block_number > latest)))  # type: ignore[operator]
        superseded = 0
        seen: set[int] = set()
        for batch in recent:
            if batch.id in seen:
                continue
            seen.add(batch.id)  # type: ignore[arg-type]
            facts = self.registry.find_anchor(from_hex32(batch.root))
            recorded = self._recorded_facts(batch)
            if facts is not None and (facts.tx_hash, facts.block_hash) == (
                    recorded.tx_hash, recorded.block_hash):
                continue
            reason = ("the anchor's block was lost (the chain went back)" if facts is None
                      else f"the anchor was re-mined in block {facts.block_number}")
            log.warning("batch %s: %s; superseding tx %s", batch.id, reason, recorded.tx_hash)
            self._supersede(batch, recorded, reason, re_anchored=facts)
            superseded += 1
        return superseded

    def reconcile(self) -> int:
        """Step 2: finish every batch that was recorded but not confirmed."""
        with session(self.engine) as s:
            open_batches = list(s.exec(select(Batch).where(Batch.status != "anchored")
                                       .order_by(Batch.id)))  # type: ignore[arg-type]
        done = 0
        for batch in open_batches:
            facts = self.registry.find_anchor(from_hex32(batch.root))
            if facts is not None:
                done += self._record_anchor(batch, facts)
            else:
                done += self.send_and_confirm(batch)
        return done

    def build_batch(self) -> Batch | None:
        """Step 3: record the next batch and its proofs (before any transaction exists).

        A batch holds the oldest pending statements and custody events (at most ``batch_max``
        leaves in all): statement leaves are (1, file SHA-256, statement SHA-256), custody
        leaves (2, file SHA-256, event SHA-256).
        """
        self._publish_checkpoint()
        with session(self.engine) as s:
            items = list(s.exec(
                select(Evidence).where(Evidence.status == "pending", Evidence.batch_id.is_(None))  # type: ignore[union-attr]
                .order_by(col(Evidence.received_at), col(Evidence.id)).limit(self.batch_max)
                .with_for_update(skip_locked=True)
            ))
            events = list(s.exec(
                select(CustodyRecord, Evidence.sha256)
                .join(Evidence, CustodyRecord.evidence_id == Evidence.id)  # type: ignore[arg-type]
                .where(CustodyRecord.batch_id.is_(None))  # type: ignore[union-attr]
                .order_by(col(CustodyRecord.id)).limit(self.batch_max - len(items))
                .with_for_update(skip_locked=True, of=CustodyRecord)
            )) if len(items) < self.batch_max else []
            checkpoints = self._unanchored_checkpoint(s)
            if not items and not events and not checkpoints:
                return None
            leaves = [statement_leaf(bytes.fromhex(e.statement_digest), bytes.fromhex(e.sha256))
                      for e in items]
            leaves += [statement_leaf(bytes.fromhex(r.digest), bytes.fromhex(sha),
                                      LeafType.CUSTODY_EVENT) for r, sha in events]
            leaves += [checkpoint_leaf(Note.parse(c.note.encode()).text) for c in checkpoints]
            tree = MerkleTree.build(leaves)
            batch = Batch(root=to_hex32(tree.root), leaf_count=len(leaves),
                          created_at=datetime.now(UTC))
            s.add(batch)
            s.flush()
            rows: list[Evidence | CustodyRecord] = [*items, *(r for r, _ in events)]
            for checkpoint, leaf in zip(checkpoints, leaves[len(rows):], strict=True):
                assert batch.id is not None
                checkpoint.anchor_batch_id = batch.id
                checkpoint.leaf = to_hex32(leaf)
                checkpoint.proof = json.dumps([to_hex32(p) for p in tree.proof_for(leaf)])
                s.add(checkpoint)
            for row, leaf in zip(rows, leaves[:len(rows)], strict=True):
                row.batch_id = batch.id
                row.leaf = to_hex32(leaf)
                row.proof = json.dumps([to_hex32(p) for p in tree.proof_for(leaf)])
                s.add(row)
            s.commit()
            s.refresh(batch)
        crash_point("batch_recorded")
        return batch

    def _publish_checkpoint(self) -> None:
        """Sign a checkpoint of the log as committed now (if it grew), so the batch about to be
        built anchors a checkpoint that holds its own statements. A failure is logged and
        leaves anchoring alone: the log never holds up the chain."""
        if self.translog is None:
            return
        try:
            self.translog.publish()
        except Exception:
            log.exception("signing the log's checkpoint before a batch failed")

    def _unanchored_checkpoint(self, s: Session) -> list[LogCheckpoint]:
        """The newest checkpoint, locked, when no batch holds it yet ([] otherwise). Older ones
        left unanchored need no anchor of their own: the newest one covers them (a
        consistency proof shows each is its prefix)."""
        if self.translog is None:
            return []
        newest = s.exec(select(LogCheckpoint).order_by(col(LogCheckpoint.size).desc()).limit(1)
                        .with_for_update(skip_locked=True)).first()
        return [newest] if newest is not None and newest.anchor_batch_id is None else []

    def send_and_confirm(self, batch: Batch) -> int:
        """Step 4: sign (recording the tx before sending), send, wait, record."""
        root = from_hex32(batch.root)
        if batch.raw_tx is None or self._stale(batch):
            batch = self._sign(batch, replacing=None)
        elif self._stuck(batch):
            batch = self._sign(batch, replacing=self._signed_of(batch))
        if batch.status == "anchored":
            return 0
        assert batch.raw_tx is not None and batch.tx_hash is not None
        self.registry.send_raw(bytes.fromhex(batch.raw_tx.removeprefix("0x")))
        crash_point("tx_sent")
        try:
            facts = self.registry.wait_for_anchor(batch.tx_hash)
        except AnchorRejected:
            # Reverted: either this root got anchored by an earlier send (fine: record it), or the
            # head moved (StaleHead): forget the transaction so the next cycle signs a fresh one.
            facts_now = self.registry.find_anchor(root)
            if facts_now is not None:
                return self._record_anchor(batch, facts_now)
            self._forget_tx(batch)
            raise
        except ChainError as exc:
            if exc.code == "anchor_timeout":
                # A replacement may have been mined instead of the hash we waited for.
                facts_now = self.registry.find_anchor(root)
                if facts_now is not None:
                    return self._record_anchor(batch, facts_now)
            raise
        crash_point("confirmed")
        return self._record_anchor(batch, facts)

    def timestamp_roots(self, limit: int = 50) -> int:
        """Step 5: ask the TSA to timestamp the roots of (at most ``limit``) batches that have
        no token yet, oldest first, storing each answer only once it is validated (see
        :meth:`notary.tsa.TimestampAuthority.stamp`). The first failure ends the step (the
        TSA is down or misbehaving: the next cycle tries again). Returns how many were
        timestamped."""
        if self.tsa is None:
            return 0
        with session(self.engine) as s:
            waiting = list(s.exec(select(Batch.id, Batch.root)
                                  .where(Batch.tsa_token.is_(None))  # type: ignore[union-attr]
                                  .order_by(Batch.id).limit(limit)))  # type: ignore[arg-type]
        done = 0
        for batch_id, root in waiting:
            if self._stop.is_set():
                break
            try:
                stamp = self.tsa.stamp(from_hex32(root))
            except TimestampError as exc:
                self.last_tsa_error = f"{exc.code}: {exc.message}"
                log.warning("batch %s: timestamp deferred: %s", batch_id, self.last_tsa_error)
                return done
            with session(self.engine) as s:
                row = s.get(Batch, batch_id)
                assert row is not None
                row.tsa_token = base64.b64encode(stamp.response).decode("ascii")
                row.tsa_url, row.tsa_time = stamp.tsa_url, stamp.gen_time
                row.tsa_expires = stamp.expires
                s.add(row)
                s.commit()
            log.info("batch %s: root %s timestamped by %s at %s", batch_id, root, stamp.tsa_url,
                     stamp.gen_time.isoformat())
            done += 1
        self.last_tsa_error = None
        return done

    def attest_extra(self, limit: int = 50) -> int:
        """Step 5b: anchor on each second chain the roots of (at most ``limit``) batches
        anchored on the primary chain and not yet there, oldest first. Never raises: a
        backend's first failure ends its turn (recorded in :attr:`extra_errors`); the next
        cycle tries again. Returns how many attestations were recorded."""
        done = 0
        for backend in self.extra:
            chain_id = backend.chain_id
            with session(self.engine) as s:
                have = select(ExtraAnchor.batch_id).where(ExtraAnchor.chain_id == chain_id)
                waiting = list(s.exec(select(Batch.id, Batch.root, Batch.leaf_count).where(
                    Batch.status == "anchored", col(Batch.id).not_in(have))
                    .order_by(Batch.id).limit(limit)))  # type: ignore[arg-type]
            try:
                for batch_id, root, leaf_count in waiting:
                    if self._stop.is_set():
                        break
                    assert batch_id is not None
                    got = backend.attest(from_hex32(root), leaf_count)
                    a = got.anchor
                    with session(self.engine) as s:
                        s.add(ExtraAnchor(
                            batch_id=batch_id, chain_id=a.chain_id, contract=a.contract,
                            onchain_batch_id=a.batch_id, tx_hash=a.tx_hash,
                            block_number=a.block_number, block_hash=a.block_hash,
                            block_timestamp=a.block_timestamp,
                            raw_receipt=json.dumps(got.raw_receipt, sort_keys=True),
                            anchored_at=datetime.now(UTC)))
                        s.commit()
                    log.info("batch %s: root %s also anchored on %s, tx %s, block %d",
                             batch_id, root, backend.name, a.tx_hash, a.block_number)
                    done += 1
                    self.extra_errors[backend.name] = None
                self.extra_errors[backend.name] = None
            except Exception as exc:  # noqa: BLE001 - a second anchor never stops the cycle
                self.extra_errors[backend.name] = (
                    f"{exc.code}: {exc.message}" if isinstance(exc, NotaryError)
                    else f"unexpected: {type(exc).__name__}")
                log.warning("second anchor %s deferred: %s", backend.name,
                            self.extra_errors[backend.name])
        return done

    def renew_timestamps(self) -> int:
        """Step 5, second half: renew the tokens that are due (see
        :func:`notary.service.renewal.renew_timestamps`). A failure is kept in
        ``last_renewal_error`` and retried after ``tsa_renew_retry`` seconds, not every cycle:
        a TSA whose certificate nears its end would otherwise be asked (and, commercially,
        paid) every few seconds for months. Returns how many were renewed."""
        if self.tsa is None or time.monotonic() < self._renew_after:
            return 0
        run = renew_timestamps(self.engine, self.tsa, before=self.tsa_renew_before,
                               stopped=self._stop.is_set)
        if run.error is not None:
            self.last_renewal_error = f"{run.error.code}: {run.error.message}"
            self._renew_after = time.monotonic() + self.tsa_renew_retry
        else:
            self.last_renewal_error = None
        return len(run.renewed)

    # -- helpers --------------------------------------------------------------------------------

    def _sign(self, batch: Batch, *, replacing: SignedAnchor | None) -> Batch:
        root = from_hex32(batch.root)
        head, _count = self.registry.head()
        try:
            signed = self.registry.sign_anchor(root, batch.leaf_count, head, replacing=replacing)
        except AnchorRejected as exc:
            if exc.code == "EvidenceRegistryRootAlreadyAnchored":
                facts = self.registry.find_anchor(root)
                if facts is not None:
                    self._record_anchor(batch, facts)
                    batch.status = "anchored"
                    return batch
            raise
        with session(self.engine) as s:
            row = s.get(Batch, batch.id)
            assert row is not None
            history = json.loads(row.tx_history or "[]")
            history.append({"tx_hash": signed.tx_hash, "nonce": signed.nonce,
                            "max_fee": signed.max_fee, "priority_fee": signed.priority_fee,
                            "signed_at": datetime.now(UTC).isoformat(),
                            "replaces": replacing.tx_hash if replacing else None})
            row.tx_hash, row.raw_tx = signed.tx_hash, "0x" + signed.raw.hex()
            row.nonce, row.tx_history = signed.nonce, json.dumps(history)
            row.expected_previous_root = to_hex32(head)
            row.status, row.sent_at = "sent", datetime.now(UTC)
            s.add(row)
            s.commit()
        if replacing is not None:
            log.warning("batch %s: transaction %s stuck for %s; replaced by %s (fee %d -> %d)",
                        batch.id, replacing.tx_hash, self.replace_after, signed.tx_hash,
                        replacing.max_fee, signed.max_fee)
        return row

    def _signed_of(self, batch: Batch) -> SignedAnchor:
        last = json.loads(batch.tx_history or "[]")[-1]
        assert batch.raw_tx is not None
        return SignedAnchor(tx_hash=last["tx_hash"], raw=bytes.fromhex(batch.raw_tx[2:]),
                            nonce=int(last["nonce"]), max_fee=int(last["max_fee"]),
                            priority_fee=int(last["priority_fee"]))

    def _stale(self, batch: Batch) -> bool:
        """True when the recorded transaction can no longer be mined as signed."""
        if batch.tx_hash is None or batch.expected_previous_root is None:
            return True
        status = self.registry.tx_receipt_status(batch.tx_hash)
        if status == 0:
            return True
        head, _ = self.registry.head()
        return status is None and to_hex32(head) != batch.expected_previous_root

    def _stuck(self, batch: Batch) -> bool:
        """Sent long ago, still not mined: underpriced or forgotten by the node."""
        return (batch.sent_at is not None and batch.tx_history is not None
                and datetime.now(UTC) - _utc(batch.sent_at) > self.replace_after
                and self.registry.tx_receipt_status(batch.tx_hash or "") is None)

    def _forget_tx(self, batch: Batch) -> None:
        with session(self.engine) as s:
            row = s.get(Batch, batch.id)
            if row is not None and row.status != "anchored":
                row.raw_tx = None
                row.status = "built"
                s.add(row)
                s.commit()

    @staticmethod
    def _recorded_facts(batch: Batch) -> AnchorFacts:
        return AnchorFacts(
            chain_id=batch.chain_id or 0, contract=batch.contract or "",
            batch_id=batch.onchain_batch_id or 0, root=from_hex32(batch.root),
            block_number=batch.block_number or 0, block_hash=batch.block_hash or "",
            block_timestamp=batch.block_timestamp or 0, tx_hash=batch.tx_hash or "")

    def _supersede(self, batch: Batch, old: AnchorFacts, reason: str,
                   re_anchored: AnchorFacts | None) -> None:
        """Keep the vanished anchor on record; re-anchor the batch (same root, same proofs)."""
        with session(self.engine) as s:
            s.add(SupersededAnchor(
                batch_id=batch.id, chain_id=old.chain_id, contract=old.contract,  # type: ignore[arg-type]
                onchain_batch_id=old.batch_id, tx_hash=old.tx_hash,
                block_number=old.block_number, block_hash=old.block_hash,
                block_timestamp=old.block_timestamp, detected_at=datetime.now(UTC),
                reason=reason))
            announce_superseded(s, batch.id, tx_hash=old.tx_hash, block_number=old.block_number,
                                block_hash=old.block_hash, reason=reason)
            row = s.get(Batch, batch.id)
            assert row is not None
            if re_anchored is None:
                row.status, row.raw_tx = "built", None
                s.add(row)
                s.exec(update(Evidence).where(col(Evidence.batch_id) == batch.id)
                       .values(status="pending"))
                s.exec(update(CustodyRecord).where(col(CustodyRecord.batch_id) == batch.id)
                       .values(status="pending"))
            s.commit()
        if re_anchored is not None:
            self._record_anchor(batch, re_anchored)

    def _record_anchor(self, batch: Batch, facts: AnchorFacts) -> int:
        try:
            raw_receipt = json.dumps(self.registry.raw_tx_receipt(facts.tx_hash), sort_keys=True)
        except ChainError:
            raw_receipt = None
        with session(self.engine) as s:
            row = s.get(Batch, batch.id)
            assert row is not None
            row.status = "anchored"
            row.tx_hash = facts.tx_hash
            row.chain_id, row.contract = facts.chain_id, facts.contract
            row.onchain_batch_id = facts.batch_id
            row.block_number, row.block_hash = facts.block_number, facts.block_hash
            row.block_timestamp = facts.block_timestamp
            row.anchored_at = datetime.now(UTC)
            row.raw_receipt = raw_receipt
            s.add(row)
            result = s.exec(update(Evidence).where(col(Evidence.batch_id) == batch.id)
                            .values(status="anchored"))
            s.exec(update(CustodyRecord).where(col(CustodyRecord.batch_id) == batch.id)
                   .values(status="anchored"))
            if self.custody is not None:
                # Each statement's custody log records the anchor (anchored in the next batch).
                detail: dict[str, str | int] = {
                    "chain_id": facts.chain_id, "contract": facts.contract,
                    "batch_id": facts.batch_id, "tx_hash": facts.tx_hash,
                    "block_number": facts.block_number, "root": to_hex32(facts.root)}
                items = list(s.exec(select(Evidence).where(Evidence.batch_id == batch.id)))
                self.custody.append_each(s, items, CustodyAct.ANCHORED, actor=SERVICE,
                                         detail=detail)
            s.commit()
            n = int(result.rowcount or 0)
        log.info("batch %s anchored: %d items, root %s, tx %s, block %d",
                 batch.id, n, batch.root, facts.tx_hash, facts.block_number)
        return n
