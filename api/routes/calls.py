"""Call records: prove that a number is a call's caller or callee (issue 16 #5). Thin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from api.deps import ContextDep, require
from api.schemas import ErrorOut
from notary.service.apikeys import Role
from notary.service.calls import prove_number
from storage.db import ApiKey

router = APIRouter(tags=["call records"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (400, 401, 403, 404, 410, 422, 429)}

EvidenceId = Annotated[str, Path(pattern=r"^ev_[0-9a-f]{32}$")]
#: Proving opens a commitment, so only those who handle a case's law may ask: an admin or a
#: lawyer of the tenant that can see the item.
ProveKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.LAWYER))]


class ProveIn(BaseModel):
    number: str = Field(max_length=40, description="the phone number, E.164 (+8613800138000) "
                        "or national (138 0013 8000, the deployment's country code is added)")


class NumberProof(BaseModel):
    party: str = Field(description="caller or callee")
    number: str = Field(description="the number in E.164 form, as committed")
    salt: str = Field(description="the salt (hex); the HMAC key is this hex text")
    alg: str
    value: str = Field(description="the commitment in the signed statement")
    check: str = Field(description="a shell command that recomputes the value")


class ProveOut(BaseModel):
    evidence_id: str
    matches: list[str] = Field(description="the parties the number is: caller, callee, or none")
    salted: list[str] = Field(description="the parties whose salt this service holds")
    proofs: list[NumberProof]


@router.post("/v1/evidence/{evidence_id}/call/prove", response_model=ProveOut,
             responses=ERRORS)
def prove(evidence_id: EvidenceId, body: ProveIn, ctx: ContextDep, key: ProveKey) -> ProveOut:
    """Whether ``number`` is the recorded call's caller or callee, with a proof a third party
    checks (``openssl dgst -sha256 -hmac SALT``). 404 ``call_record_absent``, 410
    ``call_salts_absent`` (committed by the client, or shredded), 422 ``call_number_invalid``."""
    return ProveOut(**prove_number(ctx, tenant=key.tenant, evidence_id=evidence_id,
                                   number=body.number))
