"""notary.checkcode: the printed form, the forgiving reading of codes copied from paper,
and clear refusals of text that cannot be a code (named for what is wrong with it)."""

from __future__ import annotations

import re

import pytest

from notary.checkcode import ALPHABET, CheckCodeError, new_check_code, normalise_check_code

pytestmark = pytest.mark.unit

PRINTED = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")


def test_new_codes_are_printed_form_crockford_and_random() -> None:
    codes = [new_check_code() for _ in range(2000)]
    assert all(PRINTED.fullmatch(c) for c in codes)
    assert len(set(codes)) == len(codes)
    assert set("".join(codes).replace("-", "")) == set(ALPHABET)  # every symbol turns up
    assert not set("ILOU") & set(ALPHABET)


@pytest.mark.parametrize("typed", [
    "7K3M-9QXD-2H0A",            # as printed
    "7k3m-9qxd-2h0a",            # lower case
    "7K3M9QXD2H0A",              # no hyphens
    " 7K3M 9QXD 2H0A ",          # spaces
    "7K3M-9QXD-2HOA",            # letter O for zero
    "7k3m—9qxd–2hoa",            # em and en dashes pasted from a word processor
    "７Ｋ３Ｍ－９ＱＸＤ－２Ｈ０Ａ",  # full-width, from a Chinese input method
    "7K3M\u30009QXD\u30002H0A",  # ideographic spaces
])
def test_typed_variants_read_as_the_printed_code(typed: str) -> None:
    assert normalise_check_code(typed) == "7K3M-9QXD-2H0A"


def test_i_and_l_read_as_one() -> None:
    assert normalise_check_code("iLi1-0000-0000") == "1111-0000-0000"


@pytest.mark.parametrize(("name", "typed", "reason"), [
    ("one-symbol-short", "7K3M-9QXD-2H0", "length"),
    ("one-symbol-long", "7K3M-9QXD-2H0AB", "length"),
    ("empty", "", "length"),
    ("letter-u-never-used", "7K3M-9QXD-2HUA", "symbol"),
    ("punctuation", "7K3M.9QXD.2H0A", "symbol"),
    ("sql-in-code", "' OR 1=1 --", "symbol"),
    ("oversize-input", "7" * 65, "length"),
    ("non-string", 7, "length"),
])
def test_text_that_is_no_code_is_refused_with_a_reason(name: str, typed: object,
                                                       reason: str) -> None:
    with pytest.raises(CheckCodeError) as caught:
        normalise_check_code(typed)  # type: ignore[arg-type]
    assert caught.value.code == "check_code_invalid" and caught.value.reason == reason, name
    assert "XXXX-XXXX-XXXX" in caught.value.message or "A-Z" in caught.value.message
