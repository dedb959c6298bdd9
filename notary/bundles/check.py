"""Verify a bundle archive end to end: read it safely, ask a chain node when the caller gives
one, read its RFC 3161 tokens, verify (against a pinned trust root when one is given).

The same function serves ``notary verify BUNDLE.zip`` (offline, or with ``--rpc``,
``--trust-root`` and ``--tsa-ca``) and ``POST /v1/verify`` with a bundle upload; only where
the chain answers, the trust root and the TSA trust roots come from differs. The chain node is
the caller's, never one the bundle names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import BinaryIO

from cryptography import x509

from notary.bundles.archive import ArchiveLimits, hash_ranges, read_archive
from notary.core.bundle import (
    BundleVerification,
    ItemMap,
    bundle_questions,
    extra_chain_questions,
    open_bundle,
    recording_ranges,
    verify_bundle,
)
from notary.core.pinning import ChainQuestions, ChainReading
from notary.core.trustroot import VerifiedTrustRoot
from notary.tsa import read_bundle_timestamps

__all__ = ["ChainReader", "verify_bundle_file"]

#: Asks one chain node the questions about a bundle (see ``notary.chain.observe.chain_reader``).
#: It never raises for a node that fails: the reading carries ``error`` instead.
ChainReader = Callable[[ChainQuestions], ChainReading]


def verify_bundle_file(
    fp: BinaryIO, *, trust_root: VerifiedTrustRoot | None = None,
    chain: ChainReader | None = None, limits: ArchiveLimits | None = None,
    tsa_roots: Sequence[x509.Certificate] = (),
    extra_chains: Mapping[int, ChainReader] | None = None,
    map_items: ItemMap | None = None,
) -> BundleVerification:
    """Verify the bundle in ``fp`` (a seekable binary file).

    ``trust_root``: the pinned trust root (without one the result is never ``valid``, at best
    ``not_established``). ``chain``: a reader for a chain node chosen by the caller (without
    one the chain checks are skipped and the time is unknown). Without ``tsa_roots`` (the TSA
    root certificates the caller trusts) an RFC 3161 timestamp is at best a partial check.
    ``extra_chains``: a reader for a node of each second chain, by chain id, chosen by the
    caller (without one a second anchor is checked against its receipt and pin only).
    ``map_items``: how the items' own checks are run (default: one after the other, here;
    :func:`notary.bundles.parallel.item_processes` spreads them over processes).
    Raises :class:`~notary.core.errors.UnsafeBundle` or
    :class:`~notary.core.errors.UnreadableBundle` for an archive that is refused unread;
    everything else is a check in the returned verdict."""
    # Step 1: read the archive under the limits (hash members, keep the documents).
    contents = read_archive(fp, limits)
    # Step 2: accept the container and its version.
    bundle = open_bundle(contents)
    # Step 3: the outside facts: what the caller's chain node says (pinned questions when a
    # trust root is given).
    reading = chain(bundle_questions(bundle, trust_root)) if chain is not None else None
    readers = extra_chains or {}
    extra = {chain_id: readers[chain_id](q) for chain_id, q in
             extra_chain_questions(bundle, trust_root).items() if chain_id in readers}
    # Step 4: the other outside facts: what the library reads in the TSA tokens.
    timestamps = read_bundle_timestamps(contents.documents, tsa_roots)
    # Step 5: each segment of a recording notarised while made, out of its original.
    wanted = recording_ranges([(i.path, i.original) for i in bundle.items], contents.documents)
    slices = hash_ranges(fp, wanted)
    # Step 6: every check, and the answers.
    return verify_bundle(bundle, timestamps=timestamps, trust_root=trust_root, chain=reading,
                         slices=slices, extra_chains=extra, map_items=map_items)
