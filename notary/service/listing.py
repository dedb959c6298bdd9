"""Listing and search: the items and cases a tenant may see, page by page (issue 16 #1).

Visibility is tenancy's rule (:mod:`notary.service.tenancy`): an item is listed when the caller
holds its case now or submitted it itself; a case is listed while the caller holds it. A case
the caller handed over is not its case any more (``case_detail`` answers 404, as every
``/v1/cases/{id}`` route does), but its own items in it stay listed by ``list_evidence``.

Pages follow a keyset, not an offset: items in ``(received_at, id)`` order, cases in reference
order. The cursor is that position (base64url JSON), bound to the query's filters and order,
and read strictly (``cursor_invalid``, 400). It is not signed: it grants nothing, because the
tenant's filter is applied to every page, so a forged cursor only moves the reader within its
own items. An item committed while a reader pages newest-first lands before the first page and
is not repeated; oldest-first, it comes on a later page; but the receipt time is taken before
the submission's transaction waits its turn, so one committed a few milliseconds late can land
right behind the cursor: a reconciliation up to "now" re-reads its last minute (``since``).

Each query uses an index: the caller's own items ``ix_evidence_tenant_received`` (tenant,
received_at, id; migration 0008), the items of a held case ``ix_evidence_case_uid``, items by
file hash ``ix_evidence_sha256``, cases ``uq_cases_holder_case_id``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, UnaryExpression, and_, func, or_
from sqlalchemy import select as select_rows
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

import notary.core.errors as kinds
from notary.core.errors import InputError
from notary.core.statement import EvidenceKind
from notary.core.validate import (
    format_rfc3339_utc,
    normalise_case_reference,
    normalise_name,
    rfc3339_instant,
    validate_rfc3339,
)
from notary.core.verdict import AnchorFacts
from notary.service.context import Context
from notary.service.errors import NotFound
from storage.db import ApiKey, Batch, Case, CaseHead, Evidence, session

STATUSES = ("pending", "anchored")
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_CURSOR = 512
_KEY_ID = re.compile(r"(?:apikey:)?([0-9a-f]{12})")
_EVIDENCE_ID = re.compile(r"ev_[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_CURSOR = re.compile(r"[A-Za-z0-9_-]+")
_MOMENT = "%Y-%m-%dT%H:%M:%S.%fZ"  # as format_rfc3339_utc writes it, read back strictly


class FilterInvalid(InputError):
    """A listing filter that is not one of the accepted values (422, ``details.field``)."""

    kind = kinds.UNPROCESSABLE
    default_code = "filter_invalid"


class CursorInvalid(InputError):
    """A cursor this service did not hand out for this query (400)."""

    default_code = "cursor_invalid"


@dataclass(frozen=True)
class Filters:
    """What to list; every field optional. ``since`` is inclusive, ``until`` exclusive."""

    case: str | None = None
    kind: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sha256: str | None = None
    submitter: str | None = None

    @classmethod
    def parse(cls, *, case: str | None = None, kind: str | None = None,
              status: str | None = None, since: str | None = None, until: str | None = None,
              sha256: str | None = None, submitter: str | None = None) -> Filters:
        """The filters as a query string gives them, checked: FilterInvalid (422) naming the
        field, ``case_id_invalid`` or ``sha256_invalid``."""
        if case is not None:
            case = normalise_case_reference(case, field="case", error=FilterInvalid)
        if kind is not None and kind not in {k.value for k in EvidenceKind}:
            raise FilterInvalid(f"kind must be one of {', '.join(k.value for k in EvidenceKind)}"
                                " / 类型无效", field="kind")
        if status is not None and status not in STATUSES:
            raise FilterInvalid(f"status must be one of {', '.join(STATUSES)} / 状态无效",
                                field="status")
        if sha256 is not None:
            if not _SHA256.fullmatch(sha256):
                raise FilterInvalid("sha256 must be 64 hex digits / sha256 须为64位十六进制",
                                    field="sha256", code="sha256_invalid")
            sha256 = sha256.lower()
        if submitter is not None:
            submitter, what = normalise_name(submitter, 100)
            if what is not None:
                raise FilterInvalid(f"submitter is an API key id or a key's name ({what}) / "
                                    "提交者须为密钥编号或名称", field="submitter")
        after, before = _moment("since", since), _moment("until", until)
        if after is not None and before is not None and after >= before:
            raise FilterInvalid("since must be earlier than until / 起始时间须早于截止时间",
                                field="since")
        return cls(case=case, kind=kind, status=status, since=after, until=before,
                   sha256=sha256, submitter=submitter)

    def digest(self, order: str) -> str:
        """What a cursor is bound to: these filters and the order."""
        facts = {k: (format_rfc3339_utc(v) if isinstance(v, datetime) else v)
                 for k, v in vars(self).items()} | {"order": order}
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def _moment(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    validate_rfc3339(name, value, error=FilterInvalid)
    try:
        return rfc3339_instant(value)
    except (ValueError, OverflowError):  # year 0000, or past 9999 once in UTC
        raise FilterInvalid(f"{name} is out of range / 时间超出范围", field=name) from None


# -- cursors -----------------------------------------------------------------------------------


def encode_cursor(position: dict[str, str]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, bound: str, fields: set[str]) -> dict[str, str]:
    """The position in ``token``; CursorInvalid unless it is exactly what :func:`encode_cursor`
    made for a query bound to ``bound`` (its filters and order)."""
    def refuse(why: str) -> CursorInvalid:
        return CursorInvalid(f"the cursor is not one this listing handed out ({why}); start "
                             "again without it / 游标无效，请不带游标重新开始", reason=why)

    if not 0 < len(token) <= MAX_CURSOR or not _CURSOR.fullmatch(token):
        raise refuse("malformed")
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise refuse("malformed") from None
    if (not isinstance(data, dict) or set(data) != fields | {"q"}
            or not all(isinstance(v, str) for v in data.values())):
        raise refuse("malformed")
    if data["q"] != bound:
        raise refuse("made for other filters or another order")
    return data


@dataclass(frozen=True)
class Position:
    """Where a page of items ends: the last item's receipt time and id."""

    received_at: datetime
    id: str

    def token(self, bound: str) -> str:
        return encode_cursor({"t": format_rfc3339_utc(self.received_at), "id": self.id,
                              "q": bound})

    @classmethod
    def of(cls, token: str, bound: str) -> Position:
        data = decode_cursor(token, bound, {"t", "id"})
        try:
            moment = datetime.strptime(data["t"], _MOMENT).replace(tzinfo=UTC)
        except ValueError:
            moment = None
        if moment is None or not _EVIDENCE_ID.fullmatch(data["id"]):
            raise CursorInvalid("the cursor is not one this listing handed out (malformed) / "
                                "游标无效", reason="malformed")
        return cls(moment, data["id"])


# -- items -------------------------------------------------------------------------------------


@dataclass
class Page:
    items: list[Evidence]
    next_cursor: str | None


def _submitter_values(s: Session, submitter: str) -> list[str]:
    """``Evidence.submitter`` values a submitter filter names: the key with that id, and
    every key of that name (whichever tenant's: the listing shows only what the caller may
    see anyway)."""
    ids = [m.group(1)] if (m := _KEY_ID.fullmatch(submitter)) else []
    ids += s.exec(select(ApiKey.id).where(ApiKey.name == submitter)).all()
    return [f"apikey:{i}" for i in ids]


def evidence_queries(s: Session, tenant: str, filters: Filters, *, order: str = "desc",
                     after: Position | None = None,
                     limit: int = DEFAULT_LIMIT) -> list[SelectOfScalar[Evidence]]:
    """The queries whose union is the page (each ordered and limited by itself, merged by the
    caller): the caller's own items, and the items of cases it holds that others submitted;
    or, with ``case``, that case's items (held) or its own items filed under that reference."""
    conditions: list[ColumnElement[bool]] = []
    if filters.kind is not None:
        conditions.append(col(Evidence.kind) == filters.kind)
    if filters.status is not None:
        conditions.append(col(Evidence.status) == filters.status)
    if filters.since is not None:
        conditions.append(col(Evidence.received_at) >= filters.since)
    if filters.until is not None:
        conditions.append(col(Evidence.received_at) < filters.until)
    if filters.sha256 is not None:
        conditions.append(col(Evidence.sha256) == filters.sha256)
    if filters.submitter is not None:
        conditions.append(col(Evidence.submitter).in_(_submitter_values(s, filters.submitter)))
    moment, ident = col(Evidence.received_at), col(Evidence.id)
    if after is not None:
        if order == "desc":
            conditions += [moment <= after.received_at,
                           or_(moment < after.received_at, ident < after.id)]
        else:
            conditions += [moment >= after.received_at,
                           or_(moment > after.received_at, ident > after.id)]
    sort: list[UnaryExpression[Any]] = ([moment.desc(), ident.desc()] if order == "desc"
                                        else [moment.asc(), ident.asc()])

    def query(*where: ColumnElement[bool]) -> SelectOfScalar[Evidence]:
        return select(Evidence).where(*where, *conditions).order_by(*sort).limit(limit)

    if filters.case is not None:
        held = s.exec(select(Case.uid).where(Case.holder == tenant,
                                             Case.case_id == filters.case)).first()
        if held is not None:
            return [query(col(Evidence.case_uid) == held)]
        return [query(col(Evidence.tenant) == tenant, col(Evidence.case_id) == filters.case)]
    held_cases = select(Case.uid).where(Case.holder == tenant)
    return [query(col(Evidence.tenant) == tenant),
            query(col(Evidence.case_uid).in_(held_cases), col(Evidence.tenant) != tenant)]


def list_evidence(engine: Engine, tenant: str, filters: Filters, *, order: str = "desc",
                  cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page:
    """One page of the items ``tenant`` may see that match ``filters``, newest first
    (``order="asc"``: oldest first), after ``cursor``; ``next_cursor`` is None on the last."""
    if order not in ("asc", "desc"):
        raise FilterInvalid("order is asc or desc / 排序须为 asc 或 desc", field="order")
    if not 1 <= limit <= MAX_LIMIT:
        raise FilterInvalid(f"limit is 1 to {MAX_LIMIT} / 每页条数须为1至{MAX_LIMIT}",
                            field="limit")
    bound = filters.digest(order)
    after = Position.of(cursor, bound) if cursor is not None else None
    with session(engine) as s:
        rows = [row for q in evidence_queries(s, tenant, filters, order=order, after=after,
                                              limit=limit + 1) for row in s.exec(q)]
    rows.sort(key=lambda r: (r.received_at, r.id), reverse=order == "desc")
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if page else None
    token = Position(last.received_at, last.id).token(bound) \
        if more and last is not None else None
    return Page(page, token)


# -- cases -------------------------------------------------------------------------------------


@dataclass
class CaseSummary:
    """A held case and what its items are: counts by status, held, shredded; its head."""

    case: Case
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    items: int = 0
    held: int = 0
    shredded: int = 0
    head: CaseHead | None = None
    head_evidence_id: str | None = None


@dataclass
class CasePage:
    cases: list[CaseSummary]
    next_cursor: str | None


def _summaries(s: Session, cases: list[Case]) -> list[CaseSummary]:
    out = {c.uid: CaseSummary(c) for c in cases}
    if not out:
        return []
    uids = list(out)
    held = col(Evidence.hold_reason).is_not(None)
    shredded = col(Evidence.shredded_at).is_not(None)
    grouped = s.execute(select_rows(col(Evidence.case_uid), col(Evidence.status), held, shredded,
                                    func.count()).where(col(Evidence.case_uid).in_(uids))
                        .group_by(col(Evidence.case_uid), col(Evidence.status), held, shredded))
    for uid, status, is_held, is_shredded, n in grouped:
        summary = out[str(uid)]
        summary.counts[status] = summary.counts.get(status, 0) + n
        summary.items += n
        summary.held += n if is_held else 0
        summary.shredded += n if is_shredded else 0
    heads = s.exec(select(CaseHead, Evidence.id).join(Evidence, and_(
        col(Evidence.case_uid) == col(CaseHead.case_uid),
        col(Evidence.case_seq) == col(CaseHead.last_seq))).where(
        col(CaseHead.case_uid).in_(uids)))
    for head, evidence_id in heads:
        out[head.case_uid].head, out[head.case_uid].head_evidence_id = head, evidence_id
    return [out[c.uid] for c in cases]


def list_cases(engine: Engine, tenant: str, *, cursor: str | None = None,
               limit: int = DEFAULT_LIMIT) -> CasePage:
    """One page of the cases ``tenant`` holds, by reference."""
    if not 1 <= limit <= MAX_LIMIT:
        raise FilterInvalid(f"limit is 1 to {MAX_LIMIT} / 每页条数须为1至{MAX_LIMIT}",
                            field="limit")
    after = decode_cursor(cursor, "cases", {"case"})["case"] if cursor is not None else None
    with session(engine) as s:
        query = select(Case).where(Case.holder == tenant)
        if after is not None:
            query = query.where(col(Case.case_id) > after)
        cases = list(s.exec(query.order_by(col(Case.case_id)).limit(limit + 1)))
        page = _summaries(s, cases[:limit])
    token = encode_cursor({"case": page[-1].case.case_id, "q": "cases"}) \
        if len(cases) > limit else None
    return CasePage(page, token)


@dataclass
class CaseDetail:
    summary: CaseSummary
    holds: list[Evidence]
    first_page: Page


def case_detail(engine: Engine, tenant: str, case_id: str, *,
                limit: int = DEFAULT_LIMIT) -> CaseDetail:
    """The case ``tenant`` holds as ``case_id``: its summary, its held items, and the first
    page of its items (oldest first, as ``list_evidence(case=...)`` goes on). NotFound (404)
    for a case it does not hold, whoever does."""
    with session(engine) as s:
        case = s.exec(select(Case).where(Case.holder == tenant,
                                         Case.case_id == case_id)).first()
        if case is None:
            raise NotFound(f"no case {case_id!r} (items this tenant filed in a case it handed "
                             "over are listed by GET /v1/evidence?case=) / 找不到该案件",
                             case_id=case_id)
        summary = _summaries(s, [case])[0]
        holds = list(s.exec(select(Evidence).where(Evidence.case_uid == case.uid,
                                                   col(Evidence.hold_reason).is_not(None))
                            .order_by(col(Evidence.case_seq))))
    return CaseDetail(summary, holds, list_evidence(engine, tenant, Filters(case=case_id),
                                                    order="asc", limit=limit))


# -- as the API lists them -----------------------------------------------------------------------


@dataclass
class Listed:
    """A page of items with the anchor of each anchored one (by evidence id)."""

    items: list[Evidence]
    anchors: dict[str, AnchorFacts]
    next_cursor: str | None


def _listed(ctx: Context, page: Page) -> Listed:
    """The page with its items' anchors, their batches read in one query."""
    ids = {r.batch_id for r in page.items if r.batch_id is not None and r.status == "anchored"}
    batches: dict[int | None, Batch] = {}
    if ids:
        with session(ctx.engine) as s:
            batches = {b.id: b for b in s.exec(select(Batch).where(col(Batch.id).in_(ids)))}
    anchors = {r.id: anchor for r in page.items if r.status == "anchored"
               and (anchor := ctx.anchor_of(batches.get(r.batch_id))) is not None}
    return Listed(page.items, anchors, page.next_cursor)


def evidence_page(ctx: Context, tenant: str, filters: Filters, *, order: str,
                  cursor: str | None, limit: int) -> Listed:
    """:func:`list_evidence`, with the items' anchors."""
    return _listed(ctx, list_evidence(ctx.engine, tenant, filters, order=order, cursor=cursor,
                                      limit=limit))


def case_page(ctx: Context, tenant: str, *, cursor: str | None, limit: int) -> CasePage:
    """One page of the cases ``tenant`` holds (:func:`list_cases`)."""
    return list_cases(ctx.engine, tenant, cursor=cursor, limit=limit)


@dataclass
class CaseView:
    """A held case: its summary, its held items, and its first page of items."""

    summary: CaseSummary
    holds: list[Evidence]
    first_page: Listed


def case_view(ctx: Context, tenant: str, case_id: str, *, limit: int) -> CaseView:
    """:func:`case_detail`, its first page with the items' anchors."""
    detail = case_detail(ctx.engine, tenant, case_id, limit=limit)
    return CaseView(detail.summary, detail.holds, _listed(ctx, detail.first_page))
