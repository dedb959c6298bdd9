"""FastAPI dependencies, as ``Annotated`` aliases in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from notary.service.apikeys import AuthError, Role, caller_key
from notary.service.context import Context
from notary.service.notary import NotaryService
from notary.service.ratelimit import RateLimits
from storage.db import ApiKey

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer nk_...`")


def get_service(request: Request) -> NotaryService:
    svc: NotaryService = request.app.state.notary
    return svc


ServiceDep = Annotated[NotaryService, Depends(get_service)]


def get_context(request: Request) -> Context:
    """What a route hands the service function it calls (notary.service.context)."""
    return get_service(request).context


ContextDep = Annotated[Context, Depends(get_context)]


def client_address(request: Request) -> str:
    """The caller's address: the socket peer, or the forwarded one only when the peer is one of
    ``NOTARY_TRUSTED_PROXIES`` (uvicorn rewrites ``client`` then, see Settings.uvicorn_options)."""
    return request.client.host if request.client else "unknown"


def get_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.limits
    return limits


LimitsDep = Annotated[RateLimits, Depends(get_limits)]


def get_key(request: Request, ctx: ContextDep, limits: LimitsDep,
            creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
    """The caller's key. A valid key is always let through; a failing attempt from an address
    that failed too often gets 429 instead of 401 (RateLimited), so keys cannot be guessed at
    speed, and a guesser sharing an address (a NAT, an office proxy) cannot lock out the
    holders of valid keys behind it (issue 13)."""
    address = client_address(request)
    try:
        return caller_key(ctx, creds.credentials if creds else None)
    except AuthError:
        limits.auth_failures.check(address)
        limits.auth_failures.charge(address)
        raise


def require(*roles: Role) -> Callable[[ApiKey], ApiKey]:
    """A dependency that admits keys holding one of ``roles``."""
    allowed = {r.value for r in roles}

    def check(key: Annotated[ApiKey, Depends(get_key)]) -> ApiKey:
        if key.role not in allowed:
            raise AuthError(f"a {key.role} key may not do this", code="forbidden")
        return key

    return check


def _submission_key(limits: LimitsDep,
                    key: Annotated[ApiKey, Depends(require(Role.ADMIN, Role.COLLECTOR))]) -> ApiKey:
    limits.submit.take(key.id)
    return key


def limit_verification(request: Request, limits: LimitsDep) -> None:
    """Spend one of the caller's address's public verifications (RateLimited when none)."""
    limits.verify.take(client_address(request))


AnyKey = Annotated[ApiKey, Depends(get_key)]
SubmitKey = Annotated[ApiKey, Depends(_submission_key)]
VerifyLimit = Depends(limit_verification)
ContentKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.COLLECTOR, Role.LAWYER))]
CollectorKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.COLLECTOR))]
