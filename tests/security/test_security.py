"""Security properties of the API: rate limits (429 + Retry-After), security headers, API keys
stored only as hashes, revoked keys refused. Real server, real HTTP; addresses other than
127.0.0.1 are the proxy header a loopback proxy sets, trusted where a test says so with
``trusted_proxies="127.0.0.1"`` (no traffic leaves loopback)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from notary.config import Settings
from notary.service.apikeys import KEY_CACHE_SECONDS, create_key, revoke_key
from notary.service.ratelimit import RateLimited, TokenBuckets
from tests.support import LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

META = {"case_id": "SEC-1", "kind": "notice"}


def files(n: int = 0) -> dict:
    return {"metadata": (None, json.dumps(META), "application/json"),
            "file": ("n.pdf", f"%PDF notice {n}".encode(), "application/pdf")}


def from_address(server: LiveServer, address: str, key: str | None = None) -> httpx.Client:
    headers = {"X-Forwarded-For": address}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def assert_429(resp: httpx.Response, limit: str) -> int:
    assert resp.status_code == 429, resp.text
    assert resp.json()["code"] == "rate_limited" and resp.json()["details"]["limit"] == limit
    retry_after = int(resp.headers["Retry-After"])
    assert retry_after >= 1 and retry_after == resp.json()["details"]["retry_after"]
    return retry_after


# -- the token bucket itself ---------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_spends_refills_and_says_when_to_retry() -> None:
    clock = Clock()
    buckets = TokenBuckets(6, name="test", clock=clock)  # 6 a minute: one every 10 s
    for _ in range(6):
        buckets.take("a")
    with pytest.raises(RateLimited) as caught:
        buckets.take("a")
    assert caught.value.retry_after == 10
    buckets.take("b")  # another key has its own bucket
    clock.now += 4
    with pytest.raises(RateLimited) as caught:
        buckets.take("a")
    assert caught.value.retry_after == 6
    clock.now += 6
    buckets.take("a")
    clock.now += 3600  # a full bucket holds one minute's worth, not more
    for _ in range(6):
        buckets.take("a")
    with pytest.raises(RateLimited):
        buckets.take("a")


def test_check_and_charge_spend_only_on_failure() -> None:
    clock = Clock()
    buckets = TokenBuckets(2, name="test", clock=clock)
    buckets.check("x")
    buckets.check("x")
    buckets.check("x")  # checking spends nothing
    buckets.charge("x")
    buckets.charge("x")
    buckets.charge("x")  # never raises, never goes below zero
    with pytest.raises(RateLimited) as caught:
        buckets.check("x")
    assert caught.value.retry_after == 30


def test_zero_turns_a_limit_off_and_memory_is_bounded() -> None:
    off = TokenBuckets(0, name="off")
    for _ in range(10_000):
        off.take("a")
    clock = Clock()
    many = TokenBuckets(60, name="many", max_keys=100, clock=clock)
    for i in range(1000):
        many.take(f"addr-{i}")
    assert len(many._buckets) <= 101


def test_defaults_leave_room_for_the_benchmarks() -> None:
    s = Settings(home=Path("unused"))
    assert s.rate_submit_per_minute >= 60 * 1000  # 1000 submissions/s per key
    assert s.rate_verify_per_minute >= 60 * 50
    assert s.rate_auth_failures_per_minute > 0 and s.max_json_bytes >= 4096


# -- limits over HTTP ------------------------------------------------------------------------------


def test_submissions_are_limited_per_api_key(make_server) -> None:
    server = make_server(rate_submit_per_minute=3)
    _row, other = create_key(server.service.engine, "collector")
    admin = server.admin()
    for i in range(3):
        assert admin.post("/v1/evidence", files=files(i)).status_code == 201
    retry = assert_429(admin.post("/v1/evidence", files=files(9)), "submissions per API key")
    assert retry == 20  # 3 a minute: one every 20 s
    assert server.client(other).post("/v1/evidence", files=files(10)).status_code == 201
    with server.service.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM evidence")).scalar() == 4
    assert admin.get("/v1/keys").status_code == 200  # only submissions are limited


def test_public_verification_is_limited_per_address(make_server) -> None:
    server = make_server(rate_verify_per_minute=5, trusted_proxies="127.0.0.1")
    query = {"sha256": "ab" * 32}
    a = from_address(server, "203.0.113.7")
    for _ in range(5):
        assert a.post("/v1/verify", json=query).status_code == 200
    assert_429(a.post("/v1/verify", json=query), "verifications per address")
    assert_429(a.post("/v1/verify", files={"file": ("x", b"x")}), "verifications per address")
    assert from_address(server, "203.0.113.8").post("/v1/verify", json=query).status_code == 200


def test_failed_authentications_are_limited_per_address(make_server) -> None:
    server = make_server(rate_auth_failures_per_minute=4, trusted_proxies="127.0.0.1")
    eid = "/v1/evidence/ev_" + "0" * 32
    guesser = from_address(server, "198.51.100.1", "nk_000000000000_" + "A" * 43)
    for _ in range(4):
        assert guesser.get(eid).status_code == 401
    assert_429(guesser.get(eid), "failed authentications per address")
    assert_429(from_address(server, "198.51.100.1").get(eid),  # no key at all: a failure too
               "failed authentications per address")
    # A valid key from that address is let through (issue 13, #8): one guesser behind a NAT
    # or an office proxy must not lock out its colleagues. Keys hold 256 random bits, so
    # letting a right guess through confirms nothing anyone can reach by guessing.
    for _ in range(3):
        assert from_address(server, "198.51.100.1", server.admin_key).get(eid).status_code == 404
    assert_429(guesser.get(eid), "failed authentications per address")  # guesses still wait
    assert from_address(server, "198.51.100.2", server.admin_key).get(eid).status_code == 404
    # Successful requests cost nothing.
    honest = from_address(server, "198.51.100.3", server.admin_key)
    for _ in range(10):
        assert honest.get(eid).status_code == 404


# -- headers ---------------------------------------------------------------------------------------


def test_security_headers_on_every_kind_of_answer(server: LiveServer) -> None:
    admin = server.admin()
    created = admin.post("/v1/evidence", files=files())
    eid = created.json()["id"]
    answers = {
        "created": created,
        "evidence": admin.get(f"/v1/evidence/{eid}"),
        "proof-pending": admin.get(f"/v1/evidence/{eid}/proof"),
        "content": admin.get(f"/v1/evidence/{eid}/content"),
        "verify": server.client().post("/v1/verify", json={"sha256": "00" * 32}),
        "keys": server.client().get("/v1/keys"),
        "unauthorised": server.client().get(f"/v1/evidence/{eid}"),
        "not-found": server.client().get("/nothing-here"),
        "too-large": server.client().post("/v1/verify", content=b"{" + b" " * (2 << 20) + b"}",
                                          headers={"content-type": "application/json"}),
        "openapi": server.client().get("/openapi.json"),
    }
    for name, resp in answers.items():
        assert resp.headers.get("x-content-type-options") == "nosniff", name
        assert resp.headers.get("referrer-policy") == "no-referrer", name
        if name != "openapi" and name != "not-found":
            assert "no-store" in resp.headers.get("cache-control", ""), name
    assert answers["too-large"].status_code == 413
    assert answers["content"].headers["cache-control"] == "no-store"


def test_pages_get_a_strict_policy_and_keep_their_own(server: LiveServer) -> None:
    http = server.client()
    page = http.get("/verify")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert len(page.headers.get_list("content-security-policy")) == 1  # not doubled
    docs = http.get("/docs")
    assert docs.status_code == 200
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert docs.headers["x-content-type-options"] == "nosniff"


# -- API keys at rest ------------------------------------------------------------------------------


def test_api_keys_are_stored_as_hashes_only(server: LiveServer) -> None:
    engine = server.service.engine
    row, token = create_key(engine, "lawyer", label="outside counsel")
    secret = token[16:]
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM api_keys"))]
    dump = repr(rows)
    assert secret not in dump and server.admin_key[16:] not in dump
    import hashlib

    assert hashlib.sha256(token.encode()).hexdigest() in dump
    if server.settings.database_url is None:  # SQLite: the files on disk, WAL included
        for path in server.settings.home.glob("notary.db*"):
            data = path.read_bytes()
            assert secret.encode() not in data and server.admin_key[16:].encode() not in data
    assert server.client(token).get("/v1/evidence/ev_" + "0" * 32).status_code == 404
    revoke_key(engine, row.id)
    gone = server.client(token).get("/v1/evidence/ev_" + "0" * 32)
    assert gone.status_code == 401 and gone.json()["code"] == "api_key_revoked"
    # An expired key (api_keys.expires_at in the past) is refused too.
    late, late_token = create_key(engine, "auditor")
    assert server.client(late_token).get("/v1/evidence/ev_" + "0" * 32).status_code == 404
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_keys SET expires_at = :t WHERE id = :id"),
                     {"t": datetime(2020, 1, 1, tzinfo=UTC), "id": late.id})
    # Written to the database behind the server's back (as another process would), so the
    # key the server looked up a moment ago is believed for at most KEY_CACHE_SECONDS more.
    expired = wait_until(lambda: (r := server.client(late_token).get(
        "/v1/evidence/ev_" + "0" * 32)).status_code != 404 and r, timeout=KEY_CACHE_SECONDS + 3)
    assert expired.status_code == 401 and expired.json()["code"] == "api_key_expired"  # type: ignore[attr-defined]
    # A token differing in its last character is a different key, refused the same way.
    near = server.admin_key[:-1] + ("A" if server.admin_key[-1] != "A" else "B")
    near_resp = server.client(near).get("/v1/evidence/ev_" + "0" * 32)
    assert near_resp.status_code == 401 and near_resp.json()["code"] == "api_key_invalid"
