"""Notarise one upload: seal it, store the ciphertext, sign the statement and the receipt.

Order matters for the promise a receipt makes. The ciphertext is stored under its CID first;
then one database transaction links the statement into its case (sequence number and the
previous statement's digest), records the evidence as ``pending`` and commits (SQLite WAL with
``synchronous=FULL``, or PostgreSQL). Only then is the receipt returned. A crash before the
commit leaves at most an unreferenced ciphertext blob; never a statement without its blob, and
never an acknowledged item the batch worker cannot find.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, insert, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

import notary.core.errors as kinds
from notary.checkcode import new_check_code
from notary.core.custody import CustodyAct
from notary.core.errors import Contention, InputError, NotaryError
from notary.core.logentry import EntryType
from notary.core.signing import SigningKey, sign_receipt, sign_statement
from notary.core.validate import (
    format_rfc3339_utc,
)
from notary.service.actors import SERVICE, Actor
from notary.service.calls import CallDraft, same_numbers, settle, store_salts
from notary.service.custody import CustodyLog
from notary.service.faults import crash_point
from notary.service.itemkeys import MasterKey
from notary.service.sealing import Read, SealedUpload, seal
from notary.service.submission import SNIFF_BYTES, Submission, statement_of
from notary.service.tenancy import DEFAULT_TENANT, case_uid_for_submission
from notary.service.translog import stage
from storage.blobs import BlobStore, StorageFull
from storage.db import Case, CaseHead, Evidence, Tenant, row_values, session, table_of

#: How often a submission is retried when concurrent ones took its case sequence number.
CASE_ATTEMPTS = 20
_HEADS = table_of(CaseHead)
_EVIDENCE = table_of(Evidence)
_TENANTS = table_of(Tenant)
# Built once: a statement's cache key is then cheap, and its values come as parameters.
_LOCK_HEAD = (select(_HEADS.c.last_seq, _HEADS.c.last_statement_digest)
              .where(_HEADS.c.case_uid == bindparam("uid")).with_for_update())
_INSERT_HEAD = insert(_HEADS)
_UPDATE_HEAD = (update(_HEADS).where(_HEADS.c.case_uid == bindparam("b_case_uid"))
                .values(last_seq=bindparam("b_last_seq"),
                        last_statement_digest=bindparam("b_digest")))
_TENANT_NAME = select(_TENANTS.c.name).where(_TENANTS.c.id == bindparam("tenant"))

log = logging.getLogger(__name__)


class IdempotencyConflict(NotaryError):
    """An Idempotency-Key reused for a different file or different metadata."""

    kind = kinds.CONFLICT

    default_code = "idempotency_conflict"


class IdempotencyKeyReserved(InputError):
    """An idempotency key (or deposit ``client_id``) in the ``recording:`` namespace, which
    closing a recording session uses for its item: a client's item under such a key would
    make that close fail for good (400)."""

    default_code = "idempotency_key_reserved"


#: The idempotency-key prefix closing a recording session uses; clients may not send it.
RESERVED_KEY_PREFIX = "recording:"


def refuse_reserved_key(key: str | None, field: str) -> None:
    """IdempotencyKeyReserved when a client's ``key`` is in the reserved namespace."""
    if key is not None and key.startswith(RESERVED_KEY_PREFIX):
        raise IdempotencyKeyReserved(f"{field} values starting with {RESERVED_KEY_PREFIX!r} "
                                     "are reserved for recording sessions / 以 'recording:' "
                                     "开头的键保留给录音会话", field=field)


class CheckCodeTaken(NotaryError):
    """The check code in the metadata already belongs to another document: a code printed on
    a notice must lead to that notice alone."""

    kind = kinds.CONFLICT

    default_code = "check_code_taken"


def _tenant_name(s: Session, tenant: str) -> str | None:
    """The tenant's registered legal name for its statements; None for the unnamed
    ``default`` tenant (its "name" is its id, not a legal name). Read in the submission's
    transaction (a rename is seen by the next statement), as one Core query."""
    name = s.connection().execute(_TENANT_NAME, {"tenant": tenant}).scalar()
    if name is None or (tenant == DEFAULT_TENANT and name == DEFAULT_TENANT):
        return None
    return str(name)


def _disk_full(exc: OperationalError) -> bool:
    """SQLite's SQLITE_FULL or PostgreSQL's disk_full (SQLSTATE 53100)."""
    orig = exc.orig
    return (getattr(orig, "sqlstate", None) == "53100"
            or "database or disk is full" in str(orig) or "No space left" in str(orig))


@dataclass(frozen=True)
class Sealed:
    """A sealed upload waiting to be committed, with its wrapped item key."""

    upload: SealedUpload
    wrapped_key: str
    #: The first :data:`SNIFF_BYTES` of the plaintext, in memory only, to read its type.
    head: bytes = b""


class _HeadKeeper:
    """Passes reads through and keeps a copy of the first bytes: the type is read from the
    stream as it goes by, without a second pass and without plaintext on disk."""

    def __init__(self, read: Read) -> None:
        self._read = read
        self.head = bytearray()

    def read(self, n: int) -> bytes:
        data = self._read(n)
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
        return data


@dataclass(frozen=True)
class Accepted:
    """The answer to a submission (the 201 body), and whether it replays an earlier one or
    is an item the case already held (``duplicate``: the same SHA-256, answered 200)."""

    evidence: Evidence
    replayed: bool = False
    duplicate: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Notariser:
    """Accepts uploads. Thread-safe: every call uses its own database session."""

    def __init__(
        self, *, engine: Engine, blobs: BlobStore, master: MasterKey, signing_key: SigningKey,
        spool_dir: Any, max_upload_bytes: int, anchor_deadline_seconds: int,
        custody: CustodyLog | None = None, sm3: bool = False,
    ) -> None:
        self.custody = custody
        #: Whether statements carry the file's SM3 beside its SHA-256 (NOTARY_SM3).
        self.sm3 = sm3
        self.engine = engine
        self.blobs = blobs
        self.master = master
        self.salt_box = master.salt_box()
        self.signing_key = signing_key
        self.spool_dir = spool_dir
        self.max_upload_bytes = max_upload_bytes
        self.deadline = timedelta(seconds=anchor_deadline_seconds)

    def find_idempotent(self, submitter: str, key: str) -> Evidence | None:
        with session(self.engine) as s:
            return s.exec(
                select(Evidence).where(Evidence.submitter == submitter,
                                       Evidence.idempotency_key == key)
            ).first()

    def accept(
        self, sub: Submission, read: Read, *, submitter: str, idempotency_key: str | None = None,
        tenant: str = "default", submitter_name: str | None = None,
    ) -> Accepted:
        """Seal the bytes ``read`` yields and record them (both steps below)."""
        return self.commit(sub, self.seal(read), submitter=submitter,
                           idempotency_key=idempotency_key, tenant=tenant,
                           submitter_name=submitter_name)

    def seal(self, read: Read) -> Sealed:
        """Step 1: encrypt the upload to a new item key, into the spool (ciphertext only)."""
        identity, wrapped = self.master.new_item_identity()
        keeper = _HeadKeeper(read)
        upload = seal(keeper.read, identity.to_public(), self.spool_dir, self.max_upload_bytes,
                      sm3=self.sm3)
        return Sealed(upload, wrapped, bytes(keeper.head))

    def discard(self, sealed: Sealed) -> None:
        sealed.upload.path.unlink(missing_ok=True)

    def commit(
        self, sub: Submission, sealed_item: Sealed, *, submitter: str,
        idempotency_key: str | None = None, tenant: str = "default",
        submitter_kid: str | None = None, submitter_name: str | None = None,
    ) -> Accepted:
        """Step 2: store the ciphertext by CID, then record the statement; see module docstring.

        The statement names the tenant by its registered legal name (``tenant_name``) and the
        submitting key by its ``name`` (``submitter_name``, from the caller): both are the
        tenant's own claims, recorded as it made them.

        Raises InputError (empty file: ``file_empty``), IdempotencyConflict, StorageError from
        the blob store; nothing is recorded when it raises, and the spool file is always removed.
        """
        sealed, wrapped = sealed_item.upload, sealed_item.wrapped_key
        try:
            if sealed.digest.size == 0:
                raise InputError("the file is empty; there is nothing to notarise",
                                 code="file_empty")
            fingerprint = sub.fingerprint(sealed.digest.hex)
            if idempotency_key is not None:
                earlier = self.find_idempotent(submitter, idempotency_key)
                if earlier is not None:
                    return self._replay(earlier, fingerprint, sub.call)
            if sub.may_be_duplicate:
                held = self._held_copy(tenant, sub.case_id, sealed.digest.hex)
                if held is not None and sub.check_code in (None, held.check_code):
                    # Nothing is stored: the spool file goes, no blob is left behind.
                    return Accepted(held, duplicate=True)
            self._refuse_taken_code(sub.check_code)
            sub = sub.with_content(sealed_item.head)  # before the blob: nothing left if it fails
            self.blobs.put_file(sealed.cid, sealed.path)
            crash_point("blob_stored")  # the fault tests' orphan blob: stored, not recorded
        finally:
            sealed.path.unlink(missing_ok=True)
        try:
            for _attempt in range(CASE_ATTEMPTS):
                try:
                    row = self._record(sub, sealed, wrapped, submitter, idempotency_key,
                                       fingerprint, tenant=tenant, submitter_kid=submitter_kid,
                                       submitter_name=submitter_name)
                except IntegrityError:
                    # Another request took the same case sequence number or idempotency key
                    # at the same moment: re-read and try again (or replay the winner's answer).
                    if idempotency_key is not None:
                        earlier = self.find_idempotent(submitter, idempotency_key)
                        if earlier is not None:
                            self._drop_blob(sealed.cid)
                            return self._replay(earlier, fingerprint, sub.call)
                    self._refuse_taken_code(sub.check_code)  # taken at the same moment
                    continue
                except OperationalError as exc:
                    if _disk_full(exc):  # nothing was recorded: refuse, as for a full blob store
                        raise StorageFull("the database's disk is full; nothing was recorded, "
                                          "retry later", backend="database") from exc
                    raise
                crash_point("after_commit")
                return Accepted(row)
            raise Contention("the case is too busy (other items took its next sequence "
                             "numbers); nothing was recorded: retry", code="case_contention",
                             retry_after=1)
        except BaseException:
            self._drop_blob(sealed.cid)
            raise

    def _drop_blob(self, cid: str) -> None:
        """Delete the ciphertext just stored for a submission that recorded nothing, so a
        failed submission leaves no orphan blob. Kept when any row names it (a commit that
        reported an error but happened)."""
        try:
            with session(self.engine) as s:
                if s.exec(select(Evidence.id).where(Evidence.cid == cid)).first() is not None:
                    return
            self.blobs.delete(cid)
        except Exception:  # noqa: BLE001 - best effort; the sweep of unreferenced blobs remains
            log.warning("could not delete the unreferenced blob of a failed submission")

    def _held_copy(self, tenant: str, case_id: str, sha256_hex: str) -> Evidence | None:
        """The first item of the case ``tenant`` holds as ``case_id`` with these bytes, or
        None. Only the tenant's own case is searched: no other tenant's item is revealed."""
        cases, items = table_of(Case), _EVIDENCE
        with session(self.engine) as s:
            # Asked of every submission and nearly always empty: a Core query for the id,
            # the row itself only when there is one.
            held = s.execute(
                select(items.c.id).join(cases, cases.c.uid == items.c.case_uid)
                .where(cases.c.holder == tenant, cases.c.case_id == case_id,
                       items.c.sha256 == sha256_hex, items.c.shredded_at.is_(None))
                .order_by(items.c.case_seq).limit(1)).scalar()
            return s.get(Evidence, held) if held is not None else None

    def _refuse_taken_code(self, check_code: str | None) -> None:
        """Raise CheckCodeTaken when another document already has ``check_code``."""
        if check_code is None:
            return
        with session(self.engine) as s:
            taken = s.exec(select(Evidence.id).where(Evidence.check_code == check_code)).first()
        if taken is not None:
            raise CheckCodeTaken(f"the check code {check_code} is already printed on another "
                                 "notarised document; use a new code (POST /v1/check-codes)",
                                 check_code=check_code)

    def _replay(self, earlier: Evidence, fingerprint: str,
                call: CallDraft | None = None) -> Accepted:
        if earlier.request_fingerprint != fingerprint or not same_numbers(
                self.engine, earlier.id, call, self.salt_box):
            raise IdempotencyConflict(
                "this Idempotency-Key was already used for a different file or metadata",
                evidence_id=earlier.id,
            )
        return Accepted(earlier, replayed=True)

    def _record(
        self, sub: Submission, sealed: SealedUpload, wrapped: str, submitter: str,
        idempotency_key: str | None, fingerprint: str, *, tenant: str,
        submitter_kid: str | None, submitter_name: str | None = None,
    ) -> Evidence:
        now = datetime.now(UTC)
        received_at = format_rfc3339_utc(now)
        deadline = now + self.deadline
        evidence_id = f"ev_{uuid.uuid4().hex}"
        # The rows are written with Core statements (no ORM unit of work: it was most of a
        # submission's CPU); ``row`` is only the answer, never added to the session. The order
        # of the locks is unchanged: the case, its head, then (at commit) the log's head.
        with session(self.engine) as s:
            conn = s.connection()  # the session's transaction, without Session.execute's cost
            case_uid = case_uid_for_submission(s, tenant, sub.case_id)
            head = conn.execute(_LOCK_HEAD, {"uid": case_uid}).first()
            seq = head.last_seq + 1 if head else 1
            prev = head.last_statement_digest if head else None
            sub = replace(sub, call=settle(s, case_uid, sub.call, self.salt_box))
            statement = statement_of(
                sub, evidence_id=evidence_id, case_seq=seq, prev=prev, sha256=sealed.digest.hex,
                size=sealed.digest.size, received_at=received_at, submitter=submitter,
                cid=sealed.cid, tenant_name=_tenant_name(s, tenant),
                submitter_name=submitter_name, sm3=sealed.digest.sm3_hex,
            )
            digest = statement.digest().hex()
            jws = sign_statement(statement, self.signing_key)
            receipt = sign_receipt(digest, evidence_id, format_rfc3339_utc(deadline), received_at,
                                   self.signing_key)
            row = Evidence(
                id=evidence_id, tenant=tenant, case_uid=case_uid, submitter_kid=submitter_kid,
                case_id=sub.case_id, case_seq=seq, kind=sub.kind.value,
                media_type=sub.media_type, file_name=sub.file_name, size=sealed.digest.size,
                sha256=sealed.digest.hex, cid=sealed.cid, statement_jws=jws,
                statement_digest=digest, received_at=now, anchor_deadline=deadline,
                receipt_jws=receipt, submitter=submitter, idempotency_key=idempotency_key,
                request_fingerprint=fingerprint, wrapped_key=wrapped,
                check_code=sub.check_code or new_check_code(),
                callee_salted=sub.call is not None and "callee" in sub.call.salts,
            )
            if head is None:
                conn.execute(_INSERT_HEAD, {"case_uid": case_uid, "last_seq": seq,
                                            "last_statement_digest": digest})
            else:
                conn.execute(_UPDATE_HEAD, {"b_case_uid": case_uid, "b_last_seq": seq,
                                            "b_digest": digest})
            conn.execute(insert(_EVIDENCE), row_values(row))
            stage(s, EntryType.STATEMENT, jws, evidence_id)  # numbered as it commits
            store_salts(s, evidence_id, sub.call, self.salt_box)
            if self.custody is not None:  # the new row's first events: no one else sees it
                registered: dict[str, str | int] = {
                    "statement_sha256": digest, "case_id": sub.case_id, "case_seq": seq,
                    "submitter_signature": f"verified:{submitter_kid}" if submitter_kid
                    else ("unverified" if sub.submitter_signature else "none")}
                self.custody.append_first(s, row, [
                    (CustodyAct.REGISTERED, Actor.submitter(submitter, tenant), registered),
                    (CustodyAct.STORED, SERVICE,
                     {"cid": sealed.cid, "stored_bytes": sealed.stored_size})], tenant=tenant,
                    holder=tenant)
            s.commit()
            return row
