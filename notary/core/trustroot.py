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

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import SignatureError, StatementError
from .signing import SignedFormat, SigningKey
from .statement import canonical_json, parse_strict_json
from .trustroot_members import (
    ExtraChainPin,
    LogPin,
    Operator,
    PreviousRegistry,
    RegistryPin,
    TrustRootError,
    TrustRootKey,
    address_field,
    checksum_address,
    extra_chain_member,
    fail,
    hash32_field,
    int_field,
    kid_thumbprint,
    list_field,
    log_member,
    object_field,
    operator_member,
    previous_registry_member,
    registry_member,
    signing_key_member,
    sortable_time,
    url_field,
    utc_field,
)

# The members' names are listed here too: callers read the trust root through this module.
__all__ = [
    "MAX_TRUST_ROOT_BYTES",
    "TRUST_ROOT",
    "TRUST_ROOT_MEDIA_TYPE",
    "ExtraChainPin",
    "LogPin",
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
MAX_EXTRA_CHAINS = 16

_FINGERPRINT_CHARS = re.compile(r"[0-9a-f]{32}")

_TOP = {"media_type", "issued_at", "development", "public_url", "operator", "chain",
        "registry", "anchoring_accounts", "signing_keys", "previous_registries", "signature",
        "log"}
#: Optional members added after version 1 was issued (absent: the document is as before).
_TOP |= {"extra_chains"}
_TOP_REQUIRED = _TOP - {"previous_registries", "log", "extra_chains"}
_CHAIN = {"chain_id", "genesis_hash"}


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
    #: Second anchors' chains (issue 19), in chain-id order; omitted when there are none.
    extra_chains: tuple[ExtraChainPin, ...] = field(default=())
    #: The transparency log and its witnesses (issue 19); absent in trust roots issued
    #: before, and in a deployment without a log.
    log: LogPin | None = None

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
        if self.extra_chains:
            out["extra_chains"] = [c.to_json() for c in self.extra_chains]
        if self.log is not None:
            out["log"] = self.log.to_json()
        return out

    def extra_chain(self, chain_id: int) -> ExtraChainPin | None:
        """The pinned second-anchor chain ``chain_id``, if the trust root pins one."""
        return next((c for c in self.extra_chains if c.chain_id == chain_id), None)

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
    signature = TRUST_ROOT.sign_detached(root.unsigned_bytes(), key)
    data = canonical_json({**root.to_json(), "signature": signature})
    parse_trust_root(data)
    return data


# -- strict parsing -----------------------------------------------------------------------------


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
    obj = object_field("(document)", doc, _TOP, _TOP_REQUIRED)
    if obj["media_type"] != TRUST_ROOT_MEDIA_TYPE:
        fail(f"Field 'media_type' must be {TRUST_ROOT_MEDIA_TYPE!r}; this is another version "
              "or not a trust root.", "media_type")
    if not isinstance(obj["development"], bool):
        fail("Field 'development' must be true or false.", "development")
    chain = object_field("chain", obj["chain"], _CHAIN, _CHAIN)
    listed = list_field("anchoring_accounts", obj["anchoring_accounts"], MAX_ACCOUNTS)
    accounts = [address_field(f"anchoring_accounts[{i}]", a) for i, a in enumerate(listed)]
    if accounts != sorted(set(accounts), key=str.lower):
        fail("Field 'anchoring_accounts' must be sorted (case-insensitively) without "
              "duplicates.", "anchoring_accounts")
    keys = [signing_key_member(i, k)
            for i, k in enumerate(list_field("signing_keys", obj["signing_keys"], MAX_KEYS))]
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        fail("Field 'signing_keys' lists a key twice.", "signing_keys")
    order = [(sortable_time(k.not_before), k.kid) for k in keys]
    if order != sorted(order):
        fail("Field 'signing_keys' must be in 'not_before' order.", "signing_keys")
    if sum(1 for k in keys if k.not_after is None) != 1:
        fail("Field 'signing_keys' must have exactly one current key (without 'not_after').",
              "signing_keys")
    previous = tuple(previous_registry_member(i, p) for i, p in enumerate(
        list_field("previous_registries", obj.get("previous_registries", []),
              MAX_PREVIOUS_REGISTRIES, allow_empty=True)))
    if "previous_registries" in obj and not previous:
        fail("Field 'previous_registries' is omitted when there are none.",
              "previous_registries")
    extra = tuple(extra_chain_member(i, c, MAX_ACCOUNTS) for i, c in enumerate(
        list_field("extra_chains", obj.get("extra_chains", []), MAX_EXTRA_CHAINS,
                   allow_empty=True)))
    if "extra_chains" in obj and not extra:
        fail("Field 'extra_chains' is omitted when there are none.", "extra_chains")
    ids = [c.chain_id for c in extra]
    if ids != sorted(set(ids)) or int_field("chain.chain_id", chain["chain_id"], 1) in ids:
        fail("Field 'extra_chains' must be in chain-id order, each chain once, and not the "
             "primary chain.", "extra_chains")
    root = TrustRoot(
        issued_at=utc_field("issued_at", obj["issued_at"]),
        development=obj["development"],
        public_url=url_field("public_url", obj["public_url"]),
        operator=operator_member(obj["operator"]),
        chain_id=int_field("chain.chain_id", chain["chain_id"], 1),
        genesis_hash=hash32_field("chain.genesis_hash", chain["genesis_hash"]),
        registry=registry_member(obj["registry"]),
        anchoring_accounts=tuple(accounts),
        signing_keys=tuple(keys),
        previous_registries=previous,
        extra_chains=extra,
        log=log_member(obj["log"]) if "log" in obj else None,
    )
    signature = obj["signature"]
    if not isinstance(signature, str) or len(signature) > 1024:
        fail("Field 'signature' must be a detached compact JWS (header..signature).",
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


#: The trust root as a signed document: parsed by :func:`parse_trust_root` (content and
#: signature), signed by a detached JWS over the unsigned canonical bytes.
TRUST_ROOT: SignedFormat[tuple[TrustRoot, str]] = SignedFormat(
    TRUST_ROOT_MEDIA_TYPE, MAX_TRUST_ROOT_BYTES, parse_trust_root)


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
        signed_by = str(TRUST_ROOT.verify_detached(signature, unsigned, current)["kid"])
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
    return VerifiedTrustRoot(root, fingerprint, signed_by)


def anchoring_accounts(addresses: Sequence[str]) -> tuple[str, ...]:
    """Addresses in the document's spelling and order: EIP-55, sorted, unique."""
    spelled = {checksum_address(a) for a in addresses}
    return tuple(sorted(spelled, key=str.lower))
