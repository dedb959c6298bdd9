"""Hostile transport (issue 13, an outside probe of a running instance): deep JSON, bodies
over the limit under any media type, slow and stalled uploads, a 500 on a keep-alive
connection. Each test reproduces the attack against the real app over real HTTP (raw sockets
where httpx would behave too well) and checks the clear 4xx, that the server still answers,
and that nothing already accepted is lost.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from notary.core.bundle import BUNDLE_MEDIA_TYPE
from notary.core.jsonlimits import MAX_JSON_DEPTH, JsonTooDeep, check_depth, loads_bounded
from storage.db import Evidence, session
from tests.hostile.rawhttp import FILE_PART, connect, head, read_answer, start_slow_upload
from tests.support import REPO, LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]

MIB = 1 << 20
DEEP = b"[" * 100_000  # the probe's body: 100,000 nested '[' (not even closed)
TRANSFER = "/v1/cases/PROBE-1/transfer"


def answers_fast(server: LiveServer, within: float = 2.0) -> None:
    """/v1/health and /v1/keys answer, each within ``within`` seconds."""
    for path in ("/v1/health", "/v1/keys"):
        started = time.monotonic()
        resp = httpx.get(server.url + path, timeout=within + 5)
        took = time.monotonic() - started
        assert resp.status_code == 200 and took < within, (path, resp.status_code, took)


def evidence_count(server: LiveServer) -> int:
    with session(server.service.engine) as s:
        return len(list(s.exec(select(Evidence))))


def submit_one(server: LiveServer) -> str:
    resp = server.admin().post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": "PROBE-1", "kind": "notice"}),
                     "application/json"),
        "file": ("n.pdf", b"%PDF-1.4 accepted before the attack", "application/pdf")})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


# -- the depth scanner itself ----------------------------------------------------------------


def test_depth_scanner_counts_brackets_outside_strings_only() -> None:
    check_depth(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    with pytest.raises(JsonTooDeep) as caught:
        check_depth(b"[" * (MAX_JSON_DEPTH + 1))
    assert caught.value.code == "json_too_deep"
    # Brackets in strings, escaped quotes included, are text, not nesting.
    check_depth(json.dumps({"a": "[" * 1000, "b": '\\"' + "{" * 1000}).encode())
    with pytest.raises(JsonTooDeep):
        check_depth(b'{"a": "\\\\"' + b"[" * 100)  # the string ended: these brackets count
    assert loads_bounded(b'{"a": [1, {"b": 2}]}', max_bytes=100) == {"a": [1, {"b": 2}]}
    with pytest.raises(Exception) as too_large:
        loads_bounded(b"[" + b"1," * 100 + b"1]", max_bytes=100)
    assert getattr(too_large.value, "code", None) == "json_too_large"
    started = time.monotonic()
    with pytest.raises(JsonTooDeep):
        check_depth(b"[" * 10 * MIB)
    assert time.monotonic() - started < 5


# -- Critical #2: deep JSON crashed the process ----------------------------------------------


@pytest.mark.parametrize("ctype", ["application/json", "application/vnd.x+json", None])
@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "admin-key"])
def test_a_deep_body_is_refused_and_the_server_lives(server: LiveServer, ctype: str | None,
                                                      keyed: bool) -> None:
    accepted = submit_one(server)
    headers = {"content-type": ctype} if ctype else {}
    client = server.admin() if keyed else server.client()
    if ctype is None:  # httpx would add a Content-Type; FastAPI parses a body without one
        client.headers.pop("content-type", None)
    resp = client.post(TRANSFER, content=DEEP, headers=headers)
    assert resp.status_code == 400, resp.text[:300]
    assert resp.json()["code"] == "json_too_deep"
    assert resp.json()["details"]["max_depth"] == MAX_JSON_DEPTH
    answers_fast(server)
    assert server.admin().get(f"/v1/evidence/{accepted}").status_code == 200


def test_brackets_inside_strings_are_not_nesting(server: LiveServer) -> None:
    body = json.dumps({"to_tenant": "[" * 5000, "reason": "{" * 5000}).encode()
    resp = server.client().post(TRANSFER, content=body,
                                headers={"content-type": "application/json"})
    assert resp.status_code == 401  # parsed as it should be, then refused for want of a key


def test_a_utf16_body_cannot_hide_its_depth(server: LiveServer) -> None:
    """json.loads also reads UTF-16, where U+5C4E is the bytes 4E 5C: a backslash to a byte
    scanner, which then takes the rest for a string and counts none of its brackets. A JSON
    body must be UTF-8, so it is refused before any parser sees it."""
    text = '{"a":"\u5c4e","b":' + "[" * 5000 + "]" * 5000 + "}"
    body = text.encode("utf-16-le")
    resp = server.client().post(TRANSFER, content=body,
                                headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["code"] == "json_invalid", resp.text[:300]
    answers_fast(server)


def deep_manifest_bundle() -> bytes:
    """A 'bundle' whose manifest.json nests 200,000 levels (stored: no ratio limit trips)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", BUNDLE_MEDIA_TYPE.encode(), compress_type=zipfile.ZIP_STORED)
        z.writestr("manifest.json", b"[" * 200_000 + b"]" * 200_000,
                   compress_type=zipfile.ZIP_STORED)
        z.writestr("keys/jwks.json", b'{"keys": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
                   compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def _manifest_reason(verdict: dict) -> str:
    return next(c["reason"] for c in verdict["checks"] if c["name"] == "manifest")


def test_a_deep_manifest_sent_to_verify_is_rejected(server: LiveServer) -> None:
    resp = server.client().post("/v1/verify", files={
        "bundle": ("b.zip", deep_manifest_bundle(), "application/zip")})
    assert resp.status_code == 200, resp.text[:300]
    verdict = resp.json()
    assert verdict["result"] != "valid"
    assert "deeper than 64 levels" in _manifest_reason(verdict)
    answers_fast(server)


def test_a_deep_manifest_is_rejected_by_notary_verify_offline(tmp_path: Path) -> None:
    bundle = tmp_path / "deep.zip"
    bundle.write_bytes(deep_manifest_bundle())
    out = subprocess.run([sys.executable, "-m", "notary.cli", "verify", str(bundle), "--json"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]  # invalid, not a crash
    verdict = json.loads(out.stdout)
    assert verdict["result"] == "invalid"
    assert "deeper than 64 levels" in _manifest_reason(verdict)


# -- High #5: the size limit was bypassed with a +json media type ----------------------------


@pytest.mark.parametrize("ctype", ["application/vnd.x+json", "application/octet-stream",
                                   "image/png", "multipart/form-data; boundary=B"])
def test_any_large_body_is_refused_by_its_length(make_server: Callable[..., LiveServer],
                                                 ctype: str) -> None:
    server = make_server(max_json_bytes=64 * 1024)
    resp = server.client().post(TRANSFER, content=b"{" + b" " * (4 * MIB) + b"}",
                                headers={"content-type": ctype})
    assert resp.status_code == 413, resp.text[:300]
    assert resp.json()["code"] == "request_too_large"
    answers_fast(server)


def test_a_chunked_json_flood_is_cut_before_it_is_buffered(
        make_server: Callable[..., LiveServer]) -> None:
    """No Content-Length: the body is counted as it arrives and cut at the limit; the client
    is stopped long before its 256 MiB are out, and the process does not grow."""
    server = make_server(max_json_bytes=64 * 1024)
    sent = 0

    def flood() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"reason": "'
        for _ in range(4096):
            sent += 65536
            yield b"x" * 65536

    rss_before = _rss()
    resp = server.client().post(TRANSFER, content=flood(),
                                headers={"content-type": "application/vnd.x+json"})
    assert resp.status_code == 413 and resp.json()["code"] == "request_too_large"
    assert sent < 64 * MIB, f"{sent} bytes were read before the refusal"
    assert _rss() - rss_before < 48 * MIB
    answers_fast(server)


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


# -- High #3: slow uploads froze the API -----------------------------------------------------


def test_a_stalled_upload_is_cut_with_408(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(body_idle_timeout=1.0)
    accepted = submit_one(server)
    before = evidence_count(server)
    started = time.monotonic()
    public = start_slow_upload(server)  # public verification, stalls after its first bytes
    keyed = start_slow_upload(server, "/v1/evidence", headers={
        "Authorization": f"Bearer {server.admin_key}"},
        first=(b'--B\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
               b'{"case_id": "PROBE-1", "kind": "notice"}\r\n' + FILE_PART + b"half a file"))
    small = connect(server)  # a JSON body announced as 100 bytes, 10 sent
    small.sendall(head("POST", TRANSFER, {"Content-Type": "application/json",
                                          "Content-Length": "100"}) + b'{"to_tena')
    for sock in (public, keyed, small):
        answer = read_answer(sock, timeout=10)
        assert answer.status == 408, answer.body
        assert answer.json()["code"] == "body_timeout"
        sock.close()
    assert time.monotonic() - started < 8
    assert evidence_count(server) == before, "a cut upload left a row"
    assert server.admin().get(f"/v1/evidence/{accepted}").status_code == 200
    answers_fast(server)


def test_a_trickling_upload_is_not_cut_while_bytes_arrive(
        make_server: Callable[..., LiveServer]) -> None:
    # a byte every 0.3 s for longer than the 2 s idle limit: slow, never idle, and the whole
    # body takes longer than the limit, so only a per-read timer lets it through. The gaps leave
    # 1.7 s for a loaded machine (a 1 s limit with 0.4 s gaps was cut once in CI).
    trickle = b"abcdefghij\r"
    server = make_server(body_idle_timeout=2.0)
    sock = start_slow_upload(server,
                             headers={"Content-Length": str(len(FILE_PART) + len(trickle) + 8)},
                             first=FILE_PART)
    started = time.monotonic()
    for byte in trickle:
        time.sleep(0.3)
        sock.sendall(bytes([byte]))
    assert time.monotonic() - started > 2.0
    sock.sendall(b"\n--B--\r\n")
    answer = read_answer(sock)
    assert answer.status == 200, answer.body
    assert answer.json()["result"] == "unknown"  # hashed and looked up: never notarised
    sock.close()


def test_upload_caps_per_address_and_overall(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(body_idle_timeout=4.0, max_uploads=3, max_uploads_per_address=2)
    held = [start_slow_upload(server, source=a) for a in ("127.0.0.1", "127.0.0.1", "127.0.0.2")]
    time.sleep(0.5)  # the three are inside, each holding a worker thread
    same = start_slow_upload(server, source="127.0.0.1")
    answer = read_answer(same, timeout=3)
    assert answer.status == 429 and answer.json()["code"] == "uploads_busy", answer.body
    assert int(answer.headers["retry-after"]) >= 1
    other = start_slow_upload(server, "/v1/check", source="127.0.0.3")
    answer = read_answer(other, timeout=3)
    assert answer.status == 503 and answer.json()["code"] == "uploads_busy", answer.body
    assert int(answer.headers["retry-after"]) >= 1
    answers_fast(server)
    for sock in held:  # the stalled ones are cut in their turn, and their slots come back
        assert read_answer(sock, timeout=10).status == 408
        sock.close()
    resp = server.client().post("/v1/verify", files={"file": ("x", b"x")})
    assert resp.status_code == 200


def test_the_probe_45_slow_uploads_leave_light_routes_fast(
        make_server: Callable[..., LiveServer]) -> None:
    """The probe's figures: 45 uploads sending a byte a second, default caps (24 overall, 4 per
    address), from 12 addresses; /v1/health and /v1/keys must answer fast all along."""
    server = make_server(body_idle_timeout=2.0)
    outcomes: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def slow(n: int) -> None:
        sock = start_slow_upload(server, source=f"127.0.0.{10 + n % 12}")
        sock.settimeout(30)
        try:
            while not stop.is_set():
                sock.sendall(b"x")
                time.sleep(1.0)
                sock.setblocking(False)
                try:
                    if sock.recv(1, 0x2):  # MSG_PEEK: an answer came (refused)
                        break
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
                    sock.settimeout(30)
            status = read_answer(sock, timeout=15).status
        except (ConnectionError, OSError):
            status = -1
        finally:
            sock.close()
        with lock:
            outcomes.append(status)

    threads = [threading.Thread(target=slow, args=(n,), daemon=True) for n in range(45)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    for _ in range(4):  # while the 45 trickle
        answers_fast(server)
        time.sleep(0.5)
    stop.set()  # they stop sending: the accepted ones are cut after 2 s of silence
    for t in threads:
        t.join(30)
    assert len(outcomes) == 45
    assert outcomes.count(408) <= 24 and outcomes.count(408) >= 1, outcomes
    assert outcomes.count(408) + outcomes.count(503) + outcomes.count(429) == 45, outcomes
    answers_fast(server)


# -- a 500 reset the next request on its keep-alive connection -------------------------------


def test_a_500_keeps_the_connection_usable(server: LiveServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection: the service's health check raises an unexpected exception, standing in
    # for any bug; nothing else here is faked.
    def broken() -> dict:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(server.service, "health", broken)
    sock = connect(server)
    sock.sendall(head("GET", "/v1/health", {}))
    first = read_answer(sock)
    assert first.status == 500 and first.json()["code"] == "internal_error"
    assert "injected" not in first.body.decode()
    sock.sendall(head("GET", "/v1/keys", {}))  # the same connection
    second = read_answer(sock)
    assert second.status == 200 and "keys" in second.json()
    sock.close()
    with httpx.Client(base_url=server.url) as client:  # and httpx's pool sees no reset
        assert client.get("/v1/health").status_code == 500
        assert client.get("/v1/keys").status_code == 200
