"""Signatures: JWS compact serialisation (RFC 7515) with EdDSA over Ed25519 (RFC 8037).

Notary signs statements and receipts with one Ed25519 key per period; the public keys are
published as a JWK Set. The ``kid`` of a key is its RFC 7638 JWK thumbprint, so a ``kid``
names exactly one public key and a verifier can recompute it from the key itself.

Verification is deliberately narrow: the only accepted ``alg`` is ``EdDSA`` with an
Ed25519 key (never ``none``, never HMAC, never a key taken from the token), the ``kid`` must
be in the given key set, ``crit`` is refused (no extensions are understood), and every
base64url segment must be in its one canonical spelling. Each rejection is a
:class:`SignatureError` whose ``reason`` says which rule was broken.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from .errors import KeyMaterialError, NotaryError, SignatureError, StatementError
from .statement import STATEMENT_MEDIA_TYPE, Statement, canonical_json, parse_strict_json
from .validate import validate_hex_digest, validate_identifier, validate_rfc3339

__all__ = [
    "JWS_ALG",
    "MAX_JWS_BYTES",
    "RECEIPT_MEDIA_TYPE",
    "RECEIPT_SCHEMA",
    "SigningKey",
    "jwk_thumbprint",
    "jwks",
    "public_key_from_jwk",
    "sign_detached",
    "sign_receipt",
    "sign_statement",
    "verify_detached_jws",
    "verify_jws",
    "verify_receipt",
    "verify_statement",
]

JWS_ALG = "EdDSA"
RECEIPT_SCHEMA = "notary.receipt/v1"
RECEIPT_MEDIA_TYPE = "application/vnd.notary.receipt.v1+json"

#: Longest compact JWS accepted, checked before any decoding: a 64 KiB statement is
#: about 87 KiB in base64url; the rest is header and signature.
MAX_JWS_BYTES = 96 * 1024

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_RESERVED_HEADER = frozenset({"alg", "kid", "typ", "crit", "b64", "jwk", "jku", "x5u", "x5c"})
_RECEIPT_FIELDS = ("schema", "evidence_id", "statement_sha256", "anchor_deadline", "issued_at")


class _EdDSAOnly(JWSRegistry):
    """joserfc registry that allows only EdDSA and accepts our own header parameters.

    joserfc flags ``EdDSA`` with a deprecation warning (RFC 9864 prefers ``Ed25519``);
    our format fixes ``EdDSA`` (RFC 8037), so the warning is not raised here (and not via
    ``warnings.catch_warnings``, which is not thread-safe).
    """

    def __init__(self) -> None:
        super().__init__(algorithms=[JWS_ALG], strict_check_header=False)
        self.max_payload_length = MAX_JWS_BYTES
        self.max_header_length = 4096

    def get_alg(self, name: str) -> Any:
        if name != JWS_ALG:
            return super().get_alg(name)  # raises UnsupportedAlgorithmError
        return self.algorithms[name]


_REGISTRY = _EdDSAOnly()


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode_canonical(segment: str, what: str) -> bytes:
    """Decode unpadded base64url, refusing any spelling other than the canonical one
    (padding, other alphabets, non-zero trailing bits), so one token has one form."""
    if _B64URL.fullmatch(segment) is None or len(segment) % 4 == 1:
        raise SignatureError(
            f"The token's {what} is not base64url.", reason="malformed_token", part=what
        )
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - regex excludes these
        raise SignatureError(
            f"The token's {what} is not base64url.", reason="malformed_token", part=what
        ) from exc
    if _b64url_encode(raw) != segment:
        raise SignatureError(
            f"The token's {what} is not canonical base64url.", reason="malformed_token", part=what
        )
    return raw


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url without padding) of an Ed25519 OKP JWK:
    ``SHA-256('{"crv":"Ed25519","kty":"OKP","x":"<x>"}')``. Raises
    :class:`KeyMaterialError` if the JWK is not an Ed25519 public key."""
    public_key_from_jwk(jwk)
    members = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    text = json.dumps(members, separators=(",", ":"), sort_keys=True, ensure_ascii=True)
    return _b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 public key in an OKP JWK (RFC 8037). Raises :class:`KeyMaterialError`
    (``jwk_invalid``) for any other key type, curve, a private part (``d``), a malformed
    ``x``, or an ``alg``/``use`` that says the key is not for EdDSA signatures."""
    if not isinstance(jwk, Mapping):
        raise KeyMaterialError("A JWK must be a JSON object.", reason="jwk_invalid")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise KeyMaterialError(
            "The JWK is not an Ed25519 key (kty OKP, crv Ed25519).", reason="jwk_invalid"
        )
    if "d" in jwk:
        raise KeyMaterialError(
            "The JWK contains a private key; publish only public keys.", reason="jwk_invalid"
        )
    if jwk.get("alg", JWS_ALG) != JWS_ALG or jwk.get("use", "sig") != "sig":
        raise KeyMaterialError(
            "The JWK is marked for another algorithm or use.", reason="jwk_invalid"
        )
    x = jwk.get("x")
    if not isinstance(x, str):
        raise KeyMaterialError("The JWK has no 'x' member.", reason="jwk_invalid")
    try:
        raw = _b64url_decode_canonical(x, "x")
    except SignatureError as exc:
        raise KeyMaterialError("The JWK's 'x' is not base64url.", reason="jwk_invalid") from exc
    if len(raw) != 32:
        raise KeyMaterialError("The JWK's 'x' is not 32 bytes.", reason="jwk_invalid")
    return Ed25519PublicKey.from_public_bytes(raw)


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
        base = {"kty": "OKP", "crv": "Ed25519", "x": _b64url_encode(raw)}
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
        return jws.serialize_compact(header, payload, self._okp, registry=_REGISTRY)

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


def _typ_matches(actual: object, expected: str) -> bool:
    # RFC 7515 §4.1.9: the "application/" prefix may be omitted; media types are
    # case-insensitive.
    def norm(value: str) -> str:
        value = value.lower()
        return value if "/" in value else "application/" + value

    return isinstance(actual, str) and norm(actual) == norm(expected)


def _find_key(key_set: Mapping[str, Any], kid: str) -> Ed25519PublicKey:
    if not isinstance(key_set, Mapping) or not isinstance(key_set.get("keys"), list):
        raise SignatureError("The key set is not a JWK Set.", reason="jwks_invalid")
    for entry in key_set["keys"]:
        try:
            if jwk_thumbprint(entry) == kid:
                return public_key_from_jwk(entry)
        except KeyMaterialError:
            continue  # keys of other types or uses may share a published set
    raise SignatureError(
        f"No Ed25519 key in the key set has the thumbprint (kid) {kid!r}.",
        reason="unknown_kid",
        kid=kid,
    )


def _protected_header(parts: list[str], expected_typ: str | None) -> tuple[dict[str, Any], str]:
    """The protected header and ``kid`` of a split compact JWS, once every rule of
    :func:`verify_jws` short of the signature itself holds."""
    header_bytes = _b64url_decode_canonical(parts[0], "header")
    _b64url_decode_canonical(parts[1], "payload")
    signature = _b64url_decode_canonical(parts[2], "signature")
    try:
        header = parse_strict_json(header_bytes, max_bytes=4096)
    except StatementError as exc:
        raise SignatureError(
            f"The token's header is not strict JSON: {exc.message}", reason="header_invalid"
        ) from exc
    if not isinstance(header, dict):
        raise SignatureError("The token's header is not a JSON object.", reason="header_invalid")
    alg = header.get("alg")
    if alg != JWS_ALG:
        raise SignatureError(
            f"The token's algorithm is {alg!r}; only {JWS_ALG!r} (Ed25519) is accepted.",
            reason="alg_not_allowed",
            alg=alg if isinstance(alg, str) else repr(alg),
        )
    for name in ("crit", "b64"):
        if name in header:
            raise SignatureError(
                f"The token's header uses '{name}', which is not supported.",
                reason="header_invalid",
                parameter=name,
            )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise SignatureError("The token's header has no 'kid'.", reason="header_invalid")
    if expected_typ is not None and not _typ_matches(header.get("typ"), expected_typ):
        raise SignatureError(
            f"The token's type is {header.get('typ')!r}, expected {expected_typ!r}.",
            reason="wrong_typ",
            typ=str(header.get("typ")),
            expected_typ=expected_typ,
        )
    if len(signature) != 64:
        raise SignatureError("The signature does not verify.", reason="bad_signature", kid=kid)
    return header, kid


def _split(token: object) -> list[str]:
    if not isinstance(token, str):
        raise SignatureError("The token must be a string.", reason="malformed_token")
    if len(token) > MAX_JWS_BYTES:
        raise SignatureError(
            f"The token is longer than {MAX_JWS_BYTES} characters.", reason="token_too_large"
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise SignatureError(
            "The token is not a compact JWS (three dot-separated parts).",
            reason="malformed_token",
        )
    return parts


def _deserialize(token: str, key: Ed25519PublicKey, kid: str,
                 payload: bytes | None = None) -> tuple[dict[str, Any], bytes]:
    """joserfc's check of the signature (over the token's payload, or the detached one);
    returns the protected header and the payload."""
    try:
        result = jws.deserialize_compact(token, OKPKey.import_key(key), registry=_REGISTRY,
                                         payload=payload)
    except BadSignatureError as exc:
        raise SignatureError(
            "The signature does not verify.", reason="bad_signature", kid=kid
        ) from exc
    except JoseError as exc:
        raise SignatureError(
            f"The token could not be verified: {exc}.", reason="malformed_token", kid=kid
        ) from exc
    return dict(result.protected), bytes(result.payload)


def verify_jws(
    token: str, jwks: Mapping[str, Any], *, expected_typ: str | None = None
) -> tuple[dict[str, Any], bytes]:
    """Verify a compact JWS against a JWK Set; return (protected header, payload).

    The key is the set's Ed25519 key whose RFC 7638 thumbprint equals the header's
    ``kid`` (a set entry's own ``kid`` member is not trusted). Raises
    :class:`SignatureError` with ``reason``: ``token_too_large``, ``malformed_token``,
    ``header_invalid`` (not a JSON object, ``crit``/``b64`` present, no string ``kid``),
    ``alg_not_allowed`` (anything but ``EdDSA``, including ``none``), ``wrong_typ``,
    ``jwks_invalid``, ``unknown_kid``, ``bad_signature``.
    """
    _, kid = _protected_header(_split(token), expected_typ)
    return _deserialize(token, _find_key(jwks, kid), kid)


def sign_detached(payload: bytes, typ: str, key: SigningKey,
                  extra_header: Mapping[str, Any] | None = None) -> str:
    """A compact JWS of ``payload`` with the payload left out (RFC 7515 Appendix F):
    ``header..signature``. Whoever verifies it puts ``BASE64URL(payload)`` back in the middle;
    any JOSE library can (jwcrypto: ``verify(key, detached_payload=...)``). Header as
    :meth:`SigningKey.sign`."""
    detached: str = jws.detach_content(key.sign(payload, typ, extra_header))
    return detached


def verify_detached_jws(
    token: str, payload: bytes, jwks: Mapping[str, Any], *, expected_typ: str | None = None
) -> dict[str, Any]:
    """Verify a detached-payload compact JWS (``header..signature``, RFC 7515 Appendix F) over
    ``payload``; return its protected header. The same rules as :func:`verify_jws` (EdDSA
    only, ``kid`` = thumbprint of a key of ``jwks``, no ``crit``/``b64``, ``typ``), and the
    token's payload part must be empty. The payload's size is the caller's limit. Raises
    :class:`SignatureError` with the reasons of :func:`verify_jws`."""
    parts = _split(token)
    if parts[1]:
        raise SignatureError("The token carries its payload; a detached signature "
                             "(header..signature) is expected.", reason="malformed_token")
    _, kid = _protected_header(parts, expected_typ)
    header, _ = _deserialize(token, _find_key(jwks, kid), kid, payload)
    return header


def sign_statement(statement: Statement, key: SigningKey) -> str:
    """Sign the statement's canonical bytes; ``typ`` is :data:`STATEMENT_MEDIA_TYPE`."""
    return key.sign(statement.canonical_bytes(), STATEMENT_MEDIA_TYPE)


def verify_statement(token: str, jwks: Mapping[str, Any]) -> Statement:
    """Verify a statement JWS and parse its payload strictly.

    Raises :class:`SignatureError` (see :func:`verify_jws`) or, for a correctly signed
    payload that is not a canonical v1 statement, :class:`StatementError`.
    """
    _, payload = verify_jws(token, jwks, expected_typ=STATEMENT_MEDIA_TYPE)
    return Statement.from_bytes(payload)


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
    return key.sign(canonical_json(payload), RECEIPT_MEDIA_TYPE)


def verify_receipt(token: str, jwks: Mapping[str, Any]) -> dict[str, str]:
    """Verify a receipt JWS; return its payload. Raises :class:`SignatureError`
    (``payload_invalid`` for a signed payload that is not a canonical v1 receipt)."""
    _, payload = verify_jws(token, jwks, expected_typ=RECEIPT_MEDIA_TYPE)
    invalid = SignatureError(
        "The receipt is signed, but its content is not a canonical v1 receipt.",
        reason="payload_invalid",
    )
    try:
        obj = parse_strict_json(payload, max_bytes=4096)
        if not isinstance(obj, dict) or sorted(obj) != sorted(_RECEIPT_FIELDS):
            raise invalid
        if obj["schema"] != RECEIPT_SCHEMA:
            raise invalid
        clean = _receipt_payload(
            obj["statement_sha256"], obj["evidence_id"], obj["anchor_deadline"], obj["issued_at"]
        )
    except SignatureError:
        raise
    except NotaryError as exc:
        raise invalid from exc
    if canonical_json(clean) != payload:
        raise invalid
    return clean


def jws_payload(token: str) -> bytes:
    """The payload bytes of a compact JWS, NOT verified (for showing or re-parsing what a
    verified token said). Raises NotaryError ``malformed_token`` if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise NotaryError("The token is not a compact JWS.", code="malformed_token")
    try:
        return base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
    except (binascii.Error, ValueError) as exc:
        raise NotaryError("The token's payload is not base64url.", code="malformed_token") from exc
