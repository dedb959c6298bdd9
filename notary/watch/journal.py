"""The watcher's journal: what it has done with each file, durable before it acts on it.

A SQLite file in the state directory, in WAL mode with ``synchronous=FULL`` (every commit is on
disk when it returns). A file's row moves through

    seen -> hashing -> hashed -> deposited -> done
    (any state but done) -> failed;  failed -> seen and hashing -> seen (retried)

``hashed`` fixes the SHA-256, the metadata and the Idempotency-Key before anything is sent, so
a restart after a kill -9 sends the very same request again and the service answers the first
item (never a second one); ``deposited`` holds the evidence id before the file is moved or
marked, so a restart only finishes it. At most one row per path is not ``done`` (a partial
unique index): the done rows are the history.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notary.core.errors import CONFLICT, InputError, NotaryError

STATES = ("seen", "hashing", "hashed", "deposited", "done", "failed")
TRANSITIONS: dict[str, frozenset[str]] = {
    "seen": frozenset({"hashing", "failed"}),
    "hashing": frozenset({"hashed", "seen", "failed"}),
    "hashed": frozenset({"deposited", "failed"}),
    "deposited": frozenset({"done", "failed"}),
    "done": frozenset(),
    "failed": frozenset({"seen"}),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    rel_path TEXT NOT NULL,
    state TEXT NOT NULL,
    sha256 TEXT,
    size INTEGER,
    idempotency_key TEXT,
    metadata TEXT,
    evidence_id TEXT,
    replayed INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    seen_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS files_open ON files(rel_path) WHERE state != 'done';
CREATE INDEX IF NOT EXISTS files_state ON files(state);
"""


class JournalError(NotaryError):
    """A transition the state machine does not allow: a bug, or a second watcher on the same
    journal moving the row first."""

    default_code = "journal_transition"
    kind = CONFLICT


@dataclass(frozen=True)
class Entry:
    """One row: a file at ``rel_path`` (relative to the watched folder, with ``/``)."""

    id: int
    rel_path: str
    state: str
    sha256: str | None
    size: int | None
    idempotency_key: str | None
    metadata: dict[str, Any] | None
    evidence_id: str | None
    replayed: bool
    error: str | None

    @classmethod
    def of(cls, row: sqlite3.Row) -> Entry:
        meta = json.loads(row["metadata"]) if row["metadata"] else None
        return cls(id=row["id"], rel_path=row["rel_path"], state=row["state"],
                   sha256=row["sha256"], size=row["size"],
                   idempotency_key=row["idempotency_key"], metadata=meta,
                   evidence_id=row["evidence_id"], replayed=bool(row["replayed"]),
                   error=row["error"])


class Journal:
    """The journal at ``path`` (created with its directory when absent)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One watcher per journal: a second one (a manual start beside the service's) is
        # refused here rather than racing the first for the same rows.
        self._lock = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            raise InputError(f"another notary watch is using the journal {path}; stop it "
                             "first", code="watch_running") from None
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()
        os.close(self._lock)  # releases the lock

    def open_entry(self, rel_path: str) -> Entry | None:
        """The row of ``rel_path`` that is not done yet, if any."""
        row = self.db.execute("SELECT * FROM files WHERE rel_path = ? AND state != 'done'",
                              (rel_path,)).fetchone()
        return Entry.of(row) if row else None

    def unfinished(self) -> list[Entry]:
        """Every row not done, oldest first (what a restart picks up)."""
        rows = self.db.execute("SELECT * FROM files WHERE state != 'done' ORDER BY id")
        return [Entry.of(r) for r in rows]

    def entries(self) -> list[Entry]:
        return [Entry.of(r) for r in self.db.execute("SELECT * FROM files ORDER BY id")]

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT state, COUNT(*) FROM files GROUP BY state")
        return {state: n for state, n in rows}

    def add(self, rel_path: str) -> Entry:
        """A new row in state ``seen``; the open row of the path if there is one."""
        now = time.time()
        self.db.execute("INSERT OR IGNORE INTO files (rel_path, state, seen_at, updated_at) "
                        "VALUES (?, 'seen', ?, ?)", (rel_path, now, now))
        entry = self.open_entry(rel_path)
        assert entry is not None
        return entry

    def move(self, entry: Entry, to: str, **fields: Any) -> Entry:
        """Record ``entry``'s move to state ``to`` (with ``sha256``, ``size``,
        ``idempotency_key``, ``metadata``, ``evidence_id``, ``replayed`` or ``error``);
        committed (and on disk) when this returns. Raises JournalError for a move the state
        machine forbids, or when the row is not in the state ``entry`` says."""
        if to not in TRANSITIONS.get(entry.state, frozenset()):
            raise JournalError(f"{entry.rel_path}: {entry.state} -> {to} is not a transition "
                               "of the journal")
        allowed = {"sha256", "size", "idempotency_key", "metadata", "evidence_id", "replayed",
                   "error"}
        unknown = set(fields) - allowed
        if unknown:
            raise JournalError(f"unknown journal field(s): {', '.join(sorted(unknown))}")
        values = {k: json.dumps(v, sort_keys=True) if k == "metadata" and v is not None else v
                  for k, v in fields.items()}
        if to != "failed":
            values.setdefault("error", None)
        sets = "".join(f", {k} = ?" for k in values)
        cur = self.db.execute(f"UPDATE files SET state = ?, updated_at = ?{sets} "
                              "WHERE id = ? AND state = ?",
                              (to, time.time(), *values.values(), entry.id, entry.state))
        if cur.rowcount != 1:
            raise JournalError(f"{entry.rel_path}: the journal no longer has it in state "
                               f"{entry.state}")
        row = self.db.execute("SELECT * FROM files WHERE id = ?", (entry.id,)).fetchone()
        return Entry.of(row)
