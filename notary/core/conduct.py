"""The conduct report (issue 16 #6): every call of a case in a period, flagged against the
contact rules, derived from the signed statements alone.

Regulation asks an agency to show that each contact was lawful: no outbound call in the quiet
hours (default 22:00–08:00, local time as the signed start's offset states it, see
:func:`_judged`) and at most ``max_daily_attempts`` outbound calls to one contact per local
day (default 6, 中银协 2026); a call whose zone contradicts its offset is flagged, and so is
one whose callee commitment the client made (it cannot be counted as one contact).
A *contact* is the callee commitment: within a case the service commits one number under one
salt, so one contact has one commitment (:func:`notary.service.calls.settle`).

:func:`conduct_report` is a pure function of the statements, the rules, the period, the
subject, the set of anchored statements and the set of client-committed ones (which the
report's flags state), so anyone holding the statements (a bundle) derives the same canonical
bytes and can check the signed report against them.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from .callrecord import CallRecord, Direction, instant
from .errors import InputError, SignatureError, StatementError
from .signing import SignedFormat
from .statement import Statement, canonical_json, parse_strict_json

__all__ = [
    "CONDUCT",
    "CONDUCT_MEDIA_TYPE",
    "CONDUCT_SCHEMA",
    "ConductRules",
    "conduct_report",
    "rules_table",
]

CONDUCT_SCHEMA = "notary.conduct-report/v1"
CONDUCT_MEDIA_TYPE = "application/vnd.notary.conduct-report.v1+json"
MAX_CONDUCT_BYTES = 16 * 1024 * 1024
QUIET_HOURS = "quiet_hours"
OVER_DAILY_LIMIT = "over_daily_limit"
ZONE_MISMATCH = "zone_mismatch"
NOT_COUNTABLE = "not_countable"
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def _clock(field: str, text: object) -> time:
    if not isinstance(text, str) or (m := _CLOCK.fullmatch(text)) is None:
        raise InputError(f"'{field}' must be a time of day HH:MM such as 22:00.",
                         code="conduct_rules_invalid", field=field)
    return time(int(m.group(1)), int(m.group(2)))


def _moment(field: str, text: str) -> datetime:
    try:
        return instant(field, text)
    except StatementError:
        raise InputError(f"'{field}' must be an RFC 3339 date-time with an offset, such as "
                         "2026-11-01T00:00:00+08:00.", code="conduct_period_invalid",
                         field=field) from None


@dataclass(frozen=True)
class ConductRules:
    """The contact rules a report applies. Quiet hours run from ``quiet_from`` to
    ``quiet_to`` local time (across midnight when ``quiet_from`` is later)."""

    quiet_from: str = "22:00"
    quiet_to: str = "08:00"
    max_daily_attempts: int = 6

    def __post_init__(self) -> None:
        _clock("quiet_from", self.quiet_from)
        _clock("quiet_to", self.quiet_to)
        if isinstance(self.max_daily_attempts, bool) or not isinstance(
                self.max_daily_attempts, int) or not 1 <= self.max_daily_attempts <= 1000:
            raise InputError("'max_daily_attempts' must be an integer from 1 to 1000.",
                             code="conduct_rules_invalid", field="max_daily_attempts")

    def quiet(self, moment: time) -> bool:
        """Whether a call starting at local ``moment`` is in the quiet hours."""
        start, end = _clock("quiet_from", self.quiet_from), _clock("quiet_to", self.quiet_to)
        if start <= end:
            return start <= moment < end
        return moment >= start or moment < end

    def to_json(self) -> dict[str, Any]:
        return {"quiet_hours": {"from": self.quiet_from, "to": self.quiet_to},
                "max_daily_attempts": self.max_daily_attempts}


_RULE_FIELDS = frozenset({"quiet_from", "quiet_to", "max_daily_attempts"})


def rules_table(text: str) -> dict[str, ConductRules]:
    """Per-tenant rules from a JSON object of tenant slug → ``{"quiet_from", "quiet_to",
    "max_daily_attempts"}`` (each optional; the setting ``NOTARY_CONDUCT_RULES``); empty text
    is no table. InputError ``config_invalid`` for anything else."""
    if not text.strip():
        return {}
    try:
        table = json.loads(text)
    except ValueError:
        table = None
    if not isinstance(table, dict) or not all(
            isinstance(v, dict) and set(v) <= _RULE_FIELDS for v in table.values()):
        raise InputError("NOTARY_CONDUCT_RULES must be a JSON object of tenant slug → "
                         '{"quiet_from", "quiet_to", "max_daily_attempts"}',
                         code="config_invalid")
    out = {}
    for tenant, rules in table.items():
        try:
            out[tenant] = ConductRules(**rules)
        except InputError as exc:
            raise InputError(f"NOTARY_CONDUCT_RULES for {tenant!r}: {exc.message}",
                             code="config_invalid") from None
    return out


@dataclass(frozen=True)
class _Call:
    statement: Statement
    call: CallRecord
    start: datetime
    local: datetime
    mismatch: bool


def _judged(call: CallRecord) -> tuple[datetime, bool]:
    """The local start a call is judged by, and whether its zone contradicts its offset.

    The signed ``started_at`` carries the dialer's offset, which the submitter cannot restate
    with a zone of its choosing: a non-zero offset is the local time judged (``23:30+08:00``
    is 23:30 whatever ``timezone`` says), and a zone whose offset at that instant differs is
    flagged ``zone_mismatch``. A zero offset (``Z``) states UTC, not a local time (RFC 3339
    §4.3), so such a call is judged in its ``timezone``."""
    start, local = call.start, call.local_start()
    if start.utcoffset() == local.utcoffset() or not start.utcoffset():
        return local, False
    return start, True


def _calls(statements: Iterable[Statement], case_id: str) -> list[_Call]:
    out = []
    for st in statements:
        if st.call is None or st.case_id != case_id:
            continue
        local, mismatch = _judged(st.call)
        out.append(_Call(st, st.call, st.call.start, local, mismatch))
    out.sort(key=lambda c: (c.start, c.statement.case_seq, c.statement.digest_hex()))
    return out


def conduct_report(statements: Iterable[Statement], rules: ConductRules,
                   period: tuple[str, str], subject: Mapping[str, str],
                   anchored: Collection[str] = (),
                   client_committed: Collection[str] = ()) -> dict[str, Any]:
    """The conduct report (a JSON object; its canonical bytes are what is signed).

    ``subject`` is ``{"case_id"}`` or ``{"case_id", "contact"}`` (a callee commitment value);
    ``period`` is ``(from, to)``, RFC 3339, calls starting in ``[from, to)`` are listed;
    ``anchored`` the SHA-256 (hex) of the statements anchored when the report was made (the
    ``notarised`` column); ``client_committed`` the SHA-256 (hex) of the statements whose
    callee commitment the client made, not the service: such a call's commitment may differ
    on every call to one number, so it is flagged ``not_countable`` (the service knows the
    set; anyone re-deriving the report reads it from the signed report's flags). Attempts
    are counted over all the statements given, so a period that starts mid-day still numbers
    that day's calls from the first one. Only outbound calls are attempts and only they are
    flagged; an inbound call is listed without flags."""
    unknown = sorted(set(subject) - {"case_id", "contact"})
    if "case_id" not in subject or unknown:
        raise InputError("A report's subject is a case_id and, optionally, a contact.",
                         code="conduct_subject_invalid")
    begin, end = _moment("from", period[0]), _moment("to", period[1])
    if end <= begin:
        raise InputError("The period's end must be after its start.",
                         code="conduct_period_invalid", field="to")
    contact = subject.get("contact")
    attempts: dict[tuple[str, date], int] = defaultdict(int)
    #: A contact's days are those of its first outbound call's local time, so that calls
    #: stated in other offsets cannot split one day into two.
    calendar: dict[str, tzinfo] = {}
    rows: list[dict[str, Any]] = []
    counts = {"calls": 0, QUIET_HOURS: 0, OVER_DAILY_LIMIT: 0, ZONE_MISMATCH: 0,
              NOT_COUNTABLE: 0}
    for c in _calls(statements, subject["case_id"]):
        callee = c.call.callee.value
        outbound = c.call.direction is Direction.OUTBOUND
        attempt = None
        if outbound:
            day = c.start.astimezone(calendar.setdefault(callee, c.local.tzinfo or UTC)).date()
            attempts[(callee, day)] += 1
            attempt = attempts[(callee, day)]
        if not begin <= c.start < end or (contact is not None and callee != contact):
            continue
        flags = []
        if outbound and rules.quiet(c.local.time()):
            flags.append(QUIET_HOURS)
        if attempt is not None and attempt > rules.max_daily_attempts:
            flags.append(OVER_DAILY_LIMIT)
        if outbound and c.mismatch:
            flags.append(ZONE_MISMATCH)
        if outbound and c.statement.digest_hex() in client_committed:
            flags.append(NOT_COUNTABLE)
        row: dict[str, Any] = {
            "evidence_id": c.statement.evidence_id, "case_seq": c.statement.case_seq,
            "statement_sha256": c.statement.digest_hex(),
            "started_at": c.call.started_at, "ended_at": c.call.ended_at,
            "timezone": c.call.timezone, "local_start": c.local.isoformat(timespec="seconds"),
            "duration_seconds": c.call.duration_seconds, "direction": c.call.direction.value,
            "agent_id": c.call.agent_id, "contact": callee,
            "recorded": True, "notarised": c.statement.digest_hex() in anchored,
            "flags": flags,
        }
        if attempt is not None:
            row["attempt_of_day"] = attempt
        if c.call.campaign is not None:
            row["campaign"] = c.call.campaign
        rows.append(row)
        counts["calls"] += 1
        for flag in flags:
            counts[flag] += 1
    return {"schema": CONDUCT_SCHEMA, "subject": dict(subject),
            "period": {"from": period[0], "to": period[1]}, "rules": rules.to_json(),
            "contacts": rows, "summary": counts}


def _parse(payload: bytes) -> dict[str, Any]:
    """A signed report's payload: a canonical JSON object of this schema."""
    invalid = SignatureError("The conduct report is signed, but its content is not a "
                             "canonical v1 conduct report.", reason="payload_invalid")
    try:
        obj = parse_strict_json(payload, max_bytes=MAX_CONDUCT_BYTES)
    except InputError as exc:
        raise invalid from exc
    if not isinstance(obj, dict) or obj.get("schema") != CONDUCT_SCHEMA:
        raise invalid
    if canonical_json(obj) != payload:
        raise invalid
    return obj


#: The conduct report, signed with the service key.
CONDUCT: SignedFormat[dict[str, Any]] = SignedFormat(CONDUCT_MEDIA_TYPE, MAX_CONDUCT_BYTES,
                                                      _parse)
