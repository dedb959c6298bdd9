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
import re
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from . import tlog
from .callrecord import CallRecord, instant
from .errors import NotaryError
from .jws import claimed_kid
from .keyhistory import KeyPeriod
from .merkle import from_hex32, statement_leaf, verify_proof
from .pinning import AnchorQuery, ChainObservation
from .recording import RecordingLayout, leaf_commitment, wav_header
from .signing import STATEMENT, SignedFormat, parse_fixed_document
from .statement import Statement, parse_strict_json
from .validate import validate_hex_digest, validate_identifier, validate_int, validate_rfc3339

__all__ = ["CHECKPOINT", "CHECKPOINT_SCHEMA", "CLOCK_SLACK", "EXCERPT_SCHEMA", "ExcerptReport",
           "SegmentContext", "anchor_query", "check_segment", "checkpoint_document",
           "not_live_reasons", "read_excerpt", "segment_file", "verified_checkpoint",
           "verify_excerpt"]

CHECKPOINT_SCHEMA = "notary.recording.checkpoint/v1"
CHECKPOINT_MEDIA_TYPE = "application/vnd.notary.recording-checkpoint.v1+json"
EXCERPT_SCHEMA = "notary.recording.excerpt/v1"
MAX_CHECKPOINT_BYTES = 2048
#: How long after the call's end (the dialer's clock) its last segments may still arrive and
#: the recording count as made during the call.
LIVE_GRACE = timedelta(seconds=60)
#: The clocks' tolerance of the real-time rule (docs/recording.md, "What verification
#: proves"): a recorder may open its session a little after the call began, and the dialer's
#: clock is not the service's. A segment checkpointed more than this before its audio could
#: have been recorded, or before the call began, was not recorded live.
CLOCK_SLACK = timedelta(seconds=5)
#: How long after the call began a recorder may open its session and still stream the
#: recording live (it sends the audio it buffered meanwhile at once).
OPEN_LATENCY = timedelta(seconds=30)
#: An excerpt is read into memory: a few minutes of telephone audio are a few MiB.
MAX_EXCERPT_BYTES = 256 * 1024 * 1024
#: ``excerpt.json`` of the longest recording (7200 segments, each ~2 KB of salt, Merkle path
#: and checkpoint) is about 14 MiB; nothing larger is parsed.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
#: The manifest, the derived WAV and at most every segment of the longest recording.
MAX_MEMBERS = 7200 + 2
#: The only member names an excerpt has (``segment_file``): nothing extracts elsewhere.
_SEGMENT_FILE = re.compile(r"segments/[0-9]{6}\.pcm")
_FIXED_MEMBERS = frozenset({"excerpt.json", "excerpt.wav"})
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
    #: Notarised while recorded (:func:`not_live_reasons`): no segment checkpointed before its
    #: audio could have been recorded, nor outside the call (when there is a call record).
    live: bool = False
    #: Why ``live`` is false, in both languages (empty when it is true).
    not_live: list[str] = field(default_factory=list)
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
                "live": self.live, "not_live": self.not_live, "anchored_at": self.anchored_at,
                "issuer_established": self.issuer_established,
                "chain_checked": self.chain_node is not None,
                "segments": self.segments, "problems": self.problems}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class SegmentContext:
    """What every segment of one recording is checked against: the statement's layout, the
    keys its checkpoints must verify with, the anchor's block time (None: not anchored), the
    call record (None: none) and, from a pinned trust root or a key history, each key's
    validity period (None: the keys are taken as they are)."""

    layout: RecordingLayout
    keys: Mapping[str, Any]
    anchored_at: int | None
    call: CallRecord | None
    periods: Mapping[str, KeyPeriod] | None = None

    @classmethod
    def of(cls, statement: Statement, keys: Mapping[str, Any], anchored_at: int | None,
           periods: Mapping[str, KeyPeriod] | None = None) -> SegmentContext:
        if statement.recording is None:
            raise ValueError("the statement records no live recording")
        return cls(statement.recording, keys, anchored_at, statement.call, periods)

    @cached_property
    def starts_ms(self) -> list[int]:
        return self.layout.starts_ms()

    @cached_property
    def call_window(self) -> tuple[datetime, datetime] | None:
        """The call's start and end (the dialer's clock)."""
        if self.call is None:
            return None
        return instant("started_at", self.call.started_at), instant("ended_at",
                                                                     self.call.ended_at)

    @cached_property
    def reference(self) -> datetime:
        """When the recording could have begun at the earliest: the session's opening, or
        the call's start when that is earlier, but never more than :data:`OPEN_LATENCY`
        before the opening (the service's clock): a call record is the recorder's word, and a
        start claimed long before the session opened would let an old file pass as live."""
        opened = _instant(self.layout.opened_at)
        window = self.call_window
        if window is None:
            return opened
        return max(min(opened, window[0]), opened - OPEN_LATENCY)

    def recorded_by(self, n: int) -> datetime:
        """The earliest time segment ``n``'s audio can all have been recorded live."""
        rate = self.layout.format.bytes_per_second
        end_ms = self.starts_ms[n] + self.layout.sizes[n] * 1000 // rate
        return self.reference + timedelta(milliseconds=end_ms)


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
    if context.periods is not None:
        _key_period(f"{where}: 签收凭证", "its checkpoint", checkpoint, received,
                    context.periods, problems)
    at = _instant(received)
    window = context.call_window
    during = window is None or window[0] - CLOCK_SLACK <= at <= window[1] + LIVE_GRACE
    return {"n": n, "start_ms": context.starts_ms[n], "size": size, "sha256": digest.hex(),
            "existed_by": received, "during_call": during,
            "real_time": at >= context.recorded_by(n) - CLOCK_SLACK}


def _key_period(what_zh: str, what: str, token: object, moment: str,
                periods: Mapping[str, KeyPeriod], problems: list[str]) -> None:
    """The key that signed ``token`` (verified) was valid at ``moment``, the time the signed
    document states (the pinned trust root's or the key history's period)."""
    kid = claimed_kid(token) if isinstance(token, str) else None
    period = periods.get(kid) if kid is not None else None
    try:
        covered = period is not None and period.covers(moment)
    except NotaryError:
        covered = False
    if not covered:
        problems.append(f"{what_zh}的签名密钥当时无效 / {what} was signed at {moment} by key "
                        f"{kid}, which is "
                        f"{period.describe() if period is not None else 'not a known key'}")


def not_live_reasons(context: SegmentContext, findings: Sequence[Mapping[str, Any]]
                     ) -> list[str]:
    """Why the recording was not notarised while made (empty: it was), by the segments'
    ``findings`` (:func:`check_segment`): a segment checkpointed before its audio could have
    been recorded (``real_time``: streamed faster than real time), or outside the call record
    (``during_call``); or the audio lasting longer than the call. The one rule of the API
    route, ``notary excerpt-verify`` and ``notary verify`` (docs/recording.md)."""
    reasons = []
    fast = [f["n"] for f in findings if not f["real_time"]]
    if fast:
        reasons.append(f"片段 {fast[:10]} 签收早于其音频可能录完的时间（快于实时上传）/ segments "
                       f"{fast[:10]} were checkpointed before their audio could have been "
                       f"recorded (sent faster than real time; more than "
                       f"{int(CLOCK_SLACK.total_seconds())} s ahead)")
    outside = [f["n"] for f in findings if not f["during_call"]]
    if outside:
        reasons.append(f"片段 {outside[:10]} 签收不在通话期间 / segments {outside[:10]} were "
                       "checkpointed before the call record's start or after its end")
    window = context.call_window
    rate = context.layout.format.bytes_per_second
    audio = timedelta(milliseconds=context.layout.data_bytes * 1000 // rate)
    if window is not None and audio > window[1] - window[0] + CLOCK_SLACK:
        reasons.append(f"录音时长 {audio.total_seconds():.0f} 秒超过通话时长 "
                       f"{(window[1] - window[0]).total_seconds():.0f} 秒 / the audio lasts "
                       f"{audio.total_seconds():.0f} s, longer than the call record's "
                       f"{(window[1] - window[0]).total_seconds():.0f} s")
    return reasons


def verify_excerpt(manifest: Mapping[str, Any], files: Mapping[str, bytes],
                   trusted_keys: Mapping[str, Any] | None = None,
                   chain: ChainObservation | None = None,
                   periods: Mapping[str, KeyPeriod] | None = None) -> ExcerptReport:
    """Check an excerpt manifest and its files; never raises for bad evidence. Each problem
    names what failed (``segment 3: ...``), in Chinese and English.

    The manifest itself is not signed, so everything it says is checked: the segments are
    one contiguous run, exactly the ones that cover its ``from_ms``-``to_ms``; each segment's
    file is ``segments/NNNNNN.pcm`` (its number) and the derived WAV ``excerpt.wav``, which
    is exactly a header and those segments in order; the ZIP holds nothing else; and the
    statement is anchored (otherwise no checkpoint time is bounded by the chain).

    ``trusted_keys`` (a JWKS, e.g. from the deployment's pinned trust root) replaces the keys
    the excerpt carries: only then is who issued it established (``issuer_established``).
    ``periods`` (the pinned trust root's, by kid): the statement's key must have been valid
    at its ``received_at`` and each checkpoint's at its own. ``chain``: what the verifier's
    chain node said of the anchor (:func:`anchor_query`; None: no node asked, and
    ``chain_checked`` is false): the root must be recorded there, and the node's block time
    bounds the checkpoints."""
    report = ExcerptReport(issuer_established=trusted_keys is not None)
    if trusted_keys is not None:
        manifest = {**manifest, "keys": trusted_keys}
    try:
        _verify(manifest, files, report, chain, periods)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        report.problems.append(f"节选格式错误 / the excerpt is malformed: {exc!r}")
    if report.problems:
        report.live = False
    return report


def segment_file(n: int) -> str:
    """The one name segment ``n``'s bytes have in an excerpt."""
    return f"segments/{n:06d}.pcm"


def _verify(manifest: Mapping[str, Any], files: Mapping[str, bytes],
            report: ExcerptReport, chain: ChainObservation | None,
            periods: Mapping[str, KeyPeriod] | None) -> None:
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
    if periods is not None:
        _key_period("声明", "the statement", manifest["statement"], statement.received_at,
                    periods, problems)
    report.complete = layout.complete
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
    context = SegmentContext.of(statement, manifest["keys"], report.anchored_at, periods)
    held: dict[int, bytes] = {}
    for entry in entries:
        n = entry.get("n")
        if type(n) is not int or not 0 <= n < len(layout.sizes) or n in held:
            problems.append(f"片段编号无效 / a segment number is not in the recording or "
                            f"repeated: {n!r}")
            continue
        if entry.get("file") != segment_file(n):
            problems.append(f"片段 segment {n}: 文件名须为 / its file must be named "
                            f"{segment_file(n)}, not {str(entry.get('file'))[:80]!r}")
            continue
        data = files.get(segment_file(n))
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
        held[n] = data
        report.segments.append(finding)
    report.segments.sort(key=lambda s: s["n"])
    report.not_live = not_live_reasons(context, report.segments)
    report.live = not report.not_live
    derived = manifest.get("derived")
    _check_derived(derived, files, held, numbers, layout, problems)
    named = {segment_file(n) for n in held}
    if isinstance(derived, Mapping) and derived.get("file") == "excerpt.wav":
        named.add("excerpt.wav")
    extra = sorted(set(files) - named)
    if extra:
        problems.append(f"节选含未声明的文件 / the excerpt holds files it does not account "
                        f"for: {[str(x)[:80] for x in extra[:5]]}")


def _check_anchor(anchor: object, statement: Any, report: ExcerptReport) -> None:
    """The statement's Merkle proof to the anchored root; the block time then bounds every
    checkpoint on chain (the chain itself is not asked here)."""
    try:
        if not isinstance(anchor, Mapping):
            raise TypeError("the anchor is not an object")
        leaf = statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))
        verify_proof(from_hex32(anchor["root"]), leaf,
                     [from_hex32(p) for p in anchor["proof"]])
        stamp = anchor["block_timestamp"]
        if type(stamp) is not int or not 0 <= stamp < 2 ** 63:
            raise ValueError(f"block_timestamp {str(stamp)[:40]} is not a block time")
        report.anchored_at = stamp
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
    wav = files.get("excerpt.wav") if isinstance(derived, Mapping) and \
        derived.get("file") == "excerpt.wav" else None
    order = derived.get("from_segments") if isinstance(derived, Mapping) else None
    if wav is None or order != numbers or any(n not in held for n in numbers):
        problems.append("派生 WAV 缺失或来源不符 / the derived WAV is missing, or is not made "
                        "of exactly the excerpt's segments in order")
        return
    pcm = b"".join(held[n] for n in numbers)
    fmt = layout.format
    if wav != wav_header(len(pcm), fmt.sample_rate, fmt.channels) + pcm:
        problems.append("派生 WAV 与片段不符 / the derived WAV is not the segments it names")


def _members(zf: zipfile.ZipFile) -> dict[str, bytes]:
    """The excerpt's members, read with bounded memory: only the names an excerpt has
    (``excerpt.json``, ``excerpt.wav``, ``segments/NNNNNN.pcm``), each once, stored or
    deflated, not encrypted; no more than the limits. ValueError says what is refused."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ValueError(f"it has {len(infos)} members, more than {MAX_MEMBERS}")
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if name not in _FIXED_MEMBERS and not _SEGMENT_FILE.fullmatch(name):
            raise ValueError(f"the member {name[:80]!r} is none an excerpt has "
                             "(excerpt.json, excerpt.wav, segments/NNNNNN.pcm)")
        if name.casefold() in seen:
            raise ValueError(f"the member {name!r} is there twice")
        seen.add(name.casefold())
        if info.flag_bits & 0x1:
            raise ValueError(f"the member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(f"the member {name!r} is compressed with an unknown method")
    budget = MAX_EXCERPT_BYTES
    files: dict[str, bytes] = {}
    for info in infos:
        limit = MAX_MANIFEST_BYTES if info.filename == "excerpt.json" else budget
        if info.file_size > limit:
            raise ValueError(f"the member {info.filename!r} is larger than allowed")
        with zf.open(info) as member:  # the declared size is not trusted: read one more
            data = member.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"the member {info.filename!r} is larger than allowed")
        budget -= len(data)
        files[info.filename] = data
    return files


def read_excerpt(data: bytes, trusted_keys: Mapping[str, Any] | None = None,
                 ask: Callable[[AnchorQuery], ChainObservation] | None = None,
                 periods: Mapping[str, KeyPeriod] | None = None) -> ExcerptReport:
    """Verify an excerpt ZIP as ``notary excerpt`` writes it; a ZIP that cannot be read (or
    holds anything an excerpt does not) is a report with that one problem. ``ask``: a chain
    node of the verifier's, asked about the anchor the excerpt claims
    (:func:`verify_excerpt`'s ``chain``); ``periods``: the trusted keys' validity."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            files = _members(zf)
        manifest = parse_strict_json(files.pop("excerpt.json"), max_bytes=MAX_MANIFEST_BYTES)
        if not isinstance(manifest, dict) or manifest.get("schema") != EXCERPT_SCHEMA:
            raise ValueError(f"excerpt.json is no {EXCERPT_SCHEMA}")
    except NotaryError as exc:
        why = f"无法读取节选 / the excerpt cannot be read: excerpt.json: {exc.message}"
        return ExcerptReport(problems=[why])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, RuntimeError,
            NotImplementedError, EOFError, OSError, zlib.error) as exc:
        return ExcerptReport(problems=[f"无法读取节选 / the excerpt cannot be read: {exc}"])
    query = anchor_query(manifest) if ask is not None else None
    return verify_excerpt(manifest, files, trusted_keys,
                          ask(query) if ask is not None and query is not None else None,
                          periods)
