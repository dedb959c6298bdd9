"""What the service's parts share: the database, blobs, custody log, keys, chain and TSA.

:class:`notary.service.notary.NotaryService` builds a :class:`Context` and hands it to the
parts (bundles, identity, trust root, retention, certificates), so none of them knows the
facade: they take the few things they use, and the facade imports them, never the reverse.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyrage
from sqlalchemy import Engine
from sqlmodel import select

from notary.chain.light import ChainContext
from notary.config import Settings
from notary.core.bundle import parse_key_history
from notary.core.custody import CustodyAct
from notary.core.errors import NotaryError
from notary.core.merkle import from_hex32
from notary.core.signing import SigningKey, jwks
from notary.core.validate import format_rfc3339_utc
from notary.core.verdict import AnchorFacts
from notary.keyfiles import KEY_HISTORY_FILE, load_key_history
from notary.service.actors import Actor
from notary.service.custody import CustodyLog
from notary.service.errors import NotFound, Shredded
from notary.service.exportgate import ExportGate
from notary.service.itemkeys import MasterKey
from notary.service.translog import TransparencyLog
from notary.tsa import TimestampAuthority
from storage.blobs import BlobStore
from storage.db import AuditEvent, Batch, Evidence, SupersededAnchor, session, utc

log = logging.getLogger("notary.service")

_CUSTODY_ACTS = {"exported": CustodyAct.EXPORTED, "content_read": CustodyAct.VIEWED,
                 "viewed": CustodyAct.VIEWED, "key_exported": CustodyAct.KEY_EXPORTED}


def require_key(row: Evidence) -> str:
    """The item's wrapped key; Shredded (410) once its content was shredded."""
    if row.wrapped_key is None:
        shredded = format_rfc3339_utc(utc(row.shredded_at)) if row.shredded_at else "earlier"
        raise Shredded(f"the content of evidence {row.id!r} was shredded at {shredded}; its "
                       "statement, proofs and deletion certificate remain",
                       evidence_id=row.id, shredded_at=shredded)
    return row.wrapped_key


class KeyRing:
    """Every statement-signing key this deployment has had (the key history under
    NOTARY_HOME/keys), current one included, as a JWK Set re-read when the file changes."""

    def __init__(self, settings: Settings, signing_key: SigningKey) -> None:
        self._settings = settings
        self._signing_key = signing_key
        self._cache: tuple[int | None, dict[str, Any]] | None = None

    def jwks(self) -> dict[str, Any]:
        """What a key signed before a rotation must still verify here (its own pages, the
        debtor's check, certificates). When a key was valid is judged by the trust root and
        the chain, not by this set."""
        path = self._settings.keys_dir / KEY_HISTORY_FILE
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = None
        cached = self._cache
        if cached is not None and cached[0] == stamp:
            return cached[1]
        keys = [self._signing_key.public_jwk()]
        if stamp is not None:
            try:
                history, _ = parse_key_history(load_key_history(self._settings.keys_dir))
            except NotaryError as exc:
                log.warning("the key history cannot be read (%s): only the current key is used",
                            exc.code)
            else:
                current = keys[0]["kid"]
                keys += [k for k in history["keys"] if k["kid"] != current]
        out = jwks(keys)
        self._cache = (stamp, out)
        return out


@dataclass(frozen=True)
class Context:
    """The running service's parts, and the reads of stored evidence they all make."""

    settings: Settings
    engine: Engine
    blobs: BlobStore
    master: MasterKey
    signing_key: SigningKey
    custody: CustodyLog
    keys: KeyRing
    exports: ExportGate  # bounds concurrent bundle builds (notary.service.exportgate)
    chain: ChainContext | None = None
    tsa: TimestampAuthority | None = None
    translog: TransparencyLog | None = None

    def jwks(self) -> dict[str, Any]:
        return self.keys.jwks()

    def get_evidence(self, evidence_id: str) -> Evidence:
        with session(self.engine) as s:
            row = s.get(Evidence, evidence_id)
        if row is None:
            raise NotFound(f"no evidence {evidence_id!r}", evidence_id=evidence_id)
        return row

    def get_batch(self, batch_id: int | None) -> Batch | None:
        if batch_id is None:
            return None
        with session(self.engine) as s:
            return s.get(Batch, batch_id)

    def superseded_of(self, row: Evidence) -> list[SupersededAnchor]:
        """Anchors of this item's batch that the chain no longer has (newest last)."""
        if row.batch_id is None:
            return []
        with session(self.engine) as s:
            return list(s.exec(select(SupersededAnchor)
                               .where(SupersededAnchor.batch_id == row.batch_id)
                               .order_by(SupersededAnchor.id)))  # type: ignore[arg-type]

    @staticmethod
    def anchor_of(batch: Batch | None) -> AnchorFacts | None:
        if batch is None or batch.status != "anchored" or batch.block_number is None:
            return None
        return AnchorFacts(
            chain_id=batch.chain_id or 0, contract=batch.contract or "",
            batch_id=batch.onchain_batch_id or 0, root=from_hex32(batch.root),
            block_number=batch.block_number, block_hash=batch.block_hash or "",
            block_timestamp=batch.block_timestamp or 0, tx_hash=batch.tx_hash or "",
        )

    def proof_of(self, row: Evidence) -> tuple[list[bytes], bytes, AnchorFacts] | None:
        """(proof, root, anchor) once the item is anchored, else None."""
        batch = self.get_batch(row.batch_id)
        anchor = self.anchor_of(batch)
        if row.status != "anchored" or anchor is None or row.proof is None:
            return None
        return [from_hex32(p) for p in json.loads(row.proof)], anchor.root, anchor

    def open_content(self, row: Evidence, chunk: int = 1 << 16) -> Iterator[bytes]:
        """Stream the decrypted original. Decryption runs in a thread feeding a small queue,
        so memory stays bounded whatever the file's size."""
        if row.hash_only:
            raise NotFound(f"evidence {row.id!r} is a hash-only deposit: this service never "
                           "saw its file and holds no content", code="content_never_stored",
                           evidence_id=row.id)
        identity = self.master.unwrap(require_key(row))
        source = self.blobs.open(row.cid)
        q: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
        cancelled = threading.Event()

        class _Sink:
            def write(self, data: bytes) -> int:
                if cancelled.is_set():
                    raise BrokenPipeError("reader went away")
                q.put(bytes(data))
                return len(data)

            def flush(self) -> None:
                pass

        def run() -> None:
            try:
                pyrage.decrypt_io(source, _Sink(), [identity])
                q.put(None)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                q.put(exc)
            finally:
                source.close()

        threading.Thread(target=run, name=f"decrypt-{row.id}", daemon=True).start()

        def gen() -> Iterator[bytes]:
            try:
                while True:
                    item = q.get()
                    if item is None:
                        return
                    if isinstance(item, BaseException):
                        raise NotaryError("the stored ciphertext could not be decrypted",
                                          code="decrypt_failed") from item
                    yield item
            finally:
                cancelled.set()
                while not q.empty():  # unblock the producer
                    q.get_nowait()

        return gen()

    def record_exports(self, rows: Sequence[Evidence], actor: Actor, detail: str) -> None:
        """:meth:`record_audit` ``exported`` for every item of a bundle, in few transactions."""
        self.custody.record_each(rows, CustodyAct.EXPORTED, actor=actor, tenant=actor.tenant,
                                 detail={"note": detail})

    def record_audit(self, evidence_id: str, act: str, actor: Actor, detail: str | None = None,
                     *, tenant: str | None = None) -> None:
        """Record an access to evidence. Acts of the custody vocabulary (exported, viewed,
        key exported) go into the item's signed, anchored custody log; others into the
        plain audit table."""
        custody_act = _CUSTODY_ACTS.get(act)
        if custody_act is None:
            with session(self.engine) as s:
                s.add(AuditEvent(evidence_id=evidence_id, act=act, actor=actor.label,
                                 at=datetime.now(UTC), detail=detail))
                s.commit()
            return
        row = self.get_evidence(evidence_id)
        acting = tenant or actor.tenant or row.tenant
        self.custody.record(row, custody_act, actor=actor, tenant=acting,
                            detail={"note": detail} if detail else None)
