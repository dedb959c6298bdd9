"""Commands that need nothing but files: verify a proof bundle (a court's or a debtor's
lawyer's machine, offline; with --rpc also its anchors), and sign a court certification.
Neither web3 nor the database is imported unless --rpc asks for a chain node."""

from __future__ import annotations

import argparse
import os
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
    if args.file and (args.bundle or args.rpc or args.tsa_ca or _is_bundle(Path(args.file))):
        return verify_bundle(args)
    from notary.cli.client import verify_with_service

    return verify_with_service(args)


def verify_bundle(args: argparse.Namespace) -> int:
    """Verify a proof bundle with nothing but the bundle (and, with --rpc, a chain node).
    Exit 0 valid (qualified when checks were skipped), 1 invalid or unknown, 2 unreadable
    or unsafe archive."""
    from notary.bundles.check import ChainReader, verify_bundle_file
    from notary.core.errors import UnreadableBundle
    from notary.tsa import load_trust_roots

    path = Path(args.file)
    if not path.is_file():
        raise InputError(f"{path}: no such file", code="file_missing")
    chain: ChainReader | None = None
    if args.rpc:
        from notary.cli.chainview import reader

        chain = reader(args.rpc)
    tsa_roots = load_trust_roots(Path(args.tsa_ca)) if args.tsa_ca else []
    try:
        with path.open("rb") as fh:
            checked = verify_bundle_file(fh, chain=chain, tsa_roots=tsa_roots)
    except UnreadableBundle as exc:
        if args.json:
            print_json({"result": "unreadable", "error": exc.to_json()})
        error(exc.code, f"{path}: {exc.message} (reason: {exc.reason})")
        return Exit.BAD_INPUT
    if args.json:
        print_json(checked.to_json())
    else:
        print_bundle_verdict(checked.to_json(), rpc=args.rpc)
    return Exit.OK if checked.result == "valid" else Exit.FAILED


def print_bundle_verdict(report: dict[str, Any], *, rpc: str | None) -> None:
    facts = report["facts"]
    checks = report["checks"]
    skipped = [c for c in checks if c["status"] == "skip"]
    failed = [c for c in checks if c["status"] == "fail"]
    headline = {
        "valid": "有效 VALID: every check passed",
        "invalid": f"无效 INVALID: {len(failed)} check(s) failed",
        "unknown": "无法判定 UNKNOWN: a decisive check could not be made",
    }[str(report["result"])]
    if report["qualified"]:
        headline = (f"有效（有保留）VALID, EXCEPT FOR THE {len(skipped)} SKIPPED CHECK(S) BELOW: "
                    "they were not verified")
    print(headline)
    items = facts.get("items", [])
    scope = facts.get("scope", "?")
    print(f"bundle: {scope} bundle of case {facts.get('case_id', '?')!r}, {len(items)} item(s), "
          f"created {facts.get('created_at', '?')}, "
          f"{'hashes only' if facts.get('hashes_only') else 'originals included'}; chain "
          f"{'checked at ' + rpc if rpc else 'NOT checked (offline; use --rpc URL)'}")
    for check in checks:
        print(f"  [{check['status']:>4}] {check['name']}: {check['reason']}")
    if skipped:
        print("skipped (not verified):")
        for check in skipped:
            print(f"  - {check['name']}")


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
    p = sub.add_parser("verify", help="verify a proof bundle offline, or ask the service "
                                      "whether a file was notarised")
    p.add_argument("file", nargs="?", help="a proof bundle (.zip starting with 'mimetype') or "
                                           "any file (hashed locally; only the hash is sent)")
    p.add_argument("--sha256", help="verify by hash (64 hex digits) instead of a file")
    p.add_argument("--bundle", action="store_true",
                   help="read FILE as a proof bundle even if it does not look like one")
    p.add_argument("--rpc", metavar="URL",
                   help="bundle: also check the anchors against this node of the anchoring chain")
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
