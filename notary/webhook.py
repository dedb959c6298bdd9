"""Webhook signatures in the Standard Webhooks style (https://www.standardwebhooks.com).

The service signs each delivery and a receiver checks it with :func:`verify_webhook`; both
live here, beside the local modules (it reads the clock, so not in the core), so that a
receiver needs only this module and the standard library, and the signer and the checker
cannot drift apart.

A delivery carries three headers: ``webhook-id`` (the delivery's stable id, the same on every
retry: receivers deduplicate by it), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"``, several
separated by spaces while a secret is being rotated). The secret is ``whsec_<base64>`` of
random bytes; the HMAC key is the decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Literal, get_args

from notary.core.errors import SignatureError

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
#: How far a delivery's timestamp may be from the receiver's clock (replays are refused).
TOLERANCE_SECONDS = 300
#: The events a tenant can subscribe to (``type`` of each payload).
EventType = Literal["evidence.anchored", "evidence.anchor_superseded", "evidence.shredded",
                    "evidence.legal_hold_set", "evidence.legal_hold_lifted", "case.transferred"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the webhook secret is not whsec_<base64>",
                             code="webhook_signature_invalid", reason="secret_invalid") from None
    if not 24 <= len(key) <= 64:
        raise SignatureError("the webhook secret must hold 24 to 64 bytes",
                             code="webhook_signature_invalid", reason="secret_invalid")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) of one attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes, *,
                   tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> str:
    """Check a delivery as a receiver; returns its ``webhook-id`` (deduplicate by it).

    ``headers`` may use any case. Raises SignatureError ``webhook_signature_invalid`` (with
    ``details["reason"]``: ``headers_missing``, ``timestamp_invalid``, ``timestamp_too_old``,
    ``timestamp_too_new``, ``bad_signature``) unless one ``v1`` signature matches in constant
    time and the timestamp is within ``tolerance`` seconds of ``now``."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, given = (lower.get("webhook-id"), lower.get("webhook-timestamp"),
                            lower.get("webhook-signature"))
    if not msg_id or not stamp or not given:
        raise SignatureError("a webhook needs webhook-id, webhook-timestamp and "
                             "webhook-signature headers", code="webhook_signature_invalid",
                             reason="headers_missing")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not a Unix time",
                             code="webhook_signature_invalid",
                             reason="timestamp_invalid") from None
    clock = time.time() if now is None else now
    if timestamp < clock - tolerance:
        raise SignatureError("the webhook's timestamp is too old (a replay?)",
                             code="webhook_signature_invalid", reason="timestamp_too_old")
    if timestamp > clock + tolerance:
        raise SignatureError("the webhook's timestamp is in the future",
                             code="webhook_signature_invalid", reason="timestamp_too_new")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in given.split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return msg_id
    raise SignatureError("no webhook signature matches this secret",
                         code="webhook_signature_invalid", reason="bad_signature")
