"""Two tenants with keys of their own, and a way to file items over real HTTP."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from notary.service.apikeys import create_key
from notary.service.tenancy import create_tenant
from tests.support import LiveServer


@dataclass
class World:
    server: LiveServer
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    key_ids: dict[tuple[str, str], str] = field(default_factory=dict)

    def http(self, tenant: str, role: str = "admin") -> httpx.Client:
        return self.server.client(self.keys[(tenant, role)])


@pytest.fixture
def world(server: LiveServer) -> World:
    """'lender-a' and 'agency-b', each with an admin, a collector named 'dialer-7' and an
    auditor; the two collectors share the name (names are per tenant)."""
    out = World(server)
    for tenant in ("lender-a", "agency-b"):
        create_tenant(server.service.engine, tenant)
        for role in ("admin", "collector", "auditor"):
            row, token = create_key(server.service.engine, role, tenant=tenant,
                                    name="dialer-7" if role == "collector" else None)
            out.keys[(tenant, role)], out.key_ids[(tenant, role)] = token, row.id
    return out


def file_item(http: httpx.Client, case: str, kind: str = "call_recording",
              body: bytes | None = None, **meta: Any) -> dict[str, Any]:
    """Submit one file (random bytes unless given); the service's 201 answer."""
    answer = http.post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": case, "kind": kind, "distinct": True, **meta})),
        "file": ("call.wav", body if body is not None else os.urandom(64), "audio/wav")})
    assert answer.status_code in (200, 201), answer.text
    item: dict[str, Any] = answer.json()
    return item


def every(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """All pages of GET /v1/evidence with ``params``, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = http.get("/v1/evidence", params={**params, **({"cursor": cursor} if cursor
                                                               else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items
