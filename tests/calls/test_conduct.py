"""Issue 16 #6, over real HTTP with a real chain and database: the conduct report of a case
with planted calls flags exactly the calls in the quiet hours (local time in the call's zone)
and the attempts past the daily limit; its signature verifies, and deriving it again from the
statements alone gives the same bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from notary.config import Settings
from notary.core.conduct import CONDUCT, ConductRules, conduct_report
from notary.core.errors import InputError
from notary.core.signing import jwks, jws_payload, verify_statement
from notary.core.statement import canonical_json
from notary.service.apikeys import Role, create_key
from notary.service.conduct import tenant_rules
from notary.service.tenancy import create_tenant
from tests.certificate.test_certificate_api import pdf_text
from tests.intake.files import form, statement_of, wav_bytes
from tests.support import LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "CONDUCT-2026-001"
A, B, C = "138 0013 8000", "139 0013 9000", "+86 137 0013 7000"
PERIOD = ("2026-11-28T00:00:00+08:00", "2026-11-30T00:00:00+08:00")
# (started_at, callee, what it is): 10 calls in Asia/Shanghai.
PLANTED = [
    *[(f"2026-11-28T{h:02d}:00:00+08:00", A, "ok") for h in range(9, 15)],  # attempts 1-6
    ("2026-11-28T15:00:00+08:00", A, "over_daily_limit"),  # the 7th attempt that day
    ("2026-11-28T14:30:00Z", B, "quiet_hours"),             # 22:30 in Shanghai
    ("2026-11-29T07:45:00+08:00", B, "quiet_hours"),
    ("2026-11-29T00:30:00Z", C, "ok"),                      # 08:30 in Shanghai: allowed
]


def _end(start: str) -> str:
    return start.replace(":00:00", ":03:30").replace(":30:00", ":33:30").replace(
        ":45:00", ":48:30")


def _call(http: httpx.Client, start: str, callee: str | dict[str, str], tone: float, *,
          timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    """Submit one outbound call recording of CASE; its answer."""
    call = {"started_at": start, "ended_at": _end(start), "timezone": timezone,
            "direction": "outbound", "agent_id": "工号 7", "caller": "021-5050-1234",
            "callee": callee}
    resp = http.post("/v1/evidence", files=form(
        {"case_id": CASE, "kind": "call_recording", "call": call}, wav_bytes(tone=tone),
        "c.wav", "audio/wav"))
    assert resp.status_code == 201, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


def test_report_flags_exactly_the_planted_calls(server: LiveServer, tmp_path: Path) -> None:
    admin = server.admin()
    answers: list[dict[str, Any]] = []
    for i, (start, callee, _what) in enumerate(PLANTED):
        call = {"started_at": start, "ended_at": _end(start), "timezone": "Asia/Shanghai",
                "direction": "outbound", "agent_id": f"工号 {1000 + i % 3}",
                "caller": "021-5050-1234", "callee": callee}
        resp = admin.post("/v1/evidence", files=form(
            {"case_id": CASE, "kind": "call_recording", "call": call, "distinct": True},
            wav_bytes(tone=300.0 + 20 * i), f"call-{i}.wav", "audio/wav"))
        assert resp.status_code == 201, resp.text
        answers.append(resp.json())
    # One contact keeps one commitment within the case: the 7 calls to A share it.
    callees = [statement_of(a)["call"]["callee"]["value"] for a in answers]
    assert len(set(callees[:7])) == 1 and len(set(callees)) == 3
    for a in answers:
        wait_until(lambda a=a: admin.get(f"/v1/evidence/{a['id']}").json()["status"]
                   == "anchored")

    resp = admin.get(f"/v1/cases/{CASE}/conduct", params={"from": PERIOD[0], "to": PERIOD[1]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    report = body["report"]
    rows = {r["evidence_id"]: r for r in report["contacts"]}
    assert len(rows) == 10
    for answer, (_start, _callee, what) in zip(answers, PLANTED, strict=True):
        row = rows[answer["id"]]
        assert row["flags"] == ([] if what == "ok" else [what]), (row, what)
        assert row["recorded"] is True and row["notarised"] is True
        assert row["duration_seconds"] == 210
    assert report["summary"] == {"calls": 10, "quiet_hours": 2, "over_daily_limit": 1,
                                 "zone_mismatch": 0, "not_countable": 0}
    assert rows[answers[6]["id"]]["attempt_of_day"] == 7
    assert rows[answers[7]["id"]]["local_start"] == "2026-11-28T22:30:00+08:00"
    assert report["rules"] == {"quiet_hours": {"from": "22:00", "to": "08:00"},
                               "max_daily_attempts": 6}
    assert "13800138000" not in resp.text

    # The signature verifies, and the statements alone give the same bytes.
    keys = jwks([server.service.signing_key.public_jwk()])
    signed = CONDUCT.verify(body["jws"], keys)
    assert signed.document == report and signed.payload == canonical_json(report)
    statements = [verify_statement(a["statement"], keys) for a in answers]
    again = conduct_report(statements, ConductRules(), PERIOD, {"case_id": CASE},
                           anchored={s.digest_hex() for s in statements})
    assert canonical_json(again) == jws_payload(body["jws"])

    # A later period keeps the day's numbering; one contact alone.
    later = admin.get(f"/v1/cases/{CASE}/conduct", params={
        "from": "2026-11-28T15:00:00+08:00", "to": PERIOD[1]}).json()["report"]
    assert sorted(r["evidence_id"] for r in later["contacts"]) == sorted(
        a["id"] for a in answers[6:])
    assert later["summary"] == {"calls": 4, "quiet_hours": 2, "over_daily_limit": 1,
                                "zone_mismatch": 0, "not_countable": 0}
    only_a = admin.get(f"/v1/cases/{CASE}/conduct", params={
        "from": PERIOD[0], "to": PERIOD[1], "contact": callees[0]}).json()["report"]
    assert len(only_a["contacts"]) == 7 and only_a["subject"]["contact"] == callees[0]
    by_number = admin.post(f"/v1/cases/{CASE}/conduct/contact", json={
        "number": "+8613800138000", "from": PERIOD[0], "to": PERIOD[1]})
    assert by_number.status_code == 200, by_number.text
    assert by_number.json()["report"] == only_a and "13800138000" not in by_number.text
    unknown = admin.post(f"/v1/cases/{CASE}/conduct/contact", json={
        "number": "13600136000", "from": PERIOD[0], "to": PERIOD[1]})
    assert unknown.status_code == 404 and unknown.json()["code"] == "call_contact_unknown"

    # The same report as a bilingual PDF and HTML: the flags in words.
    pdf = admin.get(f"/v1/cases/{CASE}/conduct", params={
        "from": PERIOD[0], "to": PERIOD[1], "format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content, tmp_path)
    for needed in ("合规通话报告", "Conduct report", CASE, "夜间禁呼时段", "quiet hours",
                   "超过每日次数", "over the daily limit", "2026-11-28T22:30:00+08:00"):
        assert needed in text, needed
    page = admin.get(f"/v1/cases/{CASE}/conduct", params={
        "from": PERIOD[0], "to": PERIOD[1], "format": "html"})
    assert page.status_code == 200 and "当日第 7 次 / attempt 7 of the day" in page.text
    assert page.text.count("⚠") == 3

    bad = admin.get(f"/v1/cases/{CASE}/conduct", params={"from": "yesterday",
                                                         "to": PERIOD[1]})
    assert bad.status_code == 400 and bad.json()["code"] == "conduct_period_invalid"
    backwards = admin.get(f"/v1/cases/{CASE}/conduct", params={"from": PERIOD[1],
                                                               "to": PERIOD[0]})
    assert backwards.status_code == 400
    assert backwards.json()["code"] == "conduct_period_invalid"
    missing = admin.get("/v1/cases/NO-SUCH-CASE/conduct", params={"from": PERIOD[0],
                                                                   "to": PERIOD[1]})
    assert missing.status_code == 404


def test_a_tenant_s_own_rules_are_applied_and_stated(
        make_server: Callable[..., LiveServer]) -> None:
    rules = {"default": {"quiet_from": "21:00", "max_daily_attempts": 1}}
    server = make_server(conduct_rules=json.dumps(rules))
    admin = server.admin()
    for i, start in enumerate(("2026-11-28T09:00:00+08:00", "2026-11-28T21:30:00+08:00")):
        _call(admin, start, A, 900.0 + 10 * i)
    report = admin.get(f"/v1/cases/{CASE}/conduct",
                       params={"from": PERIOD[0], "to": PERIOD[1]}).json()["report"]
    assert report["rules"] == {"quiet_hours": {"from": "21:00", "to": "08:00"},
                               "max_daily_attempts": 1}
    assert [r["flags"] for r in report["contacts"]] == [
        [], ["quiet_hours", "over_daily_limit"]]


def test_the_offset_judges_a_call_and_a_contradicting_zone_is_flagged(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(conduct_rules=json.dumps({"default": {"max_daily_attempts": 1}}))
    admin = server.admin()
    calls = [  # (started_at, timezone, callee, flags)
        ("2026-11-28T09:00:00+08:00", "Asia/Shanghai", A, []),
        # 09:30 in Shanghai, stated in another offset (and its own zone) to fall on the 27th:
        # still the contact's second call of the 28th.
        ("2026-11-27T21:30:00-04:00", "Etc/GMT+4", A, ["over_daily_limit"]),
        # 23:30 by its offset; Asia/Kolkata (+05:30) would make it 21:00.
        ("2026-11-28T23:30:00+08:00", "Asia/Kolkata", B, ["quiet_hours", "zone_mismatch"]),
        # A commitment the client made: nothing ties it to a contact, so it is not counted
        # silently but listed as such.
        ("2026-11-28T10:00:00+08:00", "Asia/Shanghai", {"alg": "hmac-sha256", "value": "cd" * 32},
         ["not_countable"]),
    ]
    answers = [_call(admin, start, callee, 1100.0 + 10 * i, timezone=zone)
               for i, (start, zone, callee, _flags) in enumerate(calls)]
    resp = admin.get(f"/v1/cases/{CASE}/conduct", params={"from": PERIOD[0], "to": PERIOD[1]})
    assert resp.status_code == 200, resp.text
    report = resp.json()["report"]
    rows = {r["evidence_id"]: r for r in report["contacts"]}
    assert [rows[a["id"]]["flags"] for a in answers] == [c[3] for c in calls]
    assert rows[answers[2]["id"]]["local_start"] == "2026-11-28T23:30:00+08:00"
    assert report["summary"] == {"calls": 4, "quiet_hours": 1, "over_daily_limit": 1,
                                 "zone_mismatch": 1, "not_countable": 1}
    keys = jwks([server.service.signing_key.public_jwk()])
    statements = [verify_statement(a["statement"], keys) for a in answers]
    again = conduct_report(statements, ConductRules(max_daily_attempts=1), PERIOD,
                           {"case_id": CASE}, {s.digest_hex() for s in statements
                                               if rows[s.evidence_id]["notarised"]},
                           client_committed={statements[3].digest_hex()})
    assert again == report


@pytest.mark.unit
@pytest.mark.parametrize("text", ["[]", "{", '{"t": {"quiet": "22:00"}}',
                                  '{"t": {"max_daily_attempts": 0}}', '{"t": 5}'])
def test_wrong_rule_settings_are_refused(text: str) -> None:
    with pytest.raises(InputError) as caught:
        tenant_rules(text, "t")
    assert caught.value.code == "config_invalid"


@pytest.mark.unit
def test_tenants_without_rules_get_the_guideline() -> None:
    assert tenant_rules("", "t") == tenant_rules('{"other": {}}', "t") == ConductRules()
    assert tenant_rules('{"t": {"quiet_to": "09:00"}}', "t") == ConductRules(quiet_to="09:00")


@pytest.mark.unit
def test_a_wrong_rule_setting_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTARY_CONDUCT_RULES", '{"t": {"quiet_from": "25:00"}}')
    with pytest.raises(InputError) as caught:
        Settings.from_env()
    assert caught.value.code == "config_invalid" and "'t'" in caught.value.message
    monkeypatch.setenv("NOTARY_CONDUCT_RULES", '{"t": {"max_daily_attempts": 3}}')
    assert tenant_rules(Settings.from_env().conduct_rules, "t").max_daily_attempts == 3


def test_the_seller_of_a_case_cannot_probe_the_buyer_s_calls(server: LiveServer) -> None:
    engine = server.service.engine
    keys = {}
    for tenant in ("lender-a", "agency-b"):
        create_tenant(engine, tenant)
        keys[tenant] = create_key(engine, Role.ADMIN, tenant=tenant)[1]
    seller, buyer = server.client(keys["lender-a"]), server.client(keys["agency-b"])
    _call(seller, "2026-11-28T10:00:00+08:00", A, 1300.0)
    moved = seller.post(f"/v1/cases/{CASE}/transfer", json={"to_tenant": "agency-b"})
    assert moved.status_code == 200, moved.text
    _call(buyer, "2026-11-28T10:00:00+08:00", B, 1310.0)
    asked = {"from": PERIOD[0], "to": PERIOD[1]}
    # The buyer holds the case: both numbers are its contacts.
    for number in (A, B):
        assert buyer.post(f"/v1/cases/{CASE}/conduct/contact",
                          json={"number": number, **asked}).status_code == 200
    # The seller still sees its own call, not whether the buyer called B.
    assert seller.post(f"/v1/cases/{CASE}/conduct/contact",
                       json={"number": A, **asked}).status_code == 200
    probe = seller.post(f"/v1/cases/{CASE}/conduct/contact", json={"number": B, **asked})
    assert probe.status_code == 404 and probe.json()["code"] == "call_contact_unknown"
