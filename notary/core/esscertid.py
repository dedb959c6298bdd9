"""The ESSCertID of an RFC 3161 token: which certificate its TSA signed as its own.

A token's list of certificates is outside the TSA's signature: anyone can replace it with a
look-alike (same issuer and serial, another validity). What the TSA did sign is the
``signingCertificate`` (ESSCertID, RFC 2634 §5.4: SHA-1 of the certificate's DER) or
``signingCertificateV2`` (ESSCertIDv2, RFC 5035: a named hash, SHA-256 by default) signed
attribute, required by RFC 3161 §2.4.1 / RFC 5816. Only the certificate whose hash is there
is the signer's; its validity is the token's. The maintained library does not expose signed
attributes, so this reads exactly that path of the DER and nothing else (pure, no I/O).
"""

from __future__ import annotations

from typing import Final

__all__ = ["EssCertId", "signing_certificate_ids"]

#: (hash name for hashlib, certificate hash), in the attribute's order (the first is the signer).
EssCertId = tuple[str, bytes]

_SIGNING_CERTIFICATE: Final = bytes.fromhex("2a864886f70d010910020c")  # 1.2.840.113549.1.9.16.2.12
_SIGNING_CERTIFICATE_V2: Final = bytes.fromhex("2a864886f70d010910022f")  # ...9.16.2.47
_HASHES: Final = {
    bytes.fromhex("2b0e03021a"): "sha1",
    bytes.fromhex("608648016503040201"): "sha256",
    bytes.fromhex("608648016503040202"): "sha384",
    bytes.fromhex("608648016503040203"): "sha512",
}


def _items(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) of each DER element in ``data``, which they fill exactly."""
    out, at = [], 0
    while at < len(data):
        if at + 2 > len(data) or data[at] & 0x1F == 0x1F:
            raise ValueError("truncated DER, or a high tag number")
        tag, size = data[at], data[at + 1]
        at += 2
        if size & 0x80:
            count = size & 0x7F
            if count == 0 or count > 4 or at + count > len(data):
                raise ValueError("an indefinite or oversized DER length")
            size = int.from_bytes(data[at:at + count], "big")
            at += count
        if at + size > len(data):
            raise ValueError("a DER length past the end")
        out.append((tag, data[at:at + size]))
        at += size
    return out


def _one(data: bytes, tag: int) -> bytes:
    items = _items(data)
    if len(items) != 1 or items[0][0] != tag:
        raise ValueError(f"expected one DER element of tag {tag:#x}")
    return items[0][1]


def signing_certificate_ids(token: bytes) -> list[EssCertId]:
    """The ESSCertID(v2) entries of the single SignerInfo of ``token`` (the DER of a CMS
    ContentInfo holding SignedData, what ``openssl ts -reply -token_out`` writes). Raises
    ValueError when the structure is not that, or when there is no such attribute."""
    try:
        return _read(token)
    except IndexError:  # an empty element where one was required
        raise ValueError("a truncated signed attribute") from None


def _read(token: bytes) -> list[EssCertId]:
    content_info = _items(_one(token, 0x30))
    if len(content_info) != 2 or content_info[1][0] != 0xA0:
        raise ValueError("not a CMS ContentInfo")
    signed_data = _items(_one(content_info[1][1], 0x30))
    sets = [c for t, c in signed_data if t == 0x31]
    if len(sets) != 2:  # digestAlgorithms and signerInfos
        raise ValueError("SignedData has no signerInfos")
    infos = _items(sets[1])
    if len(infos) != 1 or infos[0][0] != 0x30:
        raise ValueError("a token must have exactly one SignerInfo")
    attributes = next((c for t, c in _items(infos[0][1]) if t == 0xA0), None)
    if attributes is None:
        raise ValueError("the SignerInfo has no signed attributes")
    found: list[EssCertId] = []
    for tag, attribute in _items(attributes):
        parts = _items(attribute) if tag == 0x30 else []
        if len(parts) != 2 or parts[0][0] != 0x06:
            raise ValueError("a malformed signed attribute")
        oid = parts[0][1]
        if oid not in (_SIGNING_CERTIFICATE, _SIGNING_CERTIFICATE_V2):
            continue
        if found:
            raise ValueError("two signing-certificate attributes")
        if parts[1][0] != 0x31:
            raise ValueError("a malformed signed attribute")
        certs = _items(_one(parts[1][1], 0x30))[0]  # SigningCertificate(V2).certs
        if certs[0] != 0x30:
            raise ValueError("a malformed signing-certificate attribute")
        for tag_id, cert_id in _items(certs[1]):
            fields = _items(cert_id) if tag_id == 0x30 else []
            name = "sha1" if oid == _SIGNING_CERTIFICATE else "sha256"
            if fields and fields[0][0] == 0x30 and oid == _SIGNING_CERTIFICATE_V2:
                algorithm = _items(fields[0][1])
                name = _HASHES.get(algorithm[0][1], "") if algorithm[0][0] == 0x06 else ""
                fields = fields[1:]
            if not fields or fields[0][0] != 0x04 or not name:
                raise ValueError("a malformed or unknown-hash ESSCertID")
            found.append((name, fields[0][1]))
    if not found:
        raise ValueError("no signingCertificate(V2) signed attribute (RFC 3161 §2.4.1)")
    return found
