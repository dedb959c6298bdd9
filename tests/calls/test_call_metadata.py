"""Issue 16 #5, over real HTTP with a real chain and database: a call recording's metadata may
carry a call record; it is validated before a byte is stored, the statement signs it with the
numbers as salted commitments, the certificate shows it, a lawyer can prove a number, and
shredding the item deletes the salts. No readable number is stored."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess
from typing import Any

import httpx
import pytest
from sqlmodel import select

from notary.service.apikeys import Role, create_key
from storage.db import CallSalt, session
from tests.intake.files import form, statement_of, wav_bytes
from tests.support import LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "CALL-2026-001"
CALLEE = "138 0013 8000"
CALLEE_E164 = "+8613800138000"
CALLER = "021-5050-1234"
CALL: dict[str, Any] = {
    "started_at": "2026-11-28T09:30:00+08:00", "ended_at": "2026-11-28T09:34:12+08:00",
    "timezone": "Asia/Shanghai", "direction": "outbound", "agent_id": "工号 1024",
    "campaign": "M1 提醒", "caller": CALLER, "callee": CALLEE,
}
COMMITTED = {"alg": "hmac-sha256", "value": "ab" * 32}


def submit(http: httpx.Client, call: dict[str, Any], kind: str = "call_recording",
           tone: float = 440.0) -> httpx.Response:
    return http.post("/v1/evidence", files=form({"case_id": CASE, "kind": kind, "call": call},
                                                wav_bytes(tone=tone), "call.wav", "audio/wav"))


REFUSED = [
    ("notice-with-call", {}, "notice", "call_kind_mismatch", "call"),
    ("bad-number", {"callee": "138 0013 800O"}, "call_recording", "call_number_invalid",
     "call.callee"),
    ("unknown-zone", {"timezone": "Beijing"}, "call_recording", "call_invalid",
     "call.timezone"),
    ("ends-before-start", {"ended_at": "2026-11-28T09:00:00+08:00"}, "call_recording",
     "call_invalid", "call.ended_at"),
    ("no-offset", {"started_at": "2026-11-28T09:30:00"}, "call_recording", "call_invalid",
     "call.started_at"),
    ("over-a-day", {"ended_at": "2026-11-29T09:30:01+08:00"}, "call_recording", "call_invalid",
     "call.ended_at"),
    ("direction", {"direction": "missed"}, "call_recording", "call_invalid", "call.direction"),
    ("agent-id-too-long", {"agent_id": "9" * 65}, "call_recording", "call_invalid",
     "call.agent_id"),
    ("extra-field", {"number": "13800138000"}, "call_recording", "call_invalid", "call.number"),
    ("bad-commitment", {"caller": {"alg": "sha256", "value": "ab" * 32}}, "call_recording",
     "call_invalid", "call.caller.alg"),
    ("null-campaign", {"campaign": None}, "call_recording", "call_invalid", "call.campaign"),
]


@pytest.mark.parametrize(("name", "change", "kind", "code", "field"), REFUSED,
                         ids=[r[0] for r in REFUSED])
def test_a_wrong_call_record_is_refused_before_anything_is_stored(
        server: LiveServer, name: str, change: dict[str, Any], kind: str, code: str,
        field: str) -> None:
    resp = submit(server.admin(), {**CALL, **change}, kind=kind)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == code
    assert resp.json()["details"]["field"] == field
    with session(server.service.engine) as s:
        assert s.exec(select(CallSalt)).first() is None


def _check_with_openssl(proof: dict[str, str]) -> None:
    expected = hmac.new(proof["salt"].encode("ascii"), proof["number"].encode("ascii"),
                        hashlib.sha256).hexdigest()
    assert expected == proof["value"]
    openssl = shutil.which("openssl")
    assert openssl, "openssl is required"
    out = subprocess.run([openssl, "dgst", "-sha256", "-hmac", proof["salt"]],
                         input=proof["number"].encode("ascii"), capture_output=True, check=True)
    assert out.stdout.decode().strip().endswith(proof["value"])


def test_call_record_is_signed_shown_provable_and_shredded(server: LiveServer) -> None:
    admin = server.admin()
    resp = submit(admin, CALL)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    eid = created["id"]
    call = statement_of(created)["call"]
    assert {k: call[k] for k in ("started_at", "ended_at", "timezone", "direction",
                                 "agent_id", "campaign")} == {
        k: CALL[k] for k in ("started_at", "ended_at", "timezone", "direction", "agent_id",
                             "campaign")}
    assert call["callee"]["alg"] == "hmac-sha256" and len(call["callee"]["value"]) == 64
    assert "13800138000" not in created["statement"] and "13800138000" not in str(call)
    with session(server.service.engine) as s:
        salts = {r.party: r.salt for r in s.exec(
            select(CallSalt).where(CallSalt.evidence_id == eid)).all()}
    assert sorted(salts) == ["callee", "caller"]
    # The salts are sealed under the master key: with the database alone, the commitment
    # cannot be opened by trying every number (a mobile number is about 10^10 tries).
    for party, sealed in salts.items():
        assert sealed.startswith("v1.") and len(sealed) == 83, sealed
        salt = server.service.context.master.salt_box().open(sealed, f"{eid}/{party}")
        assert len(salt) == 32 and salt.hex() not in sealed
    # No readable number anywhere in the database files.
    home = server.settings.home
    stored = b"".join(p.read_bytes() for p in sorted(home.glob("*.db*")) if p.is_file())
    for spelling in (b"13800138000", b"50501234", "13800138000".encode("utf-16-le")):
        assert spelling not in stored

    # Prove: a lawyer asks; the callee matches (in any spelling), another number does not.
    lawyer = server.client(create_key(server.service.engine, Role.LAWYER, label="counsel")[1])
    yes = lawyer.post(f"/v1/evidence/{eid}/call/prove", json={"number": "+86 138-0013-8000"})
    assert yes.status_code == 200, yes.text
    body = yes.json()
    assert body["matches"] == ["callee"] and body["proofs"][0]["number"] == CALLEE_E164
    assert body["proofs"][0]["value"] == call["callee"]["value"]
    _check_with_openssl(body["proofs"][0])
    caller = lawyer.post(f"/v1/evidence/{eid}/call/prove", json={"number": "02150501234"})
    assert caller.json()["matches"] == ["caller"]
    _check_with_openssl(caller.json()["proofs"][0])
    no = lawyer.post(f"/v1/evidence/{eid}/call/prove", json={"number": "13900139000"})
    assert no.status_code == 200 and no.json()["matches"] == [] and no.json()["proofs"] == []
    bad = lawyer.post(f"/v1/evidence/{eid}/call/prove", json={"number": "not a number"})
    assert bad.status_code == 422 and bad.json()["code"] == "call_number_invalid"
    collector = server.client(create_key(server.service.engine, Role.COLLECTOR)[1])
    assert collector.post(f"/v1/evidence/{eid}/call/prove",
                          json={"number": CALLEE}).status_code == 403

    # The certificate shows the call record (bilingual), the numbers only as commitments.
    wait_until(lambda: admin.get(f"/v1/evidence/{eid}").json()["status"] == "anchored")
    page = admin.get(f"/v1/evidence/{eid}/certificate", params={"format": "html"})
    assert page.status_code == 200, page.text
    for needed in ("通话记录", "Call record", "工号 1024", "M1 提醒", "呼出", "outbound",
                   "2026-11-28T09:34:12+08:00", "0:04:12", call["callee"]["value"],
                   call["caller"]["value"], "Asia/Shanghai"):
        assert needed in page.text, needed
    assert "13800138000" not in page.text

    # Shredding deletes the salts: the commitments can no longer be opened.
    shredded = admin.post(f"/v1/evidence/{eid}/shred", json={"reason": "purpose ended"})
    assert shredded.status_code == 200, shredded.text
    with session(server.service.engine) as s:
        assert s.exec(select(CallSalt).where(CallSalt.evidence_id == eid)).first() is None
    gone = lawyer.post(f"/v1/evidence/{eid}/call/prove", json={"number": CALLEE})
    assert gone.status_code == 410 and gone.json()["code"] == "call_salts_absent"


def test_client_commitments_are_signed_as_sent_and_not_provable_here(
        server: LiveServer) -> None:
    admin = server.admin()
    resp = submit(admin, {**CALL, "caller": COMMITTED, "callee": COMMITTED}, tone=520.0)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    call = statement_of(created)["call"]
    assert call["caller"] == COMMITTED and call["callee"] == COMMITTED
    refused = admin.post(f"/v1/evidence/{created['id']}/call/prove", json={"number": CALLEE})
    assert refused.status_code == 410 and refused.json()["code"] == "call_salts_absent"
    plain = admin.post("/v1/evidence", files=form({"case_id": CASE, "kind": "call_recording"},
                                                  wav_bytes(tone=600.0), "c.wav", "audio/wav"))
    assert plain.status_code == 201 and "call" not in statement_of(plain.json())
    absent = admin.post(f"/v1/evidence/{plain.json()['id']}/call/prove",
                        json={"number": CALLEE})
    assert absent.status_code == 404 and absent.json()["code"] == "call_record_absent"


def test_a_retry_is_the_same_request_only_with_the_same_numbers(server: LiveServer) -> None:
    admin = server.admin()
    data = wav_bytes(tone=700.0)

    def send(call: dict[str, Any], key: str) -> httpx.Response:
        return admin.post("/v1/evidence", headers={"Idempotency-Key": key}, files=form(
            {"case_id": CASE, "kind": "call_recording", "call": call}, data, "r.wav",
            "audio/wav"))

    first = send(CALL, "retry-1")
    assert first.status_code == 201, first.text
    again = send({**CALL, "callee": "+8613800138000"}, "retry-1")  # same number, respelt
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = send({**CALL, "callee": "13900139000"}, "retry-1")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    # The same file with another call record is a new item, not the held one.
    second = send({**CALL, "started_at": "2026-11-28T10:30:00+08:00",
                   "ended_at": "2026-11-28T10:31:00+08:00"}, "retry-2")
    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]
    # Called again within the case: the same commitments (one contact, one commitment).
    assert statement_of(second.json())["call"]["callee"] == \
        statement_of(first.json())["call"]["callee"]


def test_shredding_a_call_closes_its_number_in_the_other_calls_of_the_case(
        server: LiveServer) -> None:
    admin = server.admin()
    first = submit(admin, CALL, tone=810.0)
    second = submit(admin, {**CALL, "started_at": "2026-11-28T11:30:00+08:00",
                            "ended_at": "2026-11-28T11:31:00+08:00"}, tone=820.0)
    assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)
    callee = statement_of(first.json())["call"]["callee"]["value"]
    assert statement_of(second.json())["call"]["callee"]["value"] == callee
    shredded = admin.post(f"/v1/evidence/{first.json()['id']}/shred",
                          json={"reason": "purpose ended"})
    assert shredded.status_code == 200, shredded.text
    # The sibling's salt opened the shredded item's commitment: it is gone too.
    gone = admin.post(f"/v1/evidence/{second.json()['id']}/call/prove", json={"number": CALLEE})
    assert gone.status_code == 410 and gone.json()["code"] == "call_salts_absent"
    with session(server.service.engine) as s:
        assert s.exec(select(CallSalt).where(CallSalt.value == callee)).first() is None
    unknown = admin.post(f"/v1/cases/{CASE}/conduct/contact", json={
        "number": CALLEE, "from": "2026-11-28T00:00:00+08:00",
        "to": "2026-11-29T00:00:00+08:00"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "call_contact_unknown"
