"""What a forger does to a bundle, with real parts: re-sign every JWS with their own Ed25519
key, replace the key history, drop items and custody events, add an item anchored in their
own registry, and re-write and re-sign the manifest so that the bundle is internally
consistent again. Nothing here is a shortcut the verifier could tell from a real forgery:
everything a forger cannot do (sign with the genuine key, write to the genuine registry) is
left undone."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from notary.chain.registry import Registry
from notary.core.bundle import (
    KEYS_PATH,
    LOG_CHECKPOINT_PATH,
    LOG_NAME,
    MANIFEST_MEDIA_TYPE,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    TRUST_ROOT_PATH,
    BundleItem,
    KeyPeriod,
    key_history,
)
from notary.core.merkle import statement_leaf
from notary.core.signing import SigningKey, jws_payload, sign_receipt, sign_statement
from notary.core.statement import Statement, canonical_json
from notary.core.validate import format_rfc3339_utc

_RESERVED = ("alg", "kid", "typ")


def members(data: bytes) -> dict[str, bytes]:
    """Every member of a bundle, in archive order."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {info.filename: z.read(info.filename) for info in z.infolist()}


def pack(files: Mapping[str, bytes]) -> bytes:
    """A bundle archive of ``files`` (``mimetype`` first and stored, as the format wants)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        order = ["mimetype"] + [p for p in files if p != "mimetype"]
        for path in order:
            method = zipfile.ZIP_STORED if path == "mimetype" else zipfile.ZIP_DEFLATED
            z.writestr(zipfile.ZipInfo(path, (2026, 12, 4, 10, 0, 0)), files[path],
                       compress_type=method)
    return out.getvalue()


def header(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def kid_of(token: bytes | str) -> str:
    text = token.decode("ascii") if isinstance(token, bytes) else token
    return str(header(text)["kid"])


def resign(token: str, key: SigningKey) -> str:
    """The same payload, type and extra header parameters, signed by ``key`` instead."""
    h = header(token)
    extra = {k: v for k, v in h.items() if k not in _RESERVED}
    return key.sign(jws_payload(token), str(h["typ"]), extra or None)


def own_history(*entries: tuple[SigningKey, str, str | None]) -> bytes:
    """A key history (keys/jwks.json) of the forger's choosing: (key, valid_from, valid_until)."""
    return key_history([(k.public_jwk(), KeyPeriod(k.kid, since, until))
                        for k, since, until in entries])


def manifest(files: Mapping[str, bytes]) -> dict[str, Any]:
    return dict(json.loads(files[MANIFEST_PATH]))


def seal(files: dict[str, bytes], key: SigningKey, *, doc: Mapping[str, Any] | None = None,
         created_at: str | None = None) -> bytes:
    """Re-write the manifest over what ``files`` now hold (every member with its SHA-256 and
    size), sign it with ``key`` and pack the bundle: what makes a re-packed bundle
    internally consistent again."""
    item_dirs = {"/".join(p.split("/")[:2]) for p in files if p.startswith("items/")}
    if any(f"{d}/{LOG_NAME}" not in files for d in item_dirs):
        # an item the log never held (forged): a consistent forger drops the log's part
        files = {p: d for p, d in files.items()
                 if p != LOG_CHECKPOINT_PATH and not p.endswith(f"/{LOG_NAME}")}
    doc = dict(doc if doc is not None else manifest(files))
    if created_at is not None:
        doc["created_at"] = created_at
    listed = {p: d for p, d in files.items() if p not in (MANIFEST_PATH, MANIFEST_SIGNATURE_PATH)}
    doc["files"] = [{"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                    for p, d in sorted(listed.items())]
    # The items as the directories now hold them (read from their statements).
    dirs = sorted({"/".join(p.split("/")[:2]) for p in listed if p.startswith("items/")})
    items = []
    for d in dirs:
        statement = statement_of(files, d)
        entry: dict[str, Any] = {"evidence_id": statement.evidence_id,
                                 "case_seq": statement.case_seq, "path": d}
        originals = [p for p in listed if p.startswith(f"{d}/original/")]
        if originals and not doc["hashes_only"]:
            entry["original"] = originals[0]
        items.append(entry)
    doc["items"] = items
    raw = canonical_json(doc)
    out = {p: d for p, d in files.items() if p not in (MANIFEST_PATH, MANIFEST_SIGNATURE_PATH)}
    out[MANIFEST_PATH] = raw
    out[MANIFEST_SIGNATURE_PATH] = key.sign(raw, MANIFEST_MEDIA_TYPE).encode("ascii")
    return pack(out)


def _is_token_member(path: str) -> bool:
    return path.endswith((".jws",)) and path != MANIFEST_SIGNATURE_PATH


def resign_everything(data: bytes, key: SigningKey, *, keys: bytes | None = None,
                      trust_root: bytes | None = None,
                      keep: Callable[[str], bool] = lambda path: True,
                      custody_keep: Callable[[str, int], bool] = lambda path, seq: True) -> bytes:
    """The genuine bundle with ``keys/jwks.json`` replaced (by ``keys``, default a history of
    ``key`` alone valid since long before) and every JWS (statements, receipts, custody
    events, deletion certificates, the manifest) re-signed by ``key``. ``keep`` drops
    members (by path); ``custody_keep(path, seq)`` drops custody events (seq counts from 1).
    The bundled trust root is replaced by ``trust_root`` (a forger's own) or left out. The
    log's part is left out too: re-signed JWS are leaves of no log, so its proofs cannot be
    kept (a forger who kept them would fail ``items[i].log`` at once)."""
    files = {p: d for p, d in members(data).items() if keep(p)
             and p != LOG_CHECKPOINT_PATH and not p.endswith(f"/{LOG_NAME}")}
    for path in list(files):
        if _is_token_member(path):
            files[path] = resign(files[path].decode("ascii"), key).encode("ascii")
        elif path.endswith("/custody.jsonl"):
            lines = [t for t in files[path].decode("ascii").splitlines() if t]
            kept = [resign(t, key) for i, t in enumerate(lines, start=1) if custody_keep(path, i)]
            files[path] = "".join(f"{t}\n" for t in kept).encode("ascii")
    files[KEYS_PATH] = keys if keys is not None else own_history(
        (key, "2020-01-01T00:00:00Z", None))
    files.pop(TRUST_ROOT_PATH, None)
    if trust_root is not None:
        files[TRUST_ROOT_PATH] = trust_root
    return seal(files, key)


@dataclass(frozen=True)
class ForgedItem:
    """An item made by the forger: statement signed by their key, anchored (alone, a
    one-leaf batch) in their registry by their account."""

    documents: dict[str, bytes]
    original: tuple[str, bytes]
    statement: Statement
    anchor_contract: str


def forge_item(template: Statement, *, content: bytes, file_name: str, key: SigningKey,
               registry: Registry, case_seq: int, prev_statement: str,
               kind: str = "agreement", received_at: str | None = None) -> ForgedItem:
    """A statement in the style of ``template`` (same case, tenant, submitter) for ``content``,
    entry ``case_seq`` of the case linked to ``prev_statement``, signed by ``key`` and anchored
    in ``registry`` (the forger's own copy of EvidenceRegistry) as a one-leaf batch, now.
    ``received_at`` (default now) is what the statement and its receipt claim."""
    now = datetime.now(UTC) if received_at is None else datetime.fromisoformat(received_at)
    obj = template.to_json()
    obj.update({
        "evidence_id": f"ev_forged{case_seq:03d}{hashlib.sha256(content).hexdigest()[:12]}",
        "case_seq": case_seq, "prev_statement": prev_statement, "kind": kind,
        "media_type": "application/pdf", "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(), "file_name": file_name,
        "received_at": format_rfc3339_utc(now),
        "captured_at": "2026-11-28T11:00:00+08:00",
    })
    for optional in ("content_address", "media_type_sent", "submitter_signature"):
        obj.pop(optional, None)
    statement = Statement.from_json(obj)
    token = sign_statement(statement, key)
    receipt = sign_receipt(statement.digest_hex(), statement.evidence_id,
                           format_rfc3339_utc(now + timedelta(hours=1)),
                           format_rfc3339_utc(now), key)
    leaf = statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))
    anchor = registry.anchor(leaf, 1)
    item = BundleItem(evidence_id=statement.evidence_id, case_seq=case_seq,
                      file_name=file_name, statement_jws=token, receipt_jws=receipt, proof=(),
                      anchor=anchor, raw_receipt=registry.raw_tx_receipt(anchor.tx_hash))
    return ForgedItem(item.documents(), (item.original_path, content), statement,
                      registry.address)


def statement_of(files: Mapping[str, bytes], item_dir: str) -> Statement:
    return Statement.from_bytes(jws_payload(files[f"{item_dir}/statement.jws"].decode("ascii")))


def json_of(raw: bytes) -> Any:
    return json.loads(raw)
