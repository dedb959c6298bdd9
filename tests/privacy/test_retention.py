"""Retention rules: due items are shredded by the scheduled job, held ones are skipped and
reported, other kinds and open cases are untouched; every shred is a custody event by the
retention job, with its deletion certificate."""

from __future__ import annotations

import pytest

from tests.privacy.test_shredding import anchored, submit
from tests.support import SAMPLES, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

WAV = SAMPLES / "call-2026-11-28-0930.wav"


def test_retention_shreds_what_is_due_and_skips_what_is_held(make_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = make_server(retention_seconds=0)  # runs by API only, no race
    admin = server.admin()
    rule = admin.put("/v1/retention-rules/call_recording", json={"days": 0,
                                                                 "after": "case_closed"})
    assert rule.status_code == 200 and rule.json()["days"] == 0
    assert admin.put("/v1/retention-rules/poem", json={"days": 1}).status_code == 422
    assert admin.put("/v1/retention-rules/notice", json={"days": -1}).status_code == 422

    due = submit(admin, WAV, "call_recording", case="C-CLOSED")
    held = submit(admin, WAV, "call_recording", case="C-CLOSED")
    notice = submit(admin, SAMPLES / "notice-2026-11-28.pdf", "notice", case="C-CLOSED")
    still_open = submit(admin, WAV, "call_recording", case="C-OPEN")
    for item in (due, held, notice, still_open):
        wait_until(lambda item=item: anchored(admin, item["id"]))
    assert admin.post(f"/v1/evidence/{held['id']}/legal-hold",
                      json={"reason": "complaint to regulator"}).status_code == 200

    # Nothing is due before the case closes; a dry run after closing shreds nothing.
    assert admin.post("/v1/retention/run", json={"dry_run": True}).json()["due"] == []
    assert admin.post("/v1/cases/C-CLOSED/close").status_code == 200
    report = admin.post("/v1/retention/run", json={"dry_run": True}).json()
    assert sorted(report["due"]) == sorted([due["id"], held["id"]])
    assert report["held"] == [held["id"]] and report["shredded"] == []
    assert admin.get(f"/v1/evidence/{due['id']}/content").status_code == 200

    report = admin.post("/v1/retention/run", json={}).json()
    assert report["shredded"] == [due["id"]] and report["held"] == [held["id"]]
    assert admin.get(f"/v1/evidence/{due['id']}/content").status_code == 410
    for kept in (held, notice, still_open):
        assert admin.get(f"/v1/evidence/{kept['id']}/content").status_code == 200, kept
    last = admin.get(f"/v1/evidence/{due['id']}/custody").json()["events"][-1]["event"]
    assert last["act"] == "shredded" and last["actor"] == "notary-service:retention"
    assert "retention period ended" in last["detail"]["reason"]
    cert = admin.get(f"/v1/evidence/{due['id']}/deletion-certificate").json()
    assert [c["status"] for c in cert["checks"]] == ["pass", "pass"]

    # Lifting the hold lets the next run shred it too; reopening stops the clock for others.
    assert admin.post(f"/v1/evidence/{held['id']}/legal-hold/lift",
                      json={"reason": "complaint closed"}).status_code == 200
    report = admin.post("/v1/retention/run", json={}).json()
    assert report["shredded"] == [held["id"]] and report["held"] == [] and report["due"] == [
        held["id"]]
    assert admin.post("/v1/cases/C-CLOSED/reopen").json()["closed_at"] is None
    rules = admin.get("/v1/retention-rules").json()
    assert [(r["kind"], r["days"], r["after"]) for r in rules] == [
        ("call_recording", 0, "case_closed")]
    assert admin.delete("/v1/retention-rules/call_recording").status_code == 204
    assert admin.get("/v1/retention-rules").json() == []


def test_the_scheduled_job_shreds_on_its_own(make_server) -> None:  # type: ignore[no-untyped-def]
    server: LiveServer = make_server(retention_seconds=0.3)
    admin = server.admin()
    item = submit(admin, WAV, "call_recording", case="C-OLD")
    assert admin.put("/v1/retention-rules/call_recording",
                     json={"days": 0, "after": "received"}).status_code == 200
    wait_until(lambda: admin.get(f"/v1/evidence/{item['id']}").json()["shredded_at"],
               timeout=30)
    assert admin.get(f"/v1/evidence/{item['id']}/content").status_code == 410
    assert server.service.retention is not None
    report = server.service.retention.last_report
    assert report is not None and not report.dry_run
