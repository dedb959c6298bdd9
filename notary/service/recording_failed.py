"""What an operator does with a ``failed`` recording session (issue 18 follow-up).

A session whose close failed ``CLOSE_ATTEMPTS`` times is ``failed``: it takes no more segments
and keeps them (sealed under the session's key) for an operator, who either

* **retries** the close once, now (after fixing what failed: a full disk, a store down), as
  its last close was asked; failing again, the session is ``failed`` again; or
* **discards** it: the segments' ciphertexts, their rows (plaintext SHA-256, salt, checkpoint)
  and the session's key are destroyed, the session is ``discarded``, and the audit table
  records who did it, when, why and what the session held (segment count and chain head,
  which reveal nothing of the audio once the salts are gone). Nothing was notarised, so no
  item, statement or custody log exists to keep.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from sqlmodel import select

from notary.core.errors import InputError
from notary.service.actors import Actor
from notary.service.recording import RecordingError, Recordings
from notary.service.shredding import delete_ciphertext, scrub_database
from storage.db import AuditEvent, session
from storage.recordings import RecordingSegment, RecordingSession

__all__ = ["DISCARDED", "discard", "retry"]

log = logging.getLogger(__name__)

#: The audit act recording a discard (``audit_events.evidence_id`` holds the session's id).
DISCARDED = "recording_discarded"


def _failed(desk: Recordings, tenant: str, session_id: str) -> RecordingSession:
    row = desk.get(tenant, session_id)
    if row.status != "failed":
        raise RecordingError(f"recording session {session_id} is {row.status}, not failed: "
                             "only a failed session is retried or discarded by hand / 仅"
                             "关闭失败（failed）的会话可手动重试或丢弃",
                             code="recording_not_failed", session_id=session_id,
                             status=row.status)
    return row


def retry(desk: Recordings, *, tenant: str, session_id: str) -> RecordingSession:
    """Close a ``failed`` session once more, now (RecordingError ``recording_not_failed``
    otherwise); the session, ``closed``/``incomplete`` with its item. A close failing again
    raises its error and leaves the session ``failed``."""
    _failed(desk, tenant, session_id)
    return desk.close(tenant=tenant, session_id=session_id, complete=False, retry=True)


def discard(desk: Recordings, *, tenant: str, session_id: str, actor: Actor,
            reason: str) -> RecordingSession:
    """Destroy a ``failed`` session's segments and key (RecordingError
    ``recording_not_failed`` otherwise); the session, ``discarded``. InputError
    ``reason_required`` without a reason."""
    if not reason.strip():
        raise InputError("discarding a recording session needs a reason", code="reason_required",
                         field="reason")
    reason = reason.strip()[:512]
    _failed(desk, tenant, session_id)
    engine = desk.ctx.engine
    now = datetime.now(UTC)
    with session(engine) as s:
        row = s.exec(select(RecordingSession).where(
            RecordingSession.id == session_id).with_for_update()).one()
        if row.status != "failed":  # changed since: someone retried it meanwhile
            return _failed(desk, tenant, session_id)
        segments = list(s.exec(select(RecordingSegment).where(
            RecordingSegment.session_id == session_id)).all())
        cids = [g.cid for g in segments if g.cid is not None]
        for segment in segments:
            s.delete(segment)
        row.status, row.closed_at, row.claim = "discarded", now, None
        row.wrapped_key, row.call_record, row.call_salts = "", None, None
        s.add(row)
        detail = json.dumps({"reason": reason, "segments": row.segments,
                             "chain_head": row.chain_head, "case_id": row.case_id},
                            ensure_ascii=False)
        s.add(AuditEvent(evidence_id=session_id, act=DISCARDED, actor=actor.label, at=now,
                         detail=detail[:1024]))
        s.commit()
        s.refresh(row)
    scrub_database(engine)
    for cid in cids:  # unreadable already (the key is gone); unreferenced, so the start-up
        delete_ciphertext(desk.ctx.blobs, cid)  # orphan sweep takes what fails here
    log.warning("recording session %s discarded by an operator (%d segments)", session_id,
                row.segments)
    return row
