"""The one door from the offline verifier to a chain node: ``notary verify BUNDLE --rpc URL``.
Loaded only when --rpc is given, so verifying a bundle offline never imports web3."""

from __future__ import annotations

from notary.bundles.check import Observe


def observer(rpc_url: str) -> Observe:
    from notary.chain.observe import observe_anchors
    from notary.chain.registry import connect

    w3 = connect(rpc_url)
    return lambda queries: observe_anchors(w3, queries)
