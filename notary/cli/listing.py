"""``notary list`` and ``notary case``: what the service holds for the key's tenant, to
reconcile with what a dialer or a case system sent (issue 16 #1). HTTP only, like every client
command (:mod:`notary.client`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from notary.cli.client import KINDS, service_client, sha256_hex
from notary.cli.exits import Exit
from notary.cli.output import note, print_json
from notary.core.errors import InputError
from notary.core.validate import validate_rfc3339

STATUSES = ["pending", "anchored"]
_STATUS_WORDS = {"anchored": "已上链 anchored", "pending": "待上链 pending"}


def _moment(flag: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate_rfc3339(flag, value)
    except InputError:
        raise InputError(f"{flag} {value!r} is not an RFC 3339 date-time such as "
                         "2026-12-01T00:00:00+08:00", code="time_invalid") from None


def item_line(item: Mapping[str, Any]) -> str:
    """One item on one line: id, case and number, status, receipt time, hash, file kind."""
    status = _STATUS_WORDS.get(str(item.get("status")), str(item.get("status")))
    marks = "".join(f"  [{m}]" for m, on in (("hold", item.get("legal_hold")),
                                              ("shredded", item.get("shredded_at"))) if on)
    return (f"{item.get('id')}  {item.get('case_id')} #{item.get('case_seq')}  {status}  "
            f"{item.get('received_at')}  sha256 {str(item.get('sha256'))[:16]}…{marks}")


def case_lines(case: Mapping[str, Any]) -> list[str]:
    counts = case.get("counts") or {}
    lines = [f"案件 / case {case.get('case_id')}",
             (f"  持有方 / holder     {case.get('holder')} (opened by {case.get('opened_by')}, "
             f"{case.get('created_at')})"),
             (f"  证据 / items        {counts.get('total', 0)}: {counts.get('anchored', 0)} "
             f"anchored, {counts.get('pending', 0)} pending, {counts.get('held', 0)} held, "
             f"{counts.get('shredded', 0)} shredded")]
    if case.get("closed_at"):
        lines.append(f"  已结案 / closed     {case['closed_at']}")
    head = case.get("head")
    if isinstance(head, Mapping):
        lines.append(f"  链头 / head         #{head.get('case_seq')} {head.get('evidence_id')} "
                     f"statement {str(head.get('statement_digest'))[:16]}…")
    return lines


def cmd_list(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 1000:
        raise InputError("--limit must be between 1 and 1000", code="limit_invalid")
    filters = {"case": args.case, "kind": args.kind, "status": args.status,
               "since": _moment("--since", args.since), "until": _moment("--until", args.until),
               "sha256": sha256_hex(args.sha256) if args.sha256 else None,
               "submitter": args.submitter, "order": args.order}
    client = service_client()
    count, cursor = 0, args.cursor
    if not args.json:
        print("证据列表 / evidence")
    while True:
        page = client.list_evidence(**filters, limit=args.limit, cursor=cursor)
        for item in page["items"]:
            print(json.dumps(item, ensure_ascii=False) if args.json else item_line(item))
            count += 1
        cursor = page["next_cursor"]
        if cursor is None or not args.all:
            break
    if not args.json:
        print(f"共 {count} 项 / {count} item(s)")
    if cursor is not None:
        note(f"还有更多 / more: add --cursor {cursor} (same filters), or --all")
    return Exit.OK


def cmd_case(args: argparse.Namespace) -> int:
    detail = service_client().case(args.case_id)
    if args.json:
        print_json(detail)
        return Exit.OK
    print("\n".join(case_lines(detail)))
    for hold in detail.get("holds", []):
        print(f"  法律保全 / hold     {hold['evidence_id']} #{hold['case_seq']}: {hold['reason']}")
    print("  证据 / items")
    for item in detail.get("items", []):
        print("    " + item_line(item))
    if detail.get("items_next_cursor"):
        note(f"还有更多 / more: notary list --case {args.case_id} --order asc --all")
    return Exit.OK


def register(sub: Any) -> None:
    p = sub.add_parser("list", help="list and search the evidence your tenant may see")
    p.add_argument("--case", help="a case reference")
    p.add_argument("--kind", choices=KINDS)
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--since", metavar="T", help="received at or after (RFC 3339)")
    p.add_argument("--until", metavar="T", help="received before (RFC 3339)")
    p.add_argument("--sha256", metavar="H", help="the file's SHA-256 (hex)")
    p.add_argument("--submitter", metavar="KEY", help="an API key's id or name")
    p.add_argument("--order", choices=["desc", "asc"], default="desc",
                   help="desc: newest first (default); asc: oldest first")
    p.add_argument("--limit", type=int, default=100, help="items a page (1 to 1000)")
    p.add_argument("--cursor", help="go on from a page's cursor (printed when there is more)")
    p.add_argument("--all", action="store_true", help="follow the cursors to the last page")
    p.add_argument("--json", action="store_true", help="one JSON object a line (JSON Lines)")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("case", help="a case your tenant holds: counts, head, holds, items")
    p.add_argument("case_id", metavar="CASE")
    p.add_argument("--json", action="store_true", help="print the service's answer as JSON")
    p.set_defaults(handler=cmd_case)
