"""The key history of a bundle (``keys/jwks.json``): a JWK Set whose Ed25519 public keys
carry the period in which each could sign.

CONSENSUS-CRITICAL: the document is part of the bundle format (docs/bundle-format.md); the
service publishes the same document, and key files are written in it (notary.keyfiles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .errors import NotaryError
from .jws import jwk_thumbprint, public_key_from_jwk
from .statement import canonical_json, parse_strict_json
from .validate import utc_instant, validate_rfc3339

__all__ = ["MAX_KEY_HISTORY_BYTES", "KeyPeriod", "key_history", "parse_key_history"]

#: The largest key history read (the bundle's limit on its documents, docs/bundle-format.md §7).
MAX_KEY_HISTORY_BYTES: Final = 256 * 1024

_KEY_MEMBERS: Final = frozenset(
    {"kty", "crv", "x", "kid", "alg", "use", "valid_from", "valid_until"})


@dataclass(frozen=True)
class KeyPeriod:
    """When a signing key may sign: from ``valid_from`` (its creation) until ``valid_until``
    (its retirement; None while it is in use). Both RFC 3339 UTC."""

    kid: str
    valid_from: str
    valid_until: str | None = None

    def covers(self, moment: str) -> bool:
        """True when ``moment`` (RFC 3339 UTC) is in ``[valid_from, valid_until)``."""
        at = utc_instant(moment)
        if at < utc_instant(self.valid_from):
            return False
        return self.valid_until is None or at < utc_instant(self.valid_until)

    def describe(self) -> str:
        until = f"until {self.valid_until}" if self.valid_until else "with no end yet"
        return f"valid from {self.valid_from} {until}"


def parse_key_history(data: bytes) -> tuple[dict[str, Any], dict[str, KeyPeriod]]:
    """Parse a key history: a JWK Set whose Ed25519 public keys carry ``valid_from`` (and,
    once retired, ``valid_until``). Returns the plain JWK Set and each key's period by kid.

    Strict: only the members ``kty crv x kid alg use valid_from valid_until``; ``kid`` must
    be the key's RFC 7638 thumbprint; no kid twice. Raises :class:`NotaryError` (``InputError``
    or ``KeyMaterialError``) with a sentence naming the key.
    """
    doc = parse_strict_json(data, max_bytes=MAX_KEY_HISTORY_BYTES)
    if not isinstance(doc, dict) or set(doc) != {"keys"} or not isinstance(doc["keys"], list):
        raise NotaryError("It is not a JWK Set with only a 'keys' member.", code="keys_invalid")
    if not doc["keys"]:
        raise NotaryError("It holds no keys.", code="keys_invalid")
    plain: list[dict[str, Any]] = []
    periods: dict[str, KeyPeriod] = {}
    for i, jwk in enumerate(doc["keys"]):
        where = f"key {i}"
        if not isinstance(jwk, dict):
            raise NotaryError(f"The {where} is not a JSON object.", code="keys_invalid")
        unknown = sorted(set(jwk) - _KEY_MEMBERS)
        if unknown:
            raise NotaryError(
                f"The {where} has unknown member(s): {', '.join(unknown)}.", code="keys_invalid"
            )
        public_key_from_jwk(jwk)
        kid = jwk_thumbprint(jwk)
        if jwk.get("kid") != kid:
            raise NotaryError(
                f"The {where} says its kid is {jwk.get('kid')!r}, but its thumbprint is {kid}.",
                code="keys_invalid",
            )
        if kid in periods:
            raise NotaryError(f"The key {kid} is listed twice.", code="keys_invalid")
        valid_from = jwk.get("valid_from")
        valid_until = jwk.get("valid_until")
        try:
            validate_rfc3339("valid_from", valid_from, require_utc=True)
            if valid_until is not None:
                validate_rfc3339("valid_until", valid_until, require_utc=True)
        except NotaryError as exc:
            raise NotaryError(
                f"The key {kid} has no valid validity period: {exc.message}", code="keys_invalid"
            ) from exc
        assert isinstance(valid_from, str)
        start = utc_instant(valid_from)
        if valid_until is not None and utc_instant(valid_until) <= start:
            raise NotaryError(
                f"The key {kid} is valid until {valid_until}, before it is valid from "
                f"{valid_from}.",
                code="keys_invalid",
            )
        periods[kid] = KeyPeriod(kid, valid_from, valid_until)
        plain.append({k: v for k, v in jwk.items() if k not in ("valid_from", "valid_until")})
    return {"keys": plain}, periods


def key_history(entries: Sequence[tuple[Mapping[str, Any], KeyPeriod]]) -> bytes:
    """The canonical bytes of a key history (see :func:`parse_key_history`) from public JWKs
    and their periods. Raises :class:`NotaryError` if the result would not parse back."""
    keys = []
    for jwk, period in entries:
        entry = {k: v for k, v in jwk.items() if k in _KEY_MEMBERS}
        entry["valid_from"] = period.valid_from
        if period.valid_until is not None:
            entry["valid_until"] = period.valid_until
        else:
            entry.pop("valid_until", None)
        keys.append(entry)
    data = canonical_json({"keys": keys})
    parse_key_history(data)
    return data
