"""The call record a call recording's statement may carry (issue 16 #5), and number commitments.

A call record says when a call began and ended (RFC 3339 with the offset the dialer used, and
the IANA time zone of the call), its direction, the agent's 工号, the campaign, and
the caller's and callee's numbers as *commitments*: ``HMAC-SHA-256(key=salt, msg=number)``
with the number in E.164 form (``+8613800138000``) and a salt of 32 random bytes per number.
The key is the salt written as 64 lower-case hex characters (ASCII), so that anyone given the
salt and the number can check a commitment with a stock tool::

    printf '%s' '+8613800138000' | openssl dgst -sha256 -hmac '<salt hex>'

The number itself is never in the statement; destroying the salt leaves a commitment nobody
can open. Everything here is pure: validation, normalisation and the HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InputError, StatementError
from .validate import validate_identifier, validate_rfc3339

__all__ = [
    "COMMITMENT_ALG",
    "MAX_CALL_DURATION",
    "SALT_BYTES",
    "CallRecord",
    "Commitment",
    "Direction",
    "commit_number",
    "normalise_number",
]

COMMITMENT_ALG = "hmac-sha256"
#: The longest call a record may describe: a longer one is a typo or a clock fault.
MAX_CALL_DURATION = timedelta(hours=24)
MAX_AGENT_ID = 64
MAX_CAMPAIGN = 128
MAX_TIMEZONE = 64
SALT_BYTES = 32

_HEX64 = re.compile(r"[0-9a-f]{64}")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
#: The shape of an IANA zone name (``Asia/Shanghai``, ``America/Argentina/Buenos_Aires``,
#: ``UTC``, ``Etc/GMT-8``). The statement checks the shape only, so that whether it parses
#: never depends on the verifier's zone database; the service also requires a known zone.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}")
_SEPARATORS = re.compile(r"[\s\-.()（）]")
_FIELDS = frozenset({"started_at", "ended_at", "timezone", "direction", "agent_id", "campaign",
                     "caller", "callee"})
_REQUIRED = _FIELDS - {"campaign"}


class Direction(StrEnum):
    """Who dialled: the agency (``outbound``) or the contact (``inbound``)."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


def _fail(message: str, field: str) -> NoReturn:
    raise StatementError(message, field=f"call.{field}" if field else "call")


def normalise_number(text: str, country_code: str) -> str:
    """``text`` as E.164 (``+`` and 7 to 15 digits). Spaces, hyphens, dots and brackets are
    dropped; ``+`` or ``00`` starts an international number; anything else is national: one
    leading trunk ``0`` is dropped (``010 1234 5678``) and ``country_code`` (digits, e.g.
    ``86``) put in front (``138 0013 8000`` → ``+8613800138000``). Raises :class:`InputError`
    (``call_number_invalid``) for anything that is not a phone number."""
    if not isinstance(text, str) or len(text) > 40:
        raise InputError("A phone number must be a string of at most 40 characters.",
                         code="call_number_invalid")
    bare = _SEPARATORS.sub("", text)
    if bare.startswith("+"):
        number = bare
    elif bare.startswith("00"):
        number = "+" + bare[2:]
    else:
        if not country_code.isdigit():
            raise InputError("The default country code must be digits.",
                             code="call_number_invalid")
        number = "+" + country_code + bare.removeprefix("0")
    if _E164.fullmatch(number) is None:
        raise InputError("The phone number is not one: give it in E.164 form such as "
                         "+8613800138000, or nationally such as 138 0013 8000.",
                         code="call_number_invalid")
    return number


def commit_number(number: str, salt: bytes) -> str:
    """The commitment value (hex) of an E.164 ``number`` under ``salt``: HMAC-SHA-256 keyed
    with the salt's lower-case hex (ASCII) over the number's ASCII bytes."""
    if _E164.fullmatch(number) is None:
        raise InputError("Only an E.164 number is committed.", code="call_number_invalid")
    if len(salt) != SALT_BYTES:
        raise InputError(f"A salt is {SALT_BYTES} bytes.", code="call_number_invalid")
    return hmac.new(salt.hex().encode("ascii"), number.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Commitment:
    """A committed phone number: ``{"alg": "hmac-sha256", "value": hex}``."""

    value: str
    alg: str = COMMITMENT_ALG

    @classmethod
    def from_json(cls, obj: object, field: str) -> Commitment:
        if not isinstance(obj, Mapping) or set(obj) != {"alg", "value"}:
            _fail(f"Field 'call.{field}' must be an object with exactly 'alg' and 'value'.",
                  field)
        if obj["alg"] != COMMITMENT_ALG:
            _fail(f"Field 'call.{field}.alg' must be '{COMMITMENT_ALG}'.", f"{field}.alg")
        value = obj["value"]
        if not isinstance(value, str) or _HEX64.fullmatch(value) is None:
            _fail(f"Field 'call.{field}.value' must be 64 lower-case hex digits.",
                  f"{field}.value")
        return cls(value)

    def to_json(self) -> dict[str, str]:
        return {"alg": self.alg, "value": self.value}

    def opens_with(self, number: str, salt: bytes) -> bool:
        """Whether ``number`` (E.164) under ``salt`` is what this commits to."""
        return hmac.compare_digest(commit_number(number, salt), self.value)


def instant(field: str, text: object) -> datetime:
    """An RFC 3339 date-time with any offset as an aware datetime (fraction cut to
    microseconds, a leap second read as the last microsecond of its minute)."""
    value = validate_rfc3339(f"call.{field}", text, error=StatementError)
    head, offset = (value[:-1], "+00:00") if value.endswith("Z") else (value[:-6], value[-6:])
    base, _, fraction = head.partition(".")
    leap = base.endswith(":60")
    if leap:
        base = base[:-2] + "59"
    try:
        moment = datetime.fromisoformat(base + offset)
    except ValueError:
        _fail(f"Field 'call.{field}' is out of range.", field)
    micros = 999_999 if leap else int((fraction + "000000")[:6]) if fraction else 0
    return moment + timedelta(microseconds=micros)


def zone(name: object) -> ZoneInfo:
    """The IANA time zone ``name`` (e.g. ``Asia/Shanghai``) from this machine's zone
    database. StatementError when it has no such zone."""
    known = zone_name(name)
    try:
        return ZoneInfo(known)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        _fail(f"Field 'call.timezone' is {name!r}, not a known IANA time zone name.",
              "timezone")


def zone_name(name: object) -> str:
    """``name`` if it has the shape of an IANA zone name. StatementError otherwise."""
    if not isinstance(name, str) or len(name) > MAX_TIMEZONE or _ZONE_NAME.fullmatch(
            name) is None:
        _fail("Field 'call.timezone' must be an IANA time zone name such as Asia/Shanghai.",
              "timezone")
    return name


@dataclass(frozen=True, kw_only=True)
class CallRecord:
    """One call, as the statement of its recording states it. Constructing one validates it
    (:class:`StatementError`, ``details["field"]`` such as ``call.ended_at``)."""

    started_at: str
    ended_at: str
    timezone: str
    direction: Direction
    agent_id: str
    campaign: str | None = None
    caller: Commitment
    callee: Commitment

    def __post_init__(self) -> None:
        start, end = instant("started_at", self.started_at), instant("ended_at", self.ended_at)
        if end < start:
            _fail("Field 'call.ended_at' is before 'call.started_at'.", "ended_at")
        if end - start > MAX_CALL_DURATION:
            _fail("The call lasts more than 24 hours; check 'call.started_at' and "
                  "'call.ended_at'.", "ended_at")
        zone_name(self.timezone)
        try:
            object.__setattr__(self, "direction", Direction(self.direction))
        except ValueError:
            _fail("Field 'call.direction' must be 'outbound' or 'inbound'.", "direction")
        validate_identifier("call.agent_id", self.agent_id, MAX_AGENT_ID, error=StatementError)
        if self.campaign is not None:
            validate_identifier("call.campaign", self.campaign, MAX_CAMPAIGN,
                                error=StatementError)
        for party in ("caller", "callee"):
            if not isinstance(getattr(self, party), Commitment):
                _fail(f"Field 'call.{party}' must be a commitment.", party)

    @property
    def start(self) -> datetime:
        return instant("started_at", self.started_at)

    @property
    def duration_seconds(self) -> int:
        """Whole seconds from start to end (rounded down)."""
        delta = instant("ended_at", self.ended_at) - self.start
        return int(delta.total_seconds())

    def local_start(self) -> datetime:
        """The start in the call's own time zone (the conduct report judges by the start's
        offset, see :func:`notary.core.conduct._judged`). StatementError when this machine's
        zone database does not know the zone."""
        return self.start.astimezone(zone(self.timezone))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "started_at": self.started_at, "ended_at": self.ended_at,
            "timezone": self.timezone, "direction": self.direction.value,
            "agent_id": self.agent_id, "caller": self.caller.to_json(),
            "callee": self.callee.to_json(),
        }
        if self.campaign is not None:
            out["campaign"] = self.campaign
        return out

    @classmethod
    def from_json(cls, obj: object) -> CallRecord:
        """A call record from its JSON object, strictly: no unknown or missing fields, no
        nulls (omit ``campaign`` instead), strings where strings belong."""
        if not isinstance(obj, Mapping):
            _fail("Field 'call' must be an object.", "")
        unknown = sorted(str(k) for k in obj if k not in _FIELDS)
        if unknown:
            _fail(f"Unknown field(s) in 'call': {', '.join(unknown)}.", unknown[0])
        for name in sorted(_REQUIRED):
            if name not in obj:
                _fail(f"Field 'call.{name}' is required.", name)
        for name in _FIELDS - {"caller", "callee"}:
            if name in obj and not isinstance(obj[name], str):
                _fail(f"Field 'call.{name}' must be a string.", name)
        return cls(
            started_at=obj["started_at"], ended_at=obj["ended_at"], timezone=obj["timezone"],
            direction=obj["direction"], agent_id=obj["agent_id"], campaign=obj.get("campaign"),
            caller=Commitment.from_json(obj["caller"], "caller"),
            callee=Commitment.from_json(obj["callee"], "callee"),
        )
