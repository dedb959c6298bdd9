"""`notary webhooks add|list|deliveries|remove` as a tenant admin runs them, against a live
service delivering to a real receiver on loopback; and the SDK methods they stand on, with
the call proof and the conduct report (JSON and PDF) through the same client."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from notary.cli.exits import Exit
from notary.client import Client, ServiceError
from notary.core.conduct import CONDUCT
from notary.core.signing import jwks
from tests.calls.test_conduct import CASE, PERIOD, _call
from tests.cli.conftest import client_env, run_notary
from tests.support import LiveServer, wait_until
from tests.webhooks.receiver import Receiver, signature_ok
from tests.webhooks.test_webhooks import FAST, submit

pytestmark = [pytest.mark.api, pytest.mark.chain]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def test_webhooks_commands_against_a_live_service(
        make_server: Callable[..., LiveServer], receiver: Receiver, tmp_path: Path) -> None:
    server = make_server(**FAST)
    env = client_env(server)

    def notary(*args: str) -> tuple[int, str, str]:
        run = run_notary("webhooks", *args, env=env, cwd=tmp_path)
        return run.returncode, run.stdout, run.stderr

    code, out, err = notary("add", receiver.url, "--event", "evidence.anchored",
                            "--description", "催收系统", "--json")
    assert code == Exit.OK, err
    hook = json.loads(out)
    assert hook["events"] == ["evidence.anchored"] and hook["secret"].startswith("whsec_")
    code, out, err = notary("list")
    assert code == Exit.OK and hook["id"] in out and "事件 / events" in out
    assert "whsec_" not in out and "催收系统" in out

    item = submit(server.admin(), "HOOK-CLI-1", "cli webhook")
    wait_until(lambda: any(a.event["data"]["evidence_id"] == item["id"]
                           for a in receiver.accepted()))
    assert all(signature_ok(hook["secret"], a) for a in receiver.accepted())
    wait_until(lambda: "已投递 delivered" in notary("deliveries", hook["id"])[1])
    code, out, _ = notary("deliveries")  # every endpoint's
    assert code == Exit.OK and f"deliveries of {hook['id']}: 1" in out
    assert "evidence.anchored" in out and "最近 last 200" in out
    code, out, _ = notary("deliveries", hook["id"], "--status", "failed", "--json")
    assert code == Exit.OK and json.loads(out) == []

    code, out, _ = notary("remove", hook["id"])
    assert code == Exit.OK and f"已删除 / removed {hook['id']}" in out
    code, _, err = notary("remove", hook["id"])
    assert code == Exit.FAILED and "webhook_unknown" in err
    code, _, err = notary("remove", "not-an-id")
    assert code == Exit.BAD_INPUT and "webhook_id_invalid" in err
    code, out, _ = notary("list")
    assert "无 webhook / no webhook endpoints" in out
    code, _, err = notary("add", receiver.url, "--event", "nope")
    assert code == Exit.BAD_INPUT  # argparse: not one of the events


def test_the_sdk_fetches_the_call_proof_and_the_conduct_report(server: LiveServer) -> None:
    admin = server.admin()
    answer = _call(admin, "2026-11-28T22:30:00+08:00", "138 0013 8000", 880.0)
    wait_until(lambda: admin.get(f"/v1/evidence/{answer['id']}").json()["status"]
               == "anchored")  # so that every report says the same
    with Client(server.url, server.admin_key) as client:
        proof = client.prove_call_number(answer["id"], "+8613800138000")
        assert proof["matches"] == ["callee"] and proof["proofs"][0]["party"] == "callee"
        assert client.prove_call_number(answer["id"], "13600136000")["matches"] == []
        signed = client.conduct(CASE, *PERIOD)
        keys = jwks([server.service.signing_key.public_jwk()])
        assert CONDUCT.verify(signed["jws"], keys).document == signed["report"]
        assert [r["flags"] for r in signed["report"]["contacts"]] == [["quiet_hours"]]
        by_number = client.conduct(CASE, *PERIOD, number="138 0013 8000")
        contact = by_number["report"]["subject"]["contact"]
        assert client.conduct(CASE, *PERIOD, contact=contact)["report"] == by_number["report"]
        pdf = client.conduct_document(CASE, *PERIOD)
        assert pdf.startswith(b"%PDF")
        page = client.conduct_document(CASE, *PERIOD, number="138 0013 8000", format="html")
        assert "合规通话报告" in page.decode()
        with pytest.raises(ServiceError) as caught:
            client.conduct(CASE, PERIOD[1], PERIOD[0])
        assert caught.value.code == "conduct_period_invalid" and caught.value.http_status == 400
        with pytest.raises(ServiceError) as unknown:
            client.prove_call_number("ev_" + "0" * 32, "13600136000")
        assert unknown.value.http_status == 404
