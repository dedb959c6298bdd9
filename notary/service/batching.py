"""The batch worker: turn pending statements into anchored Merkle batches, crash-safely.

One cycle:
  1. Reconcile every batch recorded but not yet marked anchored (from a crash or a timeout):
     ask the registry whether its root is anchored; if so, record the anchor; if not, send
     its signed transaction again (or a fresh one when the chain moved on).
  2. Build a batch from the oldest pending items (at most ``batch_max``): compute the tree,
     and in ONE transaction record the batch, its signed anchor transaction, and each item's
     leaf and proof. Only then send the transaction.
  3. Wait for the receipt and the confirmations; record the anchor; mark items ``anchored``.
The registry refuses a root that is already anchored, so a transaction sent twice (before and
after a crash) can never anchor the same batch twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import Engine, func, update
from sqlmodel import select

from notary.chain.errors import AnchorRejected, ChainError
from notary.chain.registry import Registry
from notary.core.errors import NotaryError
from notary.core.merkle import MerkleTree, from_hex32, statement_leaf, to_hex32
from notary.core.verdict import AnchorFacts
from notary.service.lease import Lease
from storage.db import Batch, Evidence, session

log = logging.getLogger("notary.batching")


class BatchWorker:
    """Anchors pending evidence every ``interval`` seconds or at ``batch_max`` items."""

    def __init__(
        self, engine: Engine, registry: Registry, *, interval: float = 2.0, batch_max: int = 1000,
        lease_ttl: float = 15.0,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.interval = interval
        self.batch_max = batch_max
        self.lease = Lease(engine, ttl=lease_ttl)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

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
                if not (self.lease.held or self.lease.try_acquire()):
                    # Another worker anchors; we stand by and take over if it goes quiet.
                    next_due = time.monotonic() + self.interval
                    continue
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
        with session(self.engine) as s:
            return int(s.exec(select(func.count()).select_from(Evidence).where(
                Evidence.status == "pending", Evidence.batch_id.is_(None))).one())  # type: ignore[union-attr]

    def run_once(self) -> int:
        """Reconcile unfinished batches, then anchor new ones; returns items anchored.
        Does nothing (returns 0) unless this worker holds the anchoring lease."""
        if not (self.lease.held or self.lease.try_acquire()):
            return 0
        anchored = self.reconcile()
        while not self._stop.is_set() and self.lease.held:
            batch = self.build_batch()
            if batch is None:
                break
            anchored += self.send_and_confirm(batch)
            if batch.leaf_count < self.batch_max:
                break
        return anchored

    def reconcile(self) -> int:
        """Finish every batch that was recorded but not confirmed (step 1)."""
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
        """Record the next batch, its proofs and its signed transaction (step 2)."""
        with session(self.engine) as s:
            items = list(s.exec(
                select(Evidence).where(Evidence.status == "pending", Evidence.batch_id.is_(None))  # type: ignore[union-attr]
                .order_by(Evidence.received_at, Evidence.id).limit(self.batch_max)
                .with_for_update(skip_locked=True)
            ))
            if not items:
                return None
            leaves = [statement_leaf(bytes.fromhex(e.statement_digest), bytes.fromhex(e.sha256))
                      for e in items]
            tree = MerkleTree.build(leaves)
            batch = Batch(root=to_hex32(tree.root), leaf_count=len(items),
                          created_at=datetime.now(UTC))
            s.add(batch)
            s.flush()
            for item, leaf in zip(items, leaves, strict=True):
                item.batch_id = batch.id
                item.leaf = to_hex32(leaf)
                item.proof = json.dumps([to_hex32(p) for p in tree.proof_for(leaf)])
                s.add(item)
            s.commit()
            s.refresh(batch)
            return batch

    def send_and_confirm(self, batch: Batch) -> int:
        """Sign (recording the tx before sending), send, wait, record (step 3)."""
        root = from_hex32(batch.root)
        if batch.raw_tx is None or self._stale(batch):
            head, _count = self.registry.head()
            try:
                tx_hash, raw = self.registry.build_anchor(root, batch.leaf_count, head)
            except AnchorRejected as exc:
                if exc.code == "EvidenceRegistryRootAlreadyAnchored":
                    facts = self.registry.find_anchor(root)
                    if facts is not None:
                        return self._record_anchor(batch, facts)
                raise
            with session(self.engine) as s:
                row = s.get(Batch, batch.id)
                assert row is not None
                row.tx_hash, row.raw_tx = tx_hash, "0x" + raw.hex()
                row.expected_previous_root = to_hex32(head)
                row.status, row.sent_at = "sent", datetime.now(UTC)
                s.add(row)
                s.commit()
                batch = row
        assert batch.raw_tx is not None and batch.tx_hash is not None
        self.registry.send_raw(bytes.fromhex(batch.raw_tx.removeprefix("0x")))
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
        return self._record_anchor(batch, facts)

    def _stale(self, batch: Batch) -> bool:
        """True when the recorded transaction can no longer be mined as signed."""
        if batch.tx_hash is None:
            return True
        status = self.registry.receipt_status(batch.tx_hash)
        if status == 0:
            return True
        if batch.expected_previous_root is None:
            return True
        head, _ = self.registry.head()
        return status is None and to_hex32(head) != batch.expected_previous_root

    def _forget_tx(self, batch: Batch) -> None:
        with session(self.engine) as s:
            row = s.get(Batch, batch.id)
            if row is not None and row.status != "anchored":
                row.raw_tx = None
                row.status = "built"
                s.add(row)
                s.commit()

    def _record_anchor(self, batch: Batch, facts: AnchorFacts) -> int:
        try:
            raw_receipt = json.dumps(self.registry.raw_receipt(facts.tx_hash), sort_keys=True)
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
            result = s.exec(update(Evidence).where(Evidence.batch_id == batch.id)  # type: ignore[call-overload]
                            .values(status="anchored"))
            s.commit()
            n = int(result.rowcount or 0)
        log.info("batch %s anchored: %d items, root %s, tx %s, block %d",
                 batch.id, n, batch.root, facts.tx_hash, facts.block_number)
        return n
