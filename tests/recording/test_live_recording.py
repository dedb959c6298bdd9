"""Issue 18 over real HTTP, a real chain and a real recorder process: a call is notarised while
it is recorded (a signed checkpoint per segment), closing it notarises the whole recording as
one anchored item whose verification states per segment when it existed at the latest, an
excerpt proves a stretch of the call alone, and a recorder killed mid-call (SIGKILL) leaves a
session closed by the timeout, incomplete, that verifies for what arrived.

The first test records its one-minute call in real time (about 60 s), so that ``live`` (no
segment checkpointed before its audio could have been recorded) is really exercised; the killed
recorder runs 20 times faster and is, rightly, not live.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from notary.chain.embedded import EmbeddedChain
from notary.core.excerpt import CHECKPOINT
from notary.core.excerpt import read_excerpt as read_report
from notary.core.jws import jws_payload
from notary.core.signing import SigningKey, jwks, sign_statement
from notary.core.statement import Statement
from tests.intake.files import form, wav_bytes
from tests.recording.recorder import segment_pcm
from tests.support import REPO, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "REC-2026-001"
PCM = {"Content-Type": "application/octet-stream"}


def _recorder(server: LiveServer, seconds: int, speedup: int = 20) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.recording.recorder", server.url, server.admin_key, CASE,
         str(seconds), str(speedup)], stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)


def _anchored(http: httpx.Client, evidence_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/evidence/{evidence_id}").json()
        return body if body["status"] == "anchored" else None

    return wait_until(done, timeout=30)  # type: ignore[return-value]


def _excerpt(http: httpx.Client, evidence_id: str, start: str, end: str) -> bytes:
    resp = http.get(f"/v1/evidence/{evidence_id}/recording/excerpt",
                    params={"from": start, "to": end})
    assert resp.status_code == 200, resp.text
    return resp.content


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "notary.cli", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=30, check=False)


def read_excerpt(data: bytes) -> dict[str, Any]:
    return read_report(data).to_json()


def _rezip(data: bytes, change: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, change.get(name, src.read(name)))
    return out.getvalue()


def test_a_call_streamed_while_recorded_is_anchored_and_proves_each_segment(
        server: LiveServer, anvil: EmbeddedChain, tmp_path: Path) -> None:
    proc = _recorder(server, 60, speedup=1)  # in real time: live is what is tested
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    evidence_id = out.split("closed ")[1].split()[0]
    http = server.admin()
    _anchored(http, evidence_id)
    statement = Statement.from_json(http.get(f"/v1/evidence/{evidence_id}").json()[
        "statement_json"])
    assert statement.recording is not None and statement.call is not None
    assert statement.recording.sizes == (32000,) * 30 and statement.recording.complete
    assert statement.media_type == "audio/wav" and statement.call.agent_id == "工号 2048"
    # The numbers given at open were committed then; the item holds their salts.
    proved = http.post(f"/v1/evidence/{evidence_id}/call/prove", json={"number": "13800138000"})
    assert proved.status_code == 200 and proved.json()["matches"] == ["callee"], proved.text

    report = http.get(f"/v1/evidence/{evidence_id}/recording").json()
    assert report["ok"], report["problems"]
    assert report["live"] and report["complete"] and report["anchored_at"] is not None
    assert report["not_live"] == [] and all(s["real_time"] for s in report["segments"])
    assert [s["n"] for s in report["segments"]] == list(range(30))
    assert report["segments"][15]["start_ms"] == 30_000
    times = [s["existed_by"] for s in report["segments"]]
    assert times == sorted(times)  # each no later than its checkpoint, in order

    # Its ordinary proof bundle verifies, as any item's does (the new field parses anywhere).
    bundle = http.get(f"/v1/evidence/{evidence_id}/bundle")
    assert bundle.status_code == 200, bundle.text
    assert server.service.verify_bundle(bundle.content).verdict.result == "valid"

    # The stored recording is the recorder's PCM behind a WAV header, byte for byte.
    content = http.get(f"/v1/evidence/{evidence_id}/content").content
    assert content[44:] == b"".join(segment_pcm(i) for i in range(30))

    # An excerpt of 00:00:10 to 00:00:20 holds segments 5..9 and verifies alone.
    data = _excerpt(http, evidence_id, "00:00:10", "00:00:20")
    assert read_excerpt(data)["ok"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = sorted(zf.namelist())
        manifest = json.loads(zf.read("excerpt.json"))
        seven = zf.read("segments/000007.pcm")
        eight = zf.read("segments/000008.pcm")
    assert [e["n"] for e in manifest["segments"]] == [5, 6, 7, 8, 9]
    assert "segments/000004.pcm" not in names and "excerpt.wav" in names
    assert seven == segment_pcm(7)
    # A changed byte fails naming the segment; so do two segments swapped.
    bad = bytearray(seven)
    bad[100] ^= 1
    problems = read_excerpt(_rezip(data, {"segments/000007.pcm": bytes(bad)}))["problems"]
    assert any("segment 7" in p for p in problems), problems
    problems = read_excerpt(_rezip(data, {"segments/000007.pcm": eight,
                                          "segments/000008.pcm": seven}))["problems"]
    assert any("segment 7" in p for p in problems) and any("segment 8" in p for p in problems)

    # The CLI writes the same kind of excerpt, and checks one offline (exit 1 when changed).
    env = {**os.environ, "PYTHONPATH": str(REPO), "NOTARY_URL": server.url,
           "NOTARY_API_KEY": server.admin_key}
    zipped = tmp_path / "cut.zip"
    made = _cli(env, "excerpt", evidence_id, "--from", "00:00:40", "--to", "00:00:50",
                "-o", str(zipped))
    assert made.returncode == 0, made.stderr
    assert "VALID" in made.stdout and "segment   20" in made.stdout
    # Nothing failed, but without a pinned trust root who issued it is not established (5);
    # pinned to this deployment's trust root, the anchor not checked on chain, neither (5);
    # with the chain's node too it is valid (0).
    checked = _cli(env, "excerpt-verify", str(zipped), "--json")
    assert checked.returncode == 5 and json.loads(checked.stdout)["ok"], checked.stdout
    assert json.loads(checked.stdout)["issuer_established"] is False
    checked = _cli(env, "excerpt-verify", str(zipped), "--trust-root", server.url)
    assert checked.returncode == 5, checked.stdout + checked.stderr
    assert "not checked against a chain" in checked.stdout and "实时 / live: True" in \
        checked.stdout, checked.stdout
    checked = _cli(env, "excerpt-verify", str(zipped), "--trust-root", server.url,
                   "--rpc", anvil.url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "VALID" in checked.stdout and "pinned" in checked.stdout
    # An excerpt whose statement and checkpoints were signed by someone else's key (and that
    # carries that key) is refused once the deployment's trust root is pinned.
    other = SigningKey.generate()
    with zipfile.ZipFile(io.BytesIO(zipped.read_bytes())) as zf:
        forged = json.loads(zf.read("excerpt.json"))
    forged["statement"] = sign_statement(Statement.from_bytes(jws_payload(
        forged["statement"])), other)
    for entry in forged["segments"]:
        entry["checkpoint"] = CHECKPOINT.sign(jws_payload(entry["checkpoint"]), other)
    forged["keys"] = jwks([other.public_jwk()])
    stranger = tmp_path / "stranger.zip"
    stranger.write_bytes(_rezip(zipped.read_bytes(), {
        "excerpt.json": json.dumps(forged).encode()}))
    alone = _cli(env, "excerpt-verify", str(stranger))
    assert alone.returncode == 5, alone.stdout  # consistent in itself; issuer unknown
    pinned = _cli(env, "excerpt-verify", str(stranger), "--trust-root", server.url)
    assert pinned.returncode == 1 and "INVALID" in pinned.stdout, pinned.stdout
    tampered = bytearray(zipped.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(tampered))) as zf:
        twenty = bytearray(zf.read("segments/000020.pcm"))
    twenty[0] ^= 0xFF
    zipped.write_bytes(_rezip(bytes(tampered), {"segments/000020.pcm": bytes(twenty)}))
    checked = _cli(env, "excerpt-verify", str(zipped))
    assert checked.returncode == 1 and "segment 20" in checked.stdout, checked.stdout

    # An item uploaded after the fact says it was not notarised live.
    late = http.post("/v1/evidence", files=form({"case_id": CASE, "kind": "call_recording"},
                                                 wav_bytes(), "late.wav", "audio/wav"))
    assert late.status_code == 201, late.text
    said = http.get(f"/v1/evidence/{late.json()['id']}/recording").json()
    assert said["live"] is False and "after the fact" in said["note"]
    refused = _cli(env, "excerpt", late.json()["id"], "--from", "0", "--to", "1", "-o",
                   str(tmp_path / "none.zip"))
    assert refused.returncode == 1 and "recording_absent" in refused.stderr, refused.stderr
    nothing = http.get(f"/v1/evidence/{evidence_id}/recording/excerpt",
                       params={"from": "00:02:00", "to": "00:03:00"})
    assert (nothing.status_code, nothing.json()["code"]) == (422, "excerpt_range_invalid")


def test_a_recorder_killed_mid_call_leaves_an_incomplete_session_that_verifies(
        make_server: Any) -> None:
    server = make_server(recording_timeout_seconds=1.0)
    proc = _recorder(server, 60)
    assert proc.stdout is not None
    session_id = proc.stdout.readline().split()[1]
    while True:
        line = proc.stdout.readline()
        if line.startswith("sent 9"):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    http = server.admin()

    def closed() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/recordings/{session_id}").json()
        return body if body["status"] not in ("open", "closing") else None

    session = wait_until(closed, timeout=20)
    assert isinstance(session, dict) and session["status"] == "incomplete"
    arrived = session["segments"]
    assert arrived >= 10
    _anchored(http, session["evidence_id"])
    report = http.get(f"/v1/evidence/{session['evidence_id']}/recording").json()
    assert report["ok"], report["problems"]
    assert report["complete"] is False and len(report["segments"]) == arrived
    # The call record given at open ends where the last segment arrived; but the recorder
    # sent its audio 20 times faster than it could have recorded it: not live, saying why.
    statement = Statement.from_json(http.get(f"/v1/evidence/{session['evidence_id']}").json()[
        "statement_json"])
    assert statement.call is not None and report["live"] is False
    assert any("faster than real time" in r for r in report["not_live"]), report["not_live"]
    assert statement.recording is not None
    assert statement.call.ended_at == statement.recording.last_received_at
    # Nothing more is taken.
    late = http.put(f"/v1/recordings/{session_id}/segments/{arrived}",
                    content=segment_pcm(0), headers=PCM)
    assert late.status_code == 409 and late.json()["code"] == "recording_closed", late.text


def test_wrong_segments_are_refused_and_lose_nothing(make_server: Any) -> None:
    server = make_server(max_segment_bytes=40_000)
    http = server.admin()
    for body, code, field in [
            ({"kind": "notice"}, "recording_invalid", "kind"),
            ({"sample_rate": 8001}, "recording_invalid", "recording.format.sample_rate"),
            ({"call": {"ended_at": "2026-12-07T10:00:00Z"}}, "call_invalid", "call.ended_at"),
            ({"call": {"started_at": "2026-12-07T10:00:00Z", "timezone": "Asia/Shanghai",
                       "direction": "outbound", "agent_id": "A", "caller": "1",
                       "callee": "13800138000"}}, "call_number_invalid", "call.caller")]:
        refused = http.post("/v1/recordings", json={"case_id": CASE, **body})
        assert refused.status_code == 422, refused.text
        assert (refused.json()["code"], refused.json()["details"]["field"]) == (code, field)
    sid = http.post("/v1/recordings", json={"case_id": CASE}).json()["session_id"]

    def put(n: int, data: bytes) -> httpx.Response:
        return http.put(f"/v1/recordings/{sid}/segments/{n}", content=data, headers=PCM)

    first = put(0, segment_pcm(0))
    assert first.status_code == 201, first.text
    point = CHECKPOINT.verify(first.json()["checkpoint"], http.get("/v1/keys")
                              .json()).document
    assert point["segment"] == 0 and point["sha256"] == first.json()["sha256"]
    refused = [
        (put(2, segment_pcm(2)), 409, "segment_out_of_order"),
        (put(0, segment_pcm(0)), 409, "segment_duplicate"),
        (put(0, segment_pcm(5)), 409, "segment_duplicate"),
        (put(1, b"\0" * 40_002), 413, "segment_too_large"),
        (put(1, b"\0" * 3), 422, "segment_invalid"),
    ]
    for resp, status, code in refused:
        assert (resp.status_code, resp.json()["code"]) == (status, code), resp.text
        assert resp.json()["message"]
    assert refused[1][0].json()["details"]["same"] is True
    assert refused[2][0].json()["details"]["same"] is False
    assert refused[0][0].json()["details"]["expected"] == 1
    assert put(1, segment_pcm(1)).status_code == 201
    assert http.get(f"/v1/recordings/{sid}").json()["segments"] == 2

    # Another key of the same tenant can read the session but neither add its own audio to
    # it nor close it.
    made = http.post("/v1/api-keys", json={"role": "collector", "name": "desk 9"})
    assert made.status_code == 201, made.text
    other = server.client(made.json()["token"])
    assert other.get(f"/v1/recordings/{sid}").status_code == 200
    for resp in (other.put(f"/v1/recordings/{sid}/segments/2", content=segment_pcm(2),
                           headers=PCM),
                 other.post(f"/v1/recordings/{sid}/close", json={})):
        assert (resp.status_code, resp.json()["code"]) == (403, "recording_not_yours"), resp.text
    assert http.get(f"/v1/recordings/{sid}").json() | {"segments": 2, "status": "open"} == \
        http.get(f"/v1/recordings/{sid}").json()

    # A restart loses nothing: the next server on the same home takes segment 2.
    server.stop()
    again = make_server(max_segment_bytes=40_000)
    http = again.client(server.admin_key)
    assert http.put(f"/v1/recordings/{sid}/segments/2", content=segment_pcm(2),
                    headers=PCM).status_code == 201
    closed = http.post(f"/v1/recordings/{sid}/close", json={}).json()
    assert closed["status"] == "closed" and closed["segments"] == 3
    assert http.post(f"/v1/recordings/{sid}/close", json={}).json() == closed
    content = http.get(f"/v1/evidence/{closed['evidence_id']}/content").content
    assert content[44:] == segment_pcm(0) + segment_pcm(1) + segment_pcm(2)


def test_two_closers_at_once_make_one_item_and_an_empty_close_keeps_the_session(
        server: LiveServer) -> None:
    http = server.admin()
    sid = http.post("/v1/recordings", json={"case_id": "REC-2026-002"}).json()["session_id"]
    empty = http.post(f"/v1/recordings/{sid}/close", json={})
    assert (empty.status_code, empty.json()["code"]) == (409, "recording_empty")
    assert http.get(f"/v1/recordings/{sid}").json()["status"] == "open"
    for n in range(3):
        assert http.put(f"/v1/recordings/{sid}/segments/{n}", content=segment_pcm(n),
                        headers=PCM).status_code == 201
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: server.admin().post(
            f"/v1/recordings/{sid}/close", json={}).json(), range(4)))
    assert {a["status"] for a in answers} <= {"closed", "closing"}

    def closed() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/recordings/{sid}").json()
        return body if body["status"] == "closed" else None

    session = wait_until(closed)
    assert isinstance(session, dict)
    assert {a["evidence_id"] for a in answers if a["evidence_id"]} == {session["evidence_id"]}
    items = http.get("/v1/evidence", params={"case": "REC-2026-002"}).json()
    assert [i["id"] for i in items["items"]] == [session["evidence_id"]]
