"""The pure core of issue 18: segment tree proofs, the statement's ``recording`` field, signed
checkpoints and excerpt verification, without a service."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from notary.core import tlog
from notary.core.callrecord import CallRecord, Commitment
from notary.core.errors import SignatureError, StatementError
from notary.core.excerpt import CHECKPOINT, checkpoint_document, segment_file, verify_excerpt
from notary.core.merkle import statement_leaf, to_hex32
from notary.core.recording import (
    AudioFormat,
    RecordingLayout,
    chain_start,
    chain_step,
    leaf_commitment,
    parse_clock,
    wav_header,
)
from notary.core.signing import SigningKey, jwks, sign_statement
from notary.core.statement import EvidenceKind, Statement, canonical_json

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 30, 33])
def test_every_segment_proves_its_place_and_no_other(size: int) -> None:
    leaves = [os.urandom(32) for _ in range(size)]
    root = tlog.root(leaves)
    for i in range(size):
        path = tlog.inclusion_proof(i, leaves)
        tlog.verify_inclusion(leaves[i], i, size, path, root)
        if size > 1:  # the same leaf claimed at another place does not reach the root
            with pytest.raises(tlog.ProofError):
                tlog.verify_inclusion(leaves[i], (i + 1) % size, size, path, root)


def test_clock_times() -> None:
    assert parse_clock("00:01:10") == 70_000
    assert parse_clock("1:40") == 100_000
    assert parse_clock("12.25") == 12_250
    for bad in ("", "1::2", "-3", "a:b", "1:2:3:4", "٣"):
        with pytest.raises(ValueError):
            parse_clock(bad)


def _recording(segments: list[bytes], *, ended_at: str | None = None,
               kind: EvidenceKind = EvidenceKind.CALL_RECORDING,
               received: str = "2026-12-07T10:00:05Z") -> dict[str, Any]:
    """A signed recording statement and an excerpt manifest of all its segments."""
    key = SigningKey.generate()
    salts = [os.urandom(32) for _ in segments]
    leaves = [leaf_commitment(s, hashlib.sha256(d).digest()) for s, d in zip(salts, segments,
                                                                            strict=True)]
    head, points = chain_start("rs_test"), []
    for n, (leaf, data) in enumerate(zip(leaves, segments, strict=True)):
        head = chain_step(head, leaf)
        doc = checkpoint_document(session_id="rs_test", segment=n,
                                  sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                                  leaf=leaf.hex(), chain_head=head.hex(), received_at=received)
        points.append(CHECKPOINT.sign(canonical_json(doc), key))
    layout = RecordingLayout(session_id="rs_test", format=AudioFormat(sample_rate=8000),
                             sizes=tuple(len(d) for d in segments),
                             root=tlog.root(leaves).hex(), chain_head=head.hex(),
                             opened_at="2026-12-07T10:00:00Z", last_received_at=received,
                             complete=True)
    pcm = b"".join(segments)
    wav = wav_header(len(pcm), 8000, 1) + pcm
    call = None if ended_at is None else CallRecord(
        started_at="2026-12-07T17:50:00+08:00", ended_at=ended_at, timezone="Asia/Shanghai",
        direction="outbound", agent_id="A1",  # type: ignore[arg-type]
        caller=Commitment("ab" * 32), callee=Commitment("cd" * 32))
    statement = Statement(evidence_id="ev_x", case_id="C1", case_seq=1, kind=kind,
                          media_type="audio/wav", size=len(wav),
                          sha256=hashlib.sha256(wav).hexdigest(), file_name="r.wav",
                          received_at=received, submitter="apikey:1", recording=layout,
                          call=call)
    assert Statement.from_bytes(statement.canonical_bytes()) == statement
    # anchored alone: a one-leaf batch, whose root is the statement's leaf
    leaf = statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))
    anchor = {"root": to_hex32(leaf), "proof": [], "block_timestamp": 1_893_456_000}
    entries = [{"n": n, "file": segment_file(n), "salt": salts[n].hex(),
                "proof": [p.hex() for p in tlog.inclusion_proof(n, leaves)],
                "checkpoint": points[n]} for n in range(len(segments))]
    manifest = {"statement": sign_statement(statement, key), "keys": jwks([key.public_jwk()]),
                "anchor": anchor}
    return {"manifest": manifest, "entries": entries, "segments": segments,
            **_stretch(manifest, entries, segments, range(len(segments)))}


def _stretch(manifest: dict[str, Any], entries: list[dict[str, Any]], segments: list[bytes],
             chosen: range) -> dict[str, Any]:
    """The excerpt of segments ``chosen`` (200 ms each): manifest and files, with the WAV."""
    pcm = b"".join(segments[n] for n in chosen)
    files = {segment_file(n): segments[n] for n in chosen}
    files["excerpt.wav"] = wav_header(len(pcm), 8000, 1) + pcm
    return {"manifest": {**manifest, "segments": [entries[n] for n in chosen],
                         "from_ms": chosen[0] * 200, "to_ms": (chosen[-1] + 1) * 200,
                         "derived": {"file": "excerpt.wav", "from_segments": list(chosen)}},
            "files": files}


SEGMENTS = [bytes([n]) * 3200 for n in range(5)]


def test_an_excerpt_verifies_and_names_a_changed_or_moved_segment() -> None:
    made = _recording(SEGMENTS)
    report = verify_excerpt(made["manifest"], made["files"])
    assert report.ok and report.live and [s["start_ms"] for s in report.segments] == [
        0, 200, 400, 600, 800]
    files = {**made["files"], segment_file(3): b"\x09" + SEGMENTS[3][1:]}
    assert any("segment 3" in p for p in verify_excerpt(made["manifest"], files).problems)
    files = {**made["files"], segment_file(1): SEGMENTS[2], segment_file(2): SEGMENTS[1]}
    problems = verify_excerpt(made["manifest"], files).problems
    assert any("segment 1" in p for p in problems) and any("segment 2" in p for p in problems)
    # Only some segments: the others are leaves in the paths, and it still verifies.
    part = _stretch(made["manifest"], made["entries"], SEGMENTS, range(2, 4))
    assert verify_excerpt(part["manifest"], part["files"]).ok


def test_an_excerpt_whose_unsigned_parts_lie_is_refused() -> None:
    """The manifest is not signed: a WAV spliced, re-ordered or repeated from the segments,
    segments that are not the stretch the range names, files nobody accounts for, a missing
    WAV or anchor, and malformed values are each a problem, never a pass or a crash."""
    made = _recording(SEGMENTS)
    manifest, files = made["manifest"], made["files"]

    def problems(change: dict[str, Any], new_files: dict[str, bytes] | None = None) -> list[str]:
        report = verify_excerpt({**manifest, **change}, new_files or files)
        assert not report.ok
        return report.problems

    def derived(order: list[int]) -> dict[str, Any]:
        pcm = b"".join(SEGMENTS[n] for n in order)
        return {"derived": {"file": "excerpt.wav", "from_segments": order}}, {
            **files, "excerpt.wav": wav_header(len(pcm), 8000, 1) + pcm}

    for order in ([0, 1, 4], [4, 3, 2, 1, 0], [1, 1, 1], []):  # spliced, reversed, repeated
        change, new_files = derived(order)
        assert any("derived WAV" in p for p in problems(change, new_files))
    assert any("derived WAV" in p for p in problems({"derived": None}))
    skipped = [manifest["segments"][n] for n in (0, 1, 3, 4)]  # a gap in the stretch
    assert any("not the ones that cover" in p for p in problems({"segments": skipped}))
    assert any("not the ones that cover" in p for p in problems({"from_ms": 0, "to_ms": 400}))
    assert any("not the ones that cover" in p for p in problems({"segments": []}))
    assert any("does not account" in p for p in problems({}, {**files, "extra.wav": b"x"}))
    assert any("not anchored" in p for p in problems({"anchor": None}))
    for bad in ({"segments": 5}, {"segments": [[1]]}, {"from_ms": "0"},
                {"derived": {"file": "excerpt.wav", "from_segments": [[1]]}}):
        assert problems(bad)


def test_segments_checkpointed_after_the_call_ended_are_not_live() -> None:
    during = _recording(SEGMENTS, ended_at="2026-12-07T18:00:30+08:00")
    assert verify_excerpt(during["manifest"], during["files"]).live
    late = _recording(SEGMENTS, ended_at="2026-12-07T17:58:00+08:00")
    report = verify_excerpt(late["manifest"], late["files"])
    assert report.ok and not report.live
    assert not any(s["during_call"] for s in report.segments)


def test_a_checkpoint_is_signed_and_strict() -> None:
    key = SigningKey.generate()
    doc = checkpoint_document(session_id="rs_a", segment=0, sha256="00" * 32, size=2,
                              leaf="11" * 32, chain_head="22" * 32,
                              received_at="2026-12-07T10:00:00Z")
    token = CHECKPOINT.sign(canonical_json(doc), key)
    assert CHECKPOINT.verify(token, jwks([key.public_jwk()])).document == doc
    with pytest.raises(SignatureError):
        CHECKPOINT.verify(token, jwks([SigningKey.generate().public_jwk()]))


def test_the_recording_field_is_validated_and_only_for_call_recordings() -> None:
    with pytest.raises(StatementError) as info:
        _recording(SEGMENTS, kind=EvidenceKind.NOTICE)
    assert info.value.details["field"] == "recording"
    with pytest.raises(StatementError) as info:
        RecordingLayout(session_id="rs", format=AudioFormat(sample_rate=8000), sizes=(3,),
                        root="00" * 32, chain_head="00" * 32, opened_at="2026-12-07T10:00:00Z",
                        last_received_at="2026-12-07T10:00:00Z", complete=True)
    assert info.value.details["field"] == "recording.sizes[0]"
    with pytest.raises(StatementError):
        AudioFormat(sample_rate=8001)
