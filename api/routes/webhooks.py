"""Webhook endpoints of a tenant, managed by its admin; their deliveries, with outcomes.

See docs/webhooks.md: what is sent, how it is signed, the retry schedule, the guarantees.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from api.deps import ContextDep, require
from api.schemas import ErrorOut
from notary.core.validate import format_rfc3339_utc
from notary.service.actors import Actor
from notary.service.apikeys import Role
from notary.service.endpoints import (
    endpoint_deliveries,
    new_secret_of,
    register_endpoint,
    stop_endpoint,
    tenant_endpoints,
)
from notary.webhook import EVENT_TYPES, EventType
from storage.db import ApiKey, WebhookDelivery, WebhookEndpoint, utc

router = APIRouter(tags=["webhooks"])

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (400, 401, 403, 404, 409, 422, 429)}
AdminKey = Annotated[ApiKey, Depends(require(Role.ADMIN))]
EndpointId = Annotated[str, Path(pattern=r"^wh_[0-9a-f]{24}$")]


def _t(moment: datetime | None) -> str | None:
    return format_rfc3339_utc(utc(moment)) if moment is not None else None


class WebhookIn(BaseModel):
    model_config = {"extra": "forbid"}
    url: str = Field(max_length=2048, description="http(s) URL of the receiver")
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: str | None = Field(default=None, max_length=256)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    created_at: str
    secret: str | None = Field(default=None, description="whsec_...: shown once, at creation "
                                                         "or rotation")

    @classmethod
    def of(cls, row: WebhookEndpoint, secret: str | None = None) -> WebhookOut:
        return cls(id=row.id, url=row.url, events=json.loads(row.events),
                   description=row.description, created_at=_t(row.created_at) or "",
                   secret=secret)


class DeliveryOut(BaseModel):
    id: str = Field(description="the webhook-id header: the same on every attempt")
    event_type: str
    status: str = Field(description="pending, delivered, failed or cancelled")
    attempts: int
    created_at: str
    last_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: str | None
    delivered_at: str | None

    @classmethod
    def of(cls, row: WebhookDelivery) -> DeliveryOut:
        return cls(id=row.id, event_type=row.event_type, status=row.status,
                   attempts=row.attempts, created_at=_t(row.created_at) or "",
                   last_attempt_at=_t(row.last_attempt_at),
                   last_status_code=row.last_status_code, last_error=row.last_error,
                   next_attempt_at=_t(row.next_attempt_at) if row.status == "pending" else None,
                   delivered_at=_t(row.delivered_at))


@router.post("/v1/webhooks", response_model=WebhookOut, status_code=201, responses=ERRORS)
def post_webhook(body: WebhookIn, ctx: ContextDep, key: AdminKey) -> WebhookOut:
    """Register a receiver for the admin's tenant; the signing secret is in this answer only."""
    row, secret = register_endpoint(ctx, tenant=key.tenant, actor=Actor.of_key(key),
                                    url=body.url, events=body.events,
                                    description=body.description)
    return WebhookOut.of(row, secret)


@router.get("/v1/webhooks", response_model=list[WebhookOut], responses=ERRORS)
def get_webhooks(ctx: ContextDep, key: AdminKey) -> list[WebhookOut]:
    return [WebhookOut.of(r) for r in tenant_endpoints(ctx, key.tenant)]


@router.delete("/v1/webhooks/{endpoint_id}", response_model=WebhookOut, responses=ERRORS)
def delete_webhook(endpoint_id: EndpointId, ctx: ContextDep, key: AdminKey) -> WebhookOut:
    """Stop the endpoint; its waiting deliveries are cancelled (they stay listed)."""
    return WebhookOut.of(stop_endpoint(ctx, tenant=key.tenant, endpoint_id=endpoint_id))


@router.post("/v1/webhooks/{endpoint_id}/rotate-secret", response_model=WebhookOut,
             responses=ERRORS)
def post_rotate_secret(endpoint_id: EndpointId, ctx: ContextDep, key: AdminKey) -> WebhookOut:
    """A new signing secret, shown in this answer only; later attempts are signed with it."""
    row, secret = new_secret_of(ctx, tenant=key.tenant, endpoint_id=endpoint_id)
    return WebhookOut.of(row, secret)


@router.get("/v1/webhooks/{endpoint_id}/deliveries", response_model=list[DeliveryOut],
            responses=ERRORS)
def get_deliveries(endpoint_id: EndpointId, ctx: ContextDep, key: AdminKey,
                   status: Annotated[Literal["pending", "delivered", "failed", "cancelled"]
                                     | None, Query()] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[DeliveryOut]:
    """The endpoint's deliveries, newest first, with the outcome of their last attempt."""
    return [DeliveryOut.of(r) for r in endpoint_deliveries(ctx, tenant=key.tenant,
                                                           endpoint_id=endpoint_id,
                                                           status=status, limit=limit)]
