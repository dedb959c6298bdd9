"""Checkpoints of a recording being made, and the excerpt that proves part of it (issue 18).

A *checkpoint* is the service's signed answer to one segment: the session, the segment's
number, its SHA-256 and size, its salted leaf, the chain head after it and when it arrived,
signed as every notary document is (:class:`~notary.core.signing.SignedFormat`). It shows the
segment existed no later than ``received_at`` (the service's word), and the anchor of the
recording's statement bounds that on chain.

An *excerpt* is a manifest (``excerpt.json``) with the statement, the keys, the covered
segments' bytes, salts, checkpoints and Merkle paths to the statement's segment root, and the
anchor's proof of the statement: :func:`verify_excerpt` checks it with nothing else. Omitted
segments are only leaves in the paths, which without their salts reveal nothing. The WAV
made from the covered segments is declared derived and checked to be exactly them.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from . import tlog
from .callrecord import instant
from .errors import NotaryError
from .merkle import from_hex32, statement_leaf, verify_proof
from .pinning import AnchorQuery, ChainObservation
from .recording import RecordingLayout, leaf_commitment, wav_header
from .signing import STATEMENT, SignedFormat, parse_fixed_document
from .validate import validate_hex_digest, validate_identifier, validate_int, validate_rfc3339

__all__ = ["CHECKPOINT", "CHECKPOINT_SCHEMA", "EXCERPT_SCHEMA", "ExcerptReport",
           "SegmentContext", "anchor_query", "check_segment", "checkpoint_document", "read_excerpt",
           "verified_checkpoint", "verify_excerpt"]

CHECKPOINT_SCHEMA = "notary.recording.checkpoint/v1"
CHECKPOINT_MEDIA_TYPE = "application/vnd.notary.recording-checkpoint.v1+json"
EXCERPT_SCHEMA = "notary.recording.excerpt/v1"
MAX_CHECKPOINT_BYTES = 2048
#: How long after the call's end (the dialer's clock) its last segments may still arrive and
#: the recording count as made during the call.
LIVE_GRACE = timedelta(seconds=60)
#: An excerpt is read into memory: a few minutes of telephone audio are a few MiB.
MAX_EXCERPT_BYTES = 256 * 1024 * 1024
_CHECKPOINT_FIELDS = ("schema", "session_id", "segment", "sha256", "size", "leaf",
                      "chain_head", "received_at")


def checkpoint_document(*, session_id: str, segment: int, sha256: str, size: int, leaf: str,
                        chain_head: str, received_at: str) -> dict[str, Any]:
    """A checkpoint's fields, validated (InputError names the field)."""
    return {
        "schema": CHECKPOINT_SCHEMA,
        "session_id": validate_identifier("session_id", session_id, 64),
        "segment": validate_int("segment", segment, minimum=0),
        "sha256": validate_hex_digest("sha256", sha256),
        "size": validate_int("size", size, minimum=1),
        "leaf": validate_hex_digest("leaf", leaf),
        "chain_head": validate_hex_digest("chain_head", chain_head),
        "received_at": validate_rfc3339("received_at", received_at, require_utc=True),
    }


def _parse_checkpoint(payload: bytes) -> dict[str, Any]:
    return parse_fixed_document(
        payload, schema=CHECKPOINT_SCHEMA, fields=_CHECKPOINT_FIELDS,
        max_bytes=MAX_CHECKPOINT_BYTES, what="checkpoint",
        build=lambda o: checkpoint_document(**{k: o[k] for k in _CHECKPOINT_FIELDS[1:]}))


#: The signed answer to one segment.
CHECKPOINT: SignedFormat[dict[str, Any]] = SignedFormat(
    CHECKPOINT_MEDIA_TYPE, MAX_CHECKPOINT_BYTES, _parse_checkpoint)


@dataclass
class ExcerptReport:
    """What an excerpt proves: per segment, when it existed at the latest; ``problems`` names
    every segment that fails (an empty list: it verifies)."""

    evidence_id: str = ""
    complete: bool = False
    #: Notarised while recorded: every segment checkpointed by the end of the call (when the
    #: statement has a call record) or, without one, as it was streamed.
    live: bool = False
    anchored_at: int | None = None
    #: Verified with keys from a pinned trust root, not the ones the excerpt carries.
    issuer_established: bool = False
    #: A chain node (the verifier's) confirmed the anchor's root and its block time.
    chain_node: str | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "evidence_id": self.evidence_id, "complete": self.complete,
                "live": self.live, "anchored_at": self.anchored_at,
                "issuer_established": self.issuer_established,
                "chain_checked": self.chain_node is not None,
                "segments": self.segments, "problems": self.problems}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class SegmentContext:
    """What every segment of one recording is checked against: the statement's layout, the
    keys its checkpoints must verify with, the anchor's block time (None: not anchored) and
    the call record's end (None: no call record)."""

    layout: RecordingLayout
    keys: Mapping[str, Any]
    anchored_at: int | None
    call_end: datetime | None

    @cached_property
    def starts_ms(self) -> list[int]:
        return self.layout.starts_ms()


def verified_checkpoint(token: object, n: int, context: SegmentContext) -> dict[str, Any]:
    """Segment ``n``'s checkpoint, its signature verified with ``context.keys`` and naming
    this session and segment; NotaryError (its signature or format), TypeError (no JWS) or
    ValueError (another segment's) otherwise."""
    if not isinstance(token, str):
        raise TypeError("the checkpoint is not a compact JWS")
    checkpoint = CHECKPOINT.verify(token, context.keys).document
    if (checkpoint["session_id"], checkpoint["segment"]) != (context.layout.session_id, n):
        raise ValueError("it is another segment's")
    return checkpoint


def check_segment(n: int, digest: bytes, size: int, salt: object, path: Sequence[bytes],
                  checkpoint: object, context: SegmentContext,
                  problems: list[str]) -> dict[str, Any] | None:
    """Check segment ``n`` of SHA-256 ``digest`` and ``size`` bytes against the statement's
    segment root (its salted leaf and Merkle ``path``) and its signed ``checkpoint``; append
    each problem, naming the segment, to ``problems``. The finding (``existed_by``,
    ``during_call``...), or None when the segment is not proven at all. Shared by excerpts
    and proof bundles (:mod:`notary.core.bundle.recording`)."""
    layout = context.layout
    where = f"片段 segment {n}"
    if size != layout.sizes[n]:
        problems.append(f"{where}: 大小不符 / is {size} bytes, the statement says "
                        f"{layout.sizes[n]}")
    try:
        if not isinstance(salt, str):
            raise TypeError("the salt is not hex text")
        leaf = leaf_commitment(bytes.fromhex(salt), digest)
    except (TypeError, ValueError):
        problems.append(f"{where}: 证明格式错误 / its salt is malformed")
        return None
    try:
        tlog.verify_inclusion(leaf, n, len(layout.sizes), path, bytes.fromhex(layout.root))
    except tlog.ProofError:
        problems.append(f"{where}: 内容或位置与声明不符 / its bytes or position do not "
                        "match the statement's segment root (changed or re-ordered)")
        return None
    try:
        document = verified_checkpoint(checkpoint, n, context)
    except (NotaryError, KeyError, TypeError, ValueError) as exc:
        problems.append(f"{where}: 签收凭证无效 / its checkpoint does not verify: {exc}")
        return None
    if document["leaf"] != leaf.hex():
        problems.append(f"{where}: 签收凭证属于别的片段 / its checkpoint is another "
                        "segment's")
        return None
    received = document["received_at"]
    if _instant(received) > _instant(layout.last_received_at):
        problems.append(f"{where}: 签收时间晚于录音结束 / checkpoint after the recording")
    # A block's time is in whole seconds: a checkpoint in the anchor's own second is fine.
    if context.anchored_at is not None and _instant(received).timestamp() >= \
            context.anchored_at + 1:
        problems.append(f"{where}: 签收时间晚于上链 / its checkpoint is later than the "
                        "anchor")
    during = context.call_end is None or _instant(received) <= context.call_end + LIVE_GRACE
    return {"n": n, "start_ms": context.starts_ms[n], "size": size, "sha256": digest.hex(),
            "existed_by": received, "during_call": during}


def verify_excerpt(manifest: Mapping[str, Any], files: Mapping[str, bytes],
                   trusted_keys: Mapping[str, Any] | None = None,
                   chain: ChainObservation | None = None) -> ExcerptReport:
    """Check an excerpt manifest and its files; never raises for bad evidence. Each problem
    names what failed (``segment 3: ...``), in Chinese and English.

    The manifest itself is not signed, so everything it says is checked: the segments are
    one contiguous run, exactly the ones that cover its ``from_ms``-``to_ms``; the derived
    WAV is exactly a header and those segments in order; the ZIP holds nothing else; and
    the statement is anchored (otherwise no checkpoint time is bounded by the chain).

    ``trusted_keys`` (a JWKS, e.g. from the deployment's pinned trust root) replaces the keys
    the excerpt carries: only then is who issued it established (``issuer_established``).
    ``chain``: what the verifier's chain node said of the anchor (:func:`anchor_query`; None:
    no node asked): the root must be recorded there, and the node's block time bounds the
    checkpoints."""
    report = ExcerptReport(issuer_established=trusted_keys is not None)
    if trusted_keys is not None:
        manifest = {**manifest, "keys": trusted_keys}
    try:
        _verify(manifest, files, report, chain)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        report.problems.append(f"节选格式错误 / the excerpt is malformed: {exc!r}")
    return report


def _verify(manifest: Mapping[str, Any], files: Mapping[str, bytes],
            report: ExcerptReport, chain: ChainObservation | None) -> None:
    problems = report.problems
    try:
        signed = STATEMENT.verify(manifest["statement"], manifest["keys"])
    except (NotaryError, KeyError, TypeError) as exc:
        problems.append(f"声明签名无效 / the statement does not verify: {exc}")
        return
    statement = signed.document
    layout: RecordingLayout | None = statement.recording
    report.evidence_id = statement.evidence_id
    if layout is None:
        problems.append("声明不含实时录音 / the statement records no live recording")
        return
    report.complete = layout.complete
    report.live = True
    if manifest.get("anchor") is None:
        problems.append("未锚定 / not anchored: no checkpoint time is bounded by the chain")
    else:
        _check_anchor(manifest["anchor"], statement, report)
        if chain is not None and report.anchored_at is not None:
            _check_chain(manifest["anchor"], chain, report)
    entries = manifest["segments"]
    from_ms, to_ms = manifest["from_ms"], manifest["to_ms"]
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries) \
            or type(from_ms) is not int or type(to_ms) is not int:
        raise TypeError("segments is a list of objects; from_ms and to_ms are integers")
    numbers = [e.get("n") for e in entries]
    covering = layout.covering(from_ms, to_ms) if 0 <= from_ms < to_ms else []
    if not covering or numbers != covering:
        problems.append(f"片段与时段不符 / the segments {numbers} are not the ones that cover "
                        f"{from_ms}-{to_ms} ms ({covering}): an excerpt is one unbroken "
                        "stretch of the recording")
    context = SegmentContext(layout, manifest["keys"], report.anchored_at,
                             instant("ended_at", statement.call.ended_at)
                             if statement.call else None)
    held: dict[int, bytes] = {}
    for entry in entries:
        n = entry.get("n")
        if type(n) is not int or not 0 <= n < len(layout.sizes) or n in held:
            problems.append(f"片段编号无效 / a segment number is not in the recording or "
                            f"repeated: {n!r}")
            continue
        data = files.get(str(entry.get("file")))
        if data is None:
            problems.append(f"片段 segment {n}: 文件缺失 / its file is missing")
            continue
        try:
            path = [bytes.fromhex(p) for p in entry["proof"]]
        except (KeyError, TypeError, ValueError):
            problems.append(f"片段 segment {n}: 证明格式错误 / its proof is malformed")
            continue
        finding = check_segment(n, hashlib.sha256(data).digest(), len(data),
                                entry.get("salt"), path, entry.get("checkpoint"), context,
                                problems)
        if finding is None:
            continue
        report.live = report.live and finding["during_call"]
        held[n] = data
        report.segments.append(finding)
    report.segments.sort(key=lambda s: s["n"])
    derived = manifest.get("derived")
    _check_derived(derived, files, held, numbers, layout, problems)
    named = {str(e.get("file")) for e in entries}
    if isinstance(derived, Mapping):
        named.add(str(derived.get("file")))
    extra = sorted(set(files) - named)
    if extra:
        problems.append(f"节选含未声明的文件 / the excerpt holds files it does not account "
                        f"for: {extra[:5]}")


def _check_anchor(anchor: object, statement: Any, report: ExcerptReport) -> None:
    """The statement's Merkle proof to the anchored root; the block time then bounds every
    checkpoint on chain (the chain itself is not asked here)."""
    try:
        if not isinstance(anchor, Mapping):
            raise TypeError("the anchor is not an object")
        leaf = statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))
        verify_proof(from_hex32(anchor["root"]), leaf,
                     [from_hex32(p) for p in anchor["proof"]])
        report.anchored_at = int(anchor["block_timestamp"])
    except (NotaryError, KeyError, TypeError, ValueError) as exc:
        report.problems.append(f"锚定证明无效 / the anchor proof does not verify: {exc}")


def anchor_query(manifest: Mapping[str, Any]) -> AnchorQuery | None:
    """What to ask a chain node about the anchor an excerpt claims (None: it claims none, or
    not readably; its check says so)."""
    anchor = manifest.get("anchor")
    if not isinstance(anchor, Mapping):
        return None
    try:
        return AnchorQuery(int(anchor["chain_id"]), str(anchor["contract"]).lower(),
                           from_hex32(anchor["root"]))
    except (NotaryError, KeyError, TypeError, ValueError):
        return None


def _check_chain(anchor: Mapping[str, Any], seen: ChainObservation,
                 report: ExcerptReport) -> None:
    """The verifier's node must record the anchor's root in the registry the excerpt names,
    on its chain; then the node's block time is the one that bounds the checkpoints."""
    where = f"链节点 chain node {seen.node}"
    if seen.error is not None:
        report.problems.append(f"{where}: 无法询问 / could not be asked: {seen.error}")
        return
    if seen.chain_id != anchor.get("chain_id"):
        report.problems.append(f"{where}: 链不符 / is on chain {seen.chain_id}, the excerpt's "
                               f"anchor on chain {anchor.get('chain_id')}")
        return
    if not seen.registry_found or seen.anchor is None:
        report.problems.append(f"{where}: 链上无此锚定 / the registry {anchor.get('contract')} "
                               f"on chain {seen.chain_id} does not record the root "
                               f"{anchor.get('root')}")
        return
    if seen.anchor.block_timestamp != report.anchored_at:
        report.problems.append(f"{where}: 区块时间不符 / the root was anchored at "
                               f"{seen.anchor.block_timestamp}, the excerpt says "
                               f"{report.anchored_at}")
    report.anchored_at = seen.anchor.block_timestamp
    report.chain_node = seen.node


def _check_derived(derived: object, files: Mapping[str, bytes], held: Mapping[int, bytes],
                   numbers: list[Any], layout: RecordingLayout, problems: list[str]) -> None:
    """The derived WAV must be there, and exactly a header and the excerpt's segments (all
    of them, each once, in recording order)."""
    wav = files.get(str(derived.get("file"))) if isinstance(derived, Mapping) else None
    order = derived.get("from_segments") if isinstance(derived, Mapping) else None
    if wav is None or order != numbers or any(n not in held for n in numbers):
        problems.append("派生 WAV 缺失或来源不符 / the derived WAV is missing, or is not made "
                        "of exactly the excerpt's segments in order")
        return
    pcm = b"".join(held[n] for n in numbers)
    fmt = layout.format
    if wav != wav_header(len(pcm), fmt.sample_rate, fmt.channels) + pcm:
        problems.append("派生 WAV 与片段不符 / the derived WAV is not the segments it names")


def read_excerpt(data: bytes, trusted_keys: Mapping[str, Any] | None = None,
                 ask: Callable[[AnchorQuery], ChainObservation] | None = None) -> ExcerptReport:
    """Verify an excerpt ZIP as ``notary excerpt`` writes it; a ZIP that cannot be read is a
    report with that one problem. ``ask``: a chain node of the verifier's, asked about the
    anchor the excerpt claims (:func:`verify_excerpt`'s ``chain``)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_EXCERPT_BYTES:
                raise ValueError("it unpacks to more than 256 MiB")
            files = {name: zf.read(name) for name in zf.namelist()}
        manifest = json.loads(files.pop("excerpt.json"))
        if not isinstance(manifest, dict) or manifest.get("schema") != EXCERPT_SCHEMA:
            raise ValueError(f"excerpt.json is no {EXCERPT_SCHEMA}")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        return ExcerptReport(problems=[f"无法读取节选 / the excerpt cannot be read: {exc}"])
    query = anchor_query(manifest) if ask is not None else None
    return verify_excerpt(manifest, files, trusted_keys,
                          ask(query) if ask is not None and query is not None else None)
