"""Commands for the service's users, from any machine: submit, status (both with --wait),
export, share, verify against the service, check-code, shred, hold, retention.

They talk HTTP only (:mod:`notary.client`); neither web3 nor the database is imported, on
any path (tests/cli/test_imports.py and an import-linter contract check it). Arguments are
checked here before anything is sent, so a typo is exit 2 with a clear message.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from notary.cli.exits import Exit
from notary.cli.output import (
    Activity,
    error,
    evidence_lines,
    human_bytes,
    note,
    print_json,
    share_lines,
)
from notary.core.errors import InputError
from notary.core.validate import validate_rfc3339

KINDS = ["call_recording", "notice", "agreement", "other"]
_EVIDENCE_ID = re.compile(r"ev_[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_SHARE_ID = re.compile(r"[0-9a-f]{16}")
_DURATION = re.compile(r"(\d{1,9})\s*([smhdw]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_WAIT_SECONDS = 24 * 3600


# -- local checks of arguments -----------------------------------------------------------------


def evidence_id(value: str) -> str:
    if not _EVIDENCE_ID.fullmatch(value):
        raise InputError(f"{value!r} is not an evidence id: ev_ and 32 lower-case hex digits, "
                         "as `notary submit` printed it", code="evidence_id_invalid")
    return value


def sha256_hex(value: str) -> str:
    if not _SHA256.fullmatch(value):
        raise InputError(f"--sha256 must be 64 hex digits (a SHA-256, e.g. from sha256sum), "
                         f"got {len(value)} character(s)", code="sha256_invalid")
    return value.lower()


def captured_at(value: str) -> str:
    try:
        return validate_rfc3339("captured_at", value)
    except InputError:
        raise InputError(f"--captured-at {value!r} is not an RFC 3339 date-time such as "
                         "2026-11-28T09:30:00+08:00", code="captured_at_invalid") from None


def duration_seconds(value: str) -> int:
    """``90``, ``90s``, ``15m``, ``12h``, ``7d`` or ``2w`` in seconds."""
    m = _DURATION.fullmatch(value.strip().lower())
    if m is None:
        raise InputError(f"--expires-in {value!r}: use a number with s, m, h, d or w "
                         "(e.g. 7d)", code="duration_invalid")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def wait_timeout(value: float) -> float:
    if not 0 < value <= MAX_WAIT_SECONDS:
        raise InputError(f"--timeout must be between 0 and {MAX_WAIT_SECONDS} seconds",
                         code="timeout_invalid")
    return value


def service_client() -> Any:
    """The API client for NOTARY_URL and NOTARY_API_KEY (notary.client.Client.from_env)."""
    from notary.client import Client

    return Client.from_env()


# -- submit and status -------------------------------------------------------------------------


def cmd_submit(args: argparse.Namespace) -> int:
    meta: dict[str, object] = {"case_id": args.case, "kind": args.kind}
    if args.captured_at:
        meta["captured_at"] = captured_at(args.captured_at)
    if args.description:
        meta["description"] = args.description
    if args.check_code:
        meta["check_code"] = args.check_code
    if args.wait:
        wait_timeout(args.timeout)
    client = service_client()
    item = client.submit(Path(args.file), meta, progress=not args.quiet,
                         idempotency_key=args.idempotency_key)
    return _show_item(client, item, args)


def cmd_status(args: argparse.Namespace) -> int:
    item_id = evidence_id(args.evidence_id)
    if args.wait:
        wait_timeout(args.timeout)
    client = service_client()
    return _show_item(client, client.status(item_id), args)


def _show_item(client: Any, item: dict[str, Any], args: argparse.Namespace) -> int:
    anchored = True
    if args.wait and item.get("status") != "anchored":
        item, anchored = wait_for_anchor(client, item, args.timeout)
    if args.json:
        print_json(item)
    else:
        print("\n".join(evidence_lines(item)))
    if not anchored:
        error("wait_timeout", f"未在 {args.timeout:g} 秒内上链 / not anchored within "
                              f"{args.timeout:g} s; check again with: notary status {item['id']}"
                              " --wait")
        return Exit.TIMED_OUT
    return Exit.OK


def wait_for_anchor(client: Any, item: dict[str, Any], timeout: float,
                    interval: float = 0.5) -> tuple[dict[str, Any], bool]:
    """Poll the item until it is anchored or ``timeout`` passes; (last answer, anchored)."""
    deadline = time.monotonic() + timeout
    text = f"等待上链 / waiting for the anchor of {item['id']} (up to {timeout:g} s)"
    with Activity(text, announce=True):
        while item.get("status") != "anchored":
            left = deadline - time.monotonic()
            if left <= 0:
                return item, False
            time.sleep(min(interval, left))
            item = client.status(item["id"])
    return item, True


# -- export ------------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    """Download a proof bundle from the service (streamed to FILE.part, then renamed)."""
    out = Path(args.output)
    if args.evidence:
        evidence_id(args.evidence)
    if out.exists() and not args.force:
        raise InputError(f"{out} exists; choose another name or pass --force",
                         code="output_exists")
    certifier = {k: v for k, v in (("name", args.certifier_name),
                                   ("title", args.certifier_title),
                                   ("organisation", args.certifier_organisation),
                                   ("name_zh", args.certifier_name_zh),
                                   ("title_zh", args.certifier_title_zh),
                                   ("organisation_zh", args.certifier_organisation_zh)) if v}
    if args.certifier_key:
        key_file = Path(args.certifier_key)
        if not key_file.is_file():
            raise InputError(f"{key_file}: no such file", code="file_missing")
        certifier["key"] = key_file.read_text("utf-8", errors="replace")
    if (args.conduct_from is None) != (args.conduct_to is None):
        raise InputError("give both --conduct-from and --conduct-to, or neither",
                         code="argument_missing")
    if (args.conduct or args.conduct_from) and not args.case:
        raise InputError("--conduct goes with --case: a conduct report covers a case",
                         code="argument_conflict")
    period = (args.conduct_from, args.conduct_to) if args.conduct_from else None
    client = service_client()
    with Activity("正在生成证据包 / preparing the bundle", announce=False) as activity:
        def received(n: int) -> None:
            activity.update(f"接收 / received {human_bytes(n)}")

        size = client.export_bundle(out, case_id=args.case, evidence_id=args.evidence,
                                    hashes_only=args.hashes_only,
                                    certifier=certifier or None, conduct=args.conduct,
                                    conduct_period=period, received=received)
    if args.json:
        print_json({"file": str(out), "size": size})
    note(f"已保存 / wrote {out} ({human_bytes(size)}, {size} bytes); check it with: "
         f"notary verify {out} --trust-root {str(client.url).rstrip('/')}"
         "/.well-known/notary-trust-root.json --rpc URL")
    return Exit.OK


# -- share links -------------------------------------------------------------------------------


def cmd_share_create(args: argparse.Namespace) -> int:
    seconds = duration_seconds(args.expires_in)
    if not 60 <= seconds <= 90 * 86400:  # the service's MAX_SHARE_TTL
        raise InputError("--expires-in must be between 1 minute and 90 days",
                         code="share_ttl_invalid")
    share = service_client().create_share(args.case, expires_in=seconds, label=args.label)
    if args.json:
        print_json(share)
        return Exit.OK
    print(f"分享链接（仅显示一次）/ share link, shown once: {share.get('url')}")
    print(f"  id {share.get('id')}, expires {share.get('expires_at')}; revoke with: "
          f"notary share revoke --case {args.case} {share.get('id')}")
    return Exit.OK


def cmd_share_list(args: argparse.Namespace) -> int:
    shares = service_client().list_shares(args.case)
    if args.json:
        print_json(shares)
        return Exit.OK
    if not shares:
        print(f"无分享链接 / no share links for case {args.case}")
    for share in shares:
        print("\n".join(share_lines(share)))
    return Exit.OK


def cmd_share_revoke(args: argparse.Namespace) -> int:
    if not _SHARE_ID.fullmatch(args.share_id):
        raise InputError(f"{args.share_id!r} is not a share id (16 hex digits, as "
                         "`notary share list` shows)", code="share_id_invalid")
    share = service_client().revoke_share(args.case, args.share_id)
    if args.json:
        print_json(share)
    else:
        print(f"已撤销 / revoked share {share.get('id')} of case {args.case}")
    return Exit.OK


# -- verify with the service -------------------------------------------------------------------


def verify_with_service(args: argparse.Namespace) -> int:
    """A plain file (hashed here; only the hash is sent) or a hash, looked up with the service."""
    from notary.core.digest import digest_stream
    from notary.localfiles import check_readable_file

    if args.sha256:
        digest = sha256_hex(args.sha256)
    else:
        path = Path(args.file)
        check_readable_file(path)
        with path.open("rb") as fh:
            digest = digest_stream(fh).hex
    verdict = service_client().verify_sha256(digest)
    if args.json:
        print_json(verdict)
    else:
        for line in hash_verdict_lines(verdict, digest, hashed_here=args.file):
            print(line)
    return Exit.OK if verdict.get("result") == "valid" else Exit.FAILED


def hash_verdict_lines(verdict: dict[str, Any], digest: str, *,
                       hashed_here: str | None) -> list[str]:
    """The service's answer about a hash. Only the hash was sent, so the service compared no
    file: with FILE it was hashed here (so it is that file's hash that was found); with
    --sha256 nobody compared any file, and the answer says so instead of "identical"."""
    result = str(verdict.get("result"))
    checks = verdict.get("checks", [])
    found = not any(c.get("name") == "registered" and c.get("status") != "pass" for c in checks)
    if result == "valid" and found:
        if hashed_here:
            head = (f"有效 VALID: {hashed_here} 在本机计算的 SHA-256 已在本服务存证 / the SHA-256 "
                    f"of {hashed_here}, computed on this machine, was notarised by the service")
        else:
            head = ("已存证（仅查询了哈希）NOTARISED, HASH ONLY: 未比对文件本身，只查询了哈希 / "
                    "the file itself was not compared, only its hash was looked up; compute the "
                    "SHA-256 of the file you hold (sha256sum) and compare")
    elif result == "invalid":
        head = "无效 INVALID: 至少一项检查未通过 / at least one check failed"
    elif not found:
        head = "未找到 NOT FOUND: 本服务没有这个 SHA-256 的存证 / the service has no record of it"
    else:
        head = f"无法判定 {result.upper()}: 关键检查未能完成 / a decisive check could not be made"
    lines = [f"{head}", f"  sha256 {digest}"]
    for check in checks:
        if check.get("name") == "file_hash" and check.get("status") == "skip" and hashed_here:
            lines.append(f"  [hash] file_hash: the SHA-256 was computed here from {hashed_here} "
                         "and looked up; the service was sent the hash only")
            continue
        lines.append(f"  [{check['status']:>4}] {check['name']}: {check['reason']}")
    return lines


# -- other client commands ---------------------------------------------------------------------


def cmd_check_code(args: argparse.Namespace) -> int:
    """Print fresh check codes, one a line, to print on notices before they are notarised
    (then pass each as ``notary submit --check-code``). Made locally: nothing is reserved."""
    from notary.checkcode import new_check_code

    if not 1 <= args.count <= 100_000:
        raise InputError("--count must be between 1 and 100000", code="count_invalid")
    for _ in range(args.count):
        print(new_check_code())
    return Exit.OK


def cmd_shred(args: argparse.Namespace) -> int:
    """Crypto-shred an item's content (admin key); prints the signed deletion certificate."""
    print_json(service_client().shred(evidence_id(args.evidence_id), args.reason,
                                      args.legal_basis))
    return Exit.OK


def cmd_hold(args: argparse.Namespace) -> int:
    print_json(service_client().legal_hold(evidence_id(args.evidence_id), args.reason,
                                           lift=args.lift))
    return Exit.OK


def cmd_retention_run(args: argparse.Namespace) -> int:
    print_json(service_client().run_retention(dry_run=args.dry_run))
    return Exit.OK


def _wait_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true",
                   help="wait until the item is anchored (exit 4 on --timeout)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                   help="with --wait: give up after this long (default 120)")
    p.add_argument("--json", action="store_true", help="print the service's answer as JSON")


def register(sub: Any) -> None:
    p = sub.add_parser("submit", help="notarise a file with a running service")
    p.add_argument("file")
    p.add_argument("--case", required=True)
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("--captured-at", help="RFC 3339, when the evidence was captured")
    p.add_argument("--description")
    p.add_argument("--idempotency-key")
    p.add_argument("--check-code", help="the check code printed on the document "
                   "(from 'notary check-code'); one is made when absent")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _wait_flags(p)
    p.set_defaults(handler=cmd_submit)

    p = sub.add_parser("status", help="show an evidence item's status and anchor")
    p.add_argument("evidence_id")
    _wait_flags(p)
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("check-code", help="print fresh check codes to print on notices "
                       "(docs/debtor-check.md)")
    p.add_argument("-n", "--count", type=int, default=1, help="how many (default 1)")
    p.set_defaults(handler=cmd_check_code)

    p = sub.add_parser("export", help="download a proof bundle (ZIP) of a case or an item")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--case", help="the case reference: every item of the case")
    which.add_argument("--evidence", metavar="ID", help="one evidence item")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write it")
    p.add_argument("--hashes-only", action="store_true",
                   help="leave the originals out (privacy); everything else is included")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.add_argument("--certifier-name", metavar="NAME",
                   help="add a court certification (FRE 902(11)/(14), 存证说明) for this "
                        "qualified person to sign; with --certifier-title and "
                        "--certifier-organisation")
    p.add_argument("--certifier-title", metavar="TITLE", help="the qualified person's title")
    p.add_argument("--certifier-organisation", metavar="ORG",
                   help="the qualified person's organisation")
    p.add_argument("--certifier-name-zh", metavar="姓名",
                   help="the person's name as the Chinese certification (存证说明) gives it")
    p.add_argument("--certifier-title-zh", metavar="职务", help="their title in Chinese")
    p.add_argument("--certifier-organisation-zh", metavar="单位",
                   help="their organisation's Chinese legal name")
    p.add_argument("--certifier-key", metavar="FILE",
                   help="their Ed25519 public key (PEM or JWK) for 'notary certify sign'")
    p.add_argument("--conduct", action="store_true",
                   help="add the case's signed conduct report (合规通话报告), which `notary "
                        "verify` derives again from the statements (admin or lawyer key)")
    p.add_argument("--conduct-from", metavar="T",
                   help="the report's period, from (RFC 3339); default: the first call")
    p.add_argument("--conduct-to", metavar="T",
                   help="the report's period, to (exclusive); default: after the last call")
    p.add_argument("--json", action="store_true", help="print {file, size} as JSON")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("share", help="read-only, expiring links to a case for a judge")
    s = p.add_subparsers(dest="share_command", metavar="ACTION", required=True)
    k = s.add_parser("create", help="make a share link (its URL is shown once)")
    k.add_argument("--case", required=True)
    k.add_argument("--expires-in", default="7d", metavar="DURATION",
                   help="how long it works: e.g. 30m, 12h, 7d, 2w (default 7d, at most 365d)")
    k.add_argument("--label", help="who it is for (shown in listings)")
    k.add_argument("--json", action="store_true", help="print the answer as JSON")
    k.set_defaults(handler=cmd_share_create)
    k = s.add_parser("list", help="list a case's share links (never their tokens)")
    k.add_argument("--case", required=True)
    k.add_argument("--json", action="store_true", help="print them as JSON")
    k.set_defaults(handler=cmd_share_list)
    k = s.add_parser("revoke", help="revoke a share link (it answers 410 afterwards)")
    k.add_argument("--case", required=True)
    k.add_argument("share_id", metavar="ID")
    k.add_argument("--json", action="store_true", help="print the answer as JSON")
    k.set_defaults(handler=cmd_share_revoke)

    p = sub.add_parser("shred", help="crypto-shred an item's content, keeping its proof "
                       "(admin; prints the deletion certificate)")
    p.add_argument("evidence_id")
    p.add_argument("--reason", required=True, help="why its purpose has ended")
    p.add_argument("--legal-basis", help="e.g. 'PIPL art. 47'")
    p.set_defaults(handler=cmd_shred)

    p = sub.add_parser("hold", help="set (or --lift) a legal hold that blocks shredding")
    p.add_argument("evidence_id")
    p.add_argument("--reason", required=True)
    p.add_argument("--lift", action="store_true", help="lift the hold instead")
    p.set_defaults(handler=cmd_hold)

    p = sub.add_parser("retention", help="retention rules (admin)")
    r = p.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    k = r.add_parser("run", help="apply the tenant's retention rules now and print the report")
    k.add_argument("--dry-run", action="store_true", help="report what is due, shred nothing")
    k.set_defaults(handler=cmd_retention_run)
