"""The result of verifying a piece of evidence: a list of named checks and a verdict.

Each :class:`Check` passes, fails or is skipped, with a reason written as a full English
sentence that can be read out in court. The overall result is:

* ``"invalid"``  -- at least one check failed;
* ``"unknown"``  -- nothing failed, but a *decisive* check could not be made (for
  example the file was not supplied, so nobody knows whether it is the file notarised);
* ``"valid"``    -- nothing failed and every decisive check passed. If some other
  check was skipped (e.g. the chain was not consulted), :attr:`Verdict.qualified` is true
  and the result must be reported as "valid, except for the skipped checks".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import InputError

__all__ = ["DECISIVE_CHECKS", "AnchorFacts", "Check", "CheckStatus", "Verdict"]

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH32 = re.compile(r"0x[0-9a-fA-F]{64}")

#: Checks without which nothing can be said about the evidence: the statement must be
#: genuinely notary's, and the file must be the one it describes.
DECISIVE_CHECKS: frozenset[str] = frozenset({"statement_signature", "file_hash"})


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One verification step: its ``name`` (stable, machine-readable), its status, and a
    ``reason`` sentence saying what was found or why it was not checked."""

    name: str
    status: CheckStatus
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "reason": self.reason}


@dataclass
class Verdict:
    """All checks of one verification, and the overall result.

    ``decisive`` names the checks that must pass for a ``"valid"`` result (a decisive
    check that was skipped or never made gives ``"unknown"``).
    """

    checks: list[Check]
    decisive: frozenset[str] = field(default=DECISIVE_CHECKS)

    @property
    def result(self) -> str:
        """``"invalid"``, ``"unknown"`` or ``"valid"`` (see the module docstring)."""
        if any(c.status is CheckStatus.FAIL for c in self.checks):
            return "invalid"
        passed = {c.name for c in self.checks if c.status is CheckStatus.PASS}
        if not self.checks or not self.decisive <= passed:
            return "unknown"
        return "valid"

    @property
    def skipped(self) -> list[Check]:
        """The checks that were not made, with the reasons why."""
        return [c for c in self.checks if c.status is CheckStatus.SKIP]

    @property
    def failed(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if c.status is CheckStatus.FAIL]

    @property
    def qualified(self) -> bool:
        """True when the result is ``"valid"`` but some checks were skipped: report it as
        "valid, except for the skipped checks" and list them."""
        return self.result == "valid" and bool(self.skipped)

    def check(self, name: str) -> Check:
        """The check called ``name``. Raises ``KeyError`` if there is none."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """``{"result", "qualified", "checks": [{"name", "status", "reason"}, ...]}``."""
        return {
            "result": self.result,
            "qualified": self.qualified,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True)
class AnchorFacts:
    """Where and when a Merkle root was anchored: either as *claimed* (in a proof bundle)
    or as *observed* (read from a chain node by the caller; never fetched here).

    Hex strings compare case-insensitively (``contract`` may be EIP-55 checksummed or
    lower case). Raises :class:`InputError` (``anchor_invalid``) for malformed values.
    """

    chain_id: int
    contract: str
    batch_id: int
    root: bytes
    block_number: int
    block_hash: str
    block_timestamp: int
    tx_hash: str

    def __post_init__(self) -> None:
        for name in ("chain_id", "batch_id", "block_number", "block_timestamp"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(
                    f"Anchor field '{name}' must be a non-negative integer.",
                    code="anchor_invalid",
                    field=name,
                )
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise InputError(
                "Anchor field 'root' must be 32 bytes.", code="anchor_invalid", field="root"
            )
        if not isinstance(self.contract, str) or _ADDRESS.fullmatch(self.contract) is None:
            raise InputError(
                "Anchor field 'contract' must be 0x followed by 40 hex digits.",
                code="anchor_invalid",
                field="contract",
            )
        for name in ("block_hash", "tx_hash"):
            value = getattr(self, name)
            if not isinstance(value, str) or _HASH32.fullmatch(value) is None:
                raise InputError(
                    f"Anchor field '{name}' must be 0x followed by 64 hex digits.",
                    code="anchor_invalid",
                    field=name,
                )
