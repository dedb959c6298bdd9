"""notary: evidence notarisation with signed statements anchored on an EVM chain."""

from __future__ import annotations

import sys

#: Python's own default. Deep recursion is never needed here: every JSON document is
#: depth-checked before parsing (notary.core.jsonlimits) and nothing else recurses deeply.
RECURSION_LIMIT = 1000


def restore_recursion_limit() -> None:
    """Undo py_ecc's ``sys.setrecursionlimit(100000)``.

    py_ecc (imported by eth-keys, so by web3 and eth-account) raises the limit to 100,000 at
    import. With that limit a deeply nested input overflows the C stack and kills the process
    (a segfault, no exception, no answer), where the default limit raises RecursionError.
    Importing py_ecc here, first, makes its one change happen now, so that undoing it here
    holds whatever is imported afterwards and in whatever order.
    """
    try:
        import py_ecc  # noqa: F401  (its import is the side effect undone below)
    except ImportError:  # pragma: no cover - installed with web3; offline tools may lack it
        pass
    sys.setrecursionlimit(min(sys.getrecursionlimit(), RECURSION_LIMIT))


restore_recursion_limit()
