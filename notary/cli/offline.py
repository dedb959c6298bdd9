"""Commands that need nothing but files: verify a proof bundle (a court's or a debtor's
lawyer's machine, offline; with --rpc also its anchors), and sign a court certification.
Neither web3 nor the database is imported unless --rpc asks for a chain node."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notary.cli.exits import Exit
from notary.cli.output import error, note, print_json
from notary.core.errors import InputError


def _is_bundle(path: Path) -> bool:
    """A proof bundle starts with a ZIP entry named ``mimetype``; anything else is a file."""
    from notary.bundles.archive import looks_like_bundle

    try:
        with path.open("rb") as fh:
            return looks_like_bundle(fh.read(64))
    except OSError:
        return False


def cmd_verify(args: argparse.Namespace) -> int:
    """A proof bundle is verified here, offline (or with --rpc); a plain file or a hash is
    looked up with the service."""
    if not (args.file or args.sha256):
        raise InputError("verify needs a FILE or --sha256", code="argument_missing")
    if args.file and args.sha256:
        raise InputError("give a FILE or --sha256, not both", code="argument_conflict")
    pins = args.trust_root or args.trust_root_fingerprint
    if args.sha256 and (pins or args.rpc or args.tsa_ca):
        raise InputError("--trust-root, --trust-root-fingerprint, --rpc and --tsa-ca verify a "
                         "proof bundle; --sha256 asks the service", code="argument_conflict")
    if args.file and (args.bundle or args.rpc or args.tsa_ca or pins or args.extra_rpc
                      or _is_bundle(Path(args.file))):
        return verify_bundle(args)
    from notary.cli.client import verify_with_service

    return verify_with_service(args)


#: The exit code of each bundle result (docs/bundle-format.md §6, README "Commands").
RESULT_EXIT = {"valid": Exit.OK, "invalid": Exit.FAILED, "unknown": Exit.FAILED,
               "not_established": Exit.NOT_ESTABLISHED}


def verify_bundle(args: argparse.Namespace) -> int:
    """Verify a proof bundle with nothing but the bundle, the trust root the verifier pins
    (--trust-root FILE|URL, or --trust-root-fingerprint against the bundle's copy) and, with
    --rpc, the verifier's own chain node. Exit 0 valid, 1 invalid or unknown, 2 unreadable
    bundle or unusable trust root, 5 not established (no trust root pinned)."""
    from notary.bundles.check import ChainReader, verify_bundle_file
    from notary.bundles.parallel import item_processes
    from notary.cli.trustsource import expected_fingerprint, pin_trust_root
    from notary.core.errors import UnreadableBundle
    from notary.tsa import load_trust_roots

    path = Path(args.file)
    if not path.is_file():
        raise InputError(f"{path}: no such file", code="file_missing")
    expected_fingerprint(args.trust_root_fingerprint)  # a malformed one is refused first
    tsa_roots = load_trust_roots(Path(args.tsa_ca)) if args.tsa_ca else []
    try:
        bundled = (_bundled_trust_root(path)
                   if args.trust_root_fingerprint and not args.trust_root else None)
        pinned = pin_trust_root(args.trust_root, args.trust_root_fingerprint, bundled)
        chain: ChainReader | None = None
        if args.rpc:
            from notary.cli.chainview import reader

            chain = reader(args.rpc)
        extra = extra_readers(args.extra_rpc)
        with path.open("rb") as fh:
            checked = verify_bundle_file(fh, trust_root=pinned.verified if pinned else None,
                                         chain=chain, tsa_roots=tsa_roots, extra_chains=extra,
                                         map_items=item_processes())
    except UnreadableBundle as exc:
        if args.json:
            print_json({"result": "unreadable", "error": exc.to_json()})
        error(exc.code, f"{path}: {exc.message} (reason: {exc.reason})")
        return Exit.BAD_INPUT
    report = checked.to_json()
    if args.json:
        print_json(report)
    else:
        print_bundle_report(report, rpc=args.rpc,
                            source=pinned.source if pinned else None)
    return RESULT_EXIT.get(str(report["result"]), Exit.FAILED)


def extra_readers(specs: Sequence[str]) -> dict[int, Any]:
    """``--extra-rpc CHAIN_ID=URL`` (repeatable): a reader per second chain, loaded (with
    web3) only when one is given."""
    out: dict[int, Any] = {}
    for spec in specs:
        chain_id, sep, url = spec.partition("=")
        if not sep or not chain_id.isdigit() or not url.startswith(("http://", "https://")) \
                or int(chain_id) in out:
            raise InputError(f"--extra-rpc {spec!r}: give CHAIN_ID=URL, once per chain / "
                             "格式应为 链ID=URL，每条链一次", code="input_invalid")
        from notary.cli.chainview import reader

        out[int(chain_id)] = reader(url)
    return out


def _bundled_trust_root(path: Path) -> bytes | None:
    """The bundle's own copy of a trust root (keys/trust-root.json), read under the archive
    limits; trusted only when its fingerprint is the one given."""
    from notary.bundles.archive import read_archive
    from notary.core.bundle import TRUST_ROOT_PATH

    with path.open("rb") as fh:
        return read_archive(fh).documents.get(TRUST_ROOT_PATH)


# -- the human report ---------------------------------------------------------------------------

QUESTIONS = {
    "integrity": ("完整性", "Integrity"),
    "existence_time": ("存在时间", "Existence time"),
    "issuer": ("签发方", "Issuer"),
    "completeness": ("齐全性", "Completeness"),
    "custody": ("保管链", "Custody"),
    "neutrality": ("中立性", "Neutrality"),
}
ANSWER_WORDS = {"pass": "通过 pass", "fail": "未通过 fail", "unknown": "未知 unknown"}
HEADLINES = {
    "valid": "有效 VALID: 完整性、存在时间和签发方均已确立 / integrity, existence time and "
             "issuer are established",
    "invalid": "无效 INVALID: 至少一项检查未通过，不应采信 / at least one check failed: do not "
               "rely on this bundle",
    "unknown": "无法判定 UNKNOWN: 关键问题未能回答 / a decisive question could not be answered",
    "not_established": "签发方未确立 NOT ESTABLISHED: 未固定信任根，无法确认是谁签发的 / no "
                       "trust root was pinned, so who issued this bundle is not established",
}


def _reason(answer: Mapping[str, Any]) -> tuple[str, str]:
    reason = answer.get("reason") or {}
    if isinstance(reason, Mapping):
        return str(reason.get("zh") or ""), str(reason.get("en") or "")
    return str(reason), str(reason)


def _short(answer: Mapping[str, Any]) -> str:
    """A few words after a question's status: the time and chain, the operator, a count."""
    question = answer.get("question")
    if question == "existence_time" and answer.get("time"):
        return f"不晚于 no later than {answer['time']}, chain {answer.get('chain_id')}"
    if question == "issuer":
        operator = answer.get("operator") or {}
        if answer.get("status") == "pass" and operator.get("name"):
            return str(operator["name"])
        if not answer.get("pinned"):
            return "未固定信任根 no trust root pinned"
    return ""


def answer_lines(answers: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per question (its status and a few words), then why, in both languages."""
    lines = []
    for answer in answers:
        zh_q, en_q = QUESTIONS.get(str(answer.get("question")),
                                   (str(answer.get("question")), str(answer.get("question"))))
        status = ANSWER_WORDS.get(str(answer.get("status")), str(answer.get("status")))
        label = f"{zh_q} {en_q}"
        # CJK characters take two columns: pad by display width, not by len().
        pad = 24 - sum(2 if ord(ch) > 0x2E80 else 1 for ch in label)
        lines.append(f"  {label}{' ' * max(pad, 1)}[{status}]  {_short(answer)}".rstrip())
    lines.append("理由 / Why:")
    for answer in answers:
        zh_q, en_q = QUESTIONS.get(str(answer.get("question")),
                                   (str(answer.get("question")), str(answer.get("question"))))
        zh, en = _reason(answer)
        lines.append(f"  {zh_q}：{zh}")
        lines.append(f"  {en_q}: {en}")
    return lines


def _operator_text(operator: Mapping[str, Any]) -> str:
    extra = [str(operator[k]) for k in ("registration", "country", "url") if operator.get(k)]
    return str(operator.get("name")) + (f" ({', '.join(extra)})" if extra else "")


def who_lines(issuer: Mapping[str, Any], *, source: str | None) -> list[str]:
    """Who operated, for which tenant, who submitted, and which trust root says so."""
    pinned = bool(issuer.get("pinned"))
    lines = ["谁 / Who:"]
    said = ("据固定的信任根 / per the pinned trust root" if pinned
            else "仅为证据包自称，未确立 / only claimed by the bundle, not established")
    operator = issuer.get("operator")
    lines.append(f"  运营方 operator:      "
                 f"{_operator_text(operator) if operator else '未知 unknown'}"
                 + (f"  [{said}]" if operator else ""))
    deployment = issuer.get("deployment")
    if deployment:
        dev = ("; 开发部署，非生产 / DEVELOPMENT deployment" if deployment.get("development")
               else "")
        lines.append(f"  部署 deployment:      {deployment.get('public_url')}, chain "
                     f"{deployment.get('chain_id')}, registry {deployment.get('registry')}{dev}")
    tenants = issuer.get("tenants") or []
    lines.append("  租户 tenant:          " + ("; ".join(map(str, tenants)) if tenants
                                             else "未记载 not recorded"))
    submitters = issuer.get("submitters") or []
    names = [f"{s.get('name')} ({s.get('submitter')})" if s.get("name") else str(s.get("submitter"))
             for s in submitters if isinstance(s, Mapping)]
    named = "; ".join(names) if names else "未记载 not recorded"
    lines.append("  提交人 submitter:     " + named)
    claims = issuer.get("claims")
    if isinstance(claims, Mapping) and (claims.get("zh") or claims.get("en")):
        lines.append(f"  说明：{claims.get('zh', '')}")
        lines.append(f"  Note: {claims.get('en', '')}")
    fp = issuer.get("trust_root_fingerprint")
    bundled = issuer.get("bundled_trust_root_fingerprint")
    if pinned and fp:
        lines.append(f"  信任根 trust root:    {fp}  已固定 pinned"
                     + (f" (from {source})" if source else ""))
        if bundled and bundled != fp:
            lines.append(f"  证据包所附信任根 bundle's own: {bundled} (not used)")
    elif bundled:
        lines.append(f"  信任根 trust root:    未固定 NOT pinned; 证据包自带 the bundle carries "
                     f"{bundled}: 请与运营方向法院备案或证书上印的指纹比较 / compare it with the "
                     "fingerprint the operator filed or printed on the certificate")
    else:
        lines.append("  信任根 trust root:    未固定 NOT pinned; 证据包未附信任根 the bundle "
                     "carries none")
    return lines


def how_to_pin() -> list[str]:
    """How to pin, with placeholders only: the bundle's own fingerprint is never offered as
    the one to pin (pasting it would pin whatever trust root a forger put in the bundle)."""
    return [
        ("要确立签发方，请固定该部署的信任根（向运营方获取，而不是取自证据包）/ To establish the "
        "issuer, pin the deployment's trust root, obtained from the operator, not from the "
        "bundle:"),
        ("  notary verify BUNDLE --trust-root trust-root.json    (运营方以 `notary trust-root -o "
        "trust-root.json` 导出的文件 / the file the operator exports with `notary trust-root`)"),
        ("  notary verify BUNDLE --trust-root https://<运营方网站 operator's site>"
        "/.well-known/notary-trust-root.json"),
        ("  notary verify BUNDLE --trust-root-fingerprint <证书上印的或向法院备案的指纹 the "
        "fingerprint printed on the certificate or filed with the court>"),
        ("  并加上 --rpc URL（您自己选择的链节点）以确认存在时间 / add --rpc URL (a chain node you "
        "choose) to establish the existence time"),
    ]


def print_bundle_report(report: Mapping[str, Any], *, rpc: str | None,
                        source: str | None = None) -> None:
    """The answers first (both languages), then who, then every check."""
    result = str(report.get("result"))
    answers = [a for a in report.get("answers") or [] if isinstance(a, Mapping)]
    issuer = next((a for a in answers if a.get("question") == "issuer"), {})
    headline = HEADLINES.get(result, result.upper())
    if result == "valid" and report.get("qualified"):
        open_questions = [QUESTIONS[str(a.get("question"))] for a in answers
                          if a.get("status") == "unknown" and a.get("question") in QUESTIONS]
        n_skipped = sum(1 for c in report.get("checks") or [] if c.get("status") == "skip")
        zh = "、".join(q[0] for q in open_questions)
        en = ", ".join(q[1].lower() for q in open_questions)
        if open_questions:
            headline += f"（有保留 qualified: {zh}未知 / {en} unknown, see below）"
        else:
            headline += (f"（有保留 qualified: {n_skipped} 项检查未进行，见下 / "
                         f"{n_skipped} check(s) "
                         "not made, listed below）")
    print(headline)
    print("六个问题 / The six questions:" if len(answers) == 6
          else "五个问题 / The five questions:")
    for line in answer_lines(answers):
        print(line)
    if result == "not_established":
        for line in how_to_pin():
            print(line)
    for line in who_lines(issuer, source=source):
        print(line)
    facts = report.get("facts") or {}
    checks = report.get("checks") or []
    items = facts.get("items", [])
    print(f"证据包 bundle: {facts.get('scope', '?')} bundle of case {facts.get('case_id', '?')!r}, "
          f"{len(items)} item(s), created {facts.get('created_at', '?')}, "
          f"{'hashes only' if facts.get('hashes_only') else 'originals included'}; chain "
          f"{'asked at ' + rpc if rpc else 'NOT asked (offline; use --rpc URL)'}")
    conduct = facts.get("conduct")
    if isinstance(conduct, Mapping):
        for line in conduct_lines(conduct):
            print(line)
    for item in items:
        if isinstance(item, Mapping):
            for line in attestation_lines(item):
                print(line)
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("recording"), Mapping):
            from notary.cli.recording import recording_lines

            for line in recording_lines(str(item.get("path")), item["recording"]):
                print(line)
    shown: set[str] = set()
    for item in items:  # one root may date several items: its chain is printed once
        chain = item.get("rfc3161_chain") if isinstance(item, Mapping) else None
        if isinstance(chain, list) and len(chain) > 1 and chain[0].get("path") not in shown:
            shown.add(str(chain[0].get("path")))
            print("时间戳续期链 / RFC 3161 renewal chain (RFC 4998):")
            for link in chain:
                print(f"  {link.get('path')}: genTime {link.get('gen_time')}, TSA "
                      f"{link.get('tsa')}, 证书有效至 / certificate valid until "
                      f"{link.get('expires')}")
    print("各项检查 / Every check:")
    for check in checks:
        print(f"  [{check['status']:>4}] {check['name']}: {check['reason']}")
    not_made = [c for c in checks if c["status"] == "skip"]
    if not_made:
        print("未核验 skipped (not verified):")
        for check in not_made:
            print(f"  - {check['name']}")


_KINDS = {"chain": "主链锚定 primary chain", "extra_chain": "第二锚定 second chain",
          "rfc3161": "RFC 3161 时间戳 timestamp"}


def attestation_lines(item: Mapping[str, Any]) -> list[str]:
    """Every attestation of an item's root, whether it held, and the earliest valid one,
    which dates the item (issue 19). Nothing when the item has only its primary anchor."""
    attested = [a for a in item.get("attestations") or [] if isinstance(a, Mapping)]
    if len(attested) < 2:
        return []
    lines = [f"证明 attestations of {item.get('path', '?')}:"]
    for a in attested:
        chain = f" chain {a['chain_id']}" if a.get("chain_id") is not None else ""
        ok = ("无效 INVALID, dates nothing 不计时间" if not a.get("valid") else
              "有效 valid" if a.get("confirmed", True) else
              "有效但未经链节点确认，不计时间 valid, but no chain node confirmed it: dates nothing")
        lines.append(f"  - {_KINDS.get(str(a.get('kind')), a.get('kind'))}{chain}: "
                     f"{a.get('time') or '?'} [{ok}] ({a.get('check')})")
    dated = item.get("dated_by")
    if isinstance(dated, Mapping):
        chain = f" chain {dated['chain_id']}" if dated.get("chain_id") is not None else ""
        lines.append(f"  最早有效证明确定时间 dated by the earliest valid attestation: "
                     f"{_KINDS.get(str(dated.get('kind')), dated.get('kind'))}{chain}, "
                     f"不晚于 no later than {dated.get('time')}")
    else:
        lines.append("  无经确认的有效证明 no valid, confirmed attestation dates this item "
                     "(give --rpc / --extra-rpc to confirm the anchors on chain "
                     "用 --rpc / --extra-rpc 向链节点核对)")
    return lines


def conduct_lines(conduct: Mapping[str, Any]) -> list[str]:
    """The verdict on the conduct report the bundle carries, in both languages, with the
    tzdata the local times were derived with here."""
    from notary.localfiles import tzdata_version

    summary = conduct.get("summary") or {}
    tz = f"tzdata {tzdata_version() or '?'}"
    if conduct.get("matches"):
        flags = sum(int(v) for k, v in summary.items() if k != "calls")
        return [(f"合规通话报告 conduct report: 与声明一致 MATCHES the statements — 由本证据包的"
                 f"声明重新推导，结果相同 / derived again from the bundle's statements, "
                 f"identical ({summary.get('calls')} call(s), {flags} flag(s); {tz})")]
    return [(f"合规通话报告 conduct report: 不一致 DOES NOT MATCH — 报告与本证据包的声明不符，"
             f"不应采信 / the signed report is not what the bundle's statements give ({tz}):"),
            f"  {conduct.get('reason')}"]


def cmd_certify_sign(args: argparse.Namespace) -> int:
    """The qualified person signs a bundle's court certification with their own key,
    offline; the signed copy is written to -o."""
    import getpass

    from notary.bundles.certify import sign_bundle
    from notary.core.signing import SigningKey

    src, key_file = Path(args.bundle), Path(args.key)
    for path in (src, key_file):
        if not path.is_file():
            raise InputError(f"{path}: no such file", code="file_missing")
    pem = key_file.read_bytes()
    passphrase = None
    if b"ENCRYPTED PRIVATE KEY" in pem:
        text = os.environ.get("NOTARY_CERTIFIER_PASSPHRASE") or getpass.getpass(
            f"passphrase of {key_file}: ")
        passphrase = text.encode("utf-8")
    kid = sign_bundle(src, Path(args.output), SigningKey.from_pem(pem, passphrase),
                      signed_at=datetime.now(UTC))
    note(f"已签署 / wrote {args.output}: certification signed with key {kid}; check it with: "
         f"notary verify {args.output}")
    return Exit.OK


def register(sub: Any) -> None:
    p = sub.add_parser("verify", help="verify a proof bundle against a trust root you pin "
                                      "(offline, or with --rpc), or ask the service whether a "
                                      "file was notarised")
    p.add_argument("file", nargs="?", help="a proof bundle (.zip starting with 'mimetype') or "
                                           "any file (hashed locally; only the hash is sent)")
    p.add_argument("--sha256", help="verify by hash (64 hex digits) instead of a file: only "
                                    "the hash is looked up, the file itself is not compared")
    p.add_argument("--bundle", action="store_true",
                   help="read FILE as a proof bundle even if it does not look like one")
    p.add_argument("--trust-root", metavar="FILE|URL",
                   help="bundle: the deployment's trust root to pin (a file from `notary "
                        "trust-root`, or its https URL, e.g. https://notary.example.com/"
                        ".well-known/notary-trust-root.json); the bundle's own keys and "
                        "registry are then never used")
    p.add_argument("--trust-root-fingerprint", metavar="FP",
                   help="bundle: the trust root's fingerprint (xxxx-xxxx-..., printed on the "
                        "certificate, filed with the court); with --trust-root it must match, "
                        "alone it pins the bundle's own copy only if that copy matches")
    p.add_argument("--rpc", metavar="URL",
                   help="bundle: a node of the anchoring chain you choose (never taken from "
                        "the bundle): the anchors, block hash, registry code, senders and key "
                        "registrations are asked of it")
    p.add_argument("--extra-rpc", metavar="CHAIN_ID=URL", action="append", default=[],
                   help="bundle: a node you choose of a second anchor's chain (repeatable, one "
                        "per chain): its anchors, pinned block and registry code are asked of "
                        "it; without one a second anchor is checked against its receipt only")
    p.add_argument("--tsa-ca", metavar="FILE",
                   help="bundle: the RFC 3161 time-stamping authority's root certificate(s) you "
                        "trust (PEM); without it a timestamp is only a partial check")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser("certify", help="court certifications in proof bundles")
    cert = p.add_subparsers(dest="certify_command", metavar="ACTION", required=True)
    k = cert.add_parser("sign", help="sign a bundle's certification with the qualified "
                                     "person's key (offline); writes a signed copy")
    k.add_argument("bundle", metavar="BUNDLE.zip")
    k.add_argument("--key", required=True, metavar="KEY.pem",
                   help="the person's Ed25519 private key, PKCS#8 PEM (openssl genpkey "
                        "-algorithm ed25519); NOTARY_CERTIFIER_PASSPHRASE if encrypted")
    k.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="where to write the signed copy (never overwritten)")
    k.set_defaults(handler=cmd_certify_sign)
