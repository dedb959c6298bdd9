"""What an anchor may cost: the node's EIP-1559 fee suggestion, capped by an operator ceiling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

from notary.chain.errors import ChainError


@dataclass(frozen=True)
class FeePolicy:
    """EIP-1559 fees: the node's suggestion, capped by an operator ceiling.

    Above the ceiling a transaction is not sent (ChainError ``fee_above_ceiling``); the items
    stay pending and the worker tries again, so a fee spike costs time, never a surprise bill.
    """

    max_fee_wei: int | None = None
    priority_fee_wei: int | None = None

    def apply(self, w3: Web3, tx: dict[str, Any]) -> dict[str, Any]:
        """Cap ``tx``'s fees at the ceiling; ChainError ``fee_above_ceiling`` if it can't be."""
        if "gasPrice" in tx:  # a legacy (pre-London) chain
            if self.max_fee_wei is not None and tx["gasPrice"] > self.max_fee_wei:
                raise ChainError(f"gas price {tx['gasPrice']} wei is above the ceiling "
                                 f"{self.max_fee_wei} wei", code="fee_above_ceiling")
            return tx
        if self.priority_fee_wei is not None:
            tx["maxPriorityFeePerGas"] = self.priority_fee_wei
        base = int(w3.eth.get_block("latest")["baseFeePerGas"])
        needed = base + int(tx["maxPriorityFeePerGas"])
        if self.max_fee_wei is not None:
            if needed > self.max_fee_wei:
                raise ChainError(f"the fee needed now ({needed} wei/gas) is above the ceiling "
                                 f"{self.max_fee_wei} wei/gas; anchoring waits",
                                 code="fee_above_ceiling", base_fee=base)
            tx["maxFeePerGas"] = min(int(tx["maxFeePerGas"]), self.max_fee_wei)
        tx["maxPriorityFeePerGas"] = min(int(tx["maxPriorityFeePerGas"]), int(tx["maxFeePerGas"]))
        return tx
