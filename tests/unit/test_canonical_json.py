"""canonical_json writes plain JSON with the standard library's C encoder (a large case
bundle canonicalises tens of thousands of documents): its bytes must be exactly those of the
``rfc8785`` reference for every value, and what the reference refuses must still be refused."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from notary.core.errors import StatementError
from notary.core.statement import canonical_json

_INTS = st.integers(min_value=-(2**53) - 3, max_value=2**53 + 3) | st.integers()
_TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF,
                              blacklist_categories=()), max_size=12)
_KEYS = _TEXT | st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=6)
_SCALARS = st.none() | st.booleans() | _INTS | _TEXT | st.floats(allow_nan=True)
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.tuples(inner, inner)
                     | st.dictionaries(_KEYS, inner, max_size=5), max_leaves=20)


def _same_as_reference(value: Any) -> None:
    """canonical_json gives rfc8785's bytes, or fails as it did before: StatementError for
    what rfc8785 refuses, and rfc8785's own error for a key it cannot sort (a lone
    surrogate)."""
    try:
        expected = bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError:
        with pytest.raises(StatementError):
            canonical_json(value)
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


@settings(max_examples=3000, deadline=None)
@given(_JSON)
def test_same_bytes_as_rfc8785(value: Any) -> None:
    _same_as_reference(value)


@pytest.mark.parametrize("value", [
    {"\ue000": 1, "\U0001f600": 2, "a": 3},  # UTF-16 order differs from code point order
    {"k": "\ud800"}, {"\udfff": 1}, 2**53, -(2**53), 1.5, float("nan"),
    {"k": "\u2028\u2029\x7f\x00\x1f\"\\/\b\f\n\r\t"}, [True, False, None, 0, -0, ""],
])
def test_edge_values(value: Any) -> None:
    _same_as_reference(value)
