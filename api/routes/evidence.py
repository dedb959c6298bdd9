"""Evidence endpoints: submit, read, proof, content. Thin: parse, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import AnyKey, ContentKey, ContextDep, ServiceDep, SubmitKey
from api.schemas import (
    METADATA_SCHEMA,
    AnchorOut,
    ErrorOut,
    EvidenceCreated,
    EvidenceOut,
    ProofOut,
    SupersededOut,
    TimestampOut,
)
from api.upload import MultipartError, MultipartReader, boundary_of, prefetched_puller
from notary.core.merkle import leaf_values, to_hex32
from notary.service.ingest import Accepted, Sealed, refuse_reserved_key
from notary.service.notary import NotaryService
from notary.service.sealing import UploadTooLarge
from notary.service.submission import MetadataError, Submission, parse_metadata
from notary.service.submitters import accept_upload
from notary.service.views import evidence_view, proof_view, read_content
from storage.db import ApiKey

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])

EvidenceId = Annotated[str, Path(pattern=r"^ev_[0-9a-f]{32}$", description="evidence id")]
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (400, 401, 403, 404, 409, 413, 415, 422, 429, 503, 507)}
MULTIPART_OVERHEAD = 1 << 20
ANSWERED_200 = ("a retry with the same Idempotency-Key: the first answer again; or a file the "
                "case already holds (same SHA-256, metadata without \"distinct\": true): that "
                "item, with duplicate_of set and nothing new recorded")


def _receive_form(reader: MultipartReader, svc: NotaryService, key: ApiKey,
                  idempotency_key: str | None) -> Accepted:
    """Read the form in whatever order its parts come; seal the file as it streams."""
    sub: Submission | None = None
    sealed: Sealed | None = None
    file_info: tuple[str | None, str | None] | None = None
    try:
        while (part := reader.next_part()) is not None:
            if part.name == "metadata":
                if sub is not None:
                    raise MultipartError("the form has two 'metadata' parts",
                                         code="metadata_invalid")
                sub = parse_metadata(reader.read_all(64 * 1024),
                                     country_code=svc.settings.call_country_code)
                if file_info is not None:  # file came first: its name and type apply now
                    sub = sub.with_file(*file_info)
            elif part.name == "file":
                if sealed is not None:
                    raise MultipartError("send one 'file' per request", code="file_duplicate")
                file_info = (part.filename, part.content_type)
                if sub is not None:
                    sub = sub.with_file(*file_info)
                sealed = svc.notariser.seal(reader.read)
            else:
                raise MultipartError(f"unexpected form part {part.name!r}; send 'metadata' and "
                                     "'file'", code="part_unexpected")
        if sub is None:
            raise MetadataError("the form needs a 'metadata' part (a JSON object)",
                                code="metadata_missing")
        if sealed is None:
            raise MultipartError("the form needs a 'file' part", code="file_missing")
        ready, sealed = sealed, None  # accept_upload discards it if it refuses it
        return accept_upload(svc.context, svc.notariser, key, sub, ready, idempotency_key)
    finally:
        if sealed is not None:
            svc.notariser.discard(sealed)


@router.post(
    "", status_code=201, response_model=EvidenceCreated,
    responses={200: {"model": EvidenceCreated, "description": ANSWERED_200}, **ERRORS},
    summary="Notarise a file",
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["metadata", "file"], "properties": {
            "metadata": METADATA_SCHEMA,
            "file": {"type": "string", "format": "binary"}}},
        "encoding": {"metadata": {"contentType": "application/json"}}}}}},
)
async def submit(
    request: Request, svc: ServiceDep, key: SubmitKey,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                                  max_length=255)] = None,
) -> Response:
    """Hash, encrypt and store the file while it streams in, sign its statement, and answer
    with a receipt that promises anchoring by ``anchor_deadline``. A retry with the same
    ``Idempotency-Key`` returns the first answer (200). A file whose SHA-256 the case
    already holds is answered with that item (200, ``duplicate_of``) unless the metadata says
    ``"distinct": true``."""
    refuse_reserved_key(idempotency_key, "Idempotency-Key")
    boundary = boundary_of(request.headers.get("content-type"))
    length = request.headers.get("content-length")
    if (length and length.isdigit()
            and int(length) > svc.settings.max_upload_bytes + MULTIPART_OVERHEAD):
        raise UploadTooLarge(f"the upload is larger than the limit of "
                             f"{svc.settings.max_upload_bytes} bytes",
                             limit=svc.settings.max_upload_bytes)
    reader = MultipartReader(await prefetched_puller(request, length), boundary)
    accepted = await anyio.to_thread.run_sync(_receive_form, reader, svc, key, idempotency_key)
    if svc.worker is not None:
        svc.worker.poke()
    out = EvidenceCreated.of(accepted.evidence)
    if accepted.duplicate:
        out.duplicate_of = out.id
    headers = {"Location": f"/v1/evidence/{out.id}"}
    if accepted.replayed:
        headers["Idempotent-Replayed"] = "true"
    status = 200 if accepted.replayed or accepted.duplicate else 201
    # The model's own JSON, as JSONResponse would render it (compact, UTF-8), without a
    # round trip through a dict.
    return Response(out.model_dump_json(), status, headers=headers,
                    media_type="application/json")


@router.get("/{evidence_id}", response_model=EvidenceOut, responses=ERRORS)
def get_evidence(evidence_id: EvidenceId, ctx: ContextDep, key: AnyKey) -> EvidenceOut:
    """The evidence's status (``pending`` or ``anchored``), statement, and anchor once there."""
    view = evidence_view(ctx, key.tenant, evidence_id)
    return EvidenceOut.full(view.row, view.anchor, view.superseded)


@router.get("/{evidence_id}/proof", response_model=ProofOut, responses=ERRORS)
def get_proof(evidence_id: EvidenceId, ctx: ContextDep, key: AnyKey) -> ProofOut:
    """The Merkle inclusion proof and the anchor; 404 ``not_anchored`` while pending."""
    view = proof_view(ctx, key.tenant, evidence_id)
    row = view.row
    return ProofOut(evidence_id=row.id, leaf_values=leaf_values(
                        bytes.fromhex(row.statement_digest), bytes.fromhex(row.sha256)),
                    leaf=view.leaf, proof=[to_hex32(p) for p in view.proof],
                    root=to_hex32(view.root), anchor=AnchorOut.of(view.anchor),
                    superseded_anchors=[SupersededOut.of(a) for a in view.superseded],
                    timestamp=TimestampOut.of(view.batch))


@router.get("/{evidence_id}/content", responses={
    200: {"content": {"application/octet-stream": {}}, "description": "the original bytes"},
    **ERRORS})
def get_content(evidence_id: EvidenceId, ctx: ContextDep, key: ContentKey) -> StreamingResponse:
    """The original file, decrypted as it streams. Only for keys allowed to read content;
    every read is recorded."""
    row, stream = read_content(ctx, key, evidence_id)
    return StreamingResponse(stream, media_type=row.media_type, headers={
        "Content-Length": str(row.size),
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(row.file_name)}",
        "Digest": f"sha-256={row.sha256}",
        "Cache-Control": "no-store",
    })


def _quote(name: str) -> str:
    return quote(name, safe="")
