"""Certificates (存证证书): a court-readable restatement of notarised evidence, HTML and PDF,
in Chinese and English, per item and per case.

Facts go in (:class:`CertificateFacts`, built by :meth:`CertificateFacts.verified` from the
statement JWS, the published keys, the Merkle proof and the anchor), documents come out.
Nothing here reads a database or a chain: callers fetch and pass the facts.

The PDF renderer (:mod:`.pdf`, on fpdf2: about 20 MB resident) is imported where a PDF is
drawn, never with this package: a server that is not asked for a certificate does not hold it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .html import CONTENT_SECURITY_POLICY, case_html, item_html, qr_code
from .model import (
    CaseCertificate,
    CertificateError,
    CertificateFacts,
    Deployment,
    ItemCertificate,
    case_certificate,
    item_certificate,
    verification_url,
)

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CaseCertificate",
    "CertificateError",
    "CertificateFacts",
    "Deployment",
    "ItemCertificate",
    "case_certificate",
    "item_certificate",
    "qr_code",
    "render_case_certificate",
    "render_certificates",
    "render_item_certificate",
    "verification_url",
]


def render_item_certificate(
    facts: CertificateFacts, *, verify_url: str, explorer_url: str | None = None,
    deployment: Deployment | None = None,
) -> tuple[str, bytes]:
    """One item's certificate as ``(html, pdf)``.

    ``verify_url`` is the public verification page (``https://host/verify``); the QR code
    holds ``{verify_url}?sha256=<file sha256>``. ``explorer_url`` is an optional transaction
    link template containing ``{tx}``. ``deployment`` is the issuing deployment as its trust
    root states it: the certificate names its operator and prints the trust-root fingerprint.
    Raises :class:`CertificateError` (``certificate_font_missing``, ``explorer_url_invalid``).
    """
    cert = item_certificate(facts, verify_url=verify_url, explorer_url=explorer_url,
                            deployment=deployment)
    from .pdf import item_pdf

    return item_html(cert), item_pdf(cert)


def render_case_certificate(
    items: Sequence[CertificateFacts], *, case_id: str, verify_url: str,
    explorer_url: str | None = None, not_included: int = 0,
    deployment: Deployment | None = None,
) -> tuple[str, bytes]:
    """A case's certificate as ``(html, pdf)``: a summary of the items in case order, then
    each item's certificate. ``not_included`` counts items left out (not anchored yet); the
    certificate says so. Raises :class:`CertificateError` (``certificate_empty``,
    ``certificate_case_mismatch``, and as :func:`render_item_certificate`)."""
    cert = case_certificate(items, case_id=case_id, verify_url=verify_url,
                            explorer_url=explorer_url, not_included=not_included,
                            deployment=deployment)
    from .pdf import case_pdf

    return case_html(cert), case_pdf(cert)


def render_certificates(
    items: Sequence[CertificateFacts], *, case_id: str, verify_url: str,
    explorer_url: str | None = None, deployment: Deployment | None = None,
) -> dict[str, bytes]:
    """All certificates for a proof bundle, as bundle path -> bytes.

    For the bundle builder: pass one :class:`CertificateFacts` per item of the bundle (build
    each with :meth:`CertificateFacts.verified`), the bundle's case, and the public
    verification page URL (``{NOTARY_PUBLIC_URL}/verify``). Returns::

        certificate.html                 the case certificate (summary + every item), HTML
        certificate.pdf                  the same as PDF
        items/<case_seq>/certificate.html   each item's own certificate, HTML
        items/<case_seq>/certificate.pdf    each item's own certificate, PDF

    where ``<case_seq>`` is the item's position in its case (the statement's ``case_seq``,
    1, 2, 3, ...). HTML is UTF-8. Each PDF takes about a second (font subsetting). Raises
    :class:`CertificateError` as :func:`render_case_certificate`.
    """
    from .pdf import case_pdf, item_pdf

    cert = case_certificate(items, case_id=case_id, verify_url=verify_url,
                            explorer_url=explorer_url, deployment=deployment)
    out: dict[str, bytes] = {
        "certificate.html": case_html(cert).encode(),
        "certificate.pdf": case_pdf(cert),
    }
    for item in cert.items:
        out[f"items/{item.case_seq}/certificate.html"] = item_html(item).encode()
        out[f"items/{item.case_seq}/certificate.pdf"] = item_pdf(item)
    return out
