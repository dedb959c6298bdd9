"""``notary deposit-hash FILE...``: hash files here, send only their SHA-256 and size.

The files never leave this machine; the service records hash-only deposits (every verdict says
it never saw the file). Each file's ``client_id`` is derived from the case, the hash and the
name, so running the command again answers the first receipts instead of depositing twice.
Talks HTTP only (:mod:`notary.client`), like the other client commands.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notary.cli.client import KINDS, captured_at
from notary.cli.exits import Exit
from notary.cli.output import error, print_json
from notary.core.digest import digest_stream
from notary.localfiles import check_readable_file

if TYPE_CHECKING:
    from notary.client import HashDeposit


def _deposit(path: Path, args: argparse.Namespace) -> HashDeposit:
    check_readable_file(path)
    with path.open("rb") as fh:
        digest = digest_stream(fh)
    item: HashDeposit = {"case_id": args.case, "kind": args.kind, "sha256": digest.hex,
                         "size": digest.size, "file_name": path.name}
    if args.captured_at:
        item["captured_at"] = captured_at(args.captured_at)
    if args.description:
        item["description"] = args.description
    seed = f"{args.case}\n{digest.hex}\n{path.name}".encode()
    item["client_id"] = f"cli-{hashlib.sha256(seed).hexdigest()[:40]}"
    return item


def cmd_deposit_hash(args: argparse.Namespace) -> int:
    paths = [Path(f) for f in args.files]
    items = [_deposit(p, args) for p in paths]  # every file readable before anything is sent
    from notary.client import Client

    results = Client.from_env().deposit_hashes(items)
    if args.json:
        print_json(results)
    failed = 0
    for path, result in zip(paths, results, strict=True):
        evidence, problem = result.get("evidence"), result.get("error")
        if evidence is not None:
            if not args.json:
                again = " (已存证过 / deposited before)" if result["status"] == 200 else ""
                print(f"{evidence['id']}  仅哈希存证，待上链 / hash-only deposit, to be anchored "
                      f"by {evidence['anchor_deadline']}{again}\n  file      {path}\n"
                      f"  sha256    {evidence['sha256']}\n  case      "
                      f"{evidence['case_id']} #{evidence['case_seq']}")
        else:
            failed += 1
            code = problem["code"] if problem else "deposit_failed"
            message = problem["message"] if problem else "no answer"
            error(code, f"{path}: 未存证 / not deposited: {message}")
    if not args.json:
        print("文件未上传，本服务从未见过它们 / the files were not sent: the service never saw "
              "them, only their SHA-256")
    return Exit.OK if failed == 0 else Exit.FAILED


def register(sub: Any) -> None:
    p = sub.add_parser("deposit-hash", help="deposit files' SHA-256 only (hashed here, never "
                       "sent) / 仅提交文件哈希存证")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--case", required=True)
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("--captured-at", help="RFC 3339, when the evidence was captured")
    p.add_argument("--description")
    p.add_argument("--json", action="store_true", help="print the service's answers as JSON")
    p.set_defaults(handler=cmd_deposit_hash)
