"""Ask a chain node about the anchors a proof bundle claims (``notary verify --rpc``).

The answers become :class:`~notary.core.bundle.ChainObservation` facts for the pure bundle
verifier; nothing is judged here. A node that does not answer yields an observation with
``error`` set (the chain check is then skipped with that reason), never an exception.
"""

from __future__ import annotations

from collections.abc import Iterable

from web3 import Web3

from notary.chain.errors import ChainError, ChainUnavailable
from notary.chain.registry import Registry, node_errors
from notary.core.bundle import AnchorQuery, ChainObservation


def observe_anchors(w3: Web3, queries: Iterable[AnchorQuery]) -> dict[AnchorQuery, ChainObservation]:
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
    out: dict[AnchorQuery, ChainObservation] = {}
    for q in queries:
        if q.chain_id != node_chain:
            out[q] = ChainObservation(node=url, chain_id=node_chain)
            continue
        try:
            with node_errors(url):
                code = w3.eth.get_code(Web3.to_checksum_address(q.contract))
            if not code:
                out[q] = ChainObservation(node=url, chain_id=node_chain)
                continue
            anchor = Registry(w3, q.contract).find_anchor(q.root)
        except ChainUnavailable as exc:
            out[q] = ChainObservation(node=url, error=exc.message)
        except ChainError:
            # Code that does not answer like the registry (a revert, no return data).
            out[q] = ChainObservation(node=url, chain_id=node_chain)
        else:
            out[q] = ChainObservation(node=url, chain_id=node_chain, registry_found=True,
                                      anchor=anchor)
    return out
