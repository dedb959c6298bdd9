"""RFC 3161 timestamps of Merkle roots: where a bundle keeps them, and when one holds.

A token proves its genTime only while its TSA's certificate is valid, or while a renewal
covers it (RFC 4998 §5.2, timestamp renewal): a later token over the earlier token's bytes,
made before the earlier certificate expired, whose own proof holds in the same way. The
renewals of a root form a chain: ``<root>.tsr`` over the root, ``<root>.renewal-1.tsr``
over the DER bytes of ``<root>.tsr``, ``<root>.renewal-2.tsr`` over those of
``renewal-1``, and so on (docs/bundle-format.md §4.6).

CONSENSUS-CRITICAL. A time-stamping authority (TSA) signs that the SHA-256 of a batch's 32
root bytes existed at its ``genTime``: an attestation of time independent of the chain. The
paths below are part of the bundle format (docs/bundle-format.md §4.6) and the rule of
:func:`check_timestamp` decides the ``items[i].rfc3161_timestamp`` check.

Pure: the token is parsed and its CMS signature checked outside this package (by the
maintained library ``rfc3161-client``, in :mod:`notary.tsa`); what it found comes in as a
:class:`TimestampReading`, just as a chain node's answers come in as observations. This
module only decides what those facts prove about one root.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from .merkle import to_hex32
from .validate import format_rfc3339_utc
from .verdict import Check, CheckStatus

__all__ = [
    "IMPRINT_ALGORITHM",
    "RENEWAL_ALGORITHMS",
    "TIMESTAMPS_DIR",
    "TSA_CHAIN_PATH",
    "TimestampReading",
    "TokenTrust",
    "check_renewal_answer",
    "check_timestamp",
    "is_timestamp_document",
    "renewal_path",
    "root_path",
    "token_path",
]

TIMESTAMPS_DIR: Final = "timestamps"
#: The TSA's certificates (PEM) as far as they were known at export: for ``-untrusted``.
TSA_CHAIN_PATH: Final = f"{TIMESTAMPS_DIR}/tsa-chain.pem"
#: The only message-imprint hash accepted: SHA-256 over the root's 32 bytes.
IMPRINT_ALGORITHM: Final = "sha256"
#: The message-imprint hashes a renewal may use over the previous token's bytes (a stronger
#: one than SHA-256 is how a hash's deprecation would be met; the service asks for SHA-256).
RENEWAL_ALGORITHMS: Final = ("sha256", "sha384", "sha512")
#: At most this many renewals per root (one per TSA certificate's lifetime).
MAX_RENEWALS: Final = 99

_DOCUMENT = re.compile(
    rf"{TIMESTAMPS_DIR}/([0-9a-f]{{64}}\.(tsr|bin|renewal-[1-9][0-9]{{0,1}}\.tsr)|tsa-chain\.pem)")
_NAME: Final = "rfc3161_timestamp"


def _sentence(text: str) -> str:
    return text if text.endswith(".") else f"{text}."


def token_path(root: bytes) -> str:
    """``timestamps/<root hex>.tsr``: the TSA's TimeStampResp (DER) for this root."""
    return f"{TIMESTAMPS_DIR}/{root.hex()}.tsr"


def root_path(root: bytes) -> str:
    """``timestamps/<root hex>.bin``: the 32 root bytes, the data ``openssl ts -verify
    -data`` hashes."""
    return f"{TIMESTAMPS_DIR}/{root.hex()}.bin"


def renewal_path(root: bytes, number: int) -> str:
    """``timestamps/<root hex>.renewal-<n>.tsr`` (n from 1): the TSA's TimeStampResp (DER)
    whose message imprint is the hash of the bytes of the previous token's file (for n = 1
    ``<root>.tsr``, else ``renewal-<n-1>``): ``openssl ts -verify -data PREVIOUS -in THIS``."""
    if not 1 <= number <= MAX_RENEWALS:
        raise ValueError(f"renewal number {number} out of range")
    return f"{TIMESTAMPS_DIR}/{root.hex()}.renewal-{number}.tsr"


def is_timestamp_document(path: str) -> bool:
    """True for the paths of :func:`token_path`, :func:`root_path`, :func:`renewal_path` and
    :data:`TSA_CHAIN_PATH`."""
    return _DOCUMENT.fullmatch(path) is not None


class TokenTrust(StrEnum):
    """What became of the token's signature when it was read."""

    #: Valid, by a certificate that chains to a root the verifier was told to trust.
    TRUSTED = "trusted"
    #: Valid, by a certificate that chains only to a root the bundle itself carries.
    SELF_DECLARED = "self_declared"
    #: Not checked: there was no root (of the verifier's, or in the bundle) to check it with.
    UNCHECKED = "unchecked"
    #: The signature, or the certificate chain behind it, does not verify.
    INVALID = "invalid"


@dataclass(frozen=True)
class TimestampReading:
    """What one token says, as read and checked outside this package (never computed here).

    ``problem`` is set when the bytes are not a granted RFC 3161 response at all (the other
    fields are then None). ``trust_detail`` is a sentence fragment naming the certificates
    (e.g. the root's subject and fingerprint), or why the signature failed. ``expires`` is
    the earliest ``notAfter`` of the signing certificate and its issuers as far as they are
    known (None if no certificate was found), ``checked_at`` the verifier's clock when the
    token was read: until ``expires`` the token proves its time on its own.
    """

    path: str
    problem: str | None = None
    hash_algorithm: str | None = None
    imprint: bytes | None = None
    gen_time: datetime | None = None
    tsa: str | None = None
    serial: int | None = None
    nonce: int | None = None
    trust: TokenTrust = TokenTrust.UNCHECKED
    trust_detail: str = ""
    expires: datetime | None = None
    checked_at: datetime | None = None


def check_renewal_answer(previous: bytes, reading: TimestampReading) -> str | None:
    """Why ``reading`` is not a renewal of the token whose file holds ``previous`` (None when
    it is): a granted token over a hash of :data:`RENEWAL_ALGORITHMS` of exactly those bytes,
    whose signature did not fail. The verifier asks this of each link, and the TSA client of
    a fresh renewal before it is kept: one rule for both."""
    if reading.problem is not None:
        return f"it is not a granted RFC 3161 time-stamp response: {_sentence(reading.problem)}"
    algorithm = reading.hash_algorithm or "unknown"
    if algorithm not in RENEWAL_ALGORITHMS:
        return (f"it time-stamps a {algorithm} digest; a renewal must use one of "
                f"{', '.join(RENEWAL_ALGORITHMS)}.")
    expected = hashlib.new(algorithm, previous).digest()
    if reading.imprint != expected:
        got = reading.imprint.hex() if reading.imprint is not None else "nothing"
        return (f"it time-stamps the {algorithm} digest {got}, but the {algorithm} of the "
                f"previous token's bytes is {expected.hex()}: it renews other data.")
    if reading.trust is TokenTrust.INVALID:
        return ("the time-stamping authority's signature does not hold: "
                f"{_sentence(reading.trust_detail)}")
    return None


def _when(moment: datetime) -> str:
    return format_rfc3339_utc(moment)


def _holds_until(links: list[TimestampReading]) -> tuple[int, str | None]:
    """How many links (from the first) form an unbroken renewal chain, and why the next one
    does not join it (None when all do): each renewal made before the certificate of the
    token it renews expired (RFC 4998 §5.2)."""
    for k in range(1, len(links)):
        before, link = links[k - 1], links[k]
        assert before.gen_time is not None and link.gen_time is not None
        if link.gen_time < before.gen_time:
            return k, (f"{link.path} is dated {_when(link.gen_time)}, before the token it "
                       f"renews ({_when(before.gen_time)})")
        if before.expires is not None and link.gen_time >= before.expires:
            return k, (f"{link.path} was made at {_when(link.gen_time)}, after the TSA "
                       f"certificate of {before.path} expired on {_when(before.expires)}")
    return len(links), None


def check_timestamp(root: bytes | None, reading: TimestampReading | None, *,
                    token_present: bool, root_bytes: bytes | None,
                    renewals: Sequence[tuple[TimestampReading | None, bytes | None]] = (),
                    ) -> Check:
    """``rfc3161_timestamp`` for one Merkle root.

    ``token_present``: the bundle holds ``timestamps/<root>.tsr``; ``reading``: what the
    library found in it (None if it was not read); ``root_bytes``: the content of
    ``timestamps/<root>.bin`` (None if absent); ``renewals``: for each
    ``timestamps/<root>.renewal-<n>.tsr`` in order, its reading and the bytes of the file it
    renews. Passes only when the token is granted, its imprint is the SHA-256 of the root,
    its signature (and every renewal's) verifies by a certificate that chains to a root the
    verifier trusts, and its proof still holds: its TSA certificate is valid now, or an
    unbroken chain of renewals reaches one that is. A valid token whose TSA was not checked
    against such a root is skipped (a partial check, with the reason); so is one whose proof
    has lapsed (its certificate expired, no renewal covers it); no token is skipped too.
    A renewal over other data, or with a bad signature, fails.
    """
    # Step 1: is there anything to check?
    if root is None:
        return Check(_NAME, CheckStatus.SKIP, "Not checked, because the item's Merkle root "
                                              "could not be read.")
    path, bin_path, shown = token_path(root), root_path(root), to_hex32(root)
    if not token_present:
        return Check(_NAME, CheckStatus.SKIP,
                     f"There is no RFC 3161 timestamp in this bundle for the Merkle root {shown}.")
    if reading is None:
        return Check(_NAME, CheckStatus.SKIP, f"{path} was not read by this verifier.")
    # Step 2: the token is a granted response, for SHA-256 of exactly this root.
    if reading.problem is not None:
        return Check(_NAME, CheckStatus.FAIL, f"{path} is not a granted RFC 3161 time-stamp "
                                              f"response: {_sentence(reading.problem)}")
    if root_bytes != root:
        what = "is missing" if root_bytes is None else "does not hold the 32 bytes of the root"
        return Check(_NAME, CheckStatus.FAIL, f"{bin_path} {what} (the root is {shown}).")
    if reading.hash_algorithm != IMPRINT_ALGORITHM:
        return Check(_NAME, CheckStatus.FAIL,
                     f"{path} time-stamps a {reading.hash_algorithm} digest; only SHA-256 of the "
                     "root is accepted.")
    expected = hashlib.sha256(root).digest()
    if reading.imprint != expected:
        got = reading.imprint.hex() if reading.imprint is not None else "nothing"
        return Check(_NAME, CheckStatus.FAIL,
                     f"{path} time-stamps the SHA-256 digest {got}, but the SHA-256 of the "
                     f"Merkle root {shown} is {expected.hex()}: the token is for other data.")
    # Step 3: the TSA's signature, and whose it is.
    if reading.trust is TokenTrust.INVALID:
        return Check(_NAME, CheckStatus.FAIL,
                     f"{path}: the time-stamping authority's signature does not hold: "
                     f"{_sentence(reading.trust_detail)}")
    # Step 4: each renewal renews exactly the token before it, with a signature that holds.
    links = [reading]
    for n, (link, previous) in enumerate(renewals, start=1):
        where = renewal_path(root, n)
        if link is None or previous is None:
            return Check(_NAME, CheckStatus.SKIP, f"{where} was not read by this verifier.")
        problem = check_renewal_answer(previous, link)
        if problem is not None:
            return Check(_NAME, CheckStatus.FAIL, f"{where} does not renew the token before "
                                                  f"it: {problem}")
        links.append(link)
    assert reading.gen_time is not None
    said = (f"{path} is an RFC 3161 token by the TSA {reading.tsa!r} (serial {reading.serial}) "
            f"stating that the SHA-256 of the Merkle root {shown} existed at "
            f"{_when(reading.gen_time)}")
    # Step 5: the proof still holds: a certificate valid now at the end of an unbroken chain.
    joined, broken = _holds_until(links)
    chain = "".join(
        f"; renewed by {link.path} (TSA {link.tsa!r}, {link.hash_algorithm}, at "
        f"{_when(link.gen_time)})" for link in links[1:joined] if link.gen_time is not None)
    said += chain
    now = reading.checked_at
    alive = [k for k, link in enumerate(links[:joined])
             if now is None or link.expires is None or link.expires > now]
    if not alive:
        last = links[joined - 1]
        assert last.expires is not None and now is not None
        why = f" ({broken})" if broken is not None else ""
        return Check(_NAME, CheckStatus.SKIP,
                     f"{said}; but the TSA certificate of {last.path} expired on "
                     f"{_when(last.expires)} and no renewal covers this timestamp{why}, so it "
                     f"no longer proves its time (RFC 4998). / {last.path} 的 TSA 证书已于 "
                     f"{_when(last.expires)} 过期，且没有续期时间戳覆盖它，"
                     "该时间戳已不能证明时间。")
    used = links[:alive[0] + 1]  # the links that carry the proof to a valid certificate
    if used[-1].expires is not None:
        said += f"; the TSA certificate of {used[-1].path} is valid until {_when(used[-1].expires)}"
    weakest = next((t for t in (TokenTrust.UNCHECKED, TokenTrust.SELF_DECLARED)
                    if any(link.trust is t for link in used)), TokenTrust.TRUSTED)
    detail = "; ".join(dict.fromkeys(link.trust_detail for link in used))
    if weakest is TokenTrust.UNCHECKED:
        return Check(_NAME, CheckStatus.SKIP,
                     f"{said}; its signature and the TSA's identity were not checked, because "
                     f"no trust root was given ({detail}): pass the TSA's root "
                     "certificate with --tsa-ca FILE (partial check).")
    if weakest is TokenTrust.SELF_DECLARED:
        return Check(_NAME, CheckStatus.SKIP,
                     f"{said}; its signature is valid and its certificate chains to "
                     f"{detail}, which the bundle itself carries: the TSA's "
                     "identity was not checked against a trust root of yours (pass it with "
                     "--tsa-ca FILE) (partial check).")
    return Check(_NAME, CheckStatus.PASS,
                 f"{said}; its signature is valid and its certificate chains to "
                 f"{detail}, a trust root given to this verifier.")
