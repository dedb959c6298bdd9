"""Second anchors (issue 19): more backends that attest a batch root after the primary chain.

Every backend that dates a batch root fits :class:`AnchorBackend`: given the root and its
leaf count it returns an :class:`Attestation` (who attested, when, and the document a
verifier checks), or raises :class:`~notary.core.errors.NotaryError` when it cannot now.
:class:`ExtraChainAnchor` is the one implemented here: another EVM chain with its own
EvidenceRegistry, reached by the same setup path as the primary
(:func:`notary.chain.setup.attach_registry`). The primary chain keeps its crash-safe
pre-signed path (notary.service.batching) and the RFC 3161 TSA its own (notary.tsa); both
give the same three facts (who, when, the document), which is what the protocol names. A
judicial chain's deposit API is described as an adapter in docs/deployment.md, not built.

A second anchor never blocks the primary: the node is reached lazily, at the first cycle
that needs it, and a failure is recorded and tried again the next cycle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from notary.chain.errors import ChainError
from notary.chain.light import DEV_CHAIN_IDS, Deployment
from notary.chain.registry import Registry
from notary.chain.setup import attach_registry
from notary.config import ExtraAnchorSpec, Settings, extra_anchor_specs
from notary.core.verdict import AnchorFacts

log = logging.getLogger("notary.chain")

__all__ = ["AnchorBackend", "Attestation", "ExtraChainAnchor", "extra_chain_anchors"]


@dataclass(frozen=True)
class Attestation:
    """One backend's word that a root existed at ``time`` (Unix seconds): ``backend`` names
    it (``evm:<chain id>``), ``anchor`` holds the chain facts, ``raw_receipt`` the node's
    transaction receipt (what goes into the bundle's anchor document)."""

    backend: str
    time: int
    anchor: AnchorFacts
    raw_receipt: dict[str, Any]


class AnchorBackend(Protocol):
    """What the batch worker asks of a second anchor."""

    @property
    def name(self) -> str: ...

    @property
    def chain_id(self) -> int:
        """The chain id its attestations are stored and pinned under."""
        ...

    def attest(self, root: bytes, leaf_count: int) -> Attestation: ...


class ExtraChainAnchor:
    """An extra EVM chain: its registry is attached on first use, then reused."""

    def __init__(self, settings: Settings, spec: ExtraAnchorSpec) -> None:
        self.settings, self.spec = settings, spec
        self._registry: Registry | None = None
        self._deployment: Deployment | None = None

    @property
    def name(self) -> str:
        return f"evm:{self.spec.chain_id}"

    @property
    def chain_id(self) -> int:
        return self.spec.chain_id

    def registry(self, *, may_deploy: bool = True) -> Registry:
        """The chain's registry, attached (and on a development chain deployed) once;
        ``may_deploy=False`` (the trust root) only attaches to one that exists."""
        if self._registry is None:
            if (self.spec.chain_id in DEV_CHAIN_IDS and not self.settings.embedded_chain
                    and not self.settings.allow_dev_chain):
                raise ChainError(
                    f"NOTARY_EXTRA_ANCHORS: chain {self.spec.chain_id} is a development chain; "
                    "set NOTARY_ALLOW_DEV_CHAIN=1 only for a test deployment / 开发链不接受",
                    code="dev_chain_refused", chain_id=self.spec.chain_id)
            path = self.settings.chain_dir / "extra" / str(self.spec.chain_id) / "deployment.json"
            self._registry, self._deployment = attach_registry(
                self.settings, self.spec.rpc_url, self.spec.chain_id, self.spec.contract, path,
                setting=f"NOTARY_EXTRA_ANCHORS' chain id for {self.spec.rpc_url}",
                may_deploy=may_deploy)
        return self._registry

    @property
    def deployment(self) -> Deployment | None:
        """Where the registry was deployed (block 0: not known), once attached."""
        return self._deployment

    def attest(self, root: bytes, leaf_count: int) -> Attestation:
        """The root's anchor on this chain: the one already there (a cycle that crashed
        after sending), else a new one, sent now and awaited."""
        registry = self.registry()
        facts = registry.find_anchor(root)
        if facts is None:
            facts = registry.anchor(root, leaf_count)
        receipt = registry.raw_tx_receipt(facts.tx_hash)
        return Attestation(self.name, facts.block_timestamp, facts, receipt)


def extra_chain_anchors(settings: Settings) -> tuple[ExtraChainAnchor, ...]:
    """The configured second anchors (NOTARY_EXTRA_ANCHORS), not yet connected."""
    return tuple(ExtraChainAnchor(settings, spec) for spec in extra_anchor_specs(settings))
