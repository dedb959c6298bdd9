"""``items/NNN/recording.json``: what proves each segment of an item notarised while it was
recorded (issue 18, docs/recording.md), with nothing but the bundle, and its check.

The statement gives the recording's layout (segment sizes, segment tree root, chain head);
this document gives each segment's salt and signed checkpoint. With the original (the WAV the
statement hashes) each segment's bytes are sliced out by the layout, salted and checked
against its checkpoint and the root, so an edited or moved segment fails by its number; in a
hashes-only bundle the checkpoints are still checked against the root and the chain, and the
segments' bytes are said not to be checked.

CONSENSUS-CRITICAL and pure: the archive reader (``notary.bundles``) hashes the byte ranges
:func:`recording_ranges` names and hands the digests in. The per-segment check is the
excerpts' (:func:`notary.core.excerpt.check_segment`), so the API, ``notary excerpt-verify``
and ``notary verify`` say the same of a segment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

from .. import tlog
from ..digest import FileDigest
from ..errors import NotaryError
from ..excerpt import SegmentContext, check_segment, not_live_reasons, verified_checkpoint
from ..jws import jws_payload
from ..keyhistory import KeyPeriod
from ..recording import RecordingLayout, chain_start, chain_step, leaf_commitment, wav_header
from ..statement import Statement, canonical_json, parse_strict_json
from ..verdict import AnchorFacts, Check, CheckStatus
from .layout import MAX_RECORDING_DOCUMENT_BYTES, RECORDING_NAME, STATEMENT_NAME

__all__ = ["RECORDING_SCHEMA", "recording_check", "recording_document", "recording_ranges"]

RECORDING_SCHEMA: Final = "notary.bundle.recording/v1"
_ENTRY = frozenset({"n", "offset", "size", "salt", "checkpoint"})
_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP
#: The problems a failed check spells out (each names its segment); the rest are counted.
_SHOWN = 20


def recording_document(statement: Statement, segments: Sequence[tuple[str, str]]) -> bytes:
    """``recording.json`` (canonical JSON) of ``statement``'s recording: per segment in order,
    its number, place in the WAV (``offset``, ``size``, from the statement's layout), salt
    (hex) and checkpoint (compact JWS), given as ``(salt, checkpoint)`` pairs."""
    layout = statement.recording
    if layout is None or len(segments) != len(layout.sizes):
        raise ValueError("a recording document needs the statement's recording and each of "
                         "its segments' salt and checkpoint")
    entries = [{"n": n, "offset": offset, "size": size, "salt": salt, "checkpoint": token}
               for n, (offset, size, (salt, token)) in enumerate(
                   zip(layout.offsets(), layout.sizes, segments, strict=True))]
    return canonical_json({"schema": RECORDING_SCHEMA, "evidence_id": statement.evidence_id,
                           "session_id": layout.session_id, "segments": entries})


def _ranges(layout: RecordingLayout) -> list[tuple[int, int]]:
    """The WAV's header, then each segment: ``(offset, size)`` in file order."""
    return [(0, len(wav_header(0, layout.format.sample_rate, layout.format.channels))),
            *zip(layout.offsets(), layout.sizes, strict=True)]


def recording_ranges(items: Sequence[tuple[str, str | None]],
                     documents: Mapping[str, bytes]) -> dict[str, list[tuple[int, int]]]:
    """For each ``(item path, original path)`` whose statement records a live recording and
    whose original is in the bundle: the byte ranges of that original to hash (its header,
    then each segment, by the statement's layout). The statement is only read here; the
    check verifies it and compares the digests."""
    out: dict[str, list[tuple[int, int]]] = {}
    for path, original in items:
        token = documents.get(f"{path}/{STATEMENT_NAME}")
        if original is None or token is None or f"{path}/{RECORDING_NAME}" not in documents:
            continue
        try:
            layout = Statement.from_bytes(jws_payload(token.decode("ascii"))).recording
        except (NotaryError, UnicodeDecodeError, ValueError):
            continue
        if layout is not None:
            out[original] = _ranges(layout)
    return out


def _entries(raw: bytes, statement: Statement, layout: RecordingLayout) -> list[dict[str, Any]]:
    """The document's segments, strictly: one per segment of the layout, in order, each
    where the layout puts it. NotaryError (not strict JSON) or ValueError says what is
    wrong."""
    doc = parse_strict_json(raw, max_bytes=MAX_RECORDING_DOCUMENT_BYTES)
    if not isinstance(doc, dict) or set(doc) != {"schema", "evidence_id", "session_id",
                                                 "segments"}:
        raise ValueError("it is not {schema, evidence_id, session_id, segments}")
    if doc["schema"] != RECORDING_SCHEMA or doc["evidence_id"] != statement.evidence_id \
            or doc["session_id"] != layout.session_id:
        raise ValueError(f"it is not a {RECORDING_SCHEMA} of evidence "
                          f"{statement.evidence_id} (session {layout.session_id})")
    entries = doc["segments"]
    if not isinstance(entries, list) or len(entries) != len(layout.sizes):
        raise ValueError(f"it does not list the statement's {len(layout.sizes)} segments")
    for n, (entry, offset, size) in enumerate(zip(entries, layout.offsets(), layout.sizes,
                                                  strict=True)):
        if not isinstance(entry, dict) or set(entry) != _ENTRY or \
                (entry["n"], entry["offset"], entry["size"]) != (n, offset, size):
            raise ValueError(f"its segments[{n}] is not segment {n} at offset {offset}, "
                              f"{size} bytes, with a salt and a checkpoint")
    return entries


def _claimed_sha256(token: object) -> bytes:
    """The segment SHA-256 a checkpoint states (read, not verified: its check verifies it)."""
    try:
        return bytes.fromhex(parse_strict_json(jws_payload(str(token)), max_bytes=2048)
                             ["sha256"])
    except (NotaryError, KeyError, TypeError, ValueError):
        return b""


def recording_check(path: str, raw: bytes | None, statement: Statement | None,
                    key_set: Mapping[str, Any], anchor: AnchorFacts | None,
                    slices: Sequence[FileDigest | None] | None, *, shredded: bool,
                    periods: Mapping[str, KeyPeriod] | None = None
                    ) -> tuple[Check, dict[str, Any] | None]:
    """``recording``: every segment of the item's recording, against its checkpoint and the
    statement's segment root and chain head, and its bytes in the original when ``slices``
    (the digests of :func:`recording_ranges`' ranges) are given. The check and, when it could
    be made, the facts: per segment ``existed_by`` (its checkpoint's time; the anchor's block
    time bounds them all), ``complete``, ``live``, ``bytes_checked``. With ``periods`` (the
    keys' validity periods) each checkpoint's key must have been valid when it signed."""
    where = f"{path}/{RECORDING_NAME}"
    if statement is None:
        return Check("recording", _SKIP, "Not checked, because the statement could not be "
                                         "verified (see above)."), None
    layout = statement.recording
    if layout is None:
        return Check("recording", _FAIL, f"{where} is in the bundle, but the item's statement "
                                         "records no recording made while notarised."), None
    if raw is None:
        why = ("its segments' salts and checkpoints were destroyed with its content when it "
               "was shredded" if shredded else f"the bundle carries no {where} (exported "
               "before bundles carried it)")
        return Check("recording", _SKIP,
                     f"The item was notarised while recorded, but its segments were not "
                     f"checked one by one: {why}. The recording verifies as a whole."), None
    try:
        entries = _entries(raw, statement, layout)
    except NotaryError as exc:
        return Check("recording", _FAIL, f"{where} is not valid: {exc.message}."), None
    except ValueError as exc:
        return Check("recording", _FAIL, f"{where} is not valid: {exc}."), None
    context = SegmentContext.of(statement, key_set,
                                anchor.block_timestamp if anchor is not None else None,
                                periods)
    problems: list[str] = []
    expected_header = hashlib.sha256(wav_header(
        layout.data_bytes, layout.format.sample_rate, layout.format.channels)).digest()
    if slices is not None and (not slices or slices[0] is None
                               or slices[0].sha256 != expected_header):
        problems.append("WAV 文件头不符 / the original's WAV header is not the one of the "
                        "statement's layout")
    digests: list[tuple[bytes, int]] = []
    for n, entry in enumerate(entries):
        if slices is None:  # hashes only: the checkpoint's own word, checked against the root
            digests.append((_claimed_sha256(entry["checkpoint"]), layout.sizes[n]))
            if not digests[-1][0]:
                problems.append(f"片段 segment {n}: 签收凭证无法读取 / its checkpoint cannot "
                                "be read")
            continue
        got = slices[n + 1] if n + 1 < len(slices) else None
        if got is None or got.size != layout.sizes[n]:
            problems.append(f"片段 segment {n}: 原件中缺失 / its bytes are not (all) in the "
                            "original")
            got = None
        digests.append((got.sha256, got.size) if got is not None else (b"", 0))
    # The tree and chain over the leaves the checkpoints sign (a checkpoint that does not
    # verify counts with the leaf of its segment's bytes, so it fails alone, by its number).
    leaves, heads = [], []
    for n, entry in enumerate(entries):
        try:
            signed = verified_checkpoint(entry["checkpoint"], n, context)
            leaves.append(bytes.fromhex(signed["leaf"]))
            heads.append(signed["chain_head"])
        except (NotaryError, KeyError, TypeError, ValueError):
            try:
                leaves.append(leaf_commitment(bytes.fromhex(entry["salt"]), digests[n][0]))
            except (TypeError, ValueError):
                leaves.append(b"\0" * 32)
            heads.append(None)
    if tlog.root(leaves).hex() != layout.root:
        problems.append("片段树根不符 / the checkpoints' leaves do not make the statement's "
                        "segment root")
    head = chain_start(layout.session_id)
    for n, leaf in enumerate(leaves):
        head = chain_step(head, leaf)
        if heads[n] is not None and heads[n] != head.hex():
            problems.append(f"片段 segment {n}: 哈希链不连续 / its checkpoint's chain head "
                            "does not follow from the segments before it")
    if head.hex() != layout.chain_head:
        problems.append("哈希链末端不符 / the chain of the checkpoints does not end at the "
                        "statement's chain head")
    findings = []
    for n, (entry, path_n) in enumerate(zip(entries, tlog.inclusion_proofs(leaves),
                                            strict=True)):
        digest, size = digests[n]
        if not digest:
            continue
        finding = check_segment(n, digest, size, entry["salt"], path_n, entry["checkpoint"],
                                context, problems)
        if finding is not None:
            findings.append(finding)
    not_live = not_live_reasons(context, findings)
    live = len(findings) == len(entries) and not problems and not not_live
    facts = {"session_id": layout.session_id, "complete": layout.complete, "live": live,
             "not_live": not_live,
             "bytes_checked": slices is not None, "anchored_at": context.anchored_at,
             "segments": findings}
    if problems:
        shown = "; ".join(problems[:_SHOWN])
        more = f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        return Check("recording", _FAIL,
                     f"{where}: the recording is not as notarised: {shown}{more}."), facts
    last = findings[-1]["existed_by"] if findings else "-"
    state = ("complete" if layout.complete else
             "INCOMPLETE: the recorder stopped sending and the session was closed by the "
             "timeout with what had arrived")
    bytes_said = ("each segment's bytes in the original match its signed checkpoint and its "
                  "place in the statement's segment tree" if slices is not None else
                  "the segments' bytes were NOT checked (hashes-only bundle: no original); "
                  "their checkpoints match the statement's segment tree and chain")
    bound = (f", and no later than the anchor's block time {context.anchored_at}"
             if context.anchored_at is not None else "")
    return Check("recording", _PASS,
                 f"{where}: the {len(findings)} segments were notarised while recorded "
                 f"({'live' if live else 'NOT live: ' + '; '.join(not_live)}; "
                 f"{state}); {bytes_said}. Each existed no later than its signed checkpoint "
                 f"(the last at {last}){bound}."), facts
