"""Collecting witnesses' cosignatures (the client side of c2sp.org/tlog-witness).

Each configured witness (``NOTARY_LOG_WITNESSES``: ``URL=VKEY``, comma-separated) is sent the
latest checkpoint with a consistency proof from the size it last cosigned. A 409 names the
size the witness holds: the request is made once more from there. A cosignature is verified
with the witness's key before it is stored. A witness that is down or refuses is recorded
(``log_witnesses.last_error``) and asked again in a later cycle: nothing else waits for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from notary.core import tlog
from notary.core.errors import InputError
from notary.core.note import COSIGNATURE, Note, NoteError, Verifier
from notary.core.trustroot import LogPin
from notary.service.errors import NotFound
from notary.service.translog import TransparencyLog
from storage.db import session, utc
from storage.translog import LogCheckpoint, LogCosignature, LogWitness

log = logging.getLogger("notary.cosigning")

#: A witness that failed is asked again after this long (not every cycle: one that hangs
#: until the timeout would slow every cycle of the worker).
RETRY_AFTER = timedelta(seconds=30)


@dataclass(frozen=True)
class WitnessConfig:
    url: str
    verifier: Verifier

    @classmethod
    def parse(cls, text: str) -> WitnessConfig:
        """``URL=VKEY`` (the vkey of a cosignature key, type 0x04)."""
        url, sep, vkey = text.strip().partition("=")
        try:
            verifier = Verifier.from_vkey(vkey) if sep else None
        except NoteError as exc:
            raise InputError(f"NOTARY_LOG_WITNESSES: {exc}", code="config_invalid",
                             field="log_witnesses") from None
        if verifier is None or verifier.sig_type != COSIGNATURE or not url.startswith(
                ("http://", "https://")):
            raise InputError("NOTARY_LOG_WITNESSES 的每一项为 URL=见证人公钥 / each item of "
                             "NOTARY_LOG_WITNESSES is URL=VKEY of a cosignature (0x04) key",
                             code="config_invalid", field="log_witnesses")
        return cls(url, verifier)


def witness_threshold(settings_threshold: int, witnesses: Sequence[WitnessConfig]) -> int:
    """NOTARY_LOG_WITNESS_THRESHOLD, or by default one when witnesses are configured (one
    independent cosigner already lets a court rely on someone other than the operator; all
    of them would make every bundle wait for the slowest witness). More than are configured
    is a configuration error."""
    if settings_threshold < 0:
        return min(1, len(witnesses))
    if settings_threshold > len(witnesses):
        raise InputError(f"NOTARY_LOG_WITNESS_THRESHOLD={settings_threshold} 超过所配置的见证人数 "
                         f"/ is more than the {len(witnesses)} witness(es) of "
                         "NOTARY_LOG_WITNESSES", code="config_invalid",
                         field="log_witness_threshold")
    return settings_threshold


def log_pin(log_verifier: Verifier, witnesses: Sequence[WitnessConfig],
            threshold: int) -> LogPin:
    """The trust root's ``log`` member: the log's verifier key and origin, the witnesses
    (sorted by name) and the threshold."""
    named = sorted({(w.verifier.name, w.verifier.vkey) for w in witnesses})
    return LogPin(log_verifier.name, log_verifier.vkey, tuple(named),
                  witness_threshold(threshold, witnesses))


def collect(translog: TransparencyLog, witnesses: Sequence[WitnessConfig],
            timeout: float = 10.0) -> dict[str, str | None]:
    """Ask each witness that has not cosigned the latest checkpoint to cosign it (one that
    failed is asked again after :data:`RETRY_AFTER`); returns the error of each witness
    asked (None: it cosigned). Never raises for a witness's failure."""
    try:
        latest = translog.checkpoint_row()
    except NotFound:  # nothing signed yet
        return {}
    import httpx  # the worker's only: an API process never loads the HTTP client for this

    now = datetime.now(UTC)
    with session(translog.engine) as s:
        done = set(s.exec(select(LogCosignature.witness)
                          .where(LogCosignature.size == latest.size)))
        states = {w.name: w for w in s.exec(select(LogWitness))}
    out: dict[str, str | None] = {}
    for w in witnesses:
        name = w.verifier.name
        state = states.get(name)
        if name in done or (state is not None and state.last_error is not None
                            and state.last_attempt_at is not None
                            and now - utc(state.last_attempt_at) < RETRY_AFTER):
            continue
        try:
            out[name] = _cosign(translog, w, latest, state.size if state else 0, timeout)
        except (httpx.HTTPError, NoteError, tlog.ProofError, ValueError) as exc:
            out[name] = f"{type(exc).__name__}: {exc}"[:500]
        if out[name] is not None:
            log.warning("witness %s: %s", name, out[name])
    if out:
        _record_state(translog, latest.size, out)
    return out


def _cosign(translog: TransparencyLog, w: WitnessConfig, latest: LogCheckpoint, old: int,
            timeout: float) -> str | None:
    """One witness: (at most twice) ``add-checkpoint`` from ``old``; None once stored."""
    from notary import witness_client

    name = w.verifier.name
    note = Note.parse(latest.note.encode())
    leaves: list[bytes] | None = None
    for _attempt in range(2):
        if old > latest.size:
            return f"the witness holds size {old}, above our latest {latest.size}"
        if leaves is None and old > 0:
            leaves = translog.leaves(latest.size)
        proof = tlog.consistency_proof(old, leaves) if old > 0 and leaves is not None else []
        status, answer = witness_client.add_checkpoint(w.url, old, proof, note, timeout=timeout)
        if status == 409 and isinstance(answer, str) and answer.strip().isdigit():
            old = int(answer.strip())  # the size the witness holds: once more from there
            continue
        if status != 200 or isinstance(answer, str):
            return f"answered {status}: {str(answer).strip()[:200]}"
        mine = [sig for sig in answer if (sig.name, sig.key_id) == (name, w.verifier.key_id)]
        if not mine:
            return "answered 200 without a cosignature of its configured key"
        timestamp = note.with_signatures(mine[:1]).verify([w.verifier])[w.verifier]
        with session(translog.engine) as s:
            s.merge(LogCosignature(size=latest.size, witness=name, line=mine[0].line(),
                                   cosigned_at=int(timestamp or 0),
                                   received_at=datetime.now(UTC)))
            s.commit()
        return None
    return "the witness's size kept changing"


def _record_state(translog: TransparencyLog, size: int,
                  results: dict[str, str | None]) -> None:
    """Note each witness's outcome: the size it cosigned, or its error, and when."""
    now = datetime.now(UTC)
    with session(translog.engine) as s:
        for name, error in results.items():
            row = s.get(LogWitness, name) or LogWitness(name=name, size=0)
            if error is None:
                row.size, row.last_error = max(row.size, size), None
            else:
                row.last_error = error[:512]
            row.last_attempt_at = now
            s.add(row)
        s.commit()


def witness_states(translog: TransparencyLog) -> list[LogWitness]:
    with session(translog.engine) as s:
        return list(s.exec(select(LogWitness).order_by(col(LogWitness.name))))
