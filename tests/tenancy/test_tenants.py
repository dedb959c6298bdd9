"""Issue 12: a tenant has a legal name in any script and an ASCII slug; either names it (in
the CLI, in a transfer); names that only look alike, or hide characters, are refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from notary.core.errors import InputError
from notary.service.tenancy import (
    TenantNotFound,
    create_tenant,
    require_tenant,
    resolve_tenant,
)
from storage.db import make_engine
from storage.migrate import upgrade
from tests.cli.conftest import run_notary, server_env
from tests.support import REPO, LiveServer

HUAXIA = "华夏催收有限公司"


@pytest.fixture
def engine(tmp_path: Path, database_url: str | None):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url or f"sqlite:///{tmp_path / 'notary.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_a_chinese_legal_name_gets_a_slug_and_resolves_by_either(engine) -> None:  # type: ignore[no-untyped-def]
    row = create_tenant(engine, HUAXIA)
    assert row.name == HUAXIA and row.id.startswith("t-") and row.id.isascii()
    assert resolve_tenant(engine, HUAXIA).id == row.id
    assert resolve_tenant(engine, row.id).name == HUAXIA
    assert create_tenant(engine, HUAXIA + "上海分公司").id != row.id


def test_a_latin_name_resolves_by_its_legal_name(engine) -> None:  # type: ignore[no-untyped-def]
    row = create_tenant(engine, "  Huaxia   Collections Ltd ")
    assert (row.id, row.name) == ("huaxia-collections-ltd", "Huaxia Collections Ltd")
    assert resolve_tenant(engine, "Huaxia Collections Ltd").id == "huaxia-collections-ltd"
    assert resolve_tenant(engine, "huaxia-collections-ltd").name == "Huaxia Collections Ltd"
    accents = create_tenant(engine, "Crédit Lyonnais Recouvrement")
    assert accents.id == "credit-lyonnais-recouvrement"


def test_a_given_slug_and_nfc(engine) -> None:  # type: ignore[no-untyped-def]
    row = create_tenant(engine, HUAXIA, slug="huaxia")
    assert row.id == "huaxia"
    decomposed = create_tenant(engine, "Cafe\u0301 Recovery")
    assert decomposed.name == "Caf\u00e9 Recovery"
    assert resolve_tenant(engine, "Cafe\u0301 Recovery").id == decomposed.id
    with pytest.raises(InputError) as bad:
        create_tenant(engine, "Other", slug="Not A Slug")
    assert bad.value.code == "tenant_slug_invalid"


@pytest.mark.parametrize("name", ["", "   ", "A\u200bB Ltd", "Evil\u202eLtd", "Bell\x07",
                                  "Tab\tLtd", "No\u00a0Break", "x" * 129, "Line\u2028Ltd",
                                  "Private\ue000"])
def test_hidden_or_control_characters_are_refused(engine, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as bad:
        create_tenant(engine, name)
    assert bad.value.code == "tenant_name_invalid"


def test_duplicates_and_names_that_are_another_tenants_slug(engine) -> None:  # type: ignore[no-untyped-def]
    create_tenant(engine, "Huaxia Collections Ltd")
    for name, slug in [("Huaxia Collections Ltd", "other"), ("Huaxia Collections Ltd.", None),
                       ("huaxia-collections-ltd", "x2")]:
        with pytest.raises(InputError) as bad:
            create_tenant(engine, name, slug=slug)
        assert bad.value.code == "tenant_exists", (name, slug)


def test_an_unknown_tenant(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TenantNotFound) as missing:
        resolve_tenant(engine, "Nobody Ltd")
    assert missing.value.code == "tenant_not_found"
    with pytest.raises(InputError) as unknown:
        require_tenant(engine, "Nobody Ltd")
    assert unknown.value.code == "tenant_unknown"


def test_the_cli_creates_a_chinese_tenant_and_a_key_by_its_legal_name(
        server: LiveServer) -> None:
    """On the service's machine (its NOTARY_HOME and database), as an operator would."""
    env = server_env(server)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_notary(*args, env=env, cwd=REPO)

    made = cli("tenants", "create", HUAXIA)
    assert made.returncode == 0, made.stderr
    key = cli("keys", "create", "--role", "collector", "--tenant", HUAXIA)
    assert key.returncode == 0, key.stderr
    assert key.stdout.strip()
    listed = cli("tenants", "list")
    assert HUAXIA in listed.stdout
