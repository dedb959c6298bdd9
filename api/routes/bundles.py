"""Proof bundle endpoints: one item's or a whole case's bundle, streamed as a ZIP archive.

Thin: check who may export, ask the service for the bundle, stream it. A bundle with the
originals holds evidence content, so it needs an admin or lawyer key; a hashes-only
bundle (``?hashes_only=true``) any valid key may fetch. ``certifier_*`` parameters add a
court certification for the qualified person they name. Every export is audited.

A build runs in a worker thread while the request watches its connection: when the client
hangs up, before or during the stream, the build is cancelled and stops at its next item.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import AnyKey, ServiceDep
from api.render import explorer_template, export_response
from api.routes.evidence import ERRORS, EvidenceId
from api.schemas import CaseId
from notary.core.bundle import BUNDLE_MEDIA_TYPE
from notary.core.declaration import QualifiedPerson
from notary.core.errors import InputError
from notary.service.apikeys import AuthError, Role
from notary.service.bundles import ConductAsked
from storage.db import ApiKey

router = APIRouter(tags=["bundles"])

HashesOnly = Annotated[bool, Query(
    description="leave the originals out (for privacy): statements, receipts, proofs, anchors, "
                "keys and certificates only")]


def _certifier(
    certifier_name: Annotated[str | None, Query(
        max_length=200, description="court certification: the qualified person's name (with "
                                    "certifier_title and certifier_organisation)")] = None,
    certifier_title: Annotated[str | None, Query(
        max_length=200, description="court certification: their title")] = None,
    certifier_organisation: Annotated[str | None, Query(
        max_length=200, description="court certification: their organisation")] = None,
    certifier_key: Annotated[str | None, Query(
        max_length=4096, description="court certification, optional: their Ed25519 public "
                                     "key (JWK or PEM) to sign it with")] = None,
    certifier_name_zh: Annotated[str | None, Query(
        max_length=200, description="court certification, optional: the name in Chinese, "
                                    "for the 存证说明")] = None,
    certifier_title_zh: Annotated[str | None, Query(
        max_length=200, description="court certification, optional: the title in Chinese "
                                    "(e.g. 档案管理员)")] = None,
    certifier_organisation_zh: Annotated[str | None, Query(
        max_length=200, description="court certification, optional: the organisation in "
                                    "Chinese")] = None,
) -> QualifiedPerson | None:
    """The qualified person a court certification (``certification/``) is made for, or None
    (422 ``certification_invalid`` when they are named in part, a Chinese value comes without
    them, or the key is not Ed25519). The Chinese declaration quotes an English value where
    no Chinese one is given."""
    return QualifiedPerson.from_request(name=certifier_name, title=certifier_title,
                                        organisation=certifier_organisation,
                                        public_key=certifier_key, name_zh=certifier_name_zh,
                                        title_zh=certifier_title_zh,
                                        organisation_zh=certifier_organisation_zh)


Certifier = Annotated[QualifiedPerson | None, Depends(_certifier)]


def _conduct(
    conduct: Annotated[bool, Query(
        description="add the case's signed conduct report (conduct/: JWS, JSON, bilingual "
                    "PDF and HTML), which `notary verify` derives again from the statements")
    ] = False,
    conduct_from: Annotated[str | None, Query(
        max_length=40, description="the report's period, from (RFC 3339 with an offset); "
                                   "default: the case's first call")] = None,
    conduct_to: Annotated[str | None, Query(
        max_length=40, description="the report's period, to (exclusive); default: just "
                                   "after the case's last call")] = None,
) -> ConductAsked | None:
    """The conduct report asked for, or None (400 ``conduct_period_invalid`` when only one
    end of the period is named)."""
    if (conduct_from is None) != (conduct_to is None):
        raise InputError("name both conduct_from and conduct_to, or neither / 请同时指定期间"
                         "的起止", code="conduct_period_invalid", field="conduct_to")
    if not conduct and conduct_from is None:
        return None
    period = (conduct_from, conduct_to) if conduct_from and conduct_to else None
    return ConductAsked(period)


Conduct = Annotated[ConductAsked | None, Depends(_conduct)]
BUNDLE_RESPONSES = {200: {"content": {BUNDLE_MEDIA_TYPE: {}},
                          "description": "the proof bundle (ZIP), see docs/bundle-format.md"},
                    **ERRORS}
# Who may take the originals away in a bundle (README, "Roles"): the tenant's admin and its
# lawyers, who put evidence before a court. A collector's key sits on call-centre machines and
# field devices, the most exposed keys; it reads one item it needs through /content (each read
# audited), but a bundle of originals is a bulk export, so it gets hashes-only bundles, as
# auditors do.
ORIGINALS_ROLES = frozenset({Role.ADMIN.value, Role.LAWYER.value})


def _may_export(key: ApiKey, hashes_only: bool) -> None:
    if not hashes_only and key.role not in ORIGINALS_ROLES:
        raise AuthError(f"a {key.role} key may export hashes-only bundles "
                        "(?hashes_only=true); bundles with originals are for admin and lawyer "
                        "keys / 该角色只能导出不含原件的证据包", code="forbidden")


@router.get("/v1/evidence/{evidence_id}/bundle", responses=BUNDLE_RESPONSES)
async def evidence_bundle(request: Request, evidence_id: EvidenceId, svc: ServiceDep,
                          key: AnyKey, certifier: Certifier,
                          hashes_only: HashesOnly = False) -> StreamingResponse:
    """The item's proof bundle: original (unless ``hashes_only``), signed statement and
    receipt, inclusion proof, anchor with the raw transaction receipt, keys, signed
    manifest, ``VERIFY.md`` and certificates; with ``certifier_*``, a court certification
    for that person to sign. 404 ``not_anchored`` while pending."""
    _may_export(key, hashes_only)
    explorer = explorer_template()
    return await export_response(request, lambda cancel: svc.export_bundle(
        key=key, evidence_id=evidence_id, hashes_only=hashes_only, explorer_url=explorer,
        certifier=certifier, cancel=cancel))


@router.get("/v1/cases/{case_id}/bundle", responses=BUNDLE_RESPONSES)
async def case_bundle(request: Request, case_id: CaseId, svc: ServiceDep, key: AnyKey,
                      certifier: Certifier, conduct: Conduct,
                      hashes_only: HashesOnly = False) -> StreamingResponse:
    """The whole case's proof bundle, its items in case order (so the sequence can be
    checked without gaps), with a court certification when ``certifier_*`` name one and the
    signed conduct report of its calls with ``conduct=true``. 404 ``not_anchored`` while any
    item is pending."""
    _may_export(key, hashes_only)
    if conduct is not None and key.role not in ORIGINALS_ROLES:
        raise AuthError("the conduct report is for admin and lawyer keys / 合规通话报告仅限管理员"
                        "和律师密钥", code="forbidden")
    explorer = explorer_template()
    return await export_response(request, lambda cancel: svc.export_bundle(
        key=key, case_id=case_id, hashes_only=hashes_only, explorer_url=explorer,
        certifier=certifier, cancel=cancel, conduct=conduct))
