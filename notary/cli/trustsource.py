"""Where ``notary verify --trust-root`` gets the trust root it pins: a file, an http(s) URL
(the operator's ``/.well-known/notary-trust-root.json``), or, given only
``--trust-root-fingerprint``, the copy the bundle carries, accepted only because its
fingerprint is the one the verifier was given (from a certificate, a court filing).

Whatever the source, the document is parsed strictly and its signature checked
(:func:`notary.core.trustroot.verify_trust_root`); a document that is unreadable, too large,
badly signed or not the one whose fingerprint was given is refused with
:class:`TrustRootUnusable` (exit 2): a verification never silently goes on without the root
it was asked to pin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from notary.core.errors import InputError, NotaryError
from notary.core.trustroot import (
    MAX_TRUST_ROOT_BYTES,
    VerifiedTrustRoot,
    format_fingerprint,
    verify_trust_root,
)

__all__ = ["FETCH_TIMEOUT_SECONDS", "WELL_KNOWN_PATH", "PinnedTrustRoot", "TrustRootUnusable",
           "fetch_trust_root", "pin_trust_root"]

WELL_KNOWN_PATH = "/.well-known/notary-trust-root.json"
#: Connect and read timeout of a trust-root download, seconds.
FETCH_TIMEOUT_SECONDS = 15.0
MAX_REDIRECTS = 3


class TrustRootUnusable(InputError):
    """The trust root given to ``notary verify`` cannot be used: missing, unreachable, too
    large, malformed, badly signed, or not the one whose fingerprint was given (exit 2)."""

    default_code = "trust_root_unusable"


@dataclass(frozen=True)
class PinnedTrustRoot:
    """The verified trust root and where it came from (for the report's "who" lines)."""

    verified: VerifiedTrustRoot
    source: str  # a path, a URL, or "the bundle's keys/trust-root.json"
    fingerprint_given: bool

    @property
    def fingerprint(self) -> str:
        return self.verified.fingerprint


def _is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def well_known_url(url: str) -> str:
    """``https://notary.example.com`` (no path) means its well-known trust-root URL."""
    parts = urlsplit(url)
    if parts.path in ("", "/") and not parts.query:
        return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN_PATH, "", ""))
    return url


def fetch_trust_root(url: str, *, timeout: float = FETCH_TIMEOUT_SECONDS) -> bytes:
    """The document at ``url``: at most MAX_TRUST_ROOT_BYTES, within ``timeout``, a 200
    answer (after at most MAX_REDIRECTS redirects, never from https down to http)."""
    import httpx

    try:
        with httpx.Client(timeout=timeout, follow_redirects=False,
                          headers={"Accept": "application/json"}) as http:
            for _ in range(MAX_REDIRECTS + 1):
                with http.stream("GET", url) as resp:
                    if resp.is_redirect and resp.has_redirect_location:
                        target = str(resp.next_request.url) if resp.next_request else ""
                        if url.lower().startswith("https://") and not target.lower().startswith(
                                "https://"):
                            raise TrustRootUnusable(
                                f"{url} redirects to {target}, which is not https: refused.",
                                code="trust_root_unreachable")
                        url = target
                        continue
                    if resp.status_code != 200:
                        raise TrustRootUnusable(
                            f"{url} answered HTTP {resp.status_code}, not the trust root.",
                            code="trust_root_unreachable", http_status=resp.status_code)
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > MAX_TRUST_ROOT_BYTES:
                            raise TrustRootUnusable(
                                f"{url} sent more than {MAX_TRUST_ROOT_BYTES} bytes: that is "
                                "not a trust root.", code="trust_root_too_large")
                    return bytes(body)
            raise TrustRootUnusable(f"more than {MAX_REDIRECTS} redirects fetching the trust "
                                    "root.", code="trust_root_unreachable")
    except httpx.TimeoutException as exc:
        raise TrustRootUnusable(f"{url} did not send the trust root within {timeout:g} s.",
                                code="trust_root_unreachable") from exc
    except httpx.HTTPError as exc:
        raise TrustRootUnusable(f"cannot fetch the trust root from {url}: {exc}",
                                code="trust_root_unreachable") from exc


def _read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise TrustRootUnusable(f"{path}: no such file (the trust root).",
                                code="trust_root_missing") from None
    except OSError as exc:
        raise TrustRootUnusable(f"{path}: cannot be read ({exc.strerror}).",
                                code="trust_root_missing") from exc
    if not path.is_file():
        raise TrustRootUnusable(f"{path} is not a file.", code="trust_root_missing")
    if size > MAX_TRUST_ROOT_BYTES:
        raise TrustRootUnusable(f"{path} is {size} bytes; a trust root is at most "
                                f"{MAX_TRUST_ROOT_BYTES}.", code="trust_root_too_large")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TrustRootUnusable(f"{path}: cannot be read ({exc.strerror}).",
                                code="trust_root_missing") from exc


def expected_fingerprint(text: str | None) -> str | None:
    """``--trust-root-fingerprint`` in its one spelling; bad input (exit 2) otherwise."""
    if text is None:
        return None
    try:
        return format_fingerprint(text)
    except NotaryError as exc:
        raise TrustRootUnusable(exc.message, code="fingerprint_invalid") from exc


def _verified(document: bytes, fingerprint: str | None, source: str) -> VerifiedTrustRoot:
    try:
        return verify_trust_root(document, fingerprint)
    except NotaryError as exc:
        raise TrustRootUnusable(f"the trust root from {source} cannot be used ({exc.code}): "
                                f"{exc.message}", code="trust_root_unusable",
                                **{**exc.details, "reason": exc.code}) from exc


def pin_trust_root(source: str | None, fingerprint: str | None,
                   bundled: bytes | None = None) -> PinnedTrustRoot | None:
    """The trust root to pin: from ``source`` (a file or URL) when given, else (with a
    ``fingerprint``) the bundle's own copy ``bundled``, else None (nothing pinned)."""
    expected = expected_fingerprint(fingerprint)
    if source is not None:
        if _is_url(source):
            url = well_known_url(source)
            return PinnedTrustRoot(_verified(fetch_trust_root(url), expected, url), url,
                                   expected is not None)
        document = _read_file(Path(source))
        return PinnedTrustRoot(_verified(document, expected, source), source,
                               expected is not None)
    if expected is None:
        return None
    if bundled is None:
        raise TrustRootUnusable(
            "the bundle carries no trust root (keys/trust-root.json) to compare with "
            f"--trust-root-fingerprint {expected}: give the deployment's trust root with "
            "--trust-root FILE|URL.", code="trust_root_missing")
    where = "the bundle's keys/trust-root.json"
    return PinnedTrustRoot(_verified(bundled, expected, where), where, True)
