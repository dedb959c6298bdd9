"""Rotate the statement-signing key (``notary signing-key rotate``), in the order that keeps
every proof verifiable (issue 14).

A verifier accepts a statement only if its key was registered on chain at or before the
anchor's block and retired after it. So, with the service stopped:

1. everything waiting is anchored first, by the old key's own batches (an item still pending
   when its key is retired could never be verified);
2. a new key is made beside the old one (``signing-key.pem.next``, 0600) and registered on chain;
3. the old key is retired on chain (``retireSigningKey``: from that block on nothing it signs
   is accepted);
4. the new key takes the old one's place and the key history retires the old one; the old
   private key is destroyed (it may never sign again).

Each step is checked before it is taken, so a rotation cut short (a crash, a node that stopped
answering) is finished by running the command again. The account needs KEY_ADMIN_ROLE; the
trust root is reissued with a new fingerprint, which the operator files with the court again.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

from sqlalchemy import Engine, func
from sqlmodel import col, select

from notary.chain.registry import Registry
from notary.chain.setup import admin_instruction, open_chain
from notary.config import Settings
from notary.core.errors import InputError
from notary.core.pinning import KeyRegistration
from notary.core.signing import SigningKey
from notary.core.trustroot import kid_thumbprint
from notary.keyfiles import read_secret, record_key_history, write_secret_once
from notary.service.batching import BatchWorker
from notary.service.custody import CustodyLog
from storage.db import CustodyRecord, Evidence, session
from storage.migrate import open_database

log = logging.getLogger("notary.rotation")

KEY_FILE = "signing-key.pem"
NEXT_FILE = "signing-key.pem.next"


class RotationRefused(InputError):
    """The rotation cannot be made now; the message says what to do (nothing was changed by
    the step that refused)."""


@dataclass(frozen=True)
class Rotation:
    old_kid: str
    new_kid: str
    anchored: int  # items and events anchored before the old key was retired
    registered: KeyRegistration
    retired: KeyRegistration


def _key(pem: bytes, settings: Settings) -> SigningKey:
    secret = settings.key_passphrase.encode() if settings.key_passphrase else None
    return SigningKey.from_pem(pem, secret)


def _unanchored(engine: Engine) -> int:
    """Statements and custody events not anchored yet (waiting, or in a batch in flight)."""
    with session(engine) as s:
        items = s.exec(select(func.count()).select_from(Evidence)
                       .where(col(Evidence.status) == "pending")).one()
        events = s.exec(select(func.count()).select_from(CustodyRecord)
                        .where(col(CustodyRecord.status) == "pending")).one()
    return int(items) + int(events)


def _anchor_everything(settings: Settings, registry: Registry, old: SigningKey,
                       timeout: float) -> int:
    """Anchor what is pending (statements and custody events) with this process's worker;
    RotationRefused when another process holds the anchoring lease (the service is running)
    or when it does not finish within ``timeout`` seconds."""
    engine = open_database(settings.db_url)
    # The same worker as the service's, with its custody log: an anchored item gets its
    # 'anchored' custody event (signed by the old key, and anchored in turn before it retires).
    worker = BatchWorker(engine, registry, interval=settings.batch_seconds,
                         batch_max=settings.batch_max, lease_ttl=settings.lease_seconds,
                         replace_after=settings.replace_after_seconds,
                         reorg_window=settings.reorg_window_blocks,
                         custody=CustodyLog(engine, old))
    anchored = 0
    deadline = time.monotonic() + timeout
    try:
        if _unanchored(engine) == 0:
            return 0
        if not worker.lease.try_acquire():
            raise RotationRefused(
                "another process anchors for this deployment (the service is running): stop "
                "it, then rotate / 服务仍在运行：请先停止服务再轮换密钥",
                code="rotation_service_running")
        while (left := _unanchored(engine)) > 0:
            if time.monotonic() > deadline:
                raise RotationRefused(
                    f"{left} record(s) are still not anchored after "
                    f"{timeout:.0f} s; nothing was rotated: check the chain node and run the "
                    "command again / 仍有记录未锚定，未轮换：请检查链节点后重试",
                    code="rotation_pending")
            anchored += worker.run_once()
            time.sleep(0.2)
        return anchored
    finally:
        worker.lease.release()
        engine.dispose()


def rotate_signing_key(settings: Settings, *, timeout: float = 300.0) -> Rotation:
    """Rotate the deployment's statement-signing key (see the module docstring). Raises
    RotationRefused before any change it cannot make, ChainError when the node fails midway
    (run it again to finish)."""
    keys = settings.keys_dir
    current_path, next_path = keys / KEY_FILE, keys / NEXT_FILE
    if not current_path.exists():
        raise RotationRefused(f"{current_path} does not exist: there is no key to rotate",
                              code="rotation_no_key")
    old = _key(read_secret(current_path), settings)
    ctx = open_chain(settings)
    try:
        registry = ctx.registry
        account = registry.account
        if account is None or not registry.has_key_admin(account.address):
            raise RotationRefused(
                f"{account.address if account else 'no account'} lacks KEY_ADMIN_ROLE on "
                f"{registry.address}, so it can neither register nor retire keys; "
                + admin_instruction(registry, old.kid), code="rotation_no_key_admin")
        old_record = registry.signing_key(kid_thumbprint(old.kid))
        anchored = 0
        if not old_record.retired:
            # 1. Nothing the old key signed may be left unanchored when it is retired.
            anchored = _anchor_everything(settings, registry, old, timeout)
        # 2. The new key, made once and kept beside the old one until the swap.
        if not next_path.exists():
            secret = settings.key_passphrase.encode() if settings.key_passphrase else None
            write_secret_once(next_path, SigningKey.generate().to_pem(secret))
        new = _key(read_secret(next_path), settings)
        new_record = registry.signing_key(kid_thumbprint(new.kid))
        if new_record.retired:
            raise RotationRefused(f"the prepared key {new.kid} ({next_path}) is retired on "
                                  "chain: remove that file and run again",
                                  code="rotation_next_retired")
        if not new_record.registered:
            new_record = registry.register_signing_key(kid_thumbprint(new.kid))
        # 3. From this block on, nothing the old key signs is accepted.
        if not old_record.retired:
            if old_record.registered:
                old_record = registry.retire_signing_key(kid_thumbprint(old.kid))
            else:
                log.warning("the old key %s was never registered on chain: nothing to retire",
                            old.kid)
    finally:
        ctx.close()
    # 4. The swap: the new key in place (its file's time is its start in the history), the
    # old one retired in the history and destroyed.
    os.replace(next_path, current_path)
    record_key_history(keys, new)
    log.info("signing key rotated: %s retired, %s in use", old.kid, new.kid)
    return Rotation(old.kid, new.kid, anchored, new_record, old_record)
