"""Commands an operator runs on the service's machine: run, chain, worker, anchor, doctor,
db upgrade, contract deploy. Heavy imports (web3, uvicorn, the database) stay inside the
handlers so that ``notary verify`` and the client commands never load them."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from notary.cli.exits import Exit
from notary.cli.home import server_settings
from notary.cli.output import print_json
from notary.config import Settings

KINDS = ["call_recording", "notice", "agreement", "other"]


def cmd_chain(args: argparse.Namespace) -> int:
    """Run the embedded chain alone, in the foreground, deploying the registry once."""
    from notary.chain.setup import open_chain

    settings = Settings.from_env()
    ctx = open_chain(settings)
    print(f"chain:    {settings.chain_url} (chain id {ctx.deployment.chain_id})", flush=True)
    print(f"contract: {ctx.deployment.address}", flush=True)
    if ctx.embedded is None:
        print("the chain was already running in another process; nothing to keep alive")
        return Exit.OK
    wait_for_signal()
    ctx.close()
    return Exit.OK


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def wait_for_signal() -> None:
    received: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not received:
        signal.pause()


def cmd_anchor(args: argparse.Namespace) -> int:
    """Notarise local files in one batch on the chain; print one JSON object per file.
    A standalone one-shot: it may create its own NOTARY_HOME (keys, registry)."""
    from notary.anchoring import anchor_files
    from notary.chain.setup import open_chain
    from notary.core.statement import EvidenceKind
    from notary.keyfiles import load_signing_key
    from notary.localfiles import check_readable_file

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
    return Exit.OK


def cmd_run(args: argparse.Namespace) -> int:
    """Start the embedded chain, the batch worker (its own process) and serve the API.

    The API process never imports web3 (issue 17): the worker process sets the chain up
    (deploys or checks the registry, registers the signing key) before the API serves, and is
    started again if it dies. With ``--workers N`` the API runs in N processes beside the one
    worker; ``--no-worker`` serves without anchoring; ``--one-process`` is the former layout
    (the worker a thread of the API process).
    """
    from notary.cli.workerproc import WorkerFailed

    if args.no_worker:
        os.environ["NOTARY_ANCHOR_WORKER"] = "0"
    settings = Settings.from_env()
    if args.one_process:
        return _run_one_process(args, settings)
    try:
        return _run_with_worker_process(args, settings)
    except WorkerFailed as exc:  # it printed its error (one line) itself
        return exc.returncode


def _serve(args: argparse.Namespace, svc: Any, settings: Settings, *, factory: str) -> None:
    """Print where the service is, then serve until SIGINT/SIGTERM."""
    import uvicorn

    from api.app import create_app

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
    if args.workers > 1:
        uvicorn.run(factory, factory=True, workers=args.workers,
                    host=settings.host, port=settings.port, log_level=log_level,
                    access_log=False, **settings.uvicorn_options())
    else:
        uvicorn.run(create_app(service=svc), host=settings.host, port=settings.port,
                    log_level=log_level, access_log=False, **settings.uvicorn_options())


def _run_with_worker_process(args: argparse.Namespace, settings: Settings) -> int:
    from notary.chain.light import embedded_chain, open_light_chain
    from notary.cli.workerproc import WorkerProcess, run_setup
    from notary.service.notary import NotaryService

    # Keys, schema and admin key first (the worker's start then finds them), no chain yet.
    svc = NotaryService.open(settings, with_chain=False, run_worker=False,
                             migrate_isolated=True)
    worker: WorkerProcess | None = None
    embedded = None
    try:
        if settings.embedded_chain:
            embedded = embedded_chain(settings)
            embedded.ensure_running()
            if not embedded.started_here:
                embedded = None  # someone else's process owns it; we must not stop it
        child_env = {**os.environ, "NOTARY_ANCHOR_WORKER": "1"}
        if settings.anchor_worker:
            worker = WorkerProcess(child_env).start()
            svc.worker_process = worker.status
        else:
            run_setup(child_env)
        svc.chain = open_light_chain(settings, embedded)
        embedded = None  # the chain context owns it now
        _serve(args, svc, settings, factory="api.app:create_api_app")
    finally:
        if worker is not None:
            worker.stop()
        if embedded is not None:
            embedded.stop()
        svc.close()
    return Exit.OK


def _run_one_process(args: argparse.Namespace, settings: Settings) -> int:
    """The worker as a thread of the API process (each of ``--workers N`` runs one too, and
    the anchoring lease lets one of them anchor at a time)."""
    from notary.service.notary import NotaryService

    many = args.workers > 1
    # In the parent: keys, schema, chain and contract are set up once (and the embedded chain
    # lives as long as this process); with several workers each child opens its own service.
    svc = NotaryService.open(settings, run_worker=False if many else None,
                             migrate_isolated=True)
    try:
        _serve(args, svc, settings, factory="api.app:create_app")
    finally:
        svc.close()
    return Exit.OK


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
    """Run the batch worker alone (no API), beside API processes: on their data only.
    ``--setup-only``: set the chain up as a worker's start does, then exit; ``--ready-fd``
    (``notary run``): write one byte to that descriptor once set up."""
    from notary.service.notary import NotaryService

    _configure_logging(os.environ.get("NOTARY_LOG_LEVEL", "info").lower())
    svc = NotaryService.open(server_settings(), run_worker=not args.setup_only,
                             migrate_isolated=True)
    try:
        if args.setup_only:
            return Exit.OK
        if args.ready_fd is not None:
            os.write(args.ready_fd, b"1")
            os.close(args.ready_fd)
        else:
            print(f"worker anchoring to {svc.chain.deployment.address if svc.chain else '?'}",
                  flush=True)
        wait_for_signal()
    finally:
        svc.close()
    return Exit.OK


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Migrate the database schema to the newest revision (Alembic). A database named by
    NOTARY_DATABASE_URL may be created here; the default SQLite file must exist already."""
    from storage.migrate import current_revision, head_revision, open_database

    settings = Settings.from_env()
    if settings.database_url is None:
        settings = server_settings()
    engine = open_database(settings.db_url)
    print(f"database at revision {current_revision(engine)} (newest: {head_revision()})")
    return Exit.OK


def cmd_contract_deploy(args: argparse.Namespace) -> int:
    """Deploy a new EvidenceRegistry on the configured chain (operators, external chains)."""
    from notary.chain.setup import deploy_registry

    settings = Settings.from_env()
    deployment = deploy_registry(settings, admin=args.admin)
    print_json(deployment.to_json())
    print(f"set NOTARY_CONTRACT_ADDRESS={deployment.address} for the service", file=sys.stderr)
    return Exit.OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the configuration: keys, database, blob store, chain, registry, account, ports.
    A pre-flight check before the first `notary run`, so it may create NOTARY_HOME."""
    from notary.service.doctor import diagnose

    settings = Settings.from_env()
    print(f"NOTARY_HOME: {settings.home}")
    findings = diagnose(settings)
    for f in findings:
        print(f"[{'ok' if f.ok else 'FAIL':>4}] {f.name}: {f.message}")
    failed = [f for f in findings if not f.ok]
    print(f"{len(findings) - len(failed)} ok, {len(failed)} failed")
    return Exit.FAILED if failed else Exit.OK


def cmd_trust_root(args: argparse.Namespace) -> int:
    """Print (or write) this deployment's signed trust root and its fingerprint, the value an
    operator files with a court and a verifier pins (docs/formats.md §12)."""
    from notary.service.trustroot import trust_root_for

    issued = trust_root_for(server_settings())
    if args.output:
        Path(args.output).write_bytes(issued.document)
        print(f"已写入 / wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(issued.document + b"\n")
        sys.stdout.flush()
    print(f"指纹 / fingerprint: {issued.fingerprint}", file=sys.stderr)
    return Exit.OK


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run the service (embedded chain, registry, API, worker)")
    p.add_argument("--no-worker", action="store_true", help="serve the API without anchoring")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="API processes (beside one batch worker process)")
    p.add_argument("--one-process", action="store_true",
                   help="run the batch worker as a thread of the API process (more memory)")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("chain", help="run the embedded chain alone and deploy the registry")
    p.set_defaults(handler=cmd_chain)

    p = sub.add_parser("worker", help="run the batch anchoring worker alone (server side)")
    p.add_argument("--setup-only", action="store_true",
                   help="set the chain up (deploy or check the registry, register the key), exit")
    p.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_worker)

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

    p = sub.add_parser("trust-root", help="this deployment's signed trust root and its fingerprint")
    p.add_argument("-o", "--output", metavar="FILE", help="write the document to FILE")
    p.set_defaults(handler=cmd_trust_root)

    p = sub.add_parser("doctor", help="check the configuration and say what is wrong")
    p.set_defaults(handler=cmd_doctor)

    p = sub.add_parser("anchor", help="hash, sign and anchor local files as one batch")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--case", default="cli", help="case reference for the statements")
    p.add_argument("--kind", default="other", choices=KINDS)
    p.set_defaults(handler=cmd_anchor)
