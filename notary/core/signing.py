"""Signing: Ed25519 keys, and the signed documents of notary (statement, receipt; custody
events and deletion certificates use the same :class:`SignedFormat`), each a compact JWS
(RFC 7515) with EdDSA (RFC 8037) over the document's canonical bytes.

Notary signs with one Ed25519 key per period; the public keys are published as a JWK Set.
The ``kid`` of a key is its RFC 7638 JWK thumbprint, so a ``kid`` names exactly one public
key and a verifier can recompute it from the key itself. The rules a token obeys to verify
are in :mod:`notary.core.jws`; its public names used with signing are listed here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.jwk import OKPKey

from .errors import KeyMaterialError, NotaryError, SignatureError, StatementError
from .jws import (
    JWS_ALG,
    JWS_REGISTRY,
    MAX_JWS_BYTES,
    b64url_encode,
    claimed_kid,
    jwk_thumbprint,
    jws_payload,
    public_key_from_jwk,
    verify_detached_jws,
    verify_jws,
)
from .statement import (
    MAX_STATEMENT_BYTES,
    STATEMENT_MEDIA_TYPE,
    Statement,
    canonical_json,
    parse_strict_json,
)
from .validate import validate_hex_digest, validate_identifier, validate_rfc3339

# Names of notary.core.jws listed here as well: callers sign and verify through this module.
__all__ = [
    "JWS_ALG",
    "MAX_JWS_BYTES",
    "MAX_RECEIPT_BYTES",
    "RECEIPT",
    "RECEIPT_MEDIA_TYPE",
    "RECEIPT_SCHEMA",
    "STATEMENT",
    "Signed",
    "SignedFormat",
    "SigningKey",
    "claimed_kid",
    "jwk_thumbprint",
    "jwks",
    "jws_payload",
    "parse_canonical_document",
    "parse_fixed_document",
    "public_key_from_jwk",
    "sign_detached",
    "sign_receipt",
    "sign_statement",
    "verify_detached_jws",
    "verify_jws",
    "verify_receipt",
    "verify_statement",
]

RECEIPT_SCHEMA = "notary.receipt/v1"
RECEIPT_MEDIA_TYPE = "application/vnd.notary.receipt.v1+json"
MAX_RECEIPT_BYTES = 4096

_RESERVED_HEADER = frozenset({"alg", "kid", "typ", "crit", "b64", "jwk", "jku", "x5u", "x5c"})
_RECEIPT_FIELDS = ("schema", "evidence_id", "statement_sha256", "anchor_deadline", "issued_at")


class SigningKey:
    """An Ed25519 private key used to sign statements and receipts.

    Key material never leaves this object except through :meth:`to_pem` and
    :attr:`private_key`; ``repr`` shows only the ``kid``.
    """

    __slots__ = ("_key", "_okp", "_public_jwk")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise KeyMaterialError("The signing key must be Ed25519.", reason="not_ed25519")
        self._key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        base = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
        kid = jwk_thumbprint(base)
        self._public_jwk: dict[str, str] = {**base, "kid": kid, "alg": JWS_ALG, "use": "sig"}
        self._okp = OKPKey.import_key(private_key, {"kid": kid})

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """The key whose 32-byte RFC 8032 private seed is ``seed`` (test vectors, HSM
        export). Raises :class:`KeyMaterialError` if it is not 32 bytes."""
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise KeyMaterialError("An Ed25519 seed is exactly 32 bytes.", reason="seed_invalid")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The wrapped ``cryptography`` private key."""
        return self._key

    @property
    def kid(self) -> str:
        """RFC 7638 thumbprint of the public key (base64url, no padding)."""
        return self._public_jwk["kid"]

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK: kty, crv, x, kid, alg, use (a fresh dict)."""
        return dict(self._public_jwk)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"

    def sign(self, payload: bytes, typ: str, extra_header: Mapping[str, Any] | None = None) -> str:
        """Sign ``payload`` as a compact JWS with protected header
        ``{"alg": "EdDSA", "kid": kid, "typ": typ, **extra_header}``.

        Raises :class:`SignatureError` (``header_invalid``) if ``extra_header`` tries to
        set ``alg``, ``kid``, ``typ`` or a parameter that changes how the token is read
        (``crit``, ``b64``, embedded or remote keys).
        """
        if not isinstance(payload, bytes):
            raise TypeError("payload must be bytes")
        header: dict[str, Any] = {"alg": JWS_ALG, "kid": self.kid, "typ": typ}
        for name, value in (extra_header or {}).items():
            if name in _RESERVED_HEADER:
                raise SignatureError(
                    f"The header parameter '{name}' cannot be set by the caller.",
                    reason="header_invalid",
                    parameter=name,
                )
            header[name] = value
        return jws.serialize_compact(header, payload, self._okp, registry=JWS_REGISTRY)

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM; encrypted with ``cryptography``'s best available scheme when a
        passphrase is given. Raises :class:`KeyMaterialError` for an empty passphrase."""
        if passphrase is None:
            algorithm: serialization.KeySerializationEncryption = serialization.NoEncryption()
        else:
            if not passphrase:
                raise KeyMaterialError("The passphrase is empty.", reason="passphrase_empty")
            algorithm = serialization.BestAvailableEncryption(passphrase)
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, algorithm
        )

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes | None = None) -> SigningKey:
        """Load a PKCS#8 PEM private key. Raises :class:`KeyMaterialError` with
        ``reason``: ``passphrase_required`` (encrypted, none given), ``passphrase_unexpected``
        (not encrypted, but one given: the operator thinks it is protected and it is not),
        ``wrong_passphrase``, ``malformed_pem``, ``not_ed25519``."""
        encrypted = b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data
        if encrypted and passphrase is None:
            raise KeyMaterialError(
                "The key file is encrypted; a passphrase is required.",
                reason="passphrase_required",
            )
        if not encrypted and passphrase is not None:
            raise KeyMaterialError(
                "A passphrase was given, but the key file is not encrypted.",
                reason="passphrase_unexpected",
            )
        try:
            key = serialization.load_pem_private_key(data, password=passphrase)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            if encrypted:
                raise KeyMaterialError(
                    "The key file could not be decrypted: the passphrase is wrong or the "
                    "file is damaged.",
                    reason="wrong_passphrase",
                ) from exc
            raise KeyMaterialError(
                "The key file is not a readable PEM private key.", reason="malformed_pem"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyMaterialError(
                f"The key file holds a {type(key).__name__}, not an Ed25519 key.",
                reason="not_ed25519",
            )
        return cls(key)


def jwks(keys: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A JWK Set (RFC 7517 §5) ``{"keys": [...]}`` of the given public JWKs.
    Raises :class:`KeyMaterialError` if any of them is not an Ed25519 public key."""
    out = []
    for key in keys:
        public_key_from_jwk(key)
        out.append(dict(key))
    return {"keys": out}


def sign_detached(payload: bytes, typ: str, key: SigningKey,
                  extra_header: Mapping[str, Any] | None = None) -> str:
    """A compact JWS of ``payload`` with the payload left out (RFC 7515 Appendix F):
    ``header..signature``. Whoever verifies it puts ``BASE64URL(payload)`` back in the middle;
    any JOSE library can (jwcrypto: ``verify(key, detached_payload=...)``). Header as
    :meth:`SigningKey.sign`."""
    detached: str = jws.detach_content(key.sign(payload, typ, extra_header))
    return detached


D = TypeVar("D")


@dataclass(frozen=True)
class Signed(Generic[D]):
    """A signed document whose signature verified: the document, the ``kid`` of the key that
    signed it and the signed bytes (the document's canonical bytes)."""

    document: D
    kid: str
    payload: bytes


@dataclass(frozen=True)
class SignedFormat(Generic[D]):
    """One kind of signed document (statement, receipt, custody event, deletion certificate,
    trust root): a compact JWS over the document's canonical bytes (RFC 8785) whose ``typ``
    is the kind's media type (detached, for a document that carries its signature).
    ``parse`` reads the payload strictly, within ``max_bytes``, and accepts only the
    canonical bytes of a valid document, so one document has one form. Every kind is signed
    and verified here, by the same rules (:func:`verify_jws`)."""

    media_type: str
    max_bytes: int
    parse: Callable[[bytes], D]

    def sign(self, canonical: bytes, key: SigningKey) -> str:
        """``canonical`` (a document's canonical bytes) signed by ``key``."""
        return key.sign(canonical, self.media_type)

    def verify(self, token: str, key_set: Mapping[str, Any]) -> Signed[D]:
        """Verify ``token`` against ``key_set`` and parse its payload. Raises
        :class:`SignatureError` (see :func:`verify_jws`) or the parser's error."""
        header, payload = verify_jws(token, key_set, expected_typ=self.media_type)
        return Signed(self.parse(payload), str(header["kid"]), payload)

    def sign_detached(self, canonical: bytes, key: SigningKey,
                      extra_header: Mapping[str, Any] | None = None) -> str:
        """A detached signature (``header..signature``, RFC 7515 Appendix F) of
        ``canonical``, for a document that carries its own signature (the trust root) or is
        signed after it was made (a declaration, with its ``signed_at`` header)."""
        return sign_detached(canonical, self.media_type, key, extra_header)

    def verify_detached(self, token: str, canonical: bytes,
                        key_set: Mapping[str, Any]) -> dict[str, Any]:
        """Verify a detached signature of ``canonical``; return its protected header (its
        ``kid`` names the key that signed). Raises :class:`SignatureError` (see
        :func:`verify_detached_jws`)."""
        return verify_detached_jws(token, canonical, key_set, expected_typ=self.media_type)


#: The statement (notary.core.statement): its canonical bytes, signed.
STATEMENT: SignedFormat[Statement] = SignedFormat(
    STATEMENT_MEDIA_TYPE, MAX_STATEMENT_BYTES, Statement.from_bytes)


def sign_statement(statement: Statement, key: SigningKey) -> str:
    """Sign the statement's canonical bytes; ``typ`` is :data:`STATEMENT_MEDIA_TYPE`."""
    return STATEMENT.sign(statement.canonical_bytes(), key)


def verify_statement(token: str, jwks: Mapping[str, Any]) -> Statement:
    """Verify a statement JWS and parse its payload strictly.

    Raises :class:`SignatureError` (see :func:`verify_jws`) or, for a correctly signed
    payload that is not a canonical v1 statement, :class:`StatementError`.
    """
    return STATEMENT.verify(token, jwks).document


def _receipt_payload(
    statement_digest_hex: str, evidence_id: str, anchor_deadline: str, issued_at: str
) -> dict[str, str]:
    return {
        "schema": RECEIPT_SCHEMA,
        "evidence_id": validate_identifier("evidence_id", evidence_id, 128),
        "statement_sha256": validate_hex_digest("statement_sha256", statement_digest_hex),
        "anchor_deadline": validate_rfc3339("anchor_deadline", anchor_deadline, require_utc=True),
        "issued_at": validate_rfc3339("issued_at", issued_at, require_utc=True),
    }


def parse_fixed_document(payload: bytes, *, schema: str, fields: Sequence[str],
                         max_bytes: int, build: Callable[[Mapping[str, Any]], D],
                         what: str) -> D:
    """The payload of a signed document with a fixed set of fields, strictly: exactly
    ``fields`` (``schema`` among them, equal to ``schema``), each valid as ``build`` (which
    validates and returns the clean document) judges, in canonical form. Raises
    :class:`SignatureError` (``payload_invalid``) otherwise: the signature was good, the
    document is not one of ours."""
    invalid = SignatureError(f"The {what} is signed, but its content is not a canonical "
                             f"v1 {what}.", reason="payload_invalid")
    try:
        obj = parse_strict_json(payload, max_bytes=max_bytes)
        if not isinstance(obj, dict) or sorted(obj) != sorted(fields) \
                or obj["schema"] != schema:
            raise invalid
        clean = build(obj)
    except SignatureError:
        raise
    except NotaryError as exc:
        raise invalid from exc
    if canonical_json(clean) != payload:
        raise invalid
    return clean


class CanonicalDocument(Protocol):
    """A document kept as a dataclass that knows its own canonical bytes."""

    def canonical_bytes(self) -> bytes: ...


C = TypeVar("C", bound=CanonicalDocument)


def parse_canonical_document(data: bytes, make: Callable[..., C], *, fields: Sequence[str],
                             max_bytes: int, what: str) -> C:
    """``make(**fields)`` of a strict JSON object holding no field outside ``fields``, whose
    canonical bytes (RFC 8785) are exactly ``data``. StatementError otherwise (``field``
    naming an unknown one, ``statement_not_canonical`` for another spelling)."""
    obj = parse_strict_json(data, max_bytes=max_bytes)
    if not isinstance(obj, dict):
        raise StatementError(f"A {what} must be a JSON object.")
    unknown = sorted(set(obj) - set(fields))
    if unknown:
        raise StatementError(f"Unknown {what} field(s): {', '.join(unknown)}.",
                             field=unknown[0])
    try:
        doc = make(**obj)
    except TypeError as exc:
        raise StatementError(f"A {what} field is missing: {exc}.") from None
    if doc.canonical_bytes() != data:
        raise StatementError(f"The {what} is not in canonical form (RFC 8785).",
                             code="statement_not_canonical")
    return doc


def _parse_receipt(payload: bytes) -> dict[str, str]:
    """A receipt's payload, strictly: exactly its fields, valid, canonical."""
    return parse_fixed_document(
        payload, schema=RECEIPT_SCHEMA, fields=_RECEIPT_FIELDS, max_bytes=MAX_RECEIPT_BYTES,
        what="receipt", build=lambda o: _receipt_payload(
            o["statement_sha256"], o["evidence_id"], o["anchor_deadline"], o["issued_at"]))


#: The receipt: notary's signed promise to anchor a statement by a deadline.
RECEIPT: SignedFormat[dict[str, str]] = SignedFormat(
    RECEIPT_MEDIA_TYPE, MAX_RECEIPT_BYTES, _parse_receipt)


def sign_receipt(
    statement_digest_hex: str,
    evidence_id: str,
    anchor_deadline: str,
    issued_at: str,
    key: SigningKey,
) -> str:
    """Sign a receipt: notary's promise that the statement will be anchored by
    ``anchor_deadline``. Payload: canonical JSON ``{"schema": "notary.receipt/v1",
    "evidence_id", "statement_sha256", "anchor_deadline", "issued_at"}``; ``typ`` is
    :data:`RECEIPT_MEDIA_TYPE`. Raises :class:`InputError` for a malformed field."""
    payload = _receipt_payload(statement_digest_hex, evidence_id, anchor_deadline, issued_at)
    return RECEIPT.sign(canonical_json(payload), key)


def verify_receipt(token: str, jwks: Mapping[str, Any]) -> dict[str, str]:
    """Verify a receipt JWS; return its payload. Raises :class:`SignatureError`
    (``payload_invalid`` for a signed payload that is not a canonical v1 receipt); with the
    key that signed it: ``RECEIPT.verify``."""
    return RECEIPT.verify(token, jwks).document
