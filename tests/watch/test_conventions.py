"""``notary watch --once`` with each readiness convention, sidecars and both ways of finishing
a file (move, mark), against the real service; and what a client machine loads to run it."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from notary.cli.exits import Exit
from storage.db import Evidence, session
from tests.cli.conftest import client_env, run_notary
from tests.cli.test_imports import loaded_after
from tests.support import REPO, LiveServer, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]


def recording(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF....WAVEfmt " + os.urandom(4000))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def item(server: LiveServer, evidence_id: str) -> dict[str, object]:
    resp = httpx.get(f"{server.url}/v1/evidence/{evidence_id}", timeout=30,
                     headers={"Authorization": f"Bearer {server.admin_key}"})
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


def test_renamed_files_with_sidecars_are_marked_and_a_file_without_a_case_waits(
        tmp_path: Path, server: LiveServer) -> None:
    root = tmp_path / "monitor"
    sha = recording(root / "1701.wav")  # renamed from 1701.wav.part by the recorder
    (root / "1701.wav.json").write_text(json.dumps({
        "case_id": "HX-2026-1207-A", "kind": "call_recording",
        "captured_at": "2026-12-07T09:30:00+08:00", "description": "outbound call, agent 12"}))
    recording(root / "1702.wav.part")  # still being recorded: not a recording yet
    recording(root / "1703.wav")  # no sidecar, no --pattern, no --case: waits for 1703.wav.json
    run = run_notary("watch", str(root), "--ready", "rename", "--after", "mark", "--once",
                     env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.OK, run.stderr
    assert "waiting  1703.wav: no case" in run.stderr and "1703.wav.json" in run.stderr
    assert run.stdout.startswith("汇总 / summary: 1 deposited") and "1 waiting" in run.stdout

    mark = json.loads((root / "1701.wav.notarised").read_text())
    assert mark["sha256"] == sha and mark["case_id"] == "HX-2026-1207-A"
    body = item(server, mark["evidence_id"])
    statement = body["statement_json"]
    assert isinstance(statement, dict) and statement["sha256"] == sha
    assert statement["captured_at"] == "2026-12-07T09:30:00+08:00"
    assert statement["description"] == "outbound call, agent 12"
    assert (root / "1701.wav").exists() and not (root / "1703.wav.notarised").exists()

    # the sidecar arrives; a second run deposits 1703 only (1701 is marked), as JSON lines
    (root / "1703.wav.json").write_text(json.dumps({"case_id": "HX-2026-1207-A"}))
    again = run_notary("watch", str(root), "--ready", "rename", "--after", "mark", "--once",
                       "--json", env=client_env(server), cwd=tmp_path)
    assert again.returncode == Exit.OK, again.stderr
    events = [json.loads(line) for line in again.stdout.splitlines() if line.startswith("{\"")]
    deposited = [e for e in events if e["event"] == "deposited"]
    assert [e["file"] for e in deposited] == ["1703.wav"]
    assert item(server, deposited[0]["evidence_id"])["case_seq"] == 2
    summary = json.loads(again.stdout[again.stdout.index('{\n'):])
    assert summary["deposited"] == 1 and summary["failed"] == 0


def test_done_files_name_what_is_finished_and_the_pattern_gives_case_and_kind(
        tmp_path: Path, server: LiveServer) -> None:
    root = tmp_path / "monitor"
    sha = recording(root / "HX-9" / "notice" / "n1.pdf")
    (root / "HX-9" / "notice" / "n1.pdf.done").touch()
    recording(root / "HX-9" / "notice" / "n2.pdf")  # no .done yet: left for the next run
    recording(root / "HX-9" / "voicemail" / "v1.wav")  # a kind the service does not know
    (root / "HX-9" / "voicemail" / "v1.wav.done").touch()
    run = run_notary("watch", str(root), "--ready", "done", "--pattern", "{case}/{kind}/*",
                     "--settle", "1", "--poll", "0.2", "--once",
                     env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.FAILED, run.stderr  # one file failed
    assert "failed  HX-9/voicemail/v1.wav" in run.stderr and "[kind_unknown]" in run.stderr
    assert "1 deposited" in run.stdout and "1 failed" in run.stdout

    # moved with its done-file; the unfinished and the refused files stay where they are
    assert hashlib.sha256((root / ".done/HX-9/notice/n1.pdf").read_bytes()).hexdigest() == sha
    assert (root / ".done/HX-9/notice/n1.pdf.done").exists()
    assert not (root / "HX-9/notice/n1.pdf").exists()
    assert (root / "HX-9/notice/n2.pdf").exists() and (root / "HX-9/voicemail/v1.wav").exists()
    line = next(x for x in run.stderr.splitlines() if "deposited  HX-9/notice/n1.pdf" in x)
    body = item(server, line.split(" -> ")[1].split()[0])
    assert body["sha256"] == sha and body["case_id"] == "HX-9"
    statement = body["statement_json"]
    assert isinstance(statement, dict) and statement["kind"] == "notice"


def test_an_unreachable_service_is_retried_and_nothing_is_lost(tmp_path: Path,
                                                               server: LiveServer) -> None:
    root = tmp_path / "monitor"
    recording(root / "1801.wav")
    env = client_env(server) | {"NOTARY_URL": "http://127.0.0.1:9"}
    # --once stops when nothing is ready and nothing is in flight: with the service down the
    # file stays in flight, so the run is stopped by its timeout and leaves the file hashed
    with pytest.raises(subprocess.TimeoutExpired):
        run_notary("watch", str(root), "--ready", "rename", "--case", "HX-1", "--once",
                   env=env, cwd=tmp_path, timeout=8)
    assert (root / "1801.wav").exists()
    run = run_notary("watch", str(root), "--ready", "rename", "--case", "HX-1", "--once",
                     env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.OK, run.stderr
    assert "resuming 1 unfinished" in run.stderr and "1 deposited" in run.stdout
    assert (root / ".done" / "1801.wav").exists()


def test_the_watcher_loads_no_chain_or_database_library(tmp_path: Path) -> None:
    assert loaded_after("import notary.cli.watch, notary.watch.watcher", tmp_path) == []


def test_polling_for_stable_files_deposits_slow_recordings_whole(
        tmp_path: Path, server: LiveServer) -> None:
    root = tmp_path / "share"
    root.mkdir()
    recorder = subprocess.Popen(
        [sys.executable, "-m", "tests.watch.recorder", str(root), "4", "--cases", "1",
         "--chunks", "10", "--pause", "0.05"],
        cwd=REPO, env=client_env(server), stdout=subprocess.PIPE)
    wait_until(lambda: any(root.rglob("*.wav")), timeout=30, interval=0.05)
    # --settle 1 is longer than the recorder's pauses (0.05 s): no file is taken half-written
    run = run_notary("watch", str(root), "--ready", "stable", "--no-inotify", "--settle", "1",
                     "--poll", "0.2", "--pattern", "{case}/{kind}/*.wav", "--once",
                     env=client_env(server), cwd=tmp_path)
    out, _ = recorder.communicate(timeout=60)
    assert run.returncode == Exit.OK, run.stderr
    written = dict(line.split() for line in out.decode().splitlines())
    deposited = [x for x in run.stderr.splitlines() if "deposited  " in x]
    assert len(deposited) == len(written) == 4, run.stderr
    for line in deposited:
        rel = line.split("deposited  ")[1].split(" -> ")[0]
        assert item(server, line.split(" -> ")[1].split()[0])["sha256"] == written[rel]


@pytest.mark.parametrize("step", ["hashed", "answered", "moved"])
def test_a_kill_at_each_step_ends_with_each_file_deposited_once(
        tmp_path: Path, server: LiveServer, step: str) -> None:
    root = tmp_path / "monitor"
    shas = {f"{n}.wav": recording(root / f"{n}.wav") for n in range(3)}
    args = ("watch", str(root), "--ready", "rename", "--case", "HX-KILL", "--once")
    killed = run_notary(*args, env=client_env(server) | {"NOTARY_WATCH_CRASH_AT": f"{step}:2"},
                        cwd=tmp_path)
    assert killed.returncode == -9, killed.stderr
    again = run_notary(*args, env=client_env(server), cwd=tmp_path)
    assert again.returncode == Exit.OK, again.stderr
    assert "resuming 1 unfinished" in again.stderr
    journal = sqlite3.connect(root / ".notary-watch" / "journal.sqlite")
    done = dict(journal.execute("SELECT rel_path, evidence_id FROM files WHERE state = 'done'"))
    assert sorted(done) == sorted(shas) and len(set(done.values())) == 3
    for rel, evidence_id in done.items():
        body = item(server, evidence_id)
        assert body["sha256"] == shas[rel] and body["case_seq"] in (1, 2, 3)
        assert (root / ".done" / rel).exists()
    with session(server.service.engine) as s:
        assert s.exec(select(func.count()).select_from(Evidence)).one() == 3


def test_a_file_rewritten_after_it_was_hashed_is_reported_not_filed_as_the_first(
        tmp_path: Path, server: LiveServer) -> None:
    root = tmp_path / "monitor"
    recording(root / "1901.wav")
    args = ("watch", str(root), "--ready", "rename", "--case", "HX-CHG", "--once")
    killed = run_notary(*args, env=client_env(server) | {"NOTARY_WATCH_CRASH_AT": "hashed"},
                        cwd=tmp_path)
    assert killed.returncode == -9
    sha = recording(root / "1901.wav")  # rewritten while the watcher was down
    run = run_notary(*args, env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.FAILED, run.stderr
    assert "[file_changed]" in run.stderr and sha in run.stderr
    assert (root / "1901.wav").exists(), "left where it is"
    # the item the service filed from the rewritten bytes is named in the summary and journal
    filed = run.stdout.split("filed, then failed: 1901.wav -> ")[1].split()[0]
    assert item(server, filed)["sha256"] == sha
    journal = sqlite3.connect(root / ".notary-watch" / "journal.sqlite")
    assert journal.execute("SELECT evidence_id FROM files WHERE state = 'failed'").fetchall() \
        == [(filed,)]


def test_links_and_what_is_not_a_regular_file_are_skipped_never_deposited(
        tmp_path: Path, server: LiveServer) -> None:
    root = tmp_path / "monitor"
    sha = recording(root / "CASE1" / "real.wav")
    (tmp_path / "outside.txt").write_bytes(b"a key file the watcher's user may read\n")
    (root / "CASE1" / "link.wav").symlink_to("../../outside.txt")
    os.mkfifo(root / "CASE1" / "pipe.wav")
    recording(tmp_path / "elsewhere" / "far.wav")
    (root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    run = run_notary("watch", str(root), "--ready", "rename", "--case", "HX-LNK", "--once",
                     "--json", env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.OK, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{\"")]
    assert [e["file"] for e in events if e["event"] == "deposited"] == ["CASE1/real.wav"]
    skipped = {e["file"]: e["reason"] for e in events if e["event"] == "skipped"}
    assert skipped == {"CASE1/link.wav": "a symbolic link",
                       "CASE1/pipe.wav": "not a regular file"}
    assert (root / "CASE1" / "link.wav").is_symlink(), "left where it is"
    assert not (root / ".done" / "CASE1" / "link.wav").exists()
    assert (tmp_path / "elsewhere" / "far.wav").exists()
    assert not (root / ".done" / "linked").exists()
    with session(server.service.engine) as s:
        assert s.exec(select(Evidence.sha256)).all() == [sha]


def test_a_fifo_for_a_sidecar_fails_its_file_and_the_watcher_goes_on(
        tmp_path: Path, server: LiveServer) -> None:
    root = tmp_path / "monitor"
    recording(root / "a.wav")
    recording(root / "b.wav")
    os.mkfifo(root / "b.wav.json")  # nobody writes it: reading it used to block for good
    run = run_notary("watch", str(root), "--ready", "rename", "--case", "HX-FIFO", "--once",
                     env=client_env(server), cwd=tmp_path, timeout=60)
    assert run.returncode == Exit.FAILED, run.stderr
    assert "failed  b.wav: b.wav.json: a sidecar is a regular file" in run.stderr
    assert "[sidecar_invalid]" in run.stderr and "1 deposited" in run.stdout
    assert (root / ".done" / "a.wav").exists() and (root / "b.wav").exists()


def test_a_new_recording_under_a_marked_name_is_deposited_and_marked_again(
        tmp_path: Path, server: LiveServer) -> None:
    root = tmp_path / "monitor"
    first = recording(root / "2001.wav")
    args = ("watch", str(root), "--ready", "rename", "--case", "HX-MARK", "--after", "mark",
            "--once", "--json")

    def deposited() -> list[str]:
        run = run_notary(*args, env=client_env(server), cwd=tmp_path)
        assert run.returncode == Exit.OK, run.stderr
        events = [json.loads(x) for x in run.stdout.splitlines() if x.startswith("{\"")]
        return [e["sha256"] for e in events if e["event"] == "deposited"]

    assert deposited() == [first]
    mark = json.loads((root / "2001.wav.notarised").read_text())
    assert mark["sha256"] == first and mark["size"] == (root / "2001.wav").stat().st_size
    assert deposited() == []  # the marked recording is not deposited again
    second = recording(root / "2001.wav")  # the dialer reuses the name for a new call
    assert deposited() == [second]
    again = json.loads((root / "2001.wav.notarised").read_text())
    assert again["sha256"] == second and again["evidence_id"] != mark["evidence_id"]
    assert deposited() == []


def test_the_file_name_template_keeps_phone_numbers_out_of_the_statement(
        tmp_path: Path, server: LiveServer) -> None:
    root = tmp_path / "monitor"
    sha = recording(root / "13812345678_0930.wav")
    args = ("watch", str(root), "--ready", "rename", "--case", "HX-NAME", "--once", "--json")
    bad = run_notary(*args, "--file-name", "{phone}.wav", env=client_env(server), cwd=tmp_path)
    assert bad.returncode != Exit.OK and "file_name_invalid" in bad.stderr
    run = run_notary(*args, "--file-name", "{stem}-{sha8}{ext}", "--mask-digits",
                     env=client_env(server), cwd=tmp_path)
    assert run.returncode == Exit.OK, run.stderr
    line = next(x for x in run.stdout.splitlines() if '"deposited"' in x)
    body = item(server, json.loads(line)["evidence_id"])
    statement = body["statement_json"]
    assert isinstance(statement, dict)
    assert statement["file_name"] == f"###########_0930-{sha[:8]}.wav"
    assert "13812345678" not in json.dumps(body)
