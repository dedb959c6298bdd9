"""What a client asks to notarise: the ``metadata`` part, validated before a byte is stored.

The statement is the one place that validates its fields, so :func:`parse_metadata` builds a
probe statement from the metadata (with placeholder file facts) and fails on what the real one
would fail on; the service's own intake rules (case references, check codes, media types read
from the content) are stricter than the statement format and live here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from notary.checkcode import CheckCodeError, normalise_check_code
from notary.core.errors import InputError, StatementError
from notary.core.recording import RecordingLayout
from notary.core.statement import EvidenceKind, Statement, canonical_json, parse_strict_json
from notary.core.validate import (
    normalise_case_reference,
    validate_captured_at,
    validate_file_name,
    validate_media_type,
)
from notary.service.calls import DEFAULT_COUNTRY_CODE, CallDraft, parse_call

METADATA_FIELDS = frozenset(
    {"case_id", "kind", "captured_at", "description", "parties", "submitter_signature",
     "check_code", "distinct", "call"}
)
MAX_METADATA_BYTES = 64 * 1024
_PROBE_SHA = "0" * 64


class MetadataError(InputError):
    """The ``metadata`` part is missing, not JSON, or has a wrong field (``details.field``)."""

    default_code = "metadata_invalid"


@dataclass(frozen=True)
class Submission:
    """Validated metadata plus what the multipart part said about the file."""

    case_id: str
    kind: EvidenceKind
    captured_at: str | None = None
    description: str | None = None
    parties: tuple[dict[str, str], ...] | None = None
    submitter_signature: str | None = None
    #: The code printed on the notice (normalised), or None to have one made; never signed.
    check_code: str | None = None
    file_name: str = "upload.bin"
    media_type: str = "application/octet-stream"
    #: The file part's Content-Type exactly as sent (validated), or None when it sent none;
    #: ``media_type`` becomes the type read from the content when this says nothing useful.
    media_type_sent: str | None = None
    #: The client says this file is a distinct copy: file it even if the case already holds
    #: the same bytes (otherwise the existing item is the answer, ``duplicate_of``).
    distinct: bool = False
    #: The call record (issue 16) with the salts made for it; see notary.service.calls.
    call: CallDraft | None = None
    #: The layout of a recording notarised while it was made (issue 18); set only by
    #: notary.service.recording when a session closes, never by the metadata.
    recording: RecordingLayout | None = None

    def with_file(self, file_name: str | None, media_type: str | None) -> Submission:
        """This submission with the file part's name and type, each validated (InputError)."""
        name = file_name or "upload.bin"
        sent = media_type.strip() if media_type is not None and media_type.strip() else None
        mtype = sent or "application/octet-stream"
        try:
            validate_file_name(name, 255, error=InputError)
        except InputError as exc:
            raise InputError(exc.message, code="file_name_invalid", **exc.details) from None
        try:
            validate_media_type(mtype, error=InputError)
        except InputError as exc:
            raise InputError(exc.message, code="media_type_invalid", **exc.details) from None
        return replace(self, file_name=name, media_type=mtype, media_type_sent=sent)

    def with_content(self, head: bytes) -> Submission:
        """This submission with the media type read from the file's first bytes (or its
        name) when the client sent none or ``application/octet-stream``; the type as sent
        is kept in ``media_type_sent`` when it differs (see docs/formats.md)."""
        derived = derive_media_type(self.media_type, head, self.file_name)
        if derived == self.media_type:
            return replace(self, media_type_sent=None)
        return replace(self, media_type=derived)

    @property
    def may_be_duplicate(self) -> bool:
        """Whether the same bytes already in the case answer this submission. Not when the
        client says it is a distinct copy, nor when it brings what only a record of its own
        can carry: a submitter's signature made at capture, or a check code printed on a
        document other than the held one's (the held item's own code is the same request)."""
        return (not self.distinct and self.submitter_signature is None and self.call is None
                and self.recording is None)

    def fingerprint(self, sha256_hex: str) -> str:
        """What makes two requests "the same" for idempotency: file hash and all metadata."""
        doc: dict[str, Any] = {
            "sha256": sha256_hex, "case_id": self.case_id, "kind": self.kind.value,
            "captured_at": self.captured_at, "description": self.description,
            "parties": list(self.parties) if self.parties else None,
            "submitter_signature": self.submitter_signature,
            "file_name": self.file_name, "media_type": self.media_type,
        }
        if self.check_code is not None:  # only then: earlier fingerprints stay the same
            doc["check_code"] = self.check_code
        if self.distinct:
            doc["distinct"] = True
        if self.call is not None:
            doc["call"] = self.call.fingerprint()
        return hashlib.sha256(canonical_json(doc)).hexdigest()


def check_fields(obj: object, what: str, *, allowed: frozenset[str],
                 required: Sequence[str]) -> dict[str, Any]:
    """``obj`` as a JSON object with no field outside ``allowed`` and every one of
    ``required``; MetadataError (``metadata_invalid``) naming the first field at fault. An
    unknown name is quoted with JSON escapes, so whatever it holds can be echoed."""
    if not isinstance(obj, dict):
        raise MetadataError(f"{what} must be a JSON object")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        names = ", ".join(json.dumps(name) for name in unknown)
        raise MetadataError(f"{what} has unknown field(s): {names}",
                            field=json.dumps(unknown[0])[1:-1])
    for name in required:
        if name not in obj:
            raise MetadataError(f"{what} needs '{name}'", field=name)
    return obj


def parse_kind(value: object) -> EvidenceKind:
    """An evidence kind by its name; MetadataError ``kind_unknown`` naming the others."""
    if not isinstance(value, str) or value not in {k.value for k in EvidenceKind}:
        allowed = ", ".join(k.value for k in EvidenceKind)
        raise MetadataError(f"unknown kind {value!r}; use one of: {allowed}",
                            code="kind_unknown", field="kind")
    return EvidenceKind(value)


def parse_parties(value: object) -> tuple[Any, ...] | None:
    """The parties as a tuple (each checked by the statement), or None when absent."""
    if value is not None and not isinstance(value, list):
        raise MetadataError("Field 'parties' must be a list of objects.", field="parties")
    return tuple(value) if value is not None else None


def parse_metadata(raw: bytes | None, *,
                   country_code: str = DEFAULT_COUNTRY_CODE) -> Submission:
    """Parse and validate the metadata JSON exactly as the statement will validate it.

    Raises MetadataError (code ``metadata_missing``, ``metadata_invalid`` or ``kind_unknown``)
    with ``details.field`` naming the field, before a single byte of the file is stored.
    """
    if raw is None:
        raise MetadataError("the form needs a 'metadata' part (a JSON object)",
                            code="metadata_missing")
    try:
        obj = parse_strict_json(raw, max_bytes=MAX_METADATA_BYTES)
    except StatementError as exc:
        raise MetadataError(f"metadata: {exc.message}", **exc.details) from None
    obj = check_fields(obj, "metadata", allowed=METADATA_FIELDS, required=("case_id", "kind"))
    kind = parse_kind(obj["kind"])
    case_id = _case_reference(obj["case_id"])
    sub = Submission(
        case_id=case_id,
        kind=kind,
        captured_at=obj.get("captured_at"),
        description=obj.get("description"),
        parties=parse_parties(obj.get("parties")),
        submitter_signature=obj.get("submitter_signature"),
        check_code=_check_code(obj.get("check_code")),
        distinct=_distinct(obj.get("distinct", False)),
        call=parse_call(obj["call"], kind, country_code) if "call" in obj else None,
    )
    # The statement is the one place that validates these fields: build a probe with
    # placeholder file facts so a bad field fails now, before the upload is read.
    try:
        statement_of(sub, evidence_id="ev_probe", case_seq=1, prev=None, sha256=_PROBE_SHA,
                   size=0, received_at="2000-01-01T00:00:00Z", submitter="probe", cid=None)
    except StatementError as exc:
        raise MetadataError(exc.message, **exc.details) from None
    if sub.captured_at is not None:  # a real date-time now; is it a plausible one?
        validate_captured_at(sub.captured_at, datetime.now(UTC), error=MetadataError)
    return sub


def _distinct(value: object) -> bool:
    if not isinstance(value, bool):
        raise MetadataError("Field 'distinct' must be true or false.", field="distinct")
    return value


#: What a file's extension says when its first bytes do not (formats without a signature).
_TYPE_BY_EXTENSION = {
    "txt": "text/plain", "csv": "text/csv", "json": "application/json", "xml": "application/xml",
    "htm": "text/html", "html": "text/html", "eml": "message/rfc822", "rtf": "application/rtf",
    "pdf": "application/pdf", "wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4",
    "amr": "audio/amr", "ogg": "audio/ogg", "opus": "audio/ogg", "flac": "audio/flac",
    "mp4": "video/mp4", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: filetype's names where a registered or common one exists.
_CANONICAL_TYPE = {"audio/x-wav": "audio/wav", "audio/x-flac": "audio/flac",
                   "audio/x-aac": "audio/aac", "audio/x-m4a": "audio/mp4"}
#: How much of the stream is kept in memory to read the type from (filetype reads ≤ 8 KiB).
SNIFF_BYTES = 8192


def derive_media_type(sent: str, head: bytes, file_name: str) -> str:
    """``sent`` unless it says nothing (``application/octet-stream``, any case and
    parameters); then the type the content's signature shows (PyPI ``filetype``), else the
    one its extension names, else ``sent``. The content wins over the name."""
    if sent.split(";")[0].strip().lower() != "application/octet-stream":
        return sent
    import filetype  # type: ignore[import-untyped]  # a maintained signature table; pure Python

    kind = filetype.guess(head) if head else None
    if kind is not None:
        return _CANONICAL_TYPE.get(kind.mime, kind.mime)
    _stem, dot, ext = file_name.rpartition(".")
    return _TYPE_BY_EXTENSION.get(ext.lower(), sent) if dot else sent


def _check_code(value: object) -> str | None:
    """The metadata's ``check_code`` in printed form, or None when absent. MetadataError
    (``check_code_invalid``) naming the field for anything that is not a check code."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MetadataError("Field 'check_code' must be a string such as XXXX-XXXX-XXXX.",
                            code="check_code_invalid", field="check_code")
    try:
        return normalise_check_code(value)
    except CheckCodeError as exc:
        raise MetadataError(f"Field 'check_code': {exc.message}", code=exc.code,
                            field="check_code", **exc.details) from None


def _case_reference(case_id: Any) -> Any:
    """This service's rule for new case references, stricter than statement format v1 (which
    compares code points and must not change): a case reference that looks like another one
    must be the same one (:func:`notary.core.validate.normalise_case_reference`: NFKC-folded,
    no invisible, path-unsafe or ASCII look-alike characters). A non-string is passed on for
    the statement's own validation to name. MetadataError (``case_id_invalid``)."""
    if not isinstance(case_id, str):
        return case_id
    return normalise_case_reference(case_id, error=MetadataError)


def statement_of(
    sub: Submission, *, evidence_id: str, case_seq: int, prev: str | None, sha256: str,
    size: int, received_at: str, submitter: str, cid: str | None,
    tenant_name: str | None = None, submitter_name: str | None = None,
    deposit: str | None = None, sm3: str | None = None,
) -> Statement:
    return Statement(
        evidence_id=evidence_id, case_id=sub.case_id, case_seq=case_seq, prev_statement=prev,
        kind=sub.kind, media_type=sub.media_type, media_type_sent=sub.media_type_sent,
        size=size, sha256=sha256,
        file_name=sub.file_name, captured_at=sub.captured_at, received_at=received_at,
        submitter=submitter, tenant_name=tenant_name, submitter_name=submitter_name,
        content_address=cid, description=sub.description,
        parties=list(sub.parties) if sub.parties else None,
        submitter_signature=sub.submitter_signature,
        call=sub.call.record if sub.call is not None else None, deposit=deposit,
        recording=sub.recording, sm3=sm3,
    )
