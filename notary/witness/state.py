"""The witness's record: per log, the last checkpoint it cosigned, and the forks it saw.

SQLite in the witness's own directory. Checking the old size and storing the new checkpoint
happen in one ``BEGIN IMMEDIATE`` transaction, so two requests racing cannot roll the record
back (the race tlog-witness describes).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from notary.core.note import Checkpoint, Note

MAX_FORKS = 100
"""Forks kept per log: one is enough to prove misbehaviour; a cap keeps the file small."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    note BLOB NOT NULL           -- the checkpoint with the log's and our signatures
);
CREATE TABLE IF NOT EXISTS forks (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    recorded BLOB NOT NULL,      -- what we had cosigned
    offered BLOB NOT NULL        -- the validly signed checkpoint that contradicts it
);
"""


@dataclass(frozen=True)
class Fork:
    """Two checkpoints of one log, both signed by it, that cannot both be true."""

    origin: str
    seen_at: int
    reason: str
    recorded: bytes
    offered: bytes


class SizeMismatch(Exception):
    """The client's old size is not the size we last cosigned (409 with our size)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class Record:
    """The witness's database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            yield db
        finally:
            db.close()

    def latest(self, origin: str) -> Note | None:
        with self._db() as db:
            row = db.execute("SELECT note FROM latest WHERE origin = ?", (origin,)).fetchone()
        return Note.parse(row[0]) if row else None

    def advance(self, origin: str, old_size: int,
                check: Callable[[Checkpoint | None], Note]) -> Note:
        """Under one write lock: SizeMismatch unless ``old_size`` is the recorded size, then
        ``check(recorded checkpoint)`` (raises to refuse, returns the cosigned note), then the
        note is stored. Durable before it returns."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT size, note FROM latest WHERE origin = ?",
                                 (origin,)).fetchone()
                size = row[0] if row else 0
                if old_size != size:
                    raise SizeMismatch(size)
                recorded = Checkpoint.parse(Note.parse(row[1]).text) if row else None
                cosigned = check(recorded)
                db.execute("INSERT INTO latest (origin, size, note) VALUES (?, ?, ?) "
                           "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
                           "note = excluded.note",
                           (origin, Checkpoint.parse(cosigned.text).size, cosigned.encode()))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return cosigned

    def record_fork(self, origin: str, reason: str, offered: bytes) -> None:
        """Keep a contradicting checkpoint once (the same one sent again is not a new
        fork), at most :data:`MAX_FORKS` per log."""
        recorded = self.latest(origin)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            seen = db.execute("SELECT count(*), sum(offered = ?) FROM forks WHERE origin = ?",
                              (offered, origin)).fetchone()
            if seen[0] < MAX_FORKS and not seen[1]:
                db.execute("INSERT INTO forks (origin, seen_at, reason, recorded, offered) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (origin, int(time.time()), reason,
                            recorded.encode() if recorded else b"", offered))
            db.execute("COMMIT")

    def forks(self, origin: str | None = None) -> list[Fork]:
        with self._db() as db:
            rows = db.execute(
                "SELECT origin, seen_at, reason, recorded, offered FROM forks "
                + ("WHERE origin = ? " if origin else "") + "ORDER BY id",
                (origin,) if origin else ()).fetchall()
        return [Fork(*row) for row in rows]
