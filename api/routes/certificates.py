"""Certificate endpoints (存证证书): one item's, or a whole case's, as PDF or HTML.

Thin: gather the verified facts through the service, render, answer. A certificate has no
file content, so any valid API key may fetch one; each issue is recorded in the audit trail.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import AnyKey, ContextDep
from api.render import certificate_response, explorer_template, verify_url
from api.routes.evidence import ERRORS, EvidenceId
from api.schemas import CaseId
from notary.certificate import (
    render_case_certificate,
    render_item_certificate,
)
from notary.service.certificates import case_certificate_facts, item_certificate_facts
from notary.service.identity import deployment_of

router = APIRouter(tags=["certificates"])

Format = Annotated[Literal["pdf", "html"], Query(description="pdf (default) or html")]
CERTIFICATE_RESPONSES = {200: {"content": {"application/pdf": {}, "text/html": {}},
                               "description": "the certificate"}, **ERRORS}


@router.get("/v1/evidence/{evidence_id}/certificate", responses=CERTIFICATE_RESPONSES)
def item_certificate(evidence_id: EvidenceId, ctx: ContextDep, key: AnyKey,
                     format: Format = "pdf") -> Response:
    """The item's certificate, bilingual (zh/en): the file's SHA-256, the signed statement,
    the anchor (chain, contract, transaction, block, time), a QR code of the public
    verification URL, and the checks made now. 404 ``not_anchored`` while pending, and
    ``not_found`` for evidence the key's tenant may not see."""
    facts = item_certificate_facts(ctx, evidence_id, key=key)
    html, pdf = render_item_certificate(facts, verify_url=verify_url(ctx.settings),
                                        explorer_url=explorer_template(),
                                        deployment=deployment_of(ctx))
    return certificate_response(html, pdf, format, f"certificate-{evidence_id}")


@router.get("/v1/cases/{case_id}/certificate", responses=CERTIFICATE_RESPONSES)
def case_certificate(case_id: CaseId, ctx: ContextDep, key: AnyKey,
                     format: Format = "pdf") -> Response:
    """The case's certificate: a summary of its anchored items in case order, then each
    item's certificate. Items not anchored yet are left out and counted. The case is the
    one the key's tenant knows by ``case_id``."""
    items, not_included = case_certificate_facts(ctx, case_id, key=key)
    html, pdf = render_case_certificate(items, case_id=case_id, verify_url=verify_url(ctx.settings),
                                        explorer_url=explorer_template(),
                                        not_included=not_included,
                                        deployment=deployment_of(ctx))
    return certificate_response(html, pdf, format, f"certificate-{case_id}")
