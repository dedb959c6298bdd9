"""The deployment's trust root at its well-known URL (issue 14): public, no key needed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import ContextDep
from api.schemas import ErrorOut
from notary.core.trustroot import TRUST_ROOT_MEDIA_TYPE
from notary.service.trustroot import current_trust_root

router = APIRouter(tags=["public"])


@router.get("/.well-known/notary-trust-root.json", responses={
    200: {"content": {"application/json": {}},
          "description": f"the signed trust root ({TRUST_ROOT_MEDIA_TYPE}), canonical JSON: "
                         "save these exact bytes to pin it"},
    502: {"model": ErrorOut}, 503: {"model": ErrorOut}})
def trust_root(request: Request, ctx: ContextDep) -> Response:
    """The signed trust root, byte for byte as pinned; its fingerprint in a header and ETag."""
    issued = current_trust_root(ctx)
    etag = f'"{issued.fingerprint}"'
    headers = {"ETag": etag, "X-Notary-Trust-Root-Fingerprint": issued.fingerprint,
               "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(issued.document, media_type="application/json", headers=headers)
