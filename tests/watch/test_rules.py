"""The watcher's rules on their own: path patterns, sidecars, which names are recordings."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from notary.core.errors import InputError
from notary.localfiles import open_regular
from notary.watch.rules import (
    MAX_SIDECAR_BYTES,
    PathPattern,
    check_file_name_template,
    file_name_for,
    is_candidate,
    metadata_for,
    read_sidecar,
)

pytestmark = pytest.mark.unit

@pytest.mark.parametrize(("pattern", "path", "found"), [
    ("{case}/{kind}/*.wav", "HX-2026-7/call_recording/1701.wav",
     {"case": "HX-2026-7", "kind": "call_recording"}),
    ("{case}/{kind}/*.wav", "HX-2026-7/call_recording/1701.mp3", None),
    ("{case}/{kind}/*.wav", "HX-2026-7/sub/call_recording/1701.wav", None),
    ("{case}/*.wav", "HX-1/a.b.wav", {"case": "HX-1"}),
    ("{case}_*.wav", "HX-1_20261207_0930.wav", {"case": "HX-1"}),  # up to the first _
    ("{case}__*.wav", "HX-1_x__20261207.wav", {"case": "HX-1_x"}),
    ("**/*.wav", "a/b/c/d.wav", {}),
    ("**/*.wav", "d.wav", {}),
    ("q?.wav", "q1.wav", {}),
    ("q?.wav", "q12.wav", None),
    ("calls/{case}.wav", "calls/C+1.wav", {"case": "C+1"}),  # regex characters are literal
    ("calls/{case}.wav", "callsX/C1.wav", None),
])
def test_a_pattern_selects_files_and_names_their_case_and_kind(
        pattern: str, path: str, found: dict[str, str] | None) -> None:
    assert PathPattern.parse(pattern).match(path) == found


@pytest.mark.parametrize("pattern", ["", "/abs/{case}/*.wav", "{case}/{case}.wav",
                                     "{who}/*.wav", "{case/*.wav", "x}/*.wav", r"a\b"])
def test_a_bad_pattern_is_refused_with_its_reason(pattern: str) -> None:
    with pytest.raises(InputError) as err:
        PathPattern.parse(pattern)
    assert err.value.code == "pattern_invalid"


@pytest.mark.parametrize(("name", "candidate"), [
    ("1701.wav", True), ("1701.wav.part", False), ("1701.wav.tmp", False),
    ("1701.wav.done", False), ("1701.wav.json", False), ("1701.wav.notarised", False),
    (".hidden.wav", False),
])
def test_the_conventions_own_files_are_never_recordings(name: str, candidate: bool) -> None:
    assert is_candidate(name) is candidate


def test_metadata_takes_the_sidecar_over_the_pattern_over_the_flags() -> None:
    found = {"case": "FROM-PATH", "kind": "notice"}
    side = {"case_id": "FROM-SIDECAR", "description": "outbound call"}
    assert metadata_for("x.wav", found, side, case="FLAG", kind="other") == {
        "case_id": "FROM-SIDECAR", "kind": "notice", "description": "outbound call"}
    assert metadata_for("x.wav", found, None, case="FLAG", kind="other") == {
        "case_id": "FROM-PATH", "kind": "notice"}
    assert metadata_for("x.wav", None, None, case="FLAG", kind=None) == {
        "case_id": "FLAG", "kind": "call_recording"}
    assert metadata_for("x.wav", None, None, case=None, kind="notice") is None
    with pytest.raises(InputError) as err:
        metadata_for("x.wav", {"case": "C", "kind": "voicemail"}, None, case=None, kind=None)
    assert err.value.code == "kind_unknown"


def test_a_sidecar_is_read_once_it_is_whole_json(tmp_path: Path) -> None:
    side = tmp_path / "1701.wav.json"
    assert read_sidecar(side) is None  # not there yet
    side.write_text('{"case_id": "HX-1", "ki')
    assert read_sidecar(side) is None  # being written
    side.write_text(json.dumps({"case_id": "HX-1", "kind": "call_recording",
                                "captured_at": "2026-12-07T09:30:00+08:00"}))
    assert read_sidecar(side) == {"case_id": "HX-1", "kind": "call_recording",
                                  "captured_at": "2026-12-07T09:30:00+08:00"}
    for bad in ('["HX-1"]', '{"case": "HX-1"}', '{"case_id": 7}'):
        side.write_text(bad)
        with pytest.raises(InputError) as err:
            read_sidecar(side)
        assert err.value.code == "sidecar_invalid"


def test_open_regular_opens_no_link_and_nothing_but_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_bytes(b"secret")
    (tmp_path / "link.wav").symlink_to(tmp_path / "key.pem")
    os.mkfifo(tmp_path / "pipe.wav")
    for name in ("link.wav", "pipe.wav"):
        with pytest.raises(InputError) as err:
            open_regular(tmp_path / name, nonblock=True)
        assert err.value.code == "file_not_regular"
    with open_regular(tmp_path / "key.pem") as fh:
        assert fh.read() == b"secret"


@pytest.fixture
def no_hang() -> Iterator[None]:
    """A read that blocks (a FIFO without a writer) fails the test instead of hanging it."""
    def hung(_signum: int, _frame: object) -> None:
        raise TimeoutError("blocked reading a sidecar")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_sidecar_that_is_not_a_small_regular_file_fails_its_file_at_once(
        tmp_path: Path, no_hang: None) -> None:
    os.mkfifo(tmp_path / "fifo.wav.json")  # no writer: reading it used to block for good
    (tmp_path / "zero.wav.json").symlink_to("/dev/zero")  # used to be read whole
    (tmp_path / "dir.wav.json").mkdir()
    (tmp_path / "big.wav.json").write_bytes(b" " * (MAX_SIDECAR_BYTES + 1))
    (tmp_path / "case.json").write_text('{"case_id": "HX-1"}')
    (tmp_path / "link.wav.json").symlink_to(tmp_path / "case.json")
    for name in ("fifo", "zero", "dir", "big", "link"):
        with pytest.raises(InputError) as err:
            read_sidecar(tmp_path / f"{name}.wav.json")
        assert err.value.code == "sidecar_invalid", name


SHA = "3f9a0c41" + "0" * 56


@pytest.mark.parametrize(("template", "name", "mask", "recorded"), [
    ("{name}", "13812345678_0930.wav", False, "13812345678_0930.wav"),  # the default
    ("{name}", "13812345678_0930.wav", True, "###########_0930.wav"),
    ("{stem}-{sha8}{ext}", "out_02161234567.wav", True, "out_###########-3f9a0c41.wav"),
    ("{sha8}{ext}", "13812345678.wav", False, "3f9a0c41.wav"),
    ("{stem}", "call.1234567", True, "call"),  # the last dot starts the extension
    ("{stem}{ext}", "README", False, "README"),
    ("{name}", "agent_123456_20261207.wav", True, "agent_123456_########.wav"),  # 6 stay
])
def test_the_recorded_file_name_is_made_from_the_template(
        template: str, name: str, mask: bool, recorded: str) -> None:
    assert file_name_for(check_file_name_template(template), name, SHA,
                         mask_digits=mask) == recorded


@pytest.mark.parametrize("template", ["", "{phone}", "{0}", "{}", "{name!r}", "{sha8:>9}",
                                      "a/{name}", "{name", "{name.real}"])
def test_a_bad_file_name_template_is_refused(template: str) -> None:
    with pytest.raises(InputError) as err:
        check_file_name_template(template)
    assert err.value.code == "file_name_invalid"
