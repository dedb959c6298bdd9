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

import notary.core.errors as kinds
from notary.core.errors import NotaryError

log = logging.getLogger("notary.api")

#: The status of each kind of error (``NotaryError.kind``): the one place where a kind
#: becomes an HTTP status. ``internal`` is a bug, never raised on purpose.
STATUS_BY_KIND: dict[str, int] = {
    kinds.INVALID: 400,
    kinds.UNPROCESSABLE: 422,
    kinds.UNAUTHORISED: 401,
    kinds.FORBIDDEN: 403,
    kinds.NOT_FOUND: 404,
    kinds.CONFLICT: 409,
    kinds.GONE: 410,
    kinds.TOO_LARGE: 413,
    kinds.UNSUPPORTED: 415,
    kinds.RATE_LIMITED: 429,
    kinds.BUSY: 503,
    kinds.UNAVAILABLE: 503,
    kinds.UPSTREAM: 502,
    kinds.STORAGE_FULL: 507,
    kinds.INTERNAL: 500,
}
#: Kinds whose answer says when to try again (``Retry-After``, from ``details["retry_after"]``
#: or this default).
RETRY_KINDS: dict[str, int] = {kinds.RATE_LIMITED: 1, kinds.BUSY: 1, kinds.UNAVAILABLE: 5}

# Codes whose status differs from their class's kind (kept as they were answered before
# kinds existed: clients rely on them).
STATUS_BY_CODE: dict[str, int] = {
    "upload_too_large": 413,
    "request_too_large": 413,
    "part_too_large": 413,
    "json_too_large": 413,
    "json_too_deep": 400,
    "body_timeout": 408,
    "content_type_unsupported": 415,
    "metadata_invalid": 422,
    "metadata_missing": 422,
    "kind_unknown": 422,
    "call_number_invalid": 422,  # the core raises it as input; it is metadata's
    "file_empty": 422,
    "file_missing": 422,
    "file_name_invalid": 422,
    "media_type_invalid": 422,
    "statement_invalid": 422,
    "sha256_invalid": 422,
    "client_id_invalid": 422,
    "forbidden": 403,
    "not_found": 404,  # service.errors.NotFound: not there, or not this tenant's
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
    "case_id_invalid": 422,
    "captured_at_out_of_range": 422,
}


def status_for(exc: NotaryError) -> int:
    """The code's own status if it has one, else its kind's (an unknown kind: 500)."""
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    return STATUS_BY_KIND.get(getattr(exc, "kind", kinds.INTERNAL), 500)


def retry_after(exc: NotaryError) -> int | None:
    """Seconds after which the same request may succeed, for "try again" errors, else None."""
    status = status_for(exc)
    kind = getattr(exc, "kind", kinds.INTERNAL)
    if kind not in RETRY_KINDS and status not in (429, 503):
        return None
    try:
        return max(1, int(exc.details.get("retry_after", RETRY_KINDS.get(kind, 5))))
    except (TypeError, ValueError):
        return RETRY_KINDS.get(kind, 5)


def error_body(code: str, message: str,
               details: dict[str, object] | None = None) -> dict[str, object]:
    return {"code": code, "message": message, "details": details or {}}


class ErrorResponse(JSONResponse):
    """A JSON error body that always encodes: a lone surrogate echoed from hostile input
    becomes the JSON escape ``\\udXXX`` instead of failing the answer with a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "backslashreplace")


def render(exc: NotaryError) -> JSONResponse:
    """The HTTP answer for ``exc``: its status, the error body, and the headers the status
    needs (``WWW-Authenticate`` on 401, ``Retry-After`` on 429 and 503). Also used by
    middleware."""
    status = status_for(exc)
    if status >= 500:
        log.warning("request failed: %s [%s]", exc.message, exc.code)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    wait = retry_after(exc)
    if wait is not None:
        headers["Retry-After"] = str(wait)
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
