"""Generate the golden vectors of every signed document but the statement and the trust root:

* ``tests/vectors/receipt.json``: receipts (notary.receipt/v1);
* ``tests/vectors/custody.json``: custody events (notary.custody/v1) and whole custody logs;
* ``tests/vectors/deletion.json``: deletion certificates (notary.deletion/v1);
* ``tests/vectors/certification.json``: a court certification (notary.certification/v1) and
  the qualified person's detached signature;
* ``tests/vectors/bundle/``: one whole small proof bundle (``valid.zip``, with its manifest and
  manifest signature beside it) and tampered copies, each ZIP named for the tampering, and
  ``vectors.json`` saying what each check of the verifier must answer.

Each file holds the valid documents (payload, canonical text, SHA-256, compact JWS) and
tampered ones, each named for the tampering, with what a verifier must answer. Run from the
repository root:

    .venv/bin/python tests/vectors/make_document_vectors.py

The output is committed and must never change for these format versions:
tests/unit/test_document_vectors.py and tests/unit/test_bundle_vectors.py check the code
against it byte for byte. The keys are derived from public labels; they are test keys, not
secrets. Everything is one synthetic case of two items: ``ev-0001`` (a call recording, whose
custody log the custody vectors use) and ``ev-0002`` (a notice, later shredded: the deletion
vectors use it).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notary.bundles.archive import BundleWriter
from notary.bundles.declaration import declaration_files
from notary.core.bundle import (
    BATCH_ANCHORED_TOPIC,
    MANIFEST_MEDIA_TYPE,
    BundleFacts,
    BundleItem,
    KeyPeriod,
    build_manifest,
    key_history,
)
from notary.core.custody import CUSTODY_MEDIA_TYPE, CustodyAct, CustodyEvent, event_leaf, sign_event
from notary.core.declaration import QualifiedPerson, sign_declaration
from notary.core.deletion import DELETION_MEDIA_TYPE, DeletionCertificate, sign_deletion
from notary.core.digest import digest_bytes
from notary.core.merkle import MerkleTree, statement_leaf, to_hex32
from notary.core.signing import (
    RECEIPT_MEDIA_TYPE,
    SigningKey,
    jwks,
    sign_detached,
    sign_receipt,
    sign_statement,
)
from notary.core.statement import STATEMENT_MEDIA_TYPE, EvidenceKind, Statement, canonical_json
from notary.core.verdict import AnchorFacts

HERE = Path(__file__).resolve().parent
BUNDLE_DIR = HERE / "bundle"


def key(label: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(label.encode("ascii")).digest())


#: The notary's key: the same public test key as tests/vectors/statement.json.
NOTARY_LABEL = "notary test vector key #1 (public, never use for real evidence)"
#: A key nobody trusts (the same as the trust root vectors' stranger).
STRANGER_LABEL = "somebody else's key (public)"
#: The qualified person who signs the certification.
PERSON_LABEL = "notary test vector qualified person key (public)"
NOTARY, STRANGER, PERSON = key(NOTARY_LABEL), key(STRANGER_LABEL), key(PERSON_LABEL)
JWKS = jwks([NOTARY.public_jwk()])

CASE_ID = "HX-2026-1128-ZW"
TENANT = "agency-a"
SUBMITTER = "apikey:k-17 (collector@agency-a)"
SERVICE = "notary-service"
ANCHOR_DEADLINE = "2026-11-30T12:00:00.000000Z"
CREATED = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
KEYS_VALID_FROM = "2026-11-01T00:00:00.000000Z"

#: The two originals (synthetic, small; their SHA-256 is what the statements record).
ORIGINALS = (
    ("call-2026-11-28-0930.wav", "call_recording", "audio/wav",
     b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(64)) + "催收电话录音 (test vector)".encode()),
    ("notice-2026-11-28.pdf", "notice", "application/pdf",
     b"%PDF-1.7\n% notary test vector: a notice\n%%EOF\n"),
)
VERIFY_MD = (b"# Test vector bundle\n\nA synthetic bundle of tests/vectors/bundle; not evidence.\n")


# -- the case ------------------------------------------------------------------------------


def statements() -> tuple[Statement, Statement]:
    out: list[Statement] = []
    for i, (name, kind, media, data) in enumerate(ORIGINALS, start=1):
        out.append(Statement(
            evidence_id=f"ev-000{i}", case_id=CASE_ID, case_seq=i,
            prev_statement=out[-1].digest_hex() if out else None, kind=EvidenceKind(kind),
            media_type=media,
            size=len(data), sha256=digest_bytes(data).hex, file_name=name,
            captured_at="2026-11-28T09:30:00+08:00" if i == 1 else None,
            received_at=f"2026-11-29T12:00:0{i}.000000Z", submitter=SUBMITTER))
    return out[0], out[1]


S1, S2 = statements()
LEAVES = [statement_leaf(s.digest(), bytes.fromhex(s.sha256)) for s in (S1, S2)]
TREE = MerkleTree.build(LEAVES)
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ANCHOR = AnchorFacts(chain_id=31337, contract=CONTRACT, batch_id=7, root=TREE.root,
                     block_number=12, block_hash="0x" + hashlib.sha256(b"block 12").hexdigest(),
                     block_timestamp=1796040300,  # 2026-11-29T12:05:00Z
                     tx_hash="0x" + hashlib.sha256(b"anchor tx of batch 7").hexdigest())


def issued_at(s: Statement) -> str:
    return s.received_at.replace(".000000Z", ".200000Z")


def receipt(s: Statement, signer: SigningKey = NOTARY) -> str:
    return sign_receipt(s.digest_hex(), s.evidence_id, ANCHOR_DEADLINE, issued_at(s), signer)


def raw_receipt(anchor: AnchorFacts) -> dict[str, Any]:
    """The anchoring transaction's receipt as an anvil node returns it."""
    return {
        "transactionHash": anchor.tx_hash, "blockHash": anchor.block_hash,
        "blockNumber": hex(anchor.block_number), "blockTimestamp": hex(anchor.block_timestamp),
        "status": "0x1", "to": anchor.contract.lower(), "contractAddress": None,
        "from": "0x" + hashlib.sha256(b"notary 1").hexdigest()[:40],
        "logs": [{"address": anchor.contract.lower(), "data": "0x" + "00" * 31 + "02" + "00" * 32,
                  "topics": [BATCH_ANCHORED_TOPIC, f"0x{anchor.batch_id:064x}",
                             to_hex32(anchor.root)], "removed": False}],
    }


def _anchored_detail() -> dict[str, str | int]:
    return {"chain_id": ANCHOR.chain_id, "contract": ANCHOR.contract, "batch_id": ANCHOR.batch_id,
            "tx_hash": ANCHOR.tx_hash, "block_number": ANCHOR.block_number,
            "root": to_hex32(ANCHOR.root)}


def _log(s: Statement, steps: Sequence[tuple[CustodyAct, str, str, dict[str, str | int]]]
         ) -> list[CustodyEvent]:
    events: list[CustodyEvent] = []
    for seq, (act, actor, at, detail) in enumerate(steps, start=1):
        events.append(CustodyEvent(evidence_id=s.evidence_id, seq=seq, act=act, actor=actor,
                                   tenant=TENANT, at=at, detail=detail,
                                   prev_event=events[-1].digest().hex() if events else None))
    return events


def _registered(s: Statement) -> tuple[CustodyAct, str, str, dict[str, str | int]]:
    return (CustodyAct.REGISTERED, SUBMITTER, s.received_at,
            {"statement_sha256": s.digest_hex(), "case_id": s.case_id, "case_seq": s.case_seq,
             "submitter_signature": "none"})


def _stored(s: Statement) -> tuple[CustodyAct, str, str, dict[str, str | int]]:
    cid = "bafkrei" + base64.b32encode(hashlib.sha256(s.sha256.encode()).digest()).decode()\
        .lower().rstrip("=")[:52]
    return (CustodyAct.STORED, SERVICE, s.received_at, {"cid": cid, "stored_bytes": s.size + 298})


CID2 = str(_stored(S2)[3]["cid"])
EVENTS1 = _log(S1, [
    _registered(S1), _stored(S1),
    (CustodyAct.ANCHORED, SERVICE, "2026-11-29T12:05:01.000000Z", _anchored_detail()),
    (CustodyAct.VIEWED, "apikey:k-03 (auditor@agency-a)", "2026-11-30T08:15:00.000000Z", {}),
    (CustodyAct.EXPORTED, "apikey:k-03 (auditor@agency-a)", "2026-12-01T09:00:00.000000Z",
     {"note": "case bundle"}),
])
SHRED_REASON = "purpose of processing ended (debt settled)"
EVENTS2 = _log(S2, [
    _registered(S2), _stored(S2),
    (CustodyAct.ANCHORED, SERVICE, "2026-11-29T12:05:01.000000Z", _anchored_detail()),
    (CustodyAct.SHREDDED, "apikey:k-01 (admin@agency-a)", "2026-11-30T10:00:00.000000Z",
     {"reason": SHRED_REASON, "destroyed": "item_key,stored_ciphertext", "cid": CID2,
      "legal_basis": "PIPL art. 47"}),
])
CUSTODY1 = tuple(sign_event(e, NOTARY) for e in EVENTS1)
CUSTODY2 = tuple(sign_event(e, NOTARY) for e in EVENTS2)

DELETION = DeletionCertificate(
    evidence_id=S2.evidence_id, file_sha256=S2.sha256, file_size=S2.size,
    statement_sha256=S2.digest_hex(), cid=CID2, case_id=S2.case_id, kind=S2.kind.value,
    received_at=S2.received_at, shredded_at=EVENTS2[3].at, actor=EVENTS2[3].actor, tenant=TENANT,
    reason=SHRED_REASON, legal_basis="PIPL art. 47",
    destroyed=("item_key", "stored_ciphertext"), custody_event_seq=4,
    custody_event_sha256=EVENTS2[3].digest().hex(),
    disclosed_before={"content_views": 0, "exports": 0, "key_exports": 0},
    anchor={"chain_id": ANCHOR.chain_id, "contract": ANCHOR.contract, "batch_id": ANCHOR.batch_id,
            "root": to_hex32(ANCHOR.root), "tx_hash": ANCHOR.tx_hash,
            "block_number": ANCHOR.block_number, "block_timestamp": ANCHOR.block_timestamp})

KEYS = key_history([(NOTARY.public_jwk(), KeyPeriod(NOTARY.kid, KEYS_VALID_FROM))])


def facts(signer: SigningKey = NOTARY) -> BundleFacts:
    """The case as an export sees it (every signature by ``signer``)."""
    items = []
    for s, leaf, custody in ((S1, LEAVES[0], EVENTS1), (S2, LEAVES[1], EVENTS2)):
        items.append(BundleItem(
            evidence_id=s.evidence_id, case_seq=s.case_seq, file_name=s.file_name,
            statement_jws=sign_statement(s, signer), receipt_jws=receipt(s, signer),
            proof=tuple(TREE.proof_for(leaf)), anchor=ANCHOR, raw_receipt=raw_receipt(ANCHOR),
            custody=tuple(sign_event(e, signer) for e in custody),
            deletion_jws=sign_deletion(DELETION, signer) if s is S2 else None))
    keys = KEYS if signer is NOTARY else key_history(
        [(signer.public_jwk(), KeyPeriod(signer.kid, KEYS_VALID_FROM))])
    # The committed vectors are a version 2 bundle (kept to prove v2 still verifies).
    return BundleFacts(scope="case", case_id=CASE_ID, created_at=CREATED, hashes_only=False,
                       items=tuple(items), keys=keys, version=2)


# -- helpers -------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def raw_jws(header: Mapping[str, Any], payload: bytes, signer: SigningKey | None) -> str:
    """A compact JWS with exactly ``header`` (compact JSON, in the given order), signed by
    ``signer`` over the usual signing input, or with an empty signature when None: for
    headers that SigningKey.sign refuses to write."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(payload)
    signature = b"" if signer is None else signer.private_key.sign(f"{head}.{body}".encode())
    return f"{head}.{body}.{b64url(signature)}"


def with_payload(token: str, payload: bytes) -> str:
    """``token`` with its payload replaced and its signature kept (so it no longer verifies)."""
    head, _, sig = token.split(".")
    return f"{head}.{b64url(payload)}.{sig}"


def payload_of(token: str) -> bytes:
    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def public_key_entry(k: SigningKey) -> dict[str, Any]:
    return {"seed": f"SHA-256 of the ASCII string {label_of(k)!r}", "public_jwk": k.public_jwk()}


def label_of(k: SigningKey) -> str:
    return {NOTARY.kid: NOTARY_LABEL, STRANGER.kid: STRANGER_LABEL, PERSON.kid: PERSON_LABEL}[k.kid]


def golden(name: str, doc: Mapping[str, Any], token: str) -> dict[str, Any]:
    canonical = canonical_json(dict(doc))
    assert payload_of(token) == canonical, name
    return {"name": name, "json": dict(doc), "canonical_text": canonical.decode("utf-8"),
            "sha256": hashlib.sha256(canonical).hexdigest(), "jws": token}


def rejected(name: str, description: str, token: str, expect: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": name, "description": description, "jws": token, "expect": dict(expect)}


def bad_signature(reason: str) -> dict[str, str]:
    return {"code": "signature_invalid", "reason": reason}


def _keys_block() -> dict[str, Any]:
    return {"notary": public_key_entry(NOTARY), "stranger": public_key_entry(STRANGER)}


def flag(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark the cases the code accepts although it arguably should not (their description
    says ACCEPTED and why): fixing one changes its expectation, never its bytes."""
    return [{**c, "accepted_today": True} if "ACCEPTED:" in c["description"] else c
            for c in cases]


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# -- receipts ------------------------------------------------------------------------------


def receipt_vectors() -> dict[str, Any]:
    token = receipt(S1)
    payload = json.loads(payload_of(token))
    signed = canonical_json(payload)

    def resigned(**changes: Any) -> str:
        return NOTARY.sign(canonical_json({**payload, **changes}), RECEIPT_MEDIA_TYPE)

    head = token.split(".")[0]
    rejects = [
        rejected("receipt-signed-by-unknown-key", "The same receipt, signed by a key that is "
                 "not in the key set.", receipt(S1, STRANGER), bad_signature("unknown_kid")),
        rejected("receipt-deadline-extended", "anchor_deadline moved a day later; the "
                 "signature is the original one.",
                 with_payload(token, canonical_json({**payload,
                                                     "anchor_deadline": "2026-12-01T12:00:00Z"})),
                 bad_signature("bad_signature")),
        rejected("receipt-for-another-statement", "statement_sha256 replaced by the digest of "
                 "ev-0002's statement; the signature is the original one.",
                 with_payload(token, canonical_json({**payload,
                                                     "statement_sha256": S2.digest_hex()})),
                 bad_signature("bad_signature")),
        rejected("receipt-typ-statement", "A validly signed statement JWS offered as a receipt.",
                 sign_statement(S1, NOTARY), bad_signature("wrong_typ")),
        rejected("receipt-payload-with-extra-field", "A signed receipt with an extra member "
                 "'anchored': true.", resigned(anchored=True), bad_signature("payload_invalid")),
        rejected("receipt-payload-not-canonical", "The receipt's members signed with a space "
                 "after every colon and comma.",
                 NOTARY.sign(json.dumps(payload, sort_keys=True).encode(), RECEIPT_MEDIA_TYPE),
                 bad_signature("payload_invalid")),
        rejected("receipt-deadline-not-utc", "anchor_deadline written with a +08:00 offset.",
                 resigned(anchor_deadline="2026-11-30T20:00:00+08:00"),
                 bad_signature("payload_invalid")),
        rejected("receipt-other-schema", "schema notary.receipt/v2.",
                 resigned(schema="notary.receipt/v2"), bad_signature("payload_invalid")),
        rejected("receipt-uppercase-statement-sha256", "statement_sha256 in upper-case hex.",
                 resigned(statement_sha256=S1.digest_hex().upper()),
                 bad_signature("payload_invalid")),
        rejected("receipt-alg-none", "Header alg 'none' and no signature.",
                 raw_jws({"alg": "none", "kid": NOTARY.kid, "typ": RECEIPT_MEDIA_TYPE}, signed,
                         None), bad_signature("alg_not_allowed")),
        rejected("receipt-alg-hs256", "Header alg HS256 (an HMAC keyed with the public key).",
                 raw_jws({"alg": "HS256", "kid": NOTARY.kid, "typ": RECEIPT_MEDIA_TYPE}, signed,
                         NOTARY), bad_signature("alg_not_allowed")),
        rejected("receipt-crit-header", "A 'crit' header parameter (an extension the verifier "
                 "would have to understand), validly signed.",
                 raw_jws({"alg": "EdDSA", "kid": NOTARY.kid, "typ": RECEIPT_MEDIA_TYPE,
                          "crit": ["exp"], "exp": 1}, signed, NOTARY),
                 bad_signature("header_invalid")),
        rejected("receipt-embedded-jwk", "The signer's own key embedded in the header ('jwk'), "
                 "kid of that stranger's key: a verifier must never take a key from the token.",
                 raw_jws({"alg": "EdDSA", "jwk": STRANGER.public_jwk(), "kid": STRANGER.kid,
                          "typ": RECEIPT_MEDIA_TYPE}, signed, STRANGER),
                 bad_signature("unknown_kid")),
        rejected("receipt-padded-base64", "The payload segment with '=' padding.",
                 f"{head}.{token.split('.')[1]}{'=' * (-len(token.split('.')[1]) % 4) or '=='}"
                 f".{token.split('.')[2]}", bad_signature("malformed_token")),
        rejected("receipt-detached", "The receipt with its payload left out (header..signature).",
                 f"{head}..{token.split('.')[2]}", bad_signature("bad_signature")),
    ]
    return {
        "description": "Receipt format v1 (notary.receipt/v1, JWS typ "
        f"{RECEIPT_MEDIA_TYPE}): the receipts of the two items of the vector case and "
        "tampered receipts, each named for the tampering, with the error a verifier must "
        "answer (notary.core.signing.verify_receipt against 'jwks'). Generated by "
        "tests/vectors/make_document_vectors.py; must never change.",
        "keys": _keys_block(),
        "jwks": JWKS,
        "statements": {s.evidence_id: {"canonical_text": s.canonical_bytes().decode("utf-8"),
                                       "sha256": s.digest_hex()} for s in (S1, S2)},
        "valid": [golden(f"receipt-of-{s.evidence_id}", json.loads(payload_of(receipt(s))),
                         receipt(s)) for s in (S1, S2)],
        "rejects": rejects,
    }


# -- custody -------------------------------------------------------------------------------


def custody_vectors() -> dict[str, Any]:
    tokens = list(CUSTODY1)
    first = EVENTS1[0]

    def signed(obj: Mapping[str, Any], signer: SigningKey = NOTARY,
               typ: str = CUSTODY_MEDIA_TYPE) -> str:
        return signer.sign(canonical_json(dict(obj)), typ)

    e1 = first.to_json()
    event_rejects = [
        rejected("event-signed-by-unknown-key", "Event 1 signed by a key not in the key set.",
                 sign_event(first, STRANGER), bad_signature("unknown_kid")),
        rejected("event-actor-changed", "Event 1's actor rewritten; the signature is the "
                 "original one.", with_payload(tokens[0], canonical_json(
                     {**e1, "actor": "apikey:k-99 (collector@agency-a)"})),
                 bad_signature("bad_signature")),
        rejected("event-typ-statement", "Event 1 signed with the statement's typ.",
                 signed(e1, typ=STATEMENT_MEDIA_TYPE), bad_signature("wrong_typ")),
        rejected("event-not-canonical", "Event 1 signed with its members in reverse order.",
                 NOTARY.sign(json.dumps(dict(reversed(list(e1.items()))), ensure_ascii=False,
                                        separators=(",", ":")).encode(), CUSTODY_MEDIA_TYPE),
                 {"code": "statement_not_canonical"}),
        rejected("event-unknown-field", "Event 1 with an extra member 'ip'.",
                 signed({**e1, "ip": "203.0.113.7"}),
                 {"code": "statement_invalid", "field": "ip"}),
        rejected("event-unknown-act", "act 'edited', which custody v1 does not know.",
                 signed({**e1, "act": "edited"}), {"code": "statement_invalid", "field": "act"}),
        rejected("event-prev-event-on-first", "Event 1 with a prev_event.",
                 signed({**e1, "prev_event": "00" * 32}),
                 {"code": "statement_invalid", "field": "prev_event"}),
        rejected("event-missing-prev-event", "Event 2 without its prev_event.",
                 signed({k: v for k, v in EVENTS1[1].to_json().items() if k != "prev_event"}),
                 {"code": "statement_invalid", "field": "prev_event"}),
        rejected("event-at-not-utc", "at with a +08:00 offset.",
                 signed({**e1, "at": "2026-11-29T20:00:01+08:00"}),
                 {"code": "statement_invalid", "field": "at"}),
        rejected("event-boolean-detail", "A detail value that is true (only strings and "
                 "integers are allowed).", signed({**e1, "detail": {**e1["detail"],
                                                                    "verified": True}}),
                 {"code": "statement_invalid", "field": "detail"}),
        rejected("event-null-detail", "detail null instead of omitted.",
                 signed({**EVENTS1[3].to_json(), "detail": None}),
                 {"code": "statement_invalid", "field": "detail"}),
    ]

    rewritten = replace(EVENTS1[1], actor="apikey:k-99 (collector@agency-a)")
    broken_link = replace(EVENTS1[2], prev_event=hashlib.sha256(b"another event").hexdigest())
    other = _log(S2, [_registered(S2), _stored(S2)])

    def log(name: str, description: str, log_tokens: Sequence[str], expect: Mapping[str, Any],
            evidence_id: str = S1.evidence_id) -> dict[str, Any]:
        return {"name": name, "description": description, "evidence_id": evidence_id,
                "statement_sha256": S1.digest_hex(), "log": list(log_tokens),
                "expect": dict(expect)}

    def fail(at: int, because: str) -> dict[str, Any]:
        return {"status": "fail", "event": at, "because": because}

    logs = [
        log("custody-valid", "The five events of ev-0001 in order.", tokens,
            {"status": "pass", "events": 5}),
        log("custody-seq-gap", "Event 2 (stored) removed.", tokens[:1] + tokens[2:],
            fail(2, "seq")),
        log("custody-reordered", "Events 2 and 3 swapped.",
            [tokens[0], tokens[2], tokens[1], *tokens[3:]], fail(2, "seq")),
        log("custody-event-rewritten-and-resigned", "Event 2's actor rewritten and the event "
            "re-signed by the notary's own key: event 2 verifies, event 3 no longer links to it.",
            [tokens[0], sign_event(rewritten, NOTARY), *tokens[2:]], fail(3, "prev_event")),
        log("custody-prev-hash-broken", "Event 3 re-signed with a prev_event that is not "
            "event 2's digest.", [*tokens[:2], sign_event(broken_link, NOTARY), *tokens[3:]],
            fail(3, "prev_event")),
        log("custody-event-signed-by-unknown-key", "Event 4 signed by a key not in the key set.",
            [*tokens[:3], sign_event(EVENTS1[3], STRANGER), tokens[4]], fail(4, "signature")),
        log("custody-event-payload-changed", "Event 4's act changed to 'transferred'; the "
            "signature is the original one.",
            [*tokens[:3], with_payload(tokens[3], canonical_json(
                {**EVENTS1[3].to_json(), "act": "transferred"})), tokens[4]],
            fail(4, "signature")),
        log("custody-duplicated-event", "Event 3 appears twice.",
            [*tokens[:3], tokens[2], *tokens[3:]], fail(4, "seq")),
        log("custody-of-another-item", "ev-0002's log checked as the log of ev-0001.",
            [sign_event(e, NOTARY) for e in other], fail(1, "evidence_id")),
        log("custody-first-event-registers-another-statement", "A log of ev-0001 whose "
            "registration names ev-0002's statement digest.",
            [sign_event(e, NOTARY) for e in _log(S1, [
                (CustodyAct.REGISTERED, SUBMITTER, S1.received_at,
                 {"statement_sha256": S2.digest_hex()})])], fail(1, "registration")),
        log("custody-first-event-not-registration", "A log that begins with 'stored'.",
            [sign_event(e, NOTARY) for e in _log(S1, [_stored(S1)])], fail(1, "registration")),
        log("custody-empty", "No events at all.", [], fail(0, "empty")),
        log("custody-event-dated-before-the-previous", "Event 4 (viewed) dated a day before "
            "event 1, the log re-signed and re-linked by the notary. ACCEPTED: check_custody "
            "checks numbers and links, not that the times follow each other.",
            [sign_event(e, NOTARY) for e in _log(S1, [
                (e.act, e.actor, "2026-11-28T12:00:00.000000Z" if e.seq == 4 else e.at,
                 dict(e.detail)) for e in EVENTS1])], {"status": "pass", "events": 5}),
        log("custody-last-event-dropped", "The last event (exported) removed. ACCEPTED: a log "
            "alone cannot show that nothing follows its last event; only the anchored custody "
            "leaves (docs/formats.md section 10, check custody_anchored) can.", tokens[:4],
            {"status": "pass", "events": 4}),
    ]
    return {
        "description": "Custody event format v1 (notary.custody/v1, JWS typ "
        f"{CUSTODY_MEDIA_TYPE}): the custody logs of the vector case (each event with its "
        "canonical bytes, SHA-256, Merkle leaf (2, file SHA-256, event SHA-256) and JWS); "
        "single events that must be refused (notary.core.custody.verify_event against 'jwks'); "
        "and whole logs, valid and tampered, with what notary.core.custody.check_custody must "
        "answer: pass, or fail at event N (1-based; 0 for an empty log) because of its "
        "'signature', 'seq', 'prev_event', 'evidence_id', 'registration' or 'empty'. "
        "Generated by tests/vectors/make_document_vectors.py; must never change.",
        "keys": _keys_block(),
        "jwks": JWKS,
        "statements": {s.evidence_id: {"sha256": s.digest_hex(), "file_sha256": s.sha256}
                       for s in (S1, S2)},
        "events": {
            s.evidence_id: [
                {**golden(f"{s.evidence_id}/event-{e.seq}", e.to_json(), t),
                 "leaf": to_hex32(event_leaf(e, bytes.fromhex(s.sha256)))}
                for e, t in zip(events, toks, strict=True)]
            for s, events, toks in ((S1, EVENTS1, CUSTODY1), (S2, EVENTS2, CUSTODY2))},
        "event_rejects": event_rejects,
        "logs": flag(logs),
    }


# -- deletion certificates -----------------------------------------------------------------


def deletion_vectors() -> dict[str, Any]:
    token = sign_deletion(DELETION, NOTARY)
    doc = DELETION.to_json()

    def resigned(**changes: Any) -> str:
        return NOTARY.sign(canonical_json({**doc, **changes}), DELETION_MEDIA_TYPE)

    def case(name: str, description: str, jws: str, verify: Any, check: str,
             **more: Any) -> dict[str, Any]:
        return {"name": name, "description": description, "jws": jws,
                "expect": {"verify": verify, "check": check, **more}}

    other_event = EVENTS2[2]
    cases = [
        case("deletion-signed-by-unknown-key", "The certificate signed by a key not in the key "
             "set.", sign_deletion(DELETION, STRANGER), bad_signature("unknown_kid"), "fail"),
        case("deletion-reason-changed", "reason rewritten; the signature is the original one.",
             with_payload(token, canonical_json({**doc, "reason": "court order"})),
             bad_signature("bad_signature"), "fail"),
        case("deletion-typ-custody", "The certificate signed with the custody event's typ.",
             NOTARY.sign(canonical_json(doc), CUSTODY_MEDIA_TYPE), bad_signature("wrong_typ"),
             "fail"),
        case("deletion-for-another-statement", "statement_sha256 of ev-0001's statement, "
             "re-signed by the notary.", resigned(statement_sha256=S1.digest_hex()), "valid",
             "fail", because="statement"),
        case("deletion-for-another-file", "file_sha256 of ev-0001's file, re-signed.",
             resigned(file_sha256=S1.sha256), "valid", "fail", because="statement"),
        case("deletion-names-another-custody-event", "custody_event_seq 3 (the 'anchored' event) "
             "with that event's digest, re-signed.",
             resigned(custody_event_seq=3, custody_event_sha256=other_event.digest().hex()),
             "valid", "fail", because="custody"),
        case("deletion-custody-digest-wrong", "custody_event_sha256 that is no event's digest, "
             "re-signed.", resigned(custody_event_sha256=hashlib.sha256(b"x").hexdigest()),
             "valid", "fail", because="custody"),
        case("deletion-without-item-key", "destroyed lists only stored_ciphertext: the key "
             "that makes the shred final is not destroyed.",
             resigned(destroyed=["stored_ciphertext"]),
             {"code": "statement_invalid", "field": "destroyed"}, "fail"),
        case("deletion-disclosures-missing", "disclosed_before without key_exports.",
             resigned(disclosed_before={"content_views": 0, "exports": 0}),
             {"code": "statement_invalid", "field": "disclosed_before"}, "fail"),
        case("deletion-unknown-field", "An extra member 'restorable': 'yes'.",
             resigned(restorable="yes"), {"code": "statement_invalid", "field": "restorable"},
             "fail"),
        case("deletion-not-canonical", "The certificate pretty-printed, then signed.",
             NOTARY.sign(json.dumps(doc, indent=1, ensure_ascii=False).encode(),
                         DELETION_MEDIA_TYPE), {"code": "statement_not_canonical"}, "fail"),
        case("deletion-shredded-at-differs-from-event", "shredded_at a day before the "
             "'shredded' event's at, re-signed (docs/formats.md section 11: shredded_at is the "
             "event's at).", resigned(shredded_at="2026-11-29T10:00:00.000000Z"), "valid",
             "fail", because="time"),
        case("deletion-file-size-differs-from-statement", "file_size one byte more than the "
             "statement's size, re-signed: the certificate restates the statement wrongly.",
             resigned(file_size=S2.size + 1), "valid", "fail", because="restated"),
        case("deletion-anchor-values-unchecked", "anchor.chain_id the string '31337' and "
             "anchor.root not hex, re-signed: the parser checks the anchor's values.",
             resigned(anchor={**doc["anchor"], "chain_id": "31337", "root": "not a root"}),
             {"code": "statement_invalid", "field": "anchor.chain_id"}, "fail"),
        case("deletion-destroyed-twice", "destroyed lists item_key twice, re-signed: refused.",
             resigned(destroyed=["item_key", "item_key"]),
             {"code": "statement_invalid", "field": "destroyed"}, "fail"),
    ]
    return {
        "description": "Deletion certificate format v1 (notary.deletion/v1, JWS typ "
        f"{DELETION_MEDIA_TYPE}): the certificate of ev-0002 of the vector case, which was "
        "shredded (its custody log's event 4), and tampered certificates with what "
        "notary.core.deletion.verify_deletion must answer ('valid' or the error) and what "
        "check_deletion, given ev-0002's statement and custody log, must answer ('pass' or "
        "'fail', and whether because of the 'statement' or the 'custody' log). Generated by "
        "tests/vectors/make_document_vectors.py; must never change.",
        "keys": _keys_block(),
        "jwks": JWKS,
        "statement": {"canonical_text": S2.canonical_bytes().decode("utf-8"),
                      "sha256": S2.digest_hex()},
        "custody_log": list(CUSTODY2),
        "valid": [golden("deletion-of-ev-0002", doc, token)],
        "rejects": flag(cases),
    }


# -- certification -------------------------------------------------------------------------


PERSON_DOC = QualifiedPerson(
    "Li Na", "Records custodian", "Huaxia Collections Ltd",
    public_key={m: PERSON.public_jwk()[m] for m in ("kty", "crv", "x")}, name_zh="李娜",
    title_zh="档案管理员", organisation_zh="华夏催收有限公司")
SIGNED_AT = datetime(2026, 12, 2, 10, 30, 0, tzinfo=UTC)


def certification_vectors() -> dict[str, Any]:
    cert = facts().certification(PERSON_DOC)
    files = declaration_files(cert)
    data = files["certification/certification.json"]
    token = sign_declaration(data, PERSON, signed_at=SIGNED_AT)
    doc = json.loads(data)

    def edited(change: Any) -> bytes:
        copy = json.loads(data)
        change(copy)
        return canonical_json(copy)

    def case(name: str, description: str, expect: Mapping[str, str], *,
             document: bytes | None = None, jws: str | None = token,
             files_changed: Mapping[str, str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "description": description, "expect": dict(expect)}
        if document is not None:
            out["certification_json"] = document.decode("utf-8")
        out["jws"] = jws
        if files_changed:
            out["files"] = dict(files_changed)
        return out

    def retitled(d: dict[str, Any]) -> None:
        d["qualified_person"]["title"] = "Chief executive"

    def resized(d: dict[str, Any]) -> None:
        d["items"][0]["size"] += 1

    def rekeyed(d: dict[str, Any]) -> None:
        d["qualified_person"]["public_key"] = {m: STRANGER.public_jwk()[m]
                                               for m in ("kty", "crv", "x")}

    resized_doc = edited(resized)
    rekeyed_doc = edited(rekeyed)
    head = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    cases = [
        case("certification-signed-by-another-key", "The detached signature made by a key "
             "other than the one the certification names.",
             {"certification": "pass", "certification_signature": "fail"},
             jws=sign_detached(data, "application/vnd.notary.certification.v1+json", STRANGER,
                               {"signed_at": "2026-12-02T10:30:00Z"})),
        case("certification-changed-after-signing", "The person's title changed after the "
             "signature (the document is still canonical; the signature is the original one).",
             {"certification": "pass", "certification_signature": "fail"},
             document=edited(retitled)),
        case("certification-record-changed-and-resigned", "items[0].size one more than the "
             "bundle's, signed again by the qualified person: the signature holds, the facts do "
             "not.", {"certification": "fail", "certification_signature": "pass"},
             document=resized_doc,
             jws=sign_declaration(resized_doc, PERSON, signed_at=SIGNED_AT)),
        case("certification-key-swapped-without-thumbprint", "public_key replaced by another "
             "key, key_thumbprint left as it was.",
             {"certification": "fail", "certification_signature": "fail"},
             document=rekeyed_doc),
        case("certification-signature-not-detached", "The signature carrying the document as "
             "its payload (header.payload.signature) instead of detached.",
             {"certification": "pass", "certification_signature": "fail"},
             jws=raw_jws(header, data, PERSON)),
        case("certification-signature-without-signed-at", "A detached signature by the right "
             "key without the signed_at header.",
             {"certification": "pass", "certification_signature": "fail"},
             jws=sign_detached(data, "application/vnd.notary.certification.v1+json", PERSON)),
        case("certification-signed-before-the-bundle-was-made", "A detached signature by the "
             "right key whose signed_at is a year before the bundle's created_at. ACCEPTED: "
             "signed_at is checked to be an RFC 3339 UTC time, not to follow the bundle.",
             {"certification": "pass", "certification_signature": "pass"},
             jws=sign_declaration(data, PERSON, signed_at=datetime(2025, 12, 1, tzinfo=UTC))),
        case("certification-unsigned", "No certification.json.jws: to be signed by hand.",
             {"certification": "pass", "certification_signature": "skip"}, jws=None),
        case("certification-declaration-file-differs", "certification-en.md is not the English "
             "declaration the document carries ('have not been altered' became 'may have been "
             "altered').",
             {"certification": "fail", "certification_signature": "pass"},
             files_changed={"certification/certification-en.md": files[
                 "certification/certification-en.md"].decode("utf-8").replace(
                     "have not been altered since", "may have been altered since", 1)}),
    ]
    english = files["certification/certification-en.md"].decode("utf-8")
    assert "have not been altered since" in english
    return {
        "description": "Court certification format v1 (notary.certification/v1): the "
        "certification of the vector bundle's two records for a qualified person with a key, "
        "its two declarations, and the person's detached JWS (typ "
        "application/vnd.notary.certification.v1+json, header signed_at); and tampered copies "
        "with what notary.core.certification.check_certification must answer for its two "
        "checks, given the bundle's items as verified. A case replaces the document "
        "('certification_json'), the signature ('jws', null for none) or a declaration file "
        "('files'). Generated by tests/vectors/make_document_vectors.py; must never change.",
        "keys": {**_keys_block(), "qualified_person": public_key_entry(PERSON)},
        "signed_at": header["signed_at"],
        "files": {path: content.decode("utf-8") for path, content in sorted(files.items())},
        "jws": token,
        "document_sha256": hashlib.sha256(data).hexdigest(),
        "qualified_person": doc["qualified_person"],
        "rejects": flag(cases),
    }


# -- the bundle ----------------------------------------------------------------------------


def members(f: BundleFacts) -> dict[str, bytes]:
    """Every member but mimetype, the manifest and its signature, in archive order (as the
    service writes them: item documents and original, keys, guide)."""
    out: dict[str, bytes] = {}
    for item, (_name, _kind, _media, data) in zip(f.items, ORIGINALS, strict=True):
        out.update(item.documents())
        if not item.shredded:
            out[item.original_path] = data
    out["keys/jwks.json"] = f.keys
    out["VERIFY.md"] = VERIFY_MD
    return out


def write_zip(f: BundleFacts, files: Mapping[str, bytes], *, manifest: bytes | None = None,
              signer: SigningKey = NOTARY, typ: str = MANIFEST_MEDIA_TYPE,
              signature: bytes | None = None) -> tuple[bytes, bytes, bytes]:
    """The archive of ``files`` as BundleWriter writes it (originals stored, documents
    deflated), with the manifest built from what was written (unless given) and signed by
    ``signer`` (unless ``signature`` is given). Returns (zip, manifest, signature)."""
    writer = BundleWriter(f.created_at, f.version)
    out = writer.take()
    for path, data in files.items():
        if "/original/" in path:
            out += b"".join(writer.add_stream(path, iter([data]), len(data)))
        else:
            out += writer.add(path, data)
    body = manifest if manifest is not None else build_manifest(f, writer.digests)
    sig = signature if signature is not None else signer.sign(body, typ).encode("ascii")
    out += writer.add("manifest.json", body)
    out += writer.add("manifest.jws", sig)
    return out + writer.finish(), body, sig


def _resigned_manifest(body: bytes, change: Any) -> bytes:
    doc = json.loads(body)
    change(doc)
    return canonical_json(doc)


def bundle_vectors() -> tuple[dict[str, bytes], dict[str, Any]]:
    f = facts()
    files = members(f)
    valid, manifest, signature = write_zip(f, files)
    zips: dict[str, bytes] = {"valid.zip": valid}
    expect: dict[str, Any] = {}

    every = ["keys", "manifest", "manifest_signature"]
    item_checks = ["statement_signature", "receipt_signature", "key_validity", "file_hash",
                   "merkle_proof", "anchor_record", "chain_anchor", "custody"]
    for i in (0, 1):
        every += [f"items[{i}].{c}" for c in item_checks]
    every += ["items[1].deletion", "case_sequence"]
    skip = {"items[0].chain_anchor", "items[1].chain_anchor", "items[1].file_hash"}
    baseline = {name: ("skip" if name in skip else "pass") for name in every}

    def add(name: str, description: str, data: bytes, changes: Mapping[str, str],
            absent: str | None = None) -> None:
        for check in changes:
            assert check in baseline, check
        checks = {k: v for k, v in {**baseline, **changes}.items()
                  if absent is None or not k.startswith(absent)}
        zips[f"{name}.zip"] = data
        expect[f"{name}.zip"] = {"description": description, "checks": checks}

    expect["valid.zip"] = {"description": "A case bundle of two items with originals: ev-0001 "
                           "(with its custody log) and ev-0002 (shredded, with its deletion "
                           "certificate, so without original). Offline: every chain_anchor is "
                           "skipped, and ev-0002's file_hash (its original was shredded).",
                           "checks": baseline}

    def rebuilt(changed: Mapping[str, bytes], *, drop: Sequence[str] = (),
                signer: SigningKey = NOTARY, f2: BundleFacts = f) -> bytes:
        new = {p: changed.get(p, d) for p, d in files.items() if p not in drop}
        new.update({p: d for p, d in changed.items() if p not in files})
        return write_zip(f2, new, signer=signer)[0]

    original = f.items[0].original_path
    flipped = bytes([files[original][0] ^ 0x01]) + files[original][1:]
    add("member-changed", f"One bit of {original} flipped; manifest and signature as made.",
        write_zip(f, {**files, original: flipped}, manifest=manifest, signature=signature)[0],
        {"manifest": "fail", "items[0].file_hash": "fail"})
    add("member-added", "A file notes.txt added to the archive; manifest and signature as made.",
        write_zip(f, {**files, "notes.txt": b"added later\n"}, manifest=manifest,
                  signature=signature)[0], {"manifest": "fail"})
    add("manifest-lists-missing-file", "VERIFY.md removed from the archive; the manifest still "
        "lists it.", write_zip(f, {p: d for p, d in files.items() if p != "VERIFY.md"},
                               manifest=manifest, signature=signature)[0], {"manifest": "fail"})
    add("manifest-resigned-by-another-key", "manifest.jws replaced by a signature of the same "
        "manifest by a key that is not in keys/jwks.json.",
        write_zip(f, files, manifest=manifest, signer=STRANGER)[0],
        {"manifest_signature": "fail"})
    add("manifest-changed-after-signing", "created_at in manifest.json moved a day later "
        "(still canonical); manifest.jws as made.",
        write_zip(f, files, manifest=_resigned_manifest(
            manifest, lambda d: d.update(created_at="2026-12-02T09:00:00.000000Z")),
            signature=signature)[0], {"manifest_signature": "fail"})
    add("manifest-signed-with-statement-typ", "manifest.jws signed by the notary's key with "
        f"typ {STATEMENT_MEDIA_TYPE}.",
        write_zip(f, files, manifest=manifest, typ=STATEMENT_MEDIA_TYPE)[0],
        {"manifest_signature": "fail"})
    pretty = json.dumps(json.loads(manifest), indent=2).encode()
    add("manifest-not-canonical", "manifest.json pretty-printed, and signed as it is.",
        write_zip(f, files, manifest=pretty)[0],
        {"manifest": "fail", "manifest_signature": "skip", "case_sequence": "skip"})
    add("manifest-hides-an-item", "The manifest lists only items/001 (ev-0002's folder is "
        "still in the archive and listed nowhere), re-signed by the notary: the verifier "
        "checks only the items the manifest lists, and the manifest check names the rest.",
        write_zip(f, files, manifest=_resigned_manifest(manifest, lambda d: d.update(
            items=d["items"][:1],
            files=[e for e in d["files"] if not e["path"].startswith("items/002/")])))[0],
        {"manifest": "fail"}, absent="items[1].")
    d1 = f.items[0].directory
    add("receipt-for-another-statement", f"{d1}/receipt.jws replaced by ev-0002's receipt "
        "(validly signed); manifest rebuilt and re-signed.",
        rebuilt({f"{d1}/receipt.jws": receipt(S2).encode()}),
        {"items[0].receipt_signature": "fail"})
    add("statement-json-differs-from-jws", f"{d1}/statement.json replaced by ev-0002's "
        "canonical statement; manifest rebuilt and re-signed.",
        rebuilt({f"{d1}/statement.json": S2.canonical_bytes()}),
        {"items[0].statement_signature": "fail", "items[0].receipt_signature": "skip",
         "items[0].key_validity": "skip", "items[0].file_hash": "skip",
         "items[0].merkle_proof": "skip", "items[0].custody": "skip",
         "case_sequence": "skip"})
    proof = json.loads(files[f"{d1}/proof.json"])
    proof["proof"][0] = "0x" + "00" * 32
    add("proof-step-replaced", f"The first step of {d1}/proof.json zeroed; manifest rebuilt "
        "and re-signed.", rebuilt({f"{d1}/proof.json": canonical_json(proof)}),
        {"items[0].merkle_proof": "fail"})
    log1 = f.items[0].custody
    add("custody-seq-gap", f"Event 2 removed from {d1}/custody.jsonl; manifest rebuilt and "
        "re-signed.", rebuilt({f"{d1}/custody.jsonl": "".join(
            f"{t}\n" for t in (log1[0], *log1[2:])).encode()}),
        {"items[0].custody": "fail"})
    d2 = f.items[1].directory
    add("deletion-signed-by-unknown-key", f"{d2}/deletion.jws signed by a key not in "
        "keys/jwks.json; manifest rebuilt and re-signed.",
        rebuilt({f"{d2}/deletion.jws": sign_deletion(DELETION, STRANGER).encode()}),
        {"items[1].deletion": "fail"})
    forged = facts(STRANGER)
    add("resigned-throughout-by-another-key", "Every signature (statements, receipts, custody "
        "events, deletion certificate, manifest) made again by a stranger's key, which "
        "keys/jwks.json now holds instead of the notary's. ACCEPTED by every check: a bundle "
        "only proves it is consistent with the keys it carries; only a trust root (or the "
        "notary's published key ids) tells whose keys they are.",
        write_zip(forged, members(forged), signer=STRANGER)[0], {})
    manifest_doc = json.loads(manifest)
    vectors = {
        "description": "One whole proof bundle (format v2, manifest typ "
        f"{MANIFEST_MEDIA_TYPE}) and tampered copies, each named for the tampering. For each "
        "archive, 'checks' is what notary.bundles.check.verify_bundle_file (offline, no trust "
        "root) must answer for every check (pass, fail, skip); the overall result is "
        "deliberately not stated. valid.manifest.json and valid.manifest.jws are the manifest "
        "and its signature inside valid.zip. Generated by "
        "tests/vectors/make_document_vectors.py; must never change.",
        "keys": _keys_block(),
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        "manifest_files": len(manifest_doc["files"]),
        "merkle": {"root": to_hex32(TREE.root), "leaves": [to_hex32(x) for x in LEAVES],
                   "proofs": [[to_hex32(p) for p in TREE.proof_for(x)] for x in LEAVES],
                   "leaf_values": [f.items[0].leaf_values, f.items[1].leaf_values]},
        "archives": {name: flag([case])[0] for name, case in sorted(expect.items())},
    }
    zips["valid.manifest.json"] = manifest
    zips["valid.manifest.jws"] = signature
    return zips, vectors


def read_members(data: bytes) -> list[tuple[str, bytes]]:
    """An archive's members in order, uncompressed (to compare archives across zlib builds)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def main() -> None:
    write_json(HERE / "receipt.json", receipt_vectors())
    write_json(HERE / "custody.json", custody_vectors())
    write_json(HERE / "deletion.json", deletion_vectors())
    write_json(HERE / "certification.json", certification_vectors())
    BUNDLE_DIR.mkdir(exist_ok=True)
    files, vectors = bundle_vectors()
    for old in BUNDLE_DIR.glob("*.zip"):
        if old.name not in files:
            old.unlink()
    for name, data in files.items():
        (BUNDLE_DIR / name).write_bytes(data)
    (BUNDLE_DIR / "vectors.json").write_text(json.dumps(vectors, ensure_ascii=False, indent=2)
                                             + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
