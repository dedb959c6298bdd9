"""Privacy and law: shredding, deletion certificates, legal holds, case closing, retention.

Thin: parse, call the service, render. Everything is scoped to the caller's tenant (the holder
of the case); another tenant's evidence or case answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import AnyKey, ContextDep, ServiceDep, require
from api.render import certificate_response, verify_url
from api.routes.custody import ERRORS, CaseId, EvidenceId
from notary.certificate.deletion import render_deletion_certificate
from notary.service.actors import Actor
from notary.service.apikeys import Role
from notary.service.identity import deployment_of
from notary.service.retention import delete_rule, rules, run_retention, set_case_closed, set_rule
from notary.service.shredding import (
    lift_hold,
    read_deletion_certificate,
    set_case_hold,
    set_hold,
)
from storage.db import ApiKey, RetentionRule

router = APIRouter(tags=["privacy and law"])

AdminKey = Annotated[ApiKey, Depends(require(Role.ADMIN))]
HoldKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.LAWYER))]
Kind = Annotated[str, Path(pattern=r"^[a-z_]{1,32}$")]


class ShredIn(BaseModel):
    model_config = {"extra": "forbid"}
    reason: str = Field(min_length=1, max_length=1024,
                        description="why the purpose has ended (recorded and certified)")
    legal_basis: str | None = Field(default=None, max_length=1024,
                                    description="e.g. PIPL art. 47 / GDPR art. 17")


class DeletionOut(BaseModel):
    evidence_id: str
    shredded_at: str
    certificate: dict[str, Any] = Field(description="the signed deletion certificate's payload")
    jws: str = Field(description="the certificate as a compact JWS (typ "
                                 "application/vnd.notary.deletion.v1+json)")
    checks: list[dict[str, str]] = Field(default_factory=list)
    ciphertext_deleted: bool | None = Field(
        default=None, description="false: the key is destroyed, the stored ciphertext is "
                                  "deleted by a later sweep (its store was unavailable)")


class HoldIn(BaseModel):
    model_config = {"extra": "forbid"}
    reason: str = Field(min_length=1, max_length=1024)


class HoldOut(BaseModel):
    evidence_id: str
    legal_hold: bool
    reason: str | None


@router.post("/v1/evidence/{evidence_id}/shred", response_model=DeletionOut, responses=ERRORS)
def shred_evidence(evidence_id: EvidenceId, body: ShredIn, svc: ServiceDep,
                   key: AdminKey) -> DeletionOut:
    """Crypto-shred the item's content: its key and stored ciphertext are destroyed, its
    statement, proofs, anchors and custody log stay. Answers the signed deletion certificate.
    409 ``legal_hold`` while held, 409 ``already_shredded`` when done before."""
    result = svc.shred(tenant=key.tenant, actor=Actor.of_key(key), evidence_id=evidence_id,
                       reason=body.reason, legal_basis=body.legal_basis)
    return DeletionOut(evidence_id=evidence_id, shredded_at=result.certificate.shredded_at,
                       certificate=result.certificate.to_json(), jws=result.jws,
                       ciphertext_deleted=result.blob_deleted)


@router.get("/v1/evidence/{evidence_id}/deletion-certificate", responses={
    200: {"content": {"application/json": {}, "application/pdf": {}, "text/html": {}},
          "description": "the deletion certificate"}, **ERRORS})
def deletion_certificate(evidence_id: EvidenceId, ctx: ContextDep, key: AnyKey,
                         format: Literal["json", "html", "pdf"] = "json") -> Any:
    """The item's deletion certificate (数据销毁证明): JSON (the signed record and the checks
    made now), or a bilingual HTML or PDF rendering. 404 ``not_shredded`` if it was not."""
    cert, jws, checks = read_deletion_certificate(ctx, key.tenant, evidence_id)
    if format == "json":
        return DeletionOut(evidence_id=evidence_id, shredded_at=cert.shredded_at,
                           certificate=cert.to_json(), jws=jws,
                           checks=[c.to_json() for c in checks])
    html, pdf = render_deletion_certificate(cert, jws, checks, verify_url=verify_url(ctx.settings),
                                            deployment=deployment_of(ctx))
    return certificate_response(html, pdf, format, f"deletion-certificate-{evidence_id}")


@router.post("/v1/evidence/{evidence_id}/legal-hold", response_model=HoldOut, responses=ERRORS)
def hold_evidence(evidence_id: EvidenceId, body: HoldIn, ctx: ContextDep,
                  key: HoldKey) -> HoldOut:
    """Put the item under a legal hold (admin or lawyer): it cannot be shredded, by hand or
    by retention, until the hold is lifted. Recorded in the custody log."""
    row = set_hold(ctx, tenant=key.tenant, actor=Actor.of_key(key),
                   evidence_id=evidence_id, reason=body.reason)
    return HoldOut(evidence_id=row.id, legal_hold=True, reason=row.hold_reason)


@router.post("/v1/evidence/{evidence_id}/legal-hold/lift", response_model=HoldOut,
             responses=ERRORS)
def lift_evidence_hold(evidence_id: EvidenceId, body: HoldIn, ctx: ContextDep,
                       key: HoldKey) -> HoldOut:
    """Lift the item's legal hold (admin or lawyer), with a reason; recorded in custody."""
    row = lift_hold(ctx, tenant=key.tenant, actor=Actor.of_key(key),
                    evidence_id=evidence_id, reason=body.reason)
    return HoldOut(evidence_id=row.id, legal_hold=False, reason=None)


class CaseHoldOut(BaseModel):
    case_id: str
    held: list[str]


@router.post("/v1/cases/{case_id}/legal-hold", response_model=CaseHoldOut, responses=ERRORS)
def hold_case(case_id: CaseId, body: HoldIn, ctx: ContextDep, key: HoldKey) -> CaseHoldOut:
    """Hold every item the case holds now that is not shredded (items added later are not
    held: hold them, or the case again, when they arrive)."""
    held = set_case_hold(ctx, tenant=key.tenant, actor=Actor.of_key(key),
                         case_id=case_id, reason=body.reason)
    return CaseHoldOut(case_id=case_id, held=held)


class CaseStateOut(BaseModel):
    case_id: str
    closed_at: str | None


@router.post("/v1/cases/{case_id}/close", response_model=CaseStateOut, responses=ERRORS)
def close_case(case_id: CaseId, ctx: ContextDep, key: HoldKey) -> CaseStateOut:
    """Close the case: retention periods that run from its closing start now."""
    case = set_case_closed(ctx, tenant=key.tenant, case_id=case_id, closed=True)
    return CaseStateOut(case_id=case_id, closed_at=case.closed_at.isoformat()
                        if case.closed_at else None)


@router.post("/v1/cases/{case_id}/reopen", response_model=CaseStateOut, responses=ERRORS)
def reopen_case(case_id: CaseId, ctx: ContextDep, key: HoldKey) -> CaseStateOut:
    """Reopen the case: retention periods that run from its closing stop."""
    set_case_closed(ctx, tenant=key.tenant, case_id=case_id, closed=False)
    return CaseStateOut(case_id=case_id, closed_at=None)


class RuleIn(BaseModel):
    model_config = {"extra": "forbid"}
    days: int = Field(ge=0, le=36_600)
    after: Literal["case_closed", "received"] = "case_closed"


class RuleOut(BaseModel):
    tenant: str
    kind: str
    days: int
    after: str
    created_by: str
    created_at: str

    @classmethod
    def of(cls, r: RetentionRule) -> RuleOut:
        return cls(tenant=r.tenant, kind=r.kind, days=r.days, after=r.after,
                   created_by=r.created_by, created_at=r.created_at.isoformat())


@router.get("/v1/retention-rules", response_model=list[RuleOut], responses=ERRORS)
def list_rules(ctx: ContextDep, key: AdminKey) -> list[RuleOut]:
    """The tenant's retention rules."""
    return [RuleOut.of(r) for r in rules(ctx, key.tenant)]


@router.put("/v1/retention-rules/{kind}", response_model=RuleOut, responses=ERRORS)
def put_rule(kind: Kind, body: RuleIn, ctx: ContextDep, key: AdminKey) -> RuleOut:
    """Shred the tenant's evidence of ``kind`` ``days`` after its case closed (or it was
    received). Held items are skipped until their hold is lifted."""
    return RuleOut.of(set_rule(ctx, tenant=key.tenant, kind=kind, days=body.days,
                               after=body.after, actor=Actor.of_key(key)))


@router.delete("/v1/retention-rules/{kind}", status_code=204, responses=ERRORS)
def remove_rule(kind: Kind, ctx: ContextDep, key: AdminKey) -> Response:
    delete_rule(ctx, tenant=key.tenant, kind=kind)
    return Response(status_code=204)


class RunIn(BaseModel):
    model_config = {"extra": "forbid"}
    dry_run: bool = Field(default=False, description="report what is due, shred nothing")


@router.post("/v1/retention/run", responses=ERRORS)
def run_rules(body: RunIn, ctx: ContextDep, key: AdminKey) -> dict[str, Any]:
    """Apply the tenant's retention rules now (the scheduled job does so every
    NOTARY_RETENTION_SECONDS for all tenants) and report what was due, shredded and held."""
    return run_retention(ctx, tenant=key.tenant, dry_run=body.dry_run).to_json()
