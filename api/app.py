"""The FastAPI application: wiring only. Routes live in ``api/routes``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors, middleware
from api.routes import (
    bundles,
    calls,
    certificates,
    checks,
    conduct,
    custody,
    deposits,
    docs,
    evidence,
    listing,
    pages,
    privacy,
    public,
    recordings,
    transparency,
    trust,
    webhooks,
)
from notary.config import Settings
from notary.service.notary import NotaryService
from notary.service.ratelimit import RateLimits
from notary.service.recording import Recordings
from notary.service.recording_claims import SessionSweeper


def create_api_app() -> FastAPI:
    """An API process beside a worker process (``notary run --workers N``): it opens its
    service without the chain's web3 client and runs no background job."""
    return create_app(light_chain=True)


def create_app(settings: Settings | None = None, service: NotaryService | None = None, *,
               light_chain: bool = False) -> FastAPI:
    """An app serving ``service`` (or one opened from ``settings`` at start-up;
    ``light_chain``: see :meth:`NotaryService.open`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = service is None
        svc = service or NotaryService.open(settings or Settings.from_env(),
                                            light_chain=light_chain)
        app.state.notary = svc
        app.state.limits = RateLimits.of(svc.settings.rate_submit_per_minute,
                                         svc.settings.rate_verify_per_minute,
                                         svc.settings.rate_auth_failures_per_minute)
        sweeper = SessionSweeper(Recordings(svc.context, svc.notariser).sweep,
                                 svc.settings.recording_timeout_seconds).start()
        try:
            yield
        finally:
            sweeper.stop()
            if owned:
                svc.close()

    app = FastAPI(
        title="notary",
        version="0.1.0",
        summary="Evidence notarisation: signed statements anchored on an EVM chain.",
        lifespan=lifespan,
        # /docs is served from this origin (api/routes/docs.py), not from FastAPI's CDN;
        # /redoc is not served: it has no offline build here, and /docs covers the same.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    errors.install(app)
    middleware.install(app)
    app.include_router(evidence.router)
    app.include_router(deposits.router)
    app.include_router(listing.router)
    app.include_router(public.router)
    app.include_router(certificates.router)
    app.include_router(bundles.router)
    app.include_router(pages.router)
    app.include_router(custody.router)
    app.include_router(privacy.router)
    app.include_router(checks.router)
    app.include_router(docs.router)
    app.include_router(trust.router)
    app.include_router(transparency.router)
    app.include_router(calls.router)
    app.include_router(conduct.router)
    app.include_router(webhooks.router)
    app.include_router(recordings.router)
    return app
