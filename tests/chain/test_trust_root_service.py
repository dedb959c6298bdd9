"""The service's trust root (issue 14 item 3) from its real state on the real anvil: served at
the well-known URL, its fingerprint in /v1/keys, stable while nothing changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from eth_utils import keccak

from notary.chain.registry import connect
from notary.config import DEV_OPERATOR_NAME, Settings
from notary.core.trustroot import kid_thumbprint, verify_trust_root
from notary.service.trustroot import trust_root_for
from tests.support import LiveServer

pytestmark = [pytest.mark.chain]
WELL_KNOWN = "/.well-known/notary-trust-root.json"


def test_served_trust_root_matches_the_chain(server: LiveServer) -> None:
    http = server.client()
    resp = http.get(WELL_KNOWN)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    verified = verify_trust_root(resp.content, resp.headers["x-notary-trust-root-fingerprint"])
    keys = http.get("/v1/keys").json()
    assert keys["trust_root_fingerprint"] == verified.fingerprint

    root, w3 = verified.root, connect(server.service.settings.chain_url)
    assert root.chain_id == 31337 == keys["chain_id"] and root.development is True
    assert root.operator.name == DEV_OPERATOR_NAME
    assert root.genesis_hash == "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    assert root.registry.address == keys["contract"] and root.registry.version == "2"
    assert root.registry.code_keccak256 == "0x" + keccak(w3.eth.get_code(keys["contract"])).hex()
    block = server.service.chain.deployment.block_number  # type: ignore[union-attr]
    assert root.registry.deployment_block == block
    block_hash = "0x" + bytes(w3.eth.get_block(block)["hash"]).hex()
    assert root.registry.deployment_block_hash == block_hash
    account = server.service.chain.registry.account.address  # type: ignore[union-attr]
    assert root.anchoring_accounts == (account,)
    [key] = root.signing_keys
    assert key.kid == keys["keys"][0]["kid"] == verified.signed_by
    record = server.service.chain.registry.signing_key(kid_thumbprint(key.kid))  # type: ignore[union-attr]
    assert key.registered_block == record.registered_block and key.not_after is None
    assert json.loads(resp.content)["public_url"] == server.service.settings.service_url

    again = http.get(WELL_KNOWN)
    assert again.content == resp.content
    assert http.get(WELL_KNOWN, headers={"If-None-Match": resp.headers["etag"]}).status_code == 304


def test_reissued_only_when_content_changes(settings: Settings,
                                            make_server: Callable[..., LiveServer]) -> None:
    first = make_server()
    doc = first.client().get(WELL_KNOWN).content
    first.stop()
    assert trust_root_for(settings).document == doc, "the CLI path serves the same document"

    named = replace(settings, operator_name="上海某某数据科技有限公司",
                    operator_registration="91310000MA1FL0000X", operator_country="CN",
                    public_url="https://notary.example.cn")
    second = make_server(operator_name=named.operator_name,
                         operator_registration=named.operator_registration,
                         operator_country=named.operator_country, public_url=named.public_url)
    resp = second.client().get(WELL_KNOWN)
    renamed = verify_trust_root(resp.content)
    assert resp.content != doc
    assert renamed.root.operator.name == "上海某某数据科技有限公司"
    assert renamed.root.operator.registration == "91310000MA1FL0000X"
    assert renamed.root.operator.country == "CN"
    assert renamed.root.public_url == "https://notary.example.cn"
    assert renamed.fingerprint != verify_trust_root(doc).fingerprint
    assert renamed.root.issued_at > verify_trust_root(doc).root.issued_at
    assert renamed.root.development is True, "the embedded chain is still a development chain"


def test_previous_registries_are_pinned_from_the_chain(
    settings: Settings, make_server: Callable[..., LiveServer]
) -> None:
    """A deployment that moved from a version 1 registry lists it (docs/formats.md 9.9). The
    old registry is stood in for by code without version(): it reverts, as version 1 does."""
    first = make_server()
    w3 = connect(first.service.settings.chain_url)
    old = "0x" + "71" * 20
    w3.provider.make_request("anvil_setCode", [old, "0x60006000fd"])  # always reverts
    first.stop()

    moved = make_server(previous_registries=(old,))
    verified = verify_trust_root(moved.client().get(WELL_KNOWN).content)
    [prev] = verified.root.previous_registries
    assert prev.address.lower() == old and prev.version == "1" and prev.chain_id == 31337
    assert prev.code_keccak256 == "0x" + keccak(bytes.fromhex("60006000fd")).hex()
    assert prev.until_block == verified.root.registry.deployment_block
    moved.stop()

    empty = "0x" + "72" * 20
    from notary.chain.errors import ChainMismatch
    with pytest.raises(ChainMismatch):
        trust_root_for(replace(settings, previous_registries=(empty,)))


def test_cli_prints_the_served_document_and_its_fingerprint(server: LiveServer,
                                                           tmp_path: Path) -> None:
    """`notary trust-root` on the service's machine gives the operator the same bytes the
    well-known URL serves, and the fingerprint a court compares."""
    from tests.cli.conftest import run_notary, server_env

    served = server.client().get(WELL_KNOWN)
    env = {**server_env(server), "NOTARY_CHAIN_PORT": str(server.settings.chain_port),
           "NOTARY_PORT": str(server.settings.port)}  # the same configuration as the service
    out = tmp_path / "trust-root.json"
    done = run_notary("trust-root", "-o", str(out), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == served.content
    assert served.headers["x-notary-trust-root-fingerprint"] in done.stderr
    assert verify_trust_root(out.read_bytes()).fingerprint in done.stderr
