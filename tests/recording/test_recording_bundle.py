"""Issue 18 without our server: the proof bundle of an item notarised while recorded carries
each segment's salt and checkpoint (``items/NNN/recording.json``), and ``notary verify`` checks
every segment offline, out of the bundled WAV: per segment when it existed at the latest, and a
changed or moved segment, a checkpoint not signed by the deployment or later than the anchor
fails by its number. Real HTTP, a real chain, the real recorder client; segments are sent
back to back (a one-minute call in 2-second segments takes well under a second to stream)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from notary.bundles.check import verify_bundle_file
from notary.chain.embedded import EmbeddedChain
from notary.cli.recording import chain_asker
from notary.core.bundle import RECORDING_NAME, KeyPeriod, parse_key_history
from notary.core.bundle.recording import RECORDING_SCHEMA, recording_check
from notary.core.excerpt import CHECKPOINT, read_excerpt
from notary.core.jws import jws_payload
from notary.core.signing import SigningKey
from notary.core.statement import Statement, canonical_json
from notary.recorder import RecordingStream
from tests.bundle.repack import rezip
from tests.recording.recorder import segment_pcm
from tests.support import REPO, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "REC-BUNDLE-1"
ITEM = "items/001"
WAV = f"{ITEM}/original/call.wav"
SEGMENT = 32000  # 2 s of 8 kHz mono 16-bit PCM


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _record(server: LiveServer, segments: int, *, close: bool = True) -> str:
    """Stream ``segments`` segments through the recorder client; the session id. Without
    ``close`` the recorder vanishes as a killed one does (no more segments, no close)."""
    call = {"started_at": _now(), "timezone": "Asia/Shanghai", "direction": "outbound",
            "agent_id": "A-7", "caller": "021-5050-1234", "callee": "138 0013 8000"}
    with RecordingStream(server.url, server.admin_key, case_id=CASE, call=call,
                         file_name="call.wav") as stream:
        for i in range(segments):
            stream.send(segment_pcm(i))
        if close:
            stream.close(call={"ended_at": _now()})
        return stream.session_id


def _closed(http: httpx.Client, session_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/v1/recordings/{session_id}").json()
        return body if body["status"] not in ("open", "closing") else None

    return wait_until(done, timeout=20)  # type: ignore[return-value]


def _bundle(http: httpx.Client, evidence_id: str, **params: str) -> bytes:
    def anchored() -> bool:
        return bool(http.get(f"/v1/evidence/{evidence_id}").json()["status"] == "anchored")

    wait_until(anchored, timeout=30)
    resp = http.get(f"/v1/evidence/{evidence_id}/bundle", params=params)
    assert resp.status_code == 200, resp.text
    return resp.content


def _verify(data: bytes) -> dict[str, Any]:
    report: dict[str, Any] = verify_bundle_file(io.BytesIO(data)).to_json()
    return report


def _check(report: dict[str, Any], name: str = "items[0].recording") -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


def _cli(tmp_path: Path, data: bytes, *args: str,
         command: str = "verify") -> subprocess.CompletedProcess[str]:
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    return subprocess.run([sys.executable, "-m", "notary.cli", command, str(path), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def _member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def test_a_recording_bundle_proves_each_segment_offline_and_names_a_changed_one(
        server: LiveServer, anvil: EmbeddedChain, tmp_path: Path) -> None:
    http = server.admin()
    evidence_id = _closed(http, _record(server, 30))["evidence_id"]
    data = _bundle(http, evidence_id)
    document = json.loads(_member(data, f"{ITEM}/{RECORDING_NAME}"))
    assert document["schema"] == RECORDING_SCHEMA and len(document["segments"]) == 30
    assert [(e["n"], e["offset"], e["size"]) for e in document["segments"][:2]] == [
        (0, 44, SEGMENT), (1, 44 + SEGMENT, SEGMENT)]
    manifest = json.loads(_member(data, "manifest.json"))
    assert f"{ITEM}/{RECORDING_NAME}" in {f["path"] for f in manifest["files"]}
    assert f"`{RECORDING_NAME}`" in _member(data, "VERIFY.md").decode()

    # notary verify, pinned to the deployment, with a chain node: valid, with the 30
    # segments' times.
    out = _cli(tmp_path, data, "--trust-root", server.url, "--rpc", anvil.url)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [line for line in out.stdout.splitlines() if "existed by" in line]
    assert len(lines) == 30 and "segment   29" in lines[-1], out.stdout
    # Streamed back to back (60 s of audio in about a second): not live, saying why.
    assert "完整 complete" in out.stdout and "非实时 NOT live" in out.stdout
    assert "faster than real time" in out.stdout and "longer than the call" in out.stdout
    report = _verify(data)
    assert _check(report)["status"] == "pass", _check(report)
    facts = report["facts"]["items"][0]["recording"]
    assert facts["bytes_checked"] and facts["complete"] and facts["live"] is False
    assert any("faster than real time" in r for r in facts["not_live"]), facts["not_live"]
    anchored_at = report["facts"]["items"][0]["anchor"]["block_timestamp"]
    times = [s["existed_by"] for s in facts["segments"]]
    assert len(times) == 30 and times == sorted(times)
    assert facts["anchored_at"] == anchored_at

    # One byte of segment 7 changed in the WAV (nothing re-signed: nobody else can).
    wav = bytearray(_member(data, WAV))
    assert bytes(wav[44 + 7 * SEGMENT:44 + 8 * SEGMENT]) == segment_pcm(7)
    wav[44 + 7 * SEGMENT + 100] ^= 1
    out = _cli(tmp_path, rezip(data, {WAV: bytes(wav)}))
    assert out.returncode == 1, out.stdout
    assert "segment 7: " in out.stdout and "segment 6: " not in out.stdout, out.stdout
    # Segments 3 and 4 swapped: both are named, and no other.
    wav = bytearray(_member(data, WAV))
    three, four = (slice(44 + n * SEGMENT, 44 + (n + 1) * SEGMENT) for n in (3, 4))
    wav[three], wav[four] = wav[four], wav[three]
    reason = _check(_verify(rezip(data, {WAV: bytes(wav)})))["reason"]
    named = {n for n in range(30) if f"segment {n}: " in reason}
    assert named == {3, 4}, reason

    # A checkpoint signed by another key than the deployment's fails by its number.
    forged = json.loads(json.dumps(document))
    forged["segments"][12]["checkpoint"] = CHECKPOINT.sign(
        jws_payload(document["segments"][12]["checkpoint"]), SigningKey.generate())
    check = _check(_verify(rezip(data, {f"{ITEM}/{RECORDING_NAME}": canonical_json(forged)})))
    assert check["status"] == "fail" and "segment 12: " in check["reason"], check
    assert {n for n in range(30) if f"segment {n}: " in check["reason"]} == {12}
    # A checkpoint whose key (the deployment's own) was retired before it signed fails too.
    statement = Statement.from_bytes(jws_payload(_member(data, f"{ITEM}/statement.jws")
                                                 .decode()))
    keys, periods = parse_key_history(_member(data, "keys/jwks.json"))
    kid = next(iter(periods))
    retired = {kid: KeyPeriod(kid, periods[kid].valid_from, statement.recording.opened_at)}
    check, _ = recording_check(ITEM, _member(data, f"{ITEM}/{RECORDING_NAME}"), statement,
                               keys, None, None, shredded=False, periods=retired)
    assert check.status.value == "fail" and "segment 0: " in check.reason, check
    assert "which is valid from" in check.reason
    # Its layout as recording.json states it must be the statement's.
    moved_doc = json.loads(json.dumps(document))
    moved_doc["segments"][5]["offset"] += 2
    check = _check(_verify(rezip(data, {f"{ITEM}/{RECORDING_NAME}": canonical_json(moved_doc)})))
    assert check["status"] == "fail" and "segments[5]" in check["reason"], check
    # Checkpoints later than the anchor (an anchor record claiming an earlier block) fail.
    anchor = json.loads(_member(data, f"{ITEM}/anchor.json"))
    anchor["block_timestamp"] = anchored_at - 3600
    check = _check(_verify(rezip(data, {f"{ITEM}/anchor.json": canonical_json(anchor)})))
    assert "segment 0: " in check["reason"] and "later than the anchor" in check["reason"]

    # An excerpt, checked against the chain: its anchor's root is recorded there (item 4).
    cut = http.get(f"/v1/evidence/{evidence_id}/recording/excerpt",
                   params={"from": "00:00:10", "to": "00:00:14"})
    assert cut.status_code == 200, cut.text
    out = _cli(tmp_path, cut.content, "--trust-root", server.url, "--rpc", anvil.url,
               command="excerpt-verify")
    assert out.returncode == 0 and "the anchor is recorded on chain" in out.stdout, out.stdout
    ask = chain_asker(anvil.url)
    assert read_excerpt(cut.content, ask=ask).to_json()["chain_checked"] is True
    # ... and one claiming its (genuine) root in a registry that never recorded it fails.
    with zipfile.ZipFile(io.BytesIO(cut.content)) as zf:
        claimed = json.loads(zf.read("excerpt.json"))
    claimed["anchor"]["contract"] = "0x" + "11" * 20
    moved = rezip(cut.content, {"excerpt.json": json.dumps(claimed).encode()})
    problems = read_excerpt(moved, ask=ask).problems
    assert any("does not record the root" in p for p in problems), problems
    assert read_excerpt(moved).ok  # offline, the chain is not asked: nothing to see

    # Hashes only: the checkpoints are checked against the statement's tree and chain, and
    # the segments' bytes are said not to be.
    hashes_only = _bundle(http, evidence_id, hashes_only="true")
    assert _member(hashes_only, f"{ITEM}/{RECORDING_NAME}") == _member(
        data, f"{ITEM}/{RECORDING_NAME}")
    report = _verify(hashes_only)
    check = _check(report)
    assert check["status"] == "pass" and "NOT checked" in check["reason"], check
    assert report["facts"]["items"][0]["recording"]["bytes_checked"] is False
    assert len(report["facts"]["items"][0]["recording"]["segments"]) == 30


def test_a_killed_recorders_item_verifies_for_what_arrived_and_says_incomplete(
        make_server: Any, tmp_path: Path) -> None:
    server = make_server(recording_timeout_seconds=1.0)
    http = server.admin()
    session = _closed(http, _record(server, 10, close=False))
    assert session["status"] == "incomplete" and session["segments"] == 10
    data = _bundle(http, session["evidence_id"])
    report = _verify(data)
    assert report["result"] == "not_established", report  # nothing failed; not pinned
    check = _check(report)
    assert check["status"] == "pass" and "INCOMPLETE" in check["reason"], check
    facts = report["facts"]["items"][0]["recording"]
    assert facts["complete"] is False and len(facts["segments"]) == 10
    shown = _cli(tmp_path, data)
    assert shown.returncode == 5 and "不完整 INCOMPLETE" in shown.stdout, shown.stdout
    assert sum("existed by" in line for line in shown.stdout.splitlines()) == 10
