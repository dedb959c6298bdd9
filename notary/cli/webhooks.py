"""``notary webhooks``: a tenant's webhook endpoints and their deliveries (an admin key),
through the SDK (:mod:`notary.client`), like every client command; see docs/webhooks.md."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from typing import Any

from notary.cli.client import service_client
from notary.cli.exits import Exit
from notary.cli.output import note, print_json
from notary.core.errors import InputError

#: The events a receiver may ask for (api.routes.webhooks.EventType).
EVENTS = ["evidence.anchored", "evidence.anchor_superseded", "evidence.shredded",
          "evidence.legal_hold_set", "evidence.legal_hold_lifted", "case.transferred"]
DELIVERY_STATUSES = ["pending", "delivered", "failed", "cancelled"]
_ENDPOINT_ID = re.compile(r"wh_[0-9a-f]{24}")
_STATUS_WORDS = {"pending": "待投递 pending", "delivered": "已投递 delivered",
                 "failed": "失败 failed", "cancelled": "已取消 cancelled"}


def endpoint_id(value: str) -> str:
    if not _ENDPOINT_ID.fullmatch(value):
        raise InputError(f"{value!r} is not a webhook endpoint id (wh_ and 24 hex digits, as "
                         "`notary webhooks list` shows)", code="webhook_id_invalid")
    return value


def webhook_lines(hook: Mapping[str, Any]) -> list[str]:
    lines = [f"{hook.get('id')}  {hook.get('url')}",
             f"  事件 / events       {', '.join(hook.get('events') or [])}",
             f"  创建 / created      {hook.get('created_at')}"]
    if hook.get("description"):
        lines.append(f"  说明 / description  {hook['description']}")
    return lines


def delivery_line(delivery: Mapping[str, Any]) -> str:
    status = _STATUS_WORDS.get(str(delivery.get("status")), str(delivery.get("status")))
    last = delivery.get("last_status_code") or delivery.get("last_error") or "-"
    when = delivery.get("delivered_at") or delivery.get("next_attempt_at") or \
        delivery.get("last_attempt_at") or delivery.get("created_at")
    return (f"{delivery.get('id')}  {delivery.get('event_type')}  {status}  "
            f"尝试 attempts {delivery.get('attempts')}  最近 last {last}  {when}")


def cmd_add(args: argparse.Namespace) -> int:
    hook = service_client().add_webhook(args.url, list(dict.fromkeys(args.event)),
                                 description=args.description)
    if args.json:
        print_json(hook)
        return Exit.OK
    print("\n".join(webhook_lines(hook)))
    print(f"  签名密钥 / secret   {hook.get('secret')}")
    note("密钥只显示这一次，请保存以核验签名 / the secret is shown this once: keep it to check "
         "each delivery's signature (docs/webhooks.md)")
    return Exit.OK


def cmd_list(args: argparse.Namespace) -> int:
    hooks = service_client().list_webhooks()
    if args.json:
        print_json(hooks)
        return Exit.OK
    if not hooks:
        print("无 webhook / no webhook endpoints")
    for hook in hooks:
        print("\n".join(webhook_lines(hook)))
    return Exit.OK


def cmd_remove(args: argparse.Namespace) -> int:
    hook = service_client().remove_webhook(endpoint_id(args.endpoint))
    if args.json:
        print_json(hook)
    else:
        print(f"已删除 / removed {hook.get('id')} ({hook.get('url')}); 待投递的已取消 / its "
              "waiting deliveries are cancelled")
    return Exit.OK


def cmd_deliveries(args: argparse.Namespace) -> int:
    """One endpoint's deliveries, or every endpoint's (newest first within each)."""
    client = service_client()
    ids = ([endpoint_id(args.endpoint)] if args.endpoint
           else [h["id"] for h in client.list_webhooks()])
    found: dict[str, Any] = {i: client.webhook_deliveries(i, args.status, limit=args.limit)
                             for i in ids}
    if args.json:
        print_json(found if not args.endpoint else found[args.endpoint])
        return Exit.OK
    for hook_id, deliveries in found.items():
        print(f"投递记录 / deliveries of {hook_id}: {len(deliveries)}")
        for delivery in deliveries:
            print("  " + delivery_line(delivery))
    if not ids:
        print("无 webhook / no webhook endpoints")
    return Exit.OK


def register(sub: Any) -> None:
    p = sub.add_parser("webhooks", help="webhook endpoints of your tenant and their "
                                        "deliveries (admin key)")
    w = p.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)
    k = w.add_parser("add", help="register a receiver (its signing secret is shown once)")
    k.add_argument("url", metavar="URL", help="the receiver's http(s) URL")
    k.add_argument("--event", action="append", required=True, choices=EVENTS,
                   help="an event to send (repeat for more)")
    k.add_argument("--description", help="a note for you")
    k.add_argument("--json", action="store_true", help="print the service's answer as JSON")
    k.set_defaults(handler=cmd_add)
    k = w.add_parser("list", help="list the endpoints (never their secrets)")
    k.add_argument("--json", action="store_true", help="print the service's answer as JSON")
    k.set_defaults(handler=cmd_list)
    k = w.add_parser("remove", help="stop an endpoint; its waiting deliveries are cancelled")
    k.add_argument("endpoint", metavar="ID")
    k.add_argument("--json", action="store_true", help="print the service's answer as JSON")
    k.set_defaults(handler=cmd_remove)
    k = w.add_parser("deliveries", help="deliveries with the outcome of their last attempt")
    k.add_argument("endpoint", metavar="ENDPOINT", nargs="?",
                   help="one endpoint's id (default: every endpoint's)")
    k.add_argument("--status", choices=DELIVERY_STATUSES)
    k.add_argument("--limit", type=int, default=100, help="per endpoint, 1 to 500")
    k.add_argument("--json", action="store_true", help="print the service's answer as JSON")
    k.set_defaults(handler=cmd_deliveries)
