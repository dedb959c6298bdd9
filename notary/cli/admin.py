"""Administration on the service's machine: tenants, API keys, the public signing keys and
per-item key export. Each works on the running service's own data (``NOTARY_HOME``) and
refuses, exit 2, when that holds no initialised service (see :mod:`notary.cli.home`)."""

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


def cmd_keys_jwks(args: argparse.Namespace) -> int:
    """Print the service's public signing keys as a JWKS (RFC 7517)."""
    from notary.core.signing import jwks
    from notary.keyfiles import load_signing_key

    settings = server_settings(database=False)
    key = load_signing_key(settings.keys_dir, settings.key_passphrase)
    print_json(jwks([key.public_jwk()]))
    return Exit.OK


def cmd_keys_create(args: argparse.Namespace) -> int:
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


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from notary.service.apikeys import revoke_key

    row = revoke_key(_engine(), args.key_id)
    print(f"已撤销 / revoked key {row.id} ({row.role})")
    return Exit.OK


def cmd_keys_list(args: argparse.Namespace) -> int:
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


def cmd_key_export(args: argparse.Namespace) -> int:
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


def _whoami() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def register(sub: Any) -> None:
    p = sub.add_parser("keys", help="public signing keys (JWKS); API keys: create, revoke, list "
                                    "(server side)")
    p.set_defaults(handler=cmd_keys_jwks)
    keys = p.add_subparsers(dest="keys_command", metavar="ACTION")
    k = keys.add_parser("create", help="create an API key (printed once)")
    k.add_argument("--role", required=True, choices=ROLES)
    k.add_argument("--tenant", default="default", help="the tenant: its slug or legal name")
    k.add_argument("--name", help="who or what uses the key, in any script (an agent's 工号, "
                   "a dialer): the statements it submits carry this name, as the tenant's "
                   "claim, and certificates and public checks print it")
    k.add_argument("--label", help="what the key is for (shown in listings only)")
    k.add_argument("--json", action="store_true", help="print the key as JSON")
    k.set_defaults(handler=cmd_keys_create)
    k = keys.add_parser("revoke", help="revoke an API key by its id")
    k.add_argument("key_id")
    k.set_defaults(handler=cmd_keys_revoke)
    k = keys.add_parser("list", help="list API keys (ids and roles, never secrets)")
    k.add_argument("--json", action="store_true", help="print them as JSON")
    k.set_defaults(handler=cmd_keys_list)

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

    p = sub.add_parser("key", help="per-evidence keys (server side, admin)")
    key = p.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    k = key.add_parser("export", help="print an evidence item's age identity (audited)")
    k.add_argument("evidence_id")
    k.set_defaults(handler=cmd_key_export)
