"""Statement-signing keys bound on chain (issue 14 item 2), against the real anvil node: the
adapter's calls, the service registering its key at start-up, and `notary doctor`'s check."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from notary.chain.errors import AnchorRejected, ChainError
from notary.chain.registry import Registry, connect
from notary.chain.setup import chain_account, ensure_signing_key_registered
from notary.config import Settings
from notary.core.signing import SigningKey
from notary.core.trustroot import kid_thumbprint
from notary.keyfiles import load_signing_key
from notary.service.doctor import signing_key_finding
from notary.service.notary import NotaryService

pytestmark = [pytest.mark.chain]


def funded(w3, account: LocalAccount | None = None) -> LocalAccount:  # type: ignore[no-untyped-def]
    account = account or Account.create()
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])
    return account


@pytest.fixture
def registry(anvil) -> Registry:  # type: ignore[no-untyped-def]
    w3 = connect(anvil.url)
    reg, _ = Registry.deploy(w3, funded(w3))
    return reg


def test_register_read_and_retire_a_key(registry: Registry) -> None:
    assert registry.version() == "2"
    assert registry.account is not None and registry.has_key_admin(registry.account.address)
    thumbprint = kid_thumbprint(SigningKey.generate().kid)
    unknown = registry.signing_key(thumbprint)
    assert not unknown.registered and not unknown.retired
    assert (unknown.registered_at, unknown.registered_block) == (0, 0)

    record = registry.register_signing_key(thumbprint)
    block = registry.w3.eth.get_block(record.registered_block)
    assert record.registered and not record.retired
    assert record.registered_at == block["timestamp"]
    assert registry.signing_key(thumbprint) == record

    registry.w3.provider.make_request("evm_increaseTime", [600])
    retired = registry.retire_signing_key(thumbprint)
    assert retired.retired and retired.retired_block > record.registered_block
    assert retired.retired_at >= record.registered_at + 600
    assert (retired.registered_at, retired.registered_block) == (record.registered_at,
                                                                 record.registered_block)
    logs = registry.contract.events.SigningKeyRetired().get_logs(
        from_block=retired.retired_block, to_block=retired.retired_block)
    assert [bytes(log["args"]["thumbprint"]) for log in logs] == [thumbprint]


@pytest.mark.parametrize("case,code", [
    ("twice", "EvidenceRegistrySigningKeyAlreadyRegistered"),
    ("again-after-retirement", "EvidenceRegistrySigningKeyRetired"),
    ("retire-unknown", "EvidenceRegistrySigningKeyNotRegistered"),
    ("zero", "EvidenceRegistryZeroThumbprint"),
])
def test_key_refusals_are_named(registry: Registry, case: str, code: str) -> None:
    tp = os.urandom(32)
    with pytest.raises(AnchorRejected) as err:
        if case == "twice":
            registry.register_signing_key(tp)
            registry.register_signing_key(tp)
        elif case == "again-after-retirement":
            registry.register_signing_key(tp)
            registry.retire_signing_key(tp)
            registry.register_signing_key(tp)
        elif case == "retire-unknown":
            registry.retire_signing_key(tp)
        else:
            registry.register_signing_key(b"\0" * 32)
    assert err.value.code == code


def test_only_a_key_admin_writes_keys(registry: Registry) -> None:
    stranger = Registry(registry.w3, registry.address, funded(registry.w3))
    assert stranger.account is not None and not stranger.has_key_admin(stranger.account.address)
    with pytest.raises(AnchorRejected) as err:
        stranger.register_signing_key(os.urandom(32))
    assert err.value.code == "AccessControlUnauthorizedAccount"
    with pytest.raises(ChainError) as bad:
        registry.signing_key(b"short")
    assert bad.value.code == "thumbprint_invalid"


def test_ensure_registers_once_and_refuses_a_retired_key(registry: Registry) -> None:
    kid = SigningKey.generate().kid
    first = ensure_signing_key_registered(registry, kid)
    assert first.status == "registered_now" and first.ok and first.record is not None
    again = ensure_signing_key_registered(registry, kid)
    assert again.status == "registered" and again.record == first.record
    registry.retire_signing_key(kid_thumbprint(kid))
    with pytest.raises(ChainError) as err:
        ensure_signing_key_registered(registry, kid)
    assert err.value.code == "signing_key_retired" and "retired" in err.value.message


def test_service_registers_its_key_at_start(settings: Settings) -> None:
    svc = NotaryService.open(settings, run_worker=False)
    try:
        assert svc.key_registration is not None
        assert svc.key_registration.status == "registered_now"
        assert svc.chain is not None
        record = svc.chain.registry.signing_key(kid_thumbprint(svc.signing_key.kid))
        assert record.registered and not record.retired
        assert record == svc.key_registration.record
    finally:
        svc.close()
    doctor = signing_key_finding(settings)
    assert doctor.ok, doctor.message
    assert svc.signing_key.kid in doctor.message and "registered" in doctor.message

    again = NotaryService.open(settings, run_worker=False)  # a restart: nothing new to send
    try:
        assert again.key_registration is not None
        assert again.key_registration.status == "registered"
        assert again.chain is not None
        again.chain.registry.retire_signing_key(kid_thumbprint(again.signing_key.kid))
    finally:
        again.close()
    with pytest.raises(ChainError) as err:
        NotaryService.open(settings, run_worker=False)
    assert err.value.code == "signing_key_retired"
    retired = signing_key_finding(settings)
    assert not retired.ok and "[signing_key_retired]" in retired.message


def test_without_key_admin_the_service_runs_and_doctor_says_what_to_do(
    settings: Settings, anvil  # type: ignore[no-untyped-def]
) -> None:
    """An external set-up: the admin is a separate (cold) account, the service's account only
    anchors. The service starts and anchors; doctor names the missing registration."""
    w3 = connect(anvil.url)
    ours = funded(w3, chain_account(settings))
    admin = funded(w3)
    reg, deployment = Registry.deploy(w3, ours, admin=admin.address)
    configured = replace(settings, contract_address=deployment.address)

    svc = NotaryService.open(configured, run_worker=False)
    try:
        assert svc.key_registration is not None
        assert svc.key_registration.status == "not_registered" and not svc.key_registration.ok
        assert "registerSigningKey(0x" in svc.key_registration.message
        kid = svc.signing_key.kid
    finally:
        svc.close()

    finding = signing_key_finding(configured)
    assert not finding.ok
    assert "[signing_key_not_registered]" in finding.message
    assert "0x" + kid_thumbprint(kid).hex() in finding.message

    Registry(w3, deployment.address, admin).register_signing_key(kid_thumbprint(kid))
    assert signing_key_finding(configured).ok
    assert load_signing_key(configured.keys_dir, configured.key_passphrase).kid == kid
    assert reg.signing_key(kid_thumbprint(kid)).registered
