"""Renewing the RFC 3161 tokens of batch roots before they weaken (RFC 4998 §5.2).

A token proves its genTime only while its TSA certificate is valid, unless a later token over
it, made before that certificate expired, carries the proof on (notary.core.timestamp). So the
anchoring worker, each cycle, renews the latest token of every root whose TSA certificate
expires within ``NOTARY_TSA_RENEW_BEFORE``: it asks the TSA for a token over the SHA-256 of
the latest token's DER and stores it as the next link of ``tsa_renewals``. An operator renews
every root at once with ``notary timestamps renew`` when something else weakens the proofs:
the TSA's key is retired or compromised, or a hash is deprecated (then the new tokens are
over SHA-512 of the previous ones, see docs/bundle-format.md §4.6).

A TSA that fails ends the step (its error is kept for the health report) and the next cycle
tries again: renewal never blocks anchoring.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select

from notary.core.merkle import from_hex32
from notary.core.validate import format_rfc3339_utc
from notary.tsa import RootTimestamp, TimestampAuthority, TimestampError, token_expiry
from storage.db import Batch, TsaRenewal, session

log = logging.getLogger("notary.renewal")

__all__ = ["DEFAULT_RENEW_BEFORE", "RenewalRun", "latest_token", "renew_timestamps",
           "renewal_tokens"]

#: Renew a token when its TSA certificate expires within this many seconds (90 days).
DEFAULT_RENEW_BEFORE = 90 * 86400.0


@dataclass
class RenewalRun:
    """What one pass did: the roots renewed (batch id, link number), and the TSA's error
    that ended it early, if any."""

    renewed: list[tuple[int, int]] = field(default_factory=list)
    error: TimestampError | None = None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def renewal_tokens(engine: Engine, batch_id: int) -> list[bytes]:
    """The renewals of a batch's root token (DER), in order: what a bundle carries."""
    with session(engine) as s:
        rows = s.exec(select(TsaRenewal).where(TsaRenewal.batch_id == batch_id)
                      .order_by(col(TsaRenewal.seq))).all()
    return [base64.b64decode(r.token) for r in rows]


def latest_token(engine: Engine, batch_id: int) -> tuple[int, bytes] | None:
    """The number (0: the root's own token) and DER of the batch's latest token."""
    with session(engine) as s:
        batch = s.get(Batch, batch_id)
        if batch is None or batch.tsa_token is None:
            return None
        last = s.exec(select(TsaRenewal).where(TsaRenewal.batch_id == batch_id)
                      .order_by(col(TsaRenewal.seq).desc()).limit(1)).first()
    if last is None:
        return 0, base64.b64decode(batch.tsa_token)
    return last.seq, base64.b64decode(last.token)


def renew_timestamps(engine: Engine, tsa: TimestampAuthority, *, before: float,
                     force: bool = False, reason: str = "expiry", limit: int = 50,
                     stopped: Callable[[], bool] = lambda: False,
                     now: datetime | None = None) -> RenewalRun:
    """Renew the latest token of (at most ``limit``) timestamped roots whose TSA certificate
    expires within ``before`` seconds, or of every timestamped root when ``force`` (an
    operator's renewal: ``reason`` says why, e.g. ``key-retired``; ``hash-deprecated`` asks
    for a SHA-512 imprint instead of SHA-256). Unforced, a renewal whose
    certificate expires no later than the one it renews is not kept (``tsa_certificate_
    expiring``: the TSA's own certificate needs replacing). Stops at the first failure."""
    run = RenewalRun()
    horizon = (now or datetime.now(UTC)) + timedelta(seconds=before)
    with session(engine) as s:
        query = select(Batch.id, Batch.root, Batch.tsa_expires).where(
            col(Batch.tsa_token).is_not(None))
        if not force:
            query = query.where(or_(col(Batch.tsa_expires).is_(None),
                                    col(Batch.tsa_expires) < horizon))
        due = list(s.exec(query.order_by(col(Batch.tsa_expires), col(Batch.id)).limit(limit)))
    for batch_id, root, stored in due:
        if stopped():
            break
        assert batch_id is not None
        found = latest_token(engine, batch_id)
        if found is None:
            continue
        seq, previous = found
        expires = _utc(stored)
        if expires is None:  # timestamped before expiries were kept: read it once
            expires = token_expiry(previous, tsa.trust_roots)
            _store_expiry(engine, batch_id, expires)
            if not force and (expires is None or expires >= horizon):
                continue
        try:
            stamp = tsa.renew(from_hex32(root), previous,
                              "sha512" if reason == "hash-deprecated" else "sha256")
            if not force and expires is not None and (stamp.expires is None
                                                      or stamp.expires <= expires):
                until = format_rfc3339_utc(stamp.expires) if stamp.expires else "unknown"
                raise TimestampError(
                    f"the TSA at {tsa.url} renews with a certificate valid until {until}, no "
                    f"later than the one it would renew ({format_rfc3339_utc(expires)}): "
                    "its certificate must be replaced before the proofs lapse",
                    code="tsa_certificate_expiring", tsa_url=tsa.url)
        except TimestampError as exc:
            run.error = exc
            log.warning("batch %s: timestamp renewal deferred: %s: %s", batch_id, exc.code,
                        exc.message)
            return run
        try:
            _store(engine, batch_id, seq + 1, stamp, reason)
        except IntegrityError:  # another process (the worker, the CLI) renewed it first
            continue
        log.info("batch %s: root %s timestamp renewed (link %d, %s) at %s", batch_id, root,
                 seq + 1, reason, stamp.gen_time.isoformat())
        run.renewed.append((batch_id, seq + 1))
    return run


def _store(engine: Engine, batch_id: int, seq: int, stamp: RootTimestamp, reason: str) -> None:
    """The renewal as link ``seq``, and its certificate's expiry as the batch's, together."""
    with session(engine) as s:
        s.add(TsaRenewal(batch_id=batch_id, seq=seq,
                         token=base64.b64encode(stamp.response).decode("ascii"),
                         tsa_url=stamp.tsa_url, gen_time=stamp.gen_time,
                         expires=stamp.expires, reason=reason[:32]))
        row = s.get(Batch, batch_id)
        assert row is not None
        row.tsa_expires = stamp.expires
        s.add(row)
        s.commit()


def _store_expiry(engine: Engine, batch_id: int, expires: datetime | None) -> None:
    with session(engine) as s:
        row = s.get(Batch, batch_id)
        if row is not None:
            row.tsa_expires = expires
            s.add(row)
            s.commit()

