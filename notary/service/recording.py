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
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyrage
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

import notary.core.errors as kinds
from notary.core.errors import InputError, NotaryError
from notary.core.excerpt import CHECKPOINT, EXCERPT_SCHEMA, checkpoint_document, read_excerpt
from notary.core.merkle import to_hex32
from notary.core.recording import (
    MAX_SEGMENTS,
    AudioFormat,
    RecordingLayout,
    chain_start,
    chain_step,
    inclusion_proof,
    leaf_commitment,
    tree_root,
    wav_header,
)
from notary.core.signing import jws_payload
from notary.core.statement import EvidenceKind, Statement, canonical_json
from notary.core.validate import format_rfc3339_utc, normalise_case_reference
from notary.service.actors import Actor
from notary.service.calls import parse_call
from notary.service.context import Context
from notary.service.errors import NotFound
from notary.service.ingest import Notariser
from notary.service.sealing import seal
from notary.service.submission import Submission
from notary.service.tenancy import visible_evidence
from storage.db import session, utc
from storage.recordings import RecordingSegment, RecordingSession

__all__ = ["RecordingError", "Recordings", "SessionSweeper"]

log = logging.getLogger(__name__)


class RecordingError(NotaryError):
    """A segment or session refused; nothing already accepted is lost."""

    kind = kinds.CONFLICT

    default_code = "recording_closed"


class SegmentInvalid(InputError):
    """A segment that is no whole number of samples, or a session opened wrongly (422)."""

    kind = kinds.UNPROCESSABLE

    default_code = "segment_invalid"


class SegmentTooLarge(InputError):
    """A segment over ``NOTARY_MAX_SEGMENT_BYTES`` (413)."""

    kind = kinds.TOO_LARGE

    default_code = "segment_too_large"


@dataclass(frozen=True)
class Checkpoint:
    """The answer to one segment: its signed checkpoint and the document it signs."""

    jws: str
    document: dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


class Recordings:
    """Opens sessions, appends segments, closes sessions; thread-safe (one database session
    per call)."""

    def __init__(self, ctx: Context, notariser: Notariser) -> None:
        self.ctx = ctx
        self.notariser = notariser

    # -- sessions ---------------------------------------------------------------------------

    def open(self, *, tenant: str, submitter: str, submitter_name: str | None, case_id: str,
             sample_rate: int, channels: int = 1, file_name: str = "recording.wav"
             ) -> RecordingSession:
        """A new open session. SegmentInvalid (``recording_invalid``) for a wrong format or
        case reference."""
        try:
            AudioFormat(sample_rate=sample_rate, channels=channels)
            case = normalise_case_reference(case_id, error=SegmentInvalid)
        except InputError as exc:
            raise SegmentInvalid(exc.message, code="recording_invalid", **exc.details) from None
        sid = f"rs_{secrets.token_hex(16)}"
        _identity, wrapped = self.ctx.master.new_item_identity()
        now = _now()
        row = RecordingSession(
            id=sid, tenant=tenant, case_id=case, submitter=submitter,
            submitter_name=submitter_name, sample_rate=sample_rate, channels=channels,
            file_name=file_name, wrapped_key=wrapped, opened_at=now, last_at=now,
            chain_head=chain_start(sid).hex())
        with session(self.ctx.engine) as s:
            s.add(row)
            s.commit()
        return row

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

    def append(self, *, tenant: str, session_id: str, n: int, data: bytes) -> Checkpoint:
        """Accept segment ``n`` (the next one) and answer its signed checkpoint.

        RecordingError: ``recording_closed`` (409), ``segment_duplicate`` (409, the held
        segment's SHA-256 in ``details``), ``segment_out_of_order`` (409, ``expected``);
        SegmentTooLarge (413); SegmentInvalid (422). Nothing accepted before is touched."""
        row = self.get(tenant, session_id)
        limit = self.ctx.settings.max_segment_bytes
        if len(data) > limit:
            raise SegmentTooLarge(f"segment {n} is {len(data)} bytes; the limit is {limit}",
                                  limit=limit, segment=n)
        self._refuse_order(row, n, data)
        block = row.channels * 2
        if not data or len(data) % block:
            raise SegmentInvalid(f"segment {n} must be a whole, non-zero number of 16-bit "
                                 "samples", segment=n)
        if n >= MAX_SEGMENTS:
            raise SegmentInvalid(f"a recording has at most {MAX_SEGMENTS} segments",
                                 segment=n)
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

    def _refuse_order(self, row: RecordingSession, n: int, data: bytes) -> None:
        if row.status != "open":
            raise RecordingError(f"recording session {row.id} is {row.status}; it takes no "
                                 "more segments", code="recording_closed",
                                 session_id=row.id, status=row.status,
                                 evidence_id=row.evidence_id)
        if n < row.segments:
            with session(self.ctx.engine) as s:
                held = s.get(RecordingSegment, (row.id, n))
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
                self._refuse_order(row, n, data)  # again, under the lock
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

    def _drop_blob(self, cid: str) -> None:
        try:
            self.ctx.blobs.delete(cid)
        except Exception:  # noqa: BLE001 - best effort; the orphan sweep remains
            log.warning("could not delete the ciphertext of a refused segment")

    # -- closing ----------------------------------------------------------------------------

    def close(self, *, tenant: str, session_id: str, call: object = None,
              complete: bool = True) -> RecordingSession:
        """Notarise what arrived as one item and close the session (``closed``, or
        ``incomplete`` when ``complete`` is false). A closed session is answered as it is.
        RecordingError ``recording_empty`` (409) for a session without a segment;
        CallMetadataError for a wrong ``call``."""
        row = self.get(tenant, session_id)
        if row.status != "open":
            return row
        draft = (parse_call(call, EvidenceKind.CALL_RECORDING,
                            self.ctx.settings.call_country_code) if call is not None else None)
        segments = self.segments(session_id)
        if not segments:
            if complete:
                raise RecordingError(f"recording session {session_id} has no segment to "
                                     "notarise", code="recording_empty", session_id=session_id)
            return self._mark(row, "abandoned", None)
        fmt = AudioFormat(sample_rate=row.sample_rate, channels=row.channels)
        layout = RecordingLayout(
            session_id=session_id, format=fmt, sizes=tuple(g.size for g in segments),
            root=tree_root([bytes.fromhex(g.leaf) for g in segments]).hex(),
            chain_head=segments[-1].chain_head, opened_at=format_rfc3339_utc(utc(row.opened_at)),
            last_received_at=format_rfc3339_utc(utc(segments[-1].received_at)),
            complete=complete)
        sub = Submission(case_id=row.case_id, kind=EvidenceKind.CALL_RECORDING,
                         file_name=row.file_name, media_type="audio/wav", call=draft,
                         recording=layout)
        identity = self.ctx.master.unwrap(row.wrapped_key)
        reader = _Joined(self._wav_pieces(identity, fmt, segments))
        sealed = self.notariser.seal(reader.read)
        accepted = self.notariser.commit(sub, sealed, submitter=row.submitter, tenant=tenant,
                                         submitter_name=row.submitter_name,
                                         idempotency_key=f"recording:{session_id}")
        closed = self._mark(row, "closed" if complete else "incomplete", accepted.evidence.id)
        for segment in segments:  # the item holds them now; its shredding must reach them
            if segment.cid is not None:
                self._drop_blob(segment.cid)
        with session(self.ctx.engine) as s:
            for segment in s.exec(select(RecordingSegment).where(
                    RecordingSegment.session_id == session_id)).all():
                segment.cid = None
                s.add(segment)
            s.commit()
        return closed

    def _mark(self, row: RecordingSession, status: str,
              evidence_id: str | None) -> RecordingSession:
        with session(self.ctx.engine) as s:
            fresh = s.exec(select(RecordingSession).where(
                RecordingSession.id == row.id).with_for_update()).one()
            if fresh.status == "open":
                fresh.status, fresh.evidence_id, fresh.closed_at = status, evidence_id, _now()
                s.add(fresh)
                s.commit()
            return fresh

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
            stale = s.exec(select(RecordingSession).where(
                RecordingSession.status == "open",
                RecordingSession.last_at < cutoff)).all()
        done = []
        for row in stale:
            try:
                self.close(tenant=row.tenant, session_id=row.id, complete=False)
                done.append(row.id)
            except NotaryError as exc:
                log.warning("recording session %s could not be closed: %s", row.id, exc.code)
        return done

    # -- what the item proves ---------------------------------------------------------------

    def excerpt(self, *, tenant: str, evidence_id: str, from_ms: int, to_ms: int,
                actor: Actor | None) -> bytes:
        """A ZIP that proves the audio from ``from_ms`` to ``to_ms`` alone: the covering
        segments' bytes, their salts, checkpoints and paths to the statement's segment root,
        the statement, the keys, the anchor proof once anchored, and a WAV made of them
        (declared derived). NotFound ``recording_absent`` for an item without a recording;
        SegmentInvalid ``excerpt_range_invalid`` for a range that covers nothing."""
        row = visible_evidence(self.ctx.engine, tenant, evidence_id)
        layout = Statement.from_bytes(jws_payload(row.statement_jws)).recording
        if layout is None:
            raise NotFound(f"evidence {evidence_id!r} is no recording notarised while made",
                           code="recording_absent", evidence_id=evidence_id)
        chosen = layout.covering(from_ms, to_ms) if 0 <= from_ms < to_ms else []
        if not chosen:
            raise SegmentInvalid("the range covers no audio of the recording",
                                 code="excerpt_range_invalid", from_ms=from_ms, to_ms=to_ms)
        held = {g.n: g for g in self.segments(layout.session_id)}
        leaves = [bytes.fromhex(held[i].leaf) for i in range(len(layout.sizes))]
        pieces = _slices(self.ctx.open_content(row), layout, set(chosen))
        files: dict[str, bytes] = {}
        entries = []
        for n in chosen:
            name = f"segments/{n:06d}.pcm"
            files[name] = pieces[n]
            entries.append({"n": n, "file": name, "salt": held[n].salt,
                            "proof": [p.hex() for p in inclusion_proof(leaves, n)],
                            "checkpoint": held[n].checkpoint_jws})
        pcm = b"".join(pieces[n] for n in chosen)
        files["excerpt.wav"] = wav_header(len(pcm), layout.format.sample_rate,
                                          layout.format.channels) + pcm
        manifest = {"schema": EXCERPT_SCHEMA, "evidence_id": evidence_id,
                    "from_ms": from_ms, "to_ms": to_ms, "statement": row.statement_jws,
                    "keys": self.ctx.jwks(), "segments": entries,
                    "derived": {"file": "excerpt.wav", "from_segments": chosen,
                                "note": "由所含片段拼接而成的派生文件 / derived: a WAV made "
                                        "of the segments above, not itself notarised"}}
        proof = self.ctx.proof_of(row)
        if proof is not None:
            path, root, anchor = proof
            manifest["anchor"] = {"root": to_hex32(root), "proof": [to_hex32(p) for p in path],
                                  "block_timestamp": anchor.block_timestamp,
                                  "block_number": anchor.block_number,
                                  "chain_id": anchor.chain_id, "tx_hash": anchor.tx_hash,
                                  "contract": anchor.contract}
        if actor is not None:  # segments leave the service: the item's custody log says so
            self.ctx.record_audit(evidence_id, "exported", actor,
                                  f"recording excerpt {from_ms}-{to_ms} ms", tenant=tenant)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("excerpt.json", json.dumps(manifest, ensure_ascii=False, indent=1))
            for name, data in files.items():
                zf.writestr(name, data)
        return out.getvalue()

    def verification(self, *, tenant: str, evidence_id: str) -> dict[str, Any]:
        """What the item proves of its recording: per segment, no later than when it existed
        (its checkpoint; the anchor's block time bounds all), checked against the stored
        bytes. An item uploaded after the fact says it was not live."""
        row = visible_evidence(self.ctx.engine, tenant, evidence_id)
        statement = Statement.from_bytes(jws_payload(row.statement_jws))
        if statement.recording is None:
            return {"ok": True, "evidence_id": evidence_id, "live": False,
                    "note": "事后上传，非通话中实时公证 / uploaded after the fact, not "
                            "notarised while recorded", "segments": [], "problems": []}
        layout = statement.recording
        data = self.excerpt(tenant=tenant, evidence_id=evidence_id, from_ms=0,
                            to_ms=sum(layout.sizes) * 1000 // layout.format.bytes_per_second
                            + 1000, actor=None)
        return read_excerpt(data).to_json()


def _slices(content: Iterator[bytes], layout: RecordingLayout,
            wanted: set[int]) -> dict[int, bytes]:
    """The wanted segments' bytes out of the item's WAV, streamed (nothing on disk)."""
    bounds = [(off, off + size) for off, size in zip(layout.offsets(), layout.sizes,
                                                     strict=True)]
    out = {n: bytearray() for n in wanted}
    at = 0
    for piece in content:
        end = at + len(piece)
        for n in wanted:
            lo, hi = bounds[n]
            if lo < end and hi > at:
                out[n] += piece[max(lo - at, 0):min(hi, end) - at]
        at = end
    return {n: bytes(b) for n, b in out.items()}


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


class SessionSweeper:
    """Closes timed-out sessions every few seconds in a daemon thread."""

    def __init__(self, recordings: Recordings) -> None:
        self.recordings = recordings
        timeout = recordings.ctx.settings.recording_timeout_seconds
        self.interval = max(0.05, min(timeout / 4, 5.0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recording-sweeper",
                                        daemon=True)

    def start(self) -> SessionSweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.recordings.sweep()
            except Exception:  # the next round tries again
                log.exception("the recording sweep failed")


