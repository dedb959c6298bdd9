"""The ``notary`` command: parse arguments, call one function, print the result.

Exit codes: 0 success, 1 the thing checked is invalid or a service call failed, 2 bad input
(missing file, bad option). Errors print one line to stderr: ``notary: <reason> [<code>]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from notary.config import Settings
from notary.core.errors import InputError, NotaryError

Handler = Callable[[argparse.Namespace], int]


def _print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


# -- chain and keys -------------------------------------------------------------------------


def cmd_chain(args: argparse.Namespace) -> int:
    """Run the embedded chain alone, in the foreground, deploying the registry once."""
    from notary.chain.setup import open_chain

    settings = Settings.from_env()
    ctx = open_chain(settings)
    print(f"chain:    {settings.chain_url} (chain id {ctx.deployment.chain_id})", flush=True)
    print(f"contract: {ctx.deployment.address}", flush=True)
    if ctx.embedded is None:
        print("the chain was already running in another process; nothing to keep alive")
        return 0
    _wait_for_signal()
    ctx.close()
    return 0


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _wait_for_signal() -> None:
    received: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not received:
        signal.pause()


def cmd_keys_jwks(args: argparse.Namespace) -> int:
    """Print the service's public signing keys as a JWKS (RFC 7517)."""
    from notary.core.signing import jwks
    from notary.keyfiles import load_signing_key

    settings = Settings.from_env()
    key = load_signing_key(settings.keys_dir, settings.key_passphrase)
    _print_json(jwks([key.public_jwk()]))
    return 0


def cmd_anchor(args: argparse.Namespace) -> int:
    """Notarise local files in one batch on the chain; print one JSON object per file."""
    from notary.anchoring import anchor_files, check_readable_file
    from notary.chain.setup import open_chain
    from notary.core.statement import EvidenceKind
    from notary.keyfiles import load_signing_key

    paths = [Path(p) for p in args.files]
    # Check every input before touching keys or the chain, so bad input anchors nothing.
    for path in paths:
        check_readable_file(path)
    settings = Settings.from_env()
    key = load_signing_key(settings.keys_dir, settings.key_passphrase)
    kind = EvidenceKind(args.kind)
    ctx = open_chain(settings)
    try:
        results = anchor_files(paths, key, ctx.registry, case_id=args.case, kind=kind)
    finally:
        ctx.close()
    for r in results:
        print(json.dumps(r.to_json(settings.chain_url), ensure_ascii=False))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Start the embedded chain, deploy or attach to the registry, anchor, and serve the API.

    With ``--workers N`` the API runs in N processes; each also runs a batch worker, and the
    anchoring lease lets exactly one of them anchor at a time.
    """
    import uvicorn

    from api.app import create_app
    from notary.service.notary import NotaryService

    if args.no_worker:
        os.environ["NOTARY_ANCHOR_WORKER"] = "0"
    settings = Settings.from_env()
    many = args.workers > 1
    # In the parent: keys, schema, chain and contract are set up once (and the embedded chain
    # lives as long as this process); with several workers each child opens its own service.
    svc = NotaryService.open(settings, run_worker=False if many else None)
    try:
        assert svc.chain is not None
        print(f"notary:   {settings.service_url}  (OpenAPI at {settings.service_url}/docs)")
        print(f"chain:    {settings.chain_url} (chain id {svc.chain.deployment.chain_id})")
        print(f"contract: {svc.chain.deployment.address}")
        print(f"data:     {settings.home}  database: {svc.engine.dialect.name}")
        if svc.admin_token_created:
            print(f"admin key (shown once, also in {settings.home / 'admin.key'}):")
            print(f"  {svc.admin_token_created}")
        sys.stdout.flush()
        # uvicorn re-raises SIGTERM after its shutdown; make that an exit that runs `finally`
        # (stopping the worker and letting the embedded chain dump its state).
        signal.signal(signal.SIGTERM, _exit_on_signal)
        log_level = os.environ.get("NOTARY_LOG_LEVEL", "info").lower()
        _configure_logging(log_level)
        if many:
            uvicorn.run("api.app:create_app", factory=True, workers=args.workers,
                        host=settings.host, port=settings.port, log_level=log_level,
                        access_log=False)
        else:
            uvicorn.run(create_app(service=svc), host=settings.host, port=settings.port,
                        log_level=log_level, access_log=False)
    finally:
        svc.close()
    return 0


def _configure_logging(level: str) -> None:
    """The service's own loggers (``notary.*``) at ``NOTARY_LOG_LEVEL`` on stderr, beside
    uvicorn's; other libraries at WARNING, or at DEBUG too when the level is ``debug``. No log
    line carries a key, a token or evidence content, at any level
    (tests/security/test_logs.py scans the log of a full run at DEBUG)."""
    import logging

    numeric = logging.getLevelName(level.upper())  # uvicorn's "trace" is below DEBUG
    numeric = numeric if isinstance(numeric, int) else logging.DEBUG
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-9s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    logging.getLogger("notary").setLevel(numeric)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the batch worker alone (no API), e.g. beside API processes."""
    from notary.service.notary import NotaryService

    settings = Settings.from_env()
    svc = NotaryService.open(settings, run_worker=True)
    print(f"worker anchoring to {svc.chain.deployment.address if svc.chain else '?'}", flush=True)
    try:
        _wait_for_signal()
    finally:
        svc.close()
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    """Create an API key; the token is printed once and never stored."""
    from notary.service.apikeys import create_key
    from notary.service.tenancy import ensure_default_tenant, require_tenant
    from storage.migrate import open_database

    settings = Settings.from_env()
    engine = open_database(settings.db_url)
    ensure_default_tenant(engine)
    tenant = require_tenant(engine, args.tenant).id  # slug or legal name
    row, token = create_key(engine, args.role, label=args.label, tenant=tenant)
    print(token)
    print(f"created {row.role} key {row.id}; store it now, it cannot be shown again",
          file=sys.stderr)
    return 0


def cmd_tenants_create(args: argparse.Namespace) -> int:
    """Register a tenant (an agency, lender or law firm) on this deployment."""
    from notary.service.tenancy import create_tenant
    from storage.migrate import open_database

    row = create_tenant(open_database(Settings.from_env().db_url), args.name)
    print(f"created tenant {row.id} ({row.name})")
    return 0


def cmd_tenants_list(args: argparse.Namespace) -> int:
    from notary.service.tenancy import ensure_default_tenant, list_tenants
    from storage.migrate import open_database

    engine = open_database(Settings.from_env().db_url)
    ensure_default_tenant(engine)
    for row in list_tenants(engine):
        print(f"{row.id}  {row.name}  {row.created_at:%Y-%m-%d}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from notary.service.apikeys import revoke_key
    from storage.migrate import open_database

    row = revoke_key(open_database(Settings.from_env().db_url), args.key_id)
    print(f"revoked key {row.id} ({row.role})")
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from notary.service.apikeys import list_keys
    from storage.migrate import open_database

    for row in list_keys(open_database(Settings.from_env().db_url)):
        state = "revoked" if row.revoked_at else "active"
        print(f"{row.id}  {row.tenant:<16}  {row.role:<9}  {state:<7}  "
              f"{row.created_at:%Y-%m-%d %H:%M}  {row.label or ''}")
    return 0


def cmd_key_export(args: argparse.Namespace) -> int:
    """Print an evidence item's age identity (admin, on the server); recorded as an audit event."""
    from notary.service.notary import NotaryService

    svc = NotaryService.open(Settings.from_env(), with_chain=False)
    try:
        print(svc.export_item_key(args.evidence_id, actor=f"cli:{_whoami()}"))
    finally:
        svc.close()
    return 0


def _whoami() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Migrate the database schema to the newest revision (Alembic)."""
    from storage.migrate import current_revision, head_revision, open_database

    engine = open_database(Settings.from_env().db_url)
    print(f"database at revision {current_revision(engine)} (newest: {head_revision()})")
    return 0


def cmd_contract_deploy(args: argparse.Namespace) -> int:
    """Deploy a new EvidenceRegistry on the configured chain (operators, external chains)."""
    from notary.chain.setup import deploy_registry

    settings = Settings.from_env()
    deployment = deploy_registry(settings, admin=args.admin)
    _print_json(deployment.to_json())
    print(f"set NOTARY_CONTRACT_ADDRESS={deployment.address} for the service", file=sys.stderr)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the configuration: keys, database, blob store, chain, registry, account, ports."""
    from notary.service.doctor import diagnose

    findings = diagnose(Settings.from_env())
    for f in findings:
        print(f"[{'ok' if f.ok else 'FAIL':>4}] {f.name}: {f.message}")
    failed = [f for f in findings if not f.ok]
    print(f"{len(findings) - len(failed)} ok, {len(failed)} failed")
    return 1 if failed else 0


def cmd_check_code(args: argparse.Namespace) -> int:
    """Print fresh check codes, one a line, to print on notices before they are notarised
    (then pass each as ``notary submit --check-code``). Made locally: nothing is reserved."""
    from notary.core.checkcode import new_check_code

    if not 1 <= args.count <= 100_000:
        raise InputError("--count must be between 1 and 100000", code="count_invalid")
    for _ in range(args.count):
        print(new_check_code())
    return 0


# -- client commands (talk to a running service) ----------------------------------------------


def cmd_submit(args: argparse.Namespace) -> int:
    from notary.client import Client

    meta: dict[str, object] = {"case_id": args.case, "kind": args.kind}
    if args.captured_at:
        meta["captured_at"] = args.captured_at
    if args.description:
        meta["description"] = args.description
    if args.check_code:
        meta["check_code"] = args.check_code
    result = Client.from_env().submit(Path(args.file), meta, progress=not args.quiet,
                                      idempotency_key=args.idempotency_key)
    _print_json(result)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from notary.client import Client

    _print_json(Client.from_env().status(args.evidence_id))
    return 0


def cmd_shred(args: argparse.Namespace) -> int:
    """Crypto-shred an item's content (admin key); prints the signed deletion certificate."""
    from notary.client import Client

    _print_json(Client.from_env().shred(args.evidence_id, args.reason, args.legal_basis))
    return 0


def cmd_hold(args: argparse.Namespace) -> int:
    from notary.client import Client

    _print_json(Client.from_env().legal_hold(args.evidence_id, args.reason, lift=args.lift))
    return 0


def cmd_retention_run(args: argparse.Namespace) -> int:
    from notary.client import Client

    _print_json(Client.from_env().run_retention(dry_run=args.dry_run))
    return 0


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
    if args.file and not args.sha256 and (args.bundle or args.rpc or args.tsa_ca
                                          or _is_bundle(Path(args.file))):
        return cmd_verify_bundle(args)
    from notary.client import Client

    client = Client.from_env()
    verdict = client.verify_sha256(args.sha256) if args.sha256 else client.verify_file(Path(args.file))
    if args.json:
        _print_json(verdict)
    else:
        print(f"{verdict['result'].upper()}{' (with skipped checks)' if verdict['qualified'] else ''}")
        for check in verdict["checks"]:
            print(f"  [{check['status']:>4}] {check['name']}: {check['reason']}")
    return 0 if verdict["result"] == "valid" else 1


def cmd_verify_bundle(args: argparse.Namespace) -> int:
    """Verify a proof bundle with nothing but the bundle (and, with --rpc, a chain node).
    Exit 0 valid (qualified when checks were skipped), 1 invalid or unknown, 2 unreadable
    or unsafe archive."""
    from notary.bundles.check import Observe, verify_bundle_file
    from notary.core.errors import UnreadableBundle
    from notary.tsa import load_trust_roots

    path = Path(args.file)
    if not path.is_file():
        raise InputError(f"{path}: no such file", code="file_missing")
    observe: Observe | None = None
    if args.rpc:
        from notary.chain.observe import observe_anchors
        from notary.chain.registry import connect

        w3 = connect(args.rpc)
        observe = lambda queries: observe_anchors(w3, queries)
    tsa_roots = load_trust_roots(Path(args.tsa_ca)) if args.tsa_ca else []
    try:
        with path.open("rb") as fh:
            checked = verify_bundle_file(fh, observe=observe, tsa_roots=tsa_roots)
    except UnreadableBundle as exc:
        if args.json:
            _print_json({"result": "unreadable", "error": exc.to_json()})
        print(f"notary: {path}: {exc.message} [{exc.code}: {exc.reason}]", file=sys.stderr)
        return 2
    verdict = checked.verdict
    if args.json:
        _print_json(checked.to_json())
    else:
        _print_bundle_verdict(checked.to_json(), rpc=args.rpc)
    return 0 if verdict.result == "valid" else 1


def _print_bundle_verdict(report: dict[str, object], *, rpc: str | None) -> None:
    facts = report["facts"]
    assert isinstance(facts, dict)
    checks = report["checks"]
    assert isinstance(checks, list)
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


def cmd_export(args: argparse.Namespace) -> int:
    """Download a proof bundle from the service (streamed to FILE.part, then renamed)."""
    from notary.client import Client

    out = Path(args.output)
    if out.exists() and not args.force:
        raise InputError(f"{out} exists; choose another name or pass --force",
                         code="output_exists")
    certifier = {k: v for k, v in (("name", args.certifier_name),
                                   ("title", args.certifier_title),
                                   ("organisation", args.certifier_organisation)) if v}
    if args.certifier_key:
        key_file = Path(args.certifier_key)
        if not key_file.is_file():
            raise InputError(f"{key_file}: no such file", code="file_missing")
        certifier["key"] = key_file.read_text("utf-8", errors="replace")
    size = Client.from_env().export_bundle(out, case_id=args.case, evidence_id=args.evidence,
                                           hashes_only=args.hashes_only,
                                           certifier=certifier or None)
    print(f"wrote {out} ({size} bytes); check it with: notary verify {out} --rpc URL",
          file=sys.stderr)
    return 0


def cmd_certify_sign(args: argparse.Namespace) -> int:
    """The qualified person signs a bundle's court certification with their own key,
    offline; the signed copy is written to -o."""
    import getpass
    from datetime import UTC, datetime

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
    print(f"wrote {args.output}: certification signed with key {kid}; check it with: "
          f"notary verify {args.output}", file=sys.stderr)
    return 0


# -- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="notary",
        description="Evidence notarisation: signed statements anchored on an EVM chain.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the service (embedded chain, registry, API, worker)")
    p.add_argument("--no-worker", action="store_true", help="serve the API without anchoring")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="API processes (each may anchor; a lease picks one at a time)")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("chain", help="run the embedded chain alone and deploy the registry")
    p.set_defaults(handler=cmd_chain)

    p = sub.add_parser("keys", help="public signing keys (JWKS); API keys: create, revoke, list")
    p.set_defaults(handler=cmd_keys_jwks)
    keys = p.add_subparsers(dest="keys_command", metavar="ACTION")
    k = keys.add_parser("create", help="create an API key (printed once)")
    k.add_argument("--role", required=True, choices=["admin", "collector", "lawyer", "auditor"])
    k.add_argument("--tenant", default="default", help="the tenant the key belongs to")
    k.add_argument("--label", help="what the key is for (shown in listings)")
    k.set_defaults(handler=cmd_keys_create)
    k = keys.add_parser("revoke", help="revoke an API key by its id")
    k.add_argument("key_id")
    k.set_defaults(handler=cmd_keys_revoke)
    k = keys.add_parser("list", help="list API keys (ids and roles, never secrets)")
    k.set_defaults(handler=cmd_keys_list)

    p = sub.add_parser("tenants", help="tenants: agencies, lenders, law firms (server side)")
    t = p.add_subparsers(dest="tenants_command", metavar="ACTION", required=True)
    k = t.add_parser("create", help="register a tenant")
    k.add_argument("name")
    k.set_defaults(handler=cmd_tenants_create)
    k = t.add_parser("list", help="list tenants")
    k.set_defaults(handler=cmd_tenants_list)

    p = sub.add_parser("key", help="per-evidence keys (server side, admin)")
    key = p.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    k = key.add_parser("export", help="print an evidence item's age identity (audited)")
    k.add_argument("evidence_id")
    k.set_defaults(handler=cmd_key_export)

    p = sub.add_parser("db", help="database schema")
    db = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    k = db.add_parser("upgrade", help="migrate the schema to the newest revision")
    k.set_defaults(handler=cmd_db_upgrade)

    p = sub.add_parser("contract", help="the EvidenceRegistry contract (operators)")
    c = p.add_subparsers(dest="contract_command", metavar="ACTION", required=True)
    k = c.add_parser("deploy", help="deploy a registry on NOTARY_RPC_URL with the notary account")
    k.add_argument("--admin", help="address that may grant/revoke the notary role "
                                   "(default: the notary account)")
    k.set_defaults(handler=cmd_contract_deploy)

    p = sub.add_parser("doctor", help="check the configuration and say what is wrong")
    p.set_defaults(handler=cmd_doctor)

    p = sub.add_parser("worker", help="run the batch anchoring worker alone")
    p.set_defaults(handler=cmd_worker)

    p = sub.add_parser("submit", help="notarise a file with a running service")
    p.add_argument("file")
    p.add_argument("--case", required=True)
    p.add_argument("--kind", required=True,
                   choices=["call_recording", "notice", "agreement", "other"])
    p.add_argument("--captured-at", help="RFC 3339, when the evidence was captured")
    p.add_argument("--description")
    p.add_argument("--idempotency-key")
    p.add_argument("--check-code", help="the check code printed on the document "
                   "(from 'notary check-code'); one is made when absent")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_submit)

    p = sub.add_parser("check-code", help="print fresh check codes to print on notices "
                       "(docs/debtor-check.md)")
    p.add_argument("-n", "--count", type=int, default=1, help="how many (default 1)")
    p.set_defaults(handler=cmd_check_code)

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

    p = sub.add_parser("status", help="show an evidence item's status and anchor")
    p.add_argument("evidence_id")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("verify", help="verify a proof bundle offline, or ask the service "
                                      "whether a file was notarised")
    p.add_argument("file", nargs="?", help="a proof bundle (.zip starting with 'mimetype') or "
                                           "any file (hashed locally; only the hash is sent)")
    p.add_argument("--sha256", help="verify by hash instead of a file")
    p.add_argument("--bundle", action="store_true",
                   help="read FILE as a proof bundle even if it does not look like one")
    p.add_argument("--rpc", metavar="URL",
                   help="bundle: also check the anchors against this node of the anchoring chain")
    p.add_argument("--tsa-ca", metavar="FILE",
                   help="bundle: the RFC 3161 time-stamping authority's root certificate(s) you "
                        "trust (PEM); without it a timestamp is only a partial check")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(handler=cmd_verify)

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
    p.add_argument("--certifier-key", metavar="FILE",
                   help="their Ed25519 public key (PEM or JWK) for 'notary certify sign'")
    p.set_defaults(handler=cmd_export)

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

    p = sub.add_parser("anchor", help="hash, sign and anchor local files as one batch")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--case", default="cli", help="case reference for the statements")
    p.add_argument(
        "--kind", default="other", choices=["call_recording", "notice", "agreement", "other"]
    )
    p.set_defaults(handler=cmd_anchor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "verify" and not (args.file or args.sha256):
        parser.error("verify needs a FILE or --sha256")
    handler: Handler = args.handler
    try:
        return handler(args)
    except InputError as exc:
        print(f"notary: {exc.message} [{exc.code}]", file=sys.stderr)
        return 2
    except NotaryError as exc:
        print(f"notary: {exc.message} [{exc.code}]", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
