"""Notarise one upload: seal it, store the ciphertext, sign the statement and the receipt.

Order matters for the promise a receipt makes. The ciphertext is stored under its CID first;
then one database transaction links the statement into its case (sequence number and the
previous statement's digest), records the evidence as ``pending`` and commits (SQLite WAL with
``synchronous=FULL``, or PostgreSQL). Only then is the receipt returned. A crash before the
commit leaves at most an unreferenced ciphertext blob; never a statement without its blob, and
never an acknowledged item the batch worker cannot find.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

import notary.core.errors as kinds
from notary.core.checkcode import CheckCodeError, new_check_code, normalise_check_code
from notary.core.custody import CustodyAct
from notary.core.errors import Contention, InputError, NotaryError, StatementError
from notary.core.signing import SigningKey, sign_receipt, sign_statement
from notary.core.statement import (
    EvidenceKind,
    Statement,
    canonical_json,
    parse_strict_json,
)
from notary.core.validate import (
    format_rfc3339_utc,
    normalise_case_reference,
    validate_captured_at,
    validate_file_name,
    validate_media_type,
)
from notary.service.actors import SERVICE, Actor
from notary.service.custody import CustodyLog
from notary.service.faults import crash_point
from notary.service.itemkeys import MasterKey
from notary.service.sealing import Read, SealedUpload, seal
from notary.service.tenancy import DEFAULT_TENANT, case_for_submission
from storage.blobs import BlobStore, StorageFull
from storage.db import Case, CaseHead, Evidence, Tenant, session

METADATA_FIELDS = frozenset(
    {"case_id", "kind", "captured_at", "description", "parties", "submitter_signature",
     "check_code", "distinct"}
)
MAX_METADATA_BYTES = 64 * 1024
_PROBE_SHA = "0" * 64


#: How often a submission is retried when concurrent ones took its case sequence number.
CASE_ATTEMPTS = 20

log = logging.getLogger(__name__)

class MetadataError(InputError):
    """The ``metadata`` part is missing, not JSON, or has a wrong field (``details.field``)."""

    default_code = "metadata_invalid"


class IdempotencyConflict(NotaryError):
    """An Idempotency-Key reused for a different file or different metadata."""

    kind = kinds.CONFLICT

    default_code = "idempotency_conflict"


class CheckCodeTaken(NotaryError):
    """The check code in the metadata already belongs to another document: a code printed on
    a notice must lead to that notice alone."""

    kind = kinds.CONFLICT

    default_code = "check_code_taken"


@dataclass(frozen=True)
class Submission:
    """Validated metadata plus what the multipart part said about the file."""

    case_id: str
    kind: EvidenceKind
    captured_at: str | None = None
    description: str | None = None
    parties: tuple[dict[str, str], ...] | None = None
    submitter_signature: str | None = None
    #: The code printed on the notice (normalised), or None to have one made; never signed.
    check_code: str | None = None
    file_name: str = "upload.bin"
    media_type: str = "application/octet-stream"
    #: The file part's Content-Type exactly as sent (validated), or None when it sent none;
    #: ``media_type`` becomes the type read from the content when this says nothing useful.
    media_type_sent: str | None = None
    #: The client says this file is a distinct copy: file it even if the case already holds
    #: the same bytes (otherwise the existing item is the answer, ``duplicate_of``).
    distinct: bool = False

    def with_file(self, file_name: str | None, media_type: str | None) -> Submission:
        """This submission with the file part's name and type, each validated (InputError)."""
        name = file_name or "upload.bin"
        sent = media_type.strip() if media_type is not None and media_type.strip() else None
        mtype = sent or "application/octet-stream"
        try:
            validate_file_name(name, 255, error=InputError)
        except InputError as exc:
            raise InputError(exc.message, code="file_name_invalid", **exc.details) from None
        try:
            validate_media_type(mtype, error=InputError)
        except InputError as exc:
            raise InputError(exc.message, code="media_type_invalid", **exc.details) from None
        return replace(self, file_name=name, media_type=mtype, media_type_sent=sent)

    def with_content(self, head: bytes) -> Submission:
        """This submission with the media type read from the file's first bytes (or its
        name) when the client sent none or ``application/octet-stream``; the type as sent
        is kept in ``media_type_sent`` when it differs (see docs/formats.md)."""
        derived = derive_media_type(self.media_type, head, self.file_name)
        if derived == self.media_type:
            return replace(self, media_type_sent=None)
        return replace(self, media_type=derived)

    @property
    def may_be_duplicate(self) -> bool:
        """Whether the same bytes already in the case answer this submission. Not when the
        client says it is a distinct copy, nor when it brings what only a record of its own
        can carry: a submitter's signature made at capture, or a check code printed on a
        document other than the held one's (the held item's own code is the same request)."""
        return not self.distinct and self.submitter_signature is None

    def fingerprint(self, sha256_hex: str) -> str:
        """What makes two requests "the same" for idempotency: file hash and all metadata."""
        doc: dict[str, Any] = {
            "sha256": sha256_hex, "case_id": self.case_id, "kind": self.kind.value,
            "captured_at": self.captured_at, "description": self.description,
            "parties": list(self.parties) if self.parties else None,
            "submitter_signature": self.submitter_signature,
            "file_name": self.file_name, "media_type": self.media_type,
        }
        if self.check_code is not None:  # only then: earlier fingerprints stay the same
            doc["check_code"] = self.check_code
        if self.distinct:
            doc["distinct"] = True
        return hashlib.sha256(canonical_json(doc)).hexdigest()


def parse_metadata(raw: bytes | None) -> Submission:
    """Parse and validate the metadata JSON exactly as the statement will validate it.

    Raises MetadataError (code ``metadata_missing``, ``metadata_invalid`` or ``kind_unknown``)
    with ``details.field`` naming the field, before a single byte of the file is stored.
    """
    if raw is None:
        raise MetadataError("the form needs a 'metadata' part (a JSON object)",
                            code="metadata_missing")
    try:
        obj = parse_strict_json(raw, max_bytes=MAX_METADATA_BYTES)
    except StatementError as exc:
        raise MetadataError(f"metadata: {exc.message}", **exc.details) from None
    if not isinstance(obj, dict):
        raise MetadataError("metadata must be a JSON object")
    unknown = sorted(set(obj) - METADATA_FIELDS)
    if unknown:
        raise MetadataError(f"metadata has unknown field(s): {', '.join(unknown)}",
                            field=unknown[0])
    for required in ("case_id", "kind"):
        if required not in obj:
            raise MetadataError(f"metadata needs '{required}'", field=required)
    if obj["kind"] not in {k.value for k in EvidenceKind}:
        allowed = ", ".join(k.value for k in EvidenceKind)
        raise MetadataError(
            f"unknown kind {obj['kind']!r}; use one of: {allowed}", code="kind_unknown",
            field="kind",
        )
    case_id = _case_reference(obj["case_id"])
    parties = obj.get("parties")
    if parties is not None and not isinstance(parties, list):
        raise MetadataError("Field 'parties' must be a list of objects.", field="parties")
    sub = Submission(
        case_id=case_id,
        kind=EvidenceKind(obj["kind"]),
        captured_at=obj.get("captured_at"),
        description=obj.get("description"),
        parties=tuple(parties) if isinstance(parties, list) else parties,
        submitter_signature=obj.get("submitter_signature"),
        check_code=_check_code(obj.get("check_code")),
        distinct=_distinct(obj.get("distinct", False)),
    )
    # The statement is the one place that validates these fields: build a probe with
    # placeholder file facts so a bad field fails now, before the upload is read.
    try:
        _statement(sub, evidence_id="ev_probe", case_seq=1, prev=None, sha256=_PROBE_SHA,
                   size=0, received_at="2000-01-01T00:00:00Z", submitter="probe", cid=None)
    except StatementError as exc:
        raise MetadataError(exc.message, **exc.details) from None
    if sub.captured_at is not None:  # a real date-time now; is it a plausible one?
        validate_captured_at(sub.captured_at, datetime.now(UTC), error=MetadataError)
    return sub


def _distinct(value: object) -> bool:
    if not isinstance(value, bool):
        raise MetadataError("Field 'distinct' must be true or false.", field="distinct")
    return value


#: What a file's extension says when its first bytes do not (formats without a signature).
_TYPE_BY_EXTENSION = {
    "txt": "text/plain", "csv": "text/csv", "json": "application/json", "xml": "application/xml",
    "htm": "text/html", "html": "text/html", "eml": "message/rfc822", "rtf": "application/rtf",
    "pdf": "application/pdf", "wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4",
    "amr": "audio/amr", "ogg": "audio/ogg", "opus": "audio/ogg", "flac": "audio/flac",
    "mp4": "video/mp4", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: filetype's names where a registered or common one exists.
_CANONICAL_TYPE = {"audio/x-wav": "audio/wav", "audio/x-flac": "audio/flac",
                   "audio/x-aac": "audio/aac", "audio/x-m4a": "audio/mp4"}
#: How much of the stream is kept in memory to read the type from (filetype reads ≤ 8 KiB).
SNIFF_BYTES = 8192


def derive_media_type(sent: str, head: bytes, file_name: str) -> str:
    """``sent`` unless it says nothing (``application/octet-stream``, any case and
    parameters); then the type the content's signature shows (PyPI ``filetype``), else the
    one its extension names, else ``sent``. The content wins over the name."""
    if sent.split(";")[0].strip().lower() != "application/octet-stream":
        return sent
    import filetype  # type: ignore[import-untyped]  # a maintained signature table; pure Python

    kind = filetype.guess(head) if head else None
    if kind is not None:
        return _CANONICAL_TYPE.get(kind.mime, kind.mime)
    _stem, dot, ext = file_name.rpartition(".")
    return _TYPE_BY_EXTENSION.get(ext.lower(), sent) if dot else sent


def _check_code(value: object) -> str | None:
    """The metadata's ``check_code`` in printed form, or None when absent. MetadataError
    (``check_code_invalid``) naming the field for anything that is not a check code."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MetadataError("Field 'check_code' must be a string such as XXXX-XXXX-XXXX.",
                            code="check_code_invalid", field="check_code")
    try:
        return normalise_check_code(value)
    except CheckCodeError as exc:
        raise MetadataError(f"Field 'check_code': {exc.message}", code=exc.code,
                            field="check_code", **exc.details) from None


def _case_reference(case_id: Any) -> Any:
    """This service's rule for new case references, stricter than statement format v1 (which
    compares code points and must not change): a case reference that looks like another one
    must be the same one (:func:`notary.core.validate.normalise_case_reference`: NFKC-folded,
    no invisible, path-unsafe or ASCII look-alike characters). A non-string is passed on for
    the statement's own validation to name. MetadataError (``case_id_invalid``)."""
    if not isinstance(case_id, str):
        return case_id
    return normalise_case_reference(case_id, error=MetadataError)


def _statement(
    sub: Submission, *, evidence_id: str, case_seq: int, prev: str | None, sha256: str,
    size: int, received_at: str, submitter: str, cid: str | None,
    tenant_name: str | None = None, submitter_name: str | None = None,
) -> Statement:
    return Statement(
        evidence_id=evidence_id, case_id=sub.case_id, case_seq=case_seq, prev_statement=prev,
        kind=sub.kind, media_type=sub.media_type, media_type_sent=sub.media_type_sent,
        size=size, sha256=sha256,
        file_name=sub.file_name, captured_at=sub.captured_at, received_at=received_at,
        submitter=submitter, tenant_name=tenant_name, submitter_name=submitter_name,
        content_address=cid, description=sub.description,
        parties=list(sub.parties) if sub.parties else None,
        submitter_signature=sub.submitter_signature,
    )


def _tenant_name(s: Session, tenant: str) -> str | None:
    """The tenant's registered legal name for its statements; None for the unnamed
    ``default`` tenant (its "name" is its id, not a legal name)."""
    row = s.get(Tenant, tenant)
    if row is None or (row.id == DEFAULT_TENANT and row.name == DEFAULT_TENANT):
        return None
    return row.name


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
        custody: CustodyLog | None = None,
    ) -> None:
        self.custody = custody
        self.engine = engine
        self.blobs = blobs
        self.master = master
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
        upload = seal(keeper.read, identity.to_public(), self.spool_dir, self.max_upload_bytes)
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
                    return self._replay(earlier, fingerprint)
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
                            return self._replay(earlier, fingerprint)
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
        with session(self.engine) as s:
            return s.exec(
                select(Evidence).join(Case, Case.uid == Evidence.case_uid)  # type: ignore[arg-type]
                .where(Case.holder == tenant, Case.case_id == case_id,
                       Evidence.sha256 == sha256_hex, Evidence.shredded_at.is_(None))  # type: ignore[union-attr]
                .order_by(Evidence.case_seq)  # type: ignore[arg-type]
            ).first()

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

    def _replay(self, earlier: Evidence, fingerprint: str) -> Accepted:
        if earlier.request_fingerprint != fingerprint:
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
        with session(self.engine) as s:
            case = case_for_submission(s, tenant, sub.case_id)
            head = s.exec(
                select(CaseHead).where(CaseHead.case_uid == case.uid).with_for_update()
            ).first()
            seq = head.last_seq + 1 if head else 1
            prev = head.last_statement_digest if head else None
            statement = _statement(
                sub, evidence_id=evidence_id, case_seq=seq, prev=prev, sha256=sealed.digest.hex,
                size=sealed.digest.size, received_at=received_at, submitter=submitter,
                cid=sealed.cid, tenant_name=_tenant_name(s, tenant),
                submitter_name=submitter_name,
            )
            digest = statement.digest().hex()
            jws = sign_statement(statement, self.signing_key)
            receipt = sign_receipt(digest, evidence_id, format_rfc3339_utc(deadline), received_at,
                                   self.signing_key)
            row = Evidence(
                id=evidence_id, tenant=tenant, case_uid=case.uid, submitter_kid=submitter_kid,
                case_id=sub.case_id, case_seq=seq, kind=sub.kind.value,
                media_type=sub.media_type, file_name=sub.file_name, size=sealed.digest.size,
                sha256=sealed.digest.hex, cid=sealed.cid, statement_jws=jws,
                statement_digest=digest, received_at=now, anchor_deadline=deadline,
                receipt_jws=receipt, submitter=submitter, idempotency_key=idempotency_key,
                request_fingerprint=fingerprint, wrapped_key=wrapped,
                check_code=sub.check_code or new_check_code(),
            )
            if head is None:
                s.add(CaseHead(case_uid=case.uid, last_seq=seq, last_statement_digest=digest))
            else:
                head.last_seq, head.last_statement_digest = seq, digest
                s.add(head)
            s.add(row)
            s.flush()
            if self.custody is not None:
                self.custody.append(s, row, CustodyAct.REGISTERED,
                                    actor=Actor.submitter(submitter, tenant), tenant=tenant,
                                    detail={"statement_sha256": digest, "case_id": sub.case_id,
                                            "case_seq": seq,
                                            "submitter_signature":
                                                f"verified:{submitter_kid}" if submitter_kid
                                                else ("unverified" if sub.submitter_signature
                                                      else "none")})
                self.custody.append(s, row, CustodyAct.STORED, actor=SERVICE,
                                    tenant=tenant, detail={"cid": sealed.cid,
                                                           "stored_bytes": sealed.stored_size})
            s.commit()
            return row
