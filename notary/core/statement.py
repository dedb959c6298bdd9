"""The evidence statement (format v1): what notary attests about one piece of evidence.

A statement is a JSON object whose *canonical bytes* (RFC 8785, JSON Canonicalization
Scheme) are what gets signed (as a JWS payload) and hashed (into the Merkle leaf). Absent
optional fields are omitted, never ``null``, so each statement has exactly one byte form.
:meth:`Statement.from_bytes` accepts only that form.

Statements of one case form a hash chain: ``case_seq`` counts from 1 and
``prev_statement`` is the SHA-256 (hex) of the previous statement's canonical bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any, NoReturn

import rfc8785

from .callrecord import CallRecord
from .errors import InputError, StatementError
from .jsonlimits import check_depth
from .recording import RecordingLayout
from .validate import (
    validate_file_name,
    validate_hex_digest,
    validate_identifier,
    validate_int,
    validate_media_type,
    validate_rfc3339,
    validate_text,
)

__all__ = [
    "DEPOSIT_HASH_ONLY",
    "MAX_STATEMENT_BYTES",
    "STATEMENT_MEDIA_TYPE",
    "STATEMENT_SCHEMA",
    "EvidenceKind",
    "Statement",
    "canonical_json",
    "parse_strict_json",
]

STATEMENT_SCHEMA = "notary.statement/v1"
STATEMENT_MEDIA_TYPE = "application/vnd.notary.statement.v1+json"

#: Upper bound on a statement's canonical bytes. Statements are metadata (the evidence
#: itself is referenced by hash), so real ones are a few KiB; the bound keeps parsing of
#: untrusted input cheap and keeps every statement small enough for any verifier.
MAX_STATEMENT_BYTES = 64 * 1024

MAX_PARTIES = 32
MAX_PARTY_KEYS = 8
_PARTY_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CID_V1_BASE32 = re.compile(r"b[a-z2-7]{10,255}")
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")
MAX_SUBMITTER_SIGNATURE = 16 * 1024
#: Lengths of the identity fields (code points): a legal name, a key's name.
MAX_TENANT_NAME = 256
MAX_SUBMITTER_NAME = 256
#: The ``deposit`` of a statement whose file this service never saw: the depositor sent its
#: SHA-256 and size only. Absent for a file deposit (the service hashed the bytes itself).
DEPOSIT_HASH_ONLY = "hash_only"


class EvidenceKind(StrEnum):
    """What the evidence is. New kinds need a new schema version (old verifiers reject
    unknown kinds)."""

    CALL_RECORDING = "call_recording"
    NOTICE = "notice"
    AGREEMENT = "agreement"
    OTHER = "other"


_REQUIRED: dict[str, type] = {
    "schema": str,
    "evidence_id": str,
    "case_id": str,
    "case_seq": int,
    "kind": str,
    "media_type": str,
    "size": int,
    "sha256": str,
    "file_name": str,
    "received_at": str,
    "submitter": str,
}
_OPTIONAL: dict[str, type] = {
    "prev_statement": str,
    "captured_at": str,
    "content_address": str,
    "description": str,
    "parties": list,
    "submitter_signature": str,
    "media_type_sent": str,
    "tenant_name": str,
    "submitter_name": str,
    "call": dict,
    "deposit": str,
    "recording": dict,
    "sm3": str,
}
_FIELDS = frozenset(_REQUIRED) | frozenset(_OPTIONAL)


def _fail(message: str, field: str | None = None, **details: Any) -> NoReturn:
    if field is not None:
        details["field"] = field
    raise StatementError(message, **details)


#: RFC 8785 §3.2.2.3: integers are written as I-JSON numbers, exact only within +-(2**53 - 1).
_SAFE_INT = 2**53 - 1
_PLAIN_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                                allow_nan=False).encode


def _plain(obj: Any) -> bool:
    """Whether ``obj`` is JSON whose RFC 8785 form the standard library writes byte for byte:
    only dicts with ASCII keys (UTF-16 order is then code point order), lists, tuples, strings
    (both escape exactly the quote, the backslash and the control characters, in the same
    spellings, and write the rest as UTF-8), booleans, None and integers within the safe
    range. No float, no subclass (an enum member goes through rfc8785)."""
    t = type(obj)
    if t is str or t is bool or obj is None:
        return True
    if t is int:
        return bool(-_SAFE_INT <= obj <= _SAFE_INT)
    if t is dict:
        for key, value in obj.items():
            if type(key) is not str or not key.isascii():
                return False
            v = type(value)
            if v is str or v is bool or value is None:
                continue
            if not _plain(value):
                return False
        return True
    if t is list or t is tuple:
        return all(_plain(v) for v in obj)
    return False


def canonical_json(obj: Any) -> bytes:
    """RFC 8785 canonical bytes of ``obj``. Raises :class:`StatementError` when ``obj``
    cannot be canonicalised (float NaN, integer beyond 2**53, lone surrogate...).

    Every signed document is canonicalised at least once per verification (tens of thousands
    in a large case bundle): plain JSON (:func:`_plain`) is written by the C encoder, which
    gives the same bytes (tests/unit/test_canonical_json.py compares the two on generated
    documents); anything else, and any string that is not UTF-8, goes through ``rfc8785``."""
    if _plain(obj):
        try:
            return _PLAIN_DUMPS(obj).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it below
    try:
        return bytes(rfc8785.dumps(obj))
    except rfc8785.CanonicalizationError as exc:
        _fail(f"The value cannot be written as canonical JSON: {exc}.", code="json_invalid")


def _reject_constant(name: str) -> NoReturn:
    _fail(f"JSON constant {name} is not allowed.", code="json_invalid")


def _reject_float(text: str) -> NoReturn:
    _fail(f"Non-integer number {text} is not allowed.", code="json_invalid")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            _fail(f"JSON object has the key '{key}' twice.", code="json_invalid", key=key)
        out[key] = value
    return out


_JSON_WS = " \t\n\r"


def parse_strict_json(data: bytes, *, max_bytes: int) -> Any:
    """Parse UTF-8 JSON strictly: size limit first, then no BOM or other encodings, no
    duplicate keys, no NaN/Infinity, no non-integer numbers, nothing but whitespace after
    the value. Raises :class:`StatementError`: ``statement_too_large``, ``json_invalid``,
    ``json_too_deep`` (nesting beyond :data:`~notary.core.jsonlimits.MAX_JSON_DEPTH`), or
    ``statement_not_canonical`` for trailing data."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("data must be bytes")
    if len(data) > max_bytes:
        _fail(
            f"The document is {len(data)} bytes; the limit is {max_bytes}.",
            code="statement_too_large",
            max_bytes=max_bytes,
        )
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail(f"The document is not valid UTF-8 ({exc.reason}).", code="json_invalid")
    try:
        check_depth(data)  # before the recursive parser: see notary.core.jsonlimits
    except InputError as exc:  # JsonTooDeep, or a UTF-16/32 document
        _fail(f"The document is not accepted: {exc.message}.", code=exc.code, **exc.details)
    decoder = json.JSONDecoder(
        object_pairs_hook=_no_duplicates,
        parse_constant=_reject_constant,
        parse_float=_reject_float,
    )
    start = len(text) - len(text.lstrip(_JSON_WS))
    try:
        value, end = decoder.raw_decode(text, start)
    except (ValueError, RecursionError) as exc:
        _fail(f"The document is not valid JSON: {exc}.", code="json_invalid")
    if text[end:].strip(_JSON_WS):
        _fail(
            f"The document has {len(text) - end} trailing characters after the JSON value.",
            code="statement_not_canonical",
        )
    return value


def _check_party(index: int, party: object) -> MappingProxyType[str, str]:
    field = f"parties[{index}]"
    if not isinstance(party, Mapping):
        _fail(f"Field '{field}' must be an object.", field)
    if not 1 <= len(party) <= MAX_PARTY_KEYS:
        _fail(f"Field '{field}' must have 1 to {MAX_PARTY_KEYS} entries.", field)
    for required in ("role", "name"):
        if required not in party:
            _fail(f"Field '{field}' must have a '{required}'.", field)
    clean: dict[str, str] = {}
    for key, value in party.items():
        if not isinstance(key, str) or _PARTY_KEY.fullmatch(key) is None:
            _fail(
                f"Field '{field}' has the key {key!r}; keys are lower-case words "
                "(a-z, 0-9, _; at most 32 characters).",
                field,
            )
        clean[key] = validate_text(f"{field}.{key}", value, 256, error=StatementError)
    return MappingProxyType(clean)


@dataclass(frozen=True, kw_only=True)
class Statement:
    """One evidence statement (format v1). Field names are the JSON names.

    Constructing a ``Statement`` validates every field, so an invalid statement can never
    be signed; :class:`StatementError` (``details["field"]``) says which field is wrong.
    ``parties`` is stored as a tuple of read-only mappings.
    """

    schema: str = STATEMENT_SCHEMA
    evidence_id: str
    case_id: str
    case_seq: int
    prev_statement: str | None = None
    kind: EvidenceKind
    media_type: str
    #: The Content-Type the client sent when notary recorded another ``media_type`` (read
    #: from the content because the client sent ``application/octet-stream``). Optional, so
    #: statements without it keep their bytes.
    media_type_sent: str | None = None
    size: int
    sha256: str
    file_name: str
    captured_at: str | None = None
    received_at: str
    submitter: str
    #: The tenant's legal name when the item was received (any script, e.g. 某某资产管理有限公司)
    #: and the name of the API key that submitted it (an agent's 工号, a dialer). Both are what
    #: the tenant told the deployment (claims, not verified identities). Optional, so
    #: statements without them keep their bytes.
    tenant_name: str | None = None
    submitter_name: str | None = None
    content_address: str | None = None
    description: str | None = None
    parties: Sequence[Mapping[str, str]] | None = None
    submitter_signature: str | None = None
    #: The call a call recording records (issue 16): times, direction, agent, campaign and
    #: the numbers as commitments (:mod:`notary.core.callrecord`). Optional, so statements
    #: without it keep their bytes; only a ``call_recording`` carries one.
    call: CallRecord | None = None
    #: ``"hash_only"`` (:data:`DEPOSIT_HASH_ONLY`) when only the file's SHA-256 and size
    #: were deposited: the service never saw the file, stores nothing of it, and its
    #: ``sha256``/``size`` are the depositor's word. Absent for a file deposit, so statements
    #: without it keep their bytes.
    deposit: str | None = None

    #: A recording notarised while it was made (issue 18): its segment layout, tree root and
    #: chain head (:mod:`notary.core.recording`). Optional, so statements without it keep
    #: their bytes; only a ``call_recording`` carries one.
    recording: RecordingLayout | None = None

    #: The file's SM3 digest (GB/T 32905), hex, beside ``sha256``, when the deployment
    #: computes it (``NOTARY_SM3``). Optional, so statements without it keep their bytes;
    #: a hash-only deposit has none (the service never saw the file).
    sm3: str | None = None

    @property
    def hash_only(self) -> bool:
        """True when the file was never seen by this service (only its hash was deposited)."""
        return self.deposit == DEPOSIT_HASH_ONLY

    def __post_init__(self) -> None:
        err = StatementError
        if self.schema != STATEMENT_SCHEMA:
            _fail(
                f"Field 'schema' must be '{STATEMENT_SCHEMA}', not {self.schema!r}.",
                "schema",
            )
        validate_identifier("evidence_id", self.evidence_id, 128, error=err)
        validate_identifier("case_id", self.case_id, 128, error=err)
        validate_int("case_seq", self.case_seq, minimum=1, error=err)
        if self.case_seq == 1:
            if self.prev_statement is not None:
                _fail(
                    "Field 'prev_statement' must be absent for the first statement of a case "
                    "(case_seq 1).",
                    "prev_statement",
                )
        else:
            if self.prev_statement is None:
                _fail(
                    f"Field 'prev_statement' is required when case_seq is {self.case_seq} "
                    "(it links to the case's previous statement).",
                    "prev_statement",
                )
            validate_hex_digest("prev_statement", self.prev_statement, error=err)
        try:
            kind = EvidenceKind(self.kind)
        except ValueError:
            allowed = ", ".join(k.value for k in EvidenceKind)
            _fail(f"Field 'kind' is {self.kind!r}; it must be one of: {allowed}.", "kind")
        object.__setattr__(self, "kind", kind)
        validate_media_type(self.media_type, error=err)
        if self.media_type_sent is not None:
            validate_media_type(self.media_type_sent, field="media_type_sent", error=err)
        validate_int("size", self.size, minimum=0, error=err)
        validate_hex_digest("sha256", self.sha256, error=err)
        validate_file_name(self.file_name, 255, error=err)
        if self.captured_at is not None:
            validate_rfc3339("captured_at", self.captured_at, error=err)
        validate_rfc3339("received_at", self.received_at, require_utc=True, error=err)
        validate_identifier("submitter", self.submitter, 256, error=err)
        if self.tenant_name is not None:
            validate_identifier("tenant_name", self.tenant_name, MAX_TENANT_NAME, error=err)
        if self.submitter_name is not None:
            validate_identifier("submitter_name", self.submitter_name, MAX_SUBMITTER_NAME,
                                error=err)
        if self.content_address is not None and (
            not isinstance(self.content_address, str)
            or _CID_V1_BASE32.fullmatch(self.content_address) is None
        ):
            _fail(
                "Field 'content_address' must be a CIDv1 in lower-case base32 "
                "(starting with 'b').",
                "content_address",
            )
        if self.description is not None:
            validate_text("description", self.description, 4096, multiline=True, error=err)
        if self.parties is not None:
            if isinstance(self.parties, (str, bytes, Mapping)) or not isinstance(
                self.parties, Sequence
            ):
                _fail("Field 'parties' must be a list of objects.", "parties")
            if not 1 <= len(self.parties) <= MAX_PARTIES:
                _fail(
                    f"Field 'parties' must have 1 to {MAX_PARTIES} entries (omit it if none).",
                    "parties",
                )
            frozen = tuple(_check_party(i, p) for i, p in enumerate(self.parties))
            object.__setattr__(self, "parties", frozen)
        if self.submitter_signature is not None:
            sig = validate_text(
                "submitter_signature", self.submitter_signature, MAX_SUBMITTER_SIGNATURE,
                error=err,
            )
            if _COMPACT_JWS.fullmatch(sig) is None:
                _fail("Field 'submitter_signature' must be a compact JWS.", "submitter_signature")
        if self.call is not None:
            if not isinstance(self.call, CallRecord):
                _fail("Field 'call' must be a call record.", "call")
            if kind is not EvidenceKind.CALL_RECORDING:
                _fail("Field 'call' is only for kind 'call_recording'.", "call")
        if self.deposit is not None:
            if self.deposit != DEPOSIT_HASH_ONLY:
                _fail(f"Field 'deposit' must be '{DEPOSIT_HASH_ONLY}' (or absent for a file "
                      "deposit).", "deposit")
            if self.content_address is not None:
                _fail("A hash-only statement has no 'content_address': nothing is stored.",
                      "content_address")
            if self.recording is not None:
                _fail("A hash-only statement has no 'recording': a recording is received "
                      "by the service.", "recording")
            if self.sm3 is not None:
                _fail("A hash-only statement has no 'sm3': the service never saw the file.",
                      "sm3")
        if self.sm3 is not None:
            validate_hex_digest("sm3", self.sm3, error=err, algorithm="SM3")
        if self.recording is not None:
            if not isinstance(self.recording, RecordingLayout):
                _fail("Field 'recording' must be a recording layout.", "recording")
            if kind is not EvidenceKind.CALL_RECORDING:
                _fail("Field 'recording' is only for kind 'call_recording'.", "recording")
        size = len(self._canonical)
        if size > MAX_STATEMENT_BYTES:
            _fail(
                f"The statement is {size} bytes; the limit is {MAX_STATEMENT_BYTES}.",
                code="statement_too_large",
            )

    def __hash__(self) -> int:
        return hash(self.canonical_bytes())

    def to_json(self) -> dict[str, Any]:
        """The statement as a JSON object; absent optional fields are omitted (not null)."""
        out: dict[str, Any] = {
            "schema": self.schema,
            "evidence_id": self.evidence_id,
            "case_id": self.case_id,
            "case_seq": self.case_seq,
            "kind": str(self.kind.value),
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "file_name": self.file_name,
            "received_at": self.received_at,
            "submitter": self.submitter,
        }
        optional: dict[str, Any] = {
            "prev_statement": self.prev_statement,
            "captured_at": self.captured_at,
            "content_address": self.content_address,
            "description": self.description,
            "parties": None if self.parties is None else [dict(p) for p in self.parties],
            "submitter_signature": self.submitter_signature,
            "media_type_sent": self.media_type_sent,
            "tenant_name": self.tenant_name,
            "submitter_name": self.submitter_name,
            "call": None if self.call is None else self.call.to_json(),
            "deposit": self.deposit,
            "recording": None if self.recording is None else self.recording.to_json(),
            "sm3": self.sm3,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out

    # Computed once: the statement is immutable (parties are read-only mappings).
    # cached_property writes to __dict__ directly, which a frozen dataclass permits.
    @cached_property
    def _canonical(self) -> bytes:
        return canonical_json(self.to_json())

    @cached_property
    def _digest(self) -> bytes:
        return hashlib.sha256(self._canonical).digest()

    def canonical_bytes(self) -> bytes:
        """The RFC 8785 canonical UTF-8 bytes: what is signed and hashed."""
        return self._canonical

    def digest(self) -> bytes:
        """SHA-256 of :meth:`canonical_bytes` (32 bytes): the statement's identity, the
        ``prev_statement`` of the next statement, and the leaf's record digest."""
        return self._digest

    def digest_hex(self) -> str:
        """:meth:`digest` as 64 lower-case hex characters."""
        return self.digest().hex()

    @classmethod
    def from_json(cls, obj: object) -> Statement:
        """Build a statement from a parsed JSON object, strictly.

        Rejects (with :class:`StatementError` naming the field): a non-object, unknown
        fields, missing required fields, ``null`` values (omit the field instead), wrong
        JSON types, and everything the constructor rejects.
        """
        if not isinstance(obj, Mapping):
            _fail("A statement must be a JSON object.")
        unknown = sorted(str(k) for k in obj if k not in _FIELDS)
        if unknown:
            _fail(
                f"Unknown field(s) in statement: {', '.join(unknown)}.",
                unknown[0],
                unknown=unknown,
            )
        for name, typ in (*_REQUIRED.items(), *_OPTIONAL.items()):
            if name not in obj:
                if name in _REQUIRED:
                    _fail(f"Field '{name}' is required.", name)
                continue
            value = obj[name]
            if value is None:
                _fail(f"Field '{name}' must not be null (omit it instead).", name)
            if typ is int:
                if isinstance(value, bool) or not isinstance(value, int):
                    _fail(f"Field '{name}' must be an integer.", name)
            elif not isinstance(value, typ):
                _fail(f"Field '{name}' must be a JSON {_json_type_name(typ)}.", name)
        return cls(
            schema=obj["schema"],
            evidence_id=obj["evidence_id"],
            case_id=obj["case_id"],
            case_seq=obj["case_seq"],
            prev_statement=obj.get("prev_statement"),
            kind=obj["kind"],
            media_type=obj["media_type"],
            media_type_sent=obj.get("media_type_sent"),
            size=obj["size"],
            sha256=obj["sha256"],
            file_name=obj["file_name"],
            captured_at=obj.get("captured_at"),
            received_at=obj["received_at"],
            submitter=obj["submitter"],
            tenant_name=obj.get("tenant_name"),
            submitter_name=obj.get("submitter_name"),
            content_address=obj.get("content_address"),
            description=obj.get("description"),
            parties=obj.get("parties"),
            submitter_signature=obj.get("submitter_signature"),
            call=CallRecord.from_json(obj["call"]) if "call" in obj else None,
            deposit=obj.get("deposit"),
            recording=RecordingLayout.from_json(obj["recording"]) if "recording" in obj
            else None,
            sm3=obj.get("sm3"),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Statement:
        """Parse statement bytes and require them to be exactly the canonical form.

        Raises :class:`StatementError`: ``statement_too_large`` (over
        :data:`MAX_STATEMENT_BYTES`, checked before parsing), ``json_invalid`` (not
        strict UTF-8 JSON), ``statement_invalid`` (see :meth:`from_json`) or
        ``statement_not_canonical`` (valid, but other bytes than RFC 8785 produces:
        whitespace, key order, escapes, trailing bytes). Accepting only one byte form means
        the signed bytes, the hashed bytes and the parsed statement always agree.
        """
        statement = cls.from_json(parse_strict_json(data, max_bytes=MAX_STATEMENT_BYTES))
        canonical = statement.canonical_bytes()
        if bytes(data) != canonical:
            raise StatementError(
                "The statement bytes are not in RFC 8785 canonical form.",
                code="statement_not_canonical",
            )
        return statement


def _json_type_name(typ: type) -> str:
    if typ is str:
        return "string"
    if typ is list:
        return "array"
    if typ is dict:
        return "object"
    return typ.__name__
