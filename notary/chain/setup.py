"""Attach the service to its registry: start the embedded chain if needed, deploy once, reuse.

The deployment (chain id, address, tx, block) is remembered in
``NOTARY_HOME/chain/deployment.json``; a second start attaches to the same contract and refuses to
go on if the chain no longer has it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from notary.chain.account import load_chain_account, load_keystore_file
from notary.chain.embedded import EmbeddedChain
from notary.chain.errors import ChainError, ChainMismatch
from notary.chain.fees import FeePolicy
from notary.chain.light import DEV_CHAIN_IDS, ChainContext, embedded_chain
from notary.chain.registry import Deployment, Registry, connect, node_errors
from notary.config import Settings
from notary.core.errors import KeyMaterialError
from notary.core.pinning import KeyRegistration
from notary.core.trustroot import kid_thumbprint

log = logging.getLogger("notary.chain")

FUNDING_WEI = 1000 * 10**18

def refuse_dev_chain(settings: Settings) -> None:
    """Production guard: an external chain (NOTARY_RPC_URL) with a development chain id is
    refused unless NOTARY_ALLOW_DEV_CHAIN=1 says this deployment is a test. The embedded chain
    is ours and plainly local, so it is not refused."""
    if settings.embedded_chain or settings.allow_dev_chain:
        return
    if settings.chain_id in DEV_CHAIN_IDS:
        raise ChainError(
            f"NOTARY_CHAIN_ID {settings.chain_id} is a development chain that anyone can run with "
            "any clock: refusing it for an external chain (NOTARY_RPC_URL); set "
            "NOTARY_ALLOW_DEV_CHAIN=1 only for a test deployment / "
            f"链 ID {settings.chain_id} 是任何人都可自行运行的开发链，外部链不接受；"
            "仅测试部署可设置 NOTARY_ALLOW_DEV_CHAIN=1",
            code="dev_chain_refused", chain_id=settings.chain_id, setting="NOTARY_ALLOW_DEV_CHAIN")


def _deployment_file(settings: Settings) -> Path:
    return settings.chain_dir / "deployment.json"


def _fund_embedded(w3: Web3, account: LocalAccount) -> None:
    """On the embedded anvil chain our fresh account has no ether: give it some (dev chain only)."""
    if w3.eth.get_balance(account.address) < FUNDING_WEI // 10:
        w3.provider.make_request("anvil_setBalance", [account.address, hex(FUNDING_WEI)])  # type: ignore[arg-type]


def open_chain(settings: Settings, *, start_embedded: bool = True) -> ChainContext:
    """Connect (starting the embedded node when it is ours), then attach to or deploy the registry.

    Raises ChainMismatch when the remembered deployment is not on this chain, ChainUnavailable
    when the node does not answer.
    """
    embedded: EmbeddedChain | None = None
    if settings.embedded_chain and start_embedded:
        embedded = embedded_chain(settings)
        embedded.ensure_running()
        if not embedded.started_here:
            embedded = None  # someone else's process owns it; we must not stop it
    try:
        return _attach(settings, embedded)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise


def chain_account(settings: Settings) -> LocalAccount:
    """The account that signs anchors: an operator keystore (external chains) or our own."""
    if settings.keystore_file is not None:
        passphrase = settings.keystore_passphrase or settings.key_passphrase
        if not passphrase:
            raise KeyMaterialError("NOTARY_KEYSTORE_FILE is set: give its passphrase in "
                                   "NOTARY_KEYSTORE_PASSPHRASE", code="key_passphrase_required")
        return load_keystore_file(settings.keystore_file, passphrase)
    return load_chain_account(settings.keys_dir, settings.key_passphrase)


def fee_policy(settings: Settings) -> FeePolicy:
    gwei = 10**9
    return FeePolicy(
        max_fee_wei=int(settings.max_fee_gwei * gwei) if settings.max_fee_gwei else None,
        priority_fee_wei=int(settings.priority_fee_gwei * gwei) if settings.priority_fee_gwei
        else None,
    )


def _attach(settings: Settings, embedded: EmbeddedChain | None) -> ChainContext:
    refuse_dev_chain(settings)
    registry, deployment = attach_registry(
        settings, settings.chain_url, settings.chain_id, settings.contract_address,
        _deployment_file(settings), setting="NOTARY_CHAIN_ID")
    return ChainContext(deployment, embedded, url=settings.chain_url,
                        timeout=settings.chain_timeout, registry=registry)


def attach_registry(settings: Settings, url: str, expected_chain_id: int, contract: str | None,
                    path: Path, *, setting: str, may_deploy: bool = True
                    ) -> tuple[Registry, Deployment]:
    """The one way to reach a chain's registry (the primary chain's and each second
    anchor's): the node must be on ``expected_chain_id``; the registry is ``contract`` when
    given, else the one remembered in ``path``, else (only when the service runs its own
    development chain, and ``may_deploy``) deployed now and remembered there. The same
    anchoring account signs on every chain (its nonces are per chain)."""
    w3 = connect(url, timeout=settings.chain_timeout)
    account = chain_account(settings)
    kwargs: dict[str, Any] = {"confirmations": settings.confirmations,
                              "timeout": settings.chain_timeout, "fees": fee_policy(settings)}
    with node_errors(url):
        chain_id = int(w3.eth.chain_id)
        if settings.embedded_chain:
            _fund_embedded(w3, account)
    # 1. The node must be on the chain we were told (external) or chose (embedded).
    if chain_id != expected_chain_id:
        raise ChainMismatch(f"the node at {url} is on chain {chain_id}, but "
                            f"{setting} is {expected_chain_id}: refusing to anchor there",
                            expected=expected_chain_id, actual=chain_id)

    # 2. The registry: configured, remembered from an earlier start, or deployed now (embedded).
    if contract:
        registry = Registry(w3, contract, account, **kwargs)
        registry.check_deployment(chain_id)
        deployment = Deployment(chain_id, registry.address, "", 0)
    elif path.exists():
        deployment = Deployment(**json.loads(path.read_text()))
        if deployment.chain_id != chain_id:
            raise ChainMismatch(
                f"{path} records chain {deployment.chain_id}, but the node is on chain {chain_id}"
            )
        registry = Registry(w3, deployment.address, account, **kwargs)
        registry.check_deployment(chain_id)
    elif settings.embedded_chain and may_deploy:
        registry, deployment = Registry.deploy(w3, account, **kwargs)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(deployment.to_json(), indent=2) + "\n")
        tmp.replace(path)
    else:
        raise ChainError(
            f"an external chain ({url}) needs its registry's address "
            "(NOTARY_CONTRACT_ADDRESS, or RPC_URL#CHAIN_ID#CONTRACT in NOTARY_EXTRA_ANCHORS; "
            "deploy with `notary contract deploy`)",
            code="contract_not_configured",
        )
    return registry, deployment


def registry_for(settings: Settings, deployment: Deployment) -> Registry:
    """The registry of a deployment already checked (by the worker's start), through the
    primary chain's node and the anchoring account: what a light context builds at first use."""
    return Registry(connect(settings.chain_url, timeout=settings.chain_timeout),
                    deployment.address, chain_account(settings),
                    confirmations=settings.confirmations, timeout=settings.chain_timeout,
                    fees=fee_policy(settings))


def deploy_registry(settings: Settings, *, admin: str | None = None) -> Deployment:
    """``notary contract deploy``: deploy a new registry on the configured chain (operators).

    The notary account gets the notary role, ``admin`` (default the same account) the admin
    role. Refuses a node on another chain than NOTARY_CHAIN_ID, and a development chain id
    unless NOTARY_ALLOW_DEV_CHAIN=1.
    """
    refuse_dev_chain(settings)
    w3 = connect(settings.chain_url, timeout=settings.chain_timeout)
    account = chain_account(settings)
    with node_errors(settings.chain_url):
        chain_id = int(w3.eth.chain_id)
    if chain_id != settings.chain_id:
        raise ChainMismatch(f"the node at {settings.chain_url} is on chain {chain_id}, but "
                            f"NOTARY_CHAIN_ID is {settings.chain_id}")
    _registry, deployment = Registry.deploy(w3, account, admin=admin,
                                            confirmations=settings.confirmations,
                                            timeout=settings.chain_timeout,
                                            fees=fee_policy(settings))
    return deployment


@dataclass(frozen=True)
class SigningKeyStatus:
    """Where the service's statement-signing key stands on chain after start-up.

    ``status``: ``registered`` (it already was), ``registered_now`` (we registered it),
    ``not_registered`` (our account lacks KEY_ADMIN_ROLE, or the transaction failed: the
    service runs, ``notary doctor`` reports it and ``message`` says what the admin does).
    """

    kid: str
    status: str
    record: KeyRegistration | None
    message: str

    @property
    def ok(self) -> bool:
        return self.status in ("registered", "registered_now")


def admin_instruction(registry: Registry, kid: str) -> str:
    """What the registry's admin does to register ``kid`` (for doctor and the start-up log)."""
    tp = "0x" + kid_thumbprint(kid).hex()
    return (f"from an account holding KEY_ADMIN_ROLE call registerSigningKey({tp}) on "
            f"{registry.address}, or grant KEY_ADMIN_ROLE to the notary account so that the "
            "service registers its keys itself")


def ensure_signing_key_registered(registry: Registry, kid: str) -> SigningKeyStatus:
    """Register the statement-signing key ``kid`` on chain unless it already is.

    A key retired on chain is refused (ChainError ``signing_key_retired``): nothing it signs
    now would be accepted, so the service must not start with it. Without KEY_ADMIN_ROLE, or
    when the registration transaction fails, the service still runs: anchoring does not
    depend on it, and the operator's admin can register the key later.
    """
    thumbprint = kid_thumbprint(kid)
    record = registry.signing_key(thumbprint)
    if record.retired:
        raise ChainError(
            f"the signing key {kid} was retired on chain in block {record.retired_block} "
            f"(registry {registry.address}): a retired key never signs again; move "
            "keys/signing-key.pem aside so that a new key is made",
            code="signing_key_retired", kid=kid, retired_block=record.retired_block)
    if record.registered:
        return SigningKeyStatus(kid, "registered", record,
                               f"signing key {kid} registered on chain in block "
                               f"{record.registered_block}")
    account = registry.account
    if account is None or not registry.has_key_admin(account.address):
        message = (f"signing key {kid} is not registered on chain and "
                   f"{account.address if account else 'no account'} lacks KEY_ADMIN_ROLE: "
                   + admin_instruction(registry, kid))
        log.warning("%s", message)
        return SigningKeyStatus(kid, "not_registered", None, message)
    try:
        record = registry.register_signing_key(thumbprint)
    except ChainError as exc:
        again = registry.signing_key(thumbprint)  # another process may have registered it
        if again.registered and not again.retired:
            return SigningKeyStatus(kid, "registered", again, f"signing key {kid} registered "
                                   f"on chain in block {again.registered_block}")
        message = f"registering signing key {kid} on chain failed: {exc.message} [{exc.code}]"
        log.warning("%s", message)
        return SigningKeyStatus(kid, "not_registered", None, message)
    log.info("registered signing key %s on chain in block %s", kid, record.registered_block)
    return SigningKeyStatus(kid, "registered_now", record,
                           f"signing key {kid} registered on chain in block "
                           f"{record.registered_block} (now)")
