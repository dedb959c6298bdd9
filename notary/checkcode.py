"""Check codes: the short code an agency prints on a notice so the person who receives it can
look the document up on the public verification page.

A check code is 12 characters of Crockford's base32 alphabet (digits and capital letters
without I, L, O and U), shown in three groups as ``XXXX-XXXX-XXXX``: 60 random bits from
:mod:`secrets`, so a code cannot be guessed or derived from the document. It is a
service-side index only, never part of a signed statement: this module is not
consensus-critical (changing it cannot affect a proof), so it lives outside the proof core
:mod:`notary.core`, where the client (``notary check-code``) and the service both reach it.

People copy codes from paper, so input is forgiving in the ways Crockford's alphabet was
designed for: case does not matter, ``I`` and ``L`` read as ``1``, ``O`` as ``0``, and
hyphens, dashes and spaces are ignored (full-width forms typed with a Chinese input method
count as their ASCII letters). Anything else is refused with :class:`CheckCodeError`.
"""

from __future__ import annotations

import secrets

from notary.core.errors import InputError

__all__ = ["ALPHABET", "CODE_LENGTH", "CheckCodeError", "new_check_code", "normalise_check_code"]

#: Crockford's base32 symbols (https://www.crockford.com/base32.html).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Symbols in a code: 12 x 5 bits = 60 random bits.
CODE_LENGTH = 12
_GROUP = 4
#: Longest input looked at; a code with generous spacing is far shorter.
_MAX_INPUT = 64
# Read-alike letters (Crockford's decoding rules), after upper-casing.
_READ_ALIKE = str.maketrans({"I": "1", "L": "1", "O": "0"})
# Separators people type or paste: ASCII and Unicode hyphens and dashes, the minus sign.
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212")


class CheckCodeError(InputError):
    """Text that is not a check code (wrong length or a symbol codes never use).
    ``details["reason"]`` is ``length`` or ``symbol``."""

    default_code = "check_code_invalid"

    @property
    def reason(self) -> str:
        """The machine-readable reason (``details["reason"]``)."""
        return str(self.details.get("reason", "unspecified"))


def new_check_code() -> str:
    """A fresh random check code in its printed form ``XXXX-XXXX-XXXX``."""
    return _grouped("".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))


def normalise_check_code(text: str) -> str:
    """The printed form ``XXXX-XXXX-XXXX`` of a code as a person typed or scanned it.

    Raises :class:`CheckCodeError` when, after the forgiving rules above, ``text`` is not
    exactly 12 symbols of the alphabet.
    """
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        raise CheckCodeError(f"A check code has {CODE_LENGTH} letters and digits, printed as "
                             "XXXX-XXXX-XXXX; this is far longer.", reason="length")
    symbols: list[str] = []
    for char in text:
        if 0xFF01 <= ord(char) <= 0xFF5E:  # full-width ASCII from a CJK input method
            char = chr(ord(char) - 0xFEE0)
        if char in _DASHES or char.isspace():
            continue
        symbols.append(char.upper().translate(_READ_ALIKE))
    code = "".join(symbols)
    for position, symbol in enumerate(code):
        if symbol not in ALPHABET:
            raise CheckCodeError(f"A check code uses only digits and the letters A-Z without "
                                 f"U; {symbol!r} (symbol {position + 1}) is not one of them.",
                                 reason="symbol", position=position)
    if len(code) != CODE_LENGTH:
        raise CheckCodeError(f"A check code has {CODE_LENGTH} letters and digits, printed as "
                             f"XXXX-XXXX-XXXX; this has {len(code)}.", reason="length",
                             length=len(code))
    return _grouped(code)


def _grouped(code: str) -> str:
    return "-".join(code[i:i + _GROUP] for i in range(0, CODE_LENGTH, _GROUP))
