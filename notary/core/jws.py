"""Compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037): the rules a token must obey
to verify, and Ed25519 public keys as JWKs (RFC 7517, RFC 8037) named by their RFC 7638
thumbprint.

Verification is deliberately narrow: the only accepted ``alg`` is ``EdDSA`` with an
Ed25519 key (never ``none``, never HMAC, never a key taken from the token), the ``kid`` must
be in the given key set, ``crit`` is refused (no extensions are understood), and every
base64url segment must be in its one canonical spelling. Each rejection is a
:class:`SignatureError` whose ``reason`` says which rule was broken. Signing is
:mod:`notary.core.signing`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from .errors import KeyMaterialError, NotaryError, SignatureError, StatementError
from .statement import parse_strict_json

__all__ = [
    "JWS_ALG",
    "JWS_REGISTRY",
    "MAX_JWS_BYTES",
    "b64url_encode",
    "claimed_kid",
    "jwk_thumbprint",
    "jws_payload",
    "public_key_from_jwk",
    "verify_detached_jws",
    "verify_jws",
]

JWS_ALG = "EdDSA"

#: Longest compact JWS accepted, checked before any decoding: a 64 KiB statement is
#: about 87 KiB in base64url; the rest is header and signature.
MAX_JWS_BYTES = 96 * 1024

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


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


#: The joserfc registry every token is signed and read with.
JWS_REGISTRY = _EdDSAOnly()


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
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
    if b64url_encode(raw) != segment:
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
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


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


def _typ_matches(actual: object, expected: str) -> bool:
    # RFC 7515 §4.1.9: the "application/" prefix may be omitted; media types are
    # case-insensitive.
    def norm(value: str) -> str:
        value = value.lower()
        return value if "/" in value else "application/" + value

    return isinstance(actual, str) and norm(actual) == norm(expected)


@lru_cache(maxsize=256)
def _key_entry(members: tuple[tuple[str, Any], ...]) -> tuple[str, Ed25519PublicKey]:
    """(thumbprint, public key) of one JWK, given as its sorted members: parsed once per
    distinct key, not once per token (a bundle's tokens are all signed by a few keys)."""
    entry = dict(members)
    return jwk_thumbprint(entry), public_key_from_jwk(entry)


def _parsed_entry(entry: Any) -> tuple[str, Ed25519PublicKey]:
    if isinstance(entry, Mapping):
        try:
            members = tuple(sorted(entry.items()))
            hash(members)
        except TypeError:  # a member that is not hashable (a list, an object): uncached
            return jwk_thumbprint(entry), public_key_from_jwk(entry)
        return _key_entry(members)
    return jwk_thumbprint(entry), public_key_from_jwk(entry)


def _find_key(key_set: Mapping[str, Any], kid: str) -> Ed25519PublicKey:
    if not isinstance(key_set, Mapping) or not isinstance(key_set.get("keys"), list):
        raise SignatureError("The key set is not a JWK Set.", reason="jwks_invalid")
    for entry in key_set["keys"]:
        try:
            thumbprint, key = _parsed_entry(entry)
            if thumbprint == kid:
                return key
        except KeyMaterialError:
            continue  # keys of other types or uses may share a published set
    raise SignatureError(
        f"No Ed25519 key in the key set has the thumbprint (kid) {kid!r}.",
        reason="unknown_kid",
        kid=kid,
    )


def _protected_header(parts: list[str], expected_typ: str | None
                      ) -> tuple[dict[str, Any], str, bytes, bytes]:
    """The protected header, ``kid``, payload and signature of a split compact JWS, once
    every rule of :func:`verify_jws` short of the signature itself holds."""
    header_bytes = _header_bytes(parts[0])
    payload = _b64url_decode_canonical(parts[1], "payload")
    signature = _b64url_decode_canonical(parts[2], "signature")
    header, kid = _header(header_bytes, expected_typ)
    if len(signature) != 64:
        raise SignatureError("The signature does not verify.", reason="bad_signature", kid=kid)
    # A deep copy: the cached header's nested values must not change under a caller's edit.
    return copy.deepcopy(dict(header)), kid, payload, signature


# The tokens of one kind by one key all carry the same header: it is decoded and checked
# once per distinct header (a large case bundle has tens of thousands of tokens and a handful
# of headers). Errors are not cached: every token with a bad header fails again, the same way.
@lru_cache(maxsize=64)
def _header_bytes(segment: str) -> bytes:
    return _b64url_decode_canonical(segment, "header")


@lru_cache(maxsize=64)
def _header(header_bytes: bytes, expected_typ: str | None) -> tuple[Mapping[str, Any], str]:
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
    return MappingProxyType(header), kid


def _split(token: object, max_bytes: int = MAX_JWS_BYTES) -> list[str]:
    if not isinstance(token, str):
        raise SignatureError("The token must be a string.", reason="malformed_token")
    if len(token) > max_bytes:
        raise SignatureError(
            f"The token is longer than {max_bytes} characters.", reason="token_too_large"
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
        result = jws.deserialize_compact(token, OKPKey.import_key(key), registry=JWS_REGISTRY,
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
    token: str, jwks: Mapping[str, Any], *, expected_typ: str | None = None,
    max_bytes: int = MAX_JWS_BYTES,
) -> tuple[dict[str, Any], bytes]:
    """Verify a compact JWS against a JWK Set; return (protected header, payload).

    The key is the set's Ed25519 key whose RFC 7638 thumbprint equals the header's
    ``kid`` (a set entry's own ``kid`` member is not trusted). Raises
    :class:`SignatureError` with ``reason``: ``token_too_large``, ``malformed_token``,
    ``header_invalid`` (not a JSON object, ``crit``/``b64`` present, no string ``kid``),
    ``alg_not_allowed`` (anything but ``EdDSA``, including ``none``), ``wrong_typ``,
    ``jwks_invalid``, ``unknown_kid``, ``bad_signature``. ``max_bytes`` is the longest token
    read (a v3 bundle's ``manifest.jws``, which carries a large manifest, is allowed more).
    """
    parts = _split(token, max_bytes)
    header, kid, payload, signature = _protected_header(parts, expected_typ)
    key = _find_key(jwks, kid)
    # The signature itself, over the JWS signing input (RFC 7515 §5.2), by the library's
    # Ed25519: _protected_header has checked every other rule (alg, crit/b64, kid, typ, the
    # canonical base64url of all three parts). Verifying a bundle makes tens of thousands
    # of these; joserfc's own checks repeated ours at three times the cost.
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature as exc:
        raise SignatureError("The signature does not verify.", reason="bad_signature",
                             kid=kid) from exc
    return header, payload


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
    _, kid, _, _ = _protected_header(parts, expected_typ)
    header, _ = _deserialize(token, _find_key(jwks, kid), kid, payload)
    return header


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


def claimed_kid(token: str | None) -> str | None:
    """The ``kid`` a compact JWS's header names, NOT verified: which key the token claims to
    be signed by (None when there is no token or its header is unreadable)."""
    if not token:
        return None
    try:
        segment = token.split(".")[0]
        header = parse_strict_json(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)),
                                   max_bytes=4096)
        return str(header["kid"])
    except (NotaryError, KeyError, ValueError, IndexError, TypeError):
        return None
