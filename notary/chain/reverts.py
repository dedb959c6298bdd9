"""A revert by the registry, decoded to the name of its custom error.

The ABI's ``error`` entries give each custom error a 4-byte selector; a revert whose data starts
with one becomes AnchorRejected with that name as its ``code``
(``EvidenceRegistryRootAlreadyAnchored``, ``AccessControlUnauthorizedAccount``...).
"""

from __future__ import annotations

from typing import Any

from eth_utils import keccak
from web3.exceptions import ContractCustomError, ContractLogicError

from notary.chain.errors import AnchorRejected, ChainError


def error_names(abi: list[dict[str, Any]]) -> dict[str, str]:
    """The custom errors of ``abi`` by their 0x selector."""
    out = {}
    for item in abi:
        if item.get("type") == "error":
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            out["0x" + keccak(text=sig)[:4].hex()] = item["name"]
    return out


def revert_error(exc: ContractLogicError, names: dict[str, str]) -> ChainError:
    """AnchorRejected named by the custom error ``exc`` carries, else ``anchor_reverted``."""
    data = exc.data if isinstance(exc.data, str) else ""
    name = names.get(data[:10]) if data else None
    if isinstance(exc, ContractCustomError) and name:
        return AnchorRejected(f"the registry refused: {name}", code=name, revert_data=data)
    return AnchorRejected(f"the registry refused: {exc}", code="anchor_reverted")
