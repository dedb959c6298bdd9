"""``notary excerpt`` and ``notary excerpt-verify``: prove a stretch of a call recorded while it
was notarised (issue 18), and check such an excerpt with nothing else. HTTP only for the first
(:mod:`notary.client`), no network at all for the second."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from notary.cli.exits import Exit
from notary.cli.output import note, print_json
from notary.cli.trustsource import pin_trust_root
from notary.core.errors import InputError
from notary.core.excerpt import ExcerptReport, read_excerpt
from notary.core.keyhistory import KeyPeriod
from notary.core.pinning import (
    AnchorQuery,
    ChainObservation,
    ChainQuestions,
    trust_root_key_set,
)
from notary.core.recording import parse_clock


def _clock(flag: str, text: str) -> str:
    try:
        parse_clock(text)
    except ValueError:
        raise InputError(f"{flag} {text!r} is not a time in the recording such as 00:01:10",
                         code="time_invalid") from None
    return text


def cmd_excerpt(args: argparse.Namespace) -> int:
    from notary.client import Client

    start, end = _clock("--from", args.start), _clock("--to", args.end)
    out = Path(args.output or f"{args.evidence_id}-excerpt.zip")
    if out.exists() and not args.force:
        raise InputError(f"{out} exists; use --force to replace it", code="output_exists")
    with Client.from_env() as client:
        data = client.recording_excerpt(args.evidence_id, start, end)
    out.write_bytes(data)
    report = read_excerpt(data)
    _show(report, args.json)
    note(f"节选已写入 / excerpt written to {out}")
    return Exit.OK if report.ok else Exit.FAILED


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 valid with a pinned trust root and the anchor found on the chain of --rpc's
    node; 1 invalid (also: a key used outside its period in the trust root, --rpc's node does
    not record the anchor or could not be asked); 5 nothing failed but something is not
    established: who issued the excerpt (no trust root pinned) or the anchor (no --rpc: the
    block time is the excerpt's word), as ``notary verify``."""
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise InputError(f"{args.file} cannot be read: {exc.strerror}",
                         code="file_unreadable") from None
    pinned = pin_trust_root(args.trust_root, args.trust_root_fingerprint)
    keys, periods = None, None
    if pinned is not None:  # its keys, each valid only in its period (as `notary verify`)
        root = pinned.verified.root
        keys = trust_root_key_set(root)
        periods = {k.kid: KeyPeriod(k.kid, k.not_before, k.not_after)
                   for k in root.signing_keys}
    report = read_excerpt(data, keys, chain_asker(args.rpc) if args.rpc else None, periods)
    _show(report, args.json)
    if pinned is not None and not args.json:
        print(f"  信任根 trust root: {pinned.fingerprint}  已固定 pinned ({pinned.source})")
    if args.rpc and report.chain_node is not None and not args.json:
        print(f"  区块链 chain: 锚定已由节点确认 / the anchor is recorded on chain, as the node "
              f"{report.chain_node} says")
    if not report.ok:
        return Exit.FAILED
    established = report.issuer_established and report.chain_node is not None
    return Exit.OK if established else Exit.NOT_ESTABLISHED


def segment_lines(segments: Sequence[Mapping[str, Any]], indent: str = "  ") -> list[str]:
    """One line per segment: its number, start, when it existed at the latest, its SHA-256
    (``notary excerpt-verify`` and ``notary verify`` of a bundle)."""
    return [f"{indent}片段 segment {seg['n']:>4}  @{seg['start_ms'] / 1000:8.1f}s  "
            f"不晚于 / existed by {seg['existed_by']}  sha256 {seg['sha256'][:16]}…"
            for seg in segments]


def recording_lines(path: str, facts: Mapping[str, Any]) -> list[str]:
    """What a bundle's ``recording`` check established of one item, in both languages."""
    state = ("完整 complete" if facts.get("complete") else
             "不完整 INCOMPLETE（录音端中断，超时关闭，仅含已到达部分 / the recorder stopped; "
             "closed by the timeout with what arrived）")
    live = "实时 live" if facts.get("live") else "非实时 NOT live"
    checked = ("逐段核对原件字节 / each segment's bytes checked in the original"
               if facts.get("bytes_checked") else
               "未核对片段字节（仅哈希证据包）/ segment bytes NOT checked (hashes-only bundle)")
    anchored = facts.get("anchored_at")
    bound = (f"；均不晚于上链区块时间 / all no later than the anchor's block time {anchored} "
             "(unix)" if anchored is not None else "")
    segments = facts.get("segments") or []
    head = (f"通话中实时存证录音 / recording notarised while made: {path}, "
            f"{len(segments)} 段 segment(s), {state}, {live}; {checked}{bound}")
    reasons = [f"    非实时 / not live: {r}" for r in facts.get("not_live") or []]
    return [head, *reasons, *segment_lines(segments, "    ")]


def chain_asker(rpc: str) -> Callable[[AnchorQuery], ChainObservation]:
    """The node the user named (never one the excerpt names), asked as ``notary verify
    --rpc`` asks it about a bundle's anchors."""
    from notary.cli.chainview import reader

    read = reader(rpc)

    def ask(query: AnchorQuery) -> ChainObservation:
        reading = read(ChainQuestions(anchors=(query,)))
        if reading.error is not None:
            return ChainObservation(node=reading.node, error=reading.error)
        return reading.anchors.get(query) or ChainObservation(
            node=reading.node, error="the node did not answer about the anchor")

    return ask


def _show(report: ExcerptReport, as_json: bool) -> None:
    if as_json:
        print_json(report.to_json())
        return
    verdict = "有效 / VALID" if report.ok else "无效 / INVALID"
    print(f"节选 / excerpt of {report.evidence_id}: {verdict}")
    said = "" if report.chain_node is not None or report.anchored_at is None else \
        "，节选自称 / as the excerpt claims"
    print(f"  完整 / complete: {report.complete}   实时 / live: {report.live}   "
          f"上链时间 / anchored at: {report.anchored_at or '-'} (unix{said})")
    for reason in report.not_live:
        print(f"  非实时 / not live: {reason}")
    for line in segment_lines(report.segments):
        print(line)
    for problem in report.problems:
        print(f"  ✗ {problem}")
    if report.chain_node is None and report.anchored_at is not None:
        print("  锚定未经链上核对：上链时间仅为节选所述 / the anchor was not checked against a "
              "chain: its block time is only what the excerpt says; give --rpc URL")
    if not report.issuer_established:
        print("  未固定信任根：签发者未确认（密钥取自节选本身）/ no trust root pinned: who "
              "issued this excerpt is not established (its keys came with it); give "
              "--trust-root FILE|URL")


def register(sub: Any) -> None:
    p = sub.add_parser("excerpt", help="prove a stretch of a recording notarised while made "
                       "/ 导出录音节选及其证明")
    p.add_argument("evidence_id")
    p.add_argument("--from", dest="start", required=True, help="start, e.g. 00:01:10")
    p.add_argument("--to", dest="end", required=True, help="end, e.g. 00:01:40")
    p.add_argument("-o", "--output", help="the ZIP to write (default ID-excerpt.zip)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_excerpt)
    v = sub.add_parser("excerpt-verify", help="check a recording excerpt offline / 离线核验节选")
    v.add_argument("file")
    v.add_argument("--trust-root", metavar="FILE|URL",
                   help="the deployment's trust root to pin (a file from `notary trust-root`, "
                        "or its URL): the excerpt's own keys are then never used")
    v.add_argument("--trust-root-fingerprint", metavar="FP",
                   help="the fingerprint the pinned trust root must have")
    v.add_argument("--rpc", metavar="URL",
                   help="a node of the anchoring chain you choose (never taken from the "
                        "excerpt): the anchor's root must be recorded there, and its block "
                        "time bounds the checkpoints")
    v.add_argument("--json", action="store_true")
    v.set_defaults(handler=cmd_verify)
