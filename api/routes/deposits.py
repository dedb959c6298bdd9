"""Hash-only deposits: one (``POST /v1/evidence/hashes``) or many (``POST /v1/evidence/bulk``).

Thin: read the JSON, let :mod:`notary.service.deposits` validate and record, render each
item's receipt or error. The file itself never reaches this service.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.deps import ServiceDep, SubmitKey
from api.errors import error_body, status_for
from api.middleware import LARGE_JSON_ROUTES
from api.schemas import ErrorOut, EvidenceCreated
from notary.core.errors import NotaryError, StatementError
from notary.core.jsonlimits import check_breadth
from notary.core.statement import parse_strict_json
from notary.service.actors import Actor
from notary.service.deposits import MAX_BULK_ITEMS, DepositAnswer, parse_deposits
from notary.service.notary import NotaryService
from notary.service.submission import MetadataError
from storage.db import ApiKey

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])

#: A deposit is a few hundred bytes; the bulk body's limit leaves room for long metadata.
MAX_BULK_BYTES = LARGE_JSON_ROUTES[("POST", "/v1/evidence/bulk")]
MAX_DEPOSIT_BYTES = 64 * 1024
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (400, 401, 403, 409, 413, 422, 429, 503)}
DEPOSIT_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["case_id", "kind", "sha256", "size"],
    "additionalProperties": False,
    "properties": {
        "client_id": {"type": "string", "maxLength": 255,
                      "description": "your id of this deposit: the same id with the same "
                                     "content answers the first receipt again"},
        "case_id": {"type": "string"}, "kind": {"type": "string"},
        "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
        "size": {"type": "integer", "minimum": 1},
        "file_name": {"type": "string"}, "media_type": {"type": "string"},
        "captured_at": {"type": "string", "format": "date-time"},
        "description": {"type": "string"},
        "parties": {"type": "array", "items": {"type": "object"}},
    }}


class DepositItemOut(BaseModel):
    """One item's answer: its receipt (``status`` 201, or 200 for a repeated ``client_id``)
    or its error (``status`` 4xx with ``error``)."""

    index: int
    client_id: str | None = None
    status: int = Field(description="the HTTP status this item would have had on its own")
    evidence: EvidenceCreated | None = None
    error: ErrorOut | None = None


class BulkOut(BaseModel):
    accepted: int = Field(description="items recorded now or earlier (status 200 or 201)")
    failed: int
    items: list[DepositItemOut]


#: What a bulk body may hold before it is parsed: an item with 32 parties is about 35 objects
#: and 130 values; more is not a deposit but a way to make the parser build millions.
MAX_BULK_CONTAINERS = MAX_BULK_ITEMS * 40
MAX_BULK_VALUES = MAX_BULK_ITEMS * 160


async def _json(request: Request, limit: int, *, bulk: bool = False) -> Any:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise MetadataError(f"the request is larger than {limit} bytes",
                                code="request_too_large", limit=limit)

    def parse() -> Any:
        if bulk:
            check_breadth(body, max_containers=MAX_BULK_CONTAINERS, max_values=MAX_BULK_VALUES)
        try:
            return parse_strict_json(bytes(body), max_bytes=limit)
        except StatementError as exc:
            raise MetadataError(f"the body is not accepted: {exc.message}",
                                **exc.details) from None

    return await anyio.to_thread.run_sync(parse)  # seconds of CPU stay off the event loop


def _item(answer: DepositAnswer, client_id: str | None) -> DepositItemOut:
    if answer.error is not None or answer.row is None:
        exc = answer.error or NotaryError("not recorded")
        return DepositItemOut(index=answer.index, client_id=client_id, status=status_for(exc),
                              error=ErrorOut(**error_body(exc.code, exc.message,
                                                          exc.details)))  # type: ignore[arg-type]
    return DepositItemOut(index=answer.index, client_id=client_id,
                          status=200 if answer.replayed else 201,
                          evidence=EvidenceCreated.of(answer.row))


def _deposit(svc: NotaryService, key: ApiKey, items: list[Any]) -> list[DepositAnswer]:
    return svc.depositor.deposit(parse_deposits(items), submitter=Actor.of_key(key).name,
                                 tenant=key.tenant, submitter_name=key.name)


def _client_id(obj: object) -> str | None:
    value = obj.get("client_id") if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


@router.post(
    "/hashes", status_code=201, response_model=EvidenceCreated, responses={
        200: {"model": EvidenceCreated, "description": "the same client_id and content again: "
                                                       "the first receipt"}, **ERRORS},
    summary="Deposit a file's SHA-256 without the file",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": DEPOSIT_SCHEMA}}}},
)
async def deposit_hash(request: Request, svc: ServiceDep, key: SubmitKey) -> JSONResponse:
    """Record a file's SHA-256 and size (the file is never sent): a statement marked
    ``"deposit": "hash_only"``, signed, and a receipt promising anchoring by
    ``anchor_deadline``. Every verdict on it says the file was never seen by this service."""
    obj = await _json(request, MAX_DEPOSIT_BYTES)
    [answer] = await anyio.to_thread.run_sync(_deposit, svc, key, [obj])
    if answer.error is not None:  # its own error is the answer, not an item of a list
        raise answer.error
    if svc.worker is not None:
        svc.worker.poke()
    out = _item(answer, _client_id(obj))
    assert out.evidence is not None
    headers = {"Location": f"/v1/evidence/{out.evidence.id}"}
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(json.loads(out.evidence.model_dump_json()), out.status, headers=headers)


@router.post(
    "/bulk", response_model=BulkOut, responses=ERRORS,
    summary=f"Deposit up to {MAX_BULK_ITEMS} SHA-256s in one request",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object", "required": ["items"], "additionalProperties": False,
                   "properties": {"items": {
                       "type": "array", "maxItems": MAX_BULK_ITEMS,
                       "description": "deposits as for POST /v1/evidence/hashes; an item that "
                                      "is not one is answered with its own error, in its place",
                       "items": {}}}}}}}},
)
async def deposit_bulk(request: Request, svc: ServiceDep, key: SubmitKey) -> Response:
    """Hash-only deposits in bulk: ``{"items": [deposit, ...]}``, at most
    ``MAX_BULK_ITEMS``. The answer (200) has one entry per item, in order: its receipt or its
    own error. One bad item never rejects the others; all accepted items are recorded in one
    transaction, and each ``client_id`` is idempotent."""
    doc = await _json(request, MAX_BULK_BYTES, bulk=True)
    if not isinstance(doc, dict) or set(doc) != {"items"}:
        raise MetadataError("the body must be {\"items\": [deposit, ...]}", field="items")
    body = await anyio.to_thread.run_sync(_bulk_answer, svc, key, doc["items"])
    if svc.worker is not None:
        svc.worker.poke()
    return Response(body, 200, media_type="application/json")


def _bulk_answer(svc: NotaryService, key: ApiKey, items: list[Any]) -> bytes:
    """Record and render in the worker thread: 5,000 answers are too many for the loop."""
    answers = _deposit(svc, key, items)
    out = [_item(a, _client_id(obj)) for a, obj in zip(answers, items, strict=True)]
    accepted = sum(1 for o in out if o.evidence is not None)
    answer = BulkOut(accepted=accepted, failed=len(out) - accepted, items=out)
    # After the commit nothing may fail: a lone surrogate echoed from an item becomes the
    # JSON escape \udXXX, as in every error body (api.errors.ErrorResponse).
    return json.dumps(answer.model_dump(mode="json"), ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8", "backslashreplace")

