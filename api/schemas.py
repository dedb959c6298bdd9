"""Public response shapes. Table models never leave the service; these do."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, Field

from notary.core.errors import InputError
from notary.core.merkle import to_hex32
from notary.core.signing import jws_payload
from notary.core.statement import Statement
from notary.core.validate import format_rfc3339_utc, normalise_case_reference
from notary.core.verdict import AnchorFacts, Verdict
from notary.service.deposits import Deposited
from notary.service.documentcheck import DocumentCheck
from notary.service.notary import utc
from storage.db import Batch, Evidence, SupersededAnchor


def _case_reference(value: str) -> str:
    """The same rule as at submission, so a route finds the case a submission filed
    (raises InputError ``case_id_invalid``, answered 422)."""
    try:
        return normalise_case_reference(value)
    except InputError as exc:
        raise InputError(exc.message, code="case_id_invalid", **exc.details) from None


#: The one path parameter type of every ``/v1/cases/{case_id}/...`` route: one segment (never
#: ``{case_id:path}``), normalised like a submitted case reference.
CaseId = Annotated[str, Path(min_length=1, max_length=128, description="the case reference"),
                   AfterValidator(_case_reference)]


class ErrorOut(BaseModel):
    code: str = Field(description="machine-readable reason, stable across versions")
    message: str = Field(description="what went wrong, for a person")
    details: dict[str, Any] = Field(default_factory=dict)


class AnchorOut(BaseModel):
    chain_id: int
    contract: str
    batch_id: int
    root: str
    tx_hash: str
    block_number: int
    block_hash: str
    block_timestamp: int

    @classmethod
    def of(cls, a: AnchorFacts) -> AnchorOut:
        return cls(chain_id=a.chain_id, contract=a.contract, batch_id=a.batch_id,
                   root=to_hex32(a.root), tx_hash=a.tx_hash, block_number=a.block_number,
                   block_hash=a.block_hash, block_timestamp=a.block_timestamp)


class EvidenceCreated(BaseModel):
    id: str
    sha256: str
    size: int
    cid: str | None = Field(description="IPFS CIDv1 of the stored (encrypted) bytes; null "
                            "for a hash-only deposit, whose file this service never saw")
    deposit: Literal["hash_only"] | None = Field(
        default=None, description="\"hash_only\" when only the file's SHA-256 and size were "
        "deposited (the file was never seen by this service); absent for a file")
    status: Literal["pending", "anchored"]
    case_id: str
    case_seq: int
    received_at: str
    anchor_deadline: str = Field(description="the service promises to anchor by this time")
    statement: str = Field(description="the signed statement, a compact JWS (EdDSA)")
    receipt: str = Field(description="the signed receipt: statement digest and deadline (JWS)")
    check_code: str | None = Field(description="the code to print on the notice, XXXX-XXXX-"
                                   "XXXX: the recipient checks the document with it at /verify "
                                   "(docs/debtor-check.md); null for items notarised before "
                                   "codes existed")
    duplicate_of: str | None = Field(default=None, description="set (to this item's id) when "
                                     "the case already held a file with this SHA-256: nothing "
                                     "new was recorded and the answer is 200; send metadata "
                                     "\"distinct\": true to file a second copy")

    @classmethod
    def of(cls, e: Evidence | Deposited) -> EvidenceCreated:
        return cls(id=e.id, sha256=e.sha256, size=e.size, cid=e.cid or None,
                   deposit="hash_only" if e.hash_only else None,
                   status=e.status,  # type: ignore[arg-type]
                   case_id=e.case_id, case_seq=e.case_seq,
                   received_at=format_rfc3339_utc(utc(e.received_at)),
                   anchor_deadline=format_rfc3339_utc(utc(e.anchor_deadline)),
                   statement=e.statement_jws, receipt=e.receipt_jws, check_code=e.check_code)


class SupersededOut(BaseModel):
    """An anchor the chain no longer has; proofs that cite it must use the current anchor."""

    chain_id: int
    contract: str
    batch_id: int
    tx_hash: str
    block_number: int
    block_hash: str
    block_timestamp: int
    detected_at: str
    reason: str

    @classmethod
    def of(cls, a: SupersededAnchor) -> SupersededOut:
        return cls(chain_id=a.chain_id, contract=a.contract, batch_id=a.onchain_batch_id,
                   tx_hash=a.tx_hash, block_number=a.block_number, block_hash=a.block_hash,
                   block_timestamp=a.block_timestamp,
                   detected_at=format_rfc3339_utc(utc(a.detected_at)), reason=a.reason)


class EvidenceOut(EvidenceCreated):
    statement_json: dict[str, Any] = Field(description="the statement's payload, decoded")
    anchor: AnchorOut | None = None
    superseded_anchors: list[SupersededOut] = Field(
        default_factory=list, description="earlier anchors of this item that the chain lost")
    shredded_at: datetime | None = Field(
        default=None, description="when the content was crypto-shredded (statement and proofs "
        "remain; GET .../deletion-certificate)")
    legal_hold: str | None = Field(default=None, description="the reason of the legal hold "
                                   "that blocks shredding, when one is set")

    @classmethod
    def full(cls, e: Evidence, anchor: AnchorFacts | None,
             superseded: list[SupersededAnchor] | None = None) -> EvidenceOut:
        """The stored item as its owner sees it. Its statement is the one this service signed
        and verified when it was received: read back, not verified again on every GET."""
        base = EvidenceCreated.of(e).model_dump()
        payload = Statement.from_bytes(jws_payload(e.statement_jws)).to_json()
        return cls(**base, statement_json=payload, anchor=AnchorOut.of(anchor) if anchor else None,
                   superseded_anchors=[SupersededOut.of(a) for a in superseded or []],
                   shredded_at=e.shredded_at, legal_hold=e.hold_reason)


class TimestampOut(BaseModel):
    """An RFC 3161 timestamp of the batch's Merkle root by a time-stamping authority."""

    tsa_url: str
    gen_time: str = Field(description="the TSA's genTime (RFC 3339 UTC)")
    token: str = Field(description="the TSA's whole TimeStampResp (RFC 3161), DER, base64; its "
                       "message imprint is SHA-256 over the root's 32 bytes (`openssl ts "
                       "-verify -data ROOT.bin -in TOKEN.tsr`)")

    @classmethod
    def of(cls, batch: Batch | None) -> TimestampOut | None:
        if batch is None or batch.tsa_token is None or batch.tsa_time is None:
            return None
        return cls(tsa_url=batch.tsa_url or "", gen_time=format_rfc3339_utc(utc(batch.tsa_time)),
                   token=batch.tsa_token)


class ProofOut(BaseModel):
    evidence_id: str
    leaf_encoding: list[str] = Field(default=["uint8", "bytes32", "bytes32"])
    leaf_values: list[str | int] = Field(
        description="[leaf type 1 = statement, file sha256, statement sha256] (0x-hex)")
    leaf: str
    proof: list[str]
    root: str
    anchor: AnchorOut
    superseded_anchors: list[SupersededOut] = Field(
        default_factory=list, description="earlier anchors of this proof that the chain lost: "
        "a copy of this proof citing one of them must be replaced by this one")
    timestamp: TimestampOut | None = Field(
        default=None, description="the root's RFC 3161 timestamp, when a TSA is configured "
        "(NOTARY_TSA_URL) and has answered; null until then")


class CheckOut(BaseModel):
    name: str
    status: Literal["pass", "fail", "skip"]
    reason: str


class VerdictOut(BaseModel):
    result: Literal["valid", "invalid", "unknown", "not_established"] = Field(
        description="a bundle is checked against this deployment's trust root: any failed "
        "check is invalid; a question that could not be answered is unknown "
        "(docs/bundle-format.md §6)")
    qualified: bool = Field(description="valid, but some checks were skipped (see them)")
    answers: list[dict[str, Any]] = Field(
        default_factory=list, description="a bundle: the five questions (integrity, "
        "existence_time, issuer, completeness, custody), and neutrality when the bundle "
        "carries the transparency log's part or the trust root names a log, each "
        "pass/fail/unknown with its reason in Chinese and English; the issuer names the "
        "operator, tenants and submitters, neutrality the witnesses that cosigned")
    this_service: dict[str, Any] | None = Field(
        default=None, description="a bundle: whether this service notarised it "
        "(notarised_here), and if not which parts are not ours (a key, the registry, the "
        "chain...), with the reason in both languages; null when it could not be told")
    file_compared: bool | None = Field(
        default=None, description="a hash check: false when only a SHA-256 was sent (the "
        "file itself was not compared, only its hash was looked up), true when the file was "
        "sent and hashed here; null for a bundle")
    checks: list[CheckOut]
    facts: dict[str, Any] = Field(default_factory=dict,
                                  description="public facts: when received and anchored")

    @classmethod
    def of(cls, v: Verdict, facts: dict[str, Any] | None = None, *,
           file_compared: bool | None = None) -> VerdictOut:
        data = v.to_json()
        return cls(result=data["result"], qualified=data["qualified"],
                   checks=[CheckOut(**c) for c in data["checks"]], facts=facts or {},
                   file_compared=file_compared)

    @classmethod
    def of_report(cls, report: dict[str, Any],
                  this_service: dict[str, Any] | None = None) -> VerdictOut:
        """A bundle's report (``BundleVerification.to_json()``) as the API answers it."""
        return cls(result=report["result"], qualified=report["qualified"],
                   answers=list(report.get("answers") or []), this_service=this_service,
                   checks=[CheckOut(**c) for c in report["checks"]],
                   facts=report.get("facts") or {})


class CheckCodeOut(BaseModel):
    check_code: str = Field(description="a fresh random code, XXXX-XXXX-XXXX, to print on a "
                            "notice and then send as the metadata's check_code when it is "
                            "notarised; nothing is reserved or stored")


class OperatorOut(BaseModel):
    name: str = Field(description="the operator's legal name, any script")
    registration: str | None = Field(description="its registration number (e.g. 统一社会信用代码)")
    country: str | None = Field(description="ISO 3166-1 alpha-2")
    url: str | None = None


class IssuerOut(BaseModel):
    """Who notarised the document: the operator from the signed trust root (with its
    fingerprint, to compare with the one filed with the court), and the tenant's and the
    submitter's names as the signed statement states them (the tenant's own claims)."""

    operator: OperatorOut
    trust_root_fingerprint: str | None = Field(description="null while the trust root cannot "
                                               "be made (the chain does not answer)")
    development: bool = Field(description="a development deployment or chain")
    local_chain: bool = Field(description="anchored on a local development chain that nobody "
                              "else can query")
    chain_id: int | None = None
    public_url: str | None = None
    tenant_name: str | None = Field(description="the tenant's legal name; stated by the tenant, "
                                    "not verified by notary (null for older statements)")
    submitter_name: str | None = Field(description="the name of the key that submitted it; "
                                       "stated by the tenant, not verified by notary")
    claims: dict[str, str] = Field(description="zh/en: which of these facts are claims")
    claim_note: dict[str, str] = Field(description="zh/en: the words that mark a claim")


class DocumentCheckOut(BaseModel):
    """The public answer about a document a person received. Exactly these fields: never the
    case, kind, file name, parties, description, custody or evidence id. ``issuer`` names the
    operator and the tenant (agency) that had it notarised (issue 14)."""

    notarised: Literal[True] = Field(description="a document matched (otherwise 404)")
    sha256: str = Field(description="SHA-256 of the notarised document, hex")
    received_at: str = Field(description="when the notary received it (RFC 3339, UTC)")
    anchored: bool = Field(description="whether its batch is anchored on the blockchain")
    anchored_at: str | None = Field(description="the anchoring block's time (RFC 3339, UTC)")
    unaltered: bool | None = Field(description="whether the file sent is the notarised one "
                                   "(SHA-256 equality); null when only a code was sent")
    removed_at: str | None = Field(description="when its content was removed under data-"
                                   "protection rules; it was notarised and unaltered until "
                                   "then (null if it was not removed)")
    issuer: IssuerOut = Field(description="who operated, for which tenant, submitted by whom")

    @classmethod
    def of(cls, c: DocumentCheck, issuer: dict[str, Any]) -> DocumentCheckOut:
        def when(moment: datetime | None) -> str | None:
            return format_rfc3339_utc(moment) if moment is not None else None

        return cls(notarised=True, sha256=c.sha256, received_at=format_rfc3339_utc(c.received_at),
                   anchored=c.anchored_at is not None, anchored_at=when(c.anchored_at),
                   unaltered=c.unaltered, removed_at=when(c.removed_at),
                   issuer=IssuerOut(**issuer))


class HashQuery(BaseModel):
    model_config = {"extra": "forbid"}
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the file, hex")


class KeysOut(BaseModel):
    keys: list[dict[str, Any]]
    chain_id: int | None
    contract: str | None
    trust_root_fingerprint: str | None = Field(
        default=None, description="fingerprint of /.well-known/notary-trust-root.json; null "
        "while the chain cannot be asked")


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)



_TEXT = {"type": "string", "minLength": 1}
#: The JSON in a submission's ``metadata`` part, for the OpenAPI document only: the service
#: parses the part strictly itself (no duplicate keys, no floats, the statement format v1 rules
#: on characters) and answers 422 ``metadata_invalid`` (``details.field``) or ``kind_unknown``.
METADATA_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["case_id", "kind"],
    "properties": {
        "case_id": {**_TEXT, "maxLength": 128, "description": "the case reference, recorded "
                    "in Unicode NFKC form (full-width letters as ASCII); no '/', '\\', '?', "
                    "'#', '%', control, invisible or default-ignorable characters, no non-ASCII "
                    "look-alike of an ASCII character (TR39), no leading or trailing space "
                    "(422 case_id_invalid)"},
        "kind": {"type": "string", "enum": ["call_recording", "notice", "agreement", "other"]},
        "captured_at": {"type": "string", "format": "date-time",
                        "description": "RFC 3339, e.g. 2026-11-28T09:30:00+08:00; from "
                        "1990-01-01T00:00:00Z to 5 minutes after receipt, offset within "
                        "±14:00 (422 captured_at_out_of_range)"},
        "distinct": {"type": "boolean", "default": False, "description": "file this upload "
                     "even if the case already holds a file with the same SHA-256 (otherwise "
                     "that item is the answer: 200, duplicate_of)"},
        "description": {**_TEXT, "maxLength": 4096},
        "parties": {"type": "array", "minItems": 1, "maxItems": 32, "items": {
            "type": "object", "required": ["role", "name"], "minProperties": 2,
            "maxProperties": 8, "additionalProperties": {**_TEXT, "maxLength": 256},
            "propertyNames": {"pattern": "^[a-z0-9_]{1,32}$"}}},
        "submitter_signature": {**_TEXT, "maxLength": 16384},
        "check_code": {"type": "string", "maxLength": 64, "examples": ["7K3M-9QXD-2HFA"],
                       "description": "the check code already printed on the document (from "
                                      "POST /v1/check-codes); one is made when absent. Not "
                                      "part of the signed statement; 409 check_code_taken if "
                                      "another document has it"},
        "call": {"type": "object", "additionalProperties": False,
                 "required": ["started_at", "ended_at", "timezone", "direction", "agent_id",
                              "caller", "callee"],
                 "description": "only for kind call_recording: the call record (docs/calls.md);"
                                " caller and callee are phone numbers (committed with a salt "
                                "the service keeps) or commitments {alg, value} (422 "
                                "call_invalid, call_kind_mismatch, call_number_invalid)",
                 "properties": {
                     "started_at": {"type": "string", "format": "date-time"},
                     "ended_at": {"type": "string", "format": "date-time"},
                     "timezone": {"type": "string", "examples": ["Asia/Shanghai"]},
                     "direction": {"type": "string", "enum": ["outbound", "inbound"]},
                     "agent_id": {**_TEXT, "maxLength": 64},
                     "campaign": {**_TEXT, "maxLength": 128},
                     "caller": {"type": ["string", "object"]},
                     "callee": {"type": ["string", "object"]}}},
    },
}
