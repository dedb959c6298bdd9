"""The trust root: one signed document that says which chain, registry, accounts and keys are
this deployment's, and who operates it (issue 14, item 3).

A verifier that pins a trust root (by file, or by the short fingerprint the operator files with
a court) never takes a key or a registry address from the bundle it checks. This module is the
format only: build, sign, parse strictly, verify. It is pure (no chain, no database): the
service fills it from its state (``notary.service.trustroot``).

The document is RFC 8785 canonical JSON (like statements) whose member ``signature`` is a
detached EdDSA JWS (RFC 7515 Appendix F) over the canonical bytes of the document without
``signature``, made by the deployment's current statement-signing key. Its fingerprint is the
first 16 bytes of the SHA-256 of those unsigned canonical bytes, written as eight groups of
four lower-case hex digits (``3f2a-9c1b-...``): short enough to read aloud or print on a
certificate, long enough (128 bits) that nobody can make a second document with the same one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from eth_hash.auto import keccak

from notary.core.errors import NotaryError, SignatureError, StatementError
from notary.core.jws import jwk_thumbprint, verify_detached_jws
from notary.core.signing import SigningKey, sign_detached
from notary.core.statement import canonical_json, parse_strict_json
from notary.core.validate import validate_int, validate_rfc3339, validate_text

__all__ = [
    "MAX_TRUST_ROOT_BYTES",
    "TRUST_ROOT_MEDIA_TYPE",
    "Operator",
    "PreviousRegistry",
    "RegistryPin",
    "TrustRoot",
    "TrustRootError",
    "TrustRootKey",
    "VerifiedTrustRoot",
    "anchoring_accounts",
    "checksum_address",
    "fingerprint_of",
    "format_fingerprint",
    "kid_thumbprint",
    "parse_trust_root",
    "sign_trust_root",
    "verify_trust_root",
]

#: The document's version, as its ``media_type`` member and the signature's ``typ``.
TRUST_ROOT_MEDIA_TYPE = "application/vnd.notary.trust-root.v1+json"
#: Larger documents are refused before they are parsed (a history of hundreds of keys fits).
MAX_TRUST_ROOT_BYTES = 256 * 1024
MAX_KEYS = 1000
MAX_ACCOUNTS = 100
MAX_PREVIOUS_REGISTRIES = 100

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH32 = re.compile(r"0x[0-9a-f]{64}")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")
_COUNTRY = re.compile(r"[A-Z]{2}")
_FINGERPRINT_CHARS = re.compile(r"[0-9a-f]{32}")

_TOP = {"media_type", "issued_at", "development", "public_url", "operator", "chain",
        "registry", "anchoring_accounts", "signing_keys", "previous_registries", "signature"}
_TOP_REQUIRED = _TOP - {"previous_registries"}
_OPERATOR = {"name", "registration", "country", "url"}
_CHAIN = {"chain_id", "genesis_hash"}
_REGISTRY = {"address", "code_keccak256", "version", "deployment_block", "deployment_block_hash"}
_REGISTRY_REQUIRED = {"address", "code_keccak256", "version"}
_PREVIOUS = {"chain_id", "address", "code_keccak256", "version", "until_block"}
_PREVIOUS_REQUIRED = {"chain_id", "address", "code_keccak256"}
_KEY = {"jwk", "not_before", "not_after", "registered_block", "retired_block"}
_JWK = {"kty", "crv", "x", "kid"}


class TrustRootError(NotaryError):
    """A trust root is malformed, not canonical, badly signed, or not the one pinned.

    Codes: ``trust_root_too_large``, ``trust_root_invalid`` (``details.field``),
    ``trust_root_not_canonical``, ``trust_root_signature_invalid``,
    ``trust_root_fingerprint_mismatch``, ``fingerprint_invalid``.
    """

    default_code = "trust_root_invalid"


def _fail(message: str, where: str | None = None, **details: Any) -> NoReturn:
    if where is not None:
        details["field"] = where
    raise TrustRootError(message, **details)


# -- small values -------------------------------------------------------------------------------


def kid_thumbprint(kid: str) -> bytes:
    """The 32 bytes a ``kid`` (RFC 7638 SHA-256 thumbprint, unpadded base64url) encodes: what
    the registry records as ``bytes32 thumbprint``. Raises TrustRootError ``kid_invalid``."""
    if not isinstance(kid, str) or len(kid) != 43 or re.fullmatch(r"[A-Za-z0-9_-]+", kid) is None:
        raise TrustRootError(f"{kid!r} is not a key id (43 base64url characters).",
                             code="kid_invalid")
    try:
        raw = base64.urlsafe_b64decode(kid + "=")
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the regex excludes these
        raise TrustRootError(f"{kid!r} is not base64url.", code="kid_invalid") from exc
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != kid:
        raise TrustRootError(f"{kid!r} is not canonical base64url.", code="kid_invalid")
    return raw


def checksum_address(address: str) -> str:
    """EIP-55 mixed-case spelling of a 20-byte address (the one spelling the document uses)."""
    lower = address[2:].lower()
    digest = keccak(lower.encode("ascii")).hex()[:40]
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c
                          for c, d in zip(lower, digest, strict=True))


def _address(where: str, value: object) -> str:
    if not isinstance(value, str) or _ADDRESS.fullmatch(value) is None:
        _fail(f"Field '{where}' must be a 0x-prefixed 20-byte address.", where)
    if value != checksum_address(value):
        _fail(f"Field '{where}' must be written in its EIP-55 checksum spelling "
              f"({checksum_address(value)}).", where)
    return value


def _hash32(where: str, value: object) -> str:
    if not isinstance(value, str) or _HASH32.fullmatch(value) is None:
        _fail(f"Field '{where}' must be 0x and 64 lower-case hex digits.", where)
    return value


def _url(where: str, value: object) -> str:
    text = _text(where, value, 2048)
    if _URL.fullmatch(text) is None:
        _fail(f"Field '{where}' must be an http(s) URL.", where)
    return text


def _text(where: str, value: object, max_len: int) -> str:
    try:
        text = validate_text(where, value, max_len)
    except NotaryError as exc:
        _fail(exc.message, where)
    if text != text.strip():
        _fail(f"Field '{where}' must not start or end with whitespace.", where)
    return text


def _int(where: str, value: object, minimum: int = 0) -> int:
    try:
        return validate_int(where, value, minimum=minimum)
    except NotaryError as exc:
        _fail(exc.message, where)


def _utc(where: str, value: object) -> str:
    try:
        return validate_rfc3339(where, value, require_utc=True)
    except NotaryError as exc:
        _fail(exc.message, where)


def _object(where: str, value: object, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(f"Field '{where}' must be an object.", where)
    unknown = sorted(set(value) - allowed)
    if unknown:
        _fail(f"Field '{where}' has unknown member(s): {', '.join(unknown)}.", where,
              unknown=unknown)
    missing = sorted(required - set(value))
    if missing:
        _fail(f"Field '{where}' lacks the member(s): {', '.join(missing)}.", where,
              missing=missing)
    return value


def _list(where: str, value: object, limit: int, *, allow_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        _fail(f"Field '{where}' must be an array.", where)
    if not value and not allow_empty:
        _fail(f"Field '{where}' must not be empty.", where)
    if len(value) > limit:
        _fail(f"Field '{where}' has {len(value)} entries; the limit is {limit}.", where)
    return value


# -- the document -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """Who operates the deployment. ``name`` in any script (a legal name such as
    ``某某数据科技有限公司``); ``registration`` e.g. a 统一社会信用代码; ``country`` ISO 3166-1
    alpha-2; ``url`` the operator's own site. What the operator states, not checked here."""

    name: str
    registration: str | None = None
    country: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for key in ("registration", "country", "url"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class RegistryPin:
    """A registry of the deployment: its address, the keccak-256 of its runtime code (what
    ``eth_getCode`` returns), its version, and where it was deployed (when known)."""

    address: str
    code_keccak256: str
    version: str
    deployment_block: int | None = None
    deployment_block_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address, "code_keccak256": self.code_keccak256,
                               "version": self.version}
        if self.deployment_block is not None:
            out["deployment_block"] = self.deployment_block
        if self.deployment_block_hash is not None:
            out["deployment_block_hash"] = self.deployment_block_hash
        return out


@dataclass(frozen=True)
class PreviousRegistry:
    """An earlier registry of the same deployment (e.g. a version 1 registry, docs/formats.md
    9.9) whose anchors stay valid; ``until_block``: anchors after it are not accepted."""

    chain_id: int
    address: str
    code_keccak256: str
    version: str | None = None
    until_block: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"chain_id": self.chain_id, "address": self.address,
                               "code_keccak256": self.code_keccak256}
        if self.version is not None:
            out["version"] = self.version
        if self.until_block is not None:
            out["until_block"] = self.until_block
        return out


@dataclass(frozen=True)
class TrustRootKey:
    """A statement-signing key with its validity: ``not_before`` (RFC 3339 UTC) until
    ``not_after`` (None while in use), and the blocks of its registration and retirement on
    chain when they happened."""

    jwk: Mapping[str, str]
    not_before: str
    not_after: str | None = None
    registered_block: int | None = None
    retired_block: int | None = None

    @property
    def kid(self) -> str:
        return str(self.jwk["kid"])

    def to_json(self) -> dict[str, Any]:
        jwk = {k: self.jwk[k] for k in ("kty", "crv", "x", "kid")}
        out: dict[str, Any] = {"jwk": jwk, "not_before": self.not_before}
        if self.not_after is not None:
            out["not_after"] = self.not_after
        if self.registered_block is not None:
            out["registered_block"] = self.registered_block
        if self.retired_block is not None:
            out["retired_block"] = self.retired_block
        return out


@dataclass(frozen=True)
class TrustRoot:
    """The content of a trust root (everything but the signature)."""

    issued_at: str
    development: bool
    public_url: str
    operator: Operator
    chain_id: int
    genesis_hash: str
    registry: RegistryPin
    anchoring_accounts: tuple[str, ...]
    signing_keys: tuple[TrustRootKey, ...]
    previous_registries: tuple[PreviousRegistry, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "media_type": TRUST_ROOT_MEDIA_TYPE,
            "issued_at": self.issued_at,
            "development": self.development,
            "public_url": self.public_url,
            "operator": self.operator.to_json(),
            "chain": {"chain_id": self.chain_id, "genesis_hash": self.genesis_hash},
            "registry": self.registry.to_json(),
            "anchoring_accounts": list(self.anchoring_accounts),
            "signing_keys": [k.to_json() for k in self.signing_keys],
        }
        if self.previous_registries:
            out["previous_registries"] = [p.to_json() for p in self.previous_registries]
        return out

    def unsigned_bytes(self) -> bytes:
        """RFC 8785 canonical bytes without ``signature``: what is signed and fingerprinted."""
        return canonical_json(self.to_json())

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.unsigned_bytes())

    def current_keys(self) -> list[TrustRootKey]:
        return [k for k in self.signing_keys if k.not_after is None]


def fingerprint_of(unsigned: bytes) -> str:
    """First 16 bytes of SHA-256(unsigned canonical bytes), as ``xxxx-xxxx-...`` (8 groups)."""
    return format_fingerprint(hashlib.sha256(unsigned).digest()[:16].hex())


def format_fingerprint(text: str) -> str:
    """The one spelling of a fingerprint given with any case, spaces or hyphens; raises
    TrustRootError ``fingerprint_invalid`` when it is not 32 hex digits."""
    plain = re.sub(r"[\s-]", "", text or "").lower()
    if _FINGERPRINT_CHARS.fullmatch(plain) is None:
        raise TrustRootError(f"{text!r} is not a trust-root fingerprint (32 hex digits in "
                             "groups of four, e.g. 3f2a-9c1b-...).", code="fingerprint_invalid")
    return "-".join(plain[i:i + 4] for i in range(0, 32, 4))


def sign_trust_root(root: TrustRoot, key: SigningKey) -> bytes:
    """The signed document: canonical JSON with ``signature``, a detached JWS by ``key``,
    which must be one of the document's current (not retired) keys. Parsed back by
    :func:`parse_trust_root` before it is returned, so nothing invalid is ever issued."""
    if key.kid not in {k.kid for k in root.current_keys()}:
        raise TrustRootError(f"The signing key {key.kid} is not a current key of the trust root.",
                             code="trust_root_invalid", field="signature")
    signature = sign_detached(root.unsigned_bytes(), TRUST_ROOT_MEDIA_TYPE, key)
    data = canonical_json({**root.to_json(), "signature": signature})
    parse_trust_root(data)
    return data


# -- strict parsing -----------------------------------------------------------------------------


def _operator(value: object) -> Operator:
    obj = _object("operator", value, _OPERATOR, {"name"})
    country = obj.get("country")
    if country is not None and (not isinstance(country, str)
                                or _COUNTRY.fullmatch(country) is None):
        _fail("Field 'operator.country' must be an ISO 3166-1 alpha-2 code such as CN.",
              "operator.country")
    return Operator(
        name=_text("operator.name", obj["name"], 300),
        registration=_text("operator.registration", obj["registration"], 100)
        if "registration" in obj else None,
        country=country,
        url=_url("operator.url", obj["url"]) if "url" in obj else None,
    )


def _registry(value: object) -> RegistryPin:
    obj = _object("registry", value, _REGISTRY, _REGISTRY_REQUIRED)
    block = obj.get("deployment_block")
    block_hash = obj.get("deployment_block_hash")
    if (block is None) != (block_hash is None):
        _fail("Fields 'registry.deployment_block' and 'registry.deployment_block_hash' come "
              "together.", "registry.deployment_block")
    return RegistryPin(
        address=_address("registry.address", obj["address"]),
        code_keccak256=_hash32("registry.code_keccak256", obj["code_keccak256"]),
        version=_text("registry.version", obj["version"], 16),
        deployment_block=_int("registry.deployment_block", block, 1) if block is not None
        else None,
        deployment_block_hash=_hash32("registry.deployment_block_hash", block_hash)
        if block_hash is not None else None,
    )


def _previous(i: int, value: object) -> PreviousRegistry:
    where = f"previous_registries[{i}]"
    obj = _object(where, value, _PREVIOUS, _PREVIOUS_REQUIRED)
    return PreviousRegistry(
        chain_id=_int(f"{where}.chain_id", obj["chain_id"], 1),
        address=_address(f"{where}.address", obj["address"]),
        code_keccak256=_hash32(f"{where}.code_keccak256", obj["code_keccak256"]),
        version=_text(f"{where}.version", obj["version"], 16) if "version" in obj else None,
        until_block=_int(f"{where}.until_block", obj["until_block"], 1)
        if "until_block" in obj else None,
    )


def _key(i: int, value: object) -> TrustRootKey:
    where = f"signing_keys[{i}]"
    obj = _object(where, value, _KEY, {"jwk", "not_before"})
    jwk = _object(f"{where}.jwk", obj["jwk"], _JWK, _JWK)
    try:
        kid = jwk_thumbprint(jwk)
    except NotaryError as exc:
        _fail(f"Field '{where}.jwk' is not an Ed25519 public key: {exc.message}", f"{where}.jwk")
    if jwk["kid"] != kid:
        _fail(f"Field '{where}.jwk.kid' is not the key's RFC 7638 thumbprint ({kid}).",
              f"{where}.jwk.kid")
    not_before = _utc(f"{where}.not_before", obj["not_before"])
    not_after = _utc(f"{where}.not_after", obj["not_after"]) if "not_after" in obj else None
    registered = (_int(f"{where}.registered_block", obj["registered_block"], 1)
                  if "registered_block" in obj else None)
    retired = (_int(f"{where}.retired_block", obj["retired_block"], 1)
               if "retired_block" in obj else None)
    if not_after is not None and _instant(not_after) < _instant(not_before):
        _fail(f"Field '{where}.not_after' is before its 'not_before'.", f"{where}.not_after")
    if retired is not None and (registered is None or retired < registered or not_after is None):
        _fail(f"Field '{where}.retired_block' needs a 'registered_block' no later than it and "
              "a 'not_after'.", f"{where}.retired_block")
    return TrustRootKey(dict(jwk), not_before, not_after, registered, retired)


def _instant(moment: str) -> str:
    """A sortable form of an RFC 3339 UTC time (fraction padded to 9 digits)."""
    head, _, frac = moment[:-1].partition(".")
    return f"{head}.{frac:0<9}"


def parse_trust_root(data: bytes) -> tuple[TrustRoot, str]:
    """Parse a signed trust root strictly: the size limit first, strict JSON (no duplicate
    keys, no floats), exactly the known members, every value checked, the bytes exactly
    RFC 8785 canonical, keys in ``not_before`` order with one current key at most... Returns
    the content and the ``signature`` (not yet verified: see :func:`verify_trust_root`)."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("data must be bytes")
    if len(data) > MAX_TRUST_ROOT_BYTES:
        raise TrustRootError(f"The trust root is {len(data)} bytes; the limit is "
                             f"{MAX_TRUST_ROOT_BYTES}.", code="trust_root_too_large",
                             max_bytes=MAX_TRUST_ROOT_BYTES)
    try:
        doc = parse_strict_json(bytes(data), max_bytes=MAX_TRUST_ROOT_BYTES)
    except StatementError as exc:
        raise TrustRootError(f"The trust root is not strict JSON: {exc.message}",
                             code="trust_root_invalid") from exc
    obj = _object("(document)", doc, _TOP, _TOP_REQUIRED)
    if obj["media_type"] != TRUST_ROOT_MEDIA_TYPE:
        _fail(f"Field 'media_type' must be {TRUST_ROOT_MEDIA_TYPE!r}; this is another version "
              "or not a trust root.", "media_type")
    if not isinstance(obj["development"], bool):
        _fail("Field 'development' must be true or false.", "development")
    chain = _object("chain", obj["chain"], _CHAIN, _CHAIN)
    accounts = [_address(f"anchoring_accounts[{i}]", a) for i, a in
                enumerate(_list("anchoring_accounts", obj["anchoring_accounts"], MAX_ACCOUNTS))]
    if accounts != sorted(set(accounts), key=str.lower):
        _fail("Field 'anchoring_accounts' must be sorted (case-insensitively) without "
              "duplicates.", "anchoring_accounts")
    keys = [_key(i, k) for i, k in enumerate(_list("signing_keys", obj["signing_keys"], MAX_KEYS))]
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        _fail("Field 'signing_keys' lists a key twice.", "signing_keys")
    order = [(_instant(k.not_before), k.kid) for k in keys]
    if order != sorted(order):
        _fail("Field 'signing_keys' must be in 'not_before' order.", "signing_keys")
    if sum(1 for k in keys if k.not_after is None) != 1:
        _fail("Field 'signing_keys' must have exactly one current key (without 'not_after').",
              "signing_keys")
    previous = tuple(_previous(i, p) for i, p in enumerate(
        _list("previous_registries", obj.get("previous_registries", []),
              MAX_PREVIOUS_REGISTRIES, allow_empty=True)))
    if "previous_registries" in obj and not previous:
        _fail("Field 'previous_registries' is omitted when there are none.",
              "previous_registries")
    root = TrustRoot(
        issued_at=_utc("issued_at", obj["issued_at"]),
        development=obj["development"],
        public_url=_url("public_url", obj["public_url"]),
        operator=_operator(obj["operator"]),
        chain_id=_int("chain.chain_id", chain["chain_id"], 1),
        genesis_hash=_hash32("chain.genesis_hash", chain["genesis_hash"]),
        registry=_registry(obj["registry"]),
        anchoring_accounts=tuple(accounts),
        signing_keys=tuple(keys),
        previous_registries=previous,
    )
    signature = obj["signature"]
    if not isinstance(signature, str) or len(signature) > 1024:
        _fail("Field 'signature' must be a detached compact JWS (header..signature).",
              "signature")
    try:
        canonical = canonical_json(doc)
    except StatementError as exc:  # pragma: no cover - strict parsing excludes these
        raise TrustRootError(exc.message, code="trust_root_not_canonical") from exc
    if bytes(data) != canonical:
        raise TrustRootError("The trust root is not in RFC 8785 canonical form (member order, "
                             "spacing, escapes or a trailing newline differ).",
                             code="trust_root_not_canonical")
    if canonical_json({**root.to_json(), "signature": signature}) != canonical:  # pragma: no cover
        raise TrustRootError("The trust root does not round-trip.", code="trust_root_invalid")
    return root, signature


@dataclass(frozen=True)
class VerifiedTrustRoot:
    """A trust root whose signature verified (and whose fingerprint matched, if one was given)."""

    root: TrustRoot
    fingerprint: str
    signed_by: str  # kid of the current key that signed it


def verify_trust_root(doc_bytes: bytes, expected_fingerprint: str | None = None
                      ) -> VerifiedTrustRoot:
    """Parse ``doc_bytes`` strictly, check its signature by its current key, and, given
    ``expected_fingerprint`` (any spelling of it), that the document is that one.

    The signature is checked first (a document that is wrong in itself says so), then the
    fingerprint. Without an expected fingerprint the document is only self-consistent: anybody
    can sign a trust root with their own key. What makes it the deployment's is comparing its
    fingerprint with one obtained another way (the operator's filing with a court, a
    certificate).
    """
    expected = format_fingerprint(expected_fingerprint) if expected_fingerprint is not None \
        else None
    root, signature = parse_trust_root(doc_bytes)
    unsigned = root.unsigned_bytes()
    current = {"keys": [dict(k.to_json()["jwk"]) for k in root.current_keys()]}
    try:
        header = verify_detached_jws(signature, unsigned, current,
                                     expected_typ=TRUST_ROOT_MEDIA_TYPE)
    except SignatureError as exc:
        raise TrustRootError(f"The trust root's signature does not verify with its current key: "
                             f"{exc.message}", code="trust_root_signature_invalid",
                             reason=exc.details.get("reason")) from exc
    fingerprint = fingerprint_of(unsigned)
    if expected is not None and fingerprint != expected:
        raise TrustRootError(f"This trust root's fingerprint is {fingerprint}, not the pinned "
                             f"{expected}: it is another document.",
                             code="trust_root_fingerprint_mismatch", expected=expected,
                             actual=fingerprint)
    return VerifiedTrustRoot(root, fingerprint, str(header["kid"]))


def anchoring_accounts(addresses: Sequence[str]) -> tuple[str, ...]:
    """Addresses in the document's spelling and order: EIP-55, sorted, unique."""
    spelled = {checksum_address(a) for a in addresses}
    return tuple(sorted(spelled, key=str.lower))
