"""Hash-only deposits (issue 16): a file's SHA-256 and size, without the file.

The depositor hashed the file; this service never sees it, stores no ciphertext (the row's
``cid`` is empty, there is no item key) and signs a statement with ``"deposit": "hash_only"``,
so every verdict says the file was never seen here. The receipt is the same promise as for a
file: the batch worker anchors the item like any other.

A bulk request is answered per item: each gets its receipt or its own error, one bad item never
rejects the others, and everything accepted is written in one transaction (rows inserted in
bulk, no per-item ORM round trip). ``client_id`` is the item's idempotency key (the same
namespace as a file's ``Idempotency-Key``): the same id with the same content answers the
first receipt again; with other content, ``client_id_conflict``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import notary.core.errors as kinds
from notary.checkcode import new_check_code
from notary.core.custody import CUSTODY_EVENT, CustodyAct, CustodyEvent
from notary.core.errors import Contention, InputError, NotaryError, StatementError
from notary.core.logentry import EntryType
from notary.core.signing import SigningKey, sign_receipt, sign_statement
from notary.core.statement import DEPOSIT_HASH_ONLY
from notary.core.validate import (
    format_rfc3339_utc,
    normalise_case_reference,
    validate_captured_at,
    validate_identifier,
    validate_rfc3339,
)
from notary.service.actors import Actor
from notary.service.ingest import refuse_reserved_key
from notary.service.submission import (
    MetadataError,
    Submission,
    check_fields,
    parse_kind,
    parse_parties,
    statement_of,
)
from notary.service.tenancy import DEFAULT_TENANT, case_for_submission
from notary.service.translog import stage
from storage.db import CaseHead, CustodyRecord, Evidence, Tenant, session

#: The most items one bulk request may carry (docs/api.md).
MAX_BULK_ITEMS = 5000
#: The fields of one deposit.
DEPOSIT_FIELDS = frozenset({"client_id", "case_id", "kind", "sha256", "size", "file_name",
                            "media_type", "captured_at", "description", "parties"})
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,255}")
#: How often a bulk write is retried when a concurrent request took a case's next numbers.
WRITE_ATTEMPTS = 10


class ClientIdConflict(NotaryError):
    """A ``client_id`` already used for a deposit with other content (hash or metadata)."""

    kind = kinds.CONFLICT

    default_code = "client_id_conflict"


class BulkTooLarge(InputError):
    """A bulk request over :data:`MAX_BULK_ITEMS` items."""

    kind = kinds.TOO_LARGE

    default_code = "bulk_too_large"


@dataclass(frozen=True)
class HashDeposit:
    """One validated deposit: the statement's fields (as a :class:`Submission`), the file's
    SHA-256 (lower-case hex) and size as the depositor states them, and its ``client_id``."""

    sub: Submission
    sha256: str
    size: int
    client_id: str | None = None

    def fingerprint(self) -> str:
        """What makes two deposits "the same" for ``client_id``: hash, size and metadata."""
        sub = self.sub
        doc = [DEPOSIT_HASH_ONLY, self.sha256, self.size, sub.case_id, sub.kind.value,
               sub.captured_at, sub.description, list(sub.parties) if sub.parties else None,
               sub.file_name, sub.media_type]
        text = json.dumps(doc, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class Deposited:
    """A deposit just recorded, as its receipt shows it (the row's fields an answer needs;
    built without the ORM, which would cost more than the deposit itself)."""

    id: str
    sha256: str
    size: int
    case_id: str
    case_seq: int
    received_at: datetime
    anchor_deadline: datetime
    statement_jws: str
    receipt_jws: str
    check_code: str
    status: str = "pending"
    cid: str = ""

    @property
    def hash_only(self) -> bool:
        return True


@dataclass(frozen=True)
class DepositAnswer:
    """One item's answer: its row (with ``replayed`` when ``client_id`` answered an earlier
    deposit) or its error."""

    index: int
    row: Evidence | Deposited | None = None
    replayed: bool = False
    error: NotaryError | None = None


def parse_deposit(obj: object) -> HashDeposit:
    """Check one deposit's fields, cheaply: what only its statement can judge (lengths,
    parties, the text rules) is judged once, as the statement is built (:class:`Depositor`).
    InputError: ``metadata_invalid`` (naming ``details.field``), ``kind_unknown``,
    ``sha256_invalid``, ``size_invalid``, ``client_id_invalid``, ``case_id_invalid``,
    ``file_name_invalid``, ``media_type_invalid``."""
    obj = check_fields(obj, "a deposit", allowed=DEPOSIT_FIELDS,
                       required=("case_id", "kind", "sha256", "size"))
    sha = obj["sha256"]
    if not isinstance(sha, str) or _SHA256.fullmatch(sha) is None:
        raise InputError("'sha256' must be the file's SHA-256 as 64 hex digits",
                         code="sha256_invalid", field="sha256")
    size = obj["size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size < 2 ** 53:
        raise InputError("'size' must be the file's size in bytes (a positive integer)",
                         code="size_invalid", field="size")
    client_id = obj.get("client_id")
    if client_id is not None and (not isinstance(client_id, str)
                                  or _CLIENT_ID.fullmatch(client_id) is None):
        raise InputError("'client_id' must be 1 to 255 printable ASCII characters",
                         code="client_id_invalid", field="client_id")
    refuse_reserved_key(client_id, "client_id")
    kind = parse_kind(obj["kind"])
    parties = parse_parties(obj.get("parties"))
    for name in ("file_name", "media_type"):
        if name in obj and not isinstance(obj[name], str):
            raise MetadataError(f"Field '{name}' must be a string.", field=name)
    case_id = validate_identifier("case_id", obj["case_id"], 128, error=MetadataError)
    case_id = normalise_case_reference(case_id, error=MetadataError)
    sub = Submission(
        case_id=case_id, kind=kind,
        captured_at=obj.get("captured_at"), description=obj.get("description"),
        parties=parties,
    ).with_file(obj.get("file_name"), obj.get("media_type"))
    if sub.captured_at is not None:
        validate_rfc3339("captured_at", sub.captured_at, error=MetadataError)
        validate_captured_at(sub.captured_at, datetime.now(UTC), error=MetadataError)
    # The rest is validated by the statement itself, once, as it is built (Depositor).
    return HashDeposit(sub, sha.lower(), size, client_id)


def parse_deposits(items: object) -> list[HashDeposit | NotaryError]:
    """Each item parsed on its own: its deposit, or its error."""
    if not isinstance(items, list):
        raise MetadataError("'items' must be a list of deposits", field="items")
    if len(items) > MAX_BULK_ITEMS:
        raise BulkTooLarge(f"a bulk request carries at most {MAX_BULK_ITEMS} deposits; this one "
                           f"has {len(items)}: split it", limit=MAX_BULK_ITEMS)
    out: list[HashDeposit | NotaryError] = []
    for obj in items:
        try:
            out.append(parse_deposit(obj))
        except NotaryError as exc:
            out.append(exc)
    return out


class Depositor:
    """Records hash-only deposits. Thread-safe: every call uses its own database session."""

    def __init__(self, *, engine: Engine, signing_key: SigningKey,
                 anchor_deadline_seconds: int) -> None:
        self.engine = engine
        self.signing_key = signing_key
        self.deadline = timedelta(seconds=anchor_deadline_seconds)

    def deposit(self, items: Sequence[HashDeposit | NotaryError], *, submitter: str,
                tenant: str, submitter_name: str | None = None) -> list[DepositAnswer]:
        """Answer every item, in order; record the new ones in one transaction. Contention
        (503) when concurrent requests kept taking the cases' next numbers."""
        for _attempt in range(WRITE_ATTEMPTS):
            try:
                return self._attempt(items, submitter, tenant, submitter_name)
            except IntegrityError:
                continue  # a case number or client_id taken meanwhile: read again, retry
        raise Contention("the cases are too busy; nothing was recorded: retry",
                         code="case_contention", retry_after=1)

    def _attempt(self, items: Sequence[HashDeposit | NotaryError], submitter: str,
                 tenant: str, submitter_name: str | None) -> list[DepositAnswer]:
        """One try: sort the items into errors, replays and new deposits; write the new."""
        answers: dict[int, DepositAnswer] = {}
        fresh: list[tuple[int, HashDeposit, str]] = []
        copies: dict[int, int] = {}  # an item repeating an earlier one of the request
        with session(self.engine) as s:
            held = _by_client_id(s, submitter, (d.client_id for d in items
                                                if isinstance(d, HashDeposit)))
            first: dict[str, tuple[int, str]] = {}
            for i, d in enumerate(items):
                if not isinstance(d, HashDeposit):
                    answers[i] = DepositAnswer(i, error=d)
                    continue
                fp = d.fingerprint()
                cid = d.client_id
                if cid is None:
                    fresh.append((i, d, fp))
                elif (row := held.get(cid)) is not None:
                    answers[i] = (DepositAnswer(i, row=row, replayed=True)
                                  if row.request_fingerprint == fp
                                  else DepositAnswer(i, error=_conflict(cid, row.id)))
                elif cid in first:
                    j, fp_j = first[cid]
                    if fp_j == fp:
                        copies[i] = j
                    else:
                        answers[i] = DepositAnswer(i, error=_conflict(cid, None))
                else:
                    first[cid] = (i, fp)
                    fresh.append((i, d, fp))
            recorded = self._record(s, fresh, submitter, tenant, submitter_name)
            s.commit()
        for (i, _d, _fp), outcome in zip(fresh, recorded, strict=True):
            answers[i] = (DepositAnswer(i, error=outcome) if isinstance(outcome, NotaryError)
                          else DepositAnswer(i, row=outcome))
        for i, j in copies.items():
            answers[i] = DepositAnswer(i, row=answers[j].row, error=answers[j].error,
                                       replayed=answers[j].row is not None)
        return [answers[i] for i in range(len(items))]

    def _record(self, s: Session, fresh: list[tuple[int, HashDeposit, str]], submitter: str,
                tenant: str, submitter_name: str | None) -> list[Deposited | NotaryError]:
        """Insert ``fresh`` (case by case, each case's numbers taken under its head's lock)
        and each item's ``registered`` custody event; the caller commits. An item whose
        statement does not validate is answered with its error and takes no number."""
        if not fresh:
            return []
        now = datetime.now(UTC)
        received_at, deadline = format_rfc3339_utc(now), now + self.deadline
        deadline_text = format_rfc3339_utc(deadline)
        tenant_row = s.get(Tenant, tenant)
        tenant_name = (None if tenant_row is None
                       or tenant_row.id == tenant_row.name == DEFAULT_TENANT else tenant_row.name)
        actor = Actor.submitter(submitter, tenant)
        by_case: dict[str, list[int]] = {}
        for n, (_i, d, _fp) in enumerate(fresh):
            by_case.setdefault(d.sub.case_id, []).append(n)
        out: list[Deposited | NotaryError | None] = [None] * len(fresh)
        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for case_id, members in by_case.items():
            case = case_for_submission(s, tenant, case_id)
            head = s.exec(select(CaseHead).where(CaseHead.case_uid == case.uid)
                          .with_for_update()).first()
            seq = head.last_seq if head else 0
            prev = head.last_statement_digest if head else None
            for n in members:
                _i, d, fp = fresh[n]
                evidence_id = f"ev_{uuid.uuid4().hex}"
                try:
                    statement = statement_of(
                        d.sub, evidence_id=evidence_id, case_seq=seq + 1, prev=prev,
                        sha256=d.sha256, size=d.size, received_at=received_at,
                        submitter=submitter, cid=None, tenant_name=tenant_name,
                        submitter_name=submitter_name, deposit=DEPOSIT_HASH_ONLY)
                except StatementError as exc:
                    out[n] = MetadataError(exc.message, **exc.details)
                    continue
                seq += 1
                digest = statement.digest().hex()
                item = Deposited(
                    id=evidence_id, sha256=d.sha256, size=d.size, case_id=d.sub.case_id,
                    case_seq=seq, received_at=now, anchor_deadline=deadline,
                    statement_jws=sign_statement(statement, self.signing_key),
                    receipt_jws=sign_receipt(digest, evidence_id, deadline_text, received_at,
                                             self.signing_key),
                    check_code=new_check_code())
                out[n] = item
                rows.append({
                    "id": item.id, "tenant": tenant, "case_uid": case.uid,
                    "case_id": item.case_id, "case_seq": seq, "kind": d.sub.kind.value,
                    "media_type": d.sub.media_type, "file_name": d.sub.file_name,
                    "size": d.size, "sha256": d.sha256, "cid": "",
                    "statement_jws": item.statement_jws, "statement_digest": digest,
                    "received_at": now, "anchor_deadline": deadline,
                    "receipt_jws": item.receipt_jws, "submitter": submitter,
                    "idempotency_key": d.client_id, "request_fingerprint": fp,
                    "wrapped_key": None, "status": "pending", "check_code": item.check_code,
                    "callee_salted": False})
                events.append(_registered(evidence_id, digest, case_id, seq, actor, tenant,
                                          now, self.signing_key))
                prev = digest
            if prev is None:  # a new case whose every item failed: nothing to link
                continue
            if head is None:
                s.add(CaseHead(case_uid=case.uid, last_seq=seq, last_statement_digest=prev))
            else:
                head.last_seq, head.last_statement_digest = seq, prev
                s.add(head)
        s.flush()
        if rows:
            s.execute(insert(Evidence), rows)
            s.execute(insert(CustodyRecord), events)
            for row, ev in zip(rows, events, strict=True):  # the statement, then its event
                stage(s, EntryType.STATEMENT, row["statement_jws"], row["id"])
                stage(s, EntryType.CUSTODY_EVENT, ev["jws"], row["id"], ev["seq"])
        return [o for o in out if o is not None]


def _conflict(client_id: str, evidence_id: str | None) -> ClientIdConflict:
    extra = {"evidence_id": evidence_id} if evidence_id is not None else {}
    return ClientIdConflict(f"client_id {client_id!r} was already used for a deposit with "
                            "other content (hash, size or metadata)", client_id=client_id,
                            **extra)


def _registered(evidence_id: str, digest: str, case_id: str, seq: int, actor: Actor,
                tenant: str, now: datetime, key: SigningKey) -> dict[str, Any]:
    """The item's first custody event, ``registered`` (no earlier event to read: the item is
    new), as a row to insert."""
    event = CustodyEvent(evidence_id=evidence_id, seq=1, act=CustodyAct.REGISTERED,
                         actor=actor.label, tenant=tenant, at=format_rfc3339_utc(now),
                         detail={"statement_sha256": digest, "case_id": case_id,
                                 "case_seq": seq, "deposit": DEPOSIT_HASH_ONLY},
                         prev_event=None)
    raw = event.canonical_bytes()  # once: for the signature and for the digest
    return {"evidence_id": evidence_id, "seq": 1, "act": CustodyAct.REGISTERED.value,
            "jws": CUSTODY_EVENT.sign(raw, key), "digest": hashlib.sha256(raw).hexdigest(),
            "at": now, "status": "pending", "coalesce_key": None}


def _by_client_id(s: Session, submitter: str, client_ids: Iterable[str | None]
                  ) -> Mapping[str, Evidence]:
    """The submitter's earlier items by ``client_id`` (read in chunks of 500)."""
    wanted = sorted({c for c in client_ids if c is not None})
    out: dict[str, Evidence] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for row in s.exec(select(Evidence).where(
                Evidence.submitter == submitter,
                Evidence.idempotency_key.in_(chunk))):  # type: ignore[union-attr]
            out[str(row.idempotency_key)] = row
    return out
