"""FastAPI dependencies, as ``Annotated`` aliases in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from notary.service.apikeys import AuthError, Role, authenticate
from notary.service.notary import NotaryService
from storage.db import ApiKey

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer nk_...`")


def get_service(request: Request) -> NotaryService:
    svc: NotaryService = request.app.state.notary
    return svc


ServiceDep = Annotated[NotaryService, Depends(get_service)]


def get_key(svc: ServiceDep,
            creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
    return authenticate(svc.engine, creds.credentials if creds else None)


def require(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency that admits keys holding one of ``roles``."""
    allowed = {r.value for r in roles}

    def check(key: Annotated[ApiKey, Depends(get_key)]) -> ApiKey:
        if key.role not in allowed:
            raise AuthError(f"a {key.role} key may not do this", code="forbidden")
        return key

    return check


AnyKey = Annotated[ApiKey, Depends(get_key)]
SubmitKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.COLLECTOR))]
ContentKey = Annotated[ApiKey, Depends(require(Role.ADMIN, Role.COLLECTOR, Role.LAWYER))]
