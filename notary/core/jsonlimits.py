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
from typing import Any, Final

from .errors import InputError

__all__ = ["MAX_JSON_DEPTH", "JsonTooDeep", "JsonTooLarge", "check_depth", "check_size",
           "loads_bounded"]

#: Deepest nesting of arrays and objects accepted anywhere. Our own documents nest at most
#: five or six levels; 64 leaves room for any honest client.
MAX_JSON_DEPTH: Final = 64

_OPEN: Final = frozenset(b"[{")
_CLOSE: Final = frozenset(b"]}")
_QUOTE: Final = ord('"')
_BACKSLASH: Final = ord("\\")


class JsonTooDeep(InputError):
    """A JSON document nests arrays/objects deeper than allowed."""

    default_code = "json_too_deep"


class JsonTooLarge(InputError):
    """A JSON document is larger than allowed."""

    default_code = "json_too_large"


def check_depth(data: bytes | bytearray | memoryview, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`JsonTooDeep` when ``data`` opens more than ``max_depth`` arrays or objects
    at once. Brackets inside strings (escapes included) are not counted. Works on any bytes:
    it does not validate JSON, the parser that runs afterwards does."""
    view = bytes(data)
    # Fast path: a document with fewer brackets than the limit cannot be too deep.
    if view.count(b"[") + view.count(b"{") <= max_depth:
        return
    depth = 0
    in_string = False
    escaped = False
    for byte in view:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > max_depth:
                raise JsonTooDeep(f"the JSON document nests deeper than {max_depth} levels",
                                  max_depth=max_depth)
        elif byte in _CLOSE:
            depth = max(0, depth - 1)


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
