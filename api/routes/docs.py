"""The OpenAPI page ``GET /docs`` (Swagger UI), served whole from this origin.

FastAPI's default page loads Swagger UI from a CDN, so it is blank offline and on networks
that block the CDN. The assets here come from the pinned PyPI package ``fastapi-swagger``
(its files are byte-identical to the npm ``swagger-ui-dist`` 5.34.0 release), so a plain
``pip install`` serves them and no request leaves the origin. The page's one inline script
(Swagger UI's start-up) is allowed by its SHA-256 hash, not by ``'unsafe-inline'``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files
from typing import Final

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import Response

from notary.service.errors import NotFound

__all__ = ["ASSETS_PATH", "DOCS_SCRIPT_HASH", "docs_html", "router"]

router = APIRouter(tags=["docs"], include_in_schema=False)

ASSETS_PATH: Final = "/docs/assets"
_ASSET_TYPES: Final = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@cache
def docs_html() -> str:
    """The Swagger UI page for ``/openapi.json``, its assets at :data:`ASSETS_PATH`."""
    page = get_swagger_ui_html(
        openapi_url="/openapi.json", title="notary",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png")
    return bytes(page.body).decode("utf-8")


def _script_hash() -> str:
    """The CSP source of the page's inline start-up script (``'sha256-...'``)."""
    scripts = _INLINE_SCRIPT.findall(docs_html())
    assert len(scripts) == 1, "the Swagger UI page should have exactly one inline script"
    digest = hashlib.sha256(scripts[0].encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


DOCS_SCRIPT_HASH: Final = _script_hash()


@cache
def _asset(name: str) -> bytes:
    return (files("fastapi_swagger") / "resources" / name).read_bytes()


@router.get("/docs")
def docs_page() -> Response:
    """The interactive API documentation (Swagger UI), working offline."""
    return Response(docs_html(), media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})


@router.get(f"{ASSETS_PATH}/{{name}}")
def docs_asset(name: str) -> Response:
    """Swagger UI's script, style sheet and icon (nothing else is served from here)."""
    media_type = _ASSET_TYPES.get(name)
    if media_type is None:
        raise NotFound(f"no documentation asset {name!r}")
    return Response(_asset(name), media_type=media_type,
                    headers={"Cache-Control": "public, max-age=86400",
                             "X-Content-Type-Options": "nosniff"})
