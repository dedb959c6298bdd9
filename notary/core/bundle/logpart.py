"""The transparency log's part of a proof bundle (format v3, docs/bundle-format.md §4.8):
``log/checkpoint.note`` and each item's ``log.json``, and their checks.

CONSENSUS-CRITICAL and pure. A bundle carries one checkpoint of the deployment's log (the
signed note as served, with the witnesses' cosignatures) and, per item, the inclusion proof
of its statement and of each custody event against that checkpoint. The verifier recomputes
every leaf from the JWS the bundle already carries (:func:`notary.core.logentry.entry_leaf`):
a leaf hash is never taken from the bundle. The log's key and origin, and the witnesses
whose cosignatures count, come from the pinned trust root (its ``log`` member), never from
the bundle.

Checks: ``log`` (the checkpoint is signed by the trust root's log key, under its origin),
``items[i].log`` (every statement and custody event is in that tree: an integrity check) and
``log.witnesses`` (at least the trust root's threshold of its witnesses cosigned it). They
answer the neutrality question (:mod:`notary.core.answers`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..custody import CustodyEvent
from ..errors import InputError, NotaryError
from ..jws import jws_payload
from ..logentry import EntryType, entry_leaf
from ..note import MAX_NOTE_BYTES, Checkpoint, Note, NoteError
from ..statement import canonical_json, parse_strict_json
from ..tlog import ProofError, verify_inclusion
from ..trustroot import LogPin
from ..verdict import Check, CheckStatus
from .layout import LOG_CHECKPOINT_PATH, LOG_NAME, MAX_CHECKPOINT_BYTES, MAX_LOG_DOCUMENT_BYTES

__all__ = [
    "LOG_CHECKPOINT_PATH",
    "LOG_NAME",
    "MAX_LOG_DOCUMENT_BYTES",
    "EntryProof",
    "ItemLog",
    "log_checks",
    "log_document",
    "parse_log_document",
]

assert MAX_CHECKPOINT_BYTES == MAX_NOTE_BYTES  # the layout's limit is a note's

_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP


@dataclass(frozen=True)
class EntryProof:
    """An entry's index in the log and its audit path against the bundle's checkpoint."""

    index: int
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "proof": [base64.b64encode(p).decode() for p in self.proof]}


@dataclass(frozen=True)
class ItemLog:
    """``log.json``: the statement's proof, and each custody event's by its ``seq`` (None:
    the event was logged after the checkpoint, only allowed for the newest events)."""

    statement: EntryProof
    custody: Mapping[int, EntryProof | None]


def log_document(log: ItemLog) -> bytes:
    """``log.json``, canonical JSON: ``{"custody": [{"seq", "index", "proof"} or {"seq",
    "after_checkpoint": true}], "statement": {"index", "proof"}}``."""
    custody = [{"seq": seq, **p.to_json()} if p is not None
               else {"seq": seq, "after_checkpoint": True}
               for seq, p in sorted(log.custody.items())]
    return canonical_json({"statement": log.statement.to_json(), "custody": custody})


def _proof(where: str, value: object) -> EntryProof:
    if not isinstance(value, dict) or set(value) != {"index", "proof"}:
        raise InputError(f"{where} is {{index, proof}}.", code="log_document_invalid")
    index, proof = value["index"], value["proof"]
    if isinstance(index, bool) or not isinstance(index, int) or index < 0 or not isinstance(
            proof, list) or len(proof) > 63:
        raise InputError(f"{where}: index is a non-negative integer, proof at most 63 hashes.",
                         code="log_document_invalid")
    hashes = []
    for h in proof:
        try:
            raw = base64.b64decode(h, validate=True) if isinstance(h, str) else b""
        except binascii.Error:
            raw = b""
        if len(raw) != 32 or base64.b64encode(raw).decode() != h:
            raise InputError(f"{where}: each proof hash is 32 bytes in base64.",
                             code="log_document_invalid")
        hashes.append(raw)
    return EntryProof(index, tuple(hashes))


def parse_log_document(raw: bytes) -> ItemLog:
    """``log.json`` read strictly; InputError ``log_document_invalid`` (or the strict JSON
    reader's own) otherwise: the verifier turns it into a failed ``items[i].log``."""
    doc = parse_strict_json(raw, max_bytes=MAX_LOG_DOCUMENT_BYTES)
    if not isinstance(doc, dict) or set(doc) != {"statement", "custody"} or not isinstance(
            doc["custody"], list):
        raise InputError("log.json is {statement, custody}.", code="log_document_invalid")
    custody: dict[int, EntryProof | None] = {}
    for n, entry in enumerate(doc["custody"]):
        seq = entry.get("seq") if isinstance(entry, dict) else None
        if isinstance(seq, bool) or not isinstance(seq, int) or seq in custody:
            raise InputError(f"custody[{n}] has no seq of its own.", code="log_document_invalid")
        rest = {k: v for k, v in entry.items() if k != "seq"}
        custody[seq] = None if rest == {"after_checkpoint": True} else _proof(
            f"custody[{n}]", rest)
    return ItemLog(_proof("statement", doc["statement"]), custody)


# -- checks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    index: int
    path: str
    statement_token: str | None
    custody_tokens: Sequence[str]


def _checkpoint(raw: bytes, pin: LogPin | None, pinned: str | None
                ) -> tuple[Check, Note | None, Checkpoint | None, bool]:
    """``log``: the note parses; with a pinned log, it is signed by its key under its origin.
    Returns the check, the note and checkpoint (when they parse) and whether it is the log's."""
    try:
        note = Note.parse(raw)
        cp = Checkpoint.parse(note.text)
    except NoteError as exc:
        return (Check("log", _FAIL, f"{LOG_CHECKPOINT_PATH} is not a signed checkpoint "
                                    f"(c2sp.org/tlog-checkpoint): {exc}"), None, None, False)
    if pin is None:
        why = ("no trust root was pinned, so the log's key is not known" if pinned is None
               else f"the pinned trust root {pinned} names no transparency log (issued before "
                    "trust roots named one)")
        return (Check("log", _SKIP, f"{LOG_CHECKPOINT_PATH} is a checkpoint of {cp.origin!r} "
                                    f"(size {cp.size}), but its signature was not checked: "
                                    f"{why}."), note, cp, False)
    if cp.origin != pin.origin:
        return (Check("log", _FAIL, f"{LOG_CHECKPOINT_PATH} is a checkpoint of log "
                                    f"{cp.origin!r}, not of the pinned trust root's log "
                                    f"{pin.origin!r}: another deployment's log."),
                note, cp, False)
    try:
        note.verify([pin.verifier])
    except NoteError as exc:
        return (Check("log", _FAIL, f"{LOG_CHECKPOINT_PATH} is not signed by the log key "
                                    f"{pin.vkey} of the pinned trust root {pinned}: {exc}."),
                note, cp, False)
    return (Check("log", _PASS, f"{LOG_CHECKPOINT_PATH} is checkpoint {cp.size} of log "
                                f"{cp.origin!r} (root {base64.b64encode(cp.root).decode()}), "
                                f"signed by the log key of the pinned trust root {pinned}."),
            note, cp, True)


def _custody_seq(token: str, n: int) -> int:
    """An event's ``seq`` (its line number when it does not parse: the custody check says
    why it is wrong)."""
    try:
        return CustodyEvent.from_bytes(jws_payload(token)).seq
    except (NotaryError, ValueError):
        return n


def _item_check(item: _Item, raw: bytes | None, cp: Checkpoint) -> Check:
    name, where = f"items[{item.index}].log", f"{item.path}/{LOG_NAME}"
    if raw is None:
        return Check(name, _FAIL, f"{where} is missing: the bundle has a checkpoint of the log "
                                  "but no inclusion proof of this item's statement.")
    try:
        log = parse_log_document(raw)
    except NotaryError as exc:
        return Check(name, _FAIL, f"{where} is not a valid log document. {exc.message}")
    if item.statement_token is None:
        return Check(name, _SKIP, f"{where} was not checked: the item has no statement.")
    size = f"the log's checkpoint of size {cp.size}"
    try:
        verify_inclusion(entry_leaf(EntryType.STATEMENT, item.statement_token),
                         log.statement.index, cp.size, log.statement.proof, cp.root)
    except (ProofError, UnicodeEncodeError) as exc:
        return Check(name, _FAIL, f"The statement of {item.path} is not entry "
                                  f"{log.statement.index} of {size}: {exc}.")
    seqs = [_custody_seq(t, n) for n, t in enumerate(item.custody_tokens, start=1)]
    extra = sorted(set(log.custody) - set(seqs))
    if extra:
        return Check(name, _FAIL, f"{where} proves custody event(s) {extra} that "
                                  f"{item.path}/custody.jsonl does not hold.")
    pending = []
    for n, (seq, token) in enumerate(zip(seqs, item.custody_tokens, strict=True), start=1):
        if seq not in log.custody:
            return Check(name, _FAIL, f"Custody event {seq} of {item.path} (line {n} of "
                                      f"custody.jsonl) has no inclusion proof in {where}.")
        proof = log.custody[seq]
        if proof is None:
            pending.append(seq)
            continue
        if pending:
            return Check(name, _FAIL, f"Custody event {seq} of {item.path} is in {size}, but "
                                      f"the earlier event(s) {pending} are said to come after "
                                      "it: a log appends events in order.")
        try:
            verify_inclusion(entry_leaf(EntryType.CUSTODY_EVENT, token), proof.index, cp.size,
                             proof.proof, cp.root)
        except (ProofError, UnicodeEncodeError) as exc:
            return Check(name, _FAIL, f"Custody event {seq} of {item.path} (line {n} of "
                                      f"custody.jsonl) is not entry {proof.index} of {size}: "
                                      f"{exc}.")
    logged = len(seqs) - len(pending)
    later = (f" The newest {len(pending)} custody event(s) ({pending}) were recorded after this "
             "checkpoint: a later bundle, or GET /v1/log/proof/inclusion, proves them."
             if pending else "")
    return Check(name, _PASS, f"The statement of {item.path} (entry {log.statement.index}) and "
                              f"its {logged} custody event(s) are in {size}, each leaf "
                              f"recomputed from its JWS.{later}")


def _witnesses(note: Note, pin: LogPin) -> tuple[Check, list[str]]:
    """``log.witnesses``: the cosignatures of the witnesses the trust root names."""
    present = {(s.name, s.key_id) for s in note.signatures}
    cosigned, bad = [], []
    for v in pin.witness_verifiers():
        if (v.name, v.key_id) not in present:
            continue
        try:
            v.check(note.text, next(s.body for s in note.signatures
                                    if (s.name, s.key_id) == (v.name, v.key_id)))
            cosigned.append(v.name)
        except NoteError:
            bad.append(v.name)
    if bad:
        return (Check("log.witnesses", _FAIL, f"The cosignature of witness(es) "
                                              f"{', '.join(bad)} on {LOG_CHECKPOINT_PATH} does "
                                              "not verify."), cosigned)
    need = max(pin.witness_threshold, 1)
    named = ", ".join(n for n, _ in pin.witnesses) or "none"
    if len(cosigned) >= need:
        return (Check("log.witnesses", _PASS,
                      f"The checkpoint is cosigned (cosignature/v1) by {len(cosigned)} of the "
                      f"witnesses the trust root names: {', '.join(cosigned)} (threshold "
                      f"{pin.witness_threshold}). Each cosigns only a checkpoint that extends "
                      "every one it cosigned before: the log showed them this same history."),
                cosigned)
    return (Check("log.witnesses", _SKIP,
                  f"The checkpoint is cosigned by {len(cosigned)} of the witnesses the trust "
                  f"root names ({named}), fewer than the {need} it requires"
                  + (f" (cosigned: {', '.join(cosigned)})." if cosigned
                     else ": nobody but the operator attests this history.")), cosigned)


def log_checks(documents: Mapping[str, bytes], items: Sequence[tuple[str, str | None,
               Sequence[str]]], pin: LogPin | None, pinned: str | None
               ) -> tuple[list[Check], dict[str, Any] | None]:
    """The log checks of a bundle whose ``documents`` are read, for ``items`` given as
    (directory, statement JWS, custody JWS lines), with the pinned trust root's ``log``
    (``pin``) and fingerprint (``pinned``, None when none is pinned). Returns the checks and
    the facts of the neutrality answer; ``([], None)`` for a bundle without a log part checked
    without a log pinned (as before bundles carried one)."""
    raw = documents.get(LOG_CHECKPOINT_PATH)
    carried = [documents.get(f"{d}/{LOG_NAME}") for d, _, _ in items]
    required = pin is not None and pin.witness_threshold > 0
    facts: dict[str, Any] = {"carried": raw is not None, "required": required,
                             "origin": pin.origin if pin else None, "witnesses": [],
                             "witness_threshold": pin.witness_threshold if pin else None}
    if raw is None:
        if any(c is not None for c in carried):
            return [Check("log", _FAIL, f"Items carry {LOG_NAME} but the bundle has no "
                                        f"{LOG_CHECKPOINT_PATH} to check them against.")], facts
        if pin is None:
            return [], None
        return [Check("log", _SKIP, f"The bundle carries no part of the transparency log "
                                    f"({LOG_CHECKPOINT_PATH}): it was exported before bundles "
                                    "carried one, or before a checkpoint of the log held its "
                                    "statements; export it again.")], facts
    check, note, cp, ours = _checkpoint(raw, pin, pinned)
    checks = [check]
    if cp is not None:
        facts.update(origin=cp.origin, size=cp.size, root=base64.b64encode(cp.root).decode())
        for i, ((d, token, custody), doc) in enumerate(zip(items, carried, strict=True)):
            checks.append(_item_check(_Item(i, d, token, custody), doc, cp))
    if note is not None and ours and pin is not None:
        witness, cosigned = _witnesses(note, pin)
        checks.append(witness)
        facts["witnesses"] = cosigned
    return checks, facts
