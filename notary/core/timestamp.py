"""RFC 3161 timestamps of Merkle roots: where a bundle keeps them, and when one holds.

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
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from .merkle import to_hex32
from .validate import format_rfc3339_utc
from .verdict import Check, CheckStatus

__all__ = [
    "IMPRINT_ALGORITHM",
    "TIMESTAMPS_DIR",
    "TSA_CHAIN_PATH",
    "TimestampReading",
    "TokenTrust",
    "check_timestamp",
    "is_timestamp_document",
    "root_path",
    "token_path",
]

TIMESTAMPS_DIR: Final = "timestamps"
#: The TSA's certificates (PEM) as far as they were known at export: for ``-untrusted``.
TSA_CHAIN_PATH: Final = f"{TIMESTAMPS_DIR}/tsa-chain.pem"
#: The only message-imprint hash accepted: SHA-256 over the root's 32 bytes.
IMPRINT_ALGORITHM: Final = "sha256"

_DOCUMENT = re.compile(rf"{TIMESTAMPS_DIR}/([0-9a-f]{{64}}\.(tsr|bin)|tsa-chain\.pem)")
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


def is_timestamp_document(path: str) -> bool:
    """True for the paths of :func:`token_path`, :func:`root_path` and :data:`TSA_CHAIN_PATH`."""
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
    (e.g. the root's subject and fingerprint), or why the signature failed.
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


def check_timestamp(root: bytes | None, reading: TimestampReading | None, *,
                    token_present: bool, root_bytes: bytes | None) -> Check:
    """``rfc3161_timestamp`` for one Merkle root.

    ``token_present``: the bundle holds ``timestamps/<root>.tsr``; ``reading``: what the
    library found in it (None if it was not read); ``root_bytes``: the content of
    ``timestamps/<root>.bin`` (None if absent). Passes only when the token is granted, its
    imprint is the SHA-256 of the root, and its signature verifies by a certificate that
    chains to a root the verifier trusts. A valid token whose TSA was not checked against
    such a root is skipped (a partial check, with the reason); no token is skipped too.
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
    assert reading.gen_time is not None
    said = (f"{path} is an RFC 3161 token by the TSA {reading.tsa!r} (serial {reading.serial}) "
            f"stating that the SHA-256 of the Merkle root {shown} existed at "
            f"{format_rfc3339_utc(reading.gen_time)}")
    if reading.trust is TokenTrust.UNCHECKED:
        return Check(_NAME, CheckStatus.SKIP,
                     f"{said}; its signature and the TSA's identity were not checked, because "
                     f"no trust root was given ({reading.trust_detail}): pass the TSA's root "
                     "certificate with --tsa-ca FILE (partial check).")
    if reading.trust is TokenTrust.SELF_DECLARED:
        return Check(_NAME, CheckStatus.SKIP,
                     f"{said}; its signature is valid and its certificate chains to "
                     f"{reading.trust_detail}, which the bundle itself carries: the TSA's "
                     "identity was not checked against a trust root of yours (pass it with "
                     "--tsa-ca FILE) (partial check).")
    return Check(_NAME, CheckStatus.PASS,
                 f"{said}; its signature is valid and its certificate chains to "
                 f"{reading.trust_detail}, a trust root given to this verifier.")
