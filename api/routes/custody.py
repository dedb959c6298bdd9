"""Custody, tenants' keys, transfers and share links. Thin: parse, call the service, render.

Everything is scoped to the caller's tenant; another tenant's evidence or case answers 404.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import AnyKey, ContextDep, VerifyLimit, require
from api.render import certificate_response, explorer_template, export_response, verify_url
from api.schemas import CaseId, ErrorOut
from notary.certificate import render_item_certificate
from notary.service.apikeys import Role, issue_key, tenant_keys, withdraw_key
from notary.service.bundles import export_bundle
from notary.service.certificates import shared_certificate_facts
from notary.service.context import Context
from notary.service.custody import custody_json
from notary.service.identity import deployment_of
from notary.service.submitters import register_submitter_key
from notary.service.tenancy import (
    MAX_SHARE_TTL,
    case_shares,
    create_share,
    open_share,
    open_shared_case,
    revoke_share,
    share_key,
    transfer_case,
)
from notary.service.views import custody_view
from storage.db import ApiKey

router = APIRouter(tags=["custody and tenants"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (400, 401, 403, 404, 409, 410, 422, 429)}

EvidenceId = Annotated[str, Path(pattern=r"^ev_[0-9a-f]{32}$")]
AdminKey = Annotated[ApiKey, Depends(require(Role.ADMIN))]
CaseManagerKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.LAWYER))]
CollectorKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.COLLECTOR))]


class CustodyEventOut(BaseModel):
    seq: int
    act: str
    status: str = Field(description="pending until the event's digest is anchored")
    event: dict[str, Any] = Field(description="the signed event's payload")
    jws: str


class CustodyOut(BaseModel):
    evidence_id: str
    events: list[CustodyEventOut]
    checks: list[dict[str, str]] = Field(description="custody and custody_anchored checks")


@router.get("/v1/evidence/{evidence_id}/custody", response_model=CustodyOut, responses=ERRORS)
def get_custody(evidence_id: EvidenceId, ctx: ContextDep, key: AnyKey) -> CustodyOut:
    """Every act on the item, signed and hash-linked, with the result of checking the log."""
    view = custody_view(ctx, key.tenant, evidence_id)
    return CustodyOut(evidence_id=view.row.id,
                      events=[CustodyEventOut(**e) for e in custody_json(view.events)],
                      checks=[c.to_json() for c in view.checks])


class TransferIn(BaseModel):
    model_config = {"extra": "forbid"}
    to_tenant: str = Field(min_length=1, max_length=128,
                           description="the receiving tenant: its slug or exact legal name")
    reason: str | None = Field(default=None, max_length=1024)


class TransferOut(BaseModel):
    case_id: str
    from_tenant: str
    to_tenant: str
    at: str


@router.post("/v1/cases/{case_id}/transfer", response_model=TransferOut, responses=ERRORS)
def post_transfer(case_id: CaseId, body: TransferIn, ctx: ContextDep,
                  key: CaseManagerKey) -> TransferOut:
    """Hand a case to another tenant (portfolio sale, handover to a law firm). The receiver
    holds it from now on; each item's custody log records the handover."""
    t = transfer_case(ctx, key, case_id, body.to_tenant, body.reason)
    return TransferOut(case_id=case_id, from_tenant=t.from_tenant, to_tenant=t.to_tenant,
                       at=t.at.strftime("%Y-%m-%dT%H:%M:%SZ"))


class ShareIn(BaseModel):
    model_config = {"extra": "forbid"}
    expires_in: int = Field(default=7 * 86400, ge=60, le=int(MAX_SHARE_TTL.total_seconds()),
                            description="seconds until the link stops working (at most 90 "
                                        "days; it also stops when the case is transferred)")
    label: str | None = Field(default=None, max_length=256)


class ShareOut(BaseModel):
    id: str
    token: str | None = Field(default=None, description="shown once")
    url: str | None = Field(default=None, description="the judge's page (zh/en) to send")
    api_url: str | None = Field(default=None, description="the same as JSON, for programs")
    expires_at: str
    revoked: bool = False


class ShareListed(BaseModel):
    """A link as its case's holder sees it later: never the token."""

    id: str
    label: str | None
    tenant: str = Field(description="the tenant that made the link")
    created_by: str
    created_at: str
    expires_at: str
    revoked_at: str | None
    revoked_reason: str | None


def _t(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


@router.post("/v1/cases/{case_id}/shares", response_model=ShareOut, status_code=201,
             responses=ERRORS)
def post_share(case_id: CaseId, body: ShareIn, ctx: ContextDep, key: CaseManagerKey) -> ShareOut:
    """A read-only link for a judge or arbitrator: the case's bundle and verification page,
    no account needed, expiring and revocable. Every use is a custody event."""
    link, token = create_share(ctx, key, case_id, ttl=timedelta(seconds=body.expires_in),
                               label=body.label)
    base = ctx.settings.service_url.rstrip("/")
    return ShareOut(id=link.id, token=token, url=f"{base}/s/{token}",
                    api_url=f"{base}/v1/shared/{token}",
                    expires_at=link.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))


@router.get("/v1/cases/{case_id}/shares", response_model=list[ShareListed], responses=ERRORS)
def get_shares(case_id: CaseId, ctx: ContextDep, key: CaseManagerKey) -> list[ShareListed]:
    """Every share link of the case this tenant holds, also those an earlier holder made
    (a transfer revoked them); tokens are never shown again."""
    return [ShareListed(id=r.id, label=r.label, tenant=r.tenant, created_by=r.created_by,
                        created_at=_t(r.created_at) or "", expires_at=_t(r.expires_at) or "",
                        revoked_at=_t(r.revoked_at), revoked_reason=r.revoked_reason)
            for r in case_shares(ctx, key, case_id)]


@router.delete("/v1/cases/{case_id}/shares/{share_id}", response_model=ShareOut,
               responses=ERRORS)
def delete_share(case_id: CaseId, share_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")],
                 ctx: ContextDep, key: CaseManagerKey) -> ShareOut:
    link = revoke_share(ctx, key, case_id, share_id)
    return ShareOut(id=link.id, expires_at=link.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    revoked=True)


class ApiKeyIn(BaseModel):
    model_config = {"extra": "forbid"}
    role: Role
    name: str | None = Field(default=None, min_length=1, max_length=100,
                             description="who or what uses the key, in any script (an agent's "
                                         "工号, a dialer); statements it submits carry it as "
                                         "submitter_name, the tenant's own claim")
    label: str | None = Field(default=None, max_length=256)
    expires_in: int | None = Field(default=None, ge=60, le=10 * 365 * 86400,
                                   description="seconds (at most ten years); none = no expiry")


class ApiKeyOut(BaseModel):
    id: str
    role: str
    tenant: str
    name: str | None
    label: str | None
    created_at: str
    expires_at: str | None
    revoked: bool
    token: str | None = Field(default=None, description="the secret, shown once at creation")

    @classmethod
    def of(cls, row: ApiKey, token: str | None = None) -> ApiKeyOut:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return cls(id=row.id, role=row.role, tenant=row.tenant, name=row.name,
                   label=row.label, created_at=row.created_at.strftime(fmt),
                   expires_at=row.expires_at.strftime(fmt) if row.expires_at else None,
                   revoked=row.revoked_at is not None, token=token)


@router.post("/v1/api-keys", response_model=ApiKeyOut, status_code=201, responses=ERRORS)
def post_api_key(body: ApiKeyIn, ctx: ContextDep, key: AdminKey) -> ApiKeyOut:
    """A new key for the admin's own tenant; the token is in this answer only."""
    row, token = issue_key(ctx, key, body.role, name=body.name, label=body.label,
                           expires_in=body.expires_in)
    return ApiKeyOut.of(row, token)


@router.get("/v1/api-keys", response_model=list[ApiKeyOut], responses=ERRORS)
def get_api_keys(ctx: ContextDep, key: AdminKey) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(r) for r in tenant_keys(ctx, key)]


@router.delete("/v1/api-keys/{key_id}", response_model=ApiKeyOut, responses=ERRORS)
def delete_api_key(key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")], ctx: ContextDep,
                   key: AdminKey) -> ApiKeyOut:
    return ApiKeyOut.of(withdraw_key(ctx, key, key_id))


class SubmitterKeyIn(BaseModel):
    model_config = {"extra": "forbid"}
    jwk: dict[str, str] = Field(description='an Ed25519 public JWK: {"kty":"OKP","crv":"Ed25519",'
                                            '"x":"..."}')


class SubmitterKeyOut(BaseModel):
    kid: str
    created_at: str


@router.post("/v1/submitter-keys", response_model=SubmitterKeyOut, status_code=201,
             responses=ERRORS)
def post_submitter_key(body: SubmitterKeyIn, ctx: ContextDep,
                       key: CollectorKey) -> SubmitterKeyOut:
    """Register this collector's own Ed25519 public key. From now on its submissions must carry
    ``submitter_signature`` (a JWS by that key over the file's SHA-256 hex) to be recorded as
    signed at capture time by a known key."""
    kid, now = register_submitter_key(ctx, key, body.jwk)
    return SubmitterKeyOut(kid=kid, created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"))


class SharedItem(BaseModel):
    evidence_id: str
    case_seq: int
    kind: str
    file_name: str
    sha256: str
    status: str
    received_at: str
    block_number: int | None = Field(default=None, description="the anchor's block, once anchored")
    anchored_at: str | None = Field(default=None, description="the anchor block's time")
    transaction: str | None = None
    certificate_url: str


class SharedCase(BaseModel):
    case_id: str
    shared_by: str = Field(description="the tenant that made the link (the case's holder)")
    shared_by_name: str = Field(description="that tenant's legal name")
    expires_at: str
    items: list[SharedItem]
    bundle_url: str
    verify_url: str


def shared_case(ctx: Context, token: str) -> SharedCase:
    """What a share link opens, as the judge's JSON and page show it (each view is recorded
    in the items' custody logs: notary.service.tenancy.open_shared_case)."""
    shared = open_shared_case(ctx, token)
    base = ctx.settings.service_url.rstrip("/")
    out = []
    for r in shared.items:
        b = shared.anchors.get(r.id)
        out.append(SharedItem(
            evidence_id=r.id, case_seq=r.case_seq, kind=r.kind, file_name=r.file_name,
            sha256=r.sha256, status=r.status, received_at=_t(r.received_at) or "",
            block_number=b.block_number if b else None,
            anchored_at=(datetime.fromtimestamp(b.block_timestamp, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ") if b and b.block_timestamp is not None else None),
            transaction=b.tx_hash if b else None,
            certificate_url=f"{base}/v1/shared/{token}/items/{r.id}/certificate"))
    link = shared.link
    return SharedCase(case_id=shared.case.case_id, shared_by=link.tenant,
                      shared_by_name=shared.holder_name,
                      expires_at=_t(link.expires_at) or "", items=out,
                      bundle_url=f"{base}/v1/shared/{token}/bundle", verify_url=f"{base}/verify")


ShareToken = Annotated[str, Path(max_length=128)]


@router.get("/v1/shared/{token}", response_model=SharedCase, responses=ERRORS,
            dependencies=[VerifyLimit])
def get_shared(token: ShareToken, ctx: ContextDep, request: Request) -> Any:
    """What a share link opens (no account needed): the case's items and where to get and
    check its bundle. A browser (``Accept: text/html`` before JSON) is sent to the page
    ``/s/{token}``; programs get JSON. Reads are recorded in the items' custody logs."""
    if _wants_html(request.headers.get("accept", "")):
        return RedirectResponse(f"/s/{token}", status_code=303,
                                headers={"Cache-Control": "no-store"})
    return shared_case(ctx, token)


def _wants_html(accept: str) -> bool:
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    html = kinds.index("text/html") if "text/html" in kinds else None
    json_at = kinds.index("application/json") if "application/json" in kinds else None
    return html is not None and (json_at is None or html < json_at)


@router.get("/v1/shared/{token}/bundle", responses=ERRORS, dependencies=[VerifyLimit])
async def get_shared_bundle(token: ShareToken, ctx: ContextDep,
                            request: Request) -> StreamingResponse:
    """The shared case's proof bundle (with originals), for the court holding the link.
    Recorded as exported once per link and item per hour; bounded and cancelled with its
    client like every export."""
    link, case = await run_in_threadpool(open_share, ctx, token)
    explorer = explorer_template()
    return await export_response(request, lambda cancel: export_bundle(
        ctx, key=share_key(link), case_id=case.case_id, explorer_url=explorer, cancel=cancel))


@router.get("/v1/shared/{token}/items/{evidence_id}/certificate", responses=ERRORS,
            dependencies=[VerifyLimit])
def get_shared_certificate(token: ShareToken, evidence_id: EvidenceId, ctx: ContextDep,
                           format: Literal["pdf", "html"] = "pdf") -> Response:
    """One item's certificate (zh/en) of the shared case, PDF or HTML."""
    facts = shared_certificate_facts(ctx, token, evidence_id)
    html, pdf = render_item_certificate(facts, verify_url=verify_url(ctx.settings),
                                        explorer_url=explorer_template(),
                                        deployment=deployment_of(ctx))
    return certificate_response(html, pdf, format, f"certificate-{evidence_id}")
