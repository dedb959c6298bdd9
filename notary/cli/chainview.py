"""The one door from the offline verifier to a chain node: ``notary verify BUNDLE --rpc URL``.
Loaded only when --rpc is given, so verifying a bundle offline never imports web3."""

from __future__ import annotations

from notary.bundles.check import ChainReader


def reader(rpc_url: str) -> ChainReader:
    """A chain reader for the node the user named (never one the bundle names)."""
    from notary.chain.observe import chain_reader
    from notary.chain.registry import connect

    return chain_reader(connect(rpc_url), rpc_url)
