"""``notary doctor``: check a configuration end to end and say plainly what is wrong.

Each check is independent and never raises: an operator sees every problem at once, not
the first one. Nothing is changed except what a normal start would create (keys, schema).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from notary.config import Settings
from notary.core.errors import NotaryError


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    message: str


def _check(name: str, fn: Callable[[], str]) -> Finding:
    try:
        return Finding(name, True, fn())
    except NotaryError as exc:
        return Finding(name, False, f"{exc.message} [{exc.code}]")
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        return Finding(name, False, f"{type(exc).__name__}: {exc}")


def diagnose(settings: Settings) -> list[Finding]:
    """Run every check against ``settings``."""
    from notary.chain.setup import chain_account, open_chain
    from notary.keyfiles import load_signing_key
    from notary.service.itemkeys import MasterKey
    from storage.migrate import current_revision, head_revision, open_database

    findings: list[Finding] = []

    def home() -> str:
        settings.home.mkdir(parents=True, exist_ok=True)
        if not os.access(settings.home, os.W_OK):
            raise NotaryError(f"{settings.home} is not writable", code="home_not_writable")
        return f"{settings.home} is writable"

    findings.append(_check("data directory", home))
    findings.append(_check("signing key", lambda: (
        f"kid {load_signing_key(settings.keys_dir, settings.key_passphrase).kid}, file mode 0600")))
    findings.append(_check("master key", lambda: (
        MasterKey.load(settings.keys_dir, settings.key_passphrase) and "opens")))

    def database() -> str:
        engine = open_database(settings.db_url)
        try:
            rev, head = current_revision(engine), head_revision()
            if rev != head:
                raise NotaryError(f"schema at {rev}, newest is {head}: run `notary db upgrade`",
                                  code="schema_outdated")
            return f"{engine.dialect.name}, schema at revision {rev}"
        finally:
            engine.dispose()

    findings.append(_check("database", database))

    def blob_store() -> str:
        if settings.blob_store not in ("local", "ipfs"):
            raise NotaryError(f"NOTARY_BLOB_STORE={settings.blob_store!r}: use local or ipfs",
                              code="config_invalid")
        return f"{settings.blob_store} ({settings.blobs_dir if settings.blob_store == 'local' else settings.ipfs_api})"

    findings.append(_check("blob store", blob_store))

    def account() -> str:
        return f"anchors are signed by {chain_account(settings).address}"

    findings.append(_check("chain account", account))

    def chain() -> str:
        ctx = open_chain(settings)
        try:
            reg = ctx.registry
            assert reg.account is not None
            if not reg.is_notary(reg.account.address):
                raise NotaryError(f"{reg.account.address} does not hold NOTARY_ROLE on "
                                  f"{reg.address}: grant it with the admin account",
                                  code="not_notary")
            balance = reg.balance(reg.account.address)
            if balance < 10**15:
                raise NotaryError(f"{reg.account.address} has {balance} wei: fund it to pay "
                                  "for anchors", code="balance_low")
            return (f"chain {reg.chain_id} at {settings.chain_url}, registry {reg.address} "
                    f"(code matches), head batch {reg.head()[1]}, balance {balance / 1e18:.4f}")
        finally:
            ctx.close()

    findings.append(_check("chain and registry", chain))
    findings.append(signing_key_finding(settings))

    def api_port() -> str:
        with socket.socket() as s:
            try:
                s.bind((settings.host, settings.port))
            except OSError:
                return f"{settings.host}:{settings.port} is in use (a running notary?)"
        exposed = settings.host not in ("127.0.0.1", "localhost", "::1")
        return f"{settings.host}:{settings.port}" + (" (listens beyond loopback: put a "
                                                     "reverse proxy with TLS in front)" if exposed else "")

    findings.append(_check("API listener", api_port))
    return findings


def signing_key_finding(settings: Settings) -> Finding:
    """Is the service's statement-signing key registered on chain (issue 14)? Read only.

    Not registered but our account holds KEY_ADMIN_ROLE: fine, the next start registers it.
    Not registered and no KEY_ADMIN_ROLE: ``signing_key_not_registered``, with the call the
    registry's admin makes. Retired on chain: ``signing_key_retired``.
    """
    def check() -> str:
        from notary.chain.setup import admin_instruction, open_chain
        from notary.core.trustroot import kid_thumbprint
        from notary.keyfiles import load_signing_key

        kid = load_signing_key(settings.keys_dir, settings.key_passphrase).kid
        ctx = open_chain(settings)
        try:
            reg = ctx.registry
            record = reg.signing_key(kid_thumbprint(kid))
            if record.retired:
                raise NotaryError(f"signing key {kid} was retired on chain in block "
                                  f"{record.retired_block}: the service refuses to start with "
                                  "it; move keys/signing-key.pem aside to make a new key",
                                  code="signing_key_retired")
            if record.registered:
                return f"kid {kid} registered on {reg.address} in block {record.registered_block}"
            if reg.account is not None and reg.has_key_admin(reg.account.address):
                return (f"kid {kid} not registered yet; {reg.account.address} holds "
                        "KEY_ADMIN_ROLE, so the service registers it when it starts")
            raise NotaryError(f"signing key {kid} not registered on {reg.address}: "
                              + admin_instruction(reg, kid), code="signing_key_not_registered")
        finally:
            ctx.close()

    return _check("signing key on chain", check)
