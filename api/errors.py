"""The one place where the project's errors become HTTP answers.

Every error body is ``{"code": "...", "message": "...", "details": {...}}``: ``code`` is stable
and machine-readable, ``message`` is for a person. Unexpected failures answer 500 with a
generic message and are logged without request content.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from notary.chain.errors import ChainError, ChainUnavailable
from notary.core.errors import InputError, NotaryError
from notary.service.apikeys import AuthError
from notary.service.ingest import IdempotencyConflict
from notary.service.notary import NotFound
from storage.blobs import BlobStoreUnavailable, StorageFull

log = logging.getLogger("notary.api")

# Specific codes first; otherwise the class decides.
STATUS_BY_CODE: dict[str, int] = {
    "upload_too_large": 413,
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
}
STATUS_BY_CLASS: list[tuple[type[NotaryError], int]] = [
    (AuthError, 401),
    (NotFound, 404),
    (IdempotencyConflict, 409),
    (StorageFull, 507),
    (BlobStoreUnavailable, 503),
    (ChainUnavailable, 503),
    (ChainError, 502),
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


def install(app: FastAPI) -> None:
    @app.exception_handler(NotaryError)
    async def notary_error(_req: Request, exc: NotaryError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.warning("request failed: %s [%s]", exc.message, exc.code)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
                  for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        message = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
        return JSONResponse(error_body("request_invalid", message, {"errors": errors}), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "upload_too_large"}
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
        return JSONResponse(error_body("internal_error", "the server failed; nothing was lost "
                                       "that was acknowledged, please retry"), 500)
