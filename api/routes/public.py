"""Public endpoints: verify, keys, health. No key needed; nothing submitted here is stored."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import LimitsDep, ServiceDep, VerifyLimit, get_key
from api.schemas import ErrorOut, HashQuery, KeysOut, VerdictOut
from api.upload import MultipartError, MultipartReader, body_puller, boundary_of
from notary.core.digest import FileDigest, parse_sha256_hex
from notary.core.errors import InputError, NotaryError
from notary.service.apikeys import AuthError, Role
from notary.service.bundles import this_service
from notary.service.sealing import UploadTooLarge
from notary.service.trustroot import current_trust_root

router = APIRouter(tags=["public"])

#: Largest bundle verified here; bundles with large originals verify offline (notary verify).
MAX_BUNDLE_UPLOAD_BYTES = 128 * 1024 * 1024


@router.post("/v1/verify", response_model=VerdictOut, responses={
    s: {"model": ErrorOut} for s in (400, 413, 415, 422, 429)}, dependencies=[VerifyLimit],
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": HashQuery.model_json_schema()},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "a file: hashed as it streams, then forgotten"},
            "bundle": {"type": "string", "format": "binary",
                       "description": "a proof bundle (ZIP, docs/bundle-format.md): every "
                                      "check of `notary verify --rpc`, against this service's "
                                      f"chain node; at most {MAX_BUNDLE_UPLOAD_BYTES} bytes"}},
            "description": "exactly one part: 'file' or 'bundle'"}}}}})
async def verify(request: Request, svc: ServiceDep) -> VerdictOut:
    """Was this file (or SHA-256) notarised here, unaltered, and anchored? The file is hashed
    as it streams and then forgotten. A SHA-256 alone (JSON) is looked up: the file itself is
    not compared (``file_compared`` false, ``file_hash`` not checked). The answer lists every
    check with its reason. A proof bundle (form part ``bundle``) is checked against this
    deployment's trust root and chain node: the five answers first, then whether this service
    notarised it (``this_service``: a key, registry or chain that is not ours is "not
    notarised by this service", naming the part), every check and per-item facts; a bundle
    refused unread answers 422 ``bundle_unsafe`` or ``bundle_unreadable``."""
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() == "application/json":
        raw = await request.body()
        if len(raw) > 4096:
            raise InputError("the JSON body is too large", code="request_too_large")
        try:
            query = HashQuery.model_validate_json(raw)
        except ValueError:
            raise InputError('send JSON {"sha256": "<64 hex digits>"}',
                             code="sha256_invalid") from None
        sha = parse_sha256_hex(query.sha256).hex()
        verdict, facts = await anyio.to_thread.run_sync(svc.verify_digest, sha, None)
        return VerdictOut.of(verdict, facts, file_compared=False)
    reader = MultipartReader(body_puller(request), boundary_of(ctype))
    result = await anyio.to_thread.run_sync(_read_form, reader, svc.settings.max_upload_bytes)
    if isinstance(result, bytes):
        checked = await anyio.to_thread.run_sync(svc.verify_bundle, result)
        report = checked.to_json()
        return VerdictOut.of_report(report, this_service(report))
    verdict, facts = await anyio.to_thread.run_sync(svc.verify_digest, result.hex, result.size)
    return VerdictOut.of(verdict, facts, file_compared=True)


def _read_form(reader: MultipartReader, limit: int) -> FileDigest | bytes:
    """The form's one part: a 'file', hashed as it streams (nothing is kept), or a 'bundle',
    held in memory only (never on disk) up to :data:`MAX_BUNDLE_UPLOAD_BYTES`."""
    result: FileDigest | bytes | None = None
    while (part := reader.next_part()) is not None:
        if part.name not in ("file", "bundle") or result is not None:
            raise MultipartError("send exactly one form part, 'file' or 'bundle'",
                                 code="part_unexpected")
        if part.name == "bundle":
            bundle = bytearray()
            while data := reader.read(1 << 16):
                bundle += data
                if len(bundle) > MAX_BUNDLE_UPLOAD_BYTES:
                    raise UploadTooLarge(f"the bundle is larger than {MAX_BUNDLE_UPLOAD_BYTES} "
                                         "bytes; verify it offline with 'notary verify'")
            result = bytes(bundle)
            continue
        result = reader.hash_part(limit)
    if result is None:
        raise MultipartError("the form needs a 'file' or a 'bundle' part", code="file_missing")
    return result


@router.get("/v1/keys", response_model=KeysOut)
def keys(svc: ServiceDep) -> KeysOut:
    """The service's public signing keys (JWKS) and where its anchors live."""
    chain = svc.chain
    try:
        fingerprint: str | None = current_trust_root(svc.context).fingerprint
    except NotaryError:
        fingerprint = None  # the chain is down: the keys are still served
    return KeysOut(keys=svc.jwks()["keys"],
                   chain_id=chain.deployment.chain_id if chain else None,
                   contract=chain.reader.address if chain else None,
                   trust_root_fingerprint=fingerprint)


@router.get("/v1/health", responses={
    s: {"model": ErrorOut} for s in (401, 403, 429, 503)})
def health(request: Request, svc: ServiceDep, limits: LimitsDep) -> JSONResponse:
    """``{"status": "ok"|"degraded", "version"}``: 200 when the database, blob store, chain
    and anchoring are all up, 503 otherwise. With an admin key (``Authorization``) the answer
    also holds each part's state (paths, sizes, node URL, pending count, last error): those
    help an attacker, so anonymous callers do not get them (issue 13)."""
    state = svc.health()
    summary: dict[str, Any] = {"status": "ok" if state["ok"] else "degraded",
                               "version": request.app.version}
    status = 200 if state["ok"] else 503
    authorization = request.headers.get("authorization")
    if authorization is None:  # anonymous: the key is optional here, so not in the schema
        return JSONResponse(summary, status)
    scheme, _, token = authorization.partition(" ")
    creds = (HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
             if scheme.lower() == "bearer" and token.strip() else None)
    key = get_key(request, svc.context, limits, creds)
    if key.role != Role.ADMIN.value:
        raise AuthError("the health details need an admin key", code="forbidden")
    return JSONResponse(summary | state, status)
