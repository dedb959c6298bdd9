"""Errors from the chain adapter, as the project's own types (never web3's)."""

from __future__ import annotations

import notary.core.errors as kinds
from notary.core.errors import NotaryError


class ChainError(NotaryError):
    """The chain could not do what we asked. ``code`` says why in a word."""

    kind = kinds.UPSTREAM


class ChainUnavailable(ChainError):
    """The node did not answer (down, wrong URL, timed out)."""

    kind = kinds.UNAVAILABLE

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message, code="chain_unavailable", **details)


class ChainMismatch(ChainError):
    """The node or contract is not the one this service was set up with."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message, code="chain_mismatch", **details)


class AnchorRejected(ChainError):
    """The registry refused an anchor; ``code`` names its custom error."""
