"""Verify a bundle archive end to end: read it safely, optionally ask a chain node, read its
RFC 3161 tokens, verify.

The same function serves ``notary verify BUNDLE.zip`` (offline, or with ``--rpc`` and
``--tsa-ca``) and ``POST /v1/verify`` with a bundle upload; only where the chain answers and
the TSA trust roots come from differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import BinaryIO

from cryptography import x509

from notary.bundles.archive import ArchiveLimits, read_archive
from notary.core.bundle import (
    AnchorQuery,
    BundleVerification,
    ChainObservation,
    anchor_queries,
    open_bundle,
    verify_bundle,
)
from notary.tsa import read_bundle_timestamps

#: Looks up the claimed anchors on a chain node (see ``notary.chain.observe``).
Observe = Callable[[Sequence[AnchorQuery]], Mapping[AnchorQuery, ChainObservation]]


def verify_bundle_file(
    fp: BinaryIO, *, observe: Observe | None = None, limits: ArchiveLimits | None = None,
    tsa_roots: Sequence[x509.Certificate] = (),
) -> BundleVerification:
    """Verify the bundle in ``fp`` (a seekable binary file). Without ``observe`` the chain is
    not consulted and every ``chain_anchor`` check is skipped (a valid result is then
    qualified). Without ``tsa_roots`` (the TSA root certificates the caller trusts) an RFC
    3161 timestamp is at best a partial check. Raises
    :class:`~notary.core.errors.UnsafeBundle` or :class:`~notary.core.errors.UnreadableBundle`
    for an archive that is refused unread; everything else is a check in the returned
    verdict."""
    # Step 1: read the archive under the limits (hash members, keep the documents).
    contents = read_archive(fp, limits)
    # Step 2: accept the container and its version.
    bundle = open_bundle(contents)
    # Step 3: the outside facts: what a chain node says about the claimed anchors.
    observations = observe(anchor_queries(bundle)) if observe is not None else None
    # Step 4: the other outside facts: what the library reads in the TSA tokens.
    timestamps = read_bundle_timestamps(contents.documents, tsa_roots)
    # Step 5: every check.
    return verify_bundle(bundle, observations=observations, timestamps=timestamps)
