"""The second line of defence: the deployment's current signing key has leaked, so every
signature of a forgery verifies with a key of the trust root. What is left to tell the
forgery apart is on chain, and each pin is tested alone here:

* the registry: the forger anchors in their own copy of EvidenceRegistry on the same chain
  (where they registered the leaked key themselves);
* the sender: an account the registry's admin granted NOTARY_ROLE after the trust root was
  issued anchors in the genuine registry; the trust root pinned before does not list it (and
  the one reissued after the grant does: the trust root follows the chain's role holders).
* the code: the registry's code at the pinned address changed (a development chain allows
  it); only its hash differs from the pinned one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account

from notary.chain.registry import Registry, connect
from notary.chain.setup import chain_account
from notary.core.signing import SigningKey
from notary.core.trustroot import kid_thumbprint, verify_trust_root
from notary.service.trustroot import trust_root_for
from tests.pinning.conftest import (
    Deployment,
    answer,
    assert_refused,
    describe,
    failed,
    sample_files,
    start_deployment,
    verify,
)
from tests.pinning.forge import forge_item, members, seal, statement_of

pytestmark = [pytest.mark.chain]


@dataclass
class Leak:
    chain_url: str
    trust_root: bytes  # pinned before the grant
    reissued: bytes  # the trust root after the grant
    key: SigningKey
    own_registry: str
    own_registry_bundle: bytes
    granted: str
    granted_bundle: bytes


def _funded(w3, account):  # type: ignore[no-untyped-def]
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])
    return account


def _with_item(deployment: Deployment, key: SigningKey, registry: Registry,
               content: bytes) -> bytes:
    """The deployment's one-item case bundle with entry 2 (signed by ``key``, anchored in
    ``registry``) added, and the manifest re-signed by ``key``."""
    files = members(deployment.case_bundle)
    first = statement_of(files, "items/001")
    item = forge_item(first, content=content, file_name="agreement-2026-11-28.pdf", key=key,
                      registry=registry, case_seq=2, prev_statement=first.digest_hex())
    files.update(item.documents)
    files[item.original[0]] = item.original[1]
    return seal(files, key)


@pytest.fixture(scope="module")
def leak(anvil, tmp_path_factory: pytest.TempPathFactory  # type: ignore[no-untyped-def]
         ) -> Iterator[Leak]:
    deployment = start_deployment(tmp_path_factory.mktemp("leak-home"), anvil,
                                  sample_files()[:1])
    settings = deployment.server.settings
    key = deployment.server.service.signing_key
    address = deployment.registry.address
    deployment.server.stop()  # nothing else anchors meanwhile
    w3 = connect(anvil.url)

    # 1. The forger's own registry on the same chain, the leaked key registered there.
    forger = _funded(w3, Account.create())
    own, _ = Registry.deploy(w3, forger)
    own.register_signing_key(kid_thumbprint(key.kid))
    own_bundle = _with_item(deployment, key, own, b"%PDF-1.4\n% own registry\n%%EOF\n")

    # 2. An account the admin grants NOTARY_ROLE after the trust root was issued.
    admin = Registry(w3, address, chain_account(settings))
    extra = _funded(w3, Account.create())
    role = admin.contract.functions.NOTARY_ROLE().call()
    admin._transact(admin.contract.functions.grantRole(role, extra.address), "grantRole")
    granted_bundle = _with_item(deployment, key, Registry(w3, address, extra),
                                b"%PDF-1.4\n% granted account\n%%EOF\n")
    reissued = trust_root_for(settings).document
    yield Leak(anvil.url, deployment.trust_root, reissued, key, own.address, own_bundle,
               extra.address, granted_bundle)


def test_leaked_key_own_registry_fails_on_the_registry(leak: Leak) -> None:
    report = verify(leak.own_registry_bundle, trust_root=leak.trust_root, rpc=leak.chain_url)
    bad = assert_refused(report, "registry")
    assert any(leak.own_registry.lower() in c["reason"].lower() for c in bad), describe(report)
    assert not any(c["name"] in ("keys", "manifest_signature") for c in bad), describe(report)
    assert not any(n["name"].startswith("items[0].") for n in bad), describe(report)
    assert answer(report, "integrity")["status"] == "pass", describe(report)


def test_leaked_key_unlisted_sender_fails_on_the_sender(leak: Leak) -> None:
    report = verify(leak.granted_bundle, trust_root=leak.trust_root, rpc=leak.chain_url)
    bad = assert_refused(report)
    assert any(leak.granted.lower() in c["reason"].lower() for c in bad), describe(report)
    assert not any(c["name"] in ("keys", "manifest_signature") for c in bad), describe(report)
    assert all(c["name"].startswith(("items[1].", "issuer.")) for c in bad), describe(report)


def test_a_role_granted_later_is_in_the_reissued_trust_root(leak: Leak) -> None:
    reissued = verify_trust_root(leak.reissued)
    assert leak.granted in reissued.root.anchoring_accounts
    assert reissued.fingerprint != verify_trust_root(leak.trust_root).fingerprint
    report = verify(leak.granted_bundle, trust_root=leak.reissued, rpc=leak.chain_url)
    assert report["result"] == "valid" and not failed(report), describe(report)


@pytest.fixture(scope="module")
def recoded(anvil, tmp_path_factory: pytest.TempPathFactory  # type: ignore[no-untyped-def]
            ) -> Iterator[tuple[Deployment, str]]:
    """A deployment whose registry's code was changed under it (a development chain lets
    anyone do so: anvil_setCode): one byte appended after the code, so every function and
    every anchor still answer as before; only the code hash is not the pinned one."""
    deployment = start_deployment(tmp_path_factory.mktemp("recoded-home"), anvil,
                                  sample_files()[:1])
    deployment.server.stop()
    w3 = connect(anvil.url)
    address = deployment.registry.address
    code = bytes(w3.eth.get_code(address))
    w3.provider.make_request("anvil_setCode", [address, "0x" + (code + b"\0").hex()])
    yield deployment, address


def test_registry_code_that_is_not_the_pinned_code_fails(
        recoded: tuple[Deployment, str]) -> None:
    deployment, address = recoded
    report = verify(deployment.case_bundle, trust_root=deployment.trust_root,
                    rpc=deployment.chain_url)
    bad = assert_refused(report, "code")
    assert all(c["name"].startswith("issuer.") or c["name"].endswith(".issuer")
               for c in bad), describe(report)
    assert any(address.lower() in c["reason"].lower() for c in bad), describe(report)
