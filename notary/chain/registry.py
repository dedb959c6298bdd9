"""The EvidenceRegistry adapter: deploy or attach, anchor a root, read anchors back.

web3.py lives in this package and nowhere else. Every node or contract failure leaves it as a
:class:`~notary.chain.errors.ChainError` with a machine-readable ``code``; a revert by the
registry is decoded to the name of its custom error (``EvidenceRegistryRootAlreadyAnchored``...).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import requests
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)

from notary.chain.compile import load_artifact
from notary.chain.errors import AnchorRejected, ChainError, ChainMismatch, ChainUnavailable
from notary.chain.fees import FeePolicy
from notary.chain.light import Deployment
from notary.chain.reverts import error_names, revert_error
from notary.core.jws import b64url_encode
from notary.core.pinning import KeyRegistration
from notary.core.verdict import AnchorFacts

if TYPE_CHECKING:
    from web3.types import TxParams, TxReceipt

ZERO_ROOT = b"\x00" * 32
T = TypeVar("T")


@dataclass(frozen=True)
class SignedAnchor:
    """A signed anchor transaction, kept so that it can be re-sent or replaced after a crash."""

    tx_hash: str
    raw: bytes
    nonce: int
    max_fee: int
    priority_fee: int


def connect(url: str, timeout: float = 30.0) -> Web3:
    """A Web3 client for ``url`` (HTTP JSON-RPC)."""
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))


@contextmanager
def node_errors(url: str) -> Iterator[None]:
    """Translate transport failures into ChainUnavailable (the node is down or unreachable)."""
    try:
        yield
    except (requests.exceptions.RequestException, OSError) as exc:
        raise ChainUnavailable(f"the chain node at {url} did not answer: {exc}", url=url) from exc


def _check_thumbprint(thumbprint: bytes) -> None:
    if not isinstance(thumbprint, bytes | bytearray) or len(thumbprint) != 32:
        raise ChainError("a key thumbprint is 32 bytes (the SHA-256 its kid encodes)",
                         code="thumbprint_invalid")


def _sign_send_wait(w3: Web3, account: LocalAccount, tx: dict[str, Any], fees: FeePolicy, *,
                    what: str, timeout: float, poll_interval: float) -> TxReceipt:
    """Cap the fees of ``tx``, sign and send it, and wait for its transaction receipt
    (ChainError ``tx_timeout`` when it is not mined in time)."""
    signed = account.sign_transaction(fees.apply(w3, tx))
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    try:
        return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout,
                                                   poll_latency=poll_interval)
    except TimeExhausted as exc:
        raise ChainError(f"{what} not mined within {timeout:.0f}s", code="tx_timeout",
                         tx_hash="0x" + bytes(tx_hash).hex()) from exc


class Registry:
    """One deployed EvidenceRegistry, seen through one node and (optionally) one account."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        account: LocalAccount | None = None,
        *,
        confirmations: int = 1,
        timeout: float = 60.0,
        poll_interval: float = 0.05,
        fees: FeePolicy | None = None,
    ) -> None:
        artifact = load_artifact()
        self.w3 = w3
        self.url = str(getattr(w3.provider, "endpoint_uri", "?"))
        self.address = Web3.to_checksum_address(address)
        self.account = account
        self.confirmations = confirmations
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.fees = fees or FeePolicy()
        self.contract = w3.eth.contract(address=self.address, abi=artifact["abi"])
        self._error_names = error_names(artifact["abi"])
        self._event = self.contract.events.BatchAnchored()
        self._chain_id: int | None = None

    # -- deployment -------------------------------------------------------------------------

    @classmethod
    def deploy(
        cls, w3: Web3, account: LocalAccount, *, admin: str | None = None, **kwargs: Any
    ) -> tuple[Registry, Deployment]:
        """Deploy a new registry; ``account`` gets the notary role, ``admin`` (default the same
        account) the admin role."""
        artifact = load_artifact()
        url = str(getattr(w3.provider, "endpoint_uri", "?"))
        factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        with node_errors(url):
            tx = factory.constructor(admin or account.address, account.address).build_transaction(
                {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)}
            )
            tx_receipt = _sign_send_wait(w3, account, dict(tx), kwargs.get("fees") or FeePolicy(),
                                         what="the registry deployment",
                                         timeout=kwargs.get("timeout", 60.0),
                                         poll_interval=kwargs.get("poll_interval", 0.05))
        if tx_receipt["status"] != 1 or not tx_receipt["contractAddress"]:
            raise ChainError("the registry deployment reverted", code="deploy_failed")
        deployment = Deployment(
            chain_id=w3.eth.chain_id,
            address=tx_receipt["contractAddress"],
            tx_hash="0x" + bytes(tx_receipt["transactionHash"]).hex(),
            block_number=tx_receipt["blockNumber"],
        )
        return cls(w3, deployment.address, account, **kwargs), deployment

    def check_deployment(self, expected_chain_id: int | None = None) -> None:
        """Refuse a node on another chain, or an address with no registry code."""
        with node_errors(self.url):
            chain_id = self.chain_id
            code = self.w3.eth.get_code(self.address)
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise ChainMismatch(
                f"the node at {self.url} is on chain {chain_id}, expected {expected_chain_id}"
            )
        if not code:
            raise ChainMismatch(
                f"no contract at {self.address} on chain {chain_id} (node {self.url}): the chain "
                "state was lost or the address is wrong",
                contract=self.address,
            )
        expected = bytes.fromhex(load_artifact()["deployedBytecode"].removeprefix("0x"))
        if bytes(code) != expected:
            raise ChainMismatch(
                f"the contract at {self.address} on chain {chain_id} is not this version of the "
                "EvidenceRegistry (its code differs): refusing to anchor there (a version 1 "
                "registry? deploy version 2, see docs/formats.md 9.9)",
                contract=self.address,
            )

    # -- reads ------------------------------------------------------------------------------

    def at(self, address: str) -> Registry:
        """Another registry on the same node (an earlier one, read only)."""
        return Registry(self.w3, address)

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with node_errors(self.url):
                self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def _call(self, fn: Callable[[], T]) -> T:
        with node_errors(self.url):
            try:
                return fn()
            except ContractLogicError as exc:
                raise revert_error(exc, self._error_names) from exc
            except (Web3RPCError, Web3Exception) as exc:
                raise ChainError(f"the node refused the call: {exc}", code="chain_error") from exc

    def latest_block(self) -> int:
        return self._call(lambda: int(self.w3.eth.block_number))

    def head(self) -> tuple[bytes, int]:
        """The most recently anchored root (zero before the first) and the batch count."""
        root, count = self._call(lambda: self.contract.functions.head().call())
        return bytes(root), int(count)

    def batch_of(self, root: bytes) -> tuple[int, int, int, int]:
        """(batch id, block number, timestamp, leaf count) for ``root``; zeros when unknown."""
        out = self._call(lambda: self.contract.functions.batchOf(root).call())
        return int(out[0]), int(out[1]), int(out[2]), int(out[3])

    def is_notary(self, address: str) -> bool:
        """Whether ``address`` holds the registry's NOTARY_ROLE (may anchor)."""
        def check() -> bool:
            role = self.contract.functions.NOTARY_ROLE().call()
            return bool(self.contract.functions.hasRole(role, address).call())
        return self._call(check)

    def has_key_admin(self, address: str) -> bool:
        """Whether ``address`` holds KEY_ADMIN_ROLE (may register and retire signing keys)."""
        def check() -> bool:
            role = self.contract.functions.KEY_ADMIN_ROLE().call()
            return bool(self.contract.functions.hasRole(role, address).call())
        return self._call(check)

    def notaries(self, from_block: int = 0) -> list[str]:
        """The accounts holding NOTARY_ROLE now, replayed from RoleGranted/RoleRevoked logs
        since ``from_block`` (the deployment block), confirmed by ``hasRole``."""
        def read() -> list[str]:
            role = self.contract.functions.NOTARY_ROLE().call()
            seen: set[str] = set()
            for event in (self.contract.events.RoleGranted(), self.contract.events.RoleRevoked()):
                for log in event.get_logs(from_block=from_block, to_block="latest",
                                          argument_filters={"role": role}):
                    seen.add(Web3.to_checksum_address(log["args"]["account"]))
            return sorted((a for a in seen if self.contract.functions.hasRole(role, a).call()),
                          key=str.lower)
        return self._call(read)

    def code_keccak(self) -> bytes:
        """keccak-256 of the runtime code at the registry's address (what a trust root pins)."""
        return keccak(bytes(self._call(lambda: self.w3.eth.get_code(self.address))))

    def block_hash(self, number: int) -> str:
        """0x hash of block ``number`` (0: the genesis block, which names the chain)."""
        block = self._call(lambda: self.w3.eth.get_block(number))
        return "0x" + bytes(block["hash"]).hex()

    def version(self) -> str:
        """The registry's ``version()``: "2" for this contract (a version 1 registry has none)."""
        return str(self._call(lambda: self.contract.functions.version().call()))

    def signing_key(self, thumbprint: bytes) -> KeyRegistration:
        """What the registry records for the key with this RFC 7638 thumbprint (32 bytes)."""
        _check_thumbprint(thumbprint)
        out = self._call(lambda: self.contract.functions.signingKeyOf(thumbprint).call())
        return KeyRegistration(b64url_encode(bytes(thumbprint)), registered_at=int(out[0]),
                               registered_block=int(out[1]), retired_at=int(out[2]),
                               retired_block=int(out[3]))

    def balance(self, address: str) -> int:
        return self._call(lambda: int(self.w3.eth.get_balance(Web3.to_checksum_address(address))))

    def verify_inclusion(self, root: bytes, proof: Sequence[bytes], leaf: bytes) -> bool:
        """The contract's own answer: is ``root`` anchored and does ``proof`` lead to it."""
        return bool(
            self._call(lambda: self.contract.functions.verifyInclusion(
                root, list(proof), leaf).call())
        )

    def find_anchor(self, root: bytes) -> AnchorFacts | None:
        """The anchor of ``root`` as the chain records it now, or None when it is not anchored.

        Reads the registry's view for the block, then the BatchAnchored log in that block for
        the transaction hash, then the block header for its hash and timestamp.
        """
        batch_id, block_number, _ts, _count = self.batch_of(root)
        if batch_id == 0:
            return None

        def read() -> AnchorFacts | None:
            logs = self._event.get_logs(
                from_block=block_number, to_block=block_number, argument_filters={"root": root}
            )
            return self._facts_from_log(logs[0]) if logs else None

        # The registry says the root is anchored, so a missing log is the node (or a node behind
        # a load balancer) answering from two different views, not a lost anchor: retry briefly,
        # then report the chain as unavailable rather than claim the anchor is gone.
        for attempt in range(5):
            facts = self._call(read)
            if facts is not None:
                return facts
            time.sleep(0.1 * (attempt + 1))
        raise ChainUnavailable(
            f"the node records root {root.hex()} in block {block_number} but returns no "
            "BatchAnchored log there; its answers disagree, try again", url=self.url)

    def raw_tx_receipt(self, tx_hash: str) -> dict[str, Any]:
        """The transaction receipt exactly as the node returned it (JSON-RPC result)."""
        with node_errors(self.url):
            resp = self.w3.provider.make_request("eth_getTransactionReceipt", [tx_hash])  # type: ignore[arg-type]
        result = resp.get("result")
        if result is None:
            raise ChainError(f"no transaction receipt for {tx_hash}", code="receipt_missing")
        return dict(result)

    # -- anchoring --------------------------------------------------------------------------

    def build_anchor(
        self, root: bytes, leaf_count: int, expected_previous_root: bytes, *,
        nonce: int | None = None,
    ) -> tuple[str, bytes]:
        """Sign an anchor transaction without sending it: (tx hash, raw bytes).

        The hash is known before the node sees the transaction, so the caller can record it
        first and reconcile after a crash. Gas estimation simulates the call, so a registry
        refusal (root already anchored, stale head) surfaces here as AnchorRejected.
        """
        signed = self.sign_anchor(root, leaf_count, expected_previous_root, nonce=nonce)
        return signed.tx_hash, signed.raw

    def sign_anchor(
        self, root: bytes, leaf_count: int, expected_previous_root: bytes, *,
        nonce: int | None = None, replacing: SignedAnchor | None = None,
    ) -> SignedAnchor:
        """Sign an anchor; with ``replacing``, a replacement for a stuck transaction: the same
        nonce and fees raised by at least a quarter (nodes require a bump to replace)."""
        if self.account is None:
            raise ChainError("no chain account configured to send anchors", code="no_account")
        account = self.account

        def build() -> SignedAnchor:
            n = replacing.nonce if replacing is not None else nonce
            if n is None:
                n = self.w3.eth.get_transaction_count(account.address, "pending")
            params = cast("TxParams", {"from": account.address, "nonce": n,
                                       "chainId": self.chain_id})
            built = self.contract.functions.anchor(root, leaf_count, expected_previous_root
                                                   ).build_transaction(params)
            tx: dict[str, Any] = self.fees.apply(self.w3, dict(built))
            if replacing is not None and "maxFeePerGas" in tx:
                tx["maxFeePerGas"] = max(int(tx["maxFeePerGas"]), replacing.max_fee * 5 // 4 + 1)
                tx["maxPriorityFeePerGas"] = max(int(tx["maxPriorityFeePerGas"]),
                                                 replacing.priority_fee * 5 // 4 + 1)
                ceiling = self.fees.max_fee_wei
                if ceiling is not None and tx["maxFeePerGas"] > ceiling:
                    raise ChainError("replacing the stuck anchor needs a fee above the ceiling "
                                     f"({tx['maxFeePerGas']} > {ceiling} wei/gas); it waits",
                                     code="fee_above_ceiling")
            signed = account.sign_transaction(tx)
            return SignedAnchor(
                tx_hash="0x" + bytes(signed.hash).hex(), raw=bytes(signed.raw_transaction),
                nonce=int(n), max_fee=int(tx.get("maxFeePerGas", tx.get("gasPrice", 0))),
                priority_fee=int(tx.get("maxPriorityFeePerGas", tx.get("gasPrice", 0))),
            )

        return self._call(build)

    def send_raw(self, raw: bytes) -> str:
        """Send a signed transaction; an already-known transaction is not an error."""
        def send() -> str:
            try:
                return "0x" + bytes(self.w3.eth.send_raw_transaction(raw)).hex()
            except Web3RPCError as exc:
                text = str(exc).lower()
                if "already known" in text or "already imported" in text:
                    return "0x" + keccak(raw).hex()
                raise

        return self._call(send)

    def wait_for_anchor(self, tx_hash: str) -> AnchorFacts:
        """Wait for the transaction receipt and ``confirmations`` blocks; AnchorFacts of the
        mined batch.

        Raises AnchorRejected when the transaction reverted, ChainError(code="anchor_timeout")
        when it is not mined within the timeout (the caller keeps it pending and retries).
        """
        def wait() -> AnchorFacts:
            try:
                tx_receipt = self.w3.eth.wait_for_transaction_receipt(
                    tx_hash, timeout=self.timeout, poll_latency=self.poll_interval  # type: ignore[arg-type]
                )
            except TimeExhausted as exc:
                raise ChainError(f"{tx_hash} not mined within {self.timeout:.0f}s",
                                 code="anchor_timeout", tx_hash=tx_hash) from exc
            if tx_receipt["status"] != 1:
                raise AnchorRejected(f"anchor transaction {tx_hash} reverted",
                                     code="anchor_reverted", tx_hash=tx_hash)
            target = tx_receipt["blockNumber"] + self.confirmations - 1
            deadline = time.monotonic() + self.timeout
            while self.w3.eth.block_number < target:
                if time.monotonic() > deadline:
                    raise ChainError(f"{tx_hash} did not reach {self.confirmations} confirmations",
                                     code="anchor_timeout", tx_hash=tx_hash)
                time.sleep(self.poll_interval)
            events = self._event.process_receipt(tx_receipt)
            if not events:
                raise ChainError(f"{tx_hash} emitted no BatchAnchored event", code="anchor_missing")
            return self._facts_from_log(events[0])

        return self._call(wait)

    def tx_receipt_status(self, tx_hash: str) -> int | None:
        """1 or 0 when mined, None while unknown or pending."""
        def status() -> int | None:
            try:
                return int(self.w3.eth.get_transaction_receipt(tx_hash)["status"])  # type: ignore[arg-type]
            except TransactionNotFound:
                return None
        return self._call(status)

    def anchor(self, root: bytes, leaf_count: int,
               expected_previous_root: bytes | None = None) -> AnchorFacts:
        """Anchor ``root`` now and wait for it: build, send, wait (for one-shot use like the
        CLI)."""
        if expected_previous_root is None:
            expected_previous_root, _ = self.head()
        tx_hash, raw = self.build_anchor(root, leaf_count, expected_previous_root)
        self.send_raw(raw)
        return self.wait_for_anchor(tx_hash)

    # -- statement-signing keys -------------------------------------------------------------

    def register_signing_key(self, thumbprint: bytes) -> KeyRegistration:
        """Register a statement-signing key (needs KEY_ADMIN_ROLE); the record once mined.

        Refusals come out as AnchorRejected named by the registry's error
        (``EvidenceRegistrySigningKeyAlreadyRegistered``, ``...Retired``,
        ``AccessControlUnauthorizedAccount``...), found by the gas estimate before anything is sent.
        """
        _check_thumbprint(thumbprint)
        self._transact(self.contract.functions.registerSigningKey(thumbprint), "registerSigningKey")
        return self.signing_key(thumbprint)

    def retire_signing_key(self, thumbprint: bytes) -> KeyRegistration:
        """Retire a registered key for good (needs KEY_ADMIN_ROLE); the record once mined."""
        _check_thumbprint(thumbprint)
        self._transact(self.contract.functions.retireSigningKey(thumbprint), "retireSigningKey")
        return self.signing_key(thumbprint)

    def _transact(self, call: Any, what: str) -> None:
        """Sign, send and wait for one transaction of ours; raise on a revert."""
        if self.account is None:
            raise ChainError(f"no chain account configured to call {what}", code="no_account")
        account = self.account

        def run() -> None:
            nonce = self.w3.eth.get_transaction_count(account.address, "pending")
            tx = call.build_transaction({"from": account.address, "nonce": nonce,
                                         "chainId": self.chain_id})
            tx_receipt = _sign_send_wait(self.w3, account, dict(tx), self.fees, what=what,
                                         timeout=self.timeout, poll_interval=self.poll_interval)
            if tx_receipt["status"] != 1:
                raise AnchorRejected(f"{what} transaction reverted", code="tx_reverted",
                                     tx_hash="0x" + bytes(tx_receipt["transactionHash"]).hex())

        self._call(run)

    # -- helpers ----------------------------------------------------------------------------

    def _facts_from_log(self, log: Any) -> AnchorFacts:
        block = self.w3.eth.get_block(log["blockNumber"])
        return AnchorFacts(
            chain_id=self.chain_id,
            contract=self.address,
            batch_id=int(log["args"]["batchId"]),
            root=bytes(log["args"]["root"]),
            block_number=int(log["blockNumber"]),
            block_hash="0x" + bytes(block["hash"]).hex(),
            block_timestamp=int(block["timestamp"]),
            tx_hash="0x" + bytes(log["transactionHash"]).hex(),
        )

