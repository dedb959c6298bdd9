"""notary.core.conduct: the pure conduct report, at the edges of its rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from notary.core.conduct import ConductRules, conduct_report
from notary.core.errors import InputError
from notary.core.statement import Statement, canonical_json

pytestmark = pytest.mark.unit

BASE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "call.json").read_text("utf-8"))[
    "statement"]["json"]
PERIOD = ("2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00")


def _statements(calls: list[tuple[str, str, str]]) -> list[Statement]:
    """(started_at, direction, callee value) → a statement chain of one case."""
    out: list[Statement] = []
    for i, (start, direction, callee) in enumerate(calls, start=1):
        call = {**BASE["call"], "started_at": start, "ended_at": start,
                "direction": direction, "callee": {"alg": "hmac-sha256", "value": callee}}
        doc = {**BASE, "evidence_id": f"ev-{i}", "case_seq": i, "call": call}
        if out:
            doc["prev_statement"] = out[-1].digest_hex()
        out.append(Statement.from_json(doc))
    return out


DEFAULTS = ConductRules()


def _flags(statements: list[Statement], rules: ConductRules = DEFAULTS) -> list[list[str]]:
    report = conduct_report(statements, rules, PERIOD, {"case_id": BASE["case_id"]})
    return [r["flags"] for r in report["contacts"]]


def test_quiet_hours_edges_are_judged_in_local_time() -> None:
    x = "aa" * 32
    calls = [("2026-11-28T21:59:59+08:00", "outbound", x), ("2026-11-28T22:00:00+08:00",
             "outbound", x), ("2026-11-28T23:59:00Z", "outbound", x),  # 07:59 local
             ("2026-11-29T00:00:00Z", "outbound", x),  # 08:00 local: allowed
             ("2026-11-29T15:00:00Z", "inbound", x)]  # 23:00 local, but they called us
    assert _flags(_statements(calls)) == [[], ["quiet_hours"], ["quiet_hours"], [], []]


def test_attempts_count_per_contact_per_local_day_outbound_only() -> None:
    a, b = "aa" * 32, "bb" * 32
    day = [(f"2026-11-28T{h:02d}:00:00+08:00", "outbound", a) for h in range(9, 16)]
    calls = [*day[:3], ("2026-11-28T12:30:00+08:00", "inbound", a),
             ("2026-11-28T12:40:00+08:00", "outbound", b), *day[3:],
             ("2026-11-29T09:00:00+08:00", "outbound", a)]  # a new local day
    flags = _flags(_statements(calls))
    assert flags.count(["over_daily_limit"]) == 1 and flags[-2] == ["over_daily_limit"]
    assert _flags(_statements(calls), ConductRules(max_daily_attempts=5)).count(
        ["over_daily_limit"]) == 2


def test_report_is_a_function_of_its_inputs() -> None:
    statements = _statements([("2026-11-28T22:30:00+08:00", "outbound", "aa" * 32)])
    one = conduct_report(statements, ConductRules(), PERIOD, {"case_id": BASE["case_id"]})
    two = conduct_report(list(reversed(statements)), ConductRules(), PERIOD,
                         {"case_id": BASE["case_id"]})
    assert canonical_json(one) == canonical_json(two)
    assert one["contacts"][0]["notarised"] is False


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"quiet_from": "24:00"}, "quiet_from"), ({"quiet_to": "8:00"}, "quiet_to"),
    ({"max_daily_attempts": 0}, "max_daily_attempts"),
    ({"max_daily_attempts": True}, "max_daily_attempts")])
def test_rules_are_validated(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        ConductRules(**kwargs)
    assert caught.value.code == "conduct_rules_invalid" and caught.value.details["field"] == field
