"""Recordings notarised while they are made (issue 18): open, append, close, excerpt. Thin."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import AnyKey, ContentKey, ServiceDep, SubmitKey, require
from api.schemas import ErrorOut
from notary.core.recording import parse_clock
from notary.service.actors import Actor
from notary.service.apikeys import Role
from notary.service.excerpts import excerpt as make_excerpt
from notary.service.excerpts import verification
from notary.service.notary import NotaryService
from notary.service.recording import Recordings, SegmentInvalid, SegmentTooLarge
from notary.service.recording_failed import discard, retry
from storage.db import ApiKey
from storage.recordings import RecordingSession

router = APIRouter(tags=["recordings"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (400, 401, 403, 404, 409, 410, 413, 422, 429, 503, 507)}

SessionId = Annotated[str, Path(pattern=r"^rs_[0-9a-f]{32}$")]
EvidenceId = Annotated[str, Path(pattern=r"^ev_[0-9a-f]{32}$")]
#: Segments are not rate-limited one by one: a call sends one every few seconds.
SegmentKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.COLLECTOR))]
AdminKey = Annotated[ApiKey, Depends(require(Role.ADMIN))]


def desk(svc: NotaryService) -> Recordings:
    return Recordings(svc.context, svc.notariser)


class OpenIn(BaseModel):
    case_id: str = Field(max_length=128)
    sample_rate: int = Field(8000, description="Hz; the segments are 16-bit little-endian PCM")
    channels: int = Field(1, description="1 (mono) or 2")
    file_name: str = Field("recording.wav", max_length=255)
    kind: str = Field("call_recording", description="only call_recording")
    call: dict[str, Any] | None = Field(
        None, description="the call record without ended_at (docs/calls.md); closing adds it")


class CloseIn(BaseModel):
    call: dict[str, Any] | None = Field(
        None, description="the call record, as an upload's metadata 'call' (docs/calls.md); "
        "or only {\"ended_at\"} when the record was given at open")


class DiscardIn(BaseModel):
    reason: str = Field(max_length=512, description="why the segments are destroyed")


class SessionOut(BaseModel):
    session_id: str
    case_id: str
    status: str = Field(description="open, closing (another close is notarising it), closed, "
                        "incomplete (closed by the timeout), abandoned (timed out before "
                        "any segment), failed (5 closes failed: an admin retries or "
                        "discards it) or discarded")
    segments: int
    chain_head: str
    sample_rate: int
    channels: int
    evidence_id: str | None = None

    @classmethod
    def of(cls, row: RecordingSession) -> SessionOut:
        return cls(session_id=row.id, case_id=row.case_id, status=row.status,
                   segments=row.segments, chain_head=row.chain_head,
                   sample_rate=row.sample_rate, channels=row.channels,
                   evidence_id=row.evidence_id)


class CheckpointOut(BaseModel):
    checkpoint: str = Field(description="the signed checkpoint (compact JWS)")
    session_id: str
    segment: int
    sha256: str
    size: int
    leaf: str
    chain_head: str
    received_at: str


@router.post("/v1/recordings", status_code=201, response_model=SessionOut, responses=ERRORS)
def open_session(body: OpenIn, svc: ServiceDep, key: SubmitKey) -> SessionOut:
    """Open a recording session when the call starts; append its segments in order."""
    row = desk(svc).open(tenant=key.tenant, submitter=Actor.of_key(key).name,
                         submitter_name=key.name, case_id=body.case_id,
                         sample_rate=body.sample_rate, channels=body.channels,
                         file_name=body.file_name, kind=body.kind, call=body.call)
    return SessionOut.of(row)


@router.get("/v1/recordings/{session_id}", response_model=SessionOut, responses=ERRORS)
def get_session(session_id: SessionId, svc: ServiceDep, key: AnyKey) -> SessionOut:
    return SessionOut.of(desk(svc).get(key.tenant, session_id))


@router.put("/v1/recordings/{session_id}/segments/{n}", status_code=201,
            response_model=CheckpointOut, responses=ERRORS)
async def put_segment(request: Request, session_id: SessionId,
                      n: Annotated[int, Path(ge=0)], svc: ServiceDep,
                      key: SegmentKey) -> CheckpointOut:
    """Segment ``n`` (from 0) as the request body (raw PCM); answered with its signed
    checkpoint. 409 ``segment_out_of_order``, ``segment_duplicate``, ``recording_closed``;
    413 ``segment_too_large``; 422 ``segment_invalid``."""
    limit = svc.settings.max_segment_bytes
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise SegmentTooLarge(f"segment {n} is {length} bytes; the limit is {limit}",
                              limit=limit, segment=n)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise SegmentTooLarge(f"segment {n} is over the limit of {limit} bytes",
                                  limit=limit, segment=n)
    point = await anyio.to_thread.run_sync(
        lambda: desk(svc).append(tenant=key.tenant, session_id=session_id, n=n,
                                 data=bytes(data), by=Actor.of_key(key).name))
    return CheckpointOut(checkpoint=point.jws, **{
        k: v for k, v in point.document.items() if k != "schema"})


@router.post("/v1/recordings/{session_id}/close", response_model=SessionOut,
             responses=ERRORS)
async def close_session(session_id: SessionId, svc: ServiceDep, key: SubmitKey,
                        body: CloseIn | None = None) -> SessionOut:
    """Notarise the whole recording as one item (batched and anchored like any other) and
    close the session. Closing a closed session answers it as it is."""
    call = body.call if body is not None else None
    row = await anyio.to_thread.run_sync(
        lambda: desk(svc).close(tenant=key.tenant, session_id=session_id, call=call,
                                by=Actor.of_key(key).name))
    if svc.worker is not None:
        svc.worker.poke()
    return SessionOut.of(row)


@router.post("/v1/recordings/{session_id}/retry", response_model=SessionOut,
             responses=ERRORS)
async def retry_session(session_id: SessionId, svc: ServiceDep, key: AdminKey) -> SessionOut:
    """Close a ``failed`` session once more, now, as its last close was asked (admin); a
    close failing again answers its error and leaves the session ``failed``. 409
    ``recording_not_failed`` for any other session."""
    row = await anyio.to_thread.run_sync(
        lambda: retry(desk(svc), tenant=key.tenant, session_id=session_id))
    if svc.worker is not None:
        svc.worker.poke()
    return SessionOut.of(row)


@router.post("/v1/recordings/{session_id}/discard", response_model=SessionOut,
             responses=ERRORS)
def discard_session(session_id: SessionId, body: DiscardIn, svc: ServiceDep,
                    key: AdminKey) -> SessionOut:
    """Destroy a ``failed`` session's segments and key (admin), recorded in the audit table
    with the reason; the session is ``discarded``. 409 ``recording_not_failed`` otherwise."""
    return SessionOut.of(discard(desk(svc), tenant=key.tenant, session_id=session_id,
                                 actor=Actor.of_key(key), reason=body.reason))


@router.get("/v1/evidence/{evidence_id}/recording", responses=ERRORS)
def verify_recording(evidence_id: EvidenceId, svc: ServiceDep,
                     key: ContentKey) -> dict[str, Any]:
    """What the item proves of its recording, per segment: no later than when it existed.
    An item uploaded after the fact answers ``live: false``."""
    return verification(svc.context, tenant=key.tenant, evidence_id=evidence_id)


def _clock(name: str, text: str) -> int:
    try:
        return parse_clock(text)
    except ValueError as exc:
        raise SegmentInvalid(str(exc), code="excerpt_range_invalid", field=name) from None


@router.get("/v1/evidence/{evidence_id}/recording/excerpt", responses=ERRORS,
            response_class=Response)
def excerpt(evidence_id: EvidenceId, svc: ServiceDep, key: ContentKey,
            start: Annotated[str, Query(alias="from", max_length=16)],
            end: Annotated[str, Query(alias="to", max_length=16)]) -> Response:
    """An excerpt bundle (ZIP) proving the audio from ``from`` to ``to`` (``HH:MM:SS`` or
    seconds) alone: see docs/recording.md."""
    data = make_excerpt(svc.context, tenant=key.tenant, evidence_id=evidence_id,
                        from_ms=_clock("from", start), to_ms=_clock("to", end),
                        actor=Actor.of_key(key))
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{evidence_id}-excerpt.zip"'})
