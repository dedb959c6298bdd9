"""``notary doctor``: check a configuration end to end and say plainly what is wrong.

Each check is independent and never raises: an operator sees every problem at once, not
the first one. Nothing is changed except what a normal start would create (keys, schema).

It also reports crash debris (:func:`find_debris`): partial upload files whose writer died
(a ``kill -9`` mid-upload) and blobs no evidence row references (stored, then killed before
the row was committed). A service start removes both (:func:`sweep_debris`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from notary.config import Settings
from notary.core.errors import NotaryError
from storage.blobs import LocalBlobStore, writer_alive
from storage.db import Evidence, session
from storage.recordings import RecordingSegment

log = logging.getLogger("notary.doctor")


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


@dataclass(frozen=True)
class Debris:
    """What crashed processes left behind and nobody will ever use."""

    partial: tuple[Path, ...]  # temporary / spool files of writers that are gone
    orphans: tuple[Path, ...]  # blobs whose CID no evidence row references

    def __bool__(self) -> bool:
        return bool(self.partial or self.orphans)


def _blob_stores(settings: Settings) -> list[LocalBlobStore]:
    """The local stores of ``settings``: the blob store itself, or the IPFS spool."""
    root = settings.blobs_dir if settings.blob_store == "local" else settings.home / "ipfs-spool"
    return [LocalBlobStore(root)] if root.is_dir() else []


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return path.stat().st_mtime < time.time() - seconds
    except FileNotFoundError:
        return False


def _abandoned(path: Path, grace: float) -> bool:
    """A partial file is abandoned when its writer's PID is dead; a name without a PID
    (older files) when it is older than the grace period."""
    alive = writer_alive(path)
    return _older_than(path, grace) if alive is None else not alive


def find_debris(settings: Settings, engine: Engine) -> Debris:
    """Crash debris under ``settings.home``; only what is provably abandoned, so that several
    API processes sharing NOTARY_HOME never lose a write in progress: a partial file whose
    writer process is gone, and a blob no row references that is older than
    ``NOTARY_ORPHAN_GRACE_SECONDS`` (a concurrent upload stores its blob moments before it
    commits its row). Writer PIDs are this host's: NOTARY_HOME on a network file system
    shared between hosts is not supported."""
    grace = settings.orphan_grace_seconds
    stores = _blob_stores(settings)
    candidates: list[Path] = []
    if settings.spool_dir.is_dir():
        candidates += sorted(p for p in settings.spool_dir.iterdir() if p.is_file())
    for store in stores:
        candidates += store.tmp_files()
    partial = tuple(p for p in candidates if _abandoned(p, grace))
    orphans: list[Path] = []
    if stores:
        with session(engine) as s:
            referenced = set(s.exec(select(Evidence.cid)))
            # a session's segments (open, or failed and kept for an operator) are no orphans
            referenced |= {c for c in s.exec(select(RecordingSegment.cid)) if c is not None}
        for store in stores:
            orphans += [store.path_for(cid) for cid in store.cids()
                        if cid not in referenced and _older_than(store.path_for(cid), grace)]
    return Debris(partial, tuple(orphans))


def sweep_debris(settings: Settings, engine: Engine) -> Debris:
    """Remove :func:`find_debris`'s findings (at start-up); returns what was removed. An
    orphan's CID is looked up once more just before it goes, in case a row arrived."""
    found = find_debris(settings, engine)
    removed_partial = [p for p in found.partial if _unlink(p)]
    removed_orphans = []
    for path in found.orphans:
        with session(engine) as s:
            if s.exec(select(Evidence.id).where(Evidence.cid == path.name)).first() is None \
                    and s.exec(select(RecordingSegment.n).where(
                        RecordingSegment.cid == path.name)).first() is None \
                    and _unlink(path):
                removed_orphans.append(path)
    if removed_partial or removed_orphans:
        log.warning("removed crash debris: %d partial upload file(s), %d orphan blob(s)",
                    len(removed_partial), len(removed_orphans))
    return Debris(tuple(removed_partial), tuple(removed_orphans))


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _listing(paths: tuple[Path, ...]) -> str:
    shown = ", ".join(str(p) for p in paths[:5])
    return shown + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


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

    def master_key() -> str:
        MasterKey.load(settings.keys_dir, settings.key_passphrase)
        return "opens"

    findings.append(_check("master key", master_key))

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
        where = settings.blobs_dir if settings.blob_store == "local" else settings.ipfs_api
        return f"{settings.blob_store} ({where})"

    findings.append(_check("blob store", blob_store))

    def debris() -> tuple[Finding, Finding]:
        engine = open_database(settings.db_url)
        try:
            found = find_debris(settings, engine)
        finally:
            engine.dispose()
        partial = Finding("partial uploads", not found.partial, (
            f"{len(found.partial)} file(s) left by crashed uploads (removed at the next "
            f"start): {_listing(found.partial)}") if found.partial else
            "no partial upload files of crashed processes")
        orphans = Finding("orphan blobs", not found.orphans, (
            f"{len(found.orphans)} blob(s) that no evidence references (stored, then the "
            f"service died before recording them; removed at the next start): "
            f"{_listing(found.orphans)}") if found.orphans else
            "every stored blob belongs to an evidence item")
        return partial, orphans

    try:
        findings.extend(debris())
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        findings.append(Finding("crash debris", False, f"{type(exc).__name__}: {exc}"))

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
        return f"{settings.host}:{settings.port}" + (
            " (listens beyond loopback: put a reverse proxy with TLS in front)" if exposed else "")

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
