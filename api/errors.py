"""The one place where the project's errors become HTTP answers.

Every error body is ``{"code": "...", "message": "...", "details": {...}}``: ``code`` is stable
and machine-readable, ``message`` is for a person. Unexpected failures answer 500 with a
generic message and are logged without request content.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from notary.chain.errors import ChainError, ChainUnavailable
from notary.core.errors import InputError, NotaryError, UnreadableBundle
from notary.service.apikeys import AuthError
from notary.service.ingest import IdempotencyConflict
from notary.service.notary import NotFound
from notary.service.ratelimit import RateLimited
from storage.blobs import BlobStoreUnavailable, StorageError, StorageFull

log = logging.getLogger("notary.api")

# Specific codes first; otherwise the class decides.
STATUS_BY_CODE: dict[str, int] = {
    "upload_too_large": 413,
    "request_too_large": 413,
    "part_too_large": 413,
    "content_type_unsupported": 415,
    "metadata_invalid": 422,
    "metadata_missing": 422,
    "kind_unknown": 422,
    "file_empty": 422,
    "file_missing": 422,
    "file_name_invalid": 422,
    "media_type_invalid": 422,
    "statement_invalid": 422,
    "sha256_invalid": 422,
    "forbidden": 403,
    "not_found": 404,  # e.g. tenancy.NotVisible: not there, or not this tenant's
    "api_key_unknown": 404,
    "tenant_unknown": 422,
    "tenant_not_found": 404,
    "case_contention": 503,  # retryable: Retry-After
    "submitter_signature_invalid": 422,
    "jwk_invalid": 422,
    "case_id_conflict": 409,
    "check_code_invalid": 422,
    "check_code_taken": 409,
    "check_input_missing": 422,
    "share_revoked": 410,
    "share_expired": 410,
    "certificate_refused": 409,
    "certification_invalid": 422,
    "certificate_font_missing": 503,
    "spool_unavailable": 503,
    "shredded": 410,  # the content was crypto-shredded; statement and proofs remain
    "legal_hold": 409,
    "already_shredded": 409,
    "not_held": 409,
    "not_shredded": 404,
    "reason_required": 422,
    "retention_invalid": 422,
}
STATUS_BY_CLASS: list[tuple[type[NotaryError], int]] = [
    (AuthError, 401),
    (NotFound, 404),
    (IdempotencyConflict, 409),
    (RateLimited, 429),
    (StorageFull, 507),
    (BlobStoreUnavailable, 503),
    (StorageError, 503),
    (ChainUnavailable, 503),
    (ChainError, 502),
    (UnreadableBundle, 422),  # and UnsafeBundle: a proof bundle refused unread
    (InputError, 400),
]


def status_for(exc: NotaryError) -> int:
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    for cls, status in STATUS_BY_CLASS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(code: str, message: str, details: dict[str, object] | None = None) -> dict[str, object]:
    return {"code": code, "message": message, "details": details or {}}


class ErrorResponse(JSONResponse):
    """A JSON error body that always encodes: a lone surrogate echoed from hostile input
    becomes the JSON escape ``\\udXXX`` instead of failing the answer with a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "backslashreplace")


def render(exc: NotaryError) -> JSONResponse:
    """The HTTP answer for ``exc``: its status, the error body, and the headers the status
    needs (``WWW-Authenticate`` on 401, ``Retry-After`` on 429). Also used by middleware."""
    status = status_for(exc)
    if status >= 500:
        log.warning("request failed: %s [%s]", exc.message, exc.code)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = getattr(exc, "retry_after", None)  # RateLimited, CaseContention
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return ErrorResponse(error_body(exc.code, exc.message, exc.details), status,
                         headers=headers or None)


def install(app: FastAPI) -> None:
    @app.exception_handler(NotaryError)
    async def notary_error(_req: Request, exc: NotaryError) -> JSONResponse:
        return render(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
                  for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        message = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
        return ErrorResponse(error_body("request_invalid", message, {"errors": errors}), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "upload_too_large"}
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        return ErrorResponse(error_body(code, str(exc.detail)), exc.status_code,
                             headers=getattr(exc, "headers", None))

    @app.exception_handler(ClientDisconnect)
    async def client_gone(_req: Request, _exc: ClientDisconnect) -> JSONResponse:
        # The client hung up mid-request (the upload was discarded by the code it interrupted):
        # nobody is left to read this answer, and it is not a server fault worth a traceback.
        log.info("the client disconnected before its request was complete")
        return ErrorResponse(error_body("client_disconnected", "the request ended early"), 400)

    @app.exception_handler(Exception)
    async def unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
        return ErrorResponse(error_body("internal_error", "the server failed; nothing was lost "
                                        "that was acknowledged, please retry"), 500)
