"""Administration on the service's machine: tenants, API keys (``api-keys``), the
statement-signing key (``signing-key show|rotate``), per-item key export (``item-key``) and
the renewal of RFC 3161 timestamps (``timestamps renew``).
Each works on the running service's own data (``NOTARY_HOME``) and refuses, exit 2, when that
holds no initialised service (see :mod:`notary.cli.home`).

The spellings before issue 15 (``keys``, ``keys create|revoke|list``, ``key export``) still
work for scripts and old notes; ``--help`` no longer lists them."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from notary.cli.exits import Exit
from notary.cli.home import server_settings
from notary.cli.output import print_json

if TYPE_CHECKING:
    from sqlalchemy import Engine

ROLES = ["admin", "collector", "lawyer", "auditor"]


def _engine() -> Engine:
    from storage.migrate import open_database

    return open_database(server_settings().db_url)


def cmd_signing_key_show(args: argparse.Namespace) -> int:
    """Print the service's public signing keys as a JWKS (RFC 7517)."""
    from notary.core.signing import jwks
    from notary.keyfiles import load_signing_key

    settings = server_settings(database=False)
    key = load_signing_key(settings.keys_dir, settings.key_passphrase)
    print_json(jwks([key.public_jwk()]))
    return Exit.OK


def cmd_api_keys_create(args: argparse.Namespace) -> int:
    """Create an API key; the token is printed once (stdout) and never stored."""
    from notary.service.apikeys import create_key
    from notary.service.tenancy import ensure_default_tenant, require_tenant

    engine = _engine()
    ensure_default_tenant(engine)
    tenant = require_tenant(engine, args.tenant)
    row, token = create_key(engine, args.role, label=args.label, name=args.name,
                            tenant=tenant.id)
    if args.json:
        print_json({"id": row.id, "role": row.role, "tenant": row.tenant, "name": row.name,
                    "label": row.label, "token": token})
    else:
        print(token)
    print(f"已创建 / created {row.role} key {row.id} of tenant {tenant.id}; store it now, "
          "it cannot be shown again", file=sys.stderr)
    return Exit.OK


def cmd_api_keys_revoke(args: argparse.Namespace) -> int:
    from notary.service.apikeys import revoke_key

    row = revoke_key(_engine(), args.key_id)
    print(f"已撤销 / revoked key {row.id} ({row.role})")
    return Exit.OK


def cmd_api_keys_list(args: argparse.Namespace) -> int:
    from notary.service.apikeys import list_keys

    rows = list_keys(_engine())
    if args.json:
        print_json([{"id": r.id, "tenant": r.tenant, "role": r.role, "name": r.name,
                     "label": r.label,
                     "revoked": r.revoked_at is not None,
                     "created_at": f"{r.created_at:%Y-%m-%dT%H:%M:%SZ}"} for r in rows])
        return Exit.OK
    for row in rows:
        state = "revoked" if row.revoked_at else "active"
        print(f"{row.id}  {row.tenant:<16}  {row.role:<9}  {state:<7}  "
              f"{row.created_at:%Y-%m-%d %H:%M}  {row.name or '-'}  {row.label or ''}")
    return Exit.OK


def cmd_tenants_create(args: argparse.Namespace) -> int:
    """Register a tenant (an agency, lender or law firm) under its legal name."""
    from notary.service.tenancy import create_tenant

    row = create_tenant(_engine(), args.name, slug=args.slug)
    if args.json:
        print_json({"id": row.id, "name": row.name})
    else:
        print(f"已创建租户 / created tenant {row.id} ({row.name})")
    return Exit.OK


def cmd_tenants_list(args: argparse.Namespace) -> int:
    from notary.service.tenancy import ensure_default_tenant, list_tenants

    engine = _engine()
    ensure_default_tenant(engine)
    rows = list_tenants(engine)
    if args.json:
        print_json([{"id": r.id, "name": r.name, "created_at": f"{r.created_at:%Y-%m-%dT%H:%M:%SZ}"}
                    for r in rows])
        return Exit.OK
    for row in rows:
        print(f"{row.id}  {row.name}  {row.created_at:%Y-%m-%d}")
    return Exit.OK


def cmd_item_key_export(args: argparse.Namespace) -> int:
    """Print an evidence item's age identity (admin, on the server); recorded as an audit event."""
    from notary.cli.client import evidence_id
    from notary.service.actors import Actor
    from notary.service.notary import NotaryService

    item = evidence_id(args.evidence_id)
    svc = NotaryService.open(server_settings(), with_chain=False)
    try:
        print(svc.export_item_key(item, actor=Actor.operator(_whoami())))
    finally:
        svc.close()
    return Exit.OK


def cmd_signing_key_rotate(args: argparse.Namespace) -> int:
    """Rotate the statement-signing key with the service stopped (notary.service.rotation)."""
    from notary.service.rotation import rotate_signing_key
    from notary.service.trustroot import trust_root_for

    settings = server_settings()
    done = rotate_signing_key(settings, timeout=args.timeout)
    issued = trust_root_for(settings)
    if args.json:
        print_json({"old_kid": done.old_kid, "new_kid": done.new_kid, "anchored": done.anchored,
                    "registered_block": done.registered.registered_block,
                    "retired_block": done.retired.retired_block,
                    "trust_root_fingerprint": issued.fingerprint})
        return Exit.OK
    print(f"已锚定 / anchored before the rotation: {done.anchored} record(s)")
    print(f"旧密钥已在链上停用 / old key retired on chain in block {done.retired.retired_block}: "
          f"{done.old_kid}")
    print(f"新密钥已在链上登记 / new key registered on chain in block "
          f"{done.registered.registered_block}: {done.new_kid}")
    print(f"新的信任根指纹 / the trust root's new fingerprint: {issued.fingerprint}")
    print("请将新的信任根（notary trust-root）向法院备案；旧密钥签署的证据仍可核验 / file the new "
          "trust root (notary trust-root) with the court; what the old key signed still verifies")
    return Exit.OK


REASONS = ["expiry", "key-retired", "hash-deprecated", "operator"]


def cmd_timestamps_renew(args: argparse.Namespace) -> int:
    """Renew RFC 3161 tokens now (notary.service.renewal): those due, or with --all every
    root's latest one (a TSA key retired or compromised, a hash deprecated)."""
    from notary.service.renewal import renew_timestamps
    from notary.tsa import TimestampAuthority

    settings = server_settings()
    tsa = TimestampAuthority.from_settings(settings)
    if tsa is None:
        print("未配置时间戳机构 / no TSA is configured (NOTARY_TSA_URL)", file=sys.stderr)
        return Exit.BAD_INPUT
    run = renew_timestamps(_engine(), tsa, before=settings.tsa_renew_before, force=args.all,
                           reason=args.reason if args.all else "expiry", limit=args.limit)
    error = f"{run.error.code}: {run.error.message}" if run.error is not None else None
    if args.json:
        print_json({"renewed": [{"batch_id": b, "link": n} for b, n in run.renewed],
                    "error": error})
    else:
        for batch_id, link in run.renewed:
            print(f"已续期 / renewed: batch {batch_id}, link renewal-{link}")
        print(f"共续期 {len(run.renewed)} 个时间戳 / {len(run.renewed)} timestamp(s) renewed")
        if error is not None:
            print(f"时间戳机构未能续期，稍后重试 / the TSA did not renew, try again later: {error}",
                  file=sys.stderr)
    return Exit.FAILED if error is not None else Exit.OK


def _whoami() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _api_key_actions(actions: Any) -> None:
    k = actions.add_parser("create", help="create an API key (printed once)")
    k.add_argument("--role", required=True, choices=ROLES)
    k.add_argument("--tenant", default="default", help="the tenant: its slug or legal name")
    k.add_argument("--name", help="who or what uses the key, in any script (an agent's 工号, "
                   "a dialer): the statements it submits carry this name, as the tenant's "
                   "claim, and certificates and public checks print it")
    k.add_argument("--label", help="what the key is for (shown in listings only)")
    k.add_argument("--json", action="store_true", help="print the key as JSON")
    k.set_defaults(handler=cmd_api_keys_create)
    k = actions.add_parser("revoke", help="revoke an API key by its id")
    k.add_argument("key_id")
    k.set_defaults(handler=cmd_api_keys_revoke)
    k = actions.add_parser("list", help="list API keys (ids and roles, never secrets)")
    k.add_argument("--json", action="store_true", help="print them as JSON")
    k.set_defaults(handler=cmd_api_keys_list)


def _item_key_actions(actions: Any) -> None:
    k = actions.add_parser("export", help="print an evidence item's age identity (audited)")
    k.add_argument("evidence_id")
    k.set_defaults(handler=cmd_item_key_export)


def register(sub: Any) -> None:
    p = sub.add_parser("api-keys", help="API keys: create, revoke, list (server side)")
    _api_key_actions(p.add_subparsers(dest="api_keys_command", metavar="ACTION", required=True))

    p = sub.add_parser("signing-key", help="the statement-signing key: show its public key "
                                           "(JWKS), rotate it (server side)")
    sk = p.add_subparsers(dest="signing_key_command", metavar="ACTION", required=True)
    k = sk.add_parser("show", help="print the public signing keys as a JWKS (RFC 7517)")
    k.set_defaults(handler=cmd_signing_key_show)
    k = sk.add_parser("rotate", help="with the service stopped: anchor what is pending, "
                                     "register a new key on chain, retire the old one "
                                     "(KEY_ADMIN_ROLE needed)")
    k.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                   help="how long to wait for pending records to be anchored first")
    k.add_argument("--json", action="store_true", help="print the result as JSON")
    k.set_defaults(handler=cmd_signing_key_rotate)

    p = sub.add_parser("item-key", help="an evidence item's own key (server side, admin)")
    _item_key_actions(p.add_subparsers(dest="item_key_command", metavar="ACTION",
                                       required=True))

    p = sub.add_parser("tenants", help="tenants: agencies, lenders, law firms (server side)")
    t = p.add_subparsers(dest="tenants_command", metavar="ACTION", required=True)
    k = t.add_parser("create", help="register a tenant under its legal name")
    k.add_argument("name", help="the legal name, in any script (e.g. 华信资产管理有限公司)")
    k.add_argument("--slug", help="its short id (lower-case letters, digits, '-'); derived "
                                  "from the name when absent")
    k.add_argument("--json", action="store_true", help="print the tenant as JSON")
    k.set_defaults(handler=cmd_tenants_create)
    k = t.add_parser("list", help="list tenants")
    k.add_argument("--json", action="store_true", help="print them as JSON")
    k.set_defaults(handler=cmd_tenants_list)

    p = sub.add_parser("timestamps", help="RFC 3161 timestamps of batch roots: renew them "
                                          "(RFC 4998, server side)")
    ts = p.add_subparsers(dest="timestamps_command", metavar="ACTION", required=True)
    k = ts.add_parser("renew", help="renew the tokens whose TSA certificate expires within "
                                    "NOTARY_TSA_RENEW_BEFORE (the worker does this too), or "
                                    "with --all every root's latest token")
    k.add_argument("--all", action="store_true",
                   help="renew every timestamped root now, whatever its certificate's expiry")
    k.add_argument("--reason", choices=REASONS, default="operator",
                   help="with --all: why (recorded with each renewal)")
    k.add_argument("--limit", type=int, default=1000, metavar="N",
                   help="renew at most N roots in this run")
    k.add_argument("--json", action="store_true", help="print the result as JSON")
    k.set_defaults(handler=cmd_timestamps_renew)

    # The old spellings, parsed as before. No help= argument: with one (even SUPPRESS) Python
    # 3.11's argparse would list them under COMMAND.
    p = sub.add_parser("keys", description="old spelling: `notary keys` is `notary signing-key "
                                           "show`; `notary keys ACTION` is `notary api-keys "
                                           "ACTION`")
    p.set_defaults(handler=cmd_signing_key_show)
    _api_key_actions(p.add_subparsers(dest="api_keys_command", metavar="ACTION"))
    p = sub.add_parser("key", description="old spelling of `notary item-key`")
    _item_key_actions(p.add_subparsers(dest="item_key_command", metavar="ACTION", required=True))
