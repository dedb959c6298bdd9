"""The declaration's format (v1): the document a named qualified person signs for the records
of a proof bundle, an English certification of records (Federal Rules of Evidence 902(11) and
902(14), a declaration under 28 U.S.C. § 1746) and a Chinese 存证说明 (docs/glossary.md).

CONSENSUS-CRITICAL. A declaration travels inside a proof bundle under its wire name
``certification/`` (docs/bundle-format.md §5.1) and may be signed, after the bundle was made,
by the qualified person's own key. The document fields, the detached signature and the rules
below are the format; change them only by adding a version next to this one. The wire names
(paths, media type, schema, JSON members, check names, error codes) keep the older word
"certification", as formats do not change.

The declarations' wording is not here: it is carried in the document itself (its
``declarations`` member), so it may change without breaking declarations already made, and is
written by :mod:`notary.bundles.declaration`, which passes the two texts to
:meth:`Declaration.files`. A bundle's declaration is checked by
:mod:`notary.core.declaration_verify`.

Pure, like the rest of :mod:`notary.core`: facts come in as arguments (the bundle's verified
statements and anchors, the person's public key), documents and checks come out.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import InputError, NotaryError
from .merkle import to_hex32
from .signing import (
    SigningKey,
    jwk_thumbprint,
    public_key_from_jwk,
    sign_detached,
)
from .statement import Statement, canonical_json, parse_strict_json
from .validate import validate_text
from .verdict import AnchorFacts

__all__ = [
    "CERTIFICATION_DIR",
    "CERTIFICATION_EN_PATH",
    "CERTIFICATION_MEDIA_TYPE",
    "CERTIFICATION_PATH",
    "CERTIFICATION_PDF_PATH",
    "CERTIFICATION_SCHEMA",
    "CERTIFICATION_SIGNATURE_PATH",
    "CERTIFICATION_ZH_PATH",
    "MAX_CERTIFICATION_BYTES",
    "METHOD",
    "BundleSummary",
    "Declaration",
    "DeclaredItem",
    "QualifiedPerson",
    "declaration_limit",
    "full_stop",
    "read_declaration",
    "sign_declaration",
]

CERTIFICATION_SCHEMA: Final = "notary.certification/v1"
#: ``typ`` of the qualified person's detached signature over ``certification.json``.
CERTIFICATION_MEDIA_TYPE: Final = "application/vnd.notary.certification.v1+json"

CERTIFICATION_DIR: Final = "certification"
CERTIFICATION_PATH: Final = "certification/certification.json"
CERTIFICATION_EN_PATH: Final = "certification/certification-en.md"
CERTIFICATION_ZH_PATH: Final = "certification/cunzheng-shuoming-zh.md"
CERTIFICATION_PDF_PATH: Final = "certification/certification.pdf"
#: Added by the qualified person after the bundle was made: the one path outside the manifest.
CERTIFICATION_SIGNATURE_PATH: Final = "certification/certification.json.jws"

#: A declaration of 1,000 items (the most a bundle holds) is about 1.5 MB.
MAX_CERTIFICATION_BYTES: Final = 4 * 1024 * 1024
_MAX_SIGNATURE_BYTES: Final = 4096
_MAX_PERSON_TEXT: Final = 200

#: How the facts were made, stated once for every declaration of this version.
METHOD: Final[Mapping[str, str]] = {
    "file_hash": "SHA-256 (FIPS 180-4) of each file, computed by the notary service when it "
                 "received the file",
    "statement": "a notary.statement/v1 document in RFC 8785 canonical JSON, signed as a JWS "
                 "(RFC 7515) with EdDSA over Ed25519 (RFC 8037); statement_sha256 is the "
                 "SHA-256 of its canonical bytes",
    "merkle_tree": "OpenZeppelin StandardMerkleTree: leaf = keccak256(keccak256(abi.encode("
                   "uint8 1, bytes32 file SHA-256, bytes32 statement SHA-256))), pairs hashed "
                   "in sorted order",
    "anchor": "the Merkle root recorded by the EvidenceRegistry contract in a transaction on "
              "an EVM blockchain",
    "custody": "signed, hash-chained custody events (notary.custody/v1), anchored in later "
               "Merkle batches",
    "verification": "notary verify, or the steps of the bundle's VERIFY.md with standard tools",
}

_DOCUMENT_FIELDS = frozenset({"schema", "bundle", "method", "items", "qualified_person",
                              "declarations"})
_BUNDLE_FIELDS = frozenset({"scope", "case_id", "created_at", "hashes_only"})
_ZH_FIELDS: Final = ("name_zh", "title_zh", "organisation_zh")
_PERSON_FIELDS = frozenset({"name", "title", "organisation", "public_key", "key_thumbprint",
                            *_ZH_FIELDS})
_JWK_FIELDS = frozenset({"kty", "crv", "x"})


def declaration_limit(path: str) -> int | None:
    """The largest size a verifier reads into memory for a declaration member, or None
    when it is not one (or is only hashed: the PDF)."""
    if path in (CERTIFICATION_PATH, CERTIFICATION_EN_PATH, CERTIFICATION_ZH_PATH):
        return MAX_CERTIFICATION_BYTES
    if path == CERTIFICATION_SIGNATURE_PATH:
        return _MAX_SIGNATURE_BYTES
    return None


def _invalid(message: str) -> InputError:
    return InputError(message, code="certification_invalid")


# -- the qualified person ---------------------------------------------------------------------


def _public_jwk(text: str) -> dict[str, str]:
    """An Ed25519 public key given as a JWK (JSON) or a PEM ``PUBLIC KEY``, as ``{kty, crv,
    x}``. A private key is refused: it must never leave its holder."""
    stripped = text.strip()
    if "PRIVATE KEY" in stripped:
        raise _invalid("The qualified person's key is a private key; give the public key only "
                       "(openssl pkey -in KEY.pem -pubout).")
    if stripped.startswith("{"):
        try:
            jwk = parse_strict_json(stripped.encode("utf-8"), max_bytes=4096)
            if not isinstance(jwk, dict):
                raise _invalid("The qualified person's key is not a JWK object.")
            public_key_from_jwk(jwk)
        except NotaryError as exc:
            raise _invalid(f"The qualified person's key is not an Ed25519 public JWK: "
                           f"{exc.message}") from exc
        return {"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"]}
    try:
        key = serialization.load_pem_public_key(stripped.encode("ascii"))
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise _invalid("The qualified person's key is neither an Ed25519 JWK nor a PEM public "
                       "key.") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise _invalid(f"The qualified person's key is a {type(key).__name__}, not Ed25519.")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519",
            "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")}


@dataclass(frozen=True)
class QualifiedPerson:
    """Who certifies: a custodian of the records or another qualified person (FRE 902(11)),
    named with title and organisation, and optionally the Ed25519 public key (``{kty, crv,
    x}``) with which they will sign the declaration.

    ``name_zh``, ``title_zh`` and ``organisation_zh`` are the same in Chinese, each optional:
    the 存证说明 uses them where given (a Chinese court reads 档案管理员, not "Records
    custodian"), and quotes the English value as a name where not
    (:func:`notary.bundles.declaration.in_chinese`)."""

    name: str
    title: str
    organisation: str
    public_key: Mapping[str, str] | None = None
    name_zh: str | None = None
    title_zh: str | None = None
    organisation_zh: str | None = None

    def __post_init__(self) -> None:
        for field_name in ("name", "title", "organisation"):
            try:
                validate_text(field_name, getattr(self, field_name), _MAX_PERSON_TEXT)
            except InputError as exc:
                raise _invalid(f"The qualified person's {field_name}: {exc.message}") from exc
        for field_name in _ZH_FIELDS:
            value = getattr(self, field_name)
            if value is None:
                continue
            try:
                validate_text(field_name, value, _MAX_PERSON_TEXT)
            except InputError as exc:
                raise _invalid(f"The qualified person's {field_name}: {exc.message}") from exc
        if self.public_key is not None:
            if set(self.public_key) != _JWK_FIELDS:
                raise _invalid("The qualified person's key must be {kty, crv, x}.")
            try:
                public_key_from_jwk(self.public_key)
            except NotaryError as exc:
                raise _invalid(f"The qualified person's key: {exc.message}") from exc

    @classmethod
    def from_request(cls, *, name: str | None, title: str | None, organisation: str | None,
                     public_key: str | None = None, name_zh: str | None = None,
                     title_zh: str | None = None,
                     organisation_zh: str | None = None) -> QualifiedPerson | None:
        """The person an export names, or None when it names nobody. ``public_key`` is an
        Ed25519 JWK (JSON text) or PEM public key; the ``*_zh`` values are optional Chinese
        forms (an empty one counts as not given). Raises :class:`InputError`
        (``certification_invalid``) when only some of name, title and organisation are
        given, for a key or a Chinese value without a person, and for a malformed value or
        key."""
        given = {"name": name, "title": title, "organisation": organisation}
        chinese = {"name_zh": name_zh or None, "title_zh": title_zh or None,
                   "organisation_zh": organisation_zh or None}
        if not any(given.values()) and not public_key and not any(chinese.values()):
            return None
        missing = [k for k, v in given.items() if not v]
        if missing:
            raise _invalid("A certification names the qualified person by name, title and "
                           f"organisation; missing: {', '.join(missing)}.")
        assert name and title and organisation
        jwk = _public_jwk(public_key) if public_key else None
        return cls(name, title, organisation, jwk, **chinese)

    @property
    def key_thumbprint(self) -> str | None:
        """The RFC 7638 thumbprint of the person's key (the ``kid`` of their signature)."""
        return jwk_thumbprint(self.public_key) if self.public_key is not None else None

    def public_key_pem(self) -> str | None:
        """The person's key as a PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo), for
        ``openssl pkeyutl -verify``."""
        if self.public_key is None:
            return None
        pem = public_key_from_jwk(self.public_key).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return pem.decode("ascii")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "title": self.title,
                               "organisation": self.organisation}
        for field_name in _ZH_FIELDS:
            if getattr(self, field_name) is not None:
                out[field_name] = getattr(self, field_name)
        if self.public_key is not None:
            out["public_key"] = dict(self.public_key)
            out["key_thumbprint"] = self.key_thumbprint
        return out


# -- the facts --------------------------------------------------------------------------------


def _utc_seconds(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class DeclaredItem:
    """One record as a declaration states it: its verified statement (and the ``kid`` that
    signed it), its anchor, the number of custody events the bundle carries for it, its
    folder and, unless the bundle is hashes-only, where its copy is."""

    statement: Statement
    statement_kid: str
    anchor: AnchorFacts
    custody_events: int
    path: str
    original: str | None

    @property
    def block_time(self) -> str:
        """The anchoring block's time, UTC to the second (``2026-11-29T12:54:01Z``)."""
        return _utc_seconds(self.anchor.block_timestamp)

    def to_json(self) -> dict[str, Any]:
        s, a = self.statement, self.anchor
        out: dict[str, Any] = {
            "evidence_id": s.evidence_id,
            "case_seq": s.case_seq,
            "path": self.path,
            "file_name": s.file_name,
            "kind": s.kind.value,
            "media_type": s.media_type,
            "size": s.size,
            "sha256": s.sha256,
            "received_at": s.received_at,
            "statement_sha256": s.digest_hex(),
            "statement_kid": self.statement_kid,
            "custody_events": self.custody_events,
            "anchor": {
                "chain_id": a.chain_id,
                "contract": a.contract,
                "batch_id": a.batch_id,
                "merkle_root": to_hex32(a.root),
                "tx_hash": a.tx_hash,
                "block_number": a.block_number,
                "block_hash": a.block_hash,
                "block_timestamp": a.block_timestamp,
                "block_time": self.block_time,
            },
        }
        if s.captured_at is not None:
            out["captured_at"] = s.captured_at
        if self.original is not None:
            out["original"] = self.original
        return out


@dataclass(frozen=True)
class BundleSummary:
    """What the bundle is, as its manifest says."""

    scope: str
    case_id: str
    created_at: str
    hashes_only: bool

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "case_id": self.case_id, "created_at": self.created_at,
                "hashes_only": self.hashes_only}


def full_stop(text: str) -> str:
    """``text`` ending a sentence: a full stop unless it has one (``Co., Ltd.``)."""
    return text if text.endswith(".") else text + "."


@dataclass(frozen=True)
class Declaration:
    """A declaration of the records of one bundle, for one qualified person: the facts of
    ``certification.json``.

    Build it from the bundle's facts (:class:`BundleSummary`, the :class:`DeclaredItem` of
    every item in bundle order) and the person; :meth:`files` gives the documents to put in
    the bundle once the two texts are written (by :mod:`notary.bundles.declaration`; the PDF
    is rendered from the same texts by :mod:`notary.certificate.declaration`).
    """

    bundle: BundleSummary
    items: tuple[DeclaredItem, ...]
    person: QualifiedPerson

    def __post_init__(self) -> None:
        if not self.items:
            raise _invalid("A certification needs at least one record.")

    def document(self, english: str, chinese: str) -> dict[str, Any]:
        """``certification.json``: the facts, the person, and the exact text of both
        declarations (Markdown)."""
        return {
            "schema": CERTIFICATION_SCHEMA,
            "bundle": self.bundle.to_json(),
            "method": dict(METHOD),
            "items": [item.to_json() for item in self.items],
            "qualified_person": self.person.to_json(),
            "declarations": {"en": english, "zh": chinese},
        }

    def files(self, english: str, chinese: str) -> dict[str, bytes]:
        """The declaration's documents by bundle path, except the PDF: ``certification.json``
        (canonical JSON) and the two texts (UTF-8 Markdown, exactly the text the JSON
        carries). Raises :class:`NotaryError` if the document is over its size limit."""
        data = canonical_json(self.document(english, chinese))
        if len(data) > MAX_CERTIFICATION_BYTES:
            raise NotaryError(f"The certification would be {len(data)} bytes; the limit is "
                              f"{MAX_CERTIFICATION_BYTES}.", code="certification_too_large")
        return {
            CERTIFICATION_PATH: data,
            CERTIFICATION_EN_PATH: english.encode("utf-8"),
            CERTIFICATION_ZH_PATH: chinese.encode("utf-8"),
        }


# -- reading and signing ----------------------------------------------------------------------


def read_declaration(data: bytes) -> dict[str, Any]:
    """Parse ``certification.json`` strictly: canonical JSON, schema v1, exactly the members
    of a declaration, a valid qualified person (with the key's thumbprint recomputed).
    The items are compared with a bundle by
    :func:`notary.core.declaration_verify.check_declaration`. Raises
    :class:`InputError` (``certification_invalid``) saying what is wrong."""
    try:
        doc = parse_strict_json(data, max_bytes=MAX_CERTIFICATION_BYTES)
        canonical = canonical_json(doc) == data
    except NotaryError as exc:
        raise _invalid(f"It is not strict JSON: {exc.message}") from exc
    if not isinstance(doc, dict) or set(doc) != _DOCUMENT_FIELDS:
        raise _invalid(f"It must have exactly the members {', '.join(sorted(_DOCUMENT_FIELDS))}.")
    if doc["schema"] != CERTIFICATION_SCHEMA:
        raise _invalid(f"Its schema is {doc['schema']!r}, not {CERTIFICATION_SCHEMA!r}.")
    if not canonical:
        raise _invalid("It is not in RFC 8785 canonical form.")
    if not isinstance(doc["bundle"], dict) or set(doc["bundle"]) != _BUNDLE_FIELDS:
        raise _invalid(f"Its bundle must be {{{', '.join(sorted(_BUNDLE_FIELDS))}}}.")
    if doc["method"] != dict(METHOD):
        raise _invalid("Its method is not the generation method of certification v1.")
    if not isinstance(doc["items"], list) or not doc["items"]:
        raise _invalid("It lists no records.")
    declarations = doc["declarations"]
    if (not isinstance(declarations, dict) or set(declarations) != {"en", "zh"}
            or not all(isinstance(v, str) and v for v in declarations.values())):
        raise _invalid("Its declarations must be {en, zh}, each a text.")
    person = doc["qualified_person"]
    if not isinstance(person, dict) or not {"name", "title", "organisation"} <= set(person) \
            or not set(person) <= _PERSON_FIELDS:
        raise _invalid("Its qualified_person must be {name, title, organisation, name_zh?, "
                       "title_zh?, organisation_zh?, public_key?, key_thumbprint?}.")
    if any(person.get(name, "") is None for name in _ZH_FIELDS):
        raise _invalid("Its qualified_person gives a Chinese value as null; omit it instead.")
    if ("public_key" in person) != ("key_thumbprint" in person):
        raise _invalid("Its qualified_person names a key without a thumbprint, or the reverse.")
    named = QualifiedPerson(person["name"], person["title"], person["organisation"],
                            person.get("public_key"),
                            **{name: person[name] for name in _ZH_FIELDS if name in person})
    if person.get("key_thumbprint") != named.key_thumbprint:
        raise _invalid(f"Its key_thumbprint {person.get('key_thumbprint')!r} is not the RFC 7638 "
                       f"thumbprint of its public_key ({named.key_thumbprint}).")
    return doc


def sign_declaration(data: bytes, key: SigningKey, *, signed_at: datetime) -> str:
    """The qualified person's detached signature over ``certification.json`` (its exact
    bytes), to store as ``certification.json.jws``: a compact JWS with an empty payload part
    (RFC 7515 Appendix F), header ``{"alg": "EdDSA", "kid": <thumbprint>, "typ":
    CERTIFICATION_MEDIA_TYPE, "signed_at": <RFC 3339 UTC, the signer's clock>}``. Raises
    :class:`InputError` (``certification_invalid``) for a document that does not read, and
    :class:`NotaryError` (``certification_key_mismatch``) when ``key`` is not the key the
    declaration names."""
    doc = read_declaration(data)
    named = doc["qualified_person"].get("key_thumbprint")
    if named is None:
        raise NotaryError("The certification names no key for the qualified person, so it can "
                          "only be signed by hand (print certification.pdf).",
                          code="certification_key_mismatch")
    if named != key.kid:
        raise NotaryError(f"The certification names the key {named}; this key is {key.kid}.",
                          code="certification_key_mismatch")
    moment = signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return sign_detached(data, CERTIFICATION_MEDIA_TYPE, key, {"signed_at": moment})
