"""Bounds on every JSON document we parse, checked on the bytes *before* parsing.

Python's JSON parser recurses once per nesting level. A body of 100,000 ``[`` overflows the C
stack (a segfault, not an exception) once a dependency has raised the recursion limit, and
py_ecc (imported by the chain stack) raises it to 100,000. So no document reaches a parser
until :func:`check_depth` has counted its nesting with a loop, not recursion, and no document
larger than its limit is even scanned.

The errors are :class:`~notary.core.errors.InputError` with stable codes: ``json_too_deep`` and
``json_too_large``.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any, Final

from .errors import InputError

__all__ = ["MAX_JSON_DEPTH", "JsonTooBroad", "JsonTooDeep", "JsonTooLarge", "check_breadth",
           "check_depth", "check_size", "loads_bounded"]

#: Deepest nesting of arrays and objects accepted anywhere. Our own documents nest at most
#: five or six levels; 64 leaves room for any honest client.
MAX_JSON_DEPTH: Final = 64

# A string literal, or an unterminated one running to the end (which a parser refuses), so
# that removing strings is one linear pass in C; what is left of brackets is summed in C too.
_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET: Final = re.compile(rb"[^\[\]{}]+")
_STEP: Final = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JsonTooDeep(InputError):
    """A JSON document nests arrays/objects deeper than allowed."""

    default_code = "json_too_deep"


class JsonTooBroad(InputError):
    """A JSON document holds more objects, arrays or values than its use needs."""

    default_code = "json_too_broad"


class JsonTooLarge(InputError):
    """A JSON document is larger than allowed."""

    default_code = "json_too_large"


def check_depth(data: bytes | bytearray | memoryview, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`JsonTooDeep` when ``data`` opens more than ``max_depth`` arrays or objects
    at once. Brackets inside strings (escapes included) are not counted. Works on any bytes:
    it does not validate JSON, the parser that runs afterwards does."""
    view = bytes(data)
    # The scan reads UTF-8 bytes, but json.loads also reads UTF-16 and UTF-32, in which a
    # quote or backslash byte inside a character would hide the brackets after it. JSON that
    # is exchanged must be UTF-8 (RFC 8259 §8.1): refuse anything a parser would decode else.
    if view and json.detect_encoding(view).startswith(("utf-16", "utf-32")):
        raise InputError("a JSON document must be UTF-8 (RFC 8259 §8.1)", code="json_invalid")
    # Fast path: a document with fewer brackets than the limit cannot be too deep.
    if view.count(b"[") + view.count(b"{") <= max_depth:
        return
    # The running sum over the brackets outside strings is the nesting depth. It can only go
    # below zero in text that is not JSON, and a parser stops at the first such bracket, so
    # the maximum over every prefix bounds what any parser will recurse into.
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", view))
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > max_depth:
        raise JsonTooDeep(f"the JSON document nests deeper than {max_depth} levels",
                          max_depth=max_depth)


def check_breadth(data: bytes | bytearray | memoryview, *, max_containers: int,
                  max_values: int) -> None:
    """Raise :class:`JsonTooBroad` when ``data`` opens more than ``max_containers`` objects
    and arrays, or separates more than ``max_values`` values (``,`` and ``:`` outside
    strings), before a parser builds them: a few bytes per ``{}`` would otherwise become
    hundreds of bytes of Python objects each (gigabytes from a body of a few MiB)."""
    rest = _STRING.sub(b"", bytes(data))
    containers = rest.count(b"[") + rest.count(b"{")
    values = rest.count(b",") + rest.count(b":")
    if containers > max_containers or values > max_values:
        raise JsonTooBroad(
            f"the JSON document holds {containers} objects or arrays and {values} values; "
            f"at most {max_containers} and {max_values} are accepted here",
            max_containers=max_containers, max_values=max_values)


def check_size(data: bytes | bytearray | memoryview, max_bytes: int) -> None:
    """Raise :class:`JsonTooLarge` when ``data`` is longer than ``max_bytes``."""
    if len(data) > max_bytes:
        raise JsonTooLarge(f"the JSON document is {len(data)} bytes; the limit is {max_bytes}",
                           max_bytes=max_bytes)


def loads_bounded(data: bytes | bytearray | str, *, max_bytes: int,
                  max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads(data)`` after the size and depth checks above (size first)."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    check_size(raw, max_bytes)
    check_depth(raw, max_depth)
    return json.loads(raw)
