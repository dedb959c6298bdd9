"""RFC 3161 time-stamping: asking a time-stamping authority (TSA) to timestamp a Merkle root,
and reading the tokens it gives, with the maintained library ``rfc3161-client``.

The adapter for :mod:`notary.core.timestamp`: it parses a TimeStampResp and checks its CMS
signature and certificate chain (never by hand: the library does both), then hands the facts
to the core as a :class:`~notary.core.timestamp.TimestampReading`; the core decides what
they prove. The same reading validates a fresh answer before the batch worker stores it and
a stored one when ``notary verify`` checks a bundle, so a token is judged by one rule.

What is stored and bundled is the TSA's whole TimeStampResp (DER), byte for byte as it came:
``openssl ts -verify -in`` and ``openssl ts -reply -in`` read it as it stands, and nothing of
what the TSA signed is re-encoded here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization

import notary.core.errors as kinds
from notary.core.bundle import MAX_DOCUMENT_BYTES
from notary.core.errors import InputError, NotaryError
from notary.core.timestamp import (
    TSA_CHAIN_PATH,
    TimestampReading,
    TokenTrust,
    check_renewal_answer,
    check_timestamp,
    is_timestamp_document,
)
from notary.core.verdict import CheckStatus

if TYPE_CHECKING:
    from rfc3161_client import TimeStampResponse

    from notary.config import Settings

# rfc3161_client (about 10 MB resident) and httpx are imported where a token is read or a TSA
# asked, not with this module: the server imports it for its types and most deployments
# configure no TSA.

__all__ = [
    "RootTimestamp",
    "TimestampAuthority",
    "TimestampError",
    "certificate_chain",
    "load_trust_roots",
    "read_bundle_timestamps",
    "read_token",
    "token_expiry",
]

_HASH_NAMES = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_MAX_CHAIN = 8


class TimestampError(NotaryError):
    """The TSA gave no usable timestamp. Codes: ``tsa_unavailable`` (no answer, a network
    error or an HTTP error status), ``tsa_response_invalid`` (an answer that is not a granted
    token for our request: wrong imprint or nonce, no certificate, a bad signature)."""

    kind = kinds.UNAVAILABLE

    default_code = "tsa_unavailable"


# -- certificates ------------------------------------------------------------------------------


def load_trust_roots(path: Path) -> list[x509.Certificate]:
    """The PEM certificates in ``path``. Raises InputError ``tsa_ca_invalid`` naming the file
    when it cannot be read or holds no certificate."""
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: no PEM certificates could be read ({exc})",
                         code="tsa_ca_invalid", path=str(path)) from None
    return certificates


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _chain(leaf: x509.Certificate, pool: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """``leaf`` and its issuers found in ``pool``, up to a self-signed one (for display and
    for ``tsa-chain.pem``; the library validates chains, this only collects them)."""
    chain = [leaf]
    while len(chain) < _MAX_CHAIN and not _self_signed(chain[-1]):
        issuer = next((c for c in pool if c not in chain and _issued_by(chain[-1], c)), None)
        if issuer is None:
            break
        chain.append(issuer)
    return chain


def _describe(cert: x509.Certificate) -> str:
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    return f"the root {cert.subject.rfc4514_string()!r} (SHA-256 fingerprint {fingerprint})"


# -- reading tokens ----------------------------------------------------------------------------


def _signer(response: TimeStampResponse) -> tuple[x509.Certificate | None, list[x509.Certificate]]:
    """The certificate that signed the token (matched by the signed issuer and serial), and
    every certificate the token carries."""
    carried = [x509.load_der_x509_certificate(c) for c in response.signed_data.certificates]
    infos = list(response.signed_data.signer_infos)
    if len(infos) != 1:
        return None, carried
    info = infos[0]
    for cert in carried:
        if cert.issuer == info.issuer and cert.serial_number == info.serial_number:
            return cert, carried
    return None, carried


def _verify(response: TimeStampResponse, roots: Sequence[x509.Certificate],
            intermediates: Sequence[x509.Certificate]) -> str | None:
    """None if the CMS signature and the chain to one of ``roots`` verify (at genTime, with
    the timeStamping key usage), else the library's reason. The imprint is the core's to
    compare: the token's own is passed here."""
    from rfc3161_client import VerificationError, VerifierBuilder

    verifier = VerifierBuilder(roots=list(roots), intermediates=list(intermediates)).build()
    try:
        verifier.verify(response, response.tst_info.message_imprint.message)
    except (VerificationError, ValueError) as exc:
        return str(exc)
    return None


def _parse(der: bytes) -> TimeStampResponse | str:
    from rfc3161_client import PKIStatus, decode_timestamp_response

    try:
        response = decode_timestamp_response(der)
    except Exception as exc:  # noqa: BLE001 - the Rust parser raises several types
        return f"it is not a DER TimeStampResp ({type(exc).__name__}: {exc})."
    if response.status != PKIStatus.GRANTED:
        texts = "; ".join(response.status_string) or "no reason given"
        return f"its status is {response.status} (not granted: {texts})."
    try:  # a granted status must come with a whole token: read every part used later
        response.tst_info.message_imprint.hash_algorithm.dotted_string  # noqa: B018
        response.tst_info.gen_time  # noqa: B018
        _signer(response)
    except Exception as exc:  # noqa: BLE001 - as above
        return f"its token is incomplete or malformed ({type(exc).__name__}: {exc})."
    return response


def read_token(der: bytes, *, path: str, trust_roots: Sequence[x509.Certificate] = (),
               bundled: Sequence[x509.Certificate] = (),
               now: datetime | None = None) -> TimestampReading:
    """Read one TimeStampResp and check its signature.

    With ``trust_roots`` the TSA's certificate must chain to one of them (TRUSTED, else
    INVALID). Without, the self-signed certificates in ``bundled`` (the bundle's
    ``tsa-chain.pem``) serve as provisional roots: a valid signature is then only
    SELF_DECLARED; with no root at all the signature is UNCHECKED. The reading's
    ``expires`` is the earliest ``notAfter`` of the signer's certificate and the issuers
    found for it, ``checked_at`` is ``now`` (the current time when not given). Never raises
    for bad bytes: the reading's ``problem`` says what is wrong.
    """
    parsed = _parse(der)
    if isinstance(parsed, str):
        return TimestampReading(path, problem=parsed)
    info = parsed.tst_info
    signer, carried = _signer(parsed)
    algorithm = info.message_imprint.hash_algorithm.dotted_string
    roots = [c for c in bundled if _self_signed(c)]
    intermediates = [c for c in bundled if not _self_signed(c)]
    pool = [*carried, *intermediates]
    behind = _chain(signer, [*pool, *trust_roots, *roots]) if signer is not None else []
    facts = TimestampReading(
        path, hash_algorithm=_HASH_NAMES.get(algorithm, algorithm),
        imprint=info.message_imprint.message, gen_time=info.gen_time,
        tsa=signer.subject.rfc4514_string() if signer is not None else "(not named)",
        serial=info.serial_number, nonce=info.nonce,
        expires=min((c.not_valid_after_utc for c in behind), default=None),
        checked_at=now if now is not None else datetime.now(UTC))
    if trust_roots:
        error = _verify(parsed, trust_roots, intermediates)
        if error is None:
            top = _chain(signer, [*pool, *trust_roots])[-1] if signer is not None else None
            shown = (_describe(top) if top is not None and top in trust_roots
                     else "a root given to this verifier")
            return replace(facts, trust=TokenTrust.TRUSTED, trust_detail=shown)
        if roots and _verify(parsed, roots, intermediates) is None:
            error = ("its signature is intact, but the TSA's certificate does not chain to a "
                     "trust root given to this verifier")
        return replace(facts, trust=TokenTrust.INVALID, trust_detail=error)
    if not roots:
        return replace(facts, trust=TokenTrust.UNCHECKED,
                       trust_detail=f"{TSA_CHAIN_PATH} holds no root certificate")
    error = _verify(parsed, roots, intermediates)
    if error is not None:
        return replace(facts, trust=TokenTrust.INVALID, trust_detail=error)
    top = _chain(signer, [*pool, *roots])[-1] if signer is not None else roots[0]
    return replace(facts, trust=TokenTrust.SELF_DECLARED, trust_detail=_describe(top))


def read_bundle_timestamps(
    documents: Mapping[str, bytes], trust_roots: Sequence[x509.Certificate] = (),
    now: datetime | None = None,
) -> dict[str, TimestampReading]:
    """A reading of every token among a bundle's documents (``timestamps/<root>.tsr`` and
    its renewals), by path, with the bundle's ``tsa-chain.pem`` as the certificates it offers
    and ``now`` (the current time when not given) as the time of the check (see
    :func:`read_token`)."""
    now = now if now is not None else datetime.now(UTC)
    try:
        bundled = x509.load_pem_x509_certificates(documents.get(TSA_CHAIN_PATH, b""))
    except ValueError:
        bundled = []
    return {path: read_token(data, path=path, trust_roots=trust_roots, bundled=bundled, now=now)
            for path, data in documents.items()
            if path.endswith(".tsr") and is_timestamp_document(path)}


def token_expiry(der: bytes, trust_roots: Sequence[x509.Certificate] = ()) -> datetime | None:
    """When the TSA certificate behind a stored token (or one of its issuers) expires; None
    when the token carries no certificate. What the renewal job compares with its horizon."""
    return read_token(der, path="a stored token", trust_roots=trust_roots).expires


def certificate_chain(responses: Iterable[bytes],
                      pool: Sequence[x509.Certificate] = ()) -> bytes | None:
    """PEM of the certificates behind these responses, for a bundle's ``tsa-chain.pem``:
    each signer's certificate and its issuers as far as the tokens and ``pool`` (the
    configured trust roots) know them. None when no token carries a certificate."""
    out: list[x509.Certificate] = []
    for der in responses:
        parsed = _parse(der)
        if isinstance(parsed, str):
            continue
        signer, carried = _signer(parsed)
        if signer is None:
            continue
        for cert in _chain(signer, [*carried, *pool]):
            if cert not in out:
                out.append(cert)
    if not out:
        return None
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in out)


# -- asking a TSA ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RootTimestamp:
    """A TSA's granted answer for one Merkle root (over the root, or renewing an earlier
    token of it): the TimeStampResp (DER) as it came, its genTime, and the TSA's URL."""

    root: bytes
    response: bytes
    gen_time: datetime
    tsa_url: str
    #: When the TSA certificate behind it (or an issuer) expires: renew before then.
    expires: datetime | None = None


class TimestampAuthority:
    """One TSA (``NOTARY_TSA_URL``), asked over HTTP (RFC 3161 §3.4: POST of an
    ``application/timestamp-query``). With ``trust_roots`` (``NOTARY_TSA_CA_FILE``) an
    answer is kept only when its signature chains to one of them; without, only its form,
    imprint and nonce are checked here (``notary verify --tsa-ca`` checks it later)."""

    def __init__(self, url: str, *, trust_roots: Sequence[x509.Certificate] = (),
                 timeout: float = 10.0) -> None:
        self.url = url
        self.trust_roots = list(trust_roots)
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> TimestampAuthority | None:
        """The configured TSA, or None when ``NOTARY_TSA_URL`` is not set. Raises InputError
        ``config_invalid`` for a URL that is not http(s) (or longer than the database keeps)
        and ``tsa_ca_invalid`` for an unreadable ``NOTARY_TSA_CA_FILE``."""
        if not settings.tsa_url:
            return None
        if not settings.tsa_url.startswith(("http://", "https://")) or len(settings.tsa_url) > 512:
            raise InputError(f"NOTARY_TSA_URL must be an http(s) URL of at most 512 characters, "
                             f"got {settings.tsa_url[:80]!r}", code="config_invalid")
        roots = load_trust_roots(settings.tsa_ca_file) if settings.tsa_ca_file else []
        return cls(settings.tsa_url, trust_roots=roots, timeout=settings.tsa_timeout)

    def stamp(self, root: bytes) -> RootTimestamp:
        """Timestamp ``root`` (its SHA-256 is the message imprint). Raises TimestampError
        ``tsa_unavailable`` or ``tsa_response_invalid``; nothing is returned unchecked."""
        def judge(reading: TimestampReading) -> str | None:
            check = check_timestamp(root, reading, token_present=True, root_bytes=root)
            return check.reason if check.status is CheckStatus.FAIL else None

        return self._ask(root, root, judge)

    def renew(self, root: bytes, previous: bytes, algorithm: str = "sha256") -> RootTimestamp:
        """Renew the token whose DER is ``previous`` (RFC 4998 timestamp renewal): a new
        token whose imprint is the ``algorithm`` (sha256 or, when SHA-256 is deprecated,
        sha512) of those bytes. Same errors as :meth:`stamp`."""
        return self._ask(root, previous, lambda reading: check_renewal_answer(previous, reading),
                         algorithm)

    def _ask(self, root: bytes, data: bytes, judge: Callable[[TimestampReading], str | None],
             algorithm: str = "sha256") -> RootTimestamp:
        from rfc3161_client import HashAlgorithm, TimestampRequestBuilder, decode_timestamp_response

        # Step 1: the request: the data's digest, a random nonce, certReq.
        chosen = {"sha256": HashAlgorithm.SHA256, "sha512": HashAlgorithm.SHA512}[algorithm]
        request = (TimestampRequestBuilder().data(data).hash_algorithm(chosen)
                   .nonce(nonce=True).cert_request(cert_request=True).build())
        assert request.message_imprint.message == hashlib.new(algorithm, data).digest()
        # Step 2: ask, reading at most what a bundle may carry.
        der = self._post(request.as_bytes())
        # Step 3: the answer must hold as the bundle verifier will judge it, and be ours.
        reading = read_token(der, path=f"the answer of {self.url}", trust_roots=self.trust_roots)
        problem = judge(reading)
        problems = [problem] if problem is not None else []
        if reading.problem is None:
            if reading.nonce != request.nonce:
                problems.append(f"its nonce {reading.nonce} is not the request's {request.nonce}")
            if not decode_timestamp_response(der).signed_data.certificates:
                problems.append("it carries no certificate although the request asked for one")
        if problems:
            raise TimestampError(f"the TSA at {self.url} gave an unusable timestamp: "
                                 + "; ".join(problems), code="tsa_response_invalid",
                                 tsa_url=self.url)
        assert reading.gen_time is not None
        return RootTimestamp(root, der, reading.gen_time, self.url, reading.expires)

    def _post(self, query: bytes) -> bytes:
        headers = {"Content-Type": "application/timestamp-query",
                   "Accept": "application/timestamp-reply"}
        import httpx

        try:
            with httpx.stream("POST", self.url, content=query, headers=headers,
                              timeout=self.timeout) as answer:
                if answer.status_code != 200:
                    raise TimestampError(f"the TSA at {self.url} answered HTTP "
                                         f"{answer.status_code}", tsa_url=self.url)
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise TimestampError(
                            f"the TSA at {self.url} answered more than {MAX_DOCUMENT_BYTES} "
                            "bytes", code="tsa_response_invalid", tsa_url=self.url)
        except httpx.HTTPError as exc:
            raise TimestampError(f"the TSA at {self.url} did not answer: "
                                 f"{type(exc).__name__}", tsa_url=self.url) from exc
        return bytes(body)
