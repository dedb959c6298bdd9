"""Tenants, cases, who may see what, transfers and share links.

Visibility rule: a tenant sees an evidence item when it holds the item's case now, or when it
submitted the item itself (its own records stay its own after it hands a case over). Anything
else is answered as *not found*, never *forbidden*, so that another tenant's evidence does not
even leak its existence.

Case identity: a case's ``uid`` is random, not derived from the reference, so the tenant that
handed a case over may use the same reference again: its next submission opens a new case of
its own (issue 13 #7).

Share links belong to the tenant that held the case when the link was made. A link opens the
case only while that tenant still holds it; a transfer revokes every live link of the case, with
a ``share_revoked`` custody event (reason ``case transferred``), so a seller's link can never
show what the buyer adds (issue 13 #1).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Engine, bindparam, insert, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

import notary.core.errors as kinds
from notary.core.custody import CustodyAct
from notary.core.errors import InputError, NotaryError
from notary.core.validate import normalise_name
from notary.service.actors import Actor
from notary.service.context import Context
from notary.service.errors import NotFound
from notary.service.webhooks import announce_transfer
from storage.db import (
    ApiKey,
    Batch,
    Case,
    Evidence,
    ShareLink,
    Tenant,
    Transfer,
    session,
    table_of,
    utc,
)

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
DEFAULT_TENANT = "default"
MAX_TENANT_NAME = 128
# A link is a bearer secret sent by e-mail to a court: 90 days covers a hearing's preparation
# (a new link is one call away), while a leaked or forgotten link stops working within a quarter.
MAX_SHARE_TTL = timedelta(days=90)
TRANSFER_REASON = "case transferred"
_CASES = table_of(Case)
_LOCK_CASE = (select(_CASES.c.uid).where(_CASES.c.holder == bindparam("holder"),
                                         _CASES.c.case_id == bindparam("case_id"))
              .with_for_update())


class ShareUnavailable(NotaryError):
    """A share link that expired or was revoked (410)."""

    kind = kinds.GONE

    default_code = "share_expired"


class TenantNotFound(NotFound):
    """No tenant with this slug or legal name."""

    default_code = "tenant_not_found"


def new_case_uid() -> str:
    """A new case's internal id: random, so no reference or tenant can ever collide with it."""
    return "case_" + secrets.token_hex(16)


def legal_name(name: str) -> str:
    """``name`` as stored: NFC, trimmed, inner runs of spaces collapsed; InputError
    ``tenant_name_invalid`` when empty, too long, or with control or invisible characters."""
    value, what = normalise_name(name, MAX_TENANT_NAME)
    if what is not None:
        raise InputError(f"a tenant's legal name is 1 to {MAX_TENANT_NAME} printable characters"
                         f" in any script ({what}) / "
                         f"租户法定名称须为1至{MAX_TENANT_NAME}个可打印字符",
                         code="tenant_name_invalid")
    return value


def slug_for(name: str) -> str:
    """An ASCII slug for a legal name: its Latin letters and digits, or (a name in another
    script) ``t-`` and a hash of the name, stable for the same name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:63].strip("-")
    if not re.search(r"[a-z]", slug):
        slug = "t-" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return slug


def create_tenant(engine: Engine, name: str, slug: str | None = None) -> Tenant:
    """Register a tenant under its legal name (any script); ``slug`` (its id in keys, URLs
    and custody events) is generated from the name unless given. InputError
    ``tenant_name_invalid``, ``tenant_slug_invalid`` or ``tenant_exists``."""
    name = legal_name(name)
    tenant_id = slug if slug is not None else slug_for(name)
    if not _SLUG.fullmatch(tenant_id):
        raise InputError("a tenant slug is 1 to 63 lower-case ASCII letters, digits or '-', "
                         "starting with a letter or digit / 租户标识须为小写ASCII字母、数字或'-'",
                         code="tenant_slug_invalid", slug=tenant_id)
    row = Tenant(id=tenant_id, name=name, created_at=datetime.now(UTC))
    try:
        with session(engine) as s:
            # A name must not be another tenant's slug (or the reverse): a reference would
            # then name two tenants.
            clash = s.exec(select(Tenant).where(or_(
                col(Tenant.id) == tenant_id, col(Tenant.name) == name, col(Tenant.id) == name,
                col(Tenant.name) == tenant_id))).first()
            if clash is not None:
                raise InputError(f"a tenant {clash.id!r} ({clash.name}) exists already; choose "
                                 "another name or slug / 租户已存在", code="tenant_exists",
                                 tenant=clash.id)
            s.add(row)
            s.commit()
            s.refresh(row)
    except IntegrityError:
        raise InputError(f"tenant {tenant_id!r} exists already / 租户已存在",
                         code="tenant_exists") from None
    return row


def resolve_tenant(engine: Engine, ref: str) -> Tenant:
    """The tenant ``ref`` names: its slug, or exactly its legal name (after NFC).
    TenantNotFound (404 ``tenant_not_found``) otherwise."""
    normal = unicodedata.normalize("NFC", ref.strip())
    with session(engine) as s:
        row = s.get(Tenant, normal) or s.exec(select(Tenant).where(Tenant.name == normal)).first()
    if row is None:
        raise TenantNotFound(f"no tenant {ref!r} (a slug or the exact legal name; see "
                             "`notary tenants list`) / 找不到该租户", tenant=ref[:128])
    return row


def ensure_default_tenant(engine: Engine) -> None:
    with session(engine) as s:
        if s.get(Tenant, DEFAULT_TENANT) is None:
            s.add(Tenant(id=DEFAULT_TENANT, name=DEFAULT_TENANT, created_at=datetime.now(UTC)))
            try:
                s.commit()
            except IntegrityError:
                pass


def require_tenant(engine: Engine, ref: str) -> Tenant:
    """Like :func:`resolve_tenant`, for a tenant named in a request body or command line: an
    unknown one is the caller's input error (``tenant_unknown``)."""
    try:
        return resolve_tenant(engine, ref)
    except TenantNotFound:
        raise InputError(f"no tenant {ref!r} (create it with `notary tenants create`)",
                         code="tenant_unknown") from None


def list_tenants(engine: Engine) -> list[Tenant]:
    with session(engine) as s:
        return list(s.exec(select(Tenant).order_by(col(Tenant.id))))


def case_for_submission(s: Session, tenant: str, case_id: str) -> Case:
    """The case ``tenant`` holds under ``case_id``, opened now if it has none (caller commits).

    The row is locked, so a transfer of the case waits for this submission (or this
    submission, once the transfer committed, no longer finds the case and opens a new one of
    the tenant's own)."""
    case = s.exec(select(Case).where(Case.holder == tenant, Case.case_id == case_id)
                  .with_for_update()).first()
    if case is None:
        case = Case(uid=new_case_uid(), case_id=case_id, holder=tenant,
                    opened_by=tenant, created_at=datetime.now(UTC))
        s.add(case)
        s.flush()
    return case


def case_uid_for_submission(s: Session, tenant: str, case_id: str) -> str:
    """:func:`case_for_submission` as Core statements, for the submission path: the uid of
    the case ``tenant`` holds under ``case_id`` (row locked), opened now if it has none."""
    conn = s.connection()
    uid = conn.execute(_LOCK_CASE, {"holder": tenant, "case_id": case_id}).scalar()
    if uid is None:
        uid = new_case_uid()
        conn.execute(insert(_CASES), {"uid": uid, "case_id": case_id, "holder": tenant,
                                      "opened_by": tenant, "created_at": datetime.now(UTC)})
    return str(uid)


def can_see(s: Session, tenant: str, evidence: Evidence) -> bool:
    if evidence.tenant == tenant:
        return True
    case = s.get(Case, evidence.case_uid) if evidence.case_uid else None
    return case is not None and case.holder == tenant


def visible_evidence(engine: Engine, tenant: str, evidence_id: str) -> Evidence:
    """The item if ``tenant`` may see it; NotFound (404) otherwise, whatever the reason."""
    with session(engine) as s:
        row = s.get(Evidence, evidence_id)
        if row is None or not can_see(s, tenant, row):
            raise NotFound(f"no evidence {evidence_id!r}", evidence_id=evidence_id)
        return row


def held_case(engine: Engine, tenant: str, case_id: str) -> Case:
    with session(engine) as s:
        case = s.exec(select(Case).where(Case.holder == tenant, Case.case_id == case_id)).first()
    if case is None:
        raise NotFound(f"no case {case_id!r}", case_id=case_id)
    return case


def case_items(engine: Engine, tenant: str, case_id: str) -> list[Evidence]:
    """Every item of the case ``tenant`` holds as ``case_id``, or its own items filed under
    that reference in a case it handed over; in case order. NotFound when there are none."""
    with session(engine) as s:
        held = s.exec(select(Case).where(Case.holder == tenant, Case.case_id == case_id)).first()
        query = select(Evidence)
        if held is not None:
            query = query.where(Evidence.case_uid == held.uid)
        else:
            query = query.where(Evidence.tenant == tenant, Evidence.case_id == case_id)
        items = list(s.exec(query.order_by(Evidence.case_seq)))  # type: ignore[arg-type]
    if not items:
        raise NotFound(f"no case {case_id!r}", case_id=case_id)
    return items


def transfer_case(ctx: Context, key: ApiKey, case_id: str, to_tenant: str,
                  reason: str | None) -> Transfer:
    """Hand the case to ``to_tenant`` (slug or legal name): it holds the case (and reads its
    items) from now on. Every live share link of the case is revoked. Each item's custody log
    records the revocations and the handover, in the same transaction."""
    engine, custody = ctx.engine, ctx.custody
    to_tenant = require_tenant(engine, to_tenant).id
    if to_tenant == key.tenant:
        raise InputError("the case is already held by this tenant", code="transfer_to_self")
    with session(engine) as s:
        case = s.exec(select(Case).where(Case.holder == key.tenant, Case.case_id == case_id)
                      .with_for_update()).first()
        if case is None:
            raise NotFound(f"no case {case_id!r}", case_id=case_id)
        clash = s.exec(select(Case).where(Case.holder == to_tenant,
                                          Case.case_id == case_id)).first()
        if clash is not None:
            raise NotaryError(f"{to_tenant!r} already holds a case {case_id!r}; the receiving "
                              "tenant must close or rename it first", code="case_id_conflict")
        now, actor = datetime.now(UTC), Actor.of_key(key)
        transfer = Transfer(case_uid=case.uid, from_tenant=key.tenant, to_tenant=to_tenant,
                            actor=actor.label, reason=reason, at=now)
        items = list(s.exec(select(Evidence).where(Evidence.case_uid == case.uid)
                            .order_by(Evidence.case_seq)))  # type: ignore[arg-type]
        live = list(s.exec(select(ShareLink).where(ShareLink.case_uid == case.uid,
                                                   ShareLink.revoked_at.is_(None))  # type: ignore[union-attr]
                           .order_by(ShareLink.created_at)))  # type: ignore[arg-type]
        for link in live:
            link.revoked_at, link.revoked_reason = now, TRANSFER_REASON
            s.add(link)
            for item in items:
                custody.append(s, item, CustodyAct.SHARE_REVOKED, actor=actor,
                               tenant=key.tenant,
                               detail={"share_id": link.id, "reason": TRANSFER_REASON,
                                       "share_tenant": link.tenant})
        case.holder = to_tenant
        s.add(case)
        s.add(transfer)
        detail: dict[str, str | int] = {"from_tenant": key.tenant, "to_tenant": to_tenant}
        if reason:
            detail["reason"] = reason[:1024]
        for item in items:
            custody.append(s, item, CustodyAct.TRANSFERRED, actor=actor,
                           tenant=key.tenant, detail=detail)
        announce_transfer(s, transfer, case_id=case_id, items=len(items))
        s.commit()
        s.refresh(transfer)
        return transfer


def transfers_of(engine: Engine, case_uid: str) -> list[Transfer]:
    with session(engine) as s:
        return list(s.exec(select(Transfer).where(Transfer.case_uid == case_uid)
                           .order_by(Transfer.id)))  # type: ignore[arg-type]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_share(ctx: Context, key: ApiKey, case_id: str, *, ttl: timedelta,
                 label: str | None) -> tuple[ShareLink, str]:
    """A read-only link to one case's bundle and verification page; the token is shown once."""
    if not timedelta(minutes=1) <= ttl <= MAX_SHARE_TTL:
        raise InputError(f"a share link lives between one minute and {MAX_SHARE_TTL.days} days",
                         code="share_ttl_invalid")
    share_id = secrets.token_hex(8)
    token = f"ns_{share_id}_{secrets.token_urlsafe(24)}"
    with session(ctx.engine) as s:
        case = s.exec(select(Case).where(Case.holder == key.tenant,
                                         Case.case_id == case_id)).first()
        if case is None:
            raise NotFound(f"no case {case_id!r}", case_id=case_id)
        now, actor = datetime.now(UTC), Actor.of_key(key)
        link = ShareLink(id=share_id, token_hash=_hash(token), case_uid=case.uid,
                         tenant=key.tenant, created_by=actor.label, label=label,
                         created_at=now, expires_at=now + ttl)
        s.add(link)
        for item in s.exec(select(Evidence).where(Evidence.case_uid == case.uid)):
            ctx.custody.append(s, item, CustodyAct.SHARED, actor=actor, tenant=key.tenant,
                           detail={"share_id": share_id,
                                   "expires_at": link.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")})
        s.commit()
        s.refresh(link)
        return link, token


def revoke_share(ctx: Context, key: ApiKey, case_id: str, share_id: str) -> ShareLink:
    """Revoke a link of the case ``key``'s tenant holds (whoever made it)."""
    with session(ctx.engine) as s:
        case = s.exec(select(Case).where(Case.holder == key.tenant,
                                         Case.case_id == case_id)).first()
        link = s.get(ShareLink, share_id)
        if case is None or link is None or link.case_uid != case.uid:
            raise NotFound(f"no share link {share_id!r}", share_id=share_id)
        if link.revoked_at is None:
            link.revoked_at, link.revoked_reason = datetime.now(UTC), "revoked"
            s.add(link)
            for item in s.exec(select(Evidence).where(Evidence.case_uid == case.uid)):
                ctx.custody.append(s, item, CustodyAct.SHARE_REVOKED, actor=Actor.of_key(key),
                               tenant=key.tenant, detail={"share_id": share_id,
                                                          "share_tenant": link.tenant})
            s.commit()
        return link


def case_shares(ctx: Context, key: ApiKey, case_id: str) -> list[ShareLink]:
    """Every link ever made to the case ``key``'s tenant holds, also those its earlier
    holders made (revoked by the transfer), oldest first."""
    case = held_case(ctx.engine, key.tenant, case_id)
    with session(ctx.engine) as s:
        return list(s.exec(select(ShareLink).where(ShareLink.case_uid == case.uid)
                           .order_by(ShareLink.created_at, ShareLink.id)))  # type: ignore[arg-type]


def open_share(ctx: Context, token: str) -> tuple[ShareLink, Case]:
    """The link and its case for a token; NotFound if unknown, ShareUnavailable (410) if it
    was revoked, has expired, or its tenant no longer holds the case."""
    m = re.fullmatch(r"ns_([0-9a-f]{16})_[A-Za-z0-9_-]{32}", token)
    with session(ctx.engine) as s:
        link = s.get(ShareLink, m.group(1)) if m else None
        if link is None or not secrets.compare_digest(link.token_hash, _hash(token)):
            raise NotFound("no such share link")
        if link.revoked_at is not None:
            why = "because the case was transferred" if link.revoked_reason == TRANSFER_REASON \
                else ""
            raise ShareUnavailable(f"this share link was revoked {why}".strip()
                                   + " / 此分享链接已撤销", code="share_revoked")
        if utc(link.expires_at) <= datetime.now(UTC):
            raise ShareUnavailable("this share link has expired / 此分享链接已过期",
                                   code="share_expired")
        case = s.get(Case, link.case_uid)
        if case is None or case.holder != link.tenant:
            # Belt and braces: a transfer revokes links; a link never outlives its tenant's
            # hold on the case, even one a migration or a crash left behind.
            raise ShareUnavailable("this share link was revoked because the case was "
                                   "transferred / 此分享链接已撤销", code="share_revoked")
        return link, case


def share_key(link: ShareLink) -> ApiKey:
    """A stand-in key for a share link's reader: read-only, in the tenant that made the link
    (which holds the case: open_share checked)."""
    return ApiKey(id=link.id, key_hash="", role="share", tenant=link.tenant,
                  created_at=link.created_at)


@dataclass(frozen=True)
class SharedCase:
    """What a share link opens: the link, its case and holder, the items in case order and
    the anchored batch of each anchored item (by evidence id)."""

    link: ShareLink
    case: Case
    holder_name: str
    items: list[Evidence]
    anchors: dict[str, Batch]


def open_shared_case(ctx: Context, token: str) -> SharedCase:
    """What a share link opens, recorded as viewed in each item's custody log (once per link
    and item per hour: notary.service.custody.COALESCE_WINDOW)."""
    link, case = open_share(ctx, token)
    with session(ctx.engine) as s:
        items = list(s.exec(select(Evidence).where(Evidence.case_uid == case.uid)
                            .order_by(Evidence.case_seq)))  # type: ignore[arg-type]
    actor = Actor.of_key(share_key(link))
    for row in items:
        ctx.record_audit(row.id, "viewed", actor, "case opened by share link",
                         tenant=link.tenant)
    ids = {r.batch_id for r in items if r.batch_id is not None and r.status == "anchored"}
    with session(ctx.engine) as s:
        holder = s.get(Tenant, link.tenant)
        batches = {b.id: b for b in s.exec(select(Batch).where(Batch.id.in_(ids)))  # type: ignore[union-attr]
                   } if ids else {}
    anchors = {r.id: batches[r.batch_id] for r in items
               if r.batch_id in batches and batches[r.batch_id].status == "anchored"}
    return SharedCase(link, case, holder.name if holder else link.tenant, items, anchors)


def shared_item(ctx: Context, token: str, evidence_id: str) -> tuple[ShareLink, Evidence]:
    """The link and one item of its shared case (NotFound for any other item, whoever
    holds it)."""
    link, case = open_share(ctx, token)
    with session(ctx.engine) as s:
        row = s.get(Evidence, evidence_id)
    if row is None or row.case_uid != case.uid:
        raise NotFound(f"no evidence {evidence_id!r}", evidence_id=evidence_id)
    return link, row


def evidence_of_tenant_query(tenant: str) -> ColumnElement[bool]:
    """A filter for listings: what ``tenant`` may see."""
    held = select(Case.uid).where(Case.holder == tenant)
    return or_(col(Evidence.tenant) == tenant, col(Evidence.case_uid).in_(held))
