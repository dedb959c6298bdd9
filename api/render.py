"""How the routes answer with pages, certificates and bundles: what several route modules
share, kept apart from them so that no route module imports another.

Pages carry :func:`security_headers`; certificates (item, case, deletion, conduct) are
answered by :func:`certificate_response` as PDF or HTML; bundles are streamed by
:func:`export_response`, which cancels the build when its client goes away.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from urllib.parse import quote

import anyio
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from notary.certificate import CONTENT_SECURITY_POLICY
from notary.certificate.model import transaction_link
from notary.config import Settings
from notary.service.bundles import BundleDownload

#: Answers that are HTML get this policy unless they carry their own (api.middleware).
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")


def security_headers(policy: str = PAGE_POLICY) -> dict[str, str]:
    """Headers every page carries: the policy, no sniffing, no referrer, no framing."""
    return {"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def explorer_template() -> str | None:
    """``NOTARY_EXPLORER_URL``: a block explorer's transaction page with ``{tx}``, e.g.
    ``https://etherscan.io/tx/{tx}``; unset (the embedded chain has no explorer) shows
    copyable values instead of a link. Raises ``CertificateError`` (``explorer_url_invalid``)
    for a value that is not an http(s) URL with ``{tx}``."""
    template = os.environ.get("NOTARY_EXPLORER_URL") or None
    if template is not None:
        transaction_link(template, "0x")  # validates
    return template


def verify_url(settings: Settings) -> str:
    """The verification page a certificate's QR code and link point to."""
    return f"{settings.service_url.rstrip('/')}/verify"


def certificate_response(html: str, pdf: bytes, fmt: str, name: str) -> Response:
    """A rendered certificate as HTML (``fmt == "html"``) or as an inline PDF ``name``.pdf."""
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "no-referrer"}
    if fmt == "html":
        headers.update(security_headers(CONTENT_SECURITY_POLICY))
        return Response(html, media_type="text/html; charset=utf-8", headers=headers)
    headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(name, safe='')}.pdf"
    return Response(pdf, media_type="application/pdf", headers=headers)


#: How often a preparing build looks whether its client is still there.
DISCONNECT_POLL_SECONDS = 0.2

Build = Callable[[threading.Event], BundleDownload]


async def _prepare(request: Request, build: Build, cancel: threading.Event) -> BundleDownload:
    """Run ``build`` in a worker thread; cancel it if the client disconnects meanwhile."""
    outcome: list[BundleDownload] = []
    failure: list[Exception] = []

    async def watch() -> None:
        while not cancel.is_set():
            if await request.is_disconnected():
                cancel.set()
                return
            await anyio.sleep(DISCONNECT_POLL_SECONDS)

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            outcome.append(await anyio.to_thread.run_sync(build, cancel))
        except Exception as exc:  # noqa: BLE001 - re-raised below, outside the ExceptionGroup
            failure.append(exc)
        group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return outcome[0]


async def _relay(download: BundleDownload) -> AsyncIterator[bytes]:
    """The archive's chunks, each produced in a worker thread. When the response is cancelled
    (Starlette cancels it when the client disconnects) the build stops and frees its slot."""
    chunks: Iterator[bytes] = iter(download.chunks)
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(next, chunks, None)
            if chunk is None:
                return
            yield chunk
    finally:
        download.close()


async def export_response(request: Request, build: Build) -> StreamingResponse:
    """The streamed bundle that ``build(cancel)`` prepares, cancelled with its client."""
    return _stream(await _prepare(request, build, threading.Event()))


def _stream(download: BundleDownload) -> StreamingResponse:
    return StreamingResponse(_relay(download), media_type=download.media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(download.file_name)}",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })
