"""Webhooks through the real app to a real receiver on loopback: registered by a tenant's admin
(secret shown once), signed in the Standard Webhooks way, retried while the receiver is down,
slow or failing, kept across a restart of the service, never heard by another tenant, listed
with their outcome. A receiver deduplicating by webhook-id sees each event exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from notary.client import Client, ServiceError
from notary.core.errors import SignatureError
from notary.service.apikeys import create_key
from notary.service.delivery import Claim, send
from notary.service.tenancy import create_tenant
from notary.webhook import new_secret, verify_webhook
from storage.db import WebhookEndpoint, session
from tests.support import LiveServer, wait_until
from tests.tenancy.files import notice_pdf
from tests.webhooks.receiver import Receiver, signature_ok

pytestmark = [pytest.mark.api, pytest.mark.chain]

#: Sub-second backoff, a short time limit, a quick poll: the schedule of the tests.
FAST = {"webhook_allow_private": True, "webhook_backoff": (0.3,) * 8, "webhook_timeout": 1.0,
        "webhook_poll_seconds": 0.05}
ALL_EVENTS = ["evidence.anchored", "evidence.anchor_superseded", "evidence.shredded",
              "evidence.legal_hold_set", "evidence.legal_hold_lifted", "case.transferred"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def hooked(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server(**FAST)


def submit(http: httpx.Client, case: str, text: str) -> dict[str, Any]:
    resp = http.post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": case, "kind": "notice"})),
        "file": ("notice.pdf", notice_pdf(text), "application/pdf")})
    assert resp.status_code == 201, resp.text
    item: dict[str, Any] = resp.json()
    return item


def register(http: httpx.Client, url: str, events: list[str] | None = None) -> dict[str, Any]:
    resp = http.post("/v1/webhooks", json={"url": url, "events": events or ALL_EVENTS,
                                           "description": "collections system"})
    assert resp.status_code == 201, resp.text
    out: dict[str, Any] = resp.json()
    return out


def listed(http: httpx.Client, endpoint: str, status: str | None = None) -> list[dict[str, Any]]:
    resp = http.get(f"/v1/webhooks/{endpoint}/deliveries",
                    params={"status": status} if status else {})
    assert resp.status_code == 200, resp.text
    out: list[dict[str, Any]] = resp.json()
    return out


def anchored_events(receiver: Receiver) -> dict[str, dict[str, Any]]:
    """evidence id -> the deduplicated ``evidence.anchored`` event the receiver kept."""
    return {a.event["data"]["evidence_id"]: a.event for a in receiver.deduplicated().values()
            if a.event["type"] == "evidence.anchored"}


def test_registration_shows_the_secret_once_and_only_admins_manage(
        hooked: LiveServer, receiver: Receiver) -> None:
    admin = hooked.admin()
    created = register(admin, receiver.url, ["evidence.anchored"])
    assert created["secret"].startswith("whsec_") and created["id"].startswith("wh_")
    assert created["events"] == ["evidence.anchored"]
    again = admin.get("/v1/webhooks").json()
    assert [w["id"] for w in again] == [created["id"]]
    assert again[0]["secret"] is None, "the secret is shown at creation only"
    assert created["secret"] not in admin.get("/v1/webhooks").text
    collector = hooked.client(create_key(hooked.service.engine, "collector")[1])
    assert collector.get("/v1/webhooks").status_code == 403
    assert collector.post("/v1/webhooks", json={"url": receiver.url,
                                                "events": ALL_EVENTS}).status_code == 403
    bad = admin.post("/v1/webhooks", json={"url": "ftp://example.com/x", "events": ALL_EVENTS})
    assert bad.status_code == 400 and bad.json()["code"] == "webhook_url_invalid"
    bad = admin.post("/v1/webhooks", json={"url": "https://user:pw@example.com/",
                                           "events": ALL_EVENTS})
    assert bad.json()["code"] == "webhook_url_invalid"
    assert admin.post("/v1/webhooks", json={"url": receiver.url,
                                            "events": ["evidence.viewed"]}).status_code == 422
    rotated = admin.post(f"/v1/webhooks/{created['id']}/rotate-secret").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert admin.delete(f"/v1/webhooks/{created['id']}").status_code == 200
    assert admin.get("/v1/webhooks").json() == []
    gone = admin.delete(f"/v1/webhooks/{created['id']}")
    assert gone.status_code == 404 and gone.json()["code"] == "webhook_unknown"


def test_an_anchored_item_is_announced_signed(hooked: LiveServer, receiver: Receiver) -> None:
    admin = hooked.admin()
    endpoint = register(admin, receiver.url, ["evidence.anchored"])
    item = submit(admin, "HX-2026-0001", "anchored notice")
    events = wait_until(lambda: anchored_events(receiver).get(item["id"]))
    assert isinstance(events, dict)
    assert events["data"]["case_id"] == "HX-2026-0001"
    assert events["data"]["tenant"] == "default"
    status = admin.get(f"/v1/evidence/{item['id']}").json()
    assert events["data"]["tx_hash"] == status["anchor"]["tx_hash"]
    assert events["data"]["block_number"] == status["anchor"]["block_number"]
    attempt = receiver.accepted()[0]
    assert attempt.id.startswith("msg_")
    assert signature_ok(endpoint["secret"], attempt), "the independent HMAC check"
    assert verify_webhook(endpoint["secret"], attempt.headers, attempt.body) == attempt.id
    with pytest.raises(SignatureError):
        verify_webhook(endpoint["secret"], attempt.headers, attempt.body + b" ")
    with pytest.raises(SignatureError):  # a replay a day later
        verify_webhook(endpoint["secret"], attempt.headers, attempt.body,
                       now=int(attempt.headers["webhook-timestamp"]) + 86400)
    assert b"notice.pdf" not in attempt.body and b"%PDF" not in attempt.body
    rows = wait_until(lambda: listed(admin, endpoint["id"], "delivered"))
    assert isinstance(rows, list)
    assert rows[0]["id"] == attempt.id and rows[0]["attempts"] == 1
    assert rows[0]["last_status_code"] == 200 and rows[0]["delivered_at"]
    assert listed(admin, endpoint["id"], "failed") == []


def test_a_receiver_down_for_a_while_gets_every_event_once(
        hooked: LiveServer, receiver: Receiver) -> None:
    admin = hooked.admin()
    endpoint = register(admin, receiver.url)
    receiver.stop()
    items = [submit(admin, "HX-2026-0002", f"notice {i}") for i in range(3)]
    for why in ("court order", "settled"):
        resp = admin.post(f"/v1/evidence/{items[0]['id']}/legal-hold"
                          + ("/lift" if why == "settled" else ""), json={"reason": why})
        assert resp.status_code == 200, resp.text
    # Every delivery was tried while the receiver was down, and is waiting to be tried again.
    wait_until(lambda: len(rows := listed(admin, endpoint["id"], "pending")) == 5
               and all(r["attempts"] >= 2 and r["last_error"] for r in rows))
    receiver.start()
    receiver.fail_first = 1  # and it answers 500 at first when it is back
    wait_until(lambda: len(listed(admin, endpoint["id"], "delivered")) == 5)
    kept = anchored_events(receiver)
    assert set(kept) == {i["id"] for i in items}
    rows = listed(admin, endpoint["id"])
    assert {r["id"] for r in rows} == set(receiver.deduplicated()), "every event, once each"
    assert sorted(a.event["type"] for a in receiver.deduplicated().values()) == [
        "evidence.anchored"] * 3 + ["evidence.legal_hold_lifted", "evidence.legal_hold_set"]
    for attempts in receiver.by_id().values():
        assert len({a.body for a in attempts}) == 1, "the same event under the same id"
    assert all(r["attempts"] >= 2 for r in rows), "each was tried while it was down"


def test_500s_then_200_keep_one_delivery_id(hooked: LiveServer, receiver: Receiver) -> None:
    admin = hooked.admin()
    endpoint = register(admin, receiver.url, ["evidence.anchored"])
    receiver.fail_first = 3
    item = submit(admin, "HX-2026-0003", "failing receiver")
    wait_until(lambda: anchored_events(receiver).get(item["id"]))
    (msg_id, attempts), = receiver.by_id().items()
    assert [a.answered for a in attempts] == [500, 500, 500, 200]
    assert all(signature_ok(endpoint["secret"], a) for a in attempts)
    assert len({a.body for a in attempts}) == 1, "the same event each time"
    row = wait_until(lambda: listed(admin, endpoint["id"], "delivered"))
    assert isinstance(row, list)
    assert row[0]["id"] == msg_id and row[0]["attempts"] == 4


def test_retry_after_is_honoured_on_503(hooked: LiveServer, receiver: Receiver) -> None:
    admin = hooked.admin()
    register(admin, receiver.url, ["evidence.anchored"])
    receiver.fail_first, receiver.fail_status, receiver.retry_after = 1, 503, "2"
    item = submit(admin, "HX-2026-0009", "busy receiver")
    wait_until(lambda: anchored_events(receiver).get(item["id"]))
    (attempts,) = receiver.by_id().values()
    assert [a.answered for a in attempts] == [503, 200]
    waited = attempts[1].at - attempts[0].at
    assert waited >= 1.9, f"Retry-After: 2 asked for 2 s, the backoff alone is 0.3 s ({waited})"


def test_a_slow_receiver_times_out_without_holding_up_another(
        hooked: LiveServer, receiver: Receiver) -> None:
    admin = hooked.admin()
    fast = Receiver().start()
    try:
        slow_endpoint = register(admin, receiver.url, ["evidence.anchored"])
        register(admin, fast.url, ["evidence.anchored"])
        receiver.slow_first, receiver.delay = 1, 3.0  # three times the time limit
        item = submit(admin, "HX-2026-0004", "slow receiver")
        wait_until(lambda: anchored_events(fast).get(item["id"]))
        heard = fast.accepted()[0].at
        timed_out = wait_until(lambda: [r for r in listed(admin, slow_endpoint["id"])
                                        if r["last_error"] == "timeout"])
        assert isinstance(timed_out, list) and timed_out[0]["status"] == "pending"
        wait_until(lambda: receiver.attempts)
        assert heard < receiver.attempts[0].at, "the fast endpoint heard it while the slow hung"
        wait_until(lambda: listed(admin, slow_endpoint["id"], "delivered"), timeout=30)
        wait_until(lambda: len(receiver.attempts) >= 2)  # the hung one answers late, too
        assert len({a.id for a in receiver.attempts}) == 1
        assert set(anchored_events(receiver)) == {item["id"]}
    finally:
        fast.stop()


def test_the_outbox_survives_a_restart(make_server: Callable[..., LiveServer],
                                       receiver: Receiver) -> None:
    first = make_server(**FAST)
    admin = first.admin()
    endpoint = register(admin, receiver.url, ["evidence.anchored"])
    receiver.stop()
    items = [submit(admin, "HX-2026-0005", f"restart {i}") for i in range(2)]
    wait_until(lambda: len(listed(admin, endpoint["id"], "pending")) == 2)
    first.stop()  # deliveries pending, the receiver still down
    receiver.start()
    second = make_server(**FAST)
    again = second.client(first.admin_key)
    wait_until(lambda: len(listed(again, endpoint["id"], "delivered")) == 2)
    assert set(anchored_events(receiver)) == {i["id"] for i in items}


def test_tenants_hear_only_their_own_events(hooked: LiveServer, receiver: Receiver) -> None:
    engine = hooked.service.engine
    create_tenant(engine, "lender-a")
    create_tenant(engine, "agency-b")
    create_tenant(engine, "agency-c")
    a_key = create_key(engine, "admin", tenant="lender-a")[1]
    b_key = create_key(engine, "admin", tenant="agency-b")[1]
    c_key = create_key(engine, "admin", tenant="agency-c")[1]
    other_b, other_c = Receiver().start(), Receiver().start()
    try:
        with Client(hooked.url, a_key) as lender, Client(hooked.url, b_key) as agency, \
                Client(hooked.url, c_key) as bystander:
            a_hook = lender.add_webhook(receiver.url, ALL_EVENTS)
            b_hook = agency.add_webhook(other_b.url, ALL_EVENTS)
            bystander.add_webhook(other_c.url, ALL_EVENTS)
            assert [w["id"] for w in lender.list_webhooks()] == [a_hook["id"]]
            with pytest.raises(ServiceError) as err:
                agency.webhook_deliveries(a_hook["id"])
            assert err.value.http_status == 404
            with pytest.raises(ServiceError):
                agency.remove_webhook(a_hook["id"])
            http = hooked.client(a_key)
            item = submit(http, "HX-2026-0006", "tenant a")
            wait_until(lambda: anchored_events(receiver).get(item["id"]))
            lender.legal_hold(item["id"], "court order 2026-17")
            lender.legal_hold(item["id"], "case settled", lift=True)
            moved = http.post("/v1/cases/HX-2026-0006/transfer", json={"to_tenant": "agency-b"})
            assert moved.status_code == 200, moved.text
            agency.legal_hold(item["id"], "dispute")  # the new holder's act: its hook hears it

            def types(r: Receiver) -> list[str]:
                return sorted(a.event["type"] for a in r.deduplicated().values())

            wait_until(lambda: len(types(receiver)) == 4 and len(types(other_b)) == 2)
            assert types(receiver) == ["case.transferred", "evidence.anchored",
                                       "evidence.legal_hold_lifted", "evidence.legal_hold_set"]
            assert types(other_b) == ["case.transferred", "evidence.legal_hold_set"]
            transfer = next(a.event for a in other_b.accepted()
                            if a.event["type"] == "case.transferred")
            assert transfer["data"]["from_tenant"] == "lender-a"
            assert transfer["data"]["to_tenant"] == "agency-b"
            assert other_c.attempts == [], "a bystander tenant hears nothing"
            assert b"court order" not in b"".join(a.body for a in receiver.attempts), \
                "free-text reasons stay out of payloads"
            delivered = lender.webhook_deliveries(a_hook["id"], status="delivered")
            assert len(delivered) == 4
            assert len(agency.webhook_deliveries(b_hook["id"])) == 2
            lender.remove_webhook(a_hook["id"])
            assert lender.list_webhooks() == []
    finally:
        other_b.stop()
        other_c.stop()


def test_shredding_is_announced(hooked: LiveServer, receiver: Receiver) -> None:
    admin = hooked.admin()
    register(admin, receiver.url, ["evidence.shredded"])
    item = submit(admin, "HX-2026-0007", "to shred")
    shredded = admin.post(f"/v1/evidence/{item['id']}/shred", json={"reason": "erasure request"})
    assert shredded.status_code == 200, shredded.text
    wait_until(lambda: receiver.accepted())
    (event,) = [a.event for a in receiver.deduplicated().values()]
    assert event["type"] == "evidence.shredded" and event["data"]["evidence_id"] == item["id"]


def test_private_receivers_are_refused_without_the_allow_flag(
        server: LiveServer, receiver: Receiver) -> None:
    admin = server.admin()
    for url in (receiver.url, "http://localhost:9/x", "http://10.1.2.3/x",
                "http://169.254.169.254/latest/meta-data", "http://[::1]:8080/",
                "http://[::ffff:127.0.0.1]/", "https://192.168.0.10/",
                # IPv6 forms reaching loopback or the metadata address, and site-local
                "http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
                "http://[64:ff9b:1::7f00:1]/", "http://[2002:7f00:1::]/",
                "http://[2001:0:4136:e378:8000:63bf:80ff:fefe]/", "http://[::127.0.0.1]/",
                "http://[fec0::1]/"):
        resp = admin.post("/v1/webhooks", json={"url": url, "events": ALL_EVENTS})
        assert resp.status_code == 422, (url, resp.text)
        assert resp.json()["code"] == "webhook_url_forbidden", url
    assert admin.get("/v1/webhooks").json() == []
    # A name is judged by what it resolves to, at every attempt: the delivery is refused.
    claim = Claim("msg_" + "0" * 32, "wh_" + "0" * 24, receiver.url.replace("127.0.0.1",
                                                                            "localhost"),
                  new_secret(), "{}")
    outcome = send(claim, timeout=1.0, allow_private=False)
    assert (outcome.status_code, outcome.error) == (None, "webhook_url_forbidden")
    assert send(claim, timeout=1.0, allow_private=True).status_code == 200
    assert [a.id for a in receiver.attempts] == [claim.id], "only the allowed attempt arrived"


def test_secrets_are_kept_sealed_and_older_clear_ones_are_sealed_at_start(
        make_server: Callable[..., LiveServer], receiver: Receiver) -> None:
    """The database keeps an endpoint's secret sealed under the master key, bound to its
    endpoint: a copy of the database forges no delivery, and a sealed secret moved to another
    endpoint's row does not open there (that endpoint's deliveries fail, named). A secret kept
    in clear by an earlier version is sealed at the next start and keeps signing."""
    first = make_server(**FAST)
    admin = first.admin()
    endpoint = register(admin, receiver.url, ["evidence.anchored"])
    other = register(admin, receiver.url, ["evidence.anchored"])
    engine = first.service.engine
    with session(engine) as s:
        row = s.get(WebhookEndpoint, endpoint["id"])
        assert row is not None and row.secret.startswith("v1.")
        assert endpoint["secret"] not in row.secret
        moved = row.secret
        row.secret = endpoint["secret"]  # as an earlier version kept it
        s.add(row)
        victim = s.get(WebhookEndpoint, other["id"])
        assert victim is not None
        victim.secret = moved  # another endpoint's sealed secret
        s.add(victim)
        s.commit()
    first.stop()
    second = make_server(**FAST)
    with session(second.service.engine) as s:
        row = s.get(WebhookEndpoint, endpoint["id"])
        assert row is not None and row.secret.startswith("v1.")  # sealed at start
    http = second.client(first.admin_key)
    item = submit(http, "HX-2026-0007", "sealed secret")
    wait_until(lambda: item["id"] in anchored_events(receiver))
    attempt = next(a for a in receiver.attempts if a.event["data"]["evidence_id"] == item["id"])
    assert signature_ok(endpoint["secret"], attempt)
    wait_until(lambda: listed(http, other["id"], "failed"))
    failed = listed(http, other["id"], "failed")[0]
    assert failed["last_error"] == "webhook_secret_unreadable"
