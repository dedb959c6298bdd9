"""This deployment's trust root, built from its state (issue 14 item 3).

The facts come from where a verifier would check them: the chain (chain id, genesis hash, the
registry's code, its NOTARY_ROLE holders, the keys' registration blocks), the public key
history under NOTARY_HOME/keys, and the operator settings. The signed document is kept in
``NOTARY_HOME/trust-root.json`` and reissued (new ``issued_at``, new fingerprint) only when
its content changes (a key rotated, an anchoring account added...), so the fingerprint an
operator files with a court stays the same while nothing changes.

``trust_root_for(settings)`` is what a CLI command (``notary trust-root``) calls; the API calls
:func:`current_trust_root` with the running service.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from eth_hash.auto import keccak

from notary.chain.errors import ChainError, ChainMismatch, ChainUnavailable
from notary.chain.light import DEV_CHAIN_IDS, Deployment, RegistryReads
from notary.config import DEV_OPERATOR_NAME, Settings, extra_anchor_specs
from notary.core.bundle import parse_key_history
from notary.core.errors import NotaryError
from notary.core.signing import SigningKey
from notary.core.trustroot import (
    ExtraChainPin,
    LogPin,
    Operator,
    PreviousRegistry,
    RegistryPin,
    TrustRoot,
    TrustRootKey,
    VerifiedTrustRoot,
    anchoring_accounts,
    kid_thumbprint,
    sign_trust_root,
    verify_trust_root,
)
from notary.core.validate import format_rfc3339_utc
from notary.keyfiles import load_key_history, load_log_key, load_signing_key
from notary.service.context import Context
from notary.service.cosigning import WitnessConfig, log_pin
from notary.service.translog import log_signer

TRUST_ROOT_FILE = "trust-root.json"
#: How long a served trust root is reused before the chain is asked again: a flood of
#: requests to the well-known URL costs the node nothing.
CACHE_SECONDS = 30.0
_PLACEHOLDER = "1970-01-01T00:00:00.000000Z"


@dataclass(frozen=True)
class IssuedTrustRoot:
    """The signed document (canonical bytes, as served and pinned) and what it says."""

    document: bytes
    verified: VerifiedTrustRoot

    @property
    def fingerprint(self) -> str:
        return self.verified.fingerprint


def is_development(settings: Settings, chain_id: int) -> bool:
    """A development deployment: our own local chain, a development chain id, or no operator
    named. Certificates and VERIFY.md will say so (a later step of issue 14)."""
    return (settings.embedded_chain or chain_id in DEV_CHAIN_IDS
            or settings.operator_name == DEV_OPERATOR_NAME)


def build_trust_root(settings: Settings, registry: RegistryReads, deployment: Deployment,
                     issued_at: str) -> TrustRoot:
    """The trust root's content as the chain and the key history say now."""
    chain_id = registry.chain_id
    pin, notaries = _registry_pin(registry, deployment)
    block = pin.deployment_block
    previous = tuple(_previous_registry(registry, address, block)
                     for address in settings.previous_registries)
    key_set, periods = parse_key_history(load_key_history(settings.keys_dir))
    keys = []
    for jwk in key_set["keys"]:
        period = periods[jwk["kid"]]
        record = registry.signing_key(kid_thumbprint(jwk["kid"]))
        keys.append(TrustRootKey(
            jwk={k: jwk[k] for k in ("kty", "crv", "x", "kid")},
            not_before=period.valid_from, not_after=period.valid_until,
            registered_block=record.registered_block if record.registered else None,
            retired_block=record.retired_block if record.retired else None,
        ))
    keys.sort(key=lambda k: (k.not_before, k.kid))
    return TrustRoot(
        issued_at=issued_at,
        development=is_development(settings, chain_id),
        public_url=settings.service_url,
        operator=Operator(name=settings.operator_name,
                          registration=settings.operator_registration or None,
                          country=settings.operator_country or None),
        chain_id=chain_id,
        genesis_hash=registry.block_hash(0),
        registry=pin,
        anchoring_accounts=anchoring_accounts(notaries),
        signing_keys=tuple(keys),
        previous_registries=previous,
        extra_chains=_extra_chains(settings),
        log=_log_pin(settings),
    )


def _log_pin(settings: Settings) -> LogPin:
    """The log's verifier key (from its key file and NOTARY_LOG_ORIGIN) and the witnesses of
    NOTARY_LOG_WITNESSES with NOTARY_LOG_WITNESS_THRESHOLD."""
    signer = log_signer(load_log_key(settings.keys_dir, settings.key_passphrase),
                        settings.log_origin)
    return log_pin(signer.verifier, [WitnessConfig.parse(w) for w in settings.log_witnesses],
                   settings.log_witness_threshold)


def _registry_pin(registry: RegistryReads, deployment: Deployment
                  ) -> tuple[RegistryPin, list[str]]:
    """A registry as its chain shows it (address, code, version, deployment block) and the
    accounts that hold its NOTARY_ROLE: the same facts for the primary and every second
    anchor's chain."""
    block = deployment.block_number if deployment.block_number > 0 else None
    pin = RegistryPin(
        address=registry.address,
        code_keccak256="0x" + registry.code_keccak().hex(),
        version=registry.version(),
        deployment_block=block,
        deployment_block_hash=registry.block_hash(block) if block is not None else None,
    )
    try:
        notaries = registry.notaries(from_block=block or 0)
    except ChainUnavailable:
        raise
    except ChainError:  # a node that refuses a log range from block 0: our own account
        notaries = []
    if not notaries and registry.account is not None and registry.is_notary(
            registry.account.address):
        notaries = [registry.account.address]
    return pin, notaries


def _extra_chains(settings: Settings) -> tuple[ExtraChainPin, ...]:
    """The second anchors' chains as their nodes show them. One whose registry is not
    deployed yet, or whose node does not answer, keeps the pin of the trust root last
    issued (so the fingerprint does not change while a node is down), else is left out
    until it can be pinned (the document is then reissued)."""
    if not extra_anchor_specs(settings):
        return ()  # none configured: web3 stays unloaded in an API process
    from notary.chain.extra import extra_chain_anchors

    stored = read_stored_trust_root(settings)
    out = []
    for extra in extra_chain_anchors(settings):
        try:
            registry = extra.registry(may_deploy=False)
            assert extra.deployment is not None
            pin, notaries = _registry_pin(registry, extra.deployment)
            out.append(ExtraChainPin(extra.chain_id, registry.block_hash(0), pin,
                                     anchoring_accounts(notaries)))
        except NotaryError:
            kept = stored.verified.root.extra_chain(extra.chain_id) if stored else None
            if kept is not None:
                out.append(kept)
    return tuple(sorted(out, key=lambda c: c.chain_id))


def _previous_registry(current: RegistryReads, address: str, until: int | None) -> PreviousRegistry:
    """An earlier registry as the chain shows it: its code hash and version ("1" when it has
    no ``version()``); anchors there count until the current registry's deployment block."""
    old = current.at(address)
    code = old.code_keccak()
    if code == keccak(b""):
        raise ChainMismatch(f"NOTARY_PREVIOUS_REGISTRIES names {old.address}, but there is no "
                            f"contract there on chain {current.chain_id}", contract=old.address)
    try:
        version = old.version()
    except ChainUnavailable:
        raise
    except ChainError:
        version = "1"  # version 1 has no version() and reverts
    return PreviousRegistry(chain_id=current.chain_id, address=old.address,
                            code_keccak256="0x" + code.hex(), version=version,
                            until_block=until)


def issue_trust_root(settings: Settings, registry: RegistryReads, deployment: Deployment,
                     key: SigningKey) -> IssuedTrustRoot:
    """The signed trust root: the stored one while its content is unchanged, else a new one
    (signed by ``key``, stored atomically under NOTARY_HOME)."""
    path = settings.home / TRUST_ROOT_FILE
    content = build_trust_root(settings, registry, deployment, _PLACEHOLDER)
    stored = _read_stored(path)
    if stored is not None and replace(stored.verified.root, issued_at=_PLACEHOLDER) == content:
        return stored
    now = format_rfc3339_utc(datetime.now(UTC))
    document = sign_trust_root(replace(content, issued_at=now), key)
    _write(path, document)
    return IssuedTrustRoot(document, verify_trust_root(document))


def read_stored_trust_root(settings: Settings) -> IssuedTrustRoot | None:
    """The trust root last issued (NOTARY_HOME/trust-root.json), when it is sound."""
    return _read_stored(settings.home / TRUST_ROOT_FILE)


def _read_stored(path: Path) -> IssuedTrustRoot | None:
    try:
        document = path.read_bytes()
        return IssuedTrustRoot(document, verify_trust_root(document))
    except FileNotFoundError:
        return None
    except NotaryError:
        return None  # damaged or from another key: reissued, never served


def _write(path: Path, document: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(document)
    os.replace(tmp, path)


_lock = threading.Lock()
_cache: dict[Settings, tuple[float, IssuedTrustRoot]] = {}


def current_trust_root(ctx: Context) -> IssuedTrustRoot:
    """The running service's trust root, reused for CACHE_SECONDS. ChainUnavailable (503)
    when the service has no chain or the node does not answer."""
    if ctx.chain is None:
        raise ChainUnavailable("this service runs without a chain: it has no trust root")
    with _lock:
        hit = _cache.get(ctx.settings)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        issued = issue_trust_root(ctx.settings, ctx.chain.reader, ctx.chain.deployment,
                                  ctx.signing_key)
        _cache[ctx.settings] = (time.monotonic(), issued)
        return issued


def trust_root_for(settings: Settings) -> IssuedTrustRoot:
    """For ``notary trust-root``: attach to the chain (as a start would), issue, close."""
    from notary.chain.setup import open_chain

    key = load_signing_key(settings.keys_dir, settings.key_passphrase)
    chain = open_chain(settings)
    try:
        return issue_trust_root(settings, chain.registry, chain.deployment, key)
    finally:
        chain.close()
