"""The members of a trust root (notary.core.trustroot): the operator, the registries, the
signing keys, and the strict readers of their values, each failing with
:class:`TrustRootError` naming the field.

CONSENSUS-CRITICAL: part of the trust-root format (docs/formats.md §9.8).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from .errors import NotaryError
from .jws import jwk_thumbprint
from .merkle import keccak256
from .note import COSIGNATURE, ED25519, NoteError, Verifier
from .validate import validate_int, validate_rfc3339, validate_text

__all__ = [
    "ExtraChainPin",
    "LogPin",
    "Operator",
    "PreviousRegistry",
    "RegistryPin",
    "TrustRootError",
    "TrustRootKey",
    "address_field",
    "checksum_address",
    "extra_chain_member",
    "fail",
    "hash32_field",
    "int_field",
    "kid_thumbprint",
    "list_field",
    "log_member",
    "object_field",
    "operator_member",
    "previous_registry_member",
    "registry_member",
    "signing_key_member",
    "sortable_time",
    "url_field",
    "utc_field",
]

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH32 = re.compile(r"0x[0-9a-f]{64}")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")
_COUNTRY = re.compile(r"[A-Z]{2}")

_OPERATOR = {"name", "registration", "country", "url"}
_REGISTRY = {"address", "code_keccak256", "version", "deployment_block", "deployment_block_hash"}
_REGISTRY_REQUIRED = {"address", "code_keccak256", "version"}
_PREVIOUS = {"chain_id", "address", "code_keccak256", "version", "until_block"}
_PREVIOUS_REQUIRED = {"chain_id", "address", "code_keccak256"}
_EXTRA_CHAIN = {"chain_id", "genesis_hash", "registry", "anchoring_accounts"}
_KEY = {"jwk", "not_before", "not_after", "registered_block", "retired_block"}
_JWK = {"kty", "crv", "x", "kid"}
_LOG = {"origin", "vkey", "witnesses", "witness_threshold"}
_WITNESS = {"name", "vkey"}
MAX_WITNESSES = 100


class TrustRootError(NotaryError):
    """A trust root is malformed, not canonical, badly signed, or not the one pinned.

    Codes: ``trust_root_too_large``, ``trust_root_invalid`` (``details.field``),
    ``trust_root_not_canonical``, ``trust_root_signature_invalid``,
    ``trust_root_fingerprint_mismatch``, ``fingerprint_invalid``.
    """

    default_code = "trust_root_invalid"


def fail(message: str, where: str | None = None, **details: Any) -> NoReturn:
    """Raise :class:`TrustRootError` naming the field ``where``."""
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
    digest = keccak256(lower.encode("ascii")).hex()[:40]
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c
                          for c, d in zip(lower, digest, strict=True))


def address_field(where: str, value: object) -> str:
    if not isinstance(value, str) or _ADDRESS.fullmatch(value) is None:
        fail(f"Field '{where}' must be a 0x-prefixed 20-byte address.", where)
    if value != checksum_address(value):
        fail(f"Field '{where}' must be written in its EIP-55 checksum spelling "
              f"({checksum_address(value)}).", where)
    return value


def hash32_field(where: str, value: object) -> str:
    if not isinstance(value, str) or _HASH32.fullmatch(value) is None:
        fail(f"Field '{where}' must be 0x and 64 lower-case hex digits.", where)
    return value


def url_field(where: str, value: object) -> str:
    text = text_field(where, value, 2048)
    if _URL.fullmatch(text) is None:
        fail(f"Field '{where}' must be an http(s) URL.", where)
    return text


def text_field(where: str, value: object, max_len: int) -> str:
    try:
        text = validate_text(where, value, max_len)
    except NotaryError as exc:
        fail(exc.message, where)
    if text != text.strip():
        fail(f"Field '{where}' must not start or end with whitespace.", where)
    return text


def int_field(where: str, value: object, minimum: int = 0) -> int:
    try:
        return validate_int(where, value, minimum=minimum)
    except NotaryError as exc:
        fail(exc.message, where)


def utc_field(where: str, value: object) -> str:
    try:
        return validate_rfc3339(where, value, require_utc=True)
    except NotaryError as exc:
        fail(exc.message, where)


def object_field(where: str, value: object, allowed: set[str], required: set[str]
                 ) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(f"Field '{where}' must be an object.", where)
    unknown = sorted(set(value) - allowed)
    if unknown:
        fail(f"Field '{where}' has unknown member(s): {', '.join(unknown)}.", where,
              unknown=unknown)
    missing = sorted(required - set(value))
    if missing:
        fail(f"Field '{where}' lacks the member(s): {', '.join(missing)}.", where,
              missing=missing)
    return value


def list_field(where: str, value: object, limit: int, *, allow_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        fail(f"Field '{where}' must be an array.", where)
    if not value and not allow_empty:
        fail(f"Field '{where}' must not be empty.", where)
    if len(value) > limit:
        fail(f"Field '{where}' has {len(value)} entries; the limit is {limit}.", where)
    return value



# -- the members ---------------------------------------------------------------------------------


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


# -- strict reading ------------------------------------------------------------------------------


def operator_member(value: object) -> Operator:
    obj = object_field("operator", value, _OPERATOR, {"name"})
    country = obj.get("country")
    if country is not None and (not isinstance(country, str)
                                or _COUNTRY.fullmatch(country) is None):
        fail("Field 'operator.country' must be an ISO 3166-1 alpha-2 code such as CN.",
              "operator.country")
    return Operator(
        name=text_field("operator.name", obj["name"], 300),
        registration=text_field("operator.registration", obj["registration"], 100)
        if "registration" in obj else None,
        country=country,
        url=url_field("operator.url", obj["url"]) if "url" in obj else None,
    )


def registry_member(value: object, where: str = "registry") -> RegistryPin:
    obj = object_field(where, value, _REGISTRY, _REGISTRY_REQUIRED)
    block = obj.get("deployment_block")
    block_hash = obj.get("deployment_block_hash")
    if (block is None) != (block_hash is None):
        fail(f"Fields '{where}.deployment_block' and '{where}.deployment_block_hash' come "
              "together.", f"{where}.deployment_block")
    return RegistryPin(
        address=address_field(f"{where}.address", obj["address"]),
        code_keccak256=hash32_field(f"{where}.code_keccak256", obj["code_keccak256"]),
        version=text_field(f"{where}.version", obj["version"], 16),
        deployment_block=int_field(f"{where}.deployment_block", block, 1) if block is not None
        else None,
        deployment_block_hash=hash32_field(f"{where}.deployment_block_hash", block_hash)
        if block_hash is not None else None,
    )


def previous_registry_member(i: int, value: object) -> PreviousRegistry:
    where = f"previous_registries[{i}]"
    obj = object_field(where, value, _PREVIOUS, _PREVIOUS_REQUIRED)
    return PreviousRegistry(
        chain_id=int_field(f"{where}.chain_id", obj["chain_id"], 1),
        address=address_field(f"{where}.address", obj["address"]),
        code_keccak256=hash32_field(f"{where}.code_keccak256", obj["code_keccak256"]),
        version=text_field(f"{where}.version", obj["version"], 16) if "version" in obj else None,
        until_block=int_field(f"{where}.until_block", obj["until_block"], 1)
        if "until_block" in obj else None,
    )


def signing_key_member(i: int, value: object) -> TrustRootKey:
    where = f"signing_keys[{i}]"
    obj = object_field(where, value, _KEY, {"jwk", "not_before"})
    jwk = object_field(f"{where}.jwk", obj["jwk"], _JWK, _JWK)
    try:
        kid = jwk_thumbprint(jwk)
    except NotaryError as exc:
        fail(f"Field '{where}.jwk' is not an Ed25519 public key: {exc.message}", f"{where}.jwk")
    if jwk["kid"] != kid:
        fail(f"Field '{where}.jwk.kid' is not the key's RFC 7638 thumbprint ({kid}).",
              f"{where}.jwk.kid")
    not_before = utc_field(f"{where}.not_before", obj["not_before"])
    not_after = utc_field(f"{where}.not_after", obj["not_after"]) if "not_after" in obj else None
    registered = (int_field(f"{where}.registered_block", obj["registered_block"], 1)
                  if "registered_block" in obj else None)
    retired = (int_field(f"{where}.retired_block", obj["retired_block"], 1)
               if "retired_block" in obj else None)
    if not_after is not None and sortable_time(not_after) < sortable_time(not_before):
        fail(f"Field '{where}.not_after' is before its 'not_before'.", f"{where}.not_after")
    if retired is not None and (registered is None or retired < registered or not_after is None):
        fail(f"Field '{where}.retired_block' needs a 'registered_block' no later than it and "
              "a 'not_after'.", f"{where}.retired_block")
    return TrustRootKey(dict(jwk), not_before, not_after, registered, retired)


@dataclass(frozen=True)
class LogPin:
    """The deployment's transparency log (docs/witness.md): its origin, its verifier key
    (c2sp.org/signed-note ``vkey``, type 0x01, named by the origin), the witnesses whose
    cosignatures (``cosignature/v1``, type 0x04) a verifier counts, sorted by name, and how
    many of them must have cosigned a bundle's checkpoint for its neutrality to pass."""

    origin: str
    vkey: str
    witnesses: tuple[tuple[str, str], ...] = ()
    witness_threshold: int = 0

    @property
    def verifier(self) -> Verifier:
        return Verifier.from_vkey(self.vkey)

    def witness_verifiers(self) -> list[Verifier]:
        return [Verifier.from_vkey(vkey) for _, vkey in self.witnesses]

    def to_json(self) -> dict[str, Any]:
        return {"origin": self.origin, "vkey": self.vkey,
                "witnesses": [{"name": n, "vkey": v} for n, v in self.witnesses],
                "witness_threshold": self.witness_threshold}


def _vkey_field(where: str, value: object, sig_type: int) -> Verifier:
    text = text_field(where, value, 512)
    try:
        verifier = Verifier.from_vkey(text)
    except NoteError as exc:
        fail(f"Field '{where}' is not a signed-note verifier key: {exc}", where)
    if verifier.sig_type != sig_type or verifier.vkey != text:
        kind = "an Ed25519 (0x01)" if sig_type == ED25519 else "a cosignature/v1 (0x04)"
        fail(f"Field '{where}' must be {kind} verifier key in its one spelling.", where)
    return verifier


def log_member(value: object) -> LogPin:
    obj = object_field("log", value, _LOG, _LOG)
    origin = text_field("log.origin", obj["origin"], 256)
    if _vkey_field("log.vkey", obj["vkey"], ED25519).name != origin:
        fail("Field 'log.vkey' must be named by the log's origin (c2sp.org/tlog-checkpoint).",
             "log.vkey")
    witnesses = []
    listed = list_field("log.witnesses", obj["witnesses"], MAX_WITNESSES, allow_empty=True)
    for i, w in enumerate(listed):
        where = f"log.witnesses[{i}]"
        entry = object_field(where, w, _WITNESS, _WITNESS)
        verifier = _vkey_field(f"{where}.vkey", entry["vkey"], COSIGNATURE)
        if entry["name"] != verifier.name:
            fail(f"Field '{where}.name' must be the name of its verifier key.", f"{where}.name")
        witnesses.append((verifier.name, verifier.vkey))
    if [n for n, _ in witnesses] != sorted({n for n, _ in witnesses}):
        fail("Field 'log.witnesses' must be sorted by name, each witness once.", "log.witnesses")
    threshold = int_field("log.witness_threshold", obj["witness_threshold"], 0)
    if threshold > len(witnesses):
        fail("Field 'log.witness_threshold' is more than the witnesses listed.",
             "log.witness_threshold")
    return LogPin(origin, obj["vkey"], tuple(witnesses), threshold)


def sortable_time(moment: str) -> str:
    """A sortable form of an RFC 3339 UTC time (fraction padded to 9 digits)."""
    head, _, frac = moment[:-1].partition(".")
    return f"{head}.{frac:0<9}"


@dataclass(frozen=True)
class ExtraChainPin:
    """A second anchor's chain (issue 19): its id and genesis hash, the registry there, and
    the accounts that anchor there; pinned exactly as the primary chain is."""

    chain_id: int
    genesis_hash: str
    registry: RegistryPin
    anchoring_accounts: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"chain_id": self.chain_id, "genesis_hash": self.genesis_hash,
                "registry": self.registry.to_json(),
                "anchoring_accounts": list(self.anchoring_accounts)}


def extra_chain_member(i: int, value: object, max_accounts: int) -> ExtraChainPin:
    """``extra_chains[i]``, checked like the primary chain's members (sorted unique
    EIP-55 accounts, a registry pin)."""
    where = f"extra_chains[{i}]"
    obj = object_field(where, value, _EXTRA_CHAIN, _EXTRA_CHAIN)
    listed = list_field(f"{where}.anchoring_accounts", obj["anchoring_accounts"], max_accounts)
    accounts = [address_field(f"{where}.anchoring_accounts[{j}]", a)
                for j, a in enumerate(listed)]
    if accounts != sorted(set(accounts), key=str.lower):
        fail(f"Field '{where}.anchoring_accounts' must be sorted (case-insensitively) without "
             "duplicates.", f"{where}.anchoring_accounts")
    return ExtraChainPin(
        chain_id=int_field(f"{where}.chain_id", obj["chain_id"], 1),
        genesis_hash=hash32_field(f"{where}.genesis_hash", obj["genesis_hash"]),
        registry=registry_member(obj["registry"], f"{where}.registry"),
        anchoring_accounts=tuple(accounts),
    )
