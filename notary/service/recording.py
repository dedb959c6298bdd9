"""Recordings notarised while they are made (issue 18): sessions, segments, checkpoints.

A recorder opens a session when the call starts and appends the recording in order; every
segment is sealed like any evidence (encrypted to the session's age identity as it is read:
nothing readable touches the disk), committed as a salted leaf in the session's chain, and
answered with a signed checkpoint. Closing the session notarises the whole recording (a WAV:
header and the segments' PCM in order) through the ordinary submission path, so it is
batched and anchored like any item; its statement carries the segment tree's root and the
segment layout. A session the recorder stopped feeding is closed by :class:`SessionSweeper`
after ``recording_timeout_seconds``, with what arrived, marked incomplete. Sessions and
segments live in the database, so a restart loses nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyrage
from sqlalchemy import and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

import notary.core.errors as kinds
from notary.core import tlog
from notary.core.callrecord import CallRecord
from notary.core.errors import InputError, NotaryError, StatementError
from notary.core.excerpt import CHECKPOINT, checkpoint_document
from notary.core.recording import (
    MAX_SEGMENTS,
    AudioFormat,
    RecordingLayout,
    chain_start,
    chain_step,
    leaf_commitment,
    wav_header,
)
from notary.core.signing import jws_payload
from notary.core.statement import MAX_STATEMENT_BYTES, EvidenceKind, Statement, canonical_json
from notary.core.validate import (
    format_rfc3339_utc,
    normalise_case_reference,
    rfc3339_instant,
    validate_file_name,
)
from notary.service.calls import CallDraft, CallMetadataError, parse_call, settle
from notary.service.context import Context
from notary.service.errors import NotFound
from notary.service.ingest import Notariser
from notary.service.recording_claims import Lease, claim, close_request, finish, give_back
from notary.service.sealing import seal
from notary.service.submission import MetadataError, Submission, parse_kind, statement_of
from storage.db import Case, session, utc
from storage.recordings import RecordingSegment, RecordingSession

__all__ = ["RecordingError", "Recordings"]

log = logging.getLogger(__name__)


class RecordingError(NotaryError):
    """A segment or session refused; nothing already accepted is lost."""

    kind = kinds.CONFLICT

    default_code = "recording_closed"


class RecordingNotYours(NotaryError):
    """Only the key that opened a session adds to it or closes it: another key of the tenant
    could otherwise put its own audio into someone else's recording (403)."""

    kind = kinds.FORBIDDEN

    default_code = "recording_not_yours"


class SegmentInvalid(InputError):
    """A segment that is no whole number of samples, or a session opened wrongly (422)."""

    kind = kinds.UNPROCESSABLE

    default_code = "segment_invalid"


class RecordingBusy(NotaryError):
    """A segment sent while a close is notarising the session (503, ``Retry-After``): not
    final, as ``recording_closed`` is, since a close that fails opens the session again; the
    recorder keeps the segment and sends it again."""

    kind = kinds.BUSY

    default_code = "recording_closing"


class CallTimeError(InputError):
    """A call record whose times the service's own clock contradicts (422): a call that
    starts after its recording's first segment arrived, or ends after it was closed (beyond
    ``DIALER_CLOCK_SKEW``). Refused before anything changes: the session stays open."""

    kind = kinds.UNPROCESSABLE

    default_code = "call_time_implausible"


#: Seconds a recorder waits before sending again a segment refused ``recording_closing``.
BUSY_RETRY_SECONDS = 1

#: How far a dialer's clock may run ahead of the service's (docs/recording.md): a call may
#: say it started up to this long after its first segment arrived, or ended after it closed.
DIALER_CLOCK_SKEW = timedelta(seconds=60)


def check_call_times(record: CallRecord, first_received: datetime | None,
                     closing_at: datetime | None) -> None:
    """Refuse (CallTimeError) a call record that starts later than ``first_received`` (the
    first segment's arrival; at open: the open itself) or ends later than ``closing_at``,
    each by more than ``DIALER_CLOCK_SKEW``: its segments would otherwise verify as recorded
    during a call that had not begun."""
    slack = int(DIALER_CLOCK_SKEW.total_seconds())
    if first_received is not None and record.start > first_received + DIALER_CLOCK_SKEW:
        raise CallTimeError(
            f"Field 'call.started_at' ({record.started_at}) is more than {slack} s after the "
            f"recording's first audio reached the service "
            f"({format_rfc3339_utc(first_received)}); check the dialer's clock / 通话开始时间"
            f"晚于录音首段到达时间超过 {slack} 秒，请检查外呼系统时钟",
            field="call.started_at", slack_seconds=slack,
            received_at=format_rfc3339_utc(first_received))
    if closing_at is not None and rfc3339_instant(record.ended_at) > closing_at + DIALER_CLOCK_SKEW:
        raise CallTimeError(
            f"Field 'call.ended_at' ({record.ended_at}) is more than {slack} s after the "
            f"recording was closed ({format_rfc3339_utc(closing_at)}); check the dialer's "
            f"clock / 通话结束时间晚于关闭时间超过 {slack} 秒，请检查外呼系统时钟",
            field="call.ended_at", slack_seconds=slack,
            closed_at=format_rfc3339_utc(closing_at))


class SegmentTooLarge(InputError):
    """A segment over ``NOTARY_MAX_SEGMENT_BYTES`` (413)."""

    kind = kinds.TOO_LARGE

    default_code = "segment_too_large"


@dataclass(frozen=True)
class Checkpoint:
    """The answer to one segment: its signed checkpoint and the document it signs."""

    jws: str
    document: dict[str, Any]


#: Statement bytes kept for everything but the segment sizes (case, names, call record, ...).
STATEMENT_RESERVE = 16 * 1024


def segment_cap(max_segment_bytes: int) -> int:
    """The segments a session accepts: ``MAX_SEGMENTS``, fewer when that many sizes of up to
    ``max_segment_bytes`` (each written as decimal digits and a comma) would not fit the
    statement's limit, so closing can never fail on the statement's size."""
    per = len(str(max_segment_bytes)) + 1
    return min(MAX_SEGMENTS, (MAX_STATEMENT_BYTES - STATEMENT_RESERVE) // per)


def _now() -> datetime:
    return datetime.now(UTC)


class Recordings:
    """Opens sessions, appends segments, closes sessions; thread-safe (one database session
    per call)."""

    def __init__(self, ctx: Context, notariser: Notariser) -> None:
        self.ctx = ctx
        self.notariser = notariser
        self.box = ctx.master.salt_box()  # the call salts held while a session is open
        self._timeout = ctx.settings.recording_timeout_seconds

    # -- sessions ---------------------------------------------------------------------------

    def open(self, *, tenant: str, submitter: str, submitter_name: str | None, case_id: str,
             sample_rate: int, channels: int = 1, file_name: str = "recording.wav",
             kind: str = EvidenceKind.CALL_RECORDING.value, call: object = None
             ) -> RecordingSession:
        """A new open session. Everything the statement will need from this input is
        validated now, as an upload's metadata is (a session that could never be closed is
        never opened): SegmentInvalid ``recording_invalid`` for a wrong format or a kind
        other than ``call_recording``; MetadataError ``kind_unknown``, ``case_id_invalid``
        (or ``metadata_invalid``) as for an upload; ``file_name_invalid``; CallMetadataError
        for a wrong ``call`` (the call record without ``ended_at``, which closing adds);
        CallTimeError for a call starting after now (beyond ``DIALER_CLOCK_SKEW``)."""
        try:
            fmt = AudioFormat(sample_rate=sample_rate, channels=channels)
        except InputError as exc:
            raise SegmentInvalid(exc.message, code="recording_invalid", **exc.details) from None
        if parse_kind(kind) is not EvidenceKind.CALL_RECORDING:
            raise SegmentInvalid("a recording notarised while made is a 'call_recording'",
                                 code="recording_invalid", field="kind")
        case = normalise_case_reference(case_id, error=MetadataError)
        try:
            validate_file_name(file_name, 255, error=InputError)
        except InputError as exc:
            raise SegmentInvalid(f"{exc.message} / 文件名须为不含路径的文件名",
                                 code="file_name_invalid", **exc.details) from None
        now = _now()
        record, salts, draft = self._call_at_open(tenant, case, call)
        if draft is not None:
            check_call_times(draft.record, now, None)
        self._probe(case, fmt, file_name, draft, now)
        sid = f"rs_{secrets.token_hex(16)}"
        _identity, wrapped = self.ctx.master.new_item_identity()
        row = RecordingSession(
            id=sid, tenant=tenant, case_id=case, submitter=submitter,
            submitter_name=submitter_name, sample_rate=sample_rate, channels=channels,
            file_name=file_name, wrapped_key=wrapped, opened_at=now, last_at=now,
            chain_head=chain_start(sid).hex(), call_record=record,
            call_salts=None if salts is None else self.box.seal(salts, f"recording/{sid}"))
        with session(self.ctx.engine) as s:
            s.add(row)
            s.commit()
        return row

    def _probe(self, case: str, fmt: AudioFormat, file_name: str, draft: CallDraft | None,
               now: datetime) -> None:
        """Build the statement a close would, with placeholder facts, so anything else it
        refuses is refused at open (``recording_invalid``), not at every close."""
        stamp = format_rfc3339_utc(now)
        try:
            layout = RecordingLayout(
                session_id=f"rs_{'0' * 32}", format=fmt, sizes=(2 * fmt.channels,),
                root="0" * 64, chain_head="0" * 64, opened_at=stamp, last_received_at=stamp,
                complete=True)
            sub = Submission(case_id=case, kind=EvidenceKind.CALL_RECORDING,
                             file_name=file_name, media_type="audio/wav", call=draft,
                             recording=layout)
            statement_of(sub, evidence_id="ev_probe", case_seq=1, prev=None, sha256="0" * 64,
                         size=44 + 2 * fmt.channels, received_at=stamp, submitter="probe",
                         cid=None)
        except StatementError as exc:
            raise SegmentInvalid(exc.message, code="recording_invalid", **exc.details) from None

    def _call_at_open(self, tenant: str, case_id: str, call: object
                      ) -> tuple[str | None, bytes | None, CallDraft | None]:
        """The call record given at open, committed now (numbers never kept: the session
        holds the commitments and salts, settled against the case's earlier calls so one
        contact keeps one commitment), without its end. (record JSON, salts JSON, the
        draft with ``ended_at`` = ``started_at``, to probe the statement with)."""
        if call is None:
            return None, None, None
        if not isinstance(call, dict) or "ended_at" in call:
            raise CallMetadataError("Field 'call' at open is the call record without "
                                    "'ended_at' (closing gives it).", field="call.ended_at")
        probe = {**call, "ended_at": call.get("started_at")}
        draft = parse_call(probe, EvidenceKind.CALL_RECORDING,
                           self.ctx.settings.call_country_code)
        with session(self.ctx.engine) as s:
            held = s.exec(select(Case).where(col(Case.holder) == tenant,
                                             col(Case.case_id) == case_id)).first()
            if held is not None:
                draft = settle(s, held.uid, draft, self.box) or draft
        record = draft.record.to_json()
        del record["ended_at"]
        return (json.dumps(record, ensure_ascii=False),
                json.dumps({p: v.hex() for p, v in draft.salts.items()}).encode(), draft)

    def _call_at_close(self, row: RecordingSession, call: object,
                       last: datetime) -> CallDraft | None:
        """The call record for the statement: ``call`` as given on closing, or the one given
        at open with ``ended_at`` from ``call`` (or, closed by the timeout, the last
        segment's arrival, but never before the call's start: a dialer's clock ahead of the
        service's must not make the timeout's record impossible, see ``DIALER_CLOCK_SKEW``)."""
        if row.call_record is None or (isinstance(call, dict) and set(call) != {"ended_at"}):
            return (parse_call(call, EvidenceKind.CALL_RECORDING,
                               self.ctx.settings.call_country_code)
                    if call is not None else None)
        opened = json.loads(row.call_record)
        if isinstance(call, dict):
            ended = call.get("ended_at")
        else:
            ended = format_rfc3339_utc(last)
            try:
                if rfc3339_instant(str(opened.get("started_at"))) > last:
                    ended = str(opened["started_at"])  # as given: a call of no length
            except (ValueError, OverflowError):
                pass  # the record's own validation names the fault below
        try:
            record = CallRecord.from_json({**opened, "ended_at": ended})
        except StatementError as exc:
            raise CallMetadataError(exc.message, **exc.details) from None
        sealed = (self.box.open(row.call_salts, f"recording/{row.id}")
                  if row.call_salts else b"{}")
        salts = {p: bytes.fromhex(v) for p, v in json.loads(sealed).items()}
        return CallDraft(record, salts)

    def get(self, tenant: str, session_id: str) -> RecordingSession:
        with session(self.ctx.engine) as s:
            row = s.get(RecordingSession, session_id)
        if row is None or row.tenant != tenant:
            raise NotFound(f"no recording session {session_id!r}", code="recording_unknown",
                           session_id=session_id)
        return row

    def segments(self, session_id: str) -> list[RecordingSegment]:
        with session(self.ctx.engine) as s:
            return list(s.exec(select(RecordingSegment)
                               .where(RecordingSegment.session_id == session_id)
                               .order_by(RecordingSegment.n)).all())  # type: ignore[arg-type]

    # -- segments ---------------------------------------------------------------------------

    def _own(self, tenant: str, session_id: str, by: str | None) -> RecordingSession:
        """The session, if ``by`` (the caller's actor name; None: the service itself)
        opened it; RecordingNotYours otherwise."""
        row = self.get(tenant, session_id)
        if by is not None and by != row.submitter:
            raise RecordingNotYours("only the key that opened this recording session may "
                                    "add to it or close it / 仅开启该录音会话的密钥可追加或关闭",
                                    session_id=session_id)
        return row

    def append(self, *, tenant: str, session_id: str, n: int, data: bytes,
               by: str | None = None) -> Checkpoint:
        """Accept segment ``n`` (the next one) and answer its signed checkpoint.

        RecordingBusy: ``recording_closing`` (503, a close under way: retryable).
        RecordingError: ``recording_closed`` (409), ``segment_duplicate`` (409, the held
        segment's SHA-256 in ``details``), ``segment_out_of_order`` (409, ``expected``);
        SegmentTooLarge (413); SegmentInvalid (422); RecordingNotYours (403) unless ``by``
        opened it. Nothing accepted before is touched."""
        row = self._own(tenant, session_id, by)
        limit = self.ctx.settings.max_segment_bytes
        if len(data) > limit:
            raise SegmentTooLarge(f"segment {n} is {len(data)} bytes; the limit is {limit}",
                                  limit=limit, segment=n)
        self._refuse_order(row, n, data)
        block = row.channels * 2
        if not data or len(data) % block:
            raise SegmentInvalid(f"segment {n} must be a whole, non-zero number of 16-bit "
                                 "samples", segment=n)
        cap = segment_cap(limit)
        if n >= cap:
            raise SegmentInvalid(f"a recording has at most {cap} segments", segment=n,
                                 limit=cap)
        identity = self.ctx.master.unwrap(row.wrapped_key)
        view = io.BytesIO(data)
        sealed = seal(view.read, identity.to_public(), self.ctx.settings.spool_dir, limit)
        try:
            self.ctx.blobs.put_file(sealed.cid, sealed.path)
        finally:
            sealed.path.unlink(missing_ok=True)
        try:
            return self._record(row.id, n, data, sealed.digest.hex, sealed.cid)
        except BaseException:
            self._drop_blob(sealed.cid)
            raise

    def _refuse_order(self, row: RecordingSession, n: int, data: bytes,
                      s: Any = None) -> None:
        """Refuse a segment that is not the next one. ``s``: the caller's open database
        session (under the write lock a second session would wait on its own thread)."""
        if row.status == "closing":
            raise RecordingBusy(f"recording session {row.id} is being closed; send segment "
                                f"{n} again shortly: it is taken if the close fails / 会话正在"
                                "关闭，请稍后重发此段（关闭失败时会话重新开启）",
                                session_id=row.id, segment=n, retry_after=BUSY_RETRY_SECONDS)
        if row.status != "open":
            raise RecordingError(f"recording session {row.id} is {row.status}; it takes no "
                                 "more segments", code="recording_closed",
                                 session_id=row.id, status=row.status,
                                 evidence_id=row.evidence_id)
        if n < row.segments:
            if s is not None:
                held = s.get(RecordingSegment, (row.id, n))
            else:
                with session(self.ctx.engine) as own:
                    held = own.get(RecordingSegment, (row.id, n))
            sent = hashlib.sha256(data).hexdigest()
            raise RecordingError(
                f"segment {n} was already accepted"
                + (" with the same bytes" if held and held.sha256 == sent else
                   " with other bytes; the first one stands"),
                code="segment_duplicate", segment=n, sha256=held.sha256 if held else None,
                same=bool(held and held.sha256 == sent), expected=row.segments)
        if n != row.segments:
            raise RecordingError(f"segment {n} arrived before segment {row.segments}; send "
                                 "the segments in order", code="segment_out_of_order",
                                 segment=n, expected=row.segments)

    def _record(self, session_id: str, n: int, data: bytes, sha256: str,
                cid: str) -> Checkpoint:
        now = _now()
        salt = secrets.token_bytes(32)
        leaf = leaf_commitment(salt, bytes.fromhex(sha256))
        try:
            with session(self.ctx.engine) as s:
                row = s.exec(select(RecordingSession).where(
                    RecordingSession.id == session_id).with_for_update()).one()
                self._refuse_order(row, n, data, s)  # again, under the lock
                head = chain_step(bytes.fromhex(row.chain_head), leaf).hex()
                doc = checkpoint_document(
                    session_id=session_id, segment=n, sha256=sha256, size=len(data),
                    leaf=leaf.hex(), chain_head=head, received_at=format_rfc3339_utc(now))
                jws = CHECKPOINT.sign(canonical_json(doc), self.ctx.signing_key)
                s.add(RecordingSegment(session_id=session_id, n=n, size=len(data),
                                       sha256=sha256, salt=salt.hex(), leaf=leaf.hex(),
                                       chain_head=head, received_at=now, cid=cid,
                                       checkpoint_jws=jws))
                row.segments, row.chain_head, row.last_at = n + 1, head, now
                s.add(row)
                s.commit()
        except IntegrityError:  # the same segment at the same moment: the other one stands
            self._refuse_order(self.get(self._tenant_of(session_id), session_id), n, data)
            raise
        return Checkpoint(jws, doc)

    def _tenant_of(self, session_id: str) -> str:
        with session(self.ctx.engine) as s:
            row = s.get(RecordingSession, session_id)
        return row.tenant if row is not None else ""

    def _drop_blob(self, cid: str) -> bool:
        """Delete a segment's ciphertext; False (logged) when the store could not."""
        try:
            self.ctx.blobs.delete(cid)
            return True
        except Exception:  # noqa: BLE001 - best effort; shredding or the orphan sweep remains
            log.warning("could not delete the ciphertext of a segment")
            return False

    # -- closing ----------------------------------------------------------------------------

    def close(self, *, tenant: str, session_id: str, call: object = None,
              complete: bool = True, by: str | None = None,
              retry: bool = False, idle_before: datetime | None = None) -> RecordingSession:
        """Notarise what arrived as one item and close the session (``closed``, or
        ``incomplete`` when ``complete`` is false). A closed session, or one another closer
        is closing (``closing``), is answered as it is. RecordingError ``recording_empty``
        (409) for a session without a segment; CallMetadataError for a wrong ``call``. On any
        other failure the session is open again, with every segment, unless its item exists
        (then it is closed with it); after ``CLOSE_ATTEMPTS`` failures it is ``failed``.
        RecordingNotYours (403) unless ``by`` (None: the timeout) opened it. ``retry`` (an
        operator's, :mod:`notary.service.recording_failed`): a ``failed`` session is closed
        once more, as its last close was asked; failing again, it is ``failed`` again.
        ``idle_before`` (the timeout's sweep): close only a session still idle since then
        (see ``claim``)."""
        row = self._own(tenant, session_id, by)
        if row.status not in ("open", "closing") and not (retry and row.status == "failed"):
            return row
        held = self.segments(session_id)
        refused: Exception | None = None
        try:
            draft = self._call_at_close(row, call, utc(held[-1].received_at) if held else _now())
            if call is not None and draft is not None:  # the caller's clock, checked
                check_call_times(draft.record, utc(held[0].received_at) if held else None,
                                 _now())
        except Exception as exc:
            if by is not None or call is not None:
                raise  # the caller's own close, refused: nothing changed
            # The timeout's (or an operator's) close must end: its failure is a failed close
            # (backed off, then ``failed``), never an error before the claim on every sweep.
            draft, refused = None, exc
        taken = claim(self.ctx.engine, session_id, self._timeout,
                      close_request(call, complete), failed=retry, idle_before=idle_before)
        if taken is None:
            return self.get(tenant, session_id)
        token, earlier = taken
        if by is None and call is None and earlier is not None:
            # The timeout replaces a closer that died: finish as it was asked where it can
            # (its ``complete``, and its ``ended_at`` for a call record given at open).
            asked = json.loads(earlier)
            complete = bool(asked.get("complete", complete))
            if asked.get("ended_at") and row.call_record is not None:
                try:
                    asked_draft = self._call_at_close(row, {"ended_at": asked["ended_at"]},
                                                      _now())
                    if asked_draft is not None:
                        check_call_times(asked_draft.record,
                                         utc(held[0].received_at) if held else None, _now())
                    draft, refused = asked_draft, None
                except NotaryError:  # its call was refused: the timeout's own stands
                    pass
        with Lease(self.ctx.engine, session_id, token, self._timeout):
            done = self._closed_by_item(row, token)
            if done is not None:
                return done
            try:
                segments = self.segments(session_id)
                if not segments:
                    if complete:
                        raise RecordingError(f"recording session {session_id} has no segment "
                                             "to notarise", code="recording_empty",
                                             session_id=session_id)
                    return finish(self.ctx.engine, session_id, token, "abandoned", None)
                if refused is not None:
                    raise refused
                evidence = self._notarise(row, segments, draft, complete)
            except RecordingError as exc:
                if exc.code != "recording_empty":
                    self._failed(row, token, exc)
                else:
                    finish(self.ctx.engine, session_id, token, "open", None)
                raise
            except BaseException as exc:
                self._failed(row, token, exc)
                raise
        return self._closed_with(session_id, token, evidence)

    def _closed_with(self, session_id: str, token: str, evidence: Any) -> RecordingSession:
        """Close the session with ``evidence`` (if ``token`` still holds it) and drop the
        segments' ciphertexts: the item holds them now, and its shredding must reach them."""
        # A retried close replays the first one's item (same idempotency key): its statement
        # says whether the recording was complete.
        layout = Statement.from_bytes(jws_payload(evidence.statement_jws)).recording
        status = "closed" if layout is None or layout.complete else "incomplete"
        done = finish(self.ctx.engine, session_id, token, status, evidence.id)
        if done.evidence_id != evidence.id:
            return done
        # Deleted first, forgotten after: a ciphertext the store kept stays named by its
        # row, so the item's shredding still reaches it.
        dropped = {cid for cid in {g.cid for g in self.segments(session_id)} - {None}
                   if cid is not None and self._drop_blob(cid)}
        with session(self.ctx.engine) as s:
            for segment in s.exec(select(RecordingSegment).where(
                    RecordingSegment.session_id == session_id)).all():
                if segment.cid in dropped:
                    segment.cid = None
                    s.add(segment)
            s.commit()
        return done

    def _item_of(self, row: RecordingSession) -> Any:
        """The item an earlier close of ``row`` notarised (idempotency key
        ``recording:<id>``, a recording of this session), or None."""
        item = self.notariser.find_idempotent(row.submitter, f"recording:{row.id}")
        if item is None:
            return None
        layout = Statement.from_bytes(jws_payload(item.statement_jws)).recording
        return item if layout is not None and layout.session_id == row.id else None

    def _closed_by_item(self, row: RecordingSession, token: str) -> RecordingSession | None:
        item = self._item_of(row)
        return None if item is None else self._closed_with(row.id, token, item)

    def _failed(self, row: RecordingSession, token: str, exc: BaseException) -> None:
        """After a failed close: closed with the item if it exists after all; else open again
        with a back-off for the timeout's closer, or ``failed`` after ``CLOSE_ATTEMPTS``."""
        try:
            if self._closed_by_item(row, token) is not None:
                return
        except Exception:
            log.exception("recording session %s: looking up its item failed", row.id)
        give_back(self.ctx.engine, row.id, token,
                  self.ctx.settings.recording_timeout_seconds, exc)

    def _notarise(self, row: RecordingSession, segments: list[RecordingSegment],
                  draft: Any, complete: bool) -> Any:
        """The WAV of ``segments`` through the ordinary submission path; the item's row."""
        fmt = AudioFormat(sample_rate=row.sample_rate, channels=row.channels)
        layout = RecordingLayout(
            session_id=row.id, format=fmt, sizes=tuple(g.size for g in segments),
            root=tlog.root([bytes.fromhex(g.leaf) for g in segments]).hex(),
            chain_head=segments[-1].chain_head, opened_at=format_rfc3339_utc(utc(row.opened_at)),
            last_received_at=format_rfc3339_utc(utc(segments[-1].received_at)),
            complete=complete)
        sub = Submission(case_id=row.case_id, kind=EvidenceKind.CALL_RECORDING,
                         file_name=row.file_name, media_type="audio/wav", call=draft,
                         recording=layout)
        identity = self.ctx.master.unwrap(row.wrapped_key)
        reader = _Joined(self._wav_pieces(identity, fmt, segments))
        sealed = self.notariser.seal(reader.read)
        return self.notariser.commit(sub, sealed, submitter=row.submitter, tenant=row.tenant,
                                     submitter_name=row.submitter_name,
                                     idempotency_key=f"recording:{row.id}").evidence

    def _wav_pieces(self, identity: pyrage.x25519.Identity, fmt: AudioFormat,
                    segments: list[RecordingSegment]) -> Iterator[bytes]:
        yield wav_header(sum(g.size for g in segments), fmt.sample_rate, fmt.channels)
        for segment in segments:
            if segment.cid is None:
                raise NotaryError(f"segment {segment.n}'s ciphertext is gone",
                                  code="segment_lost")
            with self.ctx.blobs.open(segment.cid) as fh:
                yield pyrage.decrypt(fh.read(), [identity])  # a few seconds, in memory only

    def sweep(self, now: datetime | None = None) -> list[str]:
        """Close, as incomplete, every open session no segment reached within the timeout;
        the ids closed."""
        cutoff = (now or _now()) - timedelta(seconds=self.ctx.settings.recording_timeout_seconds)
        with session(self.ctx.engine) as s:
            stale = s.exec(select(RecordingSession).where(or_(
                and_(col(RecordingSession.status) == "open",
                     col(RecordingSession.last_at) < cutoff,
                     or_(col(RecordingSession.retry_at).is_(None),
                         col(RecordingSession.retry_at) < (now or _now()))),
                and_(col(RecordingSession.status) == "closing",
                     col(RecordingSession.closed_at) < cutoff)))).all()
        done = []
        for row in stale:
            # Idle since the last segment this query saw: one arriving after it, by any
            # clock, shows the recorder alive and keeps the session open (see ``claim``).
            seen = utc(row.last_at) + timedelta(microseconds=1)
            try:
                self.close(tenant=row.tenant, session_id=row.id, complete=False,
                           idle_before=min(cutoff, seen))
                done.append(row.id)
            except NotaryError as exc:  # a failed close: backed off, or ``failed``
                log.warning("recording session %s could not be closed: %s", row.id, exc.code)
            except Exception:  # one session never stops the others' closes
                log.exception("recording session %s could not be closed", row.id)
        return done


class _Joined:
    """``read(n)`` over an iterator of byte pieces."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buf = b""

    def read(self, n: int) -> bytes:
        while len(self._buf) < n:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buf += piece
        out, self._buf = self._buf[:n], self._buf[n:]
        return out
