"""API keys: high-entropy bearer tokens, stored only as SHA-256 hashes.

A token looks like ``nk_<id>_<secret>``: the id lets an operator name a key (in logs, in
revocation) without ever seeing the secret. Because the secret has 256 bits of entropy, a plain
SHA-256 is the right storage hash (a slow password hash would add nothing); the lookup is by
hash and the final comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

import notary.core.errors as kinds
from notary.core.errors import InputError, NotaryError
from notary.core.validate import normalise_name
from notary.keyfiles import write_secret_once
from notary.service.context import Context
from notary.service.errors import NotFound
from storage.db import ApiKey, session

_TOKEN = re.compile(r"nk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")

#: How long a key found valid is believed without reading its row again (every request
#: presents a key; the read was a database round trip per request). A revocation through
#: :func:`revoke_key` in this process takes effect at once (it drops the key from the cache);
#: one made by another process (``notary admin revoke``, another worker of
#: ``notary run --workers N``) within this many seconds. Expiry is checked on every request.
KEY_CACHE_SECONDS = 2.0
_KEY_CACHE_MAX = 10_000
_key_cache: dict[tuple[str, str], tuple[float, ApiKey]] = {}
_key_cache_lock = threading.Lock()
#: Longest name a key may carry (an agent's 工号 with their name, a dialer system's name).
MAX_KEY_NAME = 100


class Role(StrEnum):
    ADMIN = "admin"
    COLLECTOR = "collector"
    LAWYER = "lawyer"
    AUDITOR = "auditor"


class NotFoundKey(NotFound):
    """No such API key (or not one of this admin's tenant)."""

    default_code = "api_key_unknown"


class AuthError(NotaryError):
    """No key, an unknown or revoked key (401), or a key whose role may not do this (403)."""

    kind = kinds.UNAUTHORISED

    default_code = "unauthorized"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def key_name(name: str) -> str:
    """A key's ``name`` as stored and as statements carry it (``submitter_name``): NFC,
    trimmed, inner runs of spaces collapsed. InputError ``api_key_name_invalid`` when empty,
    longer than :data:`MAX_KEY_NAME`, or holding control or invisible characters."""
    if not isinstance(name, str):
        raise InputError("a key's name must be text / 密钥名称须为文本",
                         code="api_key_name_invalid")
    value, what = normalise_name(name, MAX_KEY_NAME)
    if what is not None:
        raise InputError(f"a key's name (who or what uses it: an agent's 工号, a dialer) is 1 to "
                         f"{MAX_KEY_NAME} printable characters in any script ({what}) / "
                         f"密钥名称须为1至{MAX_KEY_NAME}个可打印字符", code="api_key_name_invalid")
    return value


def create_key(engine: Engine, role: Role | str, *, label: str | None = None,
               name: str | None = None, tenant: str = "default",
               expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Make a key; returns the row and the token, which is shown once and never stored.

    ``name`` names the person or system the key belongs to (an agent's 工号, a dialer); the
    statements the key submits carry it as ``submitter_name``: the tenant's claim, which
    notary records but does not verify. ``label`` is an administrator's note, kept private.
    """
    try:
        role = Role(role)
    except ValueError:
        raise InputError(f"unknown role {role!r}; use one of: "
                         + ", ".join(r.value for r in Role), code="role_unknown") from None
    if name is not None:
        name = key_name(name)
    key_id = secrets.token_hex(6)
    token = f"nk_{key_id}_{secrets.token_urlsafe(32)}"
    row = ApiKey(id=key_id, key_hash=_hash(token), role=role.value, tenant=tenant, label=label,
                 name=name, created_at=datetime.now(UTC), expires_at=expires_at)
    with session(engine) as s:
        s.add(row)
        s.commit()
    return row, token


def cached_key(engine: Engine, token: str | None) -> ApiKey | None:
    """The key behind ``token`` when this process believed it valid within
    ``KEY_CACHE_SECONDS`` and it has not expired since; None when only :func:`authenticate`
    can tell (it reads the database). Never reads the database: safe in an event loop."""
    if not token or _TOKEN.fullmatch(token) is None:
        return None
    cached = _key_cache.get((str(engine.url), _hash(token)))
    if cached is None or time.monotonic() - cached[0] >= KEY_CACHE_SECONDS:
        return None
    row = cached[1]
    expires = getattr(row, "expires_at", None)
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) \
            <= datetime.now(UTC):
        return None  # authenticate says why (api_key_expired)
    return row


def authenticate(engine: Engine, token: str | None) -> ApiKey:
    """The key behind ``token``; AuthError (401) when missing, malformed, unknown or revoked."""
    if not token:
        raise AuthError("this endpoint needs an API key: 'Authorization: Bearer <key>'",
                        code="api_key_missing")
    m = _TOKEN.fullmatch(token)
    if m is None:
        raise AuthError("the API key is malformed", code="api_key_invalid")
    digest = _hash(token)
    slot = (str(engine.url), digest)
    cached = _key_cache.get(slot)
    if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
        row: ApiKey | None = cached[1]
    else:
        with session(engine) as s:
            row = s.exec(select(ApiKey).where(ApiKey.id == m.group(1))).first()
        if row is not None and row.revoked_at is None \
                and hmac.compare_digest(row.key_hash, digest):
            with _key_cache_lock:
                if len(_key_cache) >= _KEY_CACHE_MAX:
                    _key_cache.clear()
                _key_cache[slot] = (time.monotonic(), row)
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise AuthError("the API key is not valid", code="api_key_invalid")
    if row.revoked_at is not None:
        raise AuthError("the API key was revoked", code="api_key_revoked")
    expires = getattr(row, "expires_at", None)
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) \
            <= datetime.now(UTC):
        raise AuthError("the API key has expired", code="api_key_expired")
    return row


def revoke_key(engine: Engine, key_id: str, *, tenant: str | None = None) -> ApiKey:
    """Revoke a key (of ``tenant`` only, when given: an admin manages its own tenant's keys)."""
    with session(engine) as s:
        row = s.get(ApiKey, key_id)
        if row is None or (tenant is not None and row.tenant != tenant):
            raise NotFoundKey(f"no API key {key_id!r}", code="api_key_unknown")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            s.add(row)
            s.commit()
        forget_key(key_id)
        return row


def forget_key(key_id: str) -> None:
    """Drop ``key_id`` from this process's cache of valid keys (see KEY_CACHE_SECONDS)."""
    with _key_cache_lock:
        for slot in [slot for slot, (_, row) in _key_cache.items() if row.id == key_id]:
            del _key_cache[slot]


def list_keys(engine: Engine, *, tenant: str | None = None) -> list[ApiKey]:
    query = select(ApiKey)
    if tenant is not None:
        query = query.where(ApiKey.tenant == tenant)
    with session(engine) as s:
        return list(s.exec(query.order_by(ApiKey.created_at)))  # type: ignore[arg-type]


# -- the API's acts: a caller, and an admin managing its own tenant's keys ----------------------

def caller_key(ctx: Context, token: str | None) -> ApiKey:
    """The key an API request presents (see :func:`authenticate`)."""
    return authenticate(ctx.engine, token)


def cached_caller_key(ctx: Context, token: str | None) -> ApiKey | None:
    """:func:`caller_key` without the database, or None (see :func:`cached_key`)."""
    return cached_key(ctx.engine, token)


def issue_key(ctx: Context, admin: ApiKey, role: Role | str, *, name: str | None,
              label: str | None, expires_in: int | None) -> tuple[ApiKey, str]:
    """A new key in ``admin``'s tenant, expiring ``expires_in`` seconds from now (never when
    None); the token is returned once."""
    expires = datetime.now(UTC) + timedelta(seconds=expires_in) if expires_in else None
    return create_key(ctx.engine, role, label=label, name=name, tenant=admin.tenant,
                      expires_at=expires)


def tenant_keys(ctx: Context, admin: ApiKey) -> list[ApiKey]:
    """Every key of ``admin``'s tenant, oldest first."""
    return list_keys(ctx.engine, tenant=admin.tenant)


def withdraw_key(ctx: Context, admin: ApiKey, key_id: str) -> ApiKey:
    """Revoke a key of ``admin``'s tenant (NotFoundKey for any other)."""
    return revoke_key(ctx.engine, key_id, tenant=admin.tenant)


def ensure_admin_key(engine: Engine, keys_dir: Path) -> str | None:
    """On first start make an admin key and write it to ``admin.key`` (0600).

    Returns the token when it was created now (the caller prints it once), else None.
    """
    path = keys_dir.parent / "admin.key"
    with session(engine) as s:
        if s.exec(select(ApiKey).where(ApiKey.role == Role.ADMIN.value)).first() is not None:
            return None
    _row, token = create_key(engine, Role.ADMIN, label="first admin (created at first start)")
    write_secret_once(path, (token + "\n").encode())
    return token
