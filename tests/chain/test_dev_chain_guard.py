"""The production guard (issue 14 item 8): an external chain (NOTARY_RPC_URL) with a development
chain id is refused unless NOTARY_ALLOW_DEV_CHAIN=1 says the deployment is a test."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from notary.chain.embedded import EmbeddedChain
from notary.chain.errors import ChainError
from notary.chain.registry import connect
from notary.chain.setup import DEV_CHAIN_IDS, chain_account, deploy_registry, open_chain
from notary.config import Settings
from notary.core.errors import InputError
from tests.support import REPO, free_port

pytestmark = [pytest.mark.chain]


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    return subprocess.run([sys.executable, "-m", "notary.cli", *args], cwd=REPO,
                          env={**clean, **env}, capture_output=True, text=True, timeout=120,
                          check=False)


def test_known_development_chain_ids() -> None:
    assert {31337, 1337} <= DEV_CHAIN_IDS
    assert not {1, 10, 137, 8453, 11155111} & DEV_CHAIN_IDS, "public chains are not refused"


def test_external_dev_chain_is_refused_unless_allowed(settings: Settings,
                                                      anvil: EmbeddedChain) -> None:
    external = replace(settings, rpc_url=anvil.url, chain_id=31337)
    for attempt in (lambda: open_chain(external), lambda: deploy_registry(external)):
        with pytest.raises(ChainError) as err:
            attempt()
        assert err.value.code == "dev_chain_refused"
        assert "NOTARY_ALLOW_DEV_CHAIN" in err.value.message
        assert "开发链" in err.value.message

    allowed = replace(external, allow_dev_chain=True)
    connect(anvil.url).provider.make_request(  # an operator's account is funded by the operator
        "anvil_setBalance", [chain_account(allowed).address, hex(10**20)])
    deployment = deploy_registry(allowed)
    ctx = open_chain(replace(allowed, contract_address=deployment.address))
    try:
        assert ctx.registry.chain_id == 31337 and ctx.embedded is None
    finally:
        ctx.close()


def test_embedded_dev_chain_is_not_refused(settings: Settings) -> None:
    ctx = open_chain(settings)  # no NOTARY_RPC_URL: our own local chain, plainly a dev set-up
    try:
        assert ctx.registry.chain_id == 31337
    finally:
        ctx.close()


def test_cli_start_names_the_setting(tmp_path: Path, anvil: EmbeddedChain) -> None:
    env = {"NOTARY_HOME": str(tmp_path / "home"), "NOTARY_RPC_URL": anvil.url,
           "NOTARY_CHAIN_ID": "31337", "NOTARY_PORT": str(free_port())}
    run = cli(["run"], env)
    assert run.returncode != 0
    assert "NOTARY_ALLOW_DEV_CHAIN" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    bad = cli(["run"], {**env, "NOTARY_ALLOW_DEV_CHAIN": "maybe"})
    assert bad.returncode != 0 and "NOTARY_ALLOW_DEV_CHAIN must be 1 or 0" in bad.stderr


def test_flag_and_operator_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NOTARY_"):
            monkeypatch.delenv(name)
    plain = Settings.from_env()
    assert plain.allow_dev_chain is False
    assert "development deployment" in plain.operator_name and "开发" in plain.operator_name
    monkeypatch.setenv("NOTARY_ALLOW_DEV_CHAIN", "1")
    monkeypatch.setenv("NOTARY_OPERATOR_NAME", "  上海某某数据科技有限公司 ")
    monkeypatch.setenv("NOTARY_OPERATOR_REGISTRATION", "91310000MA1FL0000X")
    monkeypatch.setenv("NOTARY_OPERATOR_COUNTRY", "cn")
    s = Settings.from_env()
    assert s.allow_dev_chain is True
    assert (s.operator_name, s.operator_registration, s.operator_country) == (
        "上海某某数据科技有限公司", "91310000MA1FL0000X", "CN")
    monkeypatch.setenv("NOTARY_PREVIOUS_REGISTRIES", f" 0x{'ab' * 20}, ,0x{'CD' * 20}")
    assert Settings.from_env().previous_registries == ("0x" + "ab" * 20, "0x" + "CD" * 20)
    monkeypatch.setenv("NOTARY_PREVIOUS_REGISTRIES", "0x1234")
    with pytest.raises(InputError):
        Settings.from_env()
    monkeypatch.delenv("NOTARY_PREVIOUS_REGISTRIES")
    monkeypatch.setenv("NOTARY_OPERATOR_NAME", "Example Ltd\u202e")  # a bidi override
    with pytest.raises(InputError) as bidi:
        Settings.from_env()
    assert "NOTARY_OPERATOR_NAME" in bidi.value.message
    monkeypatch.setenv("NOTARY_OPERATOR_NAME", "x" * 301)
    with pytest.raises(InputError):
        Settings.from_env()
    monkeypatch.setenv("NOTARY_OPERATOR_NAME", "Example Ltd")
    monkeypatch.setenv("NOTARY_OPERATOR_COUNTRY", "China")
    with pytest.raises(InputError) as err:
        Settings.from_env()
    assert "NOTARY_OPERATOR_COUNTRY" in err.value.message
