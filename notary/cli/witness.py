"""``notary witness``: a neutral witness of a notary log (c2sp.org/tlog-witness), for a notary
office, a court or an association to run beside the operator. ``init`` makes its key and
prints its verifier key, ``serve`` cosigns checkpoints that extend what it saw, ``monitor``
compares what the log showed to different witnesses and reports a split view."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from notary.bundles.archive import read_archive
from notary.cli.exits import Exit
from notary.cli.output import error, print_json
from notary.core.bundle import LOG_CHECKPOINT_PATH
from notary.core.note import ED25519, NoteError, Verifier

Handler = Callable[[argparse.Namespace], int]


def _refusing_bad_keys(handler: Handler) -> Handler:
    """A malformed key, name or note is bad input (exit 2), said in one line."""
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except NoteError as exc:
            error("witness_input_invalid", str(exc))
            return Exit.BAD_INPUT
    return run


def _name(directory: Path, name: str | None) -> str:
    path = directory / "name"
    if name:
        directory.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.read_text().strip() != name:
            raise NoteError(f"this witness is already named {path.read_text().strip()!r}")
        path.write_text(name + "\n")
        return name
    if not path.exists():
        raise NoteError("no witness here: run 'notary witness init DIR --name NAME' first")
    return path.read_text().strip()


def _log_keys(values: list[str]) -> dict[str, list[Verifier]]:
    logs: dict[str, list[Verifier]] = {}
    for text in values:
        key = Verifier.from_vkey(text)
        if key.sig_type != ED25519:
            raise NoteError(f"{key.name}: a log key has signature type 0x01")
        logs.setdefault(key.name, []).append(key)
    return logs


@_refusing_bad_keys
def init(args: argparse.Namespace) -> int:
    from notary.witness.monitor import load_signer

    directory = Path(args.dir)
    signer = load_signer(directory, _name(directory, args.name))
    print(f"见证人公钥 / witness verifier key: {signer.verifier.vkey}")
    return Exit.OK


@_refusing_bad_keys
def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from notary.witness.monitor import load_signer
    from notary.witness.server import Witness, app
    from notary.witness.state import Record

    directory = Path(args.dir)
    signer = load_signer(directory, _name(directory, None))
    logs = _log_keys(args.log)
    witness = Witness(signer, logs, Record(directory / "witness.sqlite"))
    print(f"见证人 / witness {signer.name} ({signer.verifier.vkey}) 跟随 / follows: "
          f"{', '.join(sorted(logs))}", flush=True)
    uvicorn.run(app(witness), host=args.host, port=args.port, log_level="warning",
                timeout_keep_alive=5, limit_concurrency=64, h11_max_incomplete_event_size=16384)
    return Exit.OK


def _bundle_checkpoint(path: Path) -> bytes | None:
    """A proof bundle's ``log/checkpoint.note``, or None when it carries none (exported
    before bundles carried the log's part)."""
    with path.open("rb") as fh:
        return read_archive(fh).documents.get(LOG_CHECKPOINT_PATH)


@_refusing_bad_keys
def monitor(args: argparse.Namespace) -> int:
    from notary.witness.monitor import gather, split_views, witness_checkpoint

    log = [k for keys in _log_keys(args.log).values() for k in keys]
    witnesses: list[tuple[str, Verifier]] = []
    for item in args.witness:
        url, _, vkey = item.partition("=")
        witnesses.append((url, Verifier.from_vkey(vkey)))
    notes: list[tuple[str, bytes]] = [(f, Path(f).read_bytes()) for f in args.checkpoint]
    unanswered: list[str] = []
    for f in args.bundle:
        data = _bundle_checkpoint(Path(f))
        if data is None:  # nothing to compare: not a confirmation
            unanswered.append(f"{f}: 证据包未附日志检查点 / the bundle carries no "
                              f"{LOG_CHECKPOINT_PATH}")
        else:
            notes.append((f"{f}:{LOG_CHECKPOINT_PATH}", data))
    for url, _key in witnesses:
        for origin in sorted({k.name for k in log}):
            try:
                data = witness_checkpoint(url, origin)
            except NoteError as exc:
                unanswered.append(str(exc))
                continue
            if data is not None:
                notes.append((url, data))
    sightings, problems = gather(log, [k for _, k in witnesses], notes)
    problems = unanswered + problems
    splits = split_views(sightings)
    if args.json:
        print_json({"sightings": [{"source": s.source, "origin": s.checkpoint.origin,
                                   "size": s.checkpoint.size, "root": s.checkpoint.root.hex(),
                                   "cosigned_by": list(s.cosigned_by)} for s in sightings],
                    "problems": problems, "split_views": [
                        {"size": v.first.checkpoint.size, "sources": [v.first.source,
                                                                      v.second.source]}
                        for v in splits]})
    else:
        for s in sightings:
            print(f"  {s.source}: {s.checkpoint.origin} 大小 / size {s.checkpoint.size} "
                  f"根 / root {s.checkpoint.root.hex()[:16]}… 联署 / cosigned by "
                  f"{', '.join(s.cosigned_by) or '-'}")
        for p in problems:
            error("checkpoint_unusable", p)
        for v in splits:
            print(f"分叉 / SPLIT VIEW: 同一大小 {v.first.checkpoint.size} 两个不同的根 / two "
                  f"roots at one size: {v.first.source} ≠ {v.second.source}")
        if not splits and not problems:
            print(f"未见分叉 / no split view among {len(sightings)} checkpoints")
        elif not splits:
            print(f"无法确认 / NOT CONFIRMED: no split view among {len(sightings)} checkpoints, "
                  f"but {len(problems)} could not be read or did not verify")
    # a checkpoint that does not verify, or a witness that does not answer, may hide a fork
    return Exit.FAILED if splits or problems else Exit.OK


def register(sub: Any) -> None:
    p = sub.add_parser("witness", help="a neutral witness of a notary log: init, serve, monitor "
                                       "(docs/witness.md)")
    wsub = p.add_subparsers(dest="witness_command", required=True, metavar="ACTION")
    q = wsub.add_parser("init", help="make the witness's key in DIR and print its verifier key")
    q.add_argument("dir", metavar="DIR")
    q.add_argument("--name", required=True,
                   help="the witness's name, a schema-less URL, e.g. court.example/witness1")
    q.set_defaults(handler=init)
    q = wsub.add_parser("serve", help="cosign checkpoints that extend what this witness saw")
    q.add_argument("dir", metavar="DIR")
    q.add_argument("--log", action="append", required=True, metavar="VKEY",
                   help="a log this witness follows, as its verifier key (repeat for more)")
    q.add_argument("--host", default="127.0.0.1")
    q.add_argument("--port", type=int, default=8100)
    q.set_defaults(handler=serve)
    q = wsub.add_parser("monitor", help="compare the checkpoints a log showed; exit 1 on a "
                                        "split view, or when one cannot be read or verified")
    q.add_argument("--log", action="append", required=True, metavar="VKEY")
    q.add_argument("--witness", action="append", default=[], metavar="URL=VKEY")
    q.add_argument("--checkpoint", action="append", default=[], metavar="FILE",
                   help="a checkpoint note held elsewhere (e.g. from a proof bundle)")
    q.add_argument("--bundle", action="append", default=[], metavar="FILE",
                   help="a proof bundle: its log/checkpoint.note")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=monitor)
