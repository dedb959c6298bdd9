"""ASGI middleware: security headers on every answer, and a size limit on small bodies.

Both are plain ASGI (no ``BaseHTTPMiddleware``), so a streamed upload or download passes
through untouched, chunk by chunk.

* :class:`SecurityHeaders` adds the headers an answer lacks, never overriding one a route set
  (the verification page and the certificates set their own Content-Security-Policy).
* :class:`BodyLimit` refuses JSON, form-urlencoded and text bodies larger than
  ``NOTARY_MAX_JSON_BYTES`` with 413 ``request_too_large``: at once when Content-Length says
  so, or as soon as a chunked body passes the limit. Multipart uploads have their own limit
  (``NOTARY_MAX_UPLOAD_BYTES``, enforced while they stream) and other media types (a proof
  bundle) are limited by the routes that read them.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

import notary.core.errors as kinds
from api.errors import render
from notary.core.errors import InputError

#: Answers that are HTML get this policy unless they carry their own.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: The OpenAPI pages (/docs, /redoc) load their script and styles from FastAPI's CDN and run
#: one inline script; they hold no data, so they get a policy that lets them work.
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
               "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
               "frame-ancestors 'none'")
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})

_LIMITED_TYPES = (b"application/json", b"application/x-www-form-urlencoded", b"text/")


class RequestTooLarge(InputError):
    """A JSON (or form, or text) body over ``NOTARY_MAX_JSON_BYTES``."""

    kind = kinds.TOO_LARGE

    default_code = "request_too_large"


class SecurityHeaders:
    """Add ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` to every
    answer; ``Cache-Control: no-store`` to every ``/v1/`` answer (evidence, proofs, content
    and verdicts are personal data: no cache may keep them); a Content-Security-Policy,
    ``X-Frame-Options: DENY`` to HTML answers. Headers already set are kept as they are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}

                def add(name: bytes, value: str) -> None:
                    if name not in present:
                        headers.append((name, value.encode("latin-1")))
                        present.add(name)

                add(b"x-content-type-options", "nosniff")
                add(b"referrer-policy", "no-referrer")
                if path.startswith("/v1/"):
                    add(b"cache-control", "no-store")
                ctype = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if ctype.lower().startswith(b"text/html"):
                    add(b"content-security-policy",
                        DOCS_POLICY if path in DOCS_PATHS else PAGE_POLICY)
                    add(b"x-frame-options", "DENY")
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuse small-body requests (JSON, urlencoded forms, text) above ``limit()`` bytes."""

    def __init__(self, app: ASGIApp, limit: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctype = b""
        length: bytes | None = None
        for name, value in scope.get("headers", []):
            if name == b"content-type":
                ctype = value.lower().lstrip()
            elif name == b"content-length":
                length = value
        if not ctype.startswith(_LIMITED_TYPES):
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope)
        too_large = RequestTooLarge(f"the request body is larger than the limit of {limit} "
                                    "bytes for this content type", limit=limit)
        if length is not None and length.strip().isdigit() and int(length) > limit:
            await render(too_large)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large  # raised where the route reads: answered as 413
            return message

        await self.app(scope, counted, send)


def install(app: ASGIApp) -> None:
    """Add both middlewares to ``app`` (a FastAPI app whose ``state.notary`` is the service)."""

    def json_limit(scope: Scope) -> int:
        return int(scope["app"].state.notary.settings.max_json_bytes)

    app.add_middleware(BodyLimit, limit=json_limit)  # type: ignore[attr-defined]
    app.add_middleware(SecurityHeaders)  # type: ignore[attr-defined]
