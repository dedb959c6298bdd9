"""Court certifications (format v1): a certification of records in English (Federal Rules of
Evidence 902(11) and 902(14), a declaration under 28 U.S.C. § 1746) and a 存证说明 in Chinese,
filled from the facts of a proof bundle, for a named qualified person to sign.

CONSENSUS-CRITICAL. A certification travels inside a proof bundle (``certification/``, see
docs/bundle-format.md §5.1) and may be signed, after the bundle was made, by the qualified
person's own key. The document fields, the detached signature and the rules below are the
format; change them only by adding a version next to this one. The declarations' wording is
carried in the document itself, so it may change without breaking certifications already made.

Pure, like the rest of :mod:`notary.core`: facts come in as arguments (the bundle's verified
statements and anchors, the person's public key), documents and checks come out.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final, Literal

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
    verify_detached_jws,
)
from .statement import Statement, canonical_json, parse_strict_json
from .validate import validate_rfc3339, validate_text
from .verdict import AnchorFacts, Check, CheckStatus

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
    "Block",
    "BundleSummary",
    "Certification",
    "CertifiedItem",
    "Declaration",
    "QualifiedPerson",
    "certification_limit",
    "check_certification",
    "read_certification",
    "sign_certification",
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

#: A certification of 1,000 items (the most a bundle holds) is about 1.5 MB.
MAX_CERTIFICATION_BYTES: Final = 4 * 1024 * 1024
_MAX_SIGNATURE_BYTES: Final = 4096
_MAX_PERSON_TEXT: Final = 200

#: How the facts were made, stated once for every certification of this version.
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

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP
_BEIJING = timezone(timedelta(hours=8))
#: Characters that would make Markdown of a value (a name, a file name) read as markup:
#: always ``\ ` * [ ] < > |``; ``_`` and ``~`` only at a word's edge (CommonMark ignores them
#: inside words, and ``ev_3f2c...`` stays readable).
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])|(?<![0-9A-Za-z])([_~])|([_~])(?![0-9A-Za-z])")
_DOCUMENT_FIELDS = frozenset({"schema", "bundle", "method", "items", "qualified_person",
                              "declarations"})
_BUNDLE_FIELDS = frozenset({"scope", "case_id", "created_at", "hashes_only"})
_ZH_FIELDS: Final = ("name_zh", "title_zh", "organisation_zh")
_PERSON_FIELDS = frozenset({"name", "title", "organisation", "public_key", "key_thumbprint",
                            *_ZH_FIELDS})
_JWK_FIELDS = frozenset({"kty", "crv", "x"})


def certification_limit(path: str) -> int | None:
    """The largest size a verifier reads into memory for a certification member, or None
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
    x}``) with which they will sign the certification.

    ``name_zh``, ``title_zh`` and ``organisation_zh`` are the same in Chinese, each optional:
    the 存证说明 uses them where given (a Chinese court reads 档案管理员, not "Records
    custodian"), and quotes the English value as a name where not."""

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

    def zh(self, field_name: str) -> str:
        """The person's ``name``, ``title`` or ``organisation`` for Chinese text: the Chinese
        value when given, else the English one in Chinese quotation marks, so that it reads
        as a quoted name inside a sentence (本人在“Huaxia Collections Ltd”担任……)."""
        chinese = getattr(self, f"{field_name}_zh")
        return chinese if chinese else f"“{getattr(self, field_name)}”"

    def zh_row(self, field_name: str) -> str:
        """The value for a Chinese signature or facts line, where no quotation is needed:
        the Chinese value followed by the English one, or the English one alone."""
        chinese, english = getattr(self, f"{field_name}_zh"), getattr(self, field_name)
        return f"{chinese}（{english}）" if chinese and chinese != english else english

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


def _beijing(text: str) -> str:
    """``text`` (RFC 3339) in Beijing time, or "" when Python cannot represent it."""
    try:
        return datetime.fromisoformat(text).astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, ValueError):  # a leap second, or beyond year 9999 in Beijing
        return ""


@dataclass(frozen=True)
class CertifiedItem:
    """One record as a certification states it: its verified statement (and the ``kid`` that
    signed it), its anchor, the number of custody events the bundle carries for it, its
    folder and, unless the bundle is hashes-only, where its copy is."""

    statement: Statement
    statement_kid: str
    anchor: AnchorFacts
    custody_events: int
    path: str
    original: str | None

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
                "block_time": _utc_seconds(a.block_timestamp),
            },
        }
        if s.captured_at is not None:
            out["captured_at"] = s.captured_at
        if self.original is not None:
            out["original"] = self.original
        return out


#: Statement kinds (formats §1.1) as the declarations name them; the value itself follows in
#: brackets, so a reader can match it with certification.json.
_KIND_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "call_recording": ("通话录音", "call recording"),
    "notice": ("催收通知", "collection notice"),
    "agreement": ("还款协议", "repayment agreement"),
    "other": ("其他电子数据", "other record"),
}
#: Media types said in words; others by their top-level type.
_MEDIA_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "application/pdf": ("PDF 文档", "PDF document"),
    "application/octet-stream": ("未识别格式的二进制数据", "binary data of unidentified format"),
    "audio/wav": ("WAV 音频", "WAV audio"),
    "audio/x-wav": ("WAV 音频", "WAV audio"),
    "audio/wave": ("WAV 音频", "WAV audio"),
    "audio/mpeg": ("MP3 音频", "MP3 audio"),
    "image/jpeg": ("JPEG 图像", "JPEG image"),
    "image/png": ("PNG 图像", "PNG image"),
    "text/plain": ("纯文本", "plain text"),
}
_MEDIA_FAMILIES: Final[Mapping[str, tuple[str, str]]] = {
    "audio": ("音频", "audio"), "video": ("视频", "video"), "image": ("图像", "image"),
    "text": ("文本", "text"),
}


def _kind_and_media(statement: Statement, language: str) -> str:
    """The record's kind and media type as a reader says them, each with the value the
    statement holds: 催收通知（notice）；application/pdf（PDF 文档）."""
    zh = language == "zh"
    kind = _KIND_WORDS.get(statement.kind.value, (statement.kind.value,) * 2)
    media = statement.media_type
    words = _MEDIA_WORDS.get(media.split(";")[0].strip().lower()) or _MEDIA_FAMILIES.get(
        media.split("/")[0].lower(), ("文件", "file"))
    if zh:
        return f"{kind[0]}（{statement.kind.value}）；{media}（{words[0]}）"
    return f"{kind[1]} ({statement.kind.value}); {media} ({words[1]})"


def _record_heading(position: int, item: CertifiedItem, language: str) -> str:
    """A schedule entry's heading: its number in this certification (1 to n, as "共 n 项"
    counts), with the record's number in its case when that differs (an export of one item,
    or of part of a case)."""
    seq = item.statement.case_seq
    if language == "zh":
        where = item.path if seq == position else f"本案第 {seq} 项，{item.path}"
        return f"第 {position} 项（{where}）"
    where = item.path if seq == position else f"entry {seq} of the case, {item.path}"
    return f"Record {position} ({where})"


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


# -- the declarations -------------------------------------------------------------------------


BlockKind = Literal["title", "heading", "paragraph", "numbered", "facts", "signature"]


@dataclass(frozen=True)
class Block:
    """One part of a declaration. ``text`` is plain text (the Markdown form escapes it);
    ``rows`` are ``(label, value)`` pairs: facts, or signature lines (an empty value is a blank
    to fill in by hand); ``number`` numbers a paragraph."""

    kind: BlockKind
    text: str = ""
    rows: tuple[tuple[str, str], ...] = ()
    number: str = ""


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def _stop(text: str) -> str:
    """``text`` ending a sentence: a full stop unless it has one (``Co., Ltd.``)."""
    return text if text.endswith(".") else text + "."


@dataclass(frozen=True)
class Declaration:
    """A declaration in one language: its body (ending with the signature blanks) and its
    schedule of records."""

    language: str
    body: tuple[Block, ...]
    schedule: tuple[Block, ...]

    def markdown(self) -> str:
        """The declaration as Markdown (CommonMark): what ``certification-*.md`` holds and
        ``certification.json`` carries."""
        lines: list[str] = []
        for block in (*self.body, *self.schedule):
            if block.kind == "title":
                lines += [f"# {_md(block.text)}", ""]
            elif block.kind == "heading":
                lines += [f"## {_md(block.text)}", ""]
            elif block.kind == "paragraph":
                lines += [_md(block.text), ""]
            elif block.kind == "numbered":
                lines += [f"{block.number} {_md(block.text)}", ""]
            elif block.kind == "facts":
                if block.text:
                    lines += [f"### {_md(block.text)}", ""]
                lines += ["| | |", "|---|---|"]
                lines += [f"| {_md(label)} | {_md(value)} |" for label, value in block.rows]
                lines.append("")
            else:  # signature lines, blanks to fill in
                colon = "：" if self.language == "zh" else ": "
                for label, value in block.rows:
                    lines += [f"{_md(label)}{colon}{_md(value) if value else '_' * 32}", ""]
        return "\n".join(lines)


def _count_en(n: int) -> str:
    return f"{n} record{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class Certification:
    """A certification of the records of one bundle, for one qualified person.

    Build it from the bundle's facts (:class:`BundleSummary`, the :class:`CertifiedItem` of
    every item in bundle order) and the person; :meth:`files` gives the documents to put in
    the bundle (the PDF is rendered from :attr:`english` and :attr:`chinese` elsewhere).
    """

    bundle: BundleSummary
    items: tuple[CertifiedItem, ...]
    person: QualifiedPerson

    def __post_init__(self) -> None:
        if not self.items:
            raise _invalid("A certification needs at least one record.")

    @property
    def english(self) -> Declaration:
        """Certification of records of regularly conducted activity (FRE 902(11), 803(6)) and
        of data copied from an electronic device, storage medium or file (FRE 902(14)), a
        declaration under penalty of perjury (28 U.S.C. § 1746(1))."""
        b, p, n = self.bundle, self.person, len(self.items)
        copies = (
            "This proof bundle holds the hash values, not copies of the records. The hash "
            "values in Schedule A were verified by this process of digital identification "
            "against the signed statements and the blockchain record; any copy of a record "
            "whose SHA-256 hash value equals the value in Schedule A is identical to the "
            "record received."
            if b.hashes_only else
            "The copy of each record in this proof bundle (its folder items/NNN/original/) "
            "was copied from the record received, and its SHA-256 hash value was verified, "
            "by this process of digital identification, to be identical to the hash value "
            "recorded when the record was received."
        )
        key = p.key_thumbprint
        body: tuple[Block, ...] = (
            Block("title", "Certification of Records of Regularly Conducted Activity and of "
                           "Data Copied from an Electronic Device, Storage Medium, or File"),
            Block("paragraph", "Federal Rules of Evidence 902(11), 902(14) and 803(6); "
                               "declaration under 28 U.S.C. § 1746."),
            Block("paragraph", f"Case: {b.case_id}. Proof bundle created by the notary "
                               f"service at {b.created_at}, holding {_count_en(n)}."),
            Block("paragraph", f"I, {p.name}, declare as follows:"),
            Block("numbered", f"I am {p.title} at {_stop(p.organisation)} By my position and "
                              "duties I am a custodian of the records described below or am "
                              "otherwise qualified to make this certification, and I am "
                              "familiar with how the notary evidence-notarisation service "
                              "receives, records and keeps them.", number="1."),
            Block("numbered", f"The records. The {_count_en(n)} listed in Schedule A are "
                              f"records of case {b.case_id}. For each record, Schedule A gives "
                              "its file name, size, SHA-256 hash value, the time the notary "
                              "service received it, the SHA-256 digest of the statement the "
                              "service signed about it, and the blockchain transaction, block "
                              "and block time that anchor that statement.", number="2."),
            Block("numbered", "Regularly conducted activity (Rule 803(6)(A)-(C)). Each record, "
                              "and the notary service's statement, receipt and custody events "
                              "about it, was made at or near the time of the act, event or "
                              "condition it records, by, or from information transmitted by, "
                              "someone with knowledge of it; it was kept in the course of a "
                              f"regularly conducted activity of {p.organisation}; and making "
                              "such records is a regular practice of that activity.",
                  number="3."),
            Block("numbered", "Process of digital identification (Rule 902(14)). When the "
                              "notary service received each record it computed the record's "
                              "SHA-256 hash value (FIPS 180-4) and recorded it in a statement "
                              "signed with an Ed25519 key (JWS, RFC 7515 and RFC 8037). The "
                              "statements were combined in a Merkle tree whose root was "
                              "recorded in a transaction on the blockchain named in Schedule A. "
                              + copies, number="4."),
            Block("numbered", "Integrity and custody. Because each statement is a leaf of a "
                              "Merkle tree whose root was recorded on the blockchain at the "
                              "block time shown, the statement and the hash value it records "
                              "existed no later than that time and have not been altered "
                              "since. Every act on each record since its receipt "
                              "(registration, storage, anchoring, access, export, transfer) is "
                              "recorded in a signed, hash-chained custody log; this bundle "
                              "carries each log as it stood when the bundle was created.",
                  number="5."),
            Block("numbered", "Anyone can repeat these verifications with the proof bundle "
                              "alone: with the command notary verify, or with the steps of the "
                              "bundle's VERIFY.md and standard tools (sha256sum, openssl, a "
                              "JOSE library and any node of the blockchain).", number="6."),
            *((Block("paragraph", "I may also sign this certification digitally: the detached "
                                  "JWS certification/certification.json.jws, made with the "
                                  f"Ed25519 key whose RFC 7638 thumbprint is {key}, over "
                                  "certification/certification.json, which holds this text."),)
              if key else ()),
            Block("paragraph", "I declare under penalty of perjury under the laws of the "
                               "United States of America that the foregoing is true and "
                               "correct."),
            Block("signature", rows=(
                ("Executed on (date)", ""),
                ("At (city, state or province, country)", ""),
                ("Signature", ""),
                ("Name", p.name),
                ("Title", p.title),
                ("Organisation", p.organisation),
                *((("Signature key (Ed25519, RFC 7638 thumbprint)", key),) if key else ()),
            )),
        )
        schedule: tuple[Block, ...] = (Block("heading", "Schedule A: the records"),)
        for position, item in enumerate(self.items, 1):
            schedule += (Block("facts", _record_heading(position, item, "en"),
                               rows=self._rows_en(item)),)
        return Declaration("en", body, schedule)

    @staticmethod
    def _rows_en(item: CertifiedItem) -> tuple[tuple[str, str], ...]:
        s, a = item.statement, item.anchor
        rows = [
            ("Evidence ID", s.evidence_id),
            ("File name", s.file_name),
            ("Kind, media type", _kind_and_media(s, "en")),
            ("Size", f"{s.size:,} bytes"),
            ("SHA-256 hash value", s.sha256),
            ("Received by notary (UTC)", s.received_at),
        ]
        if s.captured_at is not None:
            rows.append(("Captured at (as declared by the submitter)", s.captured_at))
        if item.original is not None:
            rows.append(("Copy in this bundle", item.original))
        rows += [
            ("Statement SHA-256", s.digest_hex()),
            ("Statement signing key", item.statement_kid),
            ("Merkle root", f"{to_hex32(a.root)} (batch {a.batch_id})"),
            ("Blockchain", f"chain id {a.chain_id}, contract {a.contract}"),
            ("Transaction", a.tx_hash),
            ("Block", f"{a.block_number} ({a.block_hash})"),
            ("Block time (UTC)", _utc_seconds(a.block_timestamp)),
            ("Custody events", str(item.custody_events)),
        ]
        return tuple(rows)

    @property
    def chinese(self) -> Declaration:
        """电子数据存证情况说明, citing 《最高人民法院关于互联网法院审理案件若干问题的规定》
        第十一条 and 《人民法院在线诉讼规则》第十六条至第十九条."""
        b, p, n = self.bundle, self.person, len(self.items)
        copies = (
            "本证据包仅含哈希值，不含电子数据副本。附表一所列哈希值已与经签名的存证声明及区块链记录"
            "核对一致；任何副本的 SHA-256 哈希值与附表一所列数值相同的，即与所接收的电子数据相同。"
            if b.hashes_only else
            "本证据包所附各项电子数据的副本（目录 items/NNN/original/）系从所接收的电子数据复制，"
            "经哈希值校验，其 SHA-256 哈希值与接收时记录的哈希值一致。"
        )
        key = p.key_thumbprint
        body: tuple[Block, ...] = (
            Block("title", "电子数据存证情况说明"),
            Block("paragraph", f"案件编号：{b.case_id}；证据包由 notary 存证服务生成于 "
                               f"{b.created_at}（北京时间 {_beijing(b.created_at)}）；"
                               f"所涉电子数据共 {n} 项。"),
            Block("paragraph", f"说明人{p.zh('name')}（{p.zh('organisation')}，{p.zh('title')}）"
                               "就下列电子数据的存证情况说明如下："),
            Block("numbered", f"说明人身份。本人在{p.zh('organisation')}担任{p.zh('title')}，"
                              "因职务熟悉下列电子数据的收集、存证与保管过程，有资格作出本说明。",
                  number="一、"),
            Block("numbered", f"存证对象。本说明所涉电子数据共 {n} 项，列于附表一，逐项载明证据"
                              "编号、文件名、文件大小、哈希值（SHA-256）、存证平台接收时间及存证"
                              "声明摘要。", number="二、"),
            Block("numbered", "存证方式。notary 电子数据存证服务在接收每项电子数据时计算其 "
                              "SHA-256 哈希值，写入存证声明，并以 Ed25519 电子签名固定（JWS，"
                              "RFC 7515、RFC 8037）；存证声明按批次构建默克尔树，树根通过区块链"
                              "交易写入区块链上的存证合约。", number="三、"),
            Block("numbered", "区块链存证情况。各项电子数据的哈希值、区块链存证时间（区块时间）、"
                              "交易哈希、区块高度、合约地址及链 ID 均载于附表一。", number="四、"),
            Block("numbered", "保管链。自接收时起，对每项电子数据的每一次操作（登记、存储、上链、"
                              "查看、导出、共享、移交）均记录为经签名、以哈希值前后相连的保管"
                              "事件；本证据包附有截至生成时的全部保管事件，其数量载于附表一。",
                  number="五、"),
            Block("numbered", "核验情况。" + copies + "存证声明的签名、默克尔证明与区块链记录均"
                              "经核验一致。任何人均可仅凭本证据包，使用 notary verify 命令或"
                              "包内 VERIFY.md 所列标准工具独立核验。", number="六、"),
            Block("numbered", "依据。根据《最高人民法院关于互联网法院审理案件若干问题的规定》"
                              "第十一条关于通过电子签名、可信时间戳、哈希值校验、区块链等技术"
                              "手段收集、固定和防篡改的电子数据真实性认定的规定，以及《人民法院"
                              "在线诉讼规则》第十六条至第十九条关于区块链存储电子数据的技术核验、"
                              "上链后未经篡改的认定及上链前数据真实性审查的规定，特作本说明。",
                  number="七、"),
            *((Block("paragraph", "本人亦可以电子方式签名：以 RFC 7638 指纹为 "
                                  f"{key} 的 Ed25519 密钥，对含本说明全文的 "
                                  "certification/certification.json 作分离式 JWS 签名，存为 "
                                  "certification/certification.json.jws。"),)
              if key else ()),
            Block("paragraph", "本人保证以上说明内容真实、准确、完整，如有不实，愿承担相应的"
                               "法律责任。"),
            Block("signature", rows=(
                ("说明人（签字）", ""),
                ("单位（盖章）", ""),
                ("姓名", p.zh_row("name")),
                ("职务", p.zh_row("title")),
                ("单位", p.zh_row("organisation")),
                *((("电子签名密钥（Ed25519，RFC 7638 指纹）", key),) if key else ()),
                ("日期", ""),
                ("地点", ""),
            )),
        )
        schedule: tuple[Block, ...] = (Block("heading", "附表一：电子数据存证清单"),)
        for position, item in enumerate(self.items, 1):
            schedule += (Block("facts", _record_heading(position, item, "zh"),
                               rows=self._rows_zh(item)),)
        return Declaration("zh", body, schedule)

    @staticmethod
    def _rows_zh(item: CertifiedItem) -> tuple[tuple[str, str], ...]:
        s, a = item.statement, item.anchor
        block_time = _utc_seconds(a.block_timestamp)
        rows = [
            ("证据编号", s.evidence_id),
            ("文件名", s.file_name),
            ("类型、媒体类型", _kind_and_media(s, "zh")),
            ("文件大小", f"{s.size:,} 字节"),
            ("哈希值（SHA-256）", s.sha256),
            ("存证平台接收时间", f"{s.received_at}（北京时间 {_beijing(s.received_at)}）"),
        ]
        if s.captured_at is not None:
            rows.append(("采集时间（提交方声明）", s.captured_at))
        if item.original is not None:
            rows.append(("本证据包内副本", item.original))
        rows += [
            ("存证声明摘要（SHA-256）", s.digest_hex()),
            ("存证声明签名密钥", item.statement_kid),
            ("默克尔根", f"{to_hex32(a.root)}（批次 {a.batch_id}）"),
            ("区块链", f"链 ID {a.chain_id}，存证合约 {a.contract}"),
            ("交易哈希", a.tx_hash),
            ("区块高度", f"{a.block_number}（区块哈希 {a.block_hash}）"),
            ("区块链存证时间", f"{block_time}（北京时间 {_beijing(block_time)}）"),
            ("保管事件数", str(item.custody_events)),
        ]
        return tuple(rows)

    def document(self) -> dict[str, Any]:
        """``certification.json``: the facts, the person, and the exact text of both
        declarations."""
        return {
            "schema": CERTIFICATION_SCHEMA,
            "bundle": self.bundle.to_json(),
            "method": dict(METHOD),
            "items": [item.to_json() for item in self.items],
            "qualified_person": self.person.to_json(),
            "declarations": {"en": self.english.markdown(), "zh": self.chinese.markdown()},
        }

    def files(self) -> dict[str, bytes]:
        """The certification's documents by bundle path, except the PDF: ``certification.json``
        (canonical JSON) and the two declarations (UTF-8 Markdown, exactly the text the JSON
        carries). Raises :class:`NotaryError` if the document is over its size limit."""
        document = self.document()
        data = canonical_json(document)
        if len(data) > MAX_CERTIFICATION_BYTES:
            raise NotaryError(f"The certification would be {len(data)} bytes; the limit is "
                              f"{MAX_CERTIFICATION_BYTES}.", code="certification_too_large")
        return {
            CERTIFICATION_PATH: data,
            CERTIFICATION_EN_PATH: document["declarations"]["en"].encode("utf-8"),
            CERTIFICATION_ZH_PATH: document["declarations"]["zh"].encode("utf-8"),
        }


# -- reading and signing ----------------------------------------------------------------------


def read_certification(data: bytes) -> dict[str, Any]:
    """Parse ``certification.json`` strictly: canonical JSON, schema v1, exactly the members
    of a certification, a valid qualified person (with the key's thumbprint recomputed).
    The items are compared with a bundle by :func:`check_certification`. Raises
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


def sign_certification(data: bytes, key: SigningKey, *, signed_at: datetime) -> str:
    """The qualified person's detached signature over ``certification.json`` (its exact
    bytes), to store as ``certification.json.jws``: a compact JWS with an empty payload part
    (RFC 7515 Appendix F), header ``{"alg": "EdDSA", "kid": <thumbprint>, "typ":
    CERTIFICATION_MEDIA_TYPE, "signed_at": <RFC 3339 UTC, the signer's clock>}``. Raises
    :class:`InputError` (``certification_invalid``) for a document that does not read, and
    :class:`NotaryError` (``certification_key_mismatch``) when ``key`` is not the key the
    certification names."""
    doc = read_certification(data)
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


# -- verification -----------------------------------------------------------------------------


def _differences(stated: Any, expected: Mapping[str, Any], where: str) -> list[str]:
    if not isinstance(stated, dict):
        return [f"{where} is not an object"]
    out = []
    for name in sorted(set(stated) | set(expected)):
        if stated.get(name) != expected.get(name):
            out.append(f"{where}.{name} is {stated.get(name)!r}, the bundle says "
                       f"{expected.get(name)!r}")
    return out


def _facts_check(doc: dict[str, Any], documents: Mapping[str, bytes],
                 names: Collection[str], items: Sequence[CertifiedItem] | None,
                 bundle: BundleSummary | None) -> Check:
    """certification: the facts are those of the bundle's verified items, and the two
    declarations are the texts the document carries and name every record."""
    problems: list[str] = []
    for path, language in ((CERTIFICATION_EN_PATH, "en"), (CERTIFICATION_ZH_PATH, "zh")):
        text = doc["declarations"][language]
        if path not in names:
            problems.append(f"{path} is missing")
        elif documents.get(path) != text.encode("utf-8"):
            problems.append(f"{path} is not the declaration ({language}) that "
                            f"{CERTIFICATION_PATH} carries")
        for item in doc["items"]:
            digest = item.get("sha256") if isinstance(item, dict) else None
            if not isinstance(digest, str) or digest not in text:
                problems.append(f"the {language} declaration does not name the record "
                                f"{digest!r}")
    if CERTIFICATION_PDF_PATH not in names:
        problems.append(f"{CERTIFICATION_PDF_PATH} is missing")
    if bundle is None or items is None:
        if problems:
            return Check("certification", _FAIL, "The certification is not consistent: "
                         + "; ".join(problems) + ".")
        return Check("certification", _SKIP, "The certification's facts could not be compared "
                     "with the bundle, because the manifest or a statement did not verify "
                     "(see above).")
    problems += _differences(doc["bundle"], bundle.to_json(), "bundle")
    stated_items = doc["items"]
    if len(stated_items) != len(items):
        problems.append(f"it lists {len(stated_items)} record(s), the bundle holds {len(items)}")
    for i, (stated, item) in enumerate(zip(stated_items, items, strict=False)):
        problems += _differences(stated, item.to_json(), f"items[{i}]")
    if problems:
        return Check("certification", _FAIL,
                     f"{CERTIFICATION_PATH} does not restate this bundle: "
                     + "; ".join(problems[:10]) + ".")
    p = doc["qualified_person"]
    return Check("certification", _PASS,
                 f"{CERTIFICATION_PATH} restates the bundle exactly: its {len(items)} record(s) "
                 "(evidence ids, file names, sizes, SHA-256 hash values, receipt times, "
                 "statement digests, anchors, custody event counts) are those of the verified "
                 f"items, and {CERTIFICATION_EN_PATH} and {CERTIFICATION_ZH_PATH} are the "
                 f"declarations it carries, for {p['name']}, {p['title']}, "
                 f"{_stop(p['organisation'])}")


def _signature_check(doc: dict[str, Any], data: bytes, token: bytes | None) -> Check:
    """certification_signature: the qualified person's detached JWS, if there is one, by the
    key the certification names."""
    person = doc["qualified_person"]
    if token is None:
        if "public_key" not in person:
            return Check("certification_signature", _SKIP,
                         f"{CERTIFICATION_PATH} is not signed by the qualified person: it names "
                         f"no key of {person['name']}, so it is to be printed "
                         f"({CERTIFICATION_PDF_PATH}) and signed by hand.")
        return Check("certification_signature", _SKIP,
                     f"{CERTIFICATION_PATH} is not signed by the qualified person (sign with "
                     f"notary certify sign): {person['name']} may sign it with the key "
                     f"{person['key_thumbprint']} it names.")
    if "public_key" not in person:
        return Check("certification_signature", _FAIL,
                     f"{CERTIFICATION_SIGNATURE_PATH} is there, but the certification names no "
                     "key of the qualified person to check it with.")
    try:
        header = verify_detached_jws(token.decode("ascii", "replace"), data,
                                     {"keys": [person["public_key"]]},
                                     expected_typ=CERTIFICATION_MEDIA_TYPE)
        signed_at = header.get("signed_at")
        validate_rfc3339("signed_at", signed_at, require_utc=True)
    except NotaryError as exc:
        return Check("certification_signature", _FAIL,
                     f"{CERTIFICATION_SIGNATURE_PATH} is not a valid signature of "
                     f"{CERTIFICATION_PATH} by {person['name']}'s key {person['key_thumbprint']}"
                     f" named in it. {exc.message}")
    return Check("certification_signature", _PASS,
                 f"{CERTIFICATION_PATH} is signed by the qualified person, {person['name']}, with "
                 f"the key {person['key_thumbprint']} it names: {CERTIFICATION_SIGNATURE_PATH} is "
                 f"a valid detached Ed25519 JWS of its exact bytes, made at {signed_at} by the "
                 "signer's clock (added after the bundle was made, so outside the manifest).")


def check_certification(
    documents: Mapping[str, bytes],
    names: Collection[str],
    *,
    items: Sequence[CertifiedItem] | None,
    bundle: BundleSummary | None,
) -> list[Check]:
    """The checks of a bundle's certification: ``certification`` (the document reads, its
    facts are those of ``items`` and ``bundle``, and both declarations are the texts it
    carries) and ``certification_signature`` (the qualified person's detached signature,
    skipped when there is none). ``documents`` are the bundle's read documents, ``names``
    all its member paths; ``items`` are the bundle's items as verified (None when some did
    not verify), ``bundle`` what its manifest says (None when unusable)."""
    data = documents.get(CERTIFICATION_PATH)
    token = documents.get(CERTIFICATION_SIGNATURE_PATH)
    if data is None:
        return [Check("certification", _FAIL,
                      f"The bundle has files under {CERTIFICATION_DIR}/ but no "
                      f"{CERTIFICATION_PATH}."),
                Check("certification_signature", _FAIL if token else _SKIP,
                      f"There is no {CERTIFICATION_PATH} to be signed.")]
    try:
        doc = read_certification(data)
    except NotaryError as exc:
        return [Check("certification", _FAIL,
                      f"{CERTIFICATION_PATH} is not a valid certification v1. {exc.message}"),
                Check("certification_signature", _FAIL if token else _SKIP,
                      f"Not checked, because {CERTIFICATION_PATH} is unreadable.")]
    return [_facts_check(doc, documents, names, items, bundle),
            _signature_check(doc, data, token)]
