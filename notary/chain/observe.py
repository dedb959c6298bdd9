"""Ask a chain node about a proof bundle (``notary verify --rpc``, ``POST /v1/verify``).

:func:`chain_reader` turns :class:`~notary.core.pinning.ChainQuestions` into a
:class:`~notary.core.pinning.ChainReading` for the pure verifier; nothing is judged here. The
node is the caller's (a URL it chose, or the service's own), never one a bundle names. A node
that does not answer yields a reading with ``error`` set, never an exception; a single question
it will not answer is left out of the reading (the check that needs it is then skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TypeVar

from eth_utils import keccak
from web3 import Web3
from web3.exceptions import Web3Exception

from notary.chain.errors import ChainError, ChainUnavailable
from notary.chain.registry import Registry, node_errors
from notary.core.pinning import (
    AnchorQuery,
    ChainObservation,
    ChainQuestions,
    ChainReading,
    KeyRegistration,
)
from notary.core.trustroot import TrustRootError, kid_thumbprint

__all__ = ["chain_reader", "observe_anchors", "read_chain"]

T = TypeVar("T")


def _observe(w3: Web3, url: str, node_chain: int, q: AnchorQuery) -> ChainObservation:
    if q.chain_id != node_chain:
        return ChainObservation(node=url, chain_id=node_chain)
    try:
        with node_errors(url):
            code = w3.eth.get_code(Web3.to_checksum_address(q.contract))
        if not code:
            return ChainObservation(node=url, chain_id=node_chain)
        anchor = Registry(w3, q.contract).find_anchor(q.root)
    except ChainUnavailable as exc:
        return ChainObservation(node=url, error=exc.message)
    except ChainError:
        # Code that does not answer like the registry (a revert, no return data).
        return ChainObservation(node=url, chain_id=node_chain)
    return ChainObservation(node=url, chain_id=node_chain, registry_found=True, anchor=anchor)


def observe_anchors(w3: Web3, queries: Iterable[AnchorQuery]
                    ) -> dict[AnchorQuery, ChainObservation]:
    """For each claimed anchor: the node's chain id, whether a registry is at the address,
    and the anchor of the root as that registry records it (via
    :meth:`Registry.find_anchor`: the registry's view, the BatchAnchored log, the block)."""
    url = str(getattr(w3.provider, "endpoint_uri", "?"))
    queries = list(queries)
    try:
        with node_errors(url):
            node_chain = int(w3.eth.chain_id)
    except ChainError as exc:
        return {q: ChainObservation(node=url, error=exc.message) for q in queries}
    return {q: _observe(w3, url, node_chain, q) for q in queries}


def _sender(w3: Web3, url: str, tx_hash: str) -> str | None:
    """``eth_getTransactionByHash(tx).from``; None when the node does not know the
    transaction. ChainUnavailable when it does not answer."""
    with node_errors(url):
        resp = w3.provider.make_request("eth_getTransactionByHash", [tx_hash])  # type: ignore[arg-type]
    result = resp.get("result") if isinstance(resp, dict) else None
    sender = result.get("from") if isinstance(result, dict) else None
    return Web3.to_checksum_address(sender) if isinstance(sender, str) else None


def _code_keccak(w3: Web3, url: str, address: str) -> str:
    with node_errors(url):
        code = w3.eth.get_code(Web3.to_checksum_address(address))
    return "0x" + keccak(bytes(code)).hex()


def _block_hash(w3: Web3, url: str, number: int) -> str | None:
    with node_errors(url):
        block = w3.eth.get_block(number)
    value = block.get("hash") if block is not None else None
    return "0x" + bytes(value).hex() if value is not None else None


def read_chain(w3: Web3, node: str, questions: ChainQuestions) -> ChainReading:
    """Ask ``w3`` (known to the reader as ``node``) the questions; never raises for a node
    that fails (see the module docstring)."""
    try:
        with node_errors(node):
            chain_id = int(w3.eth.chain_id)
    except ChainError as exc:
        return ChainReading(node=node, error=exc.message)
    except Exception as exc:  # noqa: BLE001 - a node that answers nonsense is a failed node
        return ChainReading(node=node, error=f"the node gave no usable chain id: {exc}")
    try:
        return _read(w3, node, chain_id, questions)
    except ChainUnavailable as exc:
        return ChainReading(node=node, error=exc.message, chain_id=chain_id)
    except Exception as exc:  # noqa: BLE001 - whatever the node did, the reading says so
        return ChainReading(node=node, error=f"the node's answers were unusable: {exc}",
                            chain_id=chain_id)


def _read(w3: Web3, node: str, chain_id: int, questions: ChainQuestions) -> ChainReading:
    anchors = {q: _observe(w3, node, chain_id, q) for q in questions.anchors}
    block_hash = None
    senders: dict[str, str | None] = {}
    keys: dict[str, KeyRegistration | None] = {}
    codes_out: dict[str, str | None] = {}
    if questions.pinned and chain_id == questions.chain_id:
        if questions.pinned_block is not None:
            block_hash = _soft(lambda: _block_hash(w3, node, questions.pinned_block or 0))
        for address in questions.registries:
            codes_out[address.lower()] = _soft(partial(_code_keccak, w3, node, address))
        for tx in questions.tx_hashes:
            senders[tx.lower()] = _soft(partial(_sender, w3, node, tx))
        registry = questions.key_registry
        if registry is not None and questions.kids:
            reg = Registry(w3, registry)
            for kid in questions.kids:
                keys[kid] = _soft(partial(_registration, reg, kid))
    return ChainReading(node=node, chain_id=chain_id, pinned_block_hash=block_hash,
                        code_keccak256=codes_out, senders=senders, keys=keys, anchors=anchors)


def _registration(reg: Registry, kid: str) -> KeyRegistration | None:
    try:
        thumbprint = kid_thumbprint(kid)
    except TrustRootError:
        return None
    return reg.signing_key(thumbprint)


def _soft(fn: Callable[[], T]) -> T | None:
    """One question: None when the node refuses it (a revert, a malformed answer);
    ChainUnavailable (the node is gone) goes up and fails the whole reading."""
    try:
        return fn()
    except ChainUnavailable:
        raise
    except ChainError:
        return None
    except (Web3Exception, ValueError, TypeError, KeyError, AttributeError):
        return None


def chain_reader(w3: Web3, node: str | None = None) -> Callable[[ChainQuestions], ChainReading]:
    """A :data:`notary.bundles.check.ChainReader` for one node: ``w3``, named ``node`` in the
    reasons (default its URL)."""
    name = node or str(getattr(w3.provider, "endpoint_uri", "?"))
    return lambda questions: read_chain(w3, name, questions)
