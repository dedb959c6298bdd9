"""The endpoint limit holds under concurrent registrations: each counts the tenant's endpoints
while holding its tenant row (on PostgreSQL two transactions would otherwise both count 19 and
both insert; SQLite serialises writers), so the twentieth place goes to one of them."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from notary.core.errors import NotaryError
from notary.service.actors import Actor
from notary.service.tenancy import ensure_default_tenant
from notary.service.webhooks import (
    MAX_ENDPOINTS,
    create_endpoint,
    delete_endpoint,
    list_endpoints,
)
from storage.migrate import open_database
from tests.webhooks.receiver import TEST_BOX

pytestmark = pytest.mark.integration



def test_concurrent_registrations_do_not_pass_the_limit(tmp_path: Path,
                                                       database_url: str | None) -> None:
    engine = open_database(database_url or f"sqlite:///{tmp_path / 'hooks.db'}")
    ensure_default_tenant(engine)
    admin = Actor.operator("test")

    def create() -> None:
        create_endpoint(engine, TEST_BOX, tenant="default", actor=admin, url="https://example.com/hook",
                        events=["evidence.anchored"], description=None, allow_private=False)

    for _ in range(MAX_ENDPOINTS - 1):
        create()

    def race(start: threading.Barrier, refused: list[str]) -> None:
        start.wait()
        try:
            create()
        except NotaryError as exc:
            refused.append(exc.code)

    for _ in range(5):  # a race: five rounds, each from one place left
        start, refused = threading.Barrier(8), list[str]()
        threads = [threading.Thread(target=race, args=(start, refused)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        live = [e.id for e in list_endpoints(engine, "default")]
        assert len(live) == MAX_ENDPOINTS, f"{len(live)} endpoints, the limit is {MAX_ENDPOINTS}"
        assert refused == ["webhook_limit"] * 7
        delete_endpoint(engine, tenant="default", endpoint_id=live[-1])
    engine.dispose()
