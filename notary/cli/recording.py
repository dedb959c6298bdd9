"""``notary excerpt`` and ``notary excerpt-verify``: prove a stretch of a call recorded while it
was notarised (issue 18), and check such an excerpt with nothing else. HTTP only for the first
(:mod:`notary.client`), no network at all for the second."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from notary.cli.exits import Exit
from notary.cli.output import note, print_json
from notary.cli.trustsource import pin_trust_root
from notary.core.errors import InputError
from notary.core.excerpt import ExcerptReport, read_excerpt
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
    """Exit 0 valid with a pinned trust root, 1 invalid, 5 nothing failed but no trust root
    was pinned (who issued the excerpt is not established), as ``notary verify``."""
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise InputError(f"{args.file} cannot be read: {exc.strerror}",
                         code="file_unreadable") from None
    pinned = pin_trust_root(args.trust_root, args.trust_root_fingerprint)
    keys = None if pinned is None else {"keys": [
        dict(k.jwk) for k in pinned.verified.root.signing_keys]}
    report = read_excerpt(data, keys)
    _show(report, args.json)
    if pinned is not None and not args.json:
        print(f"  信任根 trust root: {pinned.fingerprint}  已固定 pinned ({pinned.source})")
    if not report.ok:
        return Exit.FAILED
    return Exit.OK if report.issuer_established else Exit.NOT_ESTABLISHED


def _show(report: ExcerptReport, as_json: bool) -> None:
    if as_json:
        print_json(report.to_json())
        return
    verdict = "有效 / VALID" if report.ok else "无效 / INVALID"
    print(f"节选 / excerpt of {report.evidence_id}: {verdict}")
    print(f"  完整 / complete: {report.complete}   实时 / live: {report.live}   "
          f"上链时间 / anchored at: {report.anchored_at or '-'} (unix)")
    for seg in report.segments:
        print(f"  片段 segment {seg['n']:>4}  @{seg['start_ms'] / 1000:8.1f}s  "
              f"不晚于 / existed by {seg['existed_by']}  sha256 {seg['sha256'][:16]}…")
    for problem in report.problems:
        print(f"  ✗ {problem}")
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
    v.add_argument("--json", action="store_true")
    v.set_defaults(handler=cmd_verify)
