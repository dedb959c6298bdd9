"""A tenant's webhook endpoints as the API manages them: :mod:`notary.service.webhooks` over
the service's context, with private receivers allowed only by NOTARY_WEBHOOK_ALLOW_PRIVATE.

Apart from :mod:`notary.service.webhooks` because the custody log imports that module (to
write the outbox in its transactions), and the context imports the custody log.
"""

from __future__ import annotations

from collections.abc import Iterable

from notary.service.actors import Actor
from notary.service.context import Context
from notary.service.webhooks import (
    create_endpoint,
    delete_endpoint,
    deliveries,
    list_endpoints,
    rotate_secret,
)
from storage.db import WebhookDelivery, WebhookEndpoint


def register_endpoint(ctx: Context, *, tenant: str, actor: Actor, url: str, events: Iterable[str],
                      description: str | None) -> tuple[WebhookEndpoint, str]:
    """A new receiver of ``tenant``'s events; returns the row and its secret (shown once)."""
    return create_endpoint(ctx.engine, ctx.master.webhook_box(), tenant=tenant, actor=actor,
                           url=url, events=events, description=description,
                           allow_private=ctx.settings.webhook_allow_private)


def tenant_endpoints(ctx: Context, tenant: str) -> list[WebhookEndpoint]:
    """The tenant's live endpoints, oldest first."""
    return list_endpoints(ctx.engine, tenant)


def stop_endpoint(ctx: Context, *, tenant: str, endpoint_id: str) -> WebhookEndpoint:
    """Stop one of ``tenant``'s endpoints; its waiting deliveries are cancelled."""
    return delete_endpoint(ctx.engine, tenant=tenant, endpoint_id=endpoint_id)


def new_secret_of(ctx: Context, *, tenant: str, endpoint_id: str) -> tuple[WebhookEndpoint, str]:
    """A new signing secret for one of ``tenant``'s endpoints (shown once)."""
    return rotate_secret(ctx.engine, ctx.master.webhook_box(), tenant=tenant,
                         endpoint_id=endpoint_id)


def endpoint_deliveries(ctx: Context, *, tenant: str, endpoint_id: str, status: str | None,
                        limit: int) -> list[WebhookDelivery]:
    """The endpoint's deliveries, newest first, of one status when given."""
    return deliveries(ctx.engine, tenant=tenant, endpoint_id=endpoint_id, status=status,
                      limit=limit)
