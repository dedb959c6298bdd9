"""The chain as an API process sees it: where the registry is, and plain JSON-RPC reads.

web3 and eth-account cost about 30 MiB of resident memory (issue 17). An API process that does
not anchor (``notary run`` anchors in its own worker process) attaches through this module:
the deployment the worker set up, checked with two JSON-RPC calls over urllib; the full
:class:`~notary.chain.registry.Registry` (web3) is built only when a request needs it (a proof
bundle's verification, the trust root, an anchor read back), not at start nor for an upload.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from eth_hash.auto import keccak

from notary.chain.errors import ChainError, ChainMismatch, ChainUnavailable
from notary.core.jws import b64url_encode
from notary.core.pinning import KeyRegistration
from notary.core.verdict import AnchorFacts

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from notary.chain.embedded import EmbeddedChain
    from notary.chain.registry import Registry
    from notary.config import Settings

#: Chain ids of development chains anyone can run locally with any clock and any accounts:
#: 31337 Hardhat Network and anvil, 1337 geth --dev and Ganache, 5777 Ganache's default
#: network, 17 the Parity/OpenEthereum dev chain. Anchors there prove nothing to a third party.
DEV_CHAIN_IDS = frozenset({17, 1337, 5777, 31337})


@dataclass(frozen=True)
class Deployment:
    """Where the registry lives; saved under NOTARY_HOME so a restart attaches to it."""

    chain_id: int
    address: str
    tx_hash: str
    block_number: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def checksum_address(address: str) -> str:
    """EIP-55 mixed-case form of a 20-byte hex address (what web3 prints)."""
    digits = address.lower().removeprefix("0x")
    if len(digits) != 40 or any(c not in "0123456789abcdef" for c in digits):
        raise ChainMismatch(f"{address!r} is not an address (0x and 40 hex digits)",
                            contract=address)
    mask = keccak(digits.encode()).hex()
    return "0x" + "".join(c.upper() if int(m, 16) >= 8 else c for c, m in zip(digits, mask,
                                                                            strict=False))


def rpc(url: str, method: str, params: list[Any], *, timeout: float = 30.0) -> Any:
    """One JSON-RPC call; ChainUnavailable when the node does not answer, ChainError
    ``chain_error`` when it answers with an error."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.load(resp)
    except (OSError, urllib.error.URLError) as exc:
        raise ChainUnavailable(f"the chain node at {url} did not answer: {exc}",
                               url=url) from exc
    except ValueError as exc:
        raise ChainError(f"the node at {url} answered {method} with no JSON",
                         code="chain_error") from exc
    if not isinstance(answer, dict) or "error" in answer or "result" not in answer:
        error = answer.get("error") if isinstance(answer, dict) else answer
        raise ChainError(f"the node refused {method}: {error}", code="chain_error")
    return answer["result"]


def _selector(signature: str) -> str:
    return keccak(signature.encode())[:4].hex()


def _word(value: bytes) -> str:
    if len(value) != 32:
        raise ChainError("a bytes32 argument is 32 bytes", code="thumbprint_invalid")
    return value.hex()


def _words(data: str) -> list[bytes]:
    raw = bytes.fromhex(data.removeprefix("0x"))
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


_BATCH_ANCHORED = "0x" + keccak(b"BatchAnchored(uint64,bytes32,uint32,bytes32)").hex()
_ROLE_EVENTS = ("0x" + keccak(b"RoleGranted(bytes32,address,address)").hex(),
                "0x" + keccak(b"RoleRevoked(bytes32,address,address)").hex())


class RegistryReads(Protocol):
    """The reads of a registry a trust root and an anchor check make; both
    :class:`LightRegistry` and the web3 :class:`~notary.chain.registry.Registry` answer them."""

    @property
    def address(self) -> str: ...
    @property
    def chain_id(self) -> int: ...
    @property
    def account(self) -> LocalAccount | None: ...
    def at(self, address: str) -> RegistryReads: ...
    def code_keccak(self) -> bytes: ...
    def version(self) -> str: ...
    def block_hash(self, number: int) -> str: ...
    def notaries(self, from_block: int = 0) -> list[str]: ...
    def is_notary(self, address: str) -> bool: ...
    def signing_key(self, thumbprint: bytes) -> KeyRegistration: ...
    def find_anchor(self, root: bytes) -> AnchorFacts | None: ...


class LightRegistry:
    """The registry's read-only calls as plain JSON-RPC (``eth_call`` with hand-encoded
    static arguments, ``eth_getLogs``, blocks): no web3. Answers as
    :class:`~notary.chain.registry.Registry` does, value for value."""

    def __init__(self, url: str, address: str, *, timeout: float = 30.0,
                 account: Callable[[], LocalAccount | None] | None = None) -> None:
        self.url = url
        self.address = checksum_address(address)
        self.timeout = timeout
        self._account_of = account
        self._account: LocalAccount | None = None
        self._chain_id: int | None = None

    def _rpc(self, method: str, params: list[Any]) -> Any:
        return rpc(self.url, method, params, timeout=self.timeout)

    def _call(self, signature: str, *args: str) -> list[bytes]:
        data = "0x" + _selector(signature) + "".join(args)
        return _words(self._rpc("eth_call", [{"to": self.address, "data": data}, "latest"]))

    @property
    def account(self) -> LocalAccount | None:
        """The anchoring account (eth-account, loaded at first use: only a trust root whose
        node refuses a log range asks for it)."""
        if self._account is None and self._account_of is not None:
            self._account = self._account_of()
        return self._account

    def at(self, address: str) -> LightRegistry:
        """Another registry on the same node (an earlier one, read only)."""
        return LightRegistry(self.url, address, timeout=self.timeout)

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self._rpc("eth_chainId", []), 16)
        return self._chain_id

    def latest_block(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def code_keccak(self) -> bytes:
        code = self._rpc("eth_getCode", [self.address, "latest"])
        return bytes(keccak(bytes.fromhex(str(code).removeprefix("0x"))))

    def block_hash(self, number: int) -> str:
        block = self._rpc("eth_getBlockByNumber", [hex(number), False])
        if not isinstance(block, dict):
            raise ChainError(f"the node has no block {number}", code="chain_error")
        return "0x" + bytes.fromhex(str(block["hash"]).removeprefix("0x")).hex()

    def version(self) -> str:
        words = self._call("version()")
        try:
            offset = int.from_bytes(words[0], "big") // 32
            length = int.from_bytes(words[offset], "big")
            raw = b"".join(words[offset + 1:])[:length]
            return raw.decode()
        except (IndexError, UnicodeDecodeError) as exc:
            raise ChainError("version() returned no string", code="chain_error") from exc

    def _role(self, name: str) -> bytes:
        words = self._call(f"{name}()")
        if not words:
            raise ChainError(f"{name}() returned nothing", code="chain_error")
        return words[0]

    def _has_role(self, role: bytes, address: str) -> bool:
        words = self._call("hasRole(bytes32,address)", _word(role),
                           checksum_address(address)[2:].lower().rjust(64, "0"))
        return bool(words) and int.from_bytes(words[0], "big") != 0

    def is_notary(self, address: str) -> bool:
        return self._has_role(self._role("NOTARY_ROLE"), address)

    def notaries(self, from_block: int = 0) -> list[str]:
        """As :meth:`Registry.notaries`: RoleGranted/RoleRevoked logs, confirmed by hasRole."""
        role = self._role("NOTARY_ROLE")
        seen: set[str] = set()
        for topic in _ROLE_EVENTS:
            logs = self._rpc("eth_getLogs", [{
                "address": self.address, "fromBlock": hex(from_block), "toBlock": "latest",
                "topics": [topic, "0x" + role.hex()]}])
            for log in logs or []:
                seen.add(checksum_address("0x" + str(log["topics"][2])[-40:]))
        return sorted((a for a in seen if self._has_role(role, a)), key=str.lower)

    def signing_key(self, thumbprint: bytes) -> KeyRegistration:
        words = self._call("signingKeyOf(bytes32)", _word(thumbprint))
        out = [int.from_bytes(w, "big") for w in words[:4]]
        if len(out) != 4:
            raise ChainError("signingKeyOf returned too little", code="chain_error")
        return KeyRegistration(b64url_encode(bytes(thumbprint)), registered_at=out[0],
                               registered_block=out[1], retired_at=out[2],
                               retired_block=out[3])

    def find_anchor(self, root: bytes) -> AnchorFacts | None:
        """As :meth:`Registry.find_anchor`: the registry's view, the BatchAnchored log in that
        block, the block's hash and time; None when the root is not anchored."""
        words = self._call("batchOf(bytes32)", _word(root))
        if len(words) < 2 or int.from_bytes(words[0], "big") == 0:
            return None
        block_number = int.from_bytes(words[1], "big")
        for attempt in range(5):
            logs = self._rpc("eth_getLogs", [{
                "address": self.address, "fromBlock": hex(block_number),
                "toBlock": hex(block_number), "topics": [_BATCH_ANCHORED, None,
                                                         "0x" + root.hex()]}])
            if logs:
                log = logs[0]
                block = self._rpc("eth_getBlockByNumber", [log["blockNumber"], False])
                return AnchorFacts(
                    chain_id=self.chain_id, contract=self.address,
                    batch_id=int(log["topics"][1], 16),
                    root=bytes.fromhex(str(log["topics"][2]).removeprefix("0x")),
                    block_number=int(log["blockNumber"], 16),
                    block_hash="0x" + bytes.fromhex(str(block["hash"])[2:]).hex(),
                    block_timestamp=int(block["timestamp"], 16),
                    tx_hash="0x" + bytes.fromhex(str(log["transactionHash"])[2:]).hex())
            time.sleep(0.1 * (attempt + 1))
        raise ChainUnavailable(
            f"the node records root {root.hex()} in block {block_number} but returns no "
            "BatchAnchored log there; its answers disagree, try again", url=self.url)


class ChainContext:
    """What a process needs of its chain: the deployment, the embedded node if we started it
    (stopped by :meth:`close`), and the registry, built at first use when not given."""

    def __init__(self, deployment: Deployment, embedded: EmbeddedChain | None, *, url: str,
                 timeout: float = 30.0, registry: Registry | None = None,
                 connect: Callable[[], Registry] | None = None,
                 account: Callable[[], LocalAccount] | None = None) -> None:
        self.deployment = deployment
        self.embedded = embedded
        self.url = url
        self.timeout = timeout
        self._registry = registry
        self._connect = connect
        self._lock = threading.Lock()
        self._account = account
        self.reader = LightRegistry(url, deployment.address, timeout=timeout,
                                    account=self._account_of)

    def _account_of(self) -> LocalAccount | None:
        if self._account is not None:
            return self._account()
        return self._registry.account if self._registry is not None else None

    @property
    def registry(self) -> Registry:
        """The full registry adapter (web3): built on the first call in a light context."""
        with self._lock:
            if self._registry is None:
                if self._connect is None:
                    raise ChainError("no registry attached", code="chain_error")
                self._registry = self._connect()
            return self._registry

    def latest_block(self) -> int:
        return int(rpc(self.url, "eth_blockNumber", [], timeout=self.timeout), 16)

    def raw_tx_receipt(self, tx_hash: str) -> dict[str, Any]:
        """The transaction receipt exactly as the node returned it (JSON-RPC result)."""
        result = rpc(self.url, "eth_getTransactionReceipt", [tx_hash], timeout=self.timeout)
        if not isinstance(result, dict):
            raise ChainError(f"no transaction receipt for {tx_hash}", code="receipt_missing")
        return dict(result)

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def embedded_chain(settings: Settings) -> EmbeddedChain:
    """The embedded anvil node of ``settings`` (not started yet)."""
    from notary.chain.embedded import EmbeddedChain

    return EmbeddedChain(settings.chain_dir, host=settings.chain_host, port=settings.chain_port,
                         chain_id=settings.chain_id, block_time=settings.chain_block_time)


def open_light_chain(settings: Settings, embedded: EmbeddedChain | None = None) -> ChainContext:
    """Attach to the registry another process (the worker, ``notary worker --setup-only``)
    deployed or checked: the node must be on NOTARY_CHAIN_ID and have code at the address
    configured or remembered in ``chain/deployment.json``. Nothing is deployed or sent."""
    url, timeout = settings.chain_url, settings.chain_timeout
    chain_id = int(rpc(url, "eth_chainId", [], timeout=timeout), 16)
    if chain_id != settings.chain_id:
        raise ChainMismatch(f"the node at {url} is on chain {chain_id}, but NOTARY_CHAIN_ID is "
                            f"{settings.chain_id}: refusing to use it",
                            expected=settings.chain_id, actual=chain_id)
    path = settings.chain_dir / "deployment.json"
    if settings.contract_address:
        deployment = Deployment(chain_id, checksum_address(settings.contract_address), "", 0)
    elif path.exists():
        deployment = Deployment(**json.loads(path.read_text()))
        if deployment.chain_id != chain_id:
            raise ChainMismatch(f"{path} records chain {deployment.chain_id}, but the node is "
                                f"on chain {chain_id}")
    else:
        raise ChainError(f"no registry deployed on {url} yet (no {path})",
                         code="contract_not_configured")
    if rpc(url, "eth_getCode", [deployment.address, "latest"], timeout=timeout) in ("0x", ""):
        raise ChainMismatch(f"no contract at {deployment.address} on chain {chain_id} (node "
                            f"{url})", contract=deployment.address)

    def connect() -> Registry:
        from notary.chain.setup import registry_for

        return registry_for(settings, deployment)

    def account() -> LocalAccount:
        from notary.chain.setup import chain_account

        return chain_account(settings)

    return ChainContext(deployment, embedded, url=url, timeout=timeout, connect=connect,
                        account=account)
