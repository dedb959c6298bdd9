"""Listing and search: ``GET /v1/evidence``, ``GET /v1/cases``, ``GET /v1/cases/{id}``.

Thin: check the query, call :mod:`notary.service.listing`, render. Any role reads what its
tenant may see (tenancy's rule); another tenant's case is 404. Items are rendered as ``GET
/v1/evidence/{id}`` renders them, without what costs per row (the statement is not verified
and decoded again: ``statement_json`` and ``superseded_anchors`` are left to that route).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from api.deps import AnyKey, ContextDep
from api.schemas import AnchorOut, CaseId, ErrorOut, EvidenceCreated
from notary.core.statement import EvidenceKind
from notary.core.validate import format_rfc3339_utc
from notary.service.listing import (
    DEFAULT_LIMIT,
    MAX_CURSOR,
    MAX_LIMIT,
    STATUSES,
    CaseSummary,
    FilterInvalid,
    Filters,
    Listed,
    case_page,
    case_view,
    evidence_page,
)
from storage.db import utc

router = APIRouter(tags=["listing"])

ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (400, 401, 404, 422)}
KINDS = [k.value for k in EvidenceKind]
FILTERS = ("case", "kind", "status", "since", "until", "sha256", "submitter")
# The schema documents each parameter's accepted values; the service checks them itself, so
# that every refusal is ``filter_invalid`` naming the field (``details.field``).
Limit = Annotated[int, Query(description="items a page holds, 1 to 1000",
                             json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT})]
Cursor = Annotated[str | None, Query(
    description="next_cursor of the previous page, as it was; the other parameters must be the "
    "same as then", json_schema_extra={"pattern": "^[A-Za-z0-9_-]+$", "minLength": 1,
                                       "maxLength": MAX_CURSOR})]
Moment = Annotated[str | None, Query(json_schema_extra={"format": "date-time"})]


class EvidenceListed(EvidenceCreated):
    """An item as ``GET /v1/evidence/{id}`` answers it, less ``statement_json`` and
    ``superseded_anchors`` (ask the item for those)."""

    anchor: AnchorOut | None = None
    shredded_at: str | None = None
    legal_hold: str | None = Field(default=None, description="the legal hold's reason")


class EvidencePage(BaseModel):
    items: list[EvidenceListed]
    next_cursor: str | None = Field(description="pass as ``cursor`` for the next page; null on "
                                    "the last page")


class HeadOut(BaseModel):
    """The last statement of the case: what the next one links to."""

    case_seq: int
    statement_digest: str
    evidence_id: str | None


class CaseOut(BaseModel):
    case_id: str
    holder: str = Field(description="the tenant holding the case: the caller's")
    opened_by: str = Field(description="the tenant that opened it")
    created_at: str
    closed_at: str | None
    counts: dict[str, int] = Field(description="total, pending, anchored, held (under a legal "
                                   "hold), shredded")
    head: HeadOut | None

    @classmethod
    def of(cls, c: CaseSummary) -> CaseOut:
        head = HeadOut(case_seq=c.head.last_seq, statement_digest=c.head.last_statement_digest,
                       evidence_id=c.head_evidence_id) if c.head is not None else None
        return cls(case_id=c.case.case_id, holder=c.case.holder, opened_by=c.case.opened_by,
                   created_at=format_rfc3339_utc(utc(c.case.created_at)),
                   closed_at=format_rfc3339_utc(utc(c.case.closed_at))
                   if c.case.closed_at else None,
                   counts={"total": c.items, **c.counts, "held": c.held,
                           "shredded": c.shredded},
                   head=head)


class CasePage(BaseModel):
    cases: list[CaseOut]
    next_cursor: str | None


class HoldOut(BaseModel):
    evidence_id: str
    case_seq: int
    reason: str


class CaseDetailOut(CaseOut):
    holds: list[HoldOut] = Field(description="the items under a legal hold, with its reason")
    items: list[EvidenceListed] = Field(description="the first page of the case's items, "
                                        "oldest first")
    items_next_cursor: str | None = Field(description="the cursor of the next page at "
                                          "``items_url``; null when this page has them all")
    items_url: str = Field(description="GET /v1/evidence for this case, oldest first")


def listed(page: Listed) -> list[EvidenceListed]:
    """The rows as the list renders them."""
    out = []
    for r in page.items:
        anchor = page.anchors.get(r.id)
        out.append(EvidenceListed(
            **EvidenceCreated.of(r).model_dump(), anchor=AnchorOut.of(anchor) if anchor else None,
            shredded_at=format_rfc3339_utc(utc(r.shredded_at)) if r.shredded_at else None,
            legal_hold=r.hold_reason))
    return out


def _plain_query(request: Request, allowed: tuple[str, ...]) -> None:
    """A misspelt or repeated parameter is refused, not ignored: a reconciliation that
    silently listed everything (or half) would be wrong without anyone noticing."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name not in allowed:
            raise FilterInvalid(f"unknown parameter {name[:64]!r}; use {', '.join(allowed)} / "
                                "未知的查询参数", field=name[:64])
        if name in seen:
            raise FilterInvalid(f"{name} is given twice / 参数重复", field=name)
        seen.add(name)


@router.get("/v1/evidence", response_model=EvidencePage, responses=ERRORS)
def search_evidence(
    request: Request, response: Response, ctx: ContextDep, key: AnyKey,
    case: Annotated[str | None, Query(description="a case reference (the held case; or "
                                      "this tenant's own items filed under it)",
                                      json_schema_extra={"minLength": 1, "maxLength": 128})
                    ] = None,
    kind: Annotated[str | None, Query(json_schema_extra={"enum": KINDS})] = None,
    status: Annotated[str | None, Query(json_schema_extra={"enum": list(STATUSES)})] = None,
    since: Annotated[Moment, Query(description="received at or after (RFC 3339)")] = None,
    until: Annotated[Moment, Query(description="received before (RFC 3339)")] = None,
    sha256: Annotated[str | None, Query(description="the file's SHA-256, hex",
                                        json_schema_extra={"pattern": "^[0-9a-fA-F]{64}$"})
                      ] = None,
    submitter: Annotated[str | None, Query(description="an API key's id or name",
                                           json_schema_extra={"minLength": 1,
                                                              "maxLength": 100})] = None,
    order: Annotated[str, Query(description="desc: newest first; asc: oldest first",
                                json_schema_extra={"enum": ["desc", "asc"]})] = "desc",
    limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
) -> EvidencePage:
    """The items this tenant may see (it holds their case, or submitted them), filtered, a
    page at a time by ``received_at`` then ``id``. Follow ``next_cursor`` (also a ``Link:
    rel="next"`` header) until it is null: no item is skipped or repeated, also while new
    items arrive. 422 ``filter_invalid`` (``details.field``), ``case_id_invalid``,
    ``sha256_invalid``; 400 ``cursor_invalid``."""
    _plain_query(request, (*FILTERS, "order", "limit", "cursor"))
    filters = Filters.parse(case=case, kind=kind, status=status, since=since, until=until,
                            sha256=sha256, submitter=submitter)
    page = evidence_page(ctx, key.tenant, filters, order=order, cursor=cursor, limit=limit)
    if page.next_cursor is not None:
        query = {k: v for k, v in request.query_params.items() if k != "cursor"}
        following = urlencode({**query, "cursor": page.next_cursor})
        response.headers["Link"] = f'</v1/evidence?{following}>; rel="next"'
    return EvidencePage(items=listed(page), next_cursor=page.next_cursor)


@router.get("/v1/cases", response_model=CasePage, responses=ERRORS)
def cases(request: Request, ctx: ContextDep, key: AnyKey, limit: Limit = DEFAULT_LIMIT,
          cursor: Cursor = None) -> CasePage:
    """The cases this tenant holds now, by reference, with their counts and head. A case it
    handed over is the buyer's (its own items there stay in ``GET /v1/evidence``)."""
    _plain_query(request, ("limit", "cursor"))
    page = case_page(ctx, key.tenant, cursor=cursor, limit=limit)
    return CasePage(cases=[CaseOut.of(c) for c in page.cases], next_cursor=page.next_cursor)


@router.get("/v1/cases/{case_id}", response_model=CaseDetailOut, responses=ERRORS)
def case(case_id: CaseId, request: Request, ctx: ContextDep, key: AnyKey,
         limit: Limit = DEFAULT_LIMIT) -> CaseDetailOut:
    """A case this tenant holds: counts, head, legal holds, holder, and its first items;
    404 for any other case."""
    _plain_query(request, ("limit",))
    detail = case_view(ctx, key.tenant, case_id, limit=limit)
    base = CaseOut.of(detail.summary)
    return CaseDetailOut(
        **base.model_dump(),
        holds=[HoldOut(evidence_id=r.id, case_seq=r.case_seq, reason=r.hold_reason or "")
               for r in detail.holds],
        items=listed(detail.first_page),
        items_next_cursor=detail.first_page.next_cursor,
        items_url="/v1/evidence?" + urlencode({"case": case_id, "order": "asc",
                                               "limit": limit}))
