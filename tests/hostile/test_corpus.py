"""A corpus of hostile requests, each named for the attack it reproduces; each must get its
documented 4xx and code (docs/reliability.md, "Errors"), never a 500, and leave nothing
behind: no evidence row, no blob, no spool file. Complements tests/api/test_bad_input.py
(which covers the plain mistakes) with lies, tricks and floods.
"""

from __future__ import annotations

import json
import socket
import threading
import unicodedata

import httpx
import pytest
from sqlmodel import select

from storage.db import Evidence, session
from tests.support import LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

MIB = 1 << 20
META = {"case_id": "HOSTILE-1", "kind": "notice"}
MULTIPART = {"content-type": "multipart/form-data; boundary=B"}


def body(meta: bytes | str | None = None, *, content: bytes = b"%PDF-1.4 notice",
         filename: bytes = b"n.pdf", part_type: bytes = b"application/pdf") -> bytes:
    """A multipart body built by hand, byte for byte (httpx would escape what we send)."""
    raw = json.dumps(META) if meta is None else meta
    raw = raw.encode() if isinstance(raw, str) else raw
    return (b"--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n" + raw
            + b"\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
            + filename + b"\"\r\nContent-Type: " + part_type + b"\r\n\r\n" + content
            + b"\r\n--B--\r\n")


def nothing_stored(server: LiveServer) -> None:
    with session(server.service.engine) as s:
        assert s.exec(select(Evidence)).first() is None
    blobs = server.settings.blobs_dir
    assert not [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else True
    spool = server.settings.spool_dir
    assert not spool.exists() or not list(spool.iterdir())


def raw_exchange(server: LiveServer, request: bytes, *, timeout: float = 10.0) -> bytes:
    """Send ``request`` as is on a fresh connection; return the server's first answer (its
    head and Content-Length body), or what came before the server hung up (b"" if nothing)."""
    with socket.create_connection(("127.0.0.1", server.settings.port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
                head, sep, rest = out.partition(b"\r\n\r\n")
                if sep:
                    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    if len(rest) >= length:
                        break
        except (ConnectionResetError, TimeoutError):
            pass
    return out


def spool_emptied(server: LiveServer) -> None:
    """Wait for the server to notice a client that hung up and discard its upload."""
    spool = server.settings.spool_dir
    wait_until(lambda: not spool.exists() or not list(spool.iterdir()), timeout=10)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def still_serving(server: LiveServer) -> None:
    assert server.client().get("/v1/keys").status_code == 200


# -- metadata: unicode tricks and huge or deep JSON -------------------------------------------

# An NFD case id is folded to its NFC form, the same case (tests/intake/test_case_ids.py).
NFD_CASE = unicodedata.normalize("NFD", "Café-1")
UNICODE_CASES = [
    ("case-id-rtl-override", json.dumps({**META, "case_id": "HX-1\u202e2-XH"}), "case_id"),
    ("case-id-zero-width-space", json.dumps({**META, "case_id": "HX\u200b-1"}), "case_id"),
    ("case-id-zero-width-joiner", json.dumps({**META, "case_id": "HX-\u200d1"}), "case_id"),
    ("case-id-byte-order-mark", json.dumps({**META, "case_id": "\ufeffHX-1"}), "case_id"),
    ("case-id-lone-surrogate-escape", '{"case_id": "HX-\\ud800", "kind": "notice"}', "case_id"),
    ("description-lone-low-surrogate", ('{"case_id": "HX-1", "kind": "notice", '
                                       '"description": "a\\udc00b"}'), "description"),
    ("party-name-rtl-override", json.dumps({**META, "parties": [
        {"role": "debtor", "name": "\u202eevil"}]}), "parties[0].name"),
    ("case-id-trailing-space", json.dumps({**META, "case_id": "HX-1 "}), "case_id"),
    ("case-id-line-separator", json.dumps({**META, "case_id": "HX\u2028-1"}), "case_id"),
]


@pytest.mark.parametrize("meta,field", [c[1:] for c in UNICODE_CASES],
                         ids=[c[0] for c in UNICODE_CASES])
def test_unicode_tricks_in_metadata_are_422(server: LiveServer, meta: str, field: str) -> None:
    resp = server.admin().post("/v1/evidence", content=body(meta), headers=MULTIPART)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "metadata_invalid"
    assert resp.json()["details"].get("field") == field
    nothing_stored(server)


@pytest.mark.parametrize("raw", [
    b'{"case_id": "HX-\xc0\xaf", "kind": "notice"}',       # overlong "/"
    b'{"case_id": "HX-\xe0\x80\xaf", "kind": "notice"}',   # overlong, three bytes
    b'{"case_id": "HX-\xed\xa0\x80", "kind": "notice"}',   # a surrogate, UTF-8 encoded
    b'\xef\xbb\xbf{"case_id": "HX-1", "kind": "notice"}',  # byte-order mark
    b'\xff\xfe{\x00}\x00',                                 # UTF-16
], ids=["overlong-2-bytes", "overlong-3-bytes", "encoded-surrogate", "utf8-bom", "utf16"])
def test_malformed_utf8_metadata_is_422(server: LiveServer, raw: bytes) -> None:
    resp = server.admin().post("/v1/evidence", content=body(raw), headers=MULTIPART)
    assert resp.status_code == 422 and resp.json()["code"] == "metadata_invalid", resp.text
    nothing_stored(server)


def test_lone_surrogate_echoed_in_an_error_still_answers_json(server: LiveServer) -> None:
    resp = server.admin().post("/v1/evidence", headers=MULTIPART,
                               content=body('{"case_id": "HX-1", "kind": "\\ud800"}'))
    assert resp.status_code == 422 and resp.json()["code"] == "kind_unknown"
    nothing_stored(server)


def test_a_composed_case_id_is_accepted_and_kept_exactly(server: LiveServer) -> None:
    composed = unicodedata.normalize("NFC", NFD_CASE)
    resp = server.admin().post("/v1/evidence", headers=MULTIPART,
                               content=body(json.dumps({**META, "case_id": composed})))
    assert resp.status_code == 201, resp.text
    assert resp.json()["case_id"] == composed


@pytest.mark.parametrize("meta,status,code", [
    (b'{"case_id": "A", "kind": "notice", "description": "' + b"x" * (10 * MIB) + b'"}', 413,
     "part_too_large"),
    (b"[" * 30000 + b"]" * 30000, 422, "metadata_invalid"),
    (b'{"a":' * 10000 + b"1" + b"}" * 10000, 422, "metadata_invalid"),
    (b'{"case_id": "A", "kind": "notice", "parties": [' + b",".join(
        [b'{"role": "r", "name": "n"}'] * 1000) + b"]}", 422, "metadata_invalid"),
    (b'{"case_id": 1e400, "kind": "notice"}', 422, "metadata_invalid"),
    (b'{"case_id": "A", "kind": "notice", "captured_at": NaN}', 422, "metadata_invalid"),
    (b'{"case_id": "A", "kind": "notice"} trailing', 422, "metadata_invalid"),
], ids=["10-MiB-metadata", "deeply-nested-arrays", "deeply-nested-objects", "1000-parties",
        "huge-number", "nan", "trailing-garbage"])
def test_huge_or_deep_metadata(server: LiveServer, meta: bytes, status: int, code: str) -> None:
    resp = server.admin().post("/v1/evidence", content=body(meta), headers=MULTIPART)
    assert resp.status_code == status, resp.text[:300]
    assert resp.json()["code"] == code
    nothing_stored(server)
    still_serving(server)


# -- verify: huge JSON, by Content-Length or chunked -------------------------------------------


@pytest.mark.parametrize("kw,status,code", [
    ({"content": b'{"sha256": "' + b"0" * (10 * MIB) + b'"}'}, 413, "request_too_large"),
    ({"content": iter([b'{"sha256": "'] + [b"0" * 65536] * 40 + [b'"}'])}, 413,
     "request_too_large"),
    ({"content": b"[" * 2000 + b"]" * 2000}, 400, "json_too_deep"),  # refused unparsed
    ({"content": b'{"sha256": "\\ud800' + b"0" * 59 + b'"}'}, 422, "sha256_invalid"),
    ({"content": b'{"sha256": "' + b"0" * 64 + b'", "sha256": "' + b"1" * 64 + b'"}'}, 200,
     None),
], ids=["10-MiB-json", "chunked-2.5-MiB-json", "deeply-nested", "lone-surrogate",
        "duplicate-key-last-wins"])
def test_verify_json_limits(server: LiveServer, kw: dict, status: int, code: str | None) -> None:
    resp = server.client().post("/v1/verify", headers={"content-type": "application/json"}, **kw)
    assert resp.status_code == status, resp.text[:300]
    if code is not None:
        assert resp.json()["code"] == code
    still_serving(server)


# -- content types and multipart framing -------------------------------------------------------

@pytest.mark.parametrize("ctype,payload,status,code", [
    ("application/x-www-form-urlencoded", b"metadata=%7B%7D&file=x", 415,
     "content_type_unsupported"),
    ("text/plain", b"hello", 415, "content_type_unsupported"),
    ("multipart/mixed; boundary=B", body(), 415, "content_type_unsupported"),
    ("application/octet-stream", b"\x00" * 1000, 415, "content_type_unsupported"),
    (None, body(), 415, "content_type_unsupported"),
    ("multipart/form-data", body(), 400, "multipart_invalid"),
    ("multipart/form-data; boundary=" + "B" * 300, body(), 400, "multipart_invalid"),
    ("multipart/form-data; boundary=OTHER", body(), 400, "multipart_invalid"),
], ids=["urlencoded", "text-plain", "multipart-mixed", "octet-stream", "no-content-type",
        "no-boundary", "boundary-too-long", "boundary-not-in-body"])
def test_wrong_content_types(server: LiveServer, ctype: str | None, payload: bytes,
                             status: int, code: str) -> None:
    headers = {"content-type": ctype} if ctype else {}
    resp = server.admin().post("/v1/evidence", content=payload, headers=headers)
    assert resp.status_code == status, resp.text
    assert resp.json()["code"] == code
    nothing_stored(server)


def test_truncated_inside_the_part_headers_is_400(server: LiveServer) -> None:
    cut = body()[:60]  # ends inside the metadata part's headers
    resp = server.admin().post("/v1/evidence", content=cut, headers=MULTIPART)
    assert resp.status_code == 400 and resp.json()["code"] == "multipart_truncated"
    nothing_stored(server)


def test_oversized_part_headers_are_400(server: LiveServer) -> None:
    huge = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\nX-Pad: "
            + b"p" * (20 * 1024) + b"\r\n\r\ndata\r\n--B--\r\n")
    resp = server.admin().post("/v1/evidence", content=huge, headers=MULTIPART)
    assert resp.status_code == 400  # python-multipart's own 8 KiB limit, or ours (16 KiB)
    assert resp.json()["code"] in ("multipart_invalid", "multipart_headers_too_large")
    nothing_stored(server)


def test_two_metadata_parts_are_422(server: LiveServer) -> None:
    twice = (b"--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
             + json.dumps(META).encode() + b"\r\n" + body())
    resp = server.admin().post("/v1/evidence", content=twice, headers=MULTIPART)
    assert resp.status_code == 422 and resp.json()["code"] == "metadata_invalid"
    nothing_stored(server)


# -- Content-Length lies, oversize heads, clients that go away ---------------------------------


def _head(server: LiveServer, length: int, extra: bytes = b"") -> bytes:
    return (b"POST /v1/evidence HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + server.admin_key.encode() + b"\r\n"
            b"Content-Type: multipart/form-data; boundary=B\r\n"
            b"Content-Length: " + str(length).encode() + b"\r\n" + extra + b"\r\n")


def test_content_length_over_the_limit_is_413_before_the_body(make_server) -> None:
    server = make_server(max_upload_bytes=1000)
    answer = raw_exchange(server, _head(server, 50 * MIB) + body()[:100])
    assert status_of(answer) == 413 and b'"upload_too_large"' in answer
    nothing_stored(server)
    still_serving(server)


def test_content_length_shorter_than_the_body_is_400(server: LiveServer) -> None:
    payload = body()
    answer = raw_exchange(server, _head(server, len(payload) // 2) + payload)
    assert status_of(answer) == 400, answer[:300]
    assert b'"multipart_truncated"' in answer
    nothing_stored(server)
    still_serving(server)


def test_content_length_longer_than_the_body_then_hang_up(server: LiveServer) -> None:
    payload = body()[:-20]  # the file part never ends: no closing boundary
    answer = raw_exchange(server, _head(server, len(payload) + 5000) + payload, timeout=2)
    assert status_of(answer) in (0, 400), answer[:300]  # nobody is left to answer, or 400
    spool_emptied(server)
    nothing_stored(server)
    still_serving(server)


def test_client_that_vanishes_mid_upload_leaves_nothing(server: LiveServer) -> None:
    payload = body(content=b"x" * (4 * MIB))
    with socket.create_connection(("127.0.0.1", server.settings.port)) as sock:
        sock.sendall(_head(server, len(payload)) + payload[: 2 * MIB])
    still_serving(server)
    spool_emptied(server)
    nothing_stored(server)


def test_request_head_over_16_kib_is_refused(server: LiveServer) -> None:
    pad = b"X-Pad: " + b"p" * (20 * 1024) + b"\r\n"
    answer = raw_exchange(server, _head(server, 10, pad) + b"0123456789")
    assert status_of(answer) in (400, 431), answer[:200]
    nothing_stored(server)
    still_serving(server)


# -- header injection through file names -------------------------------------------------------

INJECTIONS = [
    ("crlf-percent-encoded", b"a%0d%0aX-Injected: 1.pdf"),
    ("quote-and-extra-param", b'a.pdf\\"; filename*=UTF-8\'\'evil.exe'),
    ("semicolon-and-equals", b"a.pdf; x=y"),
    ("html", b"<script>alert(1)</script>.pdf"),
    ("very-long", b"a" * 255 + b".pdf"),
    ("unicode-lookalike-slash", "a\u2215b.pdf".encode()),
]


@pytest.mark.parametrize("filename", [c[1] for c in INJECTIONS], ids=[c[0] for c in INJECTIONS])
def test_file_names_cannot_inject_headers(server: LiveServer, filename: bytes) -> None:
    http = server.admin()
    resp = http.post("/v1/evidence", content=body(filename=filename), headers=MULTIPART)
    if resp.status_code != 201:
        assert resp.status_code == 422 and resp.json()["code"] == "file_name_invalid"
        nothing_stored(server)
        return
    content = http.get(f"/v1/evidence/{resp.json()['id']}/content")
    assert content.status_code == 200 and content.content == b"%PDF-1.4 notice"
    assert "x-injected" not in content.headers
    disposition = content.headers.get_list("content-disposition")
    assert len(disposition) == 1 and disposition[0].startswith("attachment; filename*=UTF-8''")
    assert '"' not in disposition[0] and disposition[0].count(";") == 1  # one parameter only


def test_crlf_inside_a_part_header_does_not_reach_the_statement(server: LiveServer) -> None:
    raw = (b"--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
           + json.dumps(META).encode()
           + b"\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\r\n"
           + b"X-Injected: 1\"\r\n\r\n%PDF\r\n--B--\r\n")
    resp = server.admin().post("/v1/evidence", content=raw, headers=MULTIPART)
    assert resp.status_code in (201, 400, 422), resp.text
    if resp.status_code == 201:
        stored = server.admin().get(f"/v1/evidence/{resp.json()['id']}").json()
        name = stored["statement_json"]["file_name"]
        assert "\r" not in name and "\n" not in name and "X-Injected" not in name
    else:
        assert resp.json()["code"] in ("multipart_invalid", "file_name_invalid")
        nothing_stored(server)


# -- idempotency keys reused with different bodies ---------------------------------------------


def _submit(http: httpx.Client, key: str, meta: dict, content: bytes) -> httpx.Response:
    return http.post("/v1/evidence", content=body(json.dumps(meta), content=content),
                     headers={**MULTIPART, "Idempotency-Key": key})


def test_same_idempotency_key_with_other_metadata_is_409(server: LiveServer) -> None:
    http = server.admin()
    first = _submit(http, "idem-1", META, b"same file")
    assert first.status_code == 201
    clash = _submit(http, "idem-1", {**META, "description": "changed"}, b"same file")
    assert clash.status_code == 409 and clash.json()["code"] == "idempotency_conflict"
    assert clash.json()["details"]["evidence_id"] == first.json()["id"]
    again = _submit(http, "idem-1", META, b"same file")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    with session(server.service.engine) as s:
        assert len(list(s.exec(select(Evidence)))) == 1


def test_concurrent_reuse_of_an_idempotency_key_records_one_item(server: LiveServer) -> None:
    answers: list[httpx.Response] = []
    start = threading.Barrier(4)

    def send(i: int) -> None:
        with server.admin() as http:
            start.wait()
            answers.append(_submit(http, "idem-race", META, f"file {i}".encode()))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409], [a.text for a in answers]
    with session(server.service.engine) as s:
        assert len(list(s.exec(select(Evidence)))) == 1


def test_idempotency_keys_belong_to_their_api_key(server: LiveServer) -> None:
    from notary.service.apikeys import create_key

    _row, other = create_key(server.service.engine, "collector")
    first = _submit(server.admin(), "shared-key", META, b"one")
    second = _submit(server.client(other), "shared-key", META, b"two")
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


@pytest.mark.parametrize("key", ["k" * 256, ""], ids=["too-long", "empty"])
def test_malformed_idempotency_key_is_422(server: LiveServer, key: str) -> None:
    resp = _submit(server.admin(), key, META, b"x")
    assert resp.status_code == 422 and resp.json()["code"] == "request_invalid", resp.text
    nothing_stored(server)
