"""FastAPI dependencies, as ``Annotated`` aliases in one place.

FastAPI runs a plain ``def`` dependency in a worker thread: a hop to the thread pool and
back for each one, several per request, though most of them only read the app's state. So
those are ``async def`` (they run in the event loop and must never block), and the key
lookup goes to a thread only when it needs the database (a key this process has not
believed valid within ``KEY_CACHE_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from notary.service.apikeys import AuthError, Role, cached_caller_key, caller_key
from notary.service.context import Context
from notary.service.notary import NotaryService
from notary.service.ratelimit import RateLimits
from storage.db import ApiKey

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer nk_...`")


def service_of(request: Request) -> NotaryService:
    svc: NotaryService = request.app.state.notary
    return svc


async def get_service(request: Request) -> NotaryService:
    return service_of(request)


ServiceDep = Annotated[NotaryService, Depends(get_service)]


async def get_context(request: Request) -> Context:
    """What a route hands the service function it calls (notary.service.context)."""
    return service_of(request).context


ContextDep = Annotated[Context, Depends(get_context)]


def client_address(request: Request) -> str:
    """The caller's address: the socket peer, or the forwarded one only when the peer is one of
    ``NOTARY_TRUSTED_PROXIES`` (uvicorn rewrites ``client`` then, see Settings.uvicorn_options)."""
    return request.client.host if request.client else "unknown"


async def get_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.limits
    return limits


LimitsDep = Annotated[RateLimits, Depends(get_limits)]


def get_key(request: Request, ctx: Context, limits: RateLimits,
            creds: HTTPAuthorizationCredentials | None) -> ApiKey:
    """The caller's key. A valid key is always let through; a failing attempt from an address
    that failed too often gets 429 instead of 401 (RateLimited), so keys cannot be guessed at
    speed, and a guesser sharing an address (a NAT, an office proxy) cannot lock out the
    holders of valid keys behind it (issue 13). May read the database: not in the loop."""
    address = client_address(request)
    try:
        return caller_key(ctx, creds.credentials if creds else None)
    except AuthError:
        limits.auth_failures.check(address)
        limits.auth_failures.charge(address)
        raise


async def _key(request: Request,
               creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
    """:func:`get_key`, in the event loop when the key is one this process believes valid
    (no database read), else in a worker thread. The service and limits are read here, not
    as dependencies of their own: each dependency costs FastAPI's resolution per request."""
    ctx = service_of(request).context
    key = cached_caller_key(ctx, creds.credentials if creds else None)
    if key is not None:
        return key
    limits: RateLimits = request.app.state.limits
    return await anyio.to_thread.run_sync(get_key, request, ctx, limits, creds)


def _admit(key: ApiKey, allowed: frozenset[str]) -> ApiKey:
    if key.role not in allowed:
        raise AuthError(f"a {key.role} key may not do this", code="forbidden")
    return key


def require(*roles: Role) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency that admits keys holding one of ``roles``."""
    allowed = frozenset(r.value for r in roles)

    async def check(key: Annotated[ApiKey, Depends(_key)]) -> ApiKey:
        return _admit(key, allowed)

    return check


_SUBMITTERS = frozenset({Role.ADMIN.value, Role.COLLECTOR.value})


async def _submission_key(request: Request, key: Annotated[ApiKey, Depends(_key)]) -> ApiKey:
    """An admin's or collector's key, charged one submission (RateLimited when none left)."""
    _admit(key, _SUBMITTERS)
    limits: RateLimits = request.app.state.limits
    limits.submit.take(key.id)
    return key


async def limit_verification(request: Request, limits: LimitsDep) -> None:
    """Spend one of the caller's address's public verifications (RateLimited when none)."""
    limits.verify.take(client_address(request))


AnyKey = Annotated[ApiKey, Depends(_key)]
SubmitKey = Annotated[ApiKey, Depends(_submission_key)]
VerifyLimit = Depends(limit_verification)
ContentKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.COLLECTOR, Role.LAWYER))]
CollectorKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.COLLECTOR))]
