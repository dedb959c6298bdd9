"""Issue 18 attack review: excerpts a debtor's lawyer or a dishonest agency could hand to
``notary excerpt-verify``. Each test states what a verifier must do and fails today."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from notary.core.callrecord import CallRecord, Commitment
from notary.core.excerpt import (
    CHECKPOINT,
    EXCERPT_SCHEMA,
    read_excerpt,
    segment_file,
    verify_excerpt,
)
from notary.core.jws import jws_payload
from notary.core.merkle import statement_leaf, to_hex32
from notary.core.signing import SigningKey, jwks, sign_statement
from notary.core.statement import Statement
from tests.recording.test_recording_core import SEGMENTS, _recording
from tests.support import REPO

#: The retired and the current key of tests/vectors/trust-root/valid.json (derived from
#: public labels): the first valid until 2026-06-30, the second from then on.
OLD = SigningKey.from_seed(hashlib.sha256(
    b"notary trust-root vector key #1 (public, retired)").digest())
CURRENT = SigningKey.from_seed(hashlib.sha256(
    b"notary trust-root vector key #2 (public, current)").digest())

pytestmark = pytest.mark.unit


def _zip(manifest: dict[str, Any], members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("excerpt.json", json.dumps({**manifest, "schema": EXCERPT_SCHEMA}))
        for name, data in members:
            zf.writestr(name, data)
    return out.getvalue()


def _genuine() -> tuple[dict[str, Any], dict[str, bytes]]:
    made = _recording(SEGMENTS)
    return made["manifest"], made["files"]


def _resigned(manifest: dict[str, Any], statement: Statement, key: SigningKey
              ) -> dict[str, Any]:
    """``manifest`` with ``statement`` and every checkpoint signed by ``key`` (and its JWKS),
    anchored alone (a one-leaf batch)."""
    entries = [{**e, "checkpoint": CHECKPOINT.sign(jws_payload(e["checkpoint"]), key)}
               for e in manifest["segments"]]
    leaf = statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))
    return {**manifest, "statement": sign_statement(statement, key), "segments": entries,
            "keys": jwks([key.public_jwk()]),
            "anchor": {"root": to_hex32(leaf), "proof": [], "block_timestamp": 1_893_456_000}}


def test_a_zip_with_two_members_of_one_name_is_refused() -> None:
    """Python's zipfile reads the *last* member of a name; other tools show the first. An
    excerpt whose derived WAV (or a segment) appears twice, the first one forged, verifies."""
    manifest, files = _genuine()
    forged = files["excerpt.wav"][:44] + b"\x7f" * (len(files["excerpt.wav"]) - 44)
    members = [("excerpt.wav", forged), *files.items()]
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = _zip(manifest, members)
    assert read_excerpt(data).problems, "a ZIP naming one member twice verified"


@pytest.mark.parametrize("name", ["../" * 3 + "tmp/evil.pcm", "/etc/evil.pcm", "..\\evil.pcm"])
def test_member_names_that_escape_the_folder_are_refused(name: str) -> None:
    """The manifest chooses the segments' file names; any name is accepted as long as the ZIP
    holds it, so a 'valid' excerpt can carry members that extract outside the folder."""
    manifest, files = _genuine()
    entries = [dict(e) for e in manifest["segments"]]
    entries[0]["file"] = name
    files = {**files}
    files[name] = files.pop(segment_file(0))
    report = verify_excerpt({**manifest, "segments": entries}, files)
    assert not report.ok, f"an excerpt with a member named {name!r} verified"


def test_a_deeply_nested_excerpt_json_is_a_report_not_a_crash() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("excerpt.json", "[" * 200_000 + "]" * 200_000)
    data = out.getvalue()
    report = read_excerpt(data)  # RecursionError escapes today
    assert not report.ok


def test_an_encrypted_or_unknown_compression_member_is_a_report_not_a_crash() -> None:
    manifest, files = _genuine()
    data = bytearray(_zip(manifest, list(files.items())))
    at = data.rfind(b"PK\x01\x02")  # the last member's central directory entry: encrypted
    data[at + 8] |= 1
    report = read_excerpt(bytes(data))  # RuntimeError escapes today
    assert not report.ok


def test_an_overflowing_block_timestamp_is_a_report_not_a_crash() -> None:
    manifest, files = _genuine()
    anchor = {**manifest["anchor"], "block_timestamp": float("inf")}  # JSON 1e400
    report = verify_excerpt({**manifest, "anchor": anchor}, files)  # OverflowError today
    assert not report.ok


def _excerpt_verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "notary.cli", "excerpt-verify", str(path), "--trust-root",
         str(REPO / "tests/vectors/trust-root/valid.json"), *extra],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=False)


def test_an_anchor_the_excerpt_makes_up_is_not_reported_as_anchored(tmp_path: Path) -> None:
    """The anchor is unsigned and, offline, checked against nothing but the statement: a
    one-leaf 'batch' whose root is the statement's own leaf, with any block time and tx hash,
    is consistent, and its block time is the forger's choice. So without --rpc the report
    says the anchor was not checked against a chain and, even with a pinned trust root whose
    current key signed everything, the exit is 5 (not established), as ``notary verify``'s.

    (Adjusted from asserting that the core report is not ``ok`` with that block time: the
    core cannot tell a made-up anchor from a genuine one offline; what it must not do is
    present it as the chain's word, which ``chain_checked: false`` and exit 5 now say.)"""
    made = _recording(SEGMENTS)
    statement = Statement.from_bytes(jws_payload(made["manifest"]["statement"]))
    forged = _resigned(made["manifest"], statement, CURRENT)
    forged["anchor"] = {**forged["anchor"], "block_timestamp": 1_900_000_000,
                        "tx_hash": "0x" + "ab" * 32}
    report = verify_excerpt(forged, made["files"])
    assert report.to_json()["chain_checked"] is False
    path = tmp_path / "made-up.zip"
    path.write_bytes(_zip(forged, list(made["files"].items())))
    done = _excerpt_verify(path)
    assert done.returncode == 5, done.stdout + done.stderr
    assert "the anchor was not checked against a chain" in done.stdout
    assert "锚定未经链上核对" in done.stdout
    said = json.loads(_excerpt_verify(path, "--json").stdout)
    assert said["ok"] and said["chain_checked"] is False and said["issuer_established"]


def test_segments_checkpointed_before_the_call_started_are_not_during_the_call() -> None:
    """The call record (dialer's clock) says 10:00:30-10:01:00 UTC; every segment was received
    at 10:00:05, before the call began, so the audio cannot be that call's. The report still
    says ``during_call`` for each segment and ``live``."""
    made = _recording(SEGMENTS, ended_at="2026-12-07T18:01:00+08:00")
    manifest = made["manifest"]
    # _recording's call starts at 17:50 +08:00; the same statement with a call that starts
    # after the segments arrived, signed (with its checkpoints) by one key.
    statement = Statement.from_bytes(jws_payload(manifest["statement"]))
    call = CallRecord(
        started_at="2026-12-07T18:00:30+08:00", ended_at="2026-12-07T18:01:00+08:00",
        timezone="Asia/Shanghai", direction="outbound", agent_id="A1",  # type: ignore[arg-type]
        caller=Commitment("ab" * 32), callee=Commitment("cd" * 32))
    forged = _resigned(manifest, replace(statement, call=call), SigningKey.generate())
    report = verify_excerpt(forged, made["files"])
    assert report.ok, report.problems
    assert not any(s["during_call"] for s in report.segments), (
        "segments received before the call started are said to be during the call")
    assert not report.live


def test_a_key_the_pinned_trust_root_retired_cannot_sign_a_valid_excerpt(tmp_path: Path) -> None:
    """``notary verify`` checks each signature's key against its validity in the trust root
    (pinning._keys_check); ``excerpt-verify --trust-root`` hands every key the trust root ever
    listed to the verifier as a bare JWKS. So a key retired in June (say because it leaked)
    signs a statement and checkpoints dated December, and the excerpt is VALID, exit 0."""
    made = _recording(SEGMENTS)  # statement and checkpoints dated 2026-12-07
    statement = Statement.from_bytes(jws_payload(made["manifest"]["statement"]))
    forged = _resigned(made["manifest"], statement, OLD)  # not_after 2026-06-30
    path = tmp_path / "retired.zip"
    path.write_bytes(_zip(forged, list(made["files"].items())))
    done = _excerpt_verify(path)
    assert done.returncode == 1, (
        f"exit {done.returncode}: an excerpt signed by a retired key verified\n{done.stdout}")
    assert "2026-06-30" in done.stdout  # the period it was used outside of is named


@pytest.mark.parametrize("extra", ["EXCERPT.WAV", "Excerpt.json", "segments/", "segments/0.pcm",
                                   "segments/000000.PCM", "segments\\000000.pcm",
                                   "segments/../000000.pcm", "notes.txt"])
def test_a_zip_member_no_excerpt_has_is_refused(extra: str) -> None:
    """Only ``excerpt.json``, ``excerpt.wav`` and ``segments/NNNNNN.pcm``, each once: a name
    differing only by case, a directory, or any other name is refused before anything is
    verified."""
    manifest, files = _genuine()
    data = _zip(manifest, [*files.items(), (extra, b"x")])
    report = read_excerpt(data)
    assert not report.ok and "cannot be read" in report.problems[0], report.problems


def test_an_oversized_excerpt_json_is_refused_unparsed() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("excerpt.json", b'{"schema": "' + b"a" * (17 * 1024 * 1024) + b'"}')
    report = read_excerpt(out.getvalue())
    assert not report.ok and "larger than allowed" in report.problems[0], report.problems
