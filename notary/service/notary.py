"""The notary service: one object that owns the database, keys, blob store, chain and worker.

The API and the CLI call methods here and render what they return; nothing here knows HTTP.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, case, literal, text
from sqlmodel import select

from notary.chain.errors import ChainError
from notary.chain.light import ChainContext, open_light_chain
from notary.config import Settings
from notary.core.bundle import BundleVerification
from notary.core.digest import FileDigest
from notary.core.errors import InputError
from notary.core.signing import SigningKey
from notary.core.validate import format_rfc3339_utc
from notary.core.verdict import AnchorFacts, Check, CheckStatus, Verdict
from notary.core.verify import NEVER_SEEN, verify_evidence
from notary.keyfiles import load_log_key, load_signing_key
from notary.service.actors import Actor
from notary.service.apikeys import ensure_admin_key
from notary.service.bundles import (
    BundleDownload,
    ConductAsked,
    export_bundle,
    verify_uploaded_bundle,
)
from notary.service.context import Context, KeyRing, require_key
from notary.service.cosigning import WitnessConfig, witness_threshold
from notary.service.custody import CustodyLog
from notary.service.deposits import Depositor
from notary.service.doctor import sweep_debris
from notary.service.exportgate import ExportGate
from notary.service.identity import submission_identity
from notary.service.ingest import Notariser
from notary.service.itemkeys import MasterKey
from notary.service.retention import RetentionJob
from notary.service.shredding import ShredResult, shred
from notary.service.tenancy import ensure_default_tenant
from notary.service.translog import TransparencyLog, log_signer
from notary.service.webhooks import seal_plain_secrets
from notary.tsa import TimestampAuthority
from storage.blobs import BlobStore, IpfsBlobStore, LocalBlobStore
from storage.db import Batch, Evidence, pending_count, session, utc
from storage.ipfs_spool import SpooledIpfsStore, SpoolFlusher
from storage.migrate import open_database

if TYPE_CHECKING:
    from notary.chain.setup import SigningKeyStatus
    from notary.core.declaration import QualifiedPerson
    from notary.service.batching import BatchWorker
    from notary.service.delivery import DeliveryWorker
    from storage.db import ApiKey

log = logging.getLogger("notary.service")

PIN_FLUSH_SECONDS = 2.0
#: The ``file_hash`` reason of a check by hash alone (the QR code, /verify?sha256=,
#: ``notary verify --sha256``): the file was not compared, only its hash was looked up.
HASH_ONLY = ("Only the SHA-256 {sha256} was given, so the file itself was not compared: its "
             "hash was looked up. Whoever holds the file computes its SHA-256 (sha256sum) and "
             "compares it with this value; only an equal value shows it is the notarised file.")
"""How often blobs spooled while the IPFS node was down are retried (NOTARY_BLOB_STORE=ipfs)."""


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store ``settings.blob_store`` names: ``local`` (a directory under
    NOTARY_HOME) or ``ipfs`` (the node at ``settings.ipfs_api``, with a local spool under
    NOTARY_HOME/ipfs-spool for when it is down). Raises InputError ``config_invalid`` for
    any other name, before anything is created."""
    if settings.blob_store == "local":
        return LocalBlobStore(settings.blobs_dir)
    if settings.blob_store == "ipfs":
        return SpooledIpfsStore(IpfsBlobStore(settings.ipfs_api),
                                LocalBlobStore(settings.home / "ipfs-spool"))
    raise InputError(f"NOTARY_BLOB_STORE={settings.blob_store!r}: use local or ipfs",
                     code="config_invalid", field="blob_store")


@dataclass
class NotaryService:
    settings: Settings
    engine: Engine
    blobs: BlobStore
    master: MasterKey
    signing_key: SigningKey
    notariser: Notariser
    custody: CustodyLog
    chain: ChainContext | None = None
    worker: BatchWorker | None = None
    admin_token_created: str | None = None
    pin_flusher: SpoolFlusher | None = None
    retention: RetentionJob | None = None
    tsa: TimestampAuthority | None = None  # NOTARY_TSA_URL: batch roots are also timestamped
    key_registration: SigningKeyStatus | None = None  # the signing key on chain (issue 14)
    webhooks: DeliveryWorker | None = None  # sends the webhook outbox (notary.service.delivery)
    translog: TransparencyLog | None = None  # the transparency log (issue 19)
    #: The batch worker when it runs in another process (``notary run``): its state for health.
    worker_process: Callable[[], dict[str, Any]] | None = None
    keys: KeyRing = field(init=False, repr=False)
    exports: ExportGate = field(init=False, repr=False)
    depositor: Depositor = field(init=False, repr=False)  # hash-only deposits (issue 16)

    def __post_init__(self) -> None:
        self.keys = KeyRing(self.settings, self.signing_key)
        self.depositor = Depositor(engine=self.engine, signing_key=self.signing_key,
                                   anchor_deadline_seconds=self.settings.anchor_deadline_seconds)
        self.exports = ExportGate(self.settings.export_builds)

    @property
    def context(self) -> Context:
        """What the service's parts (bundles, identity, trust root, ...) are given."""
        return Context(self.settings, self.engine, self.blobs, self.master, self.signing_key,
                       self.custody, self.keys, self.exports, chain=self.chain, tsa=self.tsa,
                       translog=self.translog)

    @classmethod
    def open(cls, settings: Settings, *, with_chain: bool = True,
             run_worker: bool | None = None, migrate_isolated: bool = False,
             light_chain: bool = False) -> NotaryService:
        """Set everything up (creating keys, schema and contract on first start).
        ``migrate_isolated``: a schema migration runs in a child process, so that a
        long-running server never holds Alembic (:func:`storage.migrate.open_database`).
        ``light_chain``: an API process beside a worker process; it attaches to the registry
        that process set up (:func:`notary.chain.light.open_light_chain`, no web3), and runs
        no background job."""
        if light_chain:
            run_worker = False
        blobs = open_blob_store(settings)  # first: a wrong NOTARY_BLOB_STORE creates nothing
        # The home holds the database (party names, wrapped keys): readable by us only.
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        settings.home.chmod(0o700)
        engine = open_database(settings.db_url, isolated=migrate_isolated)
        sweep_debris(settings, engine)  # what a crash (kill -9) left: see notary doctor
        master = MasterKey.load(settings.keys_dir, settings.key_passphrase)
        signing_key = load_signing_key(settings.keys_dir, settings.key_passphrase)
        custody = CustodyLog(engine, signing_key)
        witnesses = [WitnessConfig.parse(w) for w in settings.log_witnesses]
        witness_threshold(settings.log_witness_threshold, witnesses)  # a wrong one stops here
        translog = TransparencyLog(engine, log_signer(
            load_log_key(settings.keys_dir, settings.key_passphrase), settings.log_origin))
        notariser = Notariser(
            engine=engine, blobs=blobs, master=master, signing_key=signing_key,
            spool_dir=settings.spool_dir, max_upload_bytes=settings.max_upload_bytes,
            anchor_deadline_seconds=settings.anchor_deadline_seconds, custody=custody,
            sm3=settings.sm3,
        )
        svc = cls(settings, engine, blobs, master, signing_key, notariser, custody,
                  tsa=TimestampAuthority.from_settings(settings), translog=translog)
        ensure_default_tenant(engine)
        svc.admin_token_created = ensure_admin_key(engine, settings.keys_dir)
        seal_plain_secrets(engine, master.webhook_box())  # rows kept before secrets were sealed
        if isinstance(blobs, SpooledIpfsStore):
            svc.pin_flusher = SpoolFlusher(blobs, interval=PIN_FLUSH_SECONDS).start()
        if with_chain and light_chain:
            svc.chain = open_light_chain(settings)
        elif with_chain:
            from notary.chain.extra import extra_chain_anchors
            from notary.chain.setup import ensure_signing_key_registered, open_chain
            from notary.service.batching import BatchWorker

            svc.chain = open_chain(settings)
            # Before the worker starts, so that our transaction and its anchors never race
            # for a nonce. A key retired on chain stops the start (ChainError).
            try:
                svc.key_registration = ensure_signing_key_registered(svc.chain.registry,
                                                                     signing_key.kid)
            except BaseException:
                svc.chain.close()
                raise
            if settings.anchor_worker if run_worker is None else run_worker:
                svc.worker = BatchWorker(engine, svc.chain.registry,
                                         interval=settings.batch_seconds,
                                         batch_max=settings.batch_max,
                                         lease_ttl=settings.lease_seconds,
                                         replace_after=settings.replace_after_seconds,
                                         reorg_window=settings.reorg_window_blocks,
                                         custody=custody, tsa=svc.tsa, translog=translog,
                                         witnesses=witnesses,
                                         witness_timeout=settings.log_witness_timeout,
                                         tsa_renew_before=settings.tsa_renew_before,
                                         tsa_renew_retry=settings.tsa_renew_retry,
                                         extra=extra_chain_anchors(settings))
                svc.worker.start()
        if settings.retention_seconds > 0 and (settings.anchor_worker if run_worker is None
                                               else run_worker):
            svc.retention = RetentionJob(svc.context, interval=settings.retention_seconds).start()
        if with_chain and (settings.anchor_worker if run_worker is None else run_worker):
            from notary.service.delivery import DeliveryWorker

            svc.webhooks = DeliveryWorker(
                engine, master.webhook_box(), backoff=settings.webhook_backoff,
                timeout=settings.webhook_timeout, poll=settings.webhook_poll_seconds,
                allow_private=settings.webhook_allow_private).start()
        return svc

    def close(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
        if self.retention is not None:
            self.retention.stop()
        if self.pin_flusher is not None:
            self.pin_flusher.stop()
        if isinstance(self.blobs, SpooledIpfsStore):
            self.blobs.close()
        if self.worker is not None:
            self.worker.stop()
        if self.chain is not None:
            self.chain.close()
        self.engine.dispose()

    # -- reads ----------------------------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        """Every statement-signing key this deployment has had (see :class:`KeyRing`)."""
        return self.keys.jwks()

    def get_evidence(self, evidence_id: str) -> Evidence:
        return self.context.get_evidence(evidence_id)

    def get_batch(self, batch_id: int | None) -> Batch | None:
        return self.context.get_batch(batch_id)

    anchor_of = staticmethod(Context.anchor_of)

    def proof_of(self, row: Evidence) -> tuple[list[bytes], bytes, AnchorFacts] | None:
        """(proof, root, anchor) once the item is anchored, else None."""
        return self.context.proof_of(row)

    def open_content(self, row: Evidence, chunk: int = 1 << 16) -> Iterator[bytes]:
        """Stream the decrypted original (see :meth:`Context.open_content`)."""
        return self.context.open_content(row, chunk)

    def record_audit(self, evidence_id: str, act: str, actor: Actor, detail: str | None = None,
                     *, tenant: str | None = None) -> None:
        """Record an access to evidence (see :meth:`Context.record_audit`)."""
        self.context.record_audit(evidence_id, act, actor, detail, tenant=tenant)

    def export_item_key(self, evidence_id: str, *, actor: Actor) -> str:
        """The item's age identity (``AGE-SECRET-KEY-1...``), recorded before it is returned."""
        row = self.get_evidence(evidence_id)
        identity = self.master.unwrap(require_key(row))
        self.record_audit(evidence_id, "key_exported", actor)
        return str(identity)

    def export_bundle(self, *, key: ApiKey, case_id: str | None = None,
                      evidence_id: str | None = None, hashes_only: bool = False,
                      explorer_url: str | None = None,
                      certifier: QualifiedPerson | None = None,
                      cancel: threading.Event | None = None,
                      conduct: ConductAsked | None = None) -> BundleDownload:
        """The proof bundle (ZIP stream) of one item or a whole case, as ``key``'s tenant sees
        it, with a court certification for ``certifier`` to sign when one is named; each
        export is audited. See :mod:`notary.service.bundles` for what is checked before the
        first byte."""
        return export_bundle(self.context, key=key, case_id=case_id, evidence_id=evidence_id,
                             hashes_only=hashes_only, explorer_url=explorer_url,
                             certifier=certifier, cancel=cancel, conduct=conduct)

    # -- privacy: shredding and legal holds ------------------------------------------------------

    def shred(self, *, tenant: str, actor: Actor, evidence_id: str, reason: str | None,
              legal_basis: str | None = None) -> ShredResult:
        """Crypto-shred one item (see :mod:`notary.service.shredding`)."""
        return shred(self.engine, self.custody, self.signing_key, self.blobs, tenant=tenant,
                     actor=actor, evidence_id=evidence_id, reason=reason,
                     legal_basis=legal_basis, ipfs=self.settings.blob_store == "ipfs")

    # -- verification ---------------------------------------------------------------------------

    def verify_bundle(self, data: bytes) -> BundleVerification:
        """Verify an uploaded proof bundle, asking this service's chain node about its anchors
        (see :mod:`notary.service.bundles`). Raises UnsafeBundle/UnreadableBundle for an
        archive refused unread."""
        return verify_uploaded_bundle(self.context, data)

    def verify_digest(self, sha256_hex: str,
                      size: int | None = None) -> tuple[Verdict, dict[str, Any]]:
        """Public check of a file (by its SHA-256): was it notarised here, unaltered, anchored?
        With ``size`` the file itself was hashed here and is compared with the statement;
        without it only the hash was sent: ``file_hash`` is not checked (HASH_ONLY says so),
        never "content identical".

        Returns the verdict and the few public facts a debtor or judge may see (when it was
        received and anchored), never the case or the parties.
        """
        with session(self.engine) as s:
            # Prefer an item whose file this service saw, then one whose stated size is the
            # file's, then the earliest: anyone may deposit any hash without the file (with
            # any size), and that must not stand in front of the file-seen item.
            file_seen = case((Evidence.cid == "", 1), else_=0)  # type: ignore[arg-type]
            size_differs = (case((Evidence.size == size, 0), else_=1)  # type: ignore[arg-type]
                            if size is not None else literal(0))
            row = s.exec(select(Evidence).where(Evidence.sha256 == sha256_hex)
                         .order_by(file_seen, size_differs,
                                   Evidence.received_at)).first()  # type: ignore[arg-type]
        if row is None:
            return Verdict([Check("registered", CheckStatus.SKIP,
                                  "No evidence with this SHA-256 was notarised by this "
                                  "service.")]), {}
        proof = self.proof_of(row)
        observed: AnchorFacts | None = None
        chain_note: Check | None = None
        if proof is not None and self.chain is not None:
            try:
                observed = self.chain.reader.find_anchor(proof[1])
            except ChainError as exc:
                chain_note = Check("chain_anchor", CheckStatus.SKIP,
                                   f"The chain node could not be asked: {exc.message}")
        # A hash alone (size None) is looked up, not compared: nobody here saw the file.
        digest = FileDigest(bytes.fromhex(sha256_hex), size) if size is not None else None
        verdict = verify_evidence(
            statement_jws=row.statement_jws, jwks=self.jwks(), file_digest=digest,
            proof=proof[0] if proof else None, root=proof[1] if proof else None,
            claimed_anchor=proof[2] if proof else None, observed_anchor=observed,
        )
        checks = [Check("registered", CheckStatus.PASS,
                        "A statement for this SHA-256 is registered with this service.")]
        for c in verdict.checks:
            if chain_note is not None and c.name == "chain_anchor":
                c = chain_note
            elif c.name == "file_hash" and digest is None:
                never_seen = f"{NEVER_SEEN} " if row.hash_only else ""
                c = Check(c.name, CheckStatus.SKIP,
                          never_seen + HASH_ONLY.format(sha256=sha256_hex))
            elif c.name == "statement_signature" and c.status is CheckStatus.PASS:
                # The core names the case and entry; a public answer must not.
                c = Check(c.name, c.status, "The statement is validly signed by a published "
                                            "notary key.")
            checks.append(c)
        facts: dict[str, Any] = {"received_at": format_rfc3339_utc(utc(row.received_at)),
                                 "status": row.status,
                                 # Who operated, for which tenant, submitted by whom (issue 14).
                                 "issuer": submission_identity(self.context, row.statement_jws)}
        if row.hash_only:  # deposited as a hash: the service never saw the file
            facts["deposit"] = "hash_only"
        if row.shredded_at is not None:
            # Existed and unaltered until then; the content itself is gone.
            facts["shredded_at"] = format_rfc3339_utc(utc(row.shredded_at))
        if proof is not None:
            a = proof[2]
            facts["anchor"] = {"chain_id": a.chain_id, "contract": a.contract,
                               "tx_hash": a.tx_hash, "block_number": a.block_number,
                               "block_timestamp": a.block_timestamp}
        if digest is None:
            # Only a hash: what is established is that this hash was notarised and anchored
            # (valid, qualified by the file_hash check not made); that a file is identical
            # is for whoever holds it to see, by computing its SHA-256.
            return Verdict(checks, decisive=frozenset({"statement_signature"})), facts
        return Verdict(checks), facts

    # -- health ---------------------------------------------------------------------------------

    def pending_count(self) -> int:
        """Statements and custody events waiting for a batch (as the batch worker counts)."""
        return pending_count(self.engine)

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            out["database"] = {"ok": True, "backend": self.engine.dialect.name}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            out["database"] = {"ok": False, "error": type(exc).__name__}
        out["blob_store"] = self.blobs.health()
        if self.chain is None:
            out["chain"] = {"ok": False, "error": "not connected"}
        else:
            info: dict[str, Any] = {"chain_id": self.chain.deployment.chain_id,
                                    "contract": self.chain.reader.address}
            if self.settings.embedded_chain:
                info["rpc_url"] = self.settings.chain_url
            try:
                info["latest_block"] = self.chain.latest_block()
                info["ok"] = True
            except ChainError as exc:
                info["ok"], info["error"] = False, exc.code
            out["chain"] = info
        if self.worker is not None:
            out["anchoring"] = {"ok": self.worker.last_error is None,
                                "pending": self.worker.pending_count(),
                                "last_error": self.worker.last_error}
            if self.tsa is not None:  # informative: a TSA that is down never stops anchoring
                out["anchoring"]["timestamp_error"] = (self.worker.last_tsa_error
                                                       or self.worker.last_renewal_error)
        elif self.worker_process is not None:
            out["anchoring"] = {**self.worker_process(), "pending": self.pending_count()}
        out["ok"] = all(v.get("ok", False) for v in out.values() if isinstance(v, dict))
        return out
