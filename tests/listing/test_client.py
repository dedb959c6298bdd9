"""The SDK and the CLI on a live service: ``Client.iter_evidence`` reconciles what a dialer
submitted, page by page; ``notary list`` and ``notary case`` print it for people (both
languages) and for scripts (--json)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notary.cli.exits import Exit
from notary.client import Client, ServiceError
from notary.core.errors import InputError
from tests.cli.conftest import client_env, run_notary
from tests.listing.conftest import World, file_item

pytestmark = [pytest.mark.api, pytest.mark.chain]


def test_the_sdk_iterator_reconciles_every_submitted_item(world: World, tmp_path: Path) -> None:
    started = datetime.now(UTC)
    sent: dict[str, str] = {}  # the dialer's own log: idempotency key -> evidence id
    with Client(world.server.url, world.keys[("lender-a", "collector")]) as dialer:
        for n in range(23):
            recording = tmp_path / f"call-{n}.wav"
            recording.write_bytes(b"RIFF" + os.urandom(32))
            key = f"dialer-7-call-{n}"
            sent[key] = dialer.submit(recording, {"case_id": f"HX-{n % 4}", "kind":
                                                  "call_recording"}, progress=False,
                                      idempotency_key=key)["id"]
        listed = [i["id"] for i in dialer.iter_evidence(since=started, page_size=5)]
        assert sorted(listed) == sorted(sent.values()) and len(set(listed)) == len(listed)
        oldest_first = [i["id"] for i in dialer.iter_evidence(order="asc", page_size=4)]
        assert oldest_first == list(reversed(listed))
        assert [i["id"] for i in dialer.iter_evidence(case="HX-1", order="asc")] == \
            [sent[f"dialer-7-call-{n}"] for n in range(1, 23, 4)]
        page = dialer.list_evidence(limit=10)
        assert len(page["items"]) == 10 and page["next_cursor"] is not None
        cases = list(dialer.iter_cases(page_size=3))
        assert [c["case_id"] for c in cases] == ["HX-0", "HX-1", "HX-2", "HX-3"]
        assert sum(c["counts"]["total"] for c in cases) == 23
        detail = dialer.case("HX-3")
        assert detail["head"] is not None and detail["head"]["case_seq"] == 5
        assert [i["id"] for i in detail["items"]] == [sent[f"dialer-7-call-{n}"]
                                                      for n in range(3, 23, 4)]
        with pytest.raises(ServiceError) as missing:
            dialer.case("HX-9")
        assert (missing.value.http_status, missing.value.code) == (404, "not_found")
        with pytest.raises(ServiceError) as bad:
            dialer.list_evidence(status="lost")
        assert (bad.value.http_status, bad.value.code) == (422, "filter_invalid")
        with pytest.raises(InputError):
            dialer.list_evidence(since=datetime(2026, 12, 1))  # no time zone: refused here
    with Client(world.server.url, world.keys[("agency-b", "admin")]) as other:
        assert list(other.iter_evidence()) == [] and other.list_cases()["cases"] == []


def test_notary_list_and_notary_case(world: World, tmp_path: Path) -> None:
    dialer = world.http("lender-a", "collector")
    items = [file_item(dialer, "HX-2026-1207") for _ in range(3)]
    held = world.http("lender-a").post(f"/v1/evidence/{items[0]['id']}/legal-hold",
                                       json={"reason": "court order 2026-12"})
    assert held.status_code == 200, held.text
    env = client_env(world.server, world.keys[("lender-a", "auditor")])

    run = run_notary("list", "--case", "HX-2026-1207", "--limit", "2", "--all", "--order", "asc",
                     env=env, cwd=tmp_path)
    assert run.returncode == Exit.OK, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "证据列表 / evidence" and lines[-1] == "共 3 项 / 3 item(s)"
    assert [line.split()[0] for line in lines[1:-1]] == [i["id"] for i in items]
    assert "HX-2026-1207 #1" in lines[1] and "[hold]" in lines[1] and "eyJ" not in run.stdout

    run = run_notary("list", "--limit", "2", "--json", env=env, cwd=tmp_path)
    assert run.returncode == Exit.OK, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["id"] for r in rows] == [items[2]["id"], items[1]["id"]]
    cursor = run.stderr.split("--cursor ")[1].split()[0]
    run = run_notary("list", "--limit", "2", "--json", "--cursor", cursor, env=env, cwd=tmp_path)
    assert [json.loads(line)["id"] for line in run.stdout.splitlines()] == [items[0]["id"]]

    run = run_notary("case", "HX-2026-1207", env=env, cwd=tmp_path)
    assert run.returncode == Exit.OK, run.stderr
    out = run.stdout
    assert out.startswith("案件 / case HX-2026-1207") and "持有方 / holder     lender-a" in out
    assert "证据 / items        3: " in out and " 1 held, 0 shredded" in out
    assert f"法律保全 / hold     {items[0]['id']} #1: court order 2026-12" in out
    assert all(i["id"] in out for i in items)
    body = json.loads(run_notary("case", "HX-2026-1207", "--json", env=env,
                                 cwd=tmp_path).stdout)
    assert body["counts"]["total"] == 3 and body["holder"] == "lender-a"

    other = client_env(world.server, world.keys[("agency-b", "admin")])
    run = run_notary("case", "HX-2026-1207", env=other, cwd=tmp_path)
    assert run.returncode == Exit.FAILED and "error not_found" in run.stderr
    for args, code in ((("--since", "yesterday"), "time_invalid"),
                       (("--sha256", "abc"), "sha256_invalid"),
                       (("--limit", "0"), "limit_invalid"),
                       (("--case", "HX/1"), "case_id_invalid")):
        run = run_notary("list", *args, env=env, cwd=tmp_path)
        assert run.returncode == Exit.BAD_INPUT and f"error {code}" in run.stderr, (args, run)
