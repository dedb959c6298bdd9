"""The database: tables, engine set-up, and the transactions the service needs.

SQLite (default, WAL mode, ``synchronous=FULL`` so a commit survives power loss) or PostgreSQL
via ``NOTARY_DATABASE_URL``. SQLite transactions start with ``BEGIN IMMEDIATE`` so that two
writers serialise at the start of a transaction instead of failing at commit; PostgreSQL uses
row locks (``SELECT ... FOR UPDATE``) for the same effect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
    func,
)
from sqlalchemy.engine import make_url
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Tenant(SQLModel, table=True):
    """An agency, lender or law firm sharing this deployment. Nothing crosses tenants unless a
    case is transferred or shared. ``id`` is its ASCII slug (in keys, URLs, custody events);
    ``name`` its legal name in any script (NFC), e.g. 华夏催收有限公司."""

    __tablename__ = "tenants"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(unique=True, max_length=128)
    created_at: datetime


class ApiKey(SQLModel, table=True):
    """An API key. Only the SHA-256 of the secret is stored; the secret is shown once."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=32)
    key_hash: str = Field(index=True, unique=True, max_length=64)
    role: str = Field(max_length=32)
    tenant: str = Field(default="default", max_length=128)
    label: str | None = Field(default=None, max_length=256)
    #: Who or what the key belongs to (an agent's 工号, a dialer): statements carry it.
    name: str | None = Field(default=None, max_length=100)
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None


class SubmitterKey(SQLModel, table=True):
    """A collector's own Ed25519 public key: submissions it signs are recorded as signed at
    capture time by a known key, not only by the service."""

    __tablename__ = "submitter_keys"

    kid: str = Field(primary_key=True, max_length=64)
    api_key_id: str = Field(foreign_key="api_keys.id", index=True, max_length=32)
    tenant: str = Field(max_length=128)
    jwk: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    revoked_at: datetime | None = None


class Case(SQLModel, table=True):
    """A case as the service knows it: the tenant that holds it now and the one that opened it.
    ``case_id`` is the holder's own reference (what statements carry); ``uid`` is random, so
    a tenant that handed a case over can open a new one under the same reference."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("holder", "case_id", name="uq_cases_holder_case_id"),)

    uid: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(max_length=128)
    holder: str = Field(index=True, max_length=128)
    opened_by: str = Field(max_length=128)
    created_at: datetime
    closed_at: datetime | None = None  # retention periods run from here


class Transfer(SQLModel, table=True):
    """A case handed from one tenant to another (portfolio sale, handover to a law firm)."""

    __tablename__ = "transfers"

    id: int | None = Field(default=None, primary_key=True)
    case_uid: str = Field(foreign_key="cases.uid", index=True, max_length=64)
    from_tenant: str = Field(max_length=128)
    to_tenant: str = Field(max_length=128)
    actor: str = Field(max_length=256)
    reason: str | None = Field(default=None, max_length=1024)
    at: datetime


class ShareLink(SQLModel, table=True):
    """A read-only, expiring, revocable link to one case's bundle and verification page. It
    belongs to ``tenant``, the case's holder when it was made, and works only while that
    tenant holds the case (a transfer revokes it: ``revoked_reason`` says so)."""

    __tablename__ = "share_links"

    id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    case_uid: str = Field(foreign_key="cases.uid", index=True, max_length=64)
    tenant: str = Field(max_length=128)
    created_by: str = Field(max_length=256)
    label: str | None = Field(default=None, max_length=256)
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = Field(default=None, max_length=64)


class CustodyRecord(SQLModel, table=True):
    """One signed custody event (see notary.core.custody), anchored in a batch like statements."""

    __tablename__ = "custody_events"
    __table_args__ = (UniqueConstraint("evidence_id", "seq", name="uq_custody_evidence_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    evidence_id: str = Field(foreign_key="evidence.id", index=True, max_length=64)
    seq: int
    act: str = Field(max_length=32)
    jws: str = Field(sa_column=Column(Text, nullable=False))
    digest: str = Field(unique=True, max_length=64)
    at: datetime
    status: str = Field(default="pending", index=True, max_length=16)
    batch_id: int | None = Field(default=None, foreign_key="batches.id", index=True)
    leaf: str | None = Field(default=None, max_length=66)
    proof: str | None = Field(default=None, sa_column=Column(Text))
    # Repeated reads by one share link are coalesced (notary.service.custody): the link and
    # act, so the next read in the window finds this event instead of adding one.
    coalesce_key: str | None = Field(default=None, index=True, max_length=96)


class CaseHead(SQLModel, table=True):
    """The last statement of each case (by case uid), so the next one can link to it."""

    __tablename__ = "case_heads"

    case_uid: str = Field(primary_key=True, max_length=64)
    last_seq: int
    last_statement_digest: str = Field(max_length=64)


class Evidence(SQLModel, table=True):
    """One notarised file: its signed statement, receipt, storage address and anchoring state."""

    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("case_uid", "case_seq", name="uq_evidence_case_uid_seq"),
        UniqueConstraint("submitter", "idempotency_key", name="uq_evidence_idempotency"),
        # A tenant's own items in receipt order: the listing's keyset (migration 0008).
        Index("ix_evidence_tenant_received", "tenant", "received_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    tenant: str = Field(default="default", max_length=128)
    case_uid: str | None = Field(default=None, index=True, max_length=64)
    case_id: str = Field(index=True, max_length=128)
    case_seq: int
    kind: str = Field(max_length=32)
    media_type: str = Field(max_length=255)
    file_name: str = Field(max_length=255)
    size: int
    sha256: str = Field(index=True, max_length=64)
    cid: str = Field(max_length=128)
    statement_jws: str = Field(sa_column=Column(Text, nullable=False))
    statement_digest: str = Field(index=True, unique=True, max_length=64)
    received_at: datetime
    anchor_deadline: datetime
    receipt_jws: str = Field(sa_column=Column(Text, nullable=False))
    submitter: str = Field(max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=255)
    request_fingerprint: str | None = Field(default=None, max_length=64)
    # The item's age identity, wrapped by the master key; NULL once shredded (crypto-shredding).
    wrapped_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default="pending", index=True, max_length=16)
    batch_id: int | None = Field(default=None, foreign_key="batches.id", index=True)
    leaf: str | None = Field(default=None, max_length=66)
    proof: str | None = Field(default=None, sa_column=Column(Text))
    submitter_kid: str | None = Field(default=None, max_length=64)
    shredded_at: datetime | None = None
    deletion_jws: str | None = Field(default=None, sa_column=Column(Text))  # signed certificate
    hold_reason: str | None = Field(default=None, max_length=1024)  # a legal hold while set
    check_code: str | None = Field(default=None, unique=True, index=True, max_length=16)
    #: This service made the callee commitment of the item's call record (migration 0011):
    #: the conduct report counts only such calls as one contact; kept after shredding.
    callee_salted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})

    @property
    def hash_only(self) -> bool:
        """A hash-only deposit: the service never saw the file, so it stored no ciphertext
        (``cid`` is empty and there is no item key)."""
        return not self.cid


class CallSalt(SQLModel, table=True):
    """The salt of one number committed in an item's call record (``party`` is ``caller`` or
    ``callee``): with it and the number, the commitment opens. Deleted when the item is
    shredded; the number itself is never stored."""

    __tablename__ = "call_salts"

    evidence_id: str = Field(foreign_key="evidence.id", primary_key=True, max_length=64)
    party: str = Field(primary_key=True, max_length=8)
    #: Sealed (notary.service.itemkeys.SecretBox: "v1." + base64); hex in rows written
    #: before 0013.
    salt: str = Field(max_length=128)
    #: The commitment (hex) the salt made, as the statement has it: a later call of the case
    #: to the same number finds its salt by opening these (no number is indexed).
    value: str = Field(max_length=64)


class RetentionRule(SQLModel, table=True):
    """Shred a tenant's evidence of one kind ``days`` after its case closed (``after`` =
    ``case_closed``) or after it was received (``after`` = ``received``)."""

    __tablename__ = "retention_rules"
    __table_args__ = (UniqueConstraint("tenant", "kind", name="uq_retention_tenant_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    days: int
    after: str = Field(default="case_closed", max_length=16)
    created_by: str = Field(max_length=256)
    created_at: datetime


class Batch(SQLModel, table=True):
    """A Merkle batch. Recorded (with its signed transaction) before the transaction is sent,
    so that a restart can find out from the chain what happened to it."""

    __tablename__ = "batches"

    id: int | None = Field(default=None, primary_key=True)
    root: str = Field(index=True, unique=True, max_length=66)
    leaf_count: int
    status: str = Field(default="built", index=True, max_length=16)
    created_at: datetime
    expected_previous_root: str | None = Field(default=None, max_length=66)
    tx_hash: str | None = Field(default=None, max_length=66)
    raw_tx: str | None = Field(default=None, sa_column=Column(Text))
    sent_at: datetime | None = None
    chain_id: int | None = None
    contract: str | None = Field(default=None, max_length=42)
    onchain_batch_id: int | None = None
    block_number: int | None = None
    block_hash: str | None = Field(default=None, max_length=66)
    block_timestamp: int | None = None
    anchored_at: datetime | None = None
    raw_receipt: str | None = Field(default=None, sa_column=Column(Text))
    nonce: int | None = None
    tx_history: str | None = Field(default=None, sa_column=Column(Text))
    # RFC 3161: the TSA's whole TimeStampResp (DER, base64) over SHA-256 of the root's 32
    # bytes, when a TSA is configured (notary.tsa); tsa_time is its genTime.
    tsa_token: str | None = Field(default=None, sa_column=Column(Text))
    tsa_url: str | None = Field(default=None, max_length=512)
    tsa_time: datetime | None = None
    # When the TSA certificate behind the root's latest token (the last renewal, else
    # tsa_token) expires: the renewal job renews before then (None: not yet read).
    tsa_expires: datetime | None = None


class TsaRenewal(SQLModel, table=True):
    """One renewal of a batch root's RFC 3161 token (RFC 4998 timestamp renewal): the TSA's
    TimeStampResp (DER, base64) over the SHA-256 of the previous token's DER (``seq`` 1
    renews ``batches.tsa_token``, ``seq`` n renews n-1). Bundled as
    ``timestamps/<root>.renewal-<seq>.tsr``."""

    __tablename__ = "tsa_renewals"
    __table_args__ = (UniqueConstraint("batch_id", "seq", name="uq_tsa_renewals_batch_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batches.id", index=True)
    seq: int
    token: str = Field(sa_column=Column(Text, nullable=False))
    tsa_url: str = Field(max_length=512)
    gen_time: datetime
    expires: datetime | None = None
    reason: str = Field(max_length=32)


class SupersededAnchor(SQLModel, table=True):
    """An anchor that the chain no longer has (blocks lost or re-mined). Proofs handed out with
    it are not silently wrong: the evidence lists them as superseded by the newer anchor."""

    __tablename__ = "superseded_anchors"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batches.id", index=True)
    chain_id: int
    contract: str = Field(max_length=42)
    onchain_batch_id: int
    tx_hash: str = Field(max_length=66)
    block_number: int
    block_hash: str = Field(max_length=66)
    block_timestamp: int
    detected_at: datetime
    reason: str = Field(max_length=256)


class ExtraAnchor(SQLModel, table=True):
    """A batch root's anchor on a second chain (NOTARY_EXTRA_ANCHORS), made after the primary
    anchor: one row per batch and chain, with the node's transaction receipt as it was."""

    __tablename__ = "extra_anchors"
    __table_args__ = (UniqueConstraint("batch_id", "chain_id", name="uq_extra_anchor"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batches.id", index=True)
    chain_id: int
    contract: str = Field(max_length=42)
    onchain_batch_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    block_hash: str = Field(max_length=66)
    block_timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    raw_receipt: str = Field(sa_column=Column(Text, nullable=False))
    anchored_at: datetime


class WorkerLease(SQLModel, table=True):
    """Who may anchor right now. Exactly one holder at a time; a holder that stops renewing
    (crashed, killed, partitioned) loses the lease when it expires and another takes over."""

    __tablename__ = "worker_leases"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime
    acquired_at: datetime


class AuditEvent(SQLModel, table=True):
    """Who did what sensitive thing to an item (key export, content read). Issue 5 turns these
    into signed, hash-chained custody events."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    evidence_id: str = Field(index=True, max_length=64)
    act: str = Field(max_length=32)
    actor: str = Field(max_length=256)
    at: datetime
    detail: str | None = Field(default=None, max_length=1024)


class WebhookEndpoint(SQLModel, table=True):
    """Where a tenant wants to hear of events (notary.service.webhooks). ``secret`` signs
    each delivery (HMAC): it is shown once and kept here because signing needs it.
    ``events`` is the JSON list of subscribed event types. A deleted endpoint is kept (its
    deliveries stay listed) with ``deleted_at`` set; it hears nothing more."""

    __tablename__ = "webhook_endpoints"

    id: str = Field(primary_key=True, max_length=32)
    tenant: str = Field(index=True, max_length=128)
    url: str = Field(max_length=2048)
    events: str = Field(max_length=1024)
    description: str | None = Field(default=None, max_length=256)
    secret: str = Field(max_length=128)
    created_by: str = Field(max_length=256)
    created_at: datetime
    deleted_at: datetime | None = None


class WebhookDelivery(SQLModel, table=True):
    """The outbox: one event for one endpoint, written in the transaction of the event itself
    so that none is lost across a crash. ``id`` is the ``webhook-id`` header, the same on every
    attempt. A worker claims a due row by pushing ``next_attempt_at`` ahead (its lease) and
    naming itself in ``leased_by``; a worker that dies loses the claim when the lease ends."""

    __tablename__ = "webhook_deliveries"

    id: str = Field(primary_key=True, max_length=40)
    endpoint_id: str = Field(foreign_key="webhook_endpoints.id", index=True, max_length=32)
    tenant: str = Field(max_length=128)
    event_type: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    status: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(index=True)
    leased_by: str | None = Field(default=None, max_length=64)
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=256)
    delivered_at: datetime | None = None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE instead of pysqlite's implicit BEGIN.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    # Freed content is overwritten with zeros: a shredded item's wrapped key must not linger.
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def private_sqlite_files(database: str) -> None:
    """Make the database file readable by this user only (0600; a folder made here: 0700).

    The database holds statements, file names and wrapped keys: personal data. SQLite
    creates ``-wal`` and ``-shm`` with the database file's own mode, so creating that file
    0600 first covers all three; an older install's 0644 files are narrowed here too.
    """
    import os
    from pathlib import Path

    path = Path(database)
    folder = path.parent
    if not folder.exists():  # an existing folder is the operator's: its mode is kept
        folder.mkdir(parents=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        if name.exists() and name.stat().st_mode & 0o077:
            name.chmod(0o600)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the durability settings above (the schema comes from
    :func:`storage.migrate.upgrade`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_sqlite_files(parsed.database)
        # hide_parameters: a database error's text (logged with its traceback) must not carry
        # the row it failed on: statements, file names and wrapped keys are personal data.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    return engine


def utc(moment: datetime) -> datetime:
    """Datetimes read back from SQLite are naive; they were written as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def session(engine: Engine) -> Session:
    """A session whose objects stay readable after commit (we hand them to the API layer)."""
    return Session(engine, expire_on_commit=False)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a model: the submission path writes its rows with Core statements,
    which cost a fraction of the ORM's unit of work for the same rows."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def row_values(obj: SQLModel) -> dict[str, Any]:
    """The column values of a model object, for a Core insert of the row the ORM would have
    written: unset (None) columns are left out, so autoincrement keys and defaults apply."""
    return {c.name: value for c in table_of(type(obj)).columns
            if (value := getattr(obj, c.name)) is not None}


def pending_count(engine: Engine) -> int:
    """Statements and custody events waiting for an anchoring batch (as the batch worker
    counts them; the API's health reads the same figure from another process)."""
    with session(engine) as s:
        statements = s.exec(select(func.count()).select_from(Evidence).where(
            Evidence.status == "pending", Evidence.batch_id.is_(None))).one()  # type: ignore[union-attr]
        events = s.exec(select(func.count()).select_from(CustodyRecord).where(
            CustodyRecord.batch_id.is_(None))).one()  # type: ignore[union-attr]
        return int(statements) + int(events)
