"""Field validators shared by the statement format and the API.

These rules are part of statement format v1: a statement that passed them when it was
signed must still pass them when a court verifies it years later. Do not tighten them for
v1; add a new schema version instead.

Character rules are written as explicit code-point ranges, not via :mod:`unicodedata`,
because Unicode tables change with the Python version and the result must not.
Lengths are counted in Unicode code points (``len(str)``). Strings are not normalised:
two strings are equal only if their code points are equal.

Every validator raises ``error`` (default :class:`InputError`) with ``details["field"]``
naming the field, so the API can point at it.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

from .errors import InputError

__all__ = [
    "MAX_SAFE_INTEGER",
    "format_rfc3339_utc",
    "normalise_case_reference",
    "rfc3339_instant",
    "utc_instant",
    "validate_captured_at",
    "validate_file_name",
    "validate_hex_digest",
    "validate_identifier",
    "validate_int",
    "validate_media_type",
    "validate_rfc3339",
    "validate_text",
]

#: Largest integer an IEEE double holds exactly; RFC 8785 numbers are doubles, so every
#: integer in a signed document must be at most this (I-JSON, RFC 7493).
MAX_SAFE_INTEGER = (1 << 53) - 1

# C0 controls, DEL, C1 controls, surrogates (not encodable as UTF-8), the Unicode line and
# paragraph separators, and the bidirectional formatting characters that can make a file
# name display differently from what it is ("invoice\u202egpj.exe").
_FORBIDDEN = re.compile(
    "[\u0000-\u001f\u007f-\u009f\ud800-\udfff\u2028\u2029"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# Same, but allowing LF and TAB (multi-line free text such as a description).
_FORBIDDEN_MULTILINE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ud800-\udfff\u2028\u2029"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]"
_MEDIA_TYPE = re.compile(
    rf"[A-Za-z0-9]{_TOKEN}{{0,126}}/[A-Za-z0-9]{_TOKEN}{{0,126}}"
    rf"(?:; ?{_TOKEN}+=(?:{_TOKEN}+|\"[^\"\\]*\"))*"
)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))"
)
_HEX64 = re.compile(r"[0-9a-f]{64}")


def validate_text(
    field: str,
    value: object,
    max_len: int,
    *,
    multiline: bool = False,
    error: type[InputError] = InputError,
) -> str:
    """Require a non-empty string of at most ``max_len`` code points with no control,
    surrogate or bidi-formatting characters (``multiline`` allows LF and TAB).

    Returns the value unchanged. Raises ``error`` naming ``field``.
    """
    if not isinstance(value, str):
        raise error(f"Field '{field}' must be a string.", field=field)
    if not value:
        raise error(f"Field '{field}' must not be empty (omit it instead).", field=field)
    if len(value) > max_len:
        raise error(
            f"Field '{field}' is {len(value)} characters long; the limit is {max_len}.",
            field=field,
            max_len=max_len,
        )
    bad = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN).search(value)
    if bad is not None:
        raise error(
            f"Field '{field}' contains the forbidden character U+{ord(bad.group()):04X} "
            f"at position {bad.start()}.",
            field=field,
            position=bad.start(),
        )
    return value


def validate_identifier(
    field: str, value: object, max_len: int = 128, *, error: type[InputError] = InputError
) -> str:
    """A single-line identifier (case id, evidence id, submitter): :func:`validate_text`
    plus no leading or trailing whitespace, so "A-1" and "A-1 " cannot both exist."""
    text = validate_text(field, value, max_len, error=error)
    if text != text.strip():
        raise error(f"Field '{field}' must not start or end with whitespace.", field=field)
    return text


def validate_file_name(
    value: object, max_len: int = 255, *, field: str = "file_name",
    error: type[InputError] = InputError,
) -> str:
    """A bare file name: :func:`validate_text` (≤ 255 code points) and no ``/``, ``\\``,
    NUL, and not ``.`` or ``..``; so it can never name a path."""
    text = validate_text(field, value, max_len, error=error)
    for sep in ("/", "\\"):
        if sep in text:
            raise error(
                f"Field '{field}' must be a bare file name without '{sep}'.", field=field
            )
    if text in (".", ".."):
        raise error(f"Field '{field}' must not be '.' or '..'.", field=field)
    return text


def validate_media_type(
    value: object, *, field: str = "media_type", error: type[InputError] = InputError
) -> str:
    """An RFC 6838 ``type/subtype`` with optional ``; name=value`` parameters, ≤ 255
    characters. Case is kept as given (media types compare case-insensitively)."""
    text = validate_text(field, value, 255, error=error)
    if _MEDIA_TYPE.fullmatch(text) is None:
        raise error(
            f"Field '{field}' must be a media type such as 'audio/mpeg'.", field=field
        )
    return text


def validate_rfc3339(
    field: str, value: object, *, require_utc: bool = False,
    error: type[InputError] = InputError,
) -> str:
    """An RFC 3339 date-time (upper-case ``T`` and ``Z``, 0-9 fraction digits, a leap
    second ``:60`` allowed). ``require_utc`` demands the ``Z`` suffix. Calendar validity
    (e.g. no 30 February) is checked. Returns the value unchanged."""
    if not isinstance(value, str):
        raise error(f"Field '{field}' must be a string.", field=field)
    m = _RFC3339.fullmatch(value)
    if m is None:
        raise error(
            f"Field '{field}' must be an RFC 3339 date-time such as "
            "'2026-11-29T12:00:00.123456Z'.",
            field=field,
        )
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    ok = (
        1 <= month <= 12
        and 1 <= day <= (calendar.monthrange(year, month)[1] if 1 <= month <= 12 else 0)
        and hour <= 23
        and minute <= 59
        and second <= 60
    )
    if m.group(8) != "Z":
        ok = ok and int(m.group(9)) <= 23 and int(m.group(10)) <= 59
    if not ok:
        raise error(f"Field '{field}' is not a real date and time.", field=field)
    if require_utc and m.group(8) != "Z":
        raise error(f"Field '{field}' must be in UTC (end with 'Z').", field=field)
    return value


def format_rfc3339_utc(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with microseconds:
    ``2026-11-29T12:00:00.123456Z``. Raises :class:`InputError` for a naive datetime
    (its zone would be a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError("A timestamp must carry a time zone.", code="timestamp_naive")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_instant(text: str) -> datetime:
    """A date-time :func:`validate_rfc3339` accepted, as an aware UTC datetime, to compare
    moments however they are spelt (any offset, fraction cut to microseconds, a leap second
    read as the last microsecond of its minute). Raises ValueError or OverflowError when it is
    out of ``datetime``'s range (year 0000, which RFC 3339 allows; past 9999 once in UTC)."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 date-time: {text!r}")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micros = int((m.group(7)[1:] + "000000")[:6]) if m.group(7) else 0
    if second == 60:
        second, micros = 59, 999_999
    zone = UTC
    if m.group(8) != "Z":
        offset = timedelta(hours=int(m.group(9)), minutes=int(m.group(10)))
        zone = timezone(-offset if m.group(8).startswith("-") else offset)
    return datetime(year, month, day, hour, minute, second, micros, tzinfo=zone).astimezone(UTC)


def utc_instant(text: str) -> datetime:
    """An RFC 3339 UTC timestamp as an aware datetime (see :func:`rfc3339_instant`). Raises
    :class:`InputError` if malformed or out of ``datetime``'s range."""
    validate_rfc3339("timestamp", text, require_utc=True)
    try:
        return rfc3339_instant(text)
    except (ValueError, OverflowError) as exc:
        raise InputError(f"The time {text!r} is out of range.", code="timestamp_invalid") from exc


def validate_int(
    field: str, value: object, *, minimum: int = 0, error: type[InputError] = InputError
) -> int:
    """An integer (not a bool, not a float) in ``[minimum, 2**53 - 1]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"Field '{field}' must be an integer.", field=field)
    if value < minimum or value > MAX_SAFE_INTEGER:
        raise error(
            f"Field '{field}' must be between {minimum} and {MAX_SAFE_INTEGER}.", field=field
        )
    return value


def validate_hex_digest(
    field: str, value: object, *, error: type[InputError] = InputError,
    algorithm: str = "SHA-256",
) -> str:
    """A 256-bit digest (SHA-256, or SM3) written as exactly 64 lower-case hex characters
    (the one canonical spelling, so equal digests are equal strings)."""
    if not isinstance(value, str) or _HEX64.fullmatch(value) is None:
        raise error(
            f"Field '{field}' must be a {algorithm} digest written as 64 lower-case hex "
            "characters.",
            field=field,
        )
    return value


# -- intake rules ------------------------------------------------------------------------------
# Service policy for *new* case references, not statement format v1 (which compares code
# points and must keep accepting what it accepted): they may use today's Unicode tables.

#: Characters that are never part of a case reference: path separators and what a URL path
#: segment, a shell or a file name cannot carry plainly.
_CASE_UNSAFE = frozenset('/\\?#%')
#: Default_Ignorable_Code_Point ranges (Unicode DerivedCoreProperties) that are not already
#: Cf/Cc/Co/Cn: Hangul fillers, Mongolian and other variation selectors, tags, U+E0100..
_DEFAULT_IGNORABLE = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _invisible(ch: str) -> bool:
    cp = ord(ch)
    if any(lo <= cp <= hi for lo, hi in _DEFAULT_IGNORABLE):
        return True
    category = unicodedata.category(ch)
    return category in ("Cf", "Cc", "Co", "Cn", "Cs", "Zl", "Zp") or (
        category == "Zs" and ch != " ")


def _ascii_lookalike(ch: str) -> str | None:
    """The ASCII character ``ch`` is a TR39 confusable of, or None."""
    from confusable_homoglyphs import (  # type: ignore[import-untyped]  # TR39 table, loaded once
        confusables,
    )

    found = confusables.is_confusable(ch, greedy=True, preferred_aliases=[]) or []
    for entry in found:
        for glyph in entry["homoglyphs"]:
            if len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isprintable():
                return str(glyph["c"])
    return None


def normalise_case_reference(
    value: object, *, field: str = "case_id", error: type[InputError] = InputError
) -> str:
    """A new case reference in its one spelling, or ``error`` saying which character is
    wrong and where: code ``case_id_invalid`` for the rules new here (path-unsafe characters,
    look-alikes), ``error``'s own code for what was refused before (invisible characters,
    length, spaces at either end), so those answers keep their code.

    So that a reference that looks like another is the same one (issue 13 #9, #10):

    * folded: Unicode NFKC (full-width ``ＨＸ`` → ``HX``; NBSP and ideographic space → space);
    * refused: ``/ \\ ? # %`` (a case is a URL path segment everywhere), control, format,
      private-use, unassigned and other invisible or default-ignorable characters (tags
      U+E0000–E007F, variation selectors U+FE00–FE0F and U+E0100–E01EF, Hangul fillers...),
      spaces other than U+0020, and any non-ASCII character that Unicode TR39 lists as a
      look-alike of an ASCII one (Cyrillic ``Н``, Greek ``Α``, the hyphen U+2010...);
    * first, the identifier rules of the statement on the folded text (length, no control
      characters, no leading/trailing space), with ``error``'s own code as before.
    """
    if not isinstance(value, str):
        raise error(f"Field '{field}' must be a string.", field=field, code="case_id_invalid")
    text = validate_identifier(field, unicodedata.normalize("NFKC", value), 128, error=error)
    for position, ch in enumerate(text):
        reason: str | None = None
        code: str | None = "case_id_invalid"
        if ch in _CASE_UNSAFE:
            reason = f"the character {ch!r}, which cannot be part of a case reference"
        elif _invisible(ch):  # refused before this rule too: ``error``'s code, as then
            reason, code = f"the invisible or control character U+{ord(ch):04X}", None
        elif not ch.isascii() and (like := _ascii_lookalike(ch)) is not None:
            reason = (f"the character {ch!r} (U+{ord(ch):04X}, "
                      f"{unicodedata.name(ch, 'unnamed')}), which looks like ASCII {like!r}")
        if reason is not None:
            raise error(f"Field '{field}' contains {reason} at position {position}; type "
                        "the reference with ordinary characters.", field=field,
                        position=position, code=code)
    return text


#: The earliest ``captured_at`` accepted: digital call recordings and notices of a debt
#: still collected are younger than this; earlier values are typing errors.
CAPTURED_AT_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
#: How far ``captured_at`` may lie after the moment of receipt: clock skew of the
#: submitter's device, never a recording from the future.
CAPTURED_AT_SKEW = timedelta(minutes=5)
#: Largest UTC offset in use anywhere (UTC+14:00, Kiribati; UTC-12:00 is within it).
MAX_UTC_OFFSET = timedelta(hours=14)


def validate_captured_at(
    value: str, received: datetime, *, field: str = "captured_at",
    error: type[InputError] = InputError,
) -> str:
    """A submitter's ``captured_at`` (already RFC 3339, see :func:`validate_rfc3339`) that
    makes sense for evidence received at ``received``: offset within ±14:00, not before
    1990-01-01T00:00:00Z, not later than ``received`` + 5 minutes. Raises ``error`` with
    code ``captured_at_out_of_range`` and the bounds in its details."""
    bounds = {"earliest": "1990-01-01T00:00:00Z",
              "latest": format_rfc3339_utc(received + CAPTURED_AT_SKEW),
              "max_offset": "±14:00"}
    m = _RFC3339.fullmatch(value)
    if m is None:  # validate_rfc3339 comes first; this only guards a wrong call
        raise error(f"Field '{field}' is not an RFC 3339 date-time.", field=field)
    if m.group(8) != "Z":
        offset = timedelta(hours=int(m.group(9)), minutes=int(m.group(10)))
        if offset > MAX_UTC_OFFSET:
            raise error(f"Field '{field}' has the UTC offset {m.group(8)}; offsets in use "
                        "lie between -14:00 and +14:00.", field=field,
                        code="captured_at_out_of_range", **bounds)
    else:
        offset = timedelta(0)
    sign = -1 if m.group(8).startswith("-") else 1
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    try:
        local = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
        moment = local - sign * offset  # may leave years 1..9999: then it is out of range
    except (OverflowError, ValueError):
        moment = None
    if moment is None or moment < CAPTURED_AT_EARLIEST:
        raise error(f"Field '{field}' is {value}, before 1990-01-01T00:00:00Z; send the time "
                    "the evidence was captured.", field=field,
                    code="captured_at_out_of_range", **bounds)
    if moment > received + CAPTURED_AT_SKEW:
        raise error(f"Field '{field}' is {value}, later than the moment of receipt (plus 5 "
                    "minutes for clock skew); evidence cannot be captured in the future.",
                    field=field, code="captured_at_out_of_range", **bounds)
    return value


#: Unicode categories no printed name may hold: controls, format characters (zero-width, bidi
#: overrides), surrogates, private use, unassigned, line and paragraph separators: they make
#: names that look alike but differ, or that reorder text on a certificate.
_NAME_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def normalise_name(name: str, limit: int) -> tuple[str, str | None]:
    """A name people read (a tenant's legal name, an API key's name) as stored: NFC, trimmed,
    inner runs of spaces collapsed; and what is wrong with it (None when nothing): empty,
    longer than ``limit``, or holding control, invisible or odd space characters."""
    value = re.sub(" +", " ", unicodedata.normalize("NFC", name).strip(" "))
    bad = [c for c in value if unicodedata.category(c) in _NAME_REFUSED_CATEGORIES
           or (unicodedata.category(c) == "Zs" and c != " ")]
    if bad:
        return value, f"it holds {', '.join(f'U+{ord(c):04X}' for c in bad[:3])}"
    if not value:
        return value, "it is empty"
    if len(value) > limit:
        return value, f"it is longer than {limit}"
    return value, None
