"""The whole notarisation path through real HTTP, a real anvil chain and a real SQLite file.

Each proof is checked by parties other than our own code: the contract's ``verifyInclusion``
on the running chain, ``@openzeppelin/merkle-tree`` in Node, ``jwcrypto`` for the JWS, the
``age`` CLI for the stored blob, and ``ipfs-unixfs-importer`` for its CID.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from jwcrypto import jwk, jws

from notary.core.merkle import from_hex32
from notary.service.actors import Actor
from tests.support import REPO, SAMPLES, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "HX-2026-1128-ZW"


def submit(client, path: Path, meta: dict, *, headers: dict | None = None, name: str | None = None):
    with path.open("rb") as fh:
        return client.post("/v1/evidence", headers=headers or {}, files={
            "metadata": (None, json.dumps(meta), "application/json"),
            "file": (name or path.name, fh, "application/octet-stream"),
        })


def wait_anchored(client, evidence_id: str) -> dict:
    def anchored():
        body = client.get(f"/v1/evidence/{evidence_id}").json()
        return body if body["status"] == "anchored" else None
    return wait_until(anchored)  # type: ignore[return-value]


def jwcrypto_verify(token: str, jwks_doc: dict) -> bytes:
    """Verify a compact JWS with jwcrypto (third-party) and return its payload."""
    keyset = jwk.JWKSet.from_json(json.dumps(jwks_doc))
    obj = jws.JWS()
    obj.deserialize(token)
    kid = obj.jose_header["kid"]
    obj.verify(keyset.get_key(kid), alg="EdDSA")
    return obj.payload


def test_recording_is_notarised_anchored_and_checkable_by_third_parties(
    server: LiveServer, tmp_path: Path
) -> None:
    http = server.admin()
    sample = SAMPLES / "call-2026-11-28-0930.wav"
    original = sample.read_bytes()
    resp = submit(http, sample, {"case_id": CASE, "kind": "call_recording",
                                 "captured_at": "2026-11-28T09:30:00+08:00"})
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["status"] == "pending"
    assert created["sha256"] == hashlib.sha256(original).hexdigest()
    assert created["size"] == len(original)
    assert resp.headers["location"] == f"/v1/evidence/{created['id']}"

    # Statement and receipt verify with a third-party JOSE library against /v1/keys.
    keys = server.client().get("/v1/keys").json()
    statement = json.loads(jwcrypto_verify(created["statement"], {"keys": keys["keys"]}))
    assert statement["sha256"] == created["sha256"]
    assert statement["case_id"] == CASE and statement["case_seq"] == 1
    assert statement["content_address"] == created["cid"]
    receipt = json.loads(jwcrypto_verify(created["receipt"], {"keys": keys["keys"]}))
    assert receipt["evidence_id"] == created["id"]
    assert receipt["anchor_deadline"] == created["anchor_deadline"]
    assert receipt["statement_sha256"] == hashlib.sha256(
        jws_payload(created["statement"])).hexdigest()

    # Anchored within a few seconds; the proof checks on chain and with OpenZeppelin's code.
    body = wait_anchored(http, created["id"])
    assert body["anchor"]["contract"] == keys["contract"]
    proof = http.get(f"/v1/evidence/{created['id']}/proof").json()
    registry = server.service.chain.registry  # type: ignore[union-attr]
    assert registry.verify_inclusion(from_hex32(proof["root"]),
                                     [from_hex32(p) for p in proof["proof"]],
                                     from_hex32(proof["leaf"]))
    oz = node("tests/node/oz_verify.mjs", {"root": proof["root"],
                                           "encoding": proof["leaf_encoding"],
                                           "value": proof["leaf_values"], "proof": proof["proof"]})
    assert oz == {"valid": True, "leaf": proof["leaf"]}
    facts = registry.find_anchor(from_hex32(proof["root"]))
    assert facts is not None and facts.tx_hash == proof["anchor"]["tx_hash"]
    assert facts.block_hash == proof["anchor"]["block_hash"]

    # The stored blob is ciphertext; the standard age CLI opens it with the exported item key,
    # and its CID matches an independent UnixFS implementation.
    blob = server.service.blobs.path_for(created["cid"])  # type: ignore[attr-defined]
    stored = blob.read_bytes()
    assert stored.startswith(b"age-encryption.org/v1") and original[:4096] not in stored
    identity = tmp_path / "item.key"
    operator = Actor.operator("test")
    identity.write_text(server.service.export_item_key(created["id"], actor=operator) + "\n")
    age = shutil.which("age")
    assert age, "the age CLI (Debian package 'age') is required"
    out = subprocess.run([age, "-d", "-i", str(identity), str(blob)], capture_output=True,
                         check=True)
    assert out.stdout == original
    cid = subprocess.run(["node", "tests/node/unixfs_cid.mjs", str(blob)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert cid == created["cid"]

    # The content endpoint streams the original back.
    content = http.get(f"/v1/evidence/{created['id']}/content")
    assert content.status_code == 200 and content.content == original


def jws_payload(token: str) -> bytes:
    import base64

    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def node(script: str, payload: dict) -> dict:
    out = subprocess.run(["node", script], cwd=REPO, input=json.dumps(payload),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_case_items_are_linked_in_sequence(server: LiveServer) -> None:
    http = server.admin()
    digests = []
    for i, sample in enumerate(["call-2026-11-28-0930.wav", "notice-2026-11-28.pdf",
                                "agreement-2026-11-28.pdf"], start=1):
        kind = ["call_recording", "notice", "agreement"][i - 1]
        created = submit(http, SAMPLES / sample, {"case_id": CASE, "kind": kind}).json()
        statement = json.loads(jws_payload(created["statement"]))
        assert statement["case_seq"] == i
        if i == 1:
            assert "prev_statement" not in statement
        else:
            assert statement["prev_statement"] == digests[-1]
        digests.append(hashlib.sha256(jws_payload(created["statement"])).hexdigest())
    other = submit(http, SAMPLES / "notice-2026-11-28.pdf",
                   {"case_id": "OTHER-1", "kind": "notice"})
    assert json.loads(jws_payload(other.json()["statement"]))["case_seq"] == 1


def test_idempotent_retry_returns_the_first_answer(server: LiveServer, tmp_path: Path) -> None:
    http = server.admin()
    f = tmp_path / "n.pdf"
    f.write_bytes(b"%PDF-1.4 notice")
    meta = {"case_id": "C-IDEM", "kind": "notice"}
    first = submit(http, f, meta, headers={"Idempotency-Key": "abc-1"})
    again = submit(http, f, meta, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    f.write_bytes(b"%PDF-1.4 another notice")
    clash = submit(http, f, meta, headers={"Idempotency-Key": "abc-1"})
    assert clash.status_code == 409 and clash.json()["code"] == "idempotency_conflict"
    # Only one item exists for that case.
    nxt = submit(http, f, meta)
    assert json.loads(jws_payload(nxt.json()["statement"]))["case_seq"] == 2


def test_public_verify_by_file_and_hash(server: LiveServer, tmp_path: Path) -> None:
    http = server.admin()
    sample = SAMPLES / "notice-2026-11-28.pdf"
    created = submit(http, sample, {"case_id": CASE, "kind": "notice"}).json()
    wait_anchored(http, created["id"])
    public = server.client()
    with sample.open("rb") as fh:
        by_file = public.post("/v1/verify", files={"file": (sample.name, fh)}).json()
    assert by_file["result"] == "valid" and not by_file["qualified"]
    assert {c["name"]: c["status"] for c in by_file["checks"]} == {
        "registered": "pass", "statement_signature": "pass", "file_hash": "pass",
        "merkle_proof": "pass", "anchor_root": "pass", "chain_anchor": "pass"}
    assert CASE not in json.dumps(by_file), "the public answer must not reveal the case"
    assert by_file["file_compared"] is True
    by_hash = public.post("/v1/verify", json={"sha256": created["sha256"]}).json()
    # Only the hash was sent: it is looked up, the file itself is not compared.
    assert by_hash["result"] == "valid" and by_hash["file_compared"] is False
    file_hash = next(c for c in by_hash["checks"] if c["name"] == "file_hash")
    assert file_hash["status"] == "skip" and "file itself was not compared" in file_hash["reason"]
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(sample.read_bytes() + b" ")
    with changed.open("rb") as fh:
        unknown = public.post("/v1/verify", files={"file": ("changed.pdf", fh)}).json()
    assert unknown["result"] == "unknown"
    assert unknown["checks"][0]["name"] == "registered" and unknown["checks"][0]["status"] == "skip"


def test_keys_and_health_are_public(server: LiveServer) -> None:
    public = server.client()
    keys = public.get("/v1/keys").json()
    assert keys["keys"][0]["kty"] == "OKP" and keys["keys"][0]["crv"] == "Ed25519"
    assert "d" not in keys["keys"][0]
    assert keys["chain_id"] == 31337 and keys["contract"].startswith("0x")
    health = public.get("/v1/health")
    assert health.status_code == 200
    # Anonymous callers learn the state only; the details (paths, node URL) need an admin key.
    assert health.json() == {"status": "ok", "version": "0.1.0"}
    health = server.admin().get("/v1/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["ok"] and body["chain"]["contract"] == keys["contract"]
    expected_db = "postgresql" if os.environ.get("NOTARY_TEST_POSTGRES") else "sqlite"
    assert body["database"]["backend"] == expected_db
    assert body["chain"]["rpc_url"].startswith("http://127.0.0.1:")
    assert body["chain"]["latest_block"] >= 1
    assert public.get("/docs").status_code == 200
