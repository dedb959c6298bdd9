"""The service's answers as the SDK (:mod:`notary.client`) types them: the fields a client acts
on. Plain ``TypedDict`` s, stdlib only, so that they can be imported anywhere."""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["Anchor", "CallProof", "Case", "CaseDetail", "CaseHead", "CasePage", "Checkpoint",
           "Conduct", "Delivery", "Evidence", "EvidencePage", "Hold", "RecordingSession",
           "Webhook"]


class Anchor(TypedDict, total=False):
    """Where an item's batch root is anchored (``anchor`` of an evidence item)."""

    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    block_timestamp: int


class Evidence(TypedDict, total=False):
    """An evidence item as the service answers it (POST and GET /v1/evidence); the fields a
    client acts on. ``duplicate_of`` is set when the case already held these bytes."""

    id: str
    sha256: str
    size: int
    status: str  # "pending" or "anchored"
    case_id: str
    case_seq: int
    received_at: str
    anchor_deadline: str
    statement: str
    receipt: str
    check_code: str | None
    duplicate_of: str | None
    cid: str | None  # None for a hash-only deposit: nothing of the file is stored
    deposit: str | None  # "hash_only": the file was never seen by the service
    anchor: Anchor | None
    shredded_at: str | None
    legal_hold: str | None


class HashDeposit(TypedDict, total=False):
    """One hash-only deposit (``POST /v1/evidence/hashes`` and ``/bulk``): the file's
    SHA-256 and size without the file. ``client_id`` makes it idempotent."""

    client_id: str
    case_id: str
    kind: str
    sha256: str
    size: int
    file_name: str
    media_type: str
    captured_at: str
    description: str
    parties: list[dict[str, str]]


class DepositError(TypedDict):
    code: str
    message: str
    details: dict[str, Any]


class DepositResult(TypedDict):
    """One item of a bulk answer: ``evidence`` (status 201, or 200 for a ``client_id`` sent
    before with the same content) or ``error`` (its own status)."""

    index: int
    client_id: str | None
    status: int
    evidence: Evidence | None
    error: DepositError | None


#: The most deposits the service takes per bulk request; :meth:`Client.deposit_hashes` splits.
MAX_BULK_ITEMS = 5000


class EvidencePage(TypedDict):
    """A page of ``GET /v1/evidence``: ``next_cursor`` is None on the last page."""

    items: list[Evidence]
    next_cursor: str | None


class CaseHead(TypedDict):
    """The case's last statement, which the next one links to."""

    case_seq: int
    statement_digest: str
    evidence_id: str | None


class Case(TypedDict):
    """A case the key's tenant holds (``GET /v1/cases``); ``counts`` holds total, pending,
    anchored, held (legal hold) and shredded."""

    case_id: str
    holder: str
    opened_by: str
    created_at: str
    closed_at: str | None
    counts: dict[str, int]
    head: CaseHead | None


class CasePage(TypedDict):
    cases: list[Case]
    next_cursor: str | None


class Hold(TypedDict):
    evidence_id: str
    case_seq: int
    reason: str


class CaseDetail(Case):
    """``GET /v1/cases/{id}``: the case, its legal holds and its first items (oldest first;
    ``iter_evidence(case=..., order="asc")`` goes on)."""

    holds: list[Hold]
    items: list[Evidence]
    items_next_cursor: str | None
    items_url: str


class Webhook(TypedDict):
    """A webhook endpoint; ``secret`` (``whsec_...``) only in the answer that made it."""

    id: str
    url: str
    events: list[str]
    description: str | None
    created_at: str
    secret: str | None


class Delivery(TypedDict):
    """One event for one endpoint: ``status`` pending, delivered, failed or cancelled."""

    id: str
    event_type: str
    status: str
    attempts: int
    created_at: str
    last_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: str | None
    delivered_at: str | None


class CallProof(TypedDict):
    """Whether a number is a recorded call's caller or callee (``matches``), with a proof
    per party (salt, commitment, and a shell command that recomputes it)."""

    evidence_id: str
    matches: list[str]
    salted: list[str]
    proofs: list[dict[str, str]]


class Conduct(TypedDict):
    """A signed conduct report: ``report`` (its RFC 8785 bytes are the payload of ``jws``)."""

    media_type: str
    report: dict[str, Any]
    jws: str


class RecordingSession(TypedDict):
    """A recording notarised while made (docs/recording.md): ``status`` open, closing,
    closed, incomplete, abandoned, failed or discarded; ``evidence_id`` once closed."""

    session_id: str
    case_id: str
    status: str
    segments: int
    chain_head: str
    sample_rate: int
    channels: int
    evidence_id: str | None


class Checkpoint(TypedDict):
    """The signed answer to one segment: ``checkpoint`` (a compact JWS) and what it signs."""

    checkpoint: str
    session_id: str
    segment: int
    sha256: str
    size: int
    leaf: str
    chain_head: str
    received_at: str
