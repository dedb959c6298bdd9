"""Hash-only deposits (issue 16) through the real app on the real chain: one and in bulk,
per-item answers, idempotency per client_id, anchoring, and an item bundle whose verdict says
the file was never seen by this service (and never that the service checked it)."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import zipfile
from pathlib import Path

import pytest

from notary.bundles.check import verify_bundle_file
from notary.core.jws import jws_payload
from tests.bundle.test_verify_guide import run_guide, served_fingerprint
from tests.support import LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "HX-2026-1128-ZW"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def deposit(n: int, **extra: object) -> dict:
    body = f"ledger page {n}".encode()
    return {"case_id": CASE, "kind": "other", "sha256": sha(body), "size": len(body),
            "file_name": f"page-{n}.pdf", "media_type": "application/pdf", **extra}


def wait_anchored(client, evidence_id: str) -> dict:
    def anchored():
        body = client.get(f"/v1/evidence/{evidence_id}").json()
        return body if body["status"] == "anchored" else None
    return wait_until(anchored)  # type: ignore[return-value]


def test_hash_deposit_is_anchored_and_its_bundle_says_the_file_was_never_seen(
        server: LiveServer, tmp_path: Path) -> None:
    http = server.admin()
    body = b"the ledger of November, kept by the client"
    resp = http.post("/v1/evidence/hashes", json={
        "case_id": CASE, "kind": "other", "sha256": sha(body).upper(), "size": len(body),
        "file_name": "ledger.pdf", "client_id": "ledger-2026-11"})
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["deposit"] == "hash_only" and created["cid"] is None
    assert created["sha256"] == sha(body)  # stored lower-case, as the statement needs it
    statement = json.loads(jws_payload(created["statement"]))
    assert statement["deposit"] == "hash_only"
    assert "content_address" not in statement
    # Idempotent per client_id: the same content again is the first receipt, other a conflict.
    again = http.post("/v1/evidence/hashes", json={
        "case_id": CASE, "kind": "other", "sha256": sha(body), "size": len(body),
        "file_name": "ledger.pdf", "client_id": "ledger-2026-11"})
    assert again.status_code == 200 and again.json()["id"] == created["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = http.post("/v1/evidence/hashes", json={
        "case_id": CASE, "kind": "other", "sha256": sha(b"x"), "size": 1,
        "file_name": "ledger.pdf", "client_id": "ledger-2026-11"})
    assert other.status_code == 409 and other.json()["code"] == "client_id_conflict"
    # There is no content to read: the service never had the file.
    content = http.get(f"/v1/evidence/{created['id']}/content")
    assert content.status_code == 404 and content.json()["code"] == "content_never_stored"

    # The public check by hash says the service never saw the file, never that it matched.
    public = server.client().post("/v1/verify", json={"sha256": sha(body)}).json()
    assert public["facts"]["deposit"] == "hash_only", public
    [file_hash] = [c for c in public["checks"] if c["name"] == "file_hash"]
    assert file_hash["status"] == "skip" and "never seen by this service" in file_hash["reason"]
    shred = http.post(f"/v1/evidence/{created['id']}/shred", json={"reason": "test"})
    assert shred.status_code == 409 and shred.json()["code"] == "nothing_to_shred"
    anchored = wait_anchored(http, created["id"])
    assert anchored["anchor"] is not None and anchored["deposit"] == "hash_only"

    bundle = http.get(f"/v1/evidence/{created['id']}/bundle")
    assert bundle.status_code == 200, bundle.text
    checked = verify_bundle_file(io.BytesIO(bundle.content))
    verdict = checked.verdict
    assert verdict.result != "invalid", [c for c in verdict.failed]
    file_check = verdict.check("items[0].file_hash")
    assert file_check.status.value == "skip"
    assert "never seen by this service" in file_check.reason
    assert "本服务从未见过该文件" in file_check.reason
    assert "Not checked by the service" in file_check.reason
    for check in verdict.checks:
        assert "match the statement" not in check.reason  # never "file checked"
    assert verdict.check("items[0].merkle_proof").status.value == "pass"
    assert verdict.check("items[0].receipt_signature").status.value == "pass"
    assert checked.facts["items"][0]["deposit"] == "hash_only"
    integrity = next(a for a in checked.answers if a.question == "integrity")
    assert "never saw those files" in integrity.reason_en, integrity
    assert "从未见过" in integrity.reason_zh

    # VERIFY.md says so in both languages, and its steps pass as an expert runs them.
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as z:
        guide = z.read("VERIFY.md").decode("utf-8")
        assert not [n for n in z.namelist() if "/original/" in n]
    assert "本服务从未见过该文件" in guide and "never seen by this service" in guide
    run = run_guide(bundle.content, tmp_path, fingerprint=served_fingerprint(server),
                    rpc=f"http://127.0.0.1:{server.settings.chain_port}")
    assert run.failed is None, run.text
    assert "the file was never seen by this service" in run.stdout
    # The certificate states the deposit, and concludes on the hash, not on a checked file.
    cert = http.get(f"/v1/evidence/{created['id']}/certificate", params={"format": "html"})
    assert cert.status_code == 200, cert.text
    assert "本服务从未见过该文件" in cert.text and "never seen by this service" in cert.text
    assert "the file with the SHA-256 above existed" not in cert.text


def test_bulk_answers_each_item_and_records_every_good_one(server: LiveServer) -> None:
    http = server.admin()
    good = [deposit(n, client_id=f"d-{n}") for n in range(41)]
    bad_sha = deposit(100, sha256="zz" * 32)
    bad_kind = deposit(101, kind=["voicemail"])
    bad_size = deposit(102, size=0)
    unknown_field = deposit(103, amount="5200.00")
    conflicting = deposit(104, client_id="d-3")  # d-3 again, other content
    repeated = dict(good[5])  # d-5 again, same content: the same receipt
    items = [*good[:10], bad_sha, bad_kind, *good[10:40], bad_size, unknown_field, conflicting,
             repeated, "not an object", deposit(105, description="x" * 5000),
             *good[40:]]
    resp = http.post("/v1/evidence/bulk", json={"items": items})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert [o["index"] for o in out["items"]] == list(range(len(items)))
    by_index = out["items"]
    codes = {i: o["error"]["code"] for i, o in enumerate(by_index) if o["error"]}
    assert codes == {10: "sha256_invalid", 11: "kind_unknown", 42: "size_invalid",
                     43: "metadata_invalid", 44: "client_id_conflict",
                     46: "metadata_invalid", 47: "metadata_invalid"}
    # Refused by the statement itself, while the case took its numbers: it took none.
    assert by_index[47]["error"]["details"]["field"] == "description"
    assert by_index[10]["status"] == 422 and by_index[44]["status"] == 409
    assert out["accepted"] == 42 and out["failed"] == 7
    assert by_index[45]["status"] == 200
    assert by_index[45]["evidence"]["id"] == by_index[5]["evidence"]["id"]
    ids = [o["evidence"]["id"] for o in by_index if o["status"] == 201]
    assert len(ids) == len(set(ids)) == 41
    # The case's entries follow each other without gaps, each linked to the one before.
    seqs = sorted(o["evidence"]["case_seq"] for o in by_index if o["status"] == 201)
    assert seqs == list(range(1, 42))
    statements = sorted((json.loads(jws_payload(o["evidence"]["statement"]))
                         for o in by_index if o["status"] == 201), key=lambda s: s["case_seq"])
    for before, after in itertools.pairwise(statements):
        assert after["prev_statement"] == hashlib.sha256(
            json.dumps(before, ensure_ascii=False, separators=(",", ":"),
                       sort_keys=True).encode()).hexdigest()

    # The same request again: every good item is its first receipt, nothing new recorded.
    resp2 = http.post("/v1/evidence/bulk", json={"items": good})
    assert [o["status"] for o in resp2.json()["items"]] == [200] * 41
    assert [o["evidence"]["id"] for o in resp2.json()["items"]] == [
        o["evidence"]["id"] for o in by_index if o["status"] == 201]

    # Each receipt's promise is kept: the batch worker anchors them like files.
    for evidence_id in (ids[0], ids[-1]):
        assert wait_anchored(http, evidence_id)["anchor"] is not None


def test_a_case_of_files_and_hashes_exports_and_verifies(server: LiveServer) -> None:
    """A case bundle mixing a file (checked against its original) and hash-only deposits
    (never seen): the manifest lists no original for the latter, and everything verifies."""
    http = server.admin()
    case = "MIX-2026-1"
    original = b"a notice, sent as a file"
    resp = http.post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": case, "kind": "notice"}), "application/json"),
        "file": ("notice.txt", original, "text/plain")})
    assert resp.status_code == 201, resp.text
    bulk = http.post("/v1/evidence/bulk", json={"items": [
        deposit(n, case_id=case) for n in range(2)]}).json()
    assert bulk["accepted"] == 2
    for item in bulk["items"]:
        wait_anchored(http, item["evidence"]["id"])
    wait_anchored(http, resp.json()["id"])
    exported = http.get(f"/v1/cases/{case}/bundle")
    assert exported.status_code == 200, exported.text
    verdict = verify_bundle_file(io.BytesIO(exported.content)).verdict
    assert not verdict.failed, verdict.failed
    assert verdict.check("case_sequence").status.value == "pass"
    assert verdict.check("items[0].file_hash").status.value == "pass"  # the file: checked
    for i in (1, 2):
        check = verdict.check(f"items[{i}].file_hash")
        assert check.status.value == "skip" and "never seen" in check.reason


def test_bulk_refuses_a_request_over_the_limit_and_a_malformed_body(server: LiveServer) -> None:
    http = server.admin()
    # 5,000 deposits with long metadata (about 3 MB, over NOTARY_MAX_JSON_BYTES) are taken.
    full = http.post("/v1/evidence/bulk", json={"items": [
        deposit(n, description="催收记录 / collection record " * 12) for n in range(5000)]})
    assert full.status_code == 200, full.text[:300]
    assert full.json()["accepted"] == 5000
    too_many = http.post("/v1/evidence/bulk", json={"items": [deposit(0)] * 5001})
    assert too_many.status_code == 413 and too_many.json()["code"] == "bulk_too_large"
    assert http.post("/v1/evidence/bulk", json=[deposit(0)]).status_code == 422
    single_bad = http.post("/v1/evidence/hashes", json=deposit(1, sha256="12"))
    assert single_bad.status_code == 422 and single_bad.json()["code"] == "sha256_invalid"


def test_what_a_hostile_bulk_body_or_a_squatted_hash_cannot_do(server: LiveServer) -> None:
    http = server.admin()
    # a body of a million tiny objects is refused before a parser builds them
    broad = b'{"items":[{"parties":[' + b"{}," * 1_000_000 + b'{}]}]}'
    resp = http.post("/v1/evidence/bulk", content=broad,
                     headers={"Content-Type": "application/json"})
    assert (resp.status_code, resp.json()["code"]) == (400, "json_too_broad"), resp.text[:300]
    # an item naming a field with a lone surrogate gets its own error; the others are
    # recorded and the answer is still sent (not a 500 after the commit)
    body = (b'{"items":[' + json.dumps(deposit(900)).encode() + b',{"\\ud800":1},'
            + json.dumps(deposit(901)).encode() + b"]}")
    resp = http.post("/v1/evidence/bulk", content=body,
                     headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text[:300]
    answer = resp.json()
    assert [i["status"] for i in answer["items"]] == [201, 422, 201]
    assert answer["items"][1]["error"]["code"] == "metadata_invalid"

    # someone deposits the hash of a form letter first (without the file, and a wrong size);
    # the file later notarised here still checks as the file-seen item it is
    letter = b"%PDF-1.4 standard collection notice, template 7"
    squat = http.post("/v1/evidence/hashes", json={
        "case_id": "SQUAT-1", "kind": "notice", "sha256": sha(letter), "size": 999_999})
    assert squat.status_code == 201, squat.text
    real = http.post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": "REAL-1", "kind": "notice"}),
                     "application/json"),
        "file": ("notice.pdf", letter, "application/pdf")})
    assert real.status_code == 201, real.text
    wait_anchored(http, real.json()["id"])
    check = server.client().post("/v1/verify", files={
        "file": ("notice.pdf", letter, "application/pdf")})
    assert check.status_code == 200, check.text
    checks = {c["name"]: c for c in check.json()["checks"]}
    assert checks["file_hash"]["status"] == "pass", checks["file_hash"]
    assert "never seen" not in json.dumps(checks["file_hash"])
