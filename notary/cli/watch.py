"""``notary watch DIR``: notarise the recordings a dialer writes into DIR as it finishes them
(docs/watcher.md). Progress lines on stderr, a summary on stdout when it stops (Ctrl-C,
SIGTERM, or ``--once`` when nothing ready is left)."""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notary.cli.client import KINDS
from notary.cli.exits import Exit
from notary.cli.output import note, print_json
from notary.core.errors import InputError
from notary.watch.rules import CONVENTIONS, PathPattern, check_file_name_template

if TYPE_CHECKING:  # the watcher (and the HTTP client) load when `notary watch` runs only
    from notary.watch.watcher import Tally


def progress_line(event: str, info: dict[str, Any]) -> str:
    """One line a person reads for each thing the watcher does."""
    if event == "deposited":
        held = "（已有同一文件）already held, " if info.get("already_held") else ""
        return (f"已存证 / deposited  {info['file']} -> {info['evidence_id']} "
                f"({held}case {info.get('case_id')} #{info.get('case_seq')})")
    if event == "failed":
        filed = (f" (已存证 / filed as {info['evidence_id']} before it failed)"
                 if info.get("evidence_id") else "")
        return (f"失败 / failed  {info['file']}: {info['message']} [{info['code']}]{filed}; it "
                "stays where it is, tried again at the next start")
    if event == "waiting":
        return (f"等待元数据 / waiting  {info['file']}: no case from --pattern or --case; "
                f"waiting for {info['sidecar']}")
    if event == "skipped":
        return (f"跳过 / skipped  {info['file']}: {info['reason']}; 只存证普通文件 / only "
                "regular files are deposited, never what a link points to")
    if event == "retrying":
        return (f"稍后重试 / retrying in {info['in']:g} s  {info['file']}: {info['message']}")
    if event == "resumed":
        return f"继续 / resuming {info['count']} unfinished file(s) from the journal"
    return f"{event} {json.dumps(info, ensure_ascii=False)}"


def summary(tally: Tally, journal: Path) -> dict[str, Any]:
    return {"deposited": tally.deposited, "already_held": tally.already_held,
            "failed": tally.failed, "skipped": len(tally.skipped),
            "filed_then_failed": [{"file": f, "evidence_id": e}
                                  for f, e in sorted(tally.filed_then_failed.items())],
            "waiting_for_sidecar": len(tally.waiting),
            "seconds": round(time.monotonic() - tally.started, 1), "journal": str(journal)}


def cmd_watch(args: argparse.Namespace) -> int:
    from notary.client import Client
    from notary.watch.watcher import Options, Watcher

    root = Path(args.dir)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder", code="folder_missing")
    if not 0 < args.settle <= 3600 or not 0 < args.poll <= 600:
        raise InputError("--settle must be in (0, 3600] and --poll in (0, 600] seconds",
                         code="interval_invalid")
    options = Options(root=root.resolve(), ready=args.ready,
                      pattern=PathPattern.parse(args.pattern) if args.pattern else None,
                      case=args.case, kind=args.kind, after=args.after, settle=args.settle,
                      poll=args.poll, state_dir=Path(args.state_dir) if args.state_dir else None,
                      use_inotify=not args.no_inotify,
                      file_name=check_file_name_template(args.file_name),
                      mask_digits=args.mask_digits)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)

    def report(event: str, info: dict[str, Any]) -> None:
        if args.json:
            print(json.dumps({"event": event, **info}, ensure_ascii=False), flush=True)
        else:
            note(progress_line(event, info))

    with Client.from_env() as client:
        watcher = Watcher(options, client, report)
        note(f"监视 / watching {options.root} (ready: {options.ready}, then {options.after}; "
             f"journal {options.journal_path})")
        tally = watcher.run(stop.is_set, once=args.once)
    result = summary(tally, options.journal_path)
    if args.json:
        print_json({"event": "summary", **result})
    else:
        print(f"汇总 / summary: {result['deposited']} deposited ({result['already_held']} "
              f"already held by the case), {result['failed']} failed, "
              f"{result['waiting_for_sidecar']} waiting for a sidecar, in {result['seconds']} s; "
              f"journal {result['journal']}", flush=True)
        for filed in result["filed_then_failed"]:
            print(f"  已存证后失败 / filed, then failed: {filed['file']} -> "
                  f"{filed['evidence_id']}", flush=True)
    return Exit.FAILED if tally.failed else Exit.OK


def register(sub: Any) -> None:
    p = sub.add_parser("watch", help="notarise recordings as a dialer finishes writing them "
                       "into a folder (docs/watcher.md)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--ready", choices=CONVENTIONS, default="close",
                   help="when a file is finished: close (closed after writing; default), done "
                        "(a NAME.done appears), rename (from NAME.part or NAME.tmp), stable "
                        "(unchanged for --settle seconds)")
    p.add_argument("--pattern", metavar="PATTERN",
                   help="which files, and their case and kind, e.g. '{case}/{kind}/*.wav' "
                        "(* within a name, ** any folders); default: every file")
    p.add_argument("--case", help="the case of files whose pattern or sidecar names none")
    p.add_argument("--kind", choices=KINDS,
                   help="the kind of files whose pattern or sidecar names none "
                        "(default call_recording)")
    p.add_argument("--after", choices=("move", "mark"), default="move",
                   help="when deposited: move it under DIR/.done/ (default) or write "
                        "NAME.notarised next to it")
    p.add_argument("--file-name", default="{name}", metavar="TEMPLATE",
                   help="the file name the statement records, from {name} (the file's), "
                        "{stem}, {ext} and {sha8} (first 8 hex digits of its SHA-256); e.g. "
                        "'{sha8}{ext}' when names hold phone numbers (default {name})")
    p.add_argument("--mask-digits", action="store_true",
                   help="write each run of 7 or more digits in the name as # (phone numbers)")
    p.add_argument("--settle", type=float, default=5.0, metavar="SECONDS",
                   help="stable (and close, for files not seen being written): unchanged "
                        "this long means finished (default 5)")
    p.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                   help="scan the folder this often (default 1; inotify wakes it sooner)")
    p.add_argument("--state-dir", metavar="DIR",
                   help="where the journal is kept (default DIR/.notary-watch)")
    p.add_argument("--no-inotify", action="store_true",
                   help="poll only (network shares, where inotify sees nothing)")
    p.add_argument("--once", action="store_true",
                   help="stop when nothing is being written or waits to be deposited")
    p.add_argument("--json", action="store_true",
                   help="one JSON object a line for each event, then the summary")
    p.set_defaults(handler=cmd_watch)
