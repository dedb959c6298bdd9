"""ASGI middleware: security headers on every answer, and bounds on every request body.

All are plain ASGI (no ``BaseHTTPMiddleware``), so a streamed upload or download passes
through untouched, chunk by chunk.

* :class:`SecurityHeaders` adds the headers an answer lacks, never overriding one a route set
  (the verification page and the certificates set their own Content-Security-Policy).
* :class:`BodyLimit` bounds every body (issue 13). Only a multipart upload to a route that
  streams it (:data:`STREAMING_ROUTES`) passes through as a stream; its size is limited by the
  route (``NOTARY_MAX_UPLOAD_BYTES``, the bundle limit) while it streams. Every other body,
  whatever its media type (``application/vnd.x+json``, unknown, none), is read here, in the
  event loop, up to ``NOTARY_MAX_JSON_BYTES`` (413 ``request_too_large`` at once when
  Content-Length says so, or as soon as the bytes pass the limit), and a body FastAPI would
  parse as JSON is checked for nesting depth (400 ``json_too_deep``) before any parser sees it.
  Every body read, streamed or not, fails with 408 ``body_timeout`` when the client sends
  nothing for ``NOTARY_BODY_IDLE_TIMEOUT`` seconds.
* :class:`UploadGate` caps concurrent streamed uploads to the public routes, per client
  address and overall (``NOTARY_MAX_UPLOADS_PER_ADDRESS``, ``NOTARY_MAX_UPLOADS``). Each such
  upload holds a worker thread while it streams; the caps stay below anyio's 40 threads so
  that light routes (/v1/health, /v1/keys, the pages) always find one. Over a cap: 429 (this
  address) or 503 (overall) ``uploads_busy`` with ``Retry-After``, before the body is read.
* :class:`ContainUnexpected` answers an unexpected exception with the 500 error body inside
  the app, so that the keep-alive connection stays usable (see its docstring).

An answer given before the request body was read whole carries ``Connection: close``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import notary.core.errors as kinds
from api.errors import ErrorResponse, error_body, render
from api.render import PAGE_POLICY
from api.routes.docs import DOCS_SCRIPT_HASH
from notary.core.errors import InputError
from notary.core.jsonlimits import check_depth

log = logging.getLogger("notary.api")

#: The OpenAPI page (/docs) is served whole from this origin (api/routes/docs.py): no CDN.
#: Its one inline script, Swagger UI's start-up, is allowed by hash; Swagger UI sets inline
#: styles and makes data: images, so those stay allowed. The page holds no data.
DOCS_POLICY = (f"default-src 'self'; script-src 'self' {DOCS_SCRIPT_HASH}; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
               "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})

#: (method, path) of the routes that read a multipart body as a stream, part by part.
STREAMING_ROUTES: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/v1/evidence"), ("POST", "/v1/verify"), ("POST", "/v1/check")})
#: The streaming routes anyone may call without a key: their uploads are gated.
PUBLIC_UPLOAD_ROUTES: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/v1/verify"), ("POST", "/v1/check")})

#: JSON routes whose body may be larger than ``NOTARY_MAX_JSON_BYTES``, with their own bound:
#: a bulk deposit carries up to 5,000 items (docs/deposits.md).
LARGE_JSON_ROUTES: dict[tuple[str, str], int] = {("POST", "/v1/evidence/bulk"): 16 << 20}


class RequestTooLarge(InputError):
    """A body over ``NOTARY_MAX_JSON_BYTES`` (anything but a streamed multipart upload)."""

    kind = kinds.TOO_LARGE

    default_code = "request_too_large"


class BodyTimeout(InputError):
    """The client stopped sending its body for longer than ``NOTARY_BODY_IDLE_TIMEOUT``."""

    default_code = "body_timeout"


@dataclass(frozen=True)
class BodyPolicy:
    """The bounds :class:`BodyLimit` applies, read from the settings per request."""

    max_bytes: int
    idle_timeout: float


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value)
    return None


def _media_type(scope: Scope) -> bytes:
    return (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()


def is_streamed(scope: Scope) -> bool:
    """A multipart body sent to a route that streams it."""
    return (_media_type(scope) == b"multipart/form-data"
            and (scope.get("method", ""), scope.get("path", "")) in STREAMING_ROUTES)


def parsed_as_json(media_type: bytes) -> bool:
    """Would FastAPI parse a body of this media type as JSON? (No type, ``*/json``, ``+json``.)"""
    if not media_type:
        return True
    main, _, sub = media_type.partition(b"/")
    return main == b"application" and (sub == b"json" or sub.endswith(b"+json"))


def timed_receive(receive: Receive, idle_timeout: float) -> Receive:
    """``receive`` that raises :class:`BodyTimeout` when a body chunk takes longer than
    ``idle_timeout`` seconds to arrive (raised where the route reads: answered as 408)."""

    async def receive_in_time() -> Message:
        try:
            with anyio.fail_after(idle_timeout):
                return await receive()
        except TimeoutError:
            raise BodyTimeout(f"no part of the request body arrived for {idle_timeout:g} s; "
                              "send the body without pauses", idle_timeout=idle_timeout) from None

    return receive_in_time


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
    """Bound every request body (see the module docstring)."""

    def __init__(self, app: ASGIApp, policy: Callable[[Scope], BodyPolicy]) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.policy(scope)
        timed = timed_receive(receive, policy.idle_timeout)
        body_read = False

        async def tracked() -> Message:
            nonlocal body_read
            message = await timed()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read = True
            return message

        async def send_closing(message: Message) -> None:
            # An answer given before the whole body arrived (a refusal, a timeout) closes the
            # connection: otherwise uvicorn would drain the rest of a flood for its keep-alive
            # time, and the next request could not be framed after a cut body anyway.
            if message["type"] == "http.response.start" and not body_read:
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        if is_streamed(scope):
            await self.app(scope, tracked, send_closing)
            return
        limit = policy.max_bytes
        too_large = RequestTooLarge(f"the request body is larger than the limit of {limit} "
                                    "bytes (only multipart uploads may be larger)", limit=limit)
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            await render(too_large)(scope, receive, send_closing)
            return
        body = bytearray()
        more = True
        while more:
            try:
                message = await tracked()
            except BodyTimeout as exc:
                await render(exc)(scope, receive, send_closing)
                return
            if message["type"] != "http.request":  # the client left: let the app see it
                await self.app(scope, _replay(message, receive), send)
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await render(too_large)(scope, receive, send_closing)
                return
            more = bool(message.get("more_body", False))
        if body and parsed_as_json(_media_type(scope)):
            try:
                check_depth(body)  # also refuses UTF-16/32 bodies (json_invalid)
            except InputError as exc:
                await render(exc)(scope, receive, send)
                return
        done: Message = {"type": "http.request", "body": bytes(body), "more_body": False}
        await self.app(scope, _replay(done, receive), send)


def _replay(first: Message, receive: Receive) -> Receive:
    """A ``receive`` answering ``first`` once, then the real ``receive`` (for disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay


class UploadGate:
    """Cap concurrent streamed uploads to the public routes, per address and overall."""

    def __init__(self, app: ASGIApp, caps: Callable[[Scope], tuple[int, int]]) -> None:
        self.app = app
        self.caps = caps
        self.active = 0
        self.by_address: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or not is_streamed(scope)
                or (scope.get("method", ""), scope.get("path", "")) not in PUBLIC_UPLOAD_ROUTES):
            await self.app(scope, receive, send)
            return
        overall, per_address = self.caps(scope)
        client = scope.get("client")
        address = client[0] if client else "unknown"
        # The event loop runs one coroutine at a time: check-and-count needs no lock.
        if per_address and self.by_address[address] >= per_address:
            await _busy(429, f"this address already has {per_address} uploads in progress; "
                        "retry when one has finished", per_address)(scope, receive, send)
            return
        if overall and self.active >= overall:
            await _busy(503, f"the service already has {overall} uploads in progress; "
                        "retry shortly", overall)(scope, receive, send)
            return
        self.active += 1
        self.by_address[address] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
            self.by_address[address] -= 1
            if self.by_address[address] <= 0:
                del self.by_address[address]


def _busy(status: int, message: str, limit: int) -> ErrorResponse:
    return ErrorResponse(error_body("uploads_busy", message, {"limit": limit, "retry_after": 5}),
                         status, headers={"Retry-After": "5", "Connection": "close"})


class ContainUnexpected:
    """Answer an unexpected exception with the 500 error body *here*, inside the app.

    Left to Starlette, an exception handled by the ``Exception`` handler is re-raised after
    the 500 is sent (ServerErrorMiddleware does so on purpose), and uvicorn answers an
    exception escaping the app by closing the socket: the next request on that keep-alive
    connection was reset (issue 13). Contained here, nothing escapes and the connection stays
    usable. When the answer had already started (a download failing midway) the connection
    cannot be saved, since the body is cut short, and the exception goes on to uvicorn,
    which closes it: the client sees a truncated answer, never a wrong one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise
            log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
            await ErrorResponse(error_body(
                "internal_error", "the server failed; nothing was lost that was acknowledged, "
                "please retry"), 500)(scope, receive, send)


def install(app: ASGIApp) -> None:
    """Add the middlewares to ``app`` (a FastAPI app whose ``state.notary`` is the service)."""

    def policy(scope: Scope) -> BodyPolicy:
        settings = scope["app"].state.notary.settings
        route = (scope.get("method", ""), scope.get("path", ""))
        limit = max(int(settings.max_json_bytes), LARGE_JSON_ROUTES.get(route, 0))
        return BodyPolicy(limit, float(settings.body_idle_timeout))

    def caps(scope: Scope) -> tuple[int, int]:
        settings = scope["app"].state.notary.settings
        return int(settings.max_uploads), int(settings.max_uploads_per_address)

    # Added last runs first: headers on every answer, then the gate (before any body is
    # read), then the body bounds, then the containment of unexpected errors.
    app.add_middleware(ContainUnexpected)  # type: ignore[attr-defined]
    app.add_middleware(BodyLimit, policy=policy)  # type: ignore[attr-defined]
    app.add_middleware(UploadGate, caps=caps)  # type: ignore[attr-defined]
    app.add_middleware(SecurityHeaders)  # type: ignore[attr-defined]
