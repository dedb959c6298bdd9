"""Retention: shred each tenant's evidence when its purpose has ended, by rule, on a schedule.

A rule says "shred evidence of kind K, N days after its case was closed" (``after`` =
``case_closed``) or "N days after it was received" (``after`` = ``received``). The job shreds
what is due, skips what is under a legal hold, and reports what it did; shredding goes through
:func:`notary.service.shredding.shred`, so every shred has its custody event and certificate.
Only one process runs the job at a time (a lease, like anchoring).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from notary.core.errors import InputError
from notary.core.statement import EvidenceKind
from notary.service.actors import RETENTION, Actor
from notary.service.context import Context
from notary.service.errors import NotFound
from notary.service.lease import Lease
from notary.service.shredding import LegalHold, shred, sweep_ciphertexts
from storage.db import Case, Evidence, RetentionRule, session

log = logging.getLogger("notary.retention")

AFTER = ("case_closed", "received")
MAX_DAYS = 100 * 366


def set_rule(ctx: Context, *, tenant: str, kind: str, days: int, after: str,
             actor: Actor) -> RetentionRule:
    """Create or replace the tenant's rule for ``kind``."""
    try:
        EvidenceKind(kind)
    except ValueError:
        raise InputError(f"kind {kind!r} is not an evidence kind", code="kind_unknown",
                         field="kind") from None
    if after not in AFTER:
        raise InputError(f"'after' must be one of {', '.join(AFTER)}", code="retention_invalid",
                         field="after")
    if not 0 <= days <= MAX_DAYS:
        raise InputError(f"'days' must be between 0 and {MAX_DAYS}", code="retention_invalid",
                         field="days")
    with session(ctx.engine) as s:
        rule = s.exec(select(RetentionRule).where(RetentionRule.tenant == tenant,
                                                  RetentionRule.kind == kind)).first()
        rule = rule or RetentionRule(tenant=tenant, kind=kind, days=days, after=after,
                                     created_by=actor.label, created_at=datetime.now(UTC))
        rule.days, rule.after, rule.created_by = days, after, actor.label
        rule.created_at = datetime.now(UTC)
        s.add(rule)
        s.commit()
        s.refresh(rule)
        return rule


def delete_rule(ctx: Context, *, tenant: str, kind: str) -> None:
    with session(ctx.engine) as s:
        rule = s.exec(select(RetentionRule).where(RetentionRule.tenant == tenant,
                                                  RetentionRule.kind == kind)).first()
        if rule is None:
            raise NotFound(f"no retention rule for kind {kind!r}", kind=kind)
        s.delete(rule)
        s.commit()


def rules(ctx: Context, tenant: str | None = None) -> list[RetentionRule]:
    with session(ctx.engine) as s:
        query = select(RetentionRule).order_by(col(RetentionRule.tenant), col(RetentionRule.kind))
        if tenant is not None:
            query = query.where(RetentionRule.tenant == tenant)
        return list(s.exec(query))


def set_case_closed(ctx: Context, *, tenant: str, case_id: str, closed: bool) -> Case:
    """Close (retention periods start) or reopen (they stop) the case ``tenant`` holds."""
    with session(ctx.engine) as s:
        case = s.exec(select(Case).where(Case.holder == tenant, Case.case_id == case_id)
                      .with_for_update()).first()
        if case is None:
            raise NotFound(f"no case {case_id!r}", case_id=case_id)
        case.closed_at = datetime.now(UTC) if closed else None
        s.add(case)
        s.commit()
        s.refresh(case)
        return case


@dataclass
class RetentionReport:
    """What one run found and did, by evidence id (no personal data: ids and counts)."""

    ran_at: str
    dry_run: bool
    due: list[str] = field(default_factory=list)
    shredded: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    ciphertexts_swept: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"ran_at": self.ran_at, "dry_run": self.dry_run, "due": self.due,
                "shredded": self.shredded, "held": self.held, "failed": self.failed,
                "ciphertexts_swept": self.ciphertexts_swept}


def due_items(ctx: Context, now: datetime,
              tenant: str | None = None) -> list[tuple[Evidence, str]]:
    """(item, holder) pairs whose retention period under their holder's rule has ended."""
    out: list[tuple[Evidence, str]] = []
    with session(ctx.engine) as s:
        for rule in rules(ctx, tenant):
            cutoff = now - timedelta(days=rule.days)
            query = (select(Evidence, Case).join(Case, Evidence.case_uid == Case.uid)  # type: ignore[arg-type]
                     .where(Case.holder == rule.tenant, Evidence.kind == rule.kind,
                            Evidence.shredded_at.is_(None),  # type: ignore[union-attr]
                            Evidence.cid != ""))  # a hash-only deposit holds nothing to shred
            if rule.after == "case_closed":
                query = query.where(Case.closed_at.is_not(None),  # type: ignore[union-attr]
                                    Case.closed_at <= cutoff)  # type: ignore[operator]
            else:
                query = query.where(Evidence.received_at <= cutoff)
            out += [(e, c.holder) for e, c in s.exec(query.order_by(col(Evidence.received_at)))]
    return out


def run_retention(ctx: Context, *, tenant: str | None = None, dry_run: bool = False,
                  now: datetime | None = None) -> RetentionReport:
    """Apply every rule (or ``tenant``'s) once: shred what is due unless held."""
    moment = now or datetime.now(UTC)
    report = RetentionReport(ran_at=moment.isoformat(), dry_run=dry_run)
    for item, holder in due_items(ctx, moment, tenant):
        report.due.append(item.id)
        if item.hold_reason is not None:
            report.held.append(item.id)
            continue
        if dry_run:
            continue
        rule = next(r for r in rules(ctx, holder) if r.kind == item.kind)
        try:
            shred(ctx.engine, ctx.custody, ctx.signing_key, ctx.blobs, tenant=holder,
                  actor=RETENTION, evidence_id=item.id,
                  reason=f"retention period ended ({rule.days} days after "
                         f"{rule.after.replace('_', ' ')})",
                  legal_basis=f"retention rule of {holder} for {item.kind}",
                  ipfs=ctx.settings.blob_store == "ipfs")
            report.shredded.append(item.id)
        except LegalHold:
            report.held.append(item.id)  # held between the query and the shred
        except Exception as exc:  # noqa: BLE001 - one item must not stop the run
            report.failed.append({"evidence_id": item.id, "error": type(exc).__name__})
    if not dry_run:
        report.ciphertexts_swept = sweep_ciphertexts(ctx.engine, ctx.blobs)
    log.info("retention run: %d due, %d shredded, %d held, %d failed, %d ciphertexts swept",
             len(report.due), len(report.shredded), len(report.held), len(report.failed),
             report.ciphertexts_swept)
    return report


class RetentionJob:
    """Runs :func:`run_retention` every ``interval`` seconds in the process holding the
    ``retention`` lease; keeps the last report for /v1/health and the API."""

    def __init__(self, ctx: Context, *, interval: float, lease_ttl: float = 60.0) -> None:
        self.ctx = ctx
        self.interval = interval
        self.lease = Lease(ctx.engine, "retention", ttl=lease_ttl)
        self.last_report: RetentionReport | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> RetentionJob:
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.lease.release()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.lease.held or self.lease.try_acquire():
                    self.last_report = run_retention(self.ctx)
            except Exception:  # logged; the next run tries again
                log.exception("retention run failed")
