"""Two tenants, every role, every evidence endpoint: what is allowed works, the rest fails
without leaking (another tenant's evidence is 404, never 403); transfers hand a case over;
share links work for an anonymous reader until revoked or expired; tampering with the custody
log in the database is detected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from notary.service.apikeys import create_key
from notary.service.tenancy import create_tenant
from storage.db import CustodyRecord, session
from tests.support import REPO, LiveServer, wait_until
from tests.tenancy.files import call_wav, notice_pdf

pytestmark = [pytest.mark.api, pytest.mark.chain]

ROLES = ("admin", "collector", "lawyer", "auditor")
# endpoint -> roles of the owning tenant that may use it
ALLOWED = {
    "evidence": set(ROLES),
    "proof": set(ROLES),
    "custody": set(ROLES),
    "content": {"admin", "collector", "lawyer"},
    "bundle": {"admin", "lawyer"},  # originals; collectors and auditors get hashes only
    "case_bundle": {"admin", "lawyer"},
    "certificate": set(ROLES),
}


@pytest.fixture
def world(server: LiveServer) -> dict[str, object]:
    """Tenants 'lender-a' and 'agency-b', a key of every role in each, one anchored item."""
    engine = server.service.engine
    keys: dict[tuple[str, str], str] = {}
    for tenant in ("lender-a", "agency-b", "lawfirm-c"):
        create_tenant(engine, tenant)
        for role in ROLES:
            keys[(tenant, role)] = create_key(engine, role, tenant=tenant)[1]
    http = server.client(keys[("lender-a", "collector")])
    created = http.post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": "HX-2026-1128-ZW", "kind": "notice"})),
        "file": ("notice.pdf", notice_pdf(), "application/pdf")}).json()
    wait_until(lambda: http.get(f"/v1/evidence/{created['id']}").json()["status"] == "anchored")
    return {"keys": keys, "id": created["id"], "case": "HX-2026-1128-ZW"}


def _paths(evidence_id: str, case: str) -> dict[str, str]:
    return {
        "evidence": f"/v1/evidence/{evidence_id}",
        "proof": f"/v1/evidence/{evidence_id}/proof",
        "custody": f"/v1/evidence/{evidence_id}/custody",
        "content": f"/v1/evidence/{evidence_id}/content",
        "bundle": f"/v1/evidence/{evidence_id}/bundle",
        "case_bundle": f"/v1/cases/{case}/bundle",
        "certificate": f"/v1/evidence/{evidence_id}/certificate",
    }


def test_every_role_of_both_tenants_on_every_endpoint(server: LiveServer, world: dict) -> None:
    keys = world["keys"]
    paths = _paths(world["id"], world["case"])
    failures = []
    for tenant in ("lender-a", "agency-b"):
        for role in ROLES:
            http = server.client(keys[(tenant, role)])
            for name, path in paths.items():
                status = http.get(path).status_code
                if tenant == "lender-a":
                    expected = 200 if role in ALLOWED[name] else 403
                    ok = status == expected
                else:
                    # never 2xx; 404 for a role that could read it at home (existence hidden)
                    ok = status == 404 if role in ALLOWED[name] else status in (403, 404)
                if not ok:
                    failures.append((tenant, role, name, status))
    assert not failures, failures


def test_a_case_travels_lender_to_agency_to_law_firm(server: LiveServer, world: dict,
                                                    tmp_path: Path) -> None:
    keys, eid, case = world["keys"], world["id"], world["case"]
    lender = server.client(keys[("lender-a", "admin")])
    agency = server.client(keys[("agency-b", "admin")])
    firm = server.client(keys[("lawfirm-c", "lawyer")])
    assert agency.get(f"/v1/evidence/{eid}").status_code == 404
    moved = lender.post(f"/v1/cases/{case}/transfer",
                        json={"to_tenant": "agency-b", "reason": "portfolio sale 2026-Q4"})
    assert moved.status_code == 200, moved.text
    assert agency.get(f"/v1/evidence/{eid}").status_code == 200
    # the agency adds a recording to the case it now holds: the sequence continues
    added = server.client(keys[("agency-b", "collector")]).post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": case, "kind": "call_recording"})),
        "file": ("call.wav", call_wav(), "audio/wav")}).json()
    assert added["case_seq"] == 2
    moved = agency.post(f"/v1/cases/{case}/transfer", json={"to_tenant": "lawfirm-c"})
    assert moved.status_code == 200, moved.text
    assert firm.get(f"/v1/evidence/{added['id']}/content").status_code == 200
    assert agency.get(f"/v1/evidence/{eid}").status_code == 404, "the agency handed it on"
    assert agency.get(f"/v1/evidence/{added['id']}").status_code == 200, "its own item stays"
    custody = firm.get(f"/v1/evidence/{eid}/custody").json()
    handovers = [(e["event"]["detail"]["from_tenant"], e["event"]["detail"]["to_tenant"])
                 for e in custody["events"] if e["act"] == "transferred"]
    assert handovers == [("lender-a", "agency-b"), ("agency-b", "lawfirm-c")]
    assert custody["checks"][0]["status"] == "pass"
    wait_until(lambda: firm.get(f"/v1/evidence/{added['id']}").json()["status"] == "anchored")
    bundle = firm.get(f"/v1/cases/{case}/bundle")
    assert bundle.status_code == 200, bundle.text
    path = tmp_path / "case.zip"
    path.write_bytes(bundle.content)
    out = subprocess.run([sys.executable, "-m", "notary.cli", "verify", str(path), "--json"],
                         cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    verdict = json.loads(out.stdout)
    custody_checks = {c["name"]: c for c in verdict["checks"] if c["name"].endswith(".custody")}
    assert custody_checks and all(c["status"] == "pass" for c in custody_checks.values())
    reason = custody_checks["items[0].custody"]["reason"]
    assert "lender-a → agency-b; agency-b → lawfirm-c" in reason


def test_share_link_for_a_court(server: LiveServer, world: dict) -> None:
    keys, eid, case = world["keys"], world["id"], world["case"]
    lawyer = server.client(keys[("lender-a", "lawyer")])
    made = lawyer.post(f"/v1/cases/{case}/shares", json={"expires_in": 60, "label": "court"})
    assert made.status_code == 201, made.text
    token, share_id = made.json()["token"], made.json()["id"]
    anonymous = server.client()
    page = anonymous.get(f"/v1/shared/{token}")
    assert page.status_code == 200 and eid in page.text
    bundle = anonymous.get(f"/v1/shared/{token}/bundle")
    assert bundle.status_code == 200 and bundle.content[:2] == b"PK"
    acts = [e["act"] for e in lawyer.get(f"/v1/evidence/{eid}/custody").json()["events"]]
    assert "shared" in acts and "exported" in acts
    assert lawyer.delete(f"/v1/cases/{case}/shares/{share_id}").status_code == 200
    gone = anonymous.get(f"/v1/shared/{token}/bundle")
    assert gone.status_code == 410 and gone.json()["code"] == "share_revoked"
    # an expired link stops working too
    short = lawyer.post(f"/v1/cases/{case}/shares", json={"expires_in": 60}).json()
    with session(server.service.engine) as s:
        s.exec(text("UPDATE share_links SET expires_at = :t WHERE id = :i"),  # type: ignore[call-overload]
               params={"t": "2000-01-01 00:00:00", "i": short["id"]})
        s.commit()
    late = anonymous.get(f"/v1/shared/{short['token']}")
    assert late.status_code == 410 and late.json()["code"] == "share_expired"
    assert anonymous.get("/v1/shared/ns_0000000000000000_" + "A" * 32).status_code == 404


@pytest.mark.parametrize("tamper", ["delete-event", "reorder-events", "alter-event"])
def test_custody_tampering_in_the_database_is_detected(server: LiveServer, world: dict,
                                                        tamper: str) -> None:
    keys, eid = world["keys"], world["id"]
    admin = server.client(keys[("lender-a", "admin")])
    admin.get(f"/v1/evidence/{eid}/content")  # a 'viewed' event
    # wait until the events are anchored too (the next batch carries them)
    def anchored() -> bool:
        with session(server.service.engine) as s:
            rows = list(s.exec(select(CustodyRecord).where(CustodyRecord.evidence_id == eid)))
        return len(rows) >= 4 and all(r.status == "anchored" for r in rows)
    wait_until(anchored, timeout=30)
    assert all(c["status"] == "pass"
               for c in admin.get(f"/v1/evidence/{eid}/custody").json()["checks"])
    with session(server.service.engine) as s:
        rows = list(s.exec(select(CustodyRecord).where(CustodyRecord.evidence_id == eid)
                           .order_by(CustodyRecord.seq)))
        if tamper == "delete-event":
            s.delete(rows[1])
        elif tamper == "reorder-events":
            a, b = rows[1], rows[2]
            a.seq, b.seq = -1, -2
            s.add_all([a, b])
            s.flush()
            a.seq, b.seq = 3, 2  # the second and third events swap places
            s.add_all([a, b])
        else:
            head, payload, sig = rows[1].jws.split(".")
            rows[1].jws = f"{head}.{payload[:-3]}AAA.{sig}"
            s.add(rows[1])
        s.commit()
    checks = {c["name"]: c for c in admin.get(f"/v1/evidence/{eid}/custody").json()["checks"]}
    assert "fail" in {checks["custody"]["status"], checks["custody_anchored"]["status"]}, checks


def test_export_rule_for_each_role(server: LiveServer, world: dict) -> None:
    """README, Roles: bundles with originals for admin and lawyer; collectors and auditors get
    hashes-only bundles (the same proofs, no file)."""
    keys, eid, case = world["keys"], world["id"], world["case"]
    seen = {}
    for role in ROLES:
        http = server.client(keys[("lender-a", role)])
        for path in (f"/v1/evidence/{eid}/bundle", f"/v1/cases/{case}/bundle"):
            full = http.get(path)
            hashes = http.get(path, params={"hashes_only": "true"})
            seen[(role, path.split("/")[2], "originals")] = full.status_code
            seen[(role, path.split("/")[2], "hashes")] = hashes.status_code
            assert hashes.content[:2] == b"PK"
            if full.status_code == 403:
                assert full.json()["code"] == "forbidden"
    expected = {(role, scope, what): 200 if what == "hashes" or role in ("admin", "lawyer")
                else 403 for role in ROLES for scope in ("evidence", "cases")
                for what in ("originals", "hashes")}
    assert seen == expected
