"""What an item notarised while recorded proves (issue 18): excerpts and per-segment checks.

An excerpt is built from the item's stored content (so a shredded item has none: 410) and the
segments' salts, checkpoints and leaves kept in ``recording_segments``; it is checked by
:func:`notary.core.excerpt.verify_excerpt`, the same code ``notary excerpt-verify`` runs.
"""

from __future__ import annotations

import bisect
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

from sqlmodel import col, select

from notary.core import tlog
from notary.core.excerpt import EXCERPT_SCHEMA, segment_file, verify_excerpt
from notary.core.merkle import to_hex32
from notary.core.recording import RecordingLayout, wav_header
from notary.core.signing import jws_payload
from notary.core.statement import Statement
from notary.core.validate import format_rfc3339_utc
from notary.service.actors import Actor
from notary.service.context import Context
from notary.service.errors import NotFound
from notary.service.recording import SegmentInvalid
from notary.service.tenancy import visible_evidence
from storage.db import Evidence, session, utc
from storage.recordings import RecordingSegment

__all__ = ["excerpt", "recording_segments", "verification"]


def _parts(ctx: Context, *, tenant: str, evidence_id: str, from_ms: int,
           to_ms: int) -> tuple[dict[str, Any], dict[str, bytes]]:
    """What proves the audio from ``from_ms`` to ``to_ms`` alone (the manifest and files of
    an excerpt): the covering segments' bytes, their salts, checkpoints and paths to the
    statement's segment root, the statement, the keys, the anchor proof once anchored, and a
    WAV made of them (declared derived). NotFound ``recording_absent`` for an item without a
    recording; SegmentInvalid ``excerpt_range_invalid`` for a range that covers nothing."""
    row = visible_evidence(ctx.engine, tenant, evidence_id)
    layout = Statement.from_bytes(jws_payload(row.statement_jws)).recording
    if layout is None:
        raise NotFound(f"evidence {evidence_id!r} is no recording notarised while made",
                       code="recording_absent", evidence_id=evidence_id)
    chosen = layout.covering(from_ms, to_ms) if 0 <= from_ms < to_ms else []
    if not chosen:
        raise SegmentInvalid("the range covers no audio of the recording",
                             code="excerpt_range_invalid", from_ms=from_ms, to_ms=to_ms)
    content = ctx.open_content(row)  # first: a shredded item (its segments gone) is 410
    with session(ctx.engine) as s:
        held = {g.n: g for g in s.exec(select(RecordingSegment).where(
            col(RecordingSegment.session_id) == layout.session_id)).all()}
    leaves = [bytes.fromhex(held[i].leaf) for i in range(len(layout.sizes))]
    pieces = _slices(content, layout, set(chosen))
    files: dict[str, bytes] = {}
    entries = []
    for n in chosen:
        name = segment_file(n)
        files[name] = pieces[n]
        entries.append({"n": n, "file": name, "salt": held[n].salt,
                        "proof": [p.hex() for p in tlog.inclusion_proof(n, leaves)],
                        "checkpoint": held[n].checkpoint_jws})
    pcm = b"".join(pieces[n] for n in chosen)
    files["excerpt.wav"] = wav_header(len(pcm), layout.format.sample_rate,
                                      layout.format.channels) + pcm
    manifest: dict[str, Any] = {
        "schema": EXCERPT_SCHEMA, "evidence_id": evidence_id, "from_ms": from_ms,
        "to_ms": to_ms, "statement": row.statement_jws, "keys": ctx.jwks(),
        "segments": entries,
        "derived": {"file": "excerpt.wav", "from_segments": chosen,
                    "note": "由所含片段拼接而成的派生文件 / derived: a WAV made of the "
                            "segments above, not itself notarised"}}
    proof = ctx.proof_of(row)
    if proof is not None:
        path, root, anchor = proof
        manifest["anchor"] = {"root": to_hex32(root), "proof": [to_hex32(p) for p in path],
                              "block_timestamp": anchor.block_timestamp,
                              "block_number": anchor.block_number, "chain_id": anchor.chain_id,
                              "tx_hash": anchor.tx_hash, "contract": anchor.contract}
    return manifest, files


def recording_segments(ctx: Context, row: Evidence) -> tuple[tuple[str, str], ...]:
    """Each segment's ``(salt, checkpoint)`` of an item notarised while recorded, for its
    proof bundle's ``recording.json``; empty for any other item, and for a shredded one
    (its segments' rows were forgotten with its content)."""
    layout = Statement.from_bytes(jws_payload(row.statement_jws)).recording
    if layout is None:
        return ()
    with session(ctx.engine) as s:
        held = {g.n: g for g in s.exec(select(RecordingSegment).where(
            col(RecordingSegment.session_id) == layout.session_id)).all()}
    if sorted(held) != list(range(len(layout.sizes))):
        return ()
    return tuple((held[n].salt, held[n].checkpoint_jws) for n in range(len(layout.sizes)))


def excerpt(ctx: Context, *, tenant: str, evidence_id: str, from_ms: int, to_ms: int,
            actor: Actor | None) -> bytes:
    """The excerpt ZIP of :func:`_parts`; recorded in the item's custody log (``exported``)
    when ``actor`` is given."""
    manifest, files = _parts(ctx, tenant=tenant, evidence_id=evidence_id, from_ms=from_ms,
                             to_ms=to_ms)
    if actor is not None:  # segments leave the service: the item's custody log says so
        ctx.record_audit(evidence_id, "exported", actor,
                         f"recording excerpt {from_ms}-{to_ms} ms", tenant=tenant)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("excerpt.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def verification(ctx: Context, *, tenant: str, evidence_id: str) -> dict[str, Any]:
    """What the item proves of its recording: per segment, no later than when it existed
    (its checkpoint; the anchor's block time bounds all), checked against the stored bytes
    (an excerpt of the whole recording, verified). An item uploaded after the fact says it
    was not live."""
    row = visible_evidence(ctx.engine, tenant, evidence_id)
    layout = Statement.from_bytes(jws_payload(row.statement_jws)).recording
    if layout is None:
        return {"ok": True, "evidence_id": evidence_id, "live": False,
                "note": "事后上传，非通话中实时公证 / uploaded after the fact, not notarised "
                        "while recorded", "segments": [], "problems": []}
    if row.shredded_at is not None:
        return _what_remains(ctx, row, layout)
    whole = sum(layout.sizes) * 1000 // layout.format.bytes_per_second + 1000
    # checked as an excerpt of the whole recording, without zipping it (the deployment's keys)
    manifest, files = _parts(ctx, tenant=tenant, evidence_id=evidence_id, from_ms=0,
                             to_ms=whole)
    return verify_excerpt(manifest, files, ctx.jwks()).to_json()


def _what_remains(ctx: Context, row: Any, layout: RecordingLayout) -> dict[str, Any]:
    """A shredded recording: its segments' bytes, salts and checkpoints are destroyed, so no
    segment can be checked and no per-segment time shown; what the anchored statement says
    of the recording (segment count, sizes, segment root, chain head, times) still stands."""
    proof = ctx.proof_of(row)
    rate = layout.format.bytes_per_second
    shredded = format_rfc3339_utc(utc(row.shredded_at))
    return {
        "ok": True, "evidence_id": row.id, "shredded": True, "shredded_at": shredded,
        "complete": layout.complete, "live": None,
        "anchored_at": proof[2].block_timestamp if proof is not None else None,
        "issuer_established": False,
        "segments": [{"n": n, "start_ms": off * 1000 // rate, "size": size,
                      "existed_by": None, "checked": False}
                     for n, (off, size) in enumerate(zip(layout.offsets(), layout.sizes,
                                                         strict=True))],
        "statement": {"segments": len(layout.sizes), "root": layout.root,
                      "chain_head": layout.chain_head, "opened_at": layout.opened_at,
                      "last_received_at": layout.last_received_at},
        "problems": [],
        "note": f"录音内容已于 {shredded} 加密销毁：各段内容、盐与签收凭证均已销毁，"
                "无法再逐段核验或给出逐段时间；"
                "已上链的声明（段数、长度、段树根、哈希链头）仍然有效 / the "
                f"recording was shredded at {shredded}: its segments' bytes, salts and "
                "checkpoints are destroyed, so no segment can be checked nor its time shown; "
                "the anchored statement (segment count, sizes, segment root, chain head) "
                "stands"}


def _slices(content: Iterator[bytes], layout: RecordingLayout,
            wanted: set[int]) -> dict[int, bytes]:
    """The wanted segments' bytes out of the item's WAV, streamed (nothing on disk)."""
    offsets = layout.offsets()
    ends = [off + size for off, size in zip(offsets, layout.sizes, strict=True)]
    out = {n: bytearray() for n in wanted}
    at = 0
    for piece in content:
        end = at + len(piece)
        n = bisect.bisect_right(ends, at)  # the first segment that ends after ``at``
        while n < len(ends) and offsets[n] < end:
            if n in out:
                out[n] += piece[max(offsets[n] - at, 0):min(ends[n], end) - at]
            n += 1
        at = end
    return {n: bytes(b) for n, b in out.items()}
