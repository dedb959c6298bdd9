"""Every kind of bad request gets its documented 4xx and code, never a 500, and leaves nothing
half-written: no evidence row, no blob, no spool file."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from storage.db import Evidence, session
from tests.support import LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]

GOOD_META = {"case_id": "C-1", "kind": "notice"}


def form(meta: object = GOOD_META, content: bytes = b"%PDF notice", name: str = "n.pdf",
         ctype: str = "application/pdf") -> dict:
    raw = meta if isinstance(meta, str) else json.dumps(meta)
    return {"metadata": (None, raw, "application/json"), "file": (name, content, ctype)}


def nothing_stored(server: LiveServer) -> None:
    with session(server.service.engine) as s:
        assert s.exec(select(Evidence)).first() is None
    blobs = server.settings.blobs_dir
    assert not blobs.exists() or not [p for p in blobs.rglob("*") if p.is_file()
                                      and ".tmp" not in p.parts]
    spool = server.settings.spool_dir
    assert not spool.exists() or not list(spool.iterdir())


CASES = [
    ("metadata-missing", {"files": {"file": ("a.pdf", b"x", "application/pdf")}}, 422,
     "metadata_missing"),
    ("metadata-not-json", {"files": form("{not json")}, 422, "metadata_invalid"),
    ("metadata-not-object", {"files": form("[1,2]")}, 422, "metadata_invalid"),
    ("metadata-unknown-field", {"files": form({**GOOD_META, "debtor_id": "x"})}, 422,
     "metadata_invalid"),
    ("metadata-no-case", {"files": form({"kind": "notice"})}, 422, "metadata_invalid"),
    ("kind-unknown", {"files": form({"case_id": "C-1", "kind": "selfie"})}, 422, "kind_unknown"),
    ("kind-a-list", {"files": form({"case_id": "C-1", "kind": ["notice"]})}, 422, "kind_unknown"),
    ("kind-an-object", {"files": form({"case_id": "C-1", "kind": {"a": 1}})}, 422,
     "kind_unknown"),
    ("captured-at-malformed", {"files": form({**GOOD_META, "captured_at": "yesterday"})}, 422,
     "metadata_invalid"),
    ("case-id-too-long", {"files": form({**GOOD_META, "case_id": "C" * 129})}, 422,
     "metadata_invalid"),
    ("case-id-control-char", {"files": form({**GOOD_META, "case_id": "C-1\u0007"})}, 422,
     "metadata_invalid"),
    ("description-too-long", {"files": form({**GOOD_META, "description": "d" * 5000})}, 422,
     "metadata_invalid"),
    ("metadata-duplicate-keys", {"files": form('{"case_id":"A","case_id":"B","kind":"notice"}')},
     422, "metadata_invalid"),
    ("file-missing", {"files": {"metadata": (None, json.dumps(GOOD_META), "application/json")}},
     422, "file_missing"),
    ("file-empty", {"files": form(content=b"")}, 422, "file_empty"),
    ("file-name-path-separator", {"files": form(name="../../etc/passwd")}, 422,
     "file_name_invalid"),
    ("file-name-backslash", {"files": form(name="C:\\evil.pdf")}, 422, "file_name_invalid"),
    ("media-type-bogus", {"files": form(ctype="not a type")}, 422, "media_type_invalid"),
    ("unexpected-part", {"files": {**form(), "extra": (None, "x")}}, 400, "part_unexpected"),
    ("json-body-instead-of-form", {"json": GOOD_META}, 415, "content_type_unsupported"),
]


@pytest.mark.parametrize("name,request_kw,status,code", CASES, ids=[c[0] for c in CASES])
def test_bad_submission(server: LiveServer, name: str, request_kw: dict, status: int,
                        code: str) -> None:
    resp = server.admin().post("/v1/evidence", **request_kw)
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == code and body["message"]
    nothing_stored(server)


def test_upload_over_the_limit_is_413(make_server, tmp_path: Path) -> None:
    server = make_server(max_upload_bytes=1000)
    resp = server.admin().post("/v1/evidence", files=form(content=b"x" * 1001))
    assert resp.status_code == 413 and resp.json()["code"] == "upload_too_large"
    ok = server.admin().post("/v1/evidence", files=form(content=b"x" * 1000))
    assert ok.status_code == 201
    # A streamed body without Content-Length is cut off at the limit too.
    body = (b"--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
            + json.dumps(GOOD_META).encode()
            + b"\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n"
            + b"y" * 5000 + b"\r\n--B--\r\n")

    def chunks():
        for i in range(0, len(body), 700):
            yield body[i:i + 700]

    resp = server.admin().post("/v1/evidence", content=chunks(),
                               headers={"content-type": "multipart/form-data; boundary=B"})
    assert resp.status_code == 413


def raw_form(filename: bytes, content: bytes = b"%PDF") -> bytes:
    """A multipart body built by hand, for bytes that httpx would escape."""
    return (b"--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
            + json.dumps(GOOD_META).encode()
            + b"\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
            + filename + b"\"\r\n\r\n" + content + b"\r\n--B--\r\n")


@pytest.mark.parametrize("filename", [b"a\x01b.pdf", b"a\x1bb.pdf", b"\xff\xfe.pdf",
                                      b"a\xe2\x80\xaeb.pdf"],
                         ids=["control-char", "escape-char", "not-utf8", "bidi-override"])
def test_hostile_file_names_are_refused(server: LiveServer, filename: bytes) -> None:
    resp = server.admin().post("/v1/evidence", content=raw_form(filename),
                               headers={"content-type": "multipart/form-data; boundary=B"})
    assert resp.status_code in (400, 422), resp.text
    assert resp.json()["code"] in ("file_name_invalid", "multipart_invalid")
    nothing_stored(server)


def test_chinese_file_name_is_kept_exactly(server: LiveServer) -> None:
    name = "催收通知书-2026.pdf"
    resp = server.admin().post("/v1/evidence", content=raw_form(name.encode()),
                               headers={"content-type": "multipart/form-data; boundary=B"})
    assert resp.status_code == 201, resp.text
    evidence = server.admin().get(f"/v1/evidence/{resp.json()['id']}").json()
    assert evidence["statement_json"]["file_name"] == name


def test_truncated_multipart_is_rejected(server: LiveServer) -> None:
    body = (b"--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
            + json.dumps(GOOD_META).encode()
            + b"\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n"
            + b"partial data, no closing boundary")
    resp = server.admin().post("/v1/evidence", content=body,
                               headers={"content-type": "multipart/form-data; boundary=B"})
    assert resp.status_code == 400 and resp.json()["code"] == "multipart_truncated"
    nothing_stored(server)


@pytest.mark.parametrize("headers,code", [
    ({}, "api_key_missing"),
    ({"Authorization": "Bearer nope"}, "api_key_invalid"),
    ({"Authorization": "Bearer nk_000000000000_" + "A" * 43}, "api_key_invalid"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "api_key_missing"),
], ids=["missing", "malformed", "unknown", "wrong-scheme"])
def test_wrong_or_missing_key_is_401(server: LiveServer, headers: dict, code: str) -> None:
    http = httpx.Client(base_url=server.url, headers=headers)
    for method, path in [("POST", "/v1/evidence"), ("GET", "/v1/evidence/ev_" + "0" * 32),
                         ("GET", "/v1/evidence/ev_" + "0" * 32 + "/proof"),
                         ("GET", "/v1/evidence/ev_" + "0" * 32 + "/content")]:
        resp = http.request(method, path, files=form() if method == "POST" else None)
        assert resp.status_code == 401, (method, path, resp.text)
        assert resp.json()["code"] == code
    nothing_stored(server)


def test_revoked_key_and_role_limits(server: LiveServer) -> None:
    from notary.service.apikeys import create_key, revoke_key

    engine = server.service.engine
    collector, collector_token = create_key(engine, "collector")
    _auditor, auditor_token = create_key(engine, "auditor")
    created = server.client(collector_token).post("/v1/evidence", files=form())
    assert created.status_code == 201
    eid = created.json()["id"]
    auditor = server.client(auditor_token)
    assert auditor.post("/v1/evidence", files=form()).status_code == 403
    denied = auditor.get(f"/v1/evidence/{eid}/content")
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert auditor.get(f"/v1/evidence/{eid}").status_code == 200
    revoke_key(engine, collector.id)
    gone = server.client(collector_token).get(f"/v1/evidence/{eid}")
    assert gone.status_code == 401 and gone.json()["code"] == "api_key_revoked"


@pytest.mark.parametrize("path", ["/v1/evidence/ev_" + "f" * 32,
                                  "/v1/evidence/ev_" + "f" * 32 + "/proof",
                                  "/v1/evidence/ev_" + "f" * 32 + "/content"])
def test_unknown_id_is_404(server: LiveServer, path: str) -> None:
    resp = server.admin().get(path)
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"


def test_malformed_id_is_422(server: LiveServer) -> None:
    resp = server.admin().get("/v1/evidence/../../etc")
    assert resp.status_code in (404, 422)
    assert "code" in resp.json()
    resp = server.admin().get("/v1/evidence/not-an-id")
    assert resp.status_code == 422 and resp.json()["code"] == "request_invalid"


@pytest.mark.parametrize("kw,code", [
    ({"json": {"sha256": "abc"}}, "sha256_invalid"),
    ({"json": {"sha256": "0" * 64, "extra": 1}}, "sha256_invalid"),
    ({"content": b"{", "headers": {"content-type": "application/json"}}, "sha256_invalid"),
    ({"content": b"x", "headers": {"content-type": "text/plain"}}, "content_type_unsupported"),
    ({"files": {"other": ("a", b"x")}}, "part_unexpected"),
], ids=["short-hash", "extra-field", "broken-json", "text-plain", "wrong-part"])
def test_bad_verify_requests(server: LiveServer, kw: dict, code: str) -> None:
    resp = server.client().post("/v1/verify", **kw)
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["code"] == code
