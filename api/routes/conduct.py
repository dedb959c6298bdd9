"""The conduct report of a case (issue 16 #6): signed JSON, or a bilingual HTML or PDF. Thin."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import ContextDep, require
from api.render import certificate_response, verify_url
from api.schemas import CaseId, ErrorOut
from notary.certificate.conduct import render_conduct_report
from notary.core.conduct import CONDUCT_MEDIA_TYPE
from notary.service.apikeys import Role
from notary.service.conduct import ConductAnswer, case_conduct, conduct_of_contact
from notary.service.context import Context
from storage.db import ApiKey

router = APIRouter(tags=["call records"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (400, 401, 403, 404, 422, 429)}
ReportKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.LAWYER))]


class ConductOut(BaseModel):
    media_type: str = CONDUCT_MEDIA_TYPE
    report: dict[str, Any] = Field(description="the report; its RFC 8785 bytes are the JWS "
                                   "payload")
    jws: str = Field(description="compact JWS (EdDSA, typ = media_type) by the service key")


class ContactIn(BaseModel):
    number: str = Field(max_length=40, description="the contact's phone number (E.164 or "
                        "national); sent in the body so that it is in no URL or access log")
    begin: str = Field(alias="from", max_length=40)
    end: str = Field(alias="to", max_length=40)
    format: Literal["json", "html", "pdf"] = "json"


@router.post("/v1/cases/{case_id}/conduct/contact", responses={
    200: {"content": {"application/json": {"schema": ConductOut.model_json_schema()},
                      "application/pdf": {}, "text/html": {}},
          "description": "the conduct report of one contact"}, **ERRORS})
def contact_conduct(case_id: CaseId, body: ContactIn, ctx: ContextDep,
                       key: ReportKey) -> Any:
    """The conduct report of one contact of the case, named by its number: the number is
    matched against the case's callee commitments with the salts (404
    ``call_contact_unknown`` when none opens); the report names the commitment, never the
    number."""
    answer = conduct_of_contact(ctx, tenant=key.tenant, case_id=case_id, number=body.number,
                             period=(body.begin, body.end))
    return _render(ctx, answer, body.format)


@router.get("/v1/cases/{case_id}/conduct", responses={
    200: {"content": {"application/json": {"schema": ConductOut.model_json_schema()},
                      "application/pdf": {}, "text/html": {}},
          "description": "the conduct report"}, **ERRORS})
def conduct(case_id: CaseId, ctx: ContextDep, key: ReportKey,
            begin: Annotated[str, Query(alias="from", max_length=40)],
            end: Annotated[str, Query(alias="to", max_length=40)],
            contact: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
            format: Literal["json", "html", "pdf"] = "json") -> Any:
    """Every call of the case that started in ``[from, to)`` (RFC 3339 with an offset), with
    its time, duration, direction, agent, recorded/notarised state and the flags
    ``quiet_hours``, ``over_daily_limit`` and ``zone_mismatch``; ``contact`` (a callee
    commitment) narrows it to one contact. Derived from the case's statements alone
    (docs/calls.md). ``format=pdf`` or ``html``: the bilingual document (合规通话报告) of
    the same signed report."""
    answer = case_conduct(ctx, tenant=key.tenant, case_id=case_id, period=(begin, end),
                          contact=contact)
    return _render(ctx, answer, format)


def _render(ctx: Context, answer: ConductAnswer, format: str) -> Any:
    """The signed report as JSON, or its bilingual HTML or PDF document."""
    if format == "json":
        return ConductOut(report=answer.report, jws=answer.jws)
    html, pdf = render_conduct_report(answer.report, answer.jws,
                                      verify_url=verify_url(ctx.settings))
    return certificate_response(html, pdf, format, f"conduct-{answer.report['subject']['case_id']}")
