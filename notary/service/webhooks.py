"""Webhooks: a tenant's endpoints, and the outbox their deliveries wait in.

An event is written to the outbox (:class:`storage.db.WebhookDelivery`, one row per
subscribed endpoint) in the same transaction as the custody event it announces, so a crash
after the commit loses nothing: the delivery worker (notary.service.delivery) finds the row
and sends it, at least once, under the row's stable id. Who hears an event: the tenant that
holds the item's case; for a transfer, the tenant handing it over and the one receiving it.

Payloads carry identifiers and chain facts only: no statement content, file names, party
names or free-text reasons (a reason may name a debtor).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlmodel import Session, select

import notary.core.errors as kinds
from notary.core.custody import CustodyAct
from notary.core.errors import InputError
from notary.core.validate import format_rfc3339_utc
from notary.service.actors import Actor
from notary.service.errors import NotFound
from notary.service.itemkeys import SecretBox
from notary.webhook import EVENT_TYPES, SECRET_PREFIX, new_secret
from storage.db import (
    Case,
    Evidence,
    Tenant,
    Transfer,
    WebhookDelivery,
    WebhookEndpoint,
    session,
    table_of,
)

#: At most this many live endpoints per tenant.
MAX_ENDPOINTS = 20
MAX_URL = 2048
DELIVERY_STATUSES = ("pending", "delivered", "failed", "cancelled")
#: The custody acts announced per item, and the event type of each.
_ITEM_EVENTS = {CustodyAct.ANCHORED: "evidence.anchored",
                CustodyAct.SHREDDED: "evidence.shredded",
                CustodyAct.LEGAL_HOLD_SET: "evidence.legal_hold_set",
                CustodyAct.LEGAL_HOLD_LIFTED: "evidence.legal_hold_lifted"}
#: The custody detail fields a payload may repeat (chain facts; never a reason).
_CHAIN_FACTS = ("chain_id", "contract", "batch_id", "tx_hash", "block_number", "root")


class WebhookUnknown(NotFound):
    """No such webhook endpoint (or not one of the caller's tenant)."""

    default_code = "webhook_unknown"


class WebhookLimit(InputError):
    """The tenant has as many endpoints as it may."""

    kind = kinds.CONFLICT

    default_code = "webhook_limit"


class UnsafeDestination(InputError):
    """A receiver address the service may not call (loopback, private, link-local...)."""

    kind = kinds.UNPROCESSABLE

    default_code = "webhook_url_forbidden"


# -- destinations ---------------------------------------------------------------------------------

#: IPv6 forms that carry an IPv4 address in their last 32 bits: NAT64's well-known prefix
#: (RFC 6052) and the deprecated IPv4-compatible form (``::a.b.c.d``).
_EMBEDS_IPV4 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("::/96"))
#: Never called: local-use NAT64 (RFC 8215; where it embeds the IPv4 address is the operator's
#: choice) and the deprecated site-local range.
_REFUSED_V6 = (ipaddress.IPv6Network("64:ff9b:1::/48"), ipaddress.IPv6Network("fec0::/10"))


def _public(address: str) -> bool:
    """True for a global unicast address. An IPv6 address that reaches an IPv4 one (mapped,
    NAT64, 6to4, Teredo, IPv4-compatible) is judged by the IPv4 address it reaches, so
    ``64:ff9b::7f00:1`` is loopback."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED_V6):
            return False
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        embedded += [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
                     for net in _EMBEDS_IPV4 if ip in net]
        if any(v4 is not None and not _public(str(v4)) for v4 in embedded):
            return False
        if ip.ipv4_mapped is not None:
            return True
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a receiver URL: http(s), a host, no credentials, no fragment.
    InputError ``webhook_url_invalid`` otherwise."""
    if not isinstance(url, str) or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise InputError(f"a webhook URL is an http(s) URL of at most {MAX_URL} characters "
                         "/ 回调地址须为 http(s) URL", code="webhook_url_invalid")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (parts.scheme not in ("http", "https") or not parts.hostname or port == -1
            or parts.username is not None or parts.password is not None or parts.fragment):
        raise InputError("a webhook URL is http:// or https://, names a host, and carries no "
                         "user name, password or fragment / 回调地址须为 http(s)，含主机名，"
                         "不含用户名、密码或片段", code="webhook_url_invalid")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses ``host`` resolves to now; UnsafeDestination when any is not public and
    private ones are not allowed (so a name cannot point at the service's own network),
    InputError ``webhook_url_unresolvable`` when it resolves to nothing."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise InputError(f"the webhook host {host!r} does not resolve",
                         code="webhook_url_unresolvable") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise InputError(f"the webhook host {host!r} does not resolve",
                         code="webhook_url_unresolvable")
    if not allow_private and not all(_public(a) for a in addresses):
        raise _unsafe(host)
    return addresses


def _public_name(host: str) -> bool:
    """False for an address literal that is not public and for ``localhost`` names; other
    names are judged by what they resolve to at each attempt (no lookup in the request: a slow
    resolver must not hold an API thread, and a name may point elsewhere tomorrow)."""
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return _public(host)
    except ValueError:
        return True  # a name, not an address


def _unsafe(host: str) -> UnsafeDestination:
    return UnsafeDestination(
        f"the webhook host {host!r} is or resolves to a loopback, private or link-local "
        "address, which this service does not call (NOTARY_WEBHOOK_ALLOW_PRIVATE=1 allows it) "
        "/ 回调地址指向内网或本机地址，不予调用")


# -- endpoints ------------------------------------------------------------------------------------

def _events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if not chosen or unknown:
        raise InputError("subscribe to one or more of: " + ", ".join(EVENT_TYPES)
                         + " / 请从上述事件中选择", code="webhook_events_invalid",
                         unknown=unknown)
    return chosen


def _sealed(box: SecretBox, endpoint_id: str, secret: str) -> str:
    """The secret as the database keeps it: sealed, bound to its endpoint."""
    return box.seal(secret.encode("ascii"), f"webhook/{endpoint_id}")


def open_secret(box: SecretBox, endpoint_id: str, stored: str) -> str:
    """The endpoint's secret from its row. A secret kept before secrets were sealed
    (``whsec_…``) is read as it is until :func:`seal_plain_secrets` seals it.
    KeyMaterialError (``webhook_secret_unreadable``) when it was sealed under another master key or
    for another endpoint."""
    if stored.startswith(SECRET_PREFIX):
        return stored
    return box.open(stored, f"webhook/{endpoint_id}").decode("ascii")


def seal_plain_secrets(engine: Engine, box: SecretBox) -> int:
    """Seal the secrets still kept in clear (rows written before they were sealed); returns
    how many. Run at start, before the delivery worker."""
    with session(engine) as s:
        rows = s.exec(select(WebhookEndpoint).where(
            WebhookEndpoint.secret.startswith(SECRET_PREFIX))).all()
        for row in rows:
            row.secret = _sealed(box, row.id, row.secret)
            s.add(row)
        s.commit()
        return len(rows)


def create_endpoint(engine: Engine, box: SecretBox, *, tenant: str, actor: Actor, url: str,
                    events: Iterable[str], description: str | None,
                    allow_private: bool) -> tuple[WebhookEndpoint, str]:
    """Register a receiver; returns the row and its secret (shown once, kept sealed)."""
    chosen = _events(events)
    _scheme, host, _port = check_url(url)
    if not allow_private and not _public_name(host):
        raise _unsafe(host)
    secret = new_secret()
    endpoint_id = "wh_" + secrets.token_hex(12)
    row = WebhookEndpoint(id=endpoint_id, tenant=tenant, url=url,
                          events=json.dumps(chosen), description=description,
                          secret=_sealed(box, endpoint_id, secret),
                          created_by=actor.label, created_at=datetime.now(UTC))
    with session(engine) as s:
        # Counted holding the tenant's row (PostgreSQL; SQLite serialises writers): two
        # registrations at once cannot both see room for one more.
        s.exec(select(Tenant.id).where(Tenant.id == tenant).with_for_update()).first()
        live = s.exec(select(WebhookEndpoint.id).where(
            WebhookEndpoint.tenant == tenant,
            WebhookEndpoint.deleted_at.is_(None))).all()  # type: ignore[union-attr]
        if len(live) >= MAX_ENDPOINTS:
            raise WebhookLimit(f"a tenant has at most {MAX_ENDPOINTS} webhook endpoints; delete "
                               "one first / 回调端点已达上限")
        s.add(row)
        s.commit()
    return row, secret


def list_endpoints(engine: Engine, tenant: str) -> list[WebhookEndpoint]:
    with session(engine) as s:
        return list(s.exec(select(WebhookEndpoint).where(
            WebhookEndpoint.tenant == tenant, WebhookEndpoint.deleted_at.is_(None))  # type: ignore[union-attr]
            .order_by(WebhookEndpoint.created_at)))  # type: ignore[arg-type]


def _own(s: Session, tenant: str, endpoint_id: str) -> WebhookEndpoint:
    row = s.get(WebhookEndpoint, endpoint_id)
    if row is None or row.tenant != tenant or row.deleted_at is not None:
        raise WebhookUnknown(f"no webhook endpoint {endpoint_id!r} / 无此回调端点",
                             endpoint_id=endpoint_id)
    return row


def delete_endpoint(engine: Engine, *, tenant: str, endpoint_id: str) -> WebhookEndpoint:
    """Stop an endpoint: it hears nothing more and its waiting deliveries are cancelled."""
    with session(engine) as s:
        row = _own(s, tenant, endpoint_id)
        row.deleted_at = datetime.now(UTC)
        s.add(row)
        for waiting in s.exec(select(WebhookDelivery).where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.status == "pending")):
            waiting.status, waiting.leased_by = "cancelled", None
            s.add(waiting)
        s.commit()
        return row


def rotate_secret(engine: Engine, box: SecretBox, *, tenant: str,
                  endpoint_id: str) -> tuple[WebhookEndpoint, str]:
    """A new secret for the endpoint (shown once); the next attempt is signed with it."""
    secret = new_secret()
    with session(engine) as s:
        row = _own(s, tenant, endpoint_id)
        row.secret = _sealed(box, endpoint_id, secret)
        s.add(row)
        s.commit()
        return row, secret


def deliveries(engine: Engine, *, tenant: str, endpoint_id: str, status: str | None,
               limit: int = 100) -> list[WebhookDelivery]:
    """The endpoint's deliveries, newest first, of one status when given."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise InputError("status is one of " + ", ".join(DELIVERY_STATUSES),
                         code="webhook_status_invalid")
    with session(engine) as s:
        row = s.get(WebhookEndpoint, endpoint_id)
        if row is None or row.tenant != tenant:
            raise WebhookUnknown(f"no webhook endpoint {endpoint_id!r} / 无此回调端点",
                                 endpoint_id=endpoint_id)
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        return list(s.exec(query.order_by(WebhookDelivery.created_at.desc())  # type: ignore[attr-defined]
                           .limit(limit)))


# -- the outbox -----------------------------------------------------------------------------------

def enqueue(s: Session, tenants: Collection[str], event_type: str, data: Mapping[str, Any],
            at: datetime | None = None) -> int:
    """Write one delivery per live endpoint of ``tenants`` subscribed to ``event_type``, in
    session ``s`` (the caller commits, with the event). Returns how many."""
    endpoints = [(endpoint_id, tenant) for endpoint_id, tenant, events in _live_endpoints(s)
                 if tenant in tenants and event_type in events]
    if not endpoints:
        return 0
    now = datetime.now(UTC)
    body = json.dumps({"type": event_type, "timestamp": format_rfc3339_utc(at or now),
                       "data": dict(data)}, separators=(",", ":"), sort_keys=True)
    for endpoint_id, tenant in endpoints:
        s.add(WebhookDelivery(id=f"msg_{uuid.uuid4().hex}", endpoint_id=endpoint_id,
                              tenant=tenant, event_type=event_type, payload=body,
                              created_at=now, next_attempt_at=now))
    return len(endpoints)


def _live_endpoints(s: Session) -> list[tuple[str, str, list[str]]]:
    """(id, tenant, events) of every live endpoint, read once per transaction of ``s``: a
    batch of a thousand anchored items asks once, not a thousand times."""
    transaction = s.get_transaction()
    cached = s.info.get("webhook_endpoints")
    if cached is not None and cached[0] is transaction:
        return list(cached[1])
    endpoints = table_of(WebhookEndpoint)  # Core: read in every submission's transaction
    rows = [(r.id, r.tenant, json.loads(r.events)) for r in s.execute(
        select(endpoints.c.id, endpoints.c.tenant, endpoints.c.events)
        .where(endpoints.c.deleted_at.is_(None)))]
    s.info["webhook_endpoints"] = (transaction, rows)
    return rows


def holder_of(s: Session, evidence: Evidence) -> str:
    """The tenant that holds the item's case now (who hears of the item)."""
    case = s.get(Case, evidence.case_uid) if evidence.case_uid else None
    return case.holder if case is not None else evidence.tenant


def announce_custody(s: Session, evidence: Evidence, act: CustodyAct, *, seq: int, at: datetime,
                     detail: Mapping[str, str | int] | None, holder: str | None = None) -> None:
    """The outbox side of one custody event (called by CustodyLog.append, in its
    transaction): the acts of :data:`_ITEM_EVENTS` are announced to the case's holder
    (``holder`` when the caller has the case locked and knows it, else read here)."""
    event_type = _ITEM_EVENTS.get(act)
    if event_type is None:
        return
    if holder is None:
        holder = holder_of(s, evidence)
    data: dict[str, Any] = {"evidence_id": evidence.id, "case_id": evidence.case_id,
                            "tenant": holder, "custody_seq": seq}
    if act is CustodyAct.ANCHORED:
        data |= {k: v for k, v in (detail or {}).items() if k in _CHAIN_FACTS}
    enqueue(s, [holder], event_type, data, at)


def announce_transfer(s: Session, transfer: Transfer, *, case_id: str, items: int) -> None:
    """``case.transferred`` to both the tenant handing the case over and the receiving one
    (in the transfer's transaction)."""
    s.flush()  # the transfer's id
    enqueue(s, [transfer.from_tenant, transfer.to_tenant], "case.transferred",
            {"case_id": case_id, "from_tenant": transfer.from_tenant,
             "to_tenant": transfer.to_tenant, "transfer_id": transfer.id, "items": items},
            transfer.at)


def announce_superseded(s: Session, batch_id: int | None, *, tx_hash: str, block_number: int,
                        block_hash: str, reason: str) -> None:
    """``evidence.anchor_superseded`` for every item of a batch whose anchor the chain no
    longer has (the batch is anchored again; ``evidence.anchored`` follows)."""
    for item in s.exec(select(Evidence).where(Evidence.batch_id == batch_id)):
        holder = holder_of(s, item)
        enqueue(s, [holder], "evidence.anchor_superseded",
                {"evidence_id": item.id, "case_id": item.case_id, "tenant": holder,
                 "superseded_tx_hash": tx_hash, "superseded_block_number": block_number,
                 "superseded_block_hash": block_hash, "reason": reason})
