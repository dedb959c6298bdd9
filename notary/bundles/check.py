"""Verify a bundle archive end to end: read it safely, optionally ask a chain node, verify.

The same function serves ``notary verify BUNDLE.zip`` (offline, or with ``--rpc``) and
``POST /v1/verify`` with a bundle upload; only where the chain answers come from differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import BinaryIO

from notary.bundles.archive import ArchiveLimits, read_archive
from notary.core.bundle import (
    AnchorQuery,
    BundleVerification,
    ChainObservation,
    anchor_queries,
    open_bundle,
    verify_bundle,
)

#: Looks up the claimed anchors on a chain node (see ``notary.chain.observe``).
Observe = Callable[[Sequence[AnchorQuery]], Mapping[AnchorQuery, ChainObservation]]


def verify_bundle_file(
    fp: BinaryIO, *, observe: Observe | None = None, limits: ArchiveLimits | None = None
) -> BundleVerification:
    """Verify the bundle in ``fp`` (a seekable binary file). Without ``observe`` the chain is
    not consulted and every ``chain_anchor`` check is skipped (a valid result is then
    qualified). Raises :class:`~notary.core.errors.UnsafeBundle` or
    :class:`~notary.core.errors.UnreadableBundle` for an archive that is refused unread;
    everything else is a check in the returned verdict."""
    # Step 1: read the archive under the limits (hash members, keep the documents).
    contents = read_archive(fp, limits)
    # Step 2: accept the container and its version.
    bundle = open_bundle(contents)
    # Step 3: the outside facts: what a chain node says about the claimed anchors.
    observations = observe(anchor_queries(bundle)) if observe is not None else None
    # Step 4: every check.
    return verify_bundle(bundle, observations=observations)
