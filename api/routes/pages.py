"""The public verification page ``GET /verify`` and its two static files.

The page hashes a file in the browser (WebCrypto) and sends only the hash to
``POST /v1/verify``; a proof bundle is uploaded there to be checked. Everything is served
from this origin with a strict Content-Security-Policy: no inline script, no third party.
"""

from __future__ import annotations

import os
from functools import cache
from html import escape
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

from notary.certificate.model import transaction_link
from notary.service.notary import NotFound

router = APIRouter(tags=["pages"], include_in_schema=False)

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
STATIC_TYPES = {"verify.js": "text/javascript; charset=utf-8",
                "verify.css": "text/css; charset=utf-8"}
EXPLORER_PLACEHOLDER = '<meta name="notary-explorer" content="">'


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


@cache
def _static(name: str) -> bytes:
    return (files("api") / "static" / name).read_bytes()


@router.get("/verify")
def verify_page() -> Response:
    """The verification page (zh/en). ``?sha256=<hex>`` verifies that hash on load, so the QR
    code printed on a certificate opens the answer directly; ``?code=XXXX-XXXX-XXXX`` does the
    same for the check code printed on a notice (docs/debtor-check.md)."""
    page = _static("verify.html").decode()
    page = page.replace(EXPLORER_PLACEHOLDER, f'<meta name="notary-explorer" content='
                                              f'"{escape(explorer_template() or "")}">', 1)
    return Response(page, media_type="text/html; charset=utf-8",
                    headers={**security_headers(), "Cache-Control": "no-cache"})


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The page's script and style sheet (nothing else is served from here)."""
    media_type = STATIC_TYPES.get(name)
    if media_type is None:
        raise NotFound(f"no static file {name!r}")
    return Response(_static(name), media_type=media_type,
                    headers={**security_headers(), "Cache-Control": "no-cache"})
