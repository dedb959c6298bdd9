"""The webhook signature (notary.webhook) against the Standard Webhooks specification's
published test vector, and what a receiver's check refuses."""

from __future__ import annotations

import base64

import pytest

from notary.core.errors import SignatureError
from notary.webhook import new_secret, sign, verify_webhook

pytestmark = pytest.mark.unit

# The specification's vector (also in its reference libraries' tests).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
STAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(signature: str = SIGNATURE, stamp: int = STAMP) -> dict[str, str]:
    return {"Webhook-Id": MSG_ID, "Webhook-Timestamp": str(stamp),
            "Webhook-Signature": signature}


def test_the_signer_reproduces_the_specification_vector() -> None:
    assert sign(SECRET, MSG_ID, STAMP, BODY) == SIGNATURE


def test_a_receiver_accepts_it_and_returns_the_delivery_id() -> None:
    assert verify_webhook(SECRET, headers(), BODY, now=STAMP + 10) == MSG_ID
    # During a rotation several signatures are sent; one match is enough.
    assert verify_webhook(SECRET, headers("v1,AAAA " + SIGNATURE), BODY, now=STAMP) == MSG_ID


@pytest.mark.parametrize(("hdrs", "body", "now", "reason"), [
    (headers(), BODY + b" ", STAMP, "bad_signature"),
    (headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="), BODY, STAMP, "bad_signature"),
    (headers("v2," + SIGNATURE[3:]), BODY, STAMP, "bad_signature"),
    (headers(stamp=STAMP + 1), BODY, STAMP, "bad_signature"),
    (headers(), BODY, STAMP + 301, "timestamp_too_old"),
    (headers(), BODY, STAMP - 301, "timestamp_too_new"),
    (headers(stamp=0) | {"Webhook-Timestamp": "yesterday"}, BODY, STAMP, "timestamp_invalid"),
    ({"webhook-id": MSG_ID}, BODY, STAMP, "headers_missing"),
])
def test_a_receiver_refuses(hdrs: dict[str, str], body: bytes, now: int, reason: str) -> None:
    with pytest.raises(SignatureError) as err:
        verify_webhook(SECRET, hdrs, body, now=now)
    assert err.value.code == "webhook_signature_invalid" and err.value.reason == reason


def test_new_secrets_are_random_and_usable() -> None:
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_")
    assert len(base64.b64decode(a[6:])) == 32
    assert verify_webhook(a, {"webhook-id": "m", "webhook-timestamp": "5",
                              "webhook-signature": sign(a, "m", 5, b"{}")}, b"{}", now=5) == "m"
    with pytest.raises(SignatureError):
        sign("whsec_c2hvcnQ=", "m", 5, b"{}")  # 5 bytes: too short a key
