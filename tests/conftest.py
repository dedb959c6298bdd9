"""Shared fixtures: a real anvil node, real services on real ports, real HTTP.

One anvil process serves the whole session (each test deploys its own registry on it, which
takes one transaction); every service gets its own NOTARY_HOME and SQLite file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from notary.chain.embedded import EmbeddedChain
from notary.config import Settings
from tests.support import LiveServer, free_port


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass (``NOTARY_TEST_POSTGRES`` set), run only the tests that reach a
    database through the ``database_url`` fixture: the others (the pure core, vectors, CLI
    parsing, tools without a database) would run exactly as on the SQLite pass, twice the CI
    time for nothing. They are reported as deselected, never as passed."""
    if not os.environ.get("NOTARY_TEST_POSTGRES"):
        return
    keep = [item for item in items if "database_url" in getattr(item, "fixturenames", ())]
    dropped = [item for item in items if "database_url" not in getattr(item, "fixturenames", ())]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedChain]:
    """A real anvil node for the session, on a free port."""
    chain = EmbeddedChain(tmp_path_factory.mktemp("anvil"), port=free_port())
    chain.start()
    yield chain
    chain.stop()


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """None (SQLite under NOTARY_HOME) unless the suite runs against PostgreSQL
    (``NOTARY_TEST_POSTGRES=postgresql://...``): then a fresh schema for this test alone."""
    base = os.environ.get("NOTARY_TEST_POSTGRES")
    if not base:
        yield None
        return
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{base}?options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def settings(tmp_path: Path, anvil: EmbeddedChain, database_url: str | None) -> Settings:
    """Settings for a fresh service on the session's chain; tests may ``replace`` fields."""
    return Settings(
        home=tmp_path / "home", port=free_port(), chain_port=anvil.port,
        batch_seconds=0.2, batch_max=50, chain_timeout=20.0, database_url=database_url,
    )


@pytest.fixture
def make_server(settings: Settings) -> Iterator[Callable[..., LiveServer]]:
    """Start live servers (``make_server(batch_seconds=...)``); all are stopped at the end."""
    started: list[LiveServer] = []

    def make(**overrides: object) -> LiveServer:
        server = LiveServer(replace(settings, **overrides))  # type: ignore[arg-type]
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server()
