"""The journal's state machine: only its transitions, each durable, one open row per path."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from notary.core.errors import InputError
from notary.watch.journal import TRANSITIONS, Journal, JournalError

pytestmark = pytest.mark.unit


def test_a_file_goes_seen_hashing_hashed_deposited_done_and_a_reopened_journal_has_it(
        tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.sqlite"
    journal = Journal(path)
    e = journal.add("C1/call_recording/1.wav")
    assert (e.state, e.sha256, e.evidence_id) == ("seen", None, None)
    assert journal.add("C1/call_recording/1.wav").id == e.id  # one open row per path
    e = journal.move(e, "hashing")
    e = journal.move(e, "hashed", sha256="ab" * 32, size=12, idempotency_key="watch-k",
                     metadata={"case_id": "C1", "kind": "call_recording"})
    journal.close()

    journal = Journal(path)  # a restart reads what was committed
    (e,) = journal.unfinished()
    assert (e.state, e.sha256, e.size, e.idempotency_key) == ("hashed", "ab" * 32, 12, "watch-k")
    assert e.metadata == {"case_id": "C1", "kind": "call_recording"}
    e = journal.move(e, "deposited", evidence_id="ev_" + "0" * 32, replayed=False)
    e = journal.move(e, "done")
    assert journal.unfinished() == [] and journal.counts() == {"done": 1}
    again = journal.add("C1/call_recording/1.wav")  # the same name later: a new row
    assert again.id != e.id and again.state == "seen"
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_second_watcher_on_the_same_journal_is_refused_until_the_first_stops(
        tmp_path: Path) -> None:
    first = Journal(tmp_path / "journal.sqlite")
    with pytest.raises(InputError) as err:
        Journal(tmp_path / "journal.sqlite")
    assert err.value.code == "watch_running"
    first.close()
    Journal(tmp_path / "journal.sqlite").close()


@pytest.mark.parametrize(("start", "to"), [
    (start, to) for start in TRANSITIONS for to in TRANSITIONS if to not in TRANSITIONS[start]])
def test_every_other_move_is_refused(tmp_path: Path, start: str, to: str) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    path_to = {"seen": [], "hashing": ["hashing"], "hashed": ["hashing", "hashed"],
               "deposited": ["hashing", "hashed", "deposited"],
               "done": ["hashing", "hashed", "deposited", "done"], "failed": ["failed"]}
    e = journal.add("a.wav")
    for step in path_to[start]:
        e = journal.move(e, step)
    with pytest.raises(JournalError):
        journal.move(e, to)
    assert journal.entries()[0].state == start


def test_a_stale_entry_cannot_move_a_row_twice(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    e = journal.add("a.wav")
    journal.move(e, "hashing")
    with pytest.raises(JournalError):
        journal.move(e, "hashing")  # e still says "seen": two workers, or a bug


def test_failed_keeps_its_reason_and_a_retry_clears_it(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    e = journal.move(journal.add("a.wav"), "failed", error="kind_unknown: voicemail")
    assert e.error == "kind_unknown: voicemail"
    assert journal.move(e, "seen").error is None
