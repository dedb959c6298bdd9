"""Tenants, cases, who may see what, transfers and share links.

Visibility rule: a tenant sees an evidence item when it holds the item's case now, or when it
submitted the item itself (its own records stay its own after it hands a case over). Anything
else is answered as *not found*, never *forbidden*, so that another tenant's evidence does not
even leak its existence.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import notary.core.errors as kinds
from notary.core.custody import CustodyAct
from notary.core.errors import InputError, NotaryError
from notary.service.custody import CustodyLog
from storage.db import ApiKey, Case, Evidence, ShareLink, Tenant, Transfer, session

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
DEFAULT_TENANT = "default"
MAX_SHARE_TTL = timedelta(days=365)


class NotVisible(NotaryError):
    """Not found, or not this caller's to see (the two are answered alike)."""

    kind = kinds.NOT_FOUND

    default_code = "not_found"


class ShareUnavailable(NotaryError):
    """A share link that expired or was revoked (410)."""

    kind = kinds.GONE

    default_code = "share_expired"


def case_uid_for(tenant: str, case_id: str) -> str:
    """The stable internal id of the case a tenant opened under its own reference."""
    return "case_" + hashlib.sha256(f"{tenant}\0{case_id}".encode()).hexdigest()[:32]


def actor_of(key: ApiKey) -> str:
    """How custody events name who acted: the key and its role and tenant (never a secret)."""
    if key.role == "share":
        return f"share:{key.id} (link of {key.tenant})"
    return f"apikey:{key.id} ({key.role}@{key.tenant})"


# -- minimal stand-ins (helper h2, for the CLI's `tenants create --slug` and `--tenant NAME`):
# another branch reworks create_tenant/resolve_tenant; the integrator keeps that version.


def create_tenant(engine: Engine, name: str, slug: str | None = None) -> Tenant:
    """Register a tenant under its legal ``name`` (any script); its id is ``slug``, or the
    lower-case slug of an ASCII name, or a short stable hash of the name."""
    legal = name.strip()
    if not legal or len(legal) > 128:
        raise InputError("a tenant's legal name is 1 to 128 characters",
                         code="tenant_name_invalid")
    tenant_id = slug.strip() if slug is not None else legal.lower().replace(" ", "-")
    if slug is None and not _SLUG.fullmatch(tenant_id):
        tenant_id = "t-" + hashlib.sha256(legal.encode()).hexdigest()[:12]
    if not _SLUG.fullmatch(tenant_id):
        raise InputError("a tenant slug is lower-case letters, digits or '-' (at most 63)",
                         code="tenant_slug_invalid")
    row = Tenant(id=tenant_id, name=legal, created_at=datetime.now(UTC))
    try:
        with session(engine) as s:
            s.add(row)
            s.commit()
            s.refresh(row)
    except IntegrityError:
        raise InputError(f"tenant {tenant_id!r} or {legal!r} exists already",
                         code="tenant_exists") from None
    return row


def resolve_tenant(engine: Engine, ref: str) -> Tenant:
    """The tenant whose slug or legal name is ``ref``; InputError ``tenant_unknown`` if none."""
    with session(engine) as s:
        row = s.get(Tenant, ref) or s.exec(select(Tenant).where(Tenant.name == ref)).first()
    if row is None:
        raise InputError(f"no tenant {ref!r} (create it with `notary tenants create`)",
                         code="tenant_unknown")
    return row


def list_shares(engine: Engine, key: ApiKey, case_id: str) -> list[ShareLink]:
    """The share links of the case ``key``'s tenant holds (minimal, for GET .../shares)."""
    with session(engine) as s:
        case = s.exec(select(Case).where(Case.holder == key.tenant,
                                         Case.case_id == case_id)).first()
        if case is None:
            raise NotVisible(f"no case {case_id!r}", case_id=case_id)
        return list(s.exec(select(ShareLink).where(ShareLink.case_uid == case.uid)
                           .order_by(ShareLink.created_at)))  # type: ignore[arg-type]

# -- end of stand-ins


def ensure_default_tenant(engine: Engine) -> None:
    with session(engine) as s:
        if s.get(Tenant, DEFAULT_TENANT) is None:
            s.add(Tenant(id=DEFAULT_TENANT, name=DEFAULT_TENANT, created_at=datetime.now(UTC)))
            try:
                s.commit()
            except IntegrityError:
                pass


def require_tenant(engine: Engine, tenant_id: str) -> Tenant:
    with session(engine) as s:
        row = s.get(Tenant, tenant_id)
    if row is None:
        raise InputError(f"no tenant {tenant_id!r} (create it with `notary tenants create`)",
                         code="tenant_unknown")
    return row


def list_tenants(engine: Engine) -> list[Tenant]:
    with session(engine) as s:
        return list(s.exec(select(Tenant).order_by(Tenant.id)))  # type: ignore[arg-type]


def case_for_submission(s: Session, tenant: str, case_id: str) -> Case:
    """The case ``tenant`` holds under ``case_id``, opened now if it has none (caller commits)."""
    case = s.exec(select(Case).where(Case.holder == tenant, Case.case_id == case_id)).first()
    if case is None:
        case = Case(uid=case_uid_for(tenant, case_id), case_id=case_id, holder=tenant,
                    opened_by=tenant, created_at=datetime.now(UTC))
        s.add(case)
        s.flush()
    return case


def can_see(s: Session, tenant: str, evidence: Evidence) -> bool:
    if evidence.tenant == tenant:
        return True
    case = s.get(Case, evidence.case_uid) if evidence.case_uid else None
    return case is not None and case.holder == tenant


def visible_evidence(engine: Engine, tenant: str, evidence_id: str) -> Evidence:
    """The item if ``tenant`` may see it; NotVisible (404) otherwise, whatever the reason."""
    with session(engine) as s:
        row = s.get(Evidence, evidence_id)
        if row is None or not can_see(s, tenant, row):
            raise NotVisible(f"no evidence {evidence_id!r}", evidence_id=evidence_id)
        return row


def held_case(engine: Engine, tenant: str, case_id: str) -> Case:
    with session(engine) as s:
        case = s.exec(select(Case).where(Case.holder == tenant, Case.case_id == case_id)).first()
    if case is None:
        raise NotVisible(f"no case {case_id!r}", case_id=case_id)
    return case


def case_items(engine: Engine, tenant: str, case_id: str) -> list[Evidence]:
    """Every item of the case ``tenant`` holds as ``case_id``, or its own items filed under
    that reference in a case it handed over; in case order. NotVisible when there are none."""
    with session(engine) as s:
        held = s.exec(select(Case).where(Case.holder == tenant, Case.case_id == case_id)).first()
        query = select(Evidence)
        if held is not None:
            query = query.where(Evidence.case_uid == held.uid)
        else:
            query = query.where(Evidence.tenant == tenant, Evidence.case_id == case_id)
        items = list(s.exec(query.order_by(Evidence.case_seq)))  # type: ignore[arg-type]
    if not items:
        raise NotVisible(f"no case {case_id!r}", case_id=case_id)
    return items


def transfer_case(engine: Engine, custody: CustodyLog, key: ApiKey, case_id: str,
                  to_tenant: str, reason: str | None) -> Transfer:
    """Hand the case to ``to_tenant``: it holds the case (and reads its items) from now on.
    Each item's custody log records the handover, in the same transaction."""
    require_tenant(engine, to_tenant)
    if to_tenant == key.tenant:
        raise InputError("the case is already held by this tenant", code="transfer_to_self")
    with session(engine) as s:
        case = s.exec(select(Case).where(Case.holder == key.tenant, Case.case_id == case_id)
                      .with_for_update()).first()
        if case is None:
            raise NotVisible(f"no case {case_id!r}", case_id=case_id)
        clash = s.exec(select(Case).where(Case.holder == to_tenant,
                                          Case.case_id == case_id)).first()
        if clash is not None:
            raise NotaryError(f"{to_tenant!r} already holds a case {case_id!r}; the receiving "
                              "tenant must close or rename it first", code="case_id_conflict")
        now = datetime.now(UTC)
        transfer = Transfer(case_uid=case.uid, from_tenant=key.tenant, to_tenant=to_tenant,
                            actor=actor_of(key), reason=reason, at=now)
        case.holder = to_tenant
        s.add(case)
        s.add(transfer)
        detail: dict[str, str | int] = {"from_tenant": key.tenant, "to_tenant": to_tenant}
        if reason:
            detail["reason"] = reason[:1024]
        for item in s.exec(select(Evidence).where(Evidence.case_uid == case.uid)
                           .order_by(Evidence.case_seq)):  # type: ignore[arg-type]
            custody.append(s, item, CustodyAct.TRANSFERRED, actor=actor_of(key),
                           tenant=key.tenant, detail=detail)
        s.commit()
        s.refresh(transfer)
        return transfer


def transfers_of(engine: Engine, case_uid: str) -> list[Transfer]:
    with session(engine) as s:
        return list(s.exec(select(Transfer).where(Transfer.case_uid == case_uid)
                           .order_by(Transfer.id)))  # type: ignore[arg-type]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_share(engine: Engine, custody: CustodyLog, key: ApiKey, case_id: str, *,
                 ttl: timedelta, label: str | None) -> tuple[ShareLink, str]:
    """A read-only link to one case's bundle and verification page; the token is shown once."""
    if not timedelta(minutes=1) <= ttl <= MAX_SHARE_TTL:
        raise InputError("a share link lives between one minute and one year",
                         code="share_ttl_invalid")
    share_id = secrets.token_hex(8)
    token = f"ns_{share_id}_{secrets.token_urlsafe(24)}"
    with session(engine) as s:
        case = s.exec(select(Case).where(Case.holder == key.tenant,
                                         Case.case_id == case_id)).first()
        if case is None:
            raise NotVisible(f"no case {case_id!r}", case_id=case_id)
        now = datetime.now(UTC)
        link = ShareLink(id=share_id, token_hash=_hash(token), case_uid=case.uid,
                         tenant=key.tenant, created_by=actor_of(key), label=label,
                         created_at=now, expires_at=now + ttl)
        s.add(link)
        for item in s.exec(select(Evidence).where(Evidence.case_uid == case.uid)):
            custody.append(s, item, CustodyAct.SHARED, actor=actor_of(key), tenant=key.tenant,
                           detail={"share_id": share_id,
                                   "expires_at": link.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")})
        s.commit()
        s.refresh(link)
        return link, token


def revoke_share(engine: Engine, custody: CustodyLog, key: ApiKey, case_id: str,
                 share_id: str) -> ShareLink:
    with session(engine) as s:
        case = s.exec(select(Case).where(Case.holder == key.tenant,
                                         Case.case_id == case_id)).first()
        link = s.get(ShareLink, share_id)
        if case is None or link is None or link.case_uid != case.uid:
            raise NotVisible(f"no share link {share_id!r}", share_id=share_id)
        if link.revoked_at is None:
            link.revoked_at = datetime.now(UTC)
            s.add(link)
            for item in s.exec(select(Evidence).where(Evidence.case_uid == case.uid)):
                custody.append(s, item, CustodyAct.SHARE_REVOKED, actor=actor_of(key),
                               tenant=key.tenant, detail={"share_id": share_id})
            s.commit()
        return link


def open_share(engine: Engine, token: str) -> tuple[ShareLink, Case]:
    """The link and its case for a token; NotVisible if unknown, ShareUnavailable (410) if it
    was revoked or has expired."""
    m = re.fullmatch(r"ns_([0-9a-f]{16})_[A-Za-z0-9_-]{32}", token)
    with session(engine) as s:
        link = s.get(ShareLink, m.group(1)) if m else None
        if link is None or not secrets.compare_digest(link.token_hash, _hash(token)):
            raise NotVisible("no such share link")
        if link.revoked_at is not None:
            raise ShareUnavailable("this share link was revoked", code="share_revoked")
        expires = link.expires_at if link.expires_at.tzinfo else link.expires_at.replace(tzinfo=UTC)
        if expires <= datetime.now(UTC):
            raise ShareUnavailable("this share link has expired", code="share_expired")
        case = s.get(Case, link.case_uid)
        assert case is not None
        return link, case


def share_items(engine: Engine, case: Case) -> list[Evidence]:
    with session(engine) as s:
        return list(s.exec(select(Evidence).where(Evidence.case_uid == case.uid)
                           .order_by(Evidence.case_seq)))  # type: ignore[arg-type]


def evidence_of_tenant_query(tenant: str):  # type: ignore[no-untyped-def]
    """A filter for listings: what ``tenant`` may see."""
    held = select(Case.uid).where(Case.holder == tenant)
    return or_(Evidence.tenant == tenant, Evidence.case_uid.in_(held))  # type: ignore[union-attr]
