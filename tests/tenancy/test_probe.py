"""Issue 13 (an outside probe), over real HTTP with real tenants: a share link dies with its
tenant's hold on the case (#1), anonymous reads do not grow the custody log without bound
(#11), and a seller can use a case reference again after a transfer, while submissions racing
a transfer never answer 500 nor leave an orphan blob (#7)."""

from __future__ import annotations

import io
import itertools
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from notary.core.errors import Contention
from notary.service.apikeys import create_key
from notary.service.submission import parse_metadata
from notary.service.tenancy import create_tenant
from storage.db import Case, CustodyRecord, Evidence, session
from tests.support import LiveServer, wait_until
from tests.tenancy.files import call_wav, notice_pdf

pytestmark = [pytest.mark.api, pytest.mark.chain]
CASE = "HX-2026-1203-LK"


@pytest.fixture
def two(server: LiveServer) -> dict[str, str]:
    """Tenants lender-a and agency-b with an admin, lawyer and collector key each; one
    anchored notice in lender-a's case."""
    engine = server.service.engine
    keys = {}
    for tenant in ("lender-a", "agency-b"):
        create_tenant(engine, tenant)
        for role in ("admin", "lawyer", "collector"):
            keys[f"{tenant}/{role}"] = create_key(engine, role, tenant=tenant)[1]
    first = _submit(server, keys["lender-a/collector"], CASE, "notice")
    assert first.status_code == 201, first.text
    http = server.client(keys["lender-a/admin"])
    wait_until(lambda: http.get(f"/v1/evidence/{first.json()['id']}").json()["status"]
               == "anchored")
    keys["first"] = first.json()["id"]
    return keys


_CALLS = itertools.count(1)


def _submit(server: LiveServer, key: str, case: str, kind: str = "call_recording"):  # type: ignore[no-untyped-def]
    """A new document each time (another call's tone): the same file twice would be answered
    as a duplicate of the first."""
    n = next(_CALLS)
    data, name, media = ((notice_pdf(f"Payment notice {n}"), "notice.pdf", "application/pdf")
                         if kind == "notice" else (call_wav(hz=300 + n), "call.wav", "audio/wav"))
    return server.client(key).post("/v1/evidence", files={
        "metadata": (None, json.dumps({"case_id": case, "kind": kind})),
        "file": (name, data, media)})


def _events(server: LiveServer, evidence_id: str) -> list[CustodyRecord]:
    with session(server.service.engine) as s:
        return list(s.exec(select(CustodyRecord).where(CustodyRecord.evidence_id == evidence_id)
                           .order_by(CustodyRecord.seq)))


def _acts(server: LiveServer, key: str, evidence_id: str) -> list[dict]:
    return server.client(key).get(f"/v1/evidence/{evidence_id}/custody").json()["events"]


def test_a_share_link_dies_with_a_transfer_and_never_shows_the_buyers_items(
        server: LiveServer, two: dict[str, str]) -> None:
    lender = server.client(two["lender-a/lawyer"])
    made = lender.post(f"/v1/cases/{CASE}/shares", json={"label": "court of Pudong"})
    assert made.status_code == 201, made.text
    token, share_id = made.json()["token"], made.json()["id"]
    assert made.json()["url"].endswith(f"/s/{token}")
    anonymous = server.client()
    assert anonymous.get(f"/v1/shared/{token}").status_code == 200
    moved = server.client(two["lender-a/admin"]).post(
        f"/v1/cases/{CASE}/transfer", json={"to_tenant": "agency-b", "reason": "portfolio sale"})
    assert moved.status_code == 200, moved.text
    added = _submit(server, two["agency-b/collector"], CASE)
    assert added.status_code == 201 and added.json()["case_seq"] == 2, added.text
    for path in (f"/v1/shared/{token}", f"/v1/shared/{token}/bundle"):
        gone = anonymous.get(path)
        assert gone.status_code == 410, (path, gone.status_code, gone.text[:200])
        assert gone.json()["code"] == "share_revoked"
        assert b"RIFF" not in gone.content  # not a byte of the buyer's recording
    page = anonymous.get(f"/s/{token}")
    assert page.status_code == 410 and "已撤销" in page.text
    # the seller cannot reach it any more; the buyer lists it (never its token)
    assert lender.delete(f"/v1/cases/{CASE}/shares/{share_id}").status_code == 404
    assert lender.get(f"/v1/cases/{CASE}/shares").status_code == 404
    listed = server.client(two["agency-b/lawyer"]).get(f"/v1/cases/{CASE}/shares")
    assert listed.status_code == 200, listed.text
    [row] = listed.json()
    assert row["id"] == share_id and row["tenant"] == "lender-a"
    assert row["revoked_reason"] == "case transferred" and row["revoked_at"]
    assert row["label"] == "court of Pudong" and token not in listed.text
    assert "lawyer@lender-a" in row["created_by"]
    assert server.client(two["agency-b/collector"]).get(
        f"/v1/cases/{CASE}/shares").status_code == 403
    # the custody log: shared and read by lender-a's link, revoked by the transfer, then moved
    events = _acts(server, two["agency-b/admin"], two["first"])
    acts = [e["act"] for e in events]
    assert acts.index("share_revoked") < acts.index("transferred")
    revoked = next(e["event"] for e in events if e["act"] == "share_revoked")
    assert revoked["detail"] == {"share_id": share_id, "reason": "case transferred",
                                 "share_tenant": "lender-a"}
    viewed = next(e["event"] for e in events if e["act"] == "viewed")
    assert viewed["tenant"] == "lender-a" and viewed["actor"] == f"share:{share_id} (link@lender-a)"
    # the buyer's new link works, for the buyer's case
    fresh = server.client(two["agency-b/lawyer"]).post(f"/v1/cases/{CASE}/shares", json={})
    shown = anonymous.get(f"/v1/shared/{fresh.json()['token']}").json()
    assert shown["shared_by"] == "agency-b" and len(shown["items"]) == 2


def test_a_share_link_lives_at_most_90_days(server: LiveServer, two: dict[str, str]) -> None:
    lawyer = server.client(two["lender-a/lawyer"])
    assert lawyer.post(f"/v1/cases/{CASE}/shares",
                       json={"expires_in": 90 * 86400}).status_code == 201
    long = lawyer.post(f"/v1/cases/{CASE}/shares", json={"expires_in": 90 * 86400 + 1})
    assert long.status_code == 422, long.text


def test_fifty_reads_of_a_link_add_one_event_per_item(server: LiveServer,
                                                      two: dict[str, str]) -> None:
    second = _submit(server, two["lender-a/collector"], CASE)
    admin = server.client(two["lender-a/admin"])
    wait_until(lambda: admin.get(f"/v1/evidence/{second.json()['id']}").json()["status"]
               == "anchored")
    items = [two["first"], second.json()["id"]]
    token = server.client(two["lender-a/lawyer"]).post(
        f"/v1/cases/{CASE}/shares", json={}).json()["token"]
    before = {i: len(_events(server, i)) for i in items}
    anonymous = server.client()
    for _ in range(50):
        assert anonymous.get(f"/v1/shared/{token}").status_code == 200
    for _ in range(3):
        assert anonymous.get(f"/v1/shared/{token}/bundle").status_code == 200
    for item in items:
        added = _events(server, item)[before[item]:]
        assert sorted(r.act for r in added) == ["exported", "viewed"], (item, added)
    # a second link is a second reader: its first read is recorded
    other = server.client(two["lender-a/lawyer"]).post(
        f"/v1/cases/{CASE}/shares", json={}).json()["token"]
    anonymous.get(f"/v1/shared/{other}")
    assert [r.act for r in _events(server, items[0])].count("viewed") == 2
    # a read after the window is recorded again (the window's event is moved back an hour)
    with session(server.service.engine) as s:
        for r in s.exec(select(CustodyRecord).where(CustodyRecord.coalesce_key.is_not(None))):  # type: ignore[union-attr]
            r.at = r.at - timedelta(hours=1, seconds=1)
            s.add(r)
        s.commit()
    anonymous.get(f"/v1/shared/{token}")
    assert [r.act for r in _events(server, items[0])].count("viewed") == 3
    checks = admin.get(f"/v1/evidence/{items[0]}/custody").json()["checks"]
    assert checks[0]["status"] == "pass"


def test_the_seller_reuses_a_reference_after_a_transfer(server: LiveServer,
                                                        two: dict[str, str]) -> None:
    moved = server.client(two["lender-a/admin"]).post(
        f"/v1/cases/{CASE}/transfer", json={"to_tenant": "agency-b"})
    assert moved.status_code == 200, moved.text
    again = _submit(server, two["lender-a/collector"], CASE)
    assert again.status_code == 201, again.text
    assert again.json()["case_seq"] == 1, "a new case of the seller's own"
    more = _submit(server, two["lender-a/collector"], CASE)
    assert more.status_code == 201 and more.json()["case_seq"] == 2
    with session(server.service.engine) as s:
        cases = list(s.exec(select(Case).where(Case.case_id == CASE)))
    assert sorted(c.holder for c in cases) == ["agency-b", "lender-a"]
    assert len({c.uid for c in cases}) == 2
    # the buyer's case is untouched: the first item alone, and only the buyer sees it now
    buyer = server.client(two["agency-b/admin"])
    assert buyer.get(f"/v1/evidence/{again.json()['id']}").status_code == 404
    assert buyer.get(f"/v1/evidence/{two['first']}").status_code == 200


def test_submissions_racing_a_transfer_are_201_or_retryable(server: LiveServer,
                                                            two: dict[str, str]) -> None:
    answers: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def submit() -> None:
        r = _submit(server, two["lender-a/collector"], CASE)
        with lock:
            answers.append((r.status_code, r.headers.get("retry-after")))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads[:4]:
        t.start()
    moved = server.client(two["lender-a/admin"]).post(
        f"/v1/cases/{CASE}/transfer", json={"to_tenant": "agency-b"})
    for t in threads[4:]:
        t.start()
    for t in threads:
        t.join(60)
    assert moved.status_code == 200, moved.text
    assert all(code == 201 or (code in (409, 503) and retry) for code, retry in answers), answers
    # every accepted item is in exactly one case, in an unbroken sequence per case
    with session(server.service.engine) as s:
        rows = list(s.exec(select(Evidence).where(Evidence.case_id == CASE)))
    by_case: dict[str | None, list[int]] = {}
    for r in rows:
        by_case.setdefault(r.case_uid, []).append(r.case_seq)
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in by_case.values()), by_case
    assert len(rows) == 1 + sum(code == 201 for code, _ in answers)


def test_a_submission_that_records_nothing_leaves_no_blob(server: LiveServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The database losing every race is a fault the test cannot cause on demand, so
    ``_record`` is replaced by one that always raises IntegrityError (a fake, on purpose)."""
    notariser = server.service.notariser
    stored: list[str] = []
    real_put = notariser.blobs.put_file

    def put_file(cid, path):  # type: ignore[no-untyped-def]
        stored.append(cid)
        real_put(cid, path)

    def always_lose(*_a, **_k):  # type: ignore[no-untyped-def]
        raise IntegrityError("INSERT", {}, Exception("uq_evidence_case_uid_seq"))

    monkeypatch.setattr(notariser.blobs, "put_file", put_file)
    monkeypatch.setattr(notariser, "_record", always_lose)
    sub = parse_metadata(json.dumps({"case_id": CASE, "kind": "notice"}).encode()) \
        .with_file("notice.pdf", "application/pdf")
    data = io.BytesIO(notice_pdf())
    with pytest.raises(Contention) as raised:
        notariser.accept(sub, data.read, submitter="apikey:test")
    assert raised.value.code == "case_contention" and raised.value.details["retry_after"] >= 1
    assert len(stored) == 1 and not notariser.blobs.exists(stored[0])
    with session(server.service.engine) as s:
        assert s.exec(select(Evidence)).first() is None
