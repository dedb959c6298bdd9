"""The loop of ``notary watch``: find finished recordings, hash, deposit, then move or mark
them, each step recorded in the journal before the next is taken (:mod:`.journal` says why a
kill -9 anywhere leads to exactly one item per file).

The folder is scanned every ``poll`` seconds; inotify (Linux) wakes the loop early and tells
which files were closed after writing. Deposits go one at a time, oldest first.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notary.client import Client, ServiceError
from notary.core.digest import digest_stream
from notary.core.errors import UNAUTHORISED, InputError, NotaryError
from notary.localfiles import open_regular
from notary.watch import inotify
from notary.watch.journal import Entry, Journal
from notary.watch.rules import (
    DONE_SUFFIX,
    MARK_SUFFIX,
    SIDECAR_SUFFIX,
    PathPattern,
    file_name_for,
    is_candidate,
    metadata_for,
    read_sidecar,
)

DONE_FOLDER = ".done"
STATE_FOLDER = ".notary-watch"
JOURNAL_NAME = "journal.sqlite"
#: Refusals that no retry changes (the file or its metadata is wrong): the file waits, failed.
_REFUSED = frozenset({400, 409, 413, 415, 422})
_FATAL = frozenset({401, 403})  # every file would be refused: stop, say why
MAX_PAUSE = 60.0
MAX_MARK_BYTES = 4096
MIN_SCAN_INTERVAL = 0.2

Report = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Options:
    root: Path
    ready: str = "close"
    pattern: PathPattern | None = None
    case: str | None = None
    kind: str | None = None
    after: str = "move"  # or "mark"
    settle: float = 5.0
    poll: float = 1.0
    state_dir: Path | None = None
    use_inotify: bool = True
    file_name: str = "{name}"  # the name the statement records (rules.file_name_for)
    mask_digits: bool = False

    @property
    def journal_path(self) -> Path:
        return (self.state_dir or self.root / STATE_FOLDER) / JOURNAL_NAME


@dataclass
class Tally:
    """What this run did, for the progress lines and the summary."""

    deposited: int = 0
    already_held: int = 0  # answered with an item the case already held (duplicate_of)
    failed: int = 0
    skipped: set[str] = field(default_factory=set)  # links and what is not a regular file
    filed_then_failed: dict[str, str] = field(default_factory=dict)  # file -> evidence id
    waiting: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)


class WatchStopped(NotaryError):
    """The service refuses the API key: nothing can be deposited until that is fixed."""

    default_code = "watch_refused"
    kind = UNAUTHORISED


def idempotency_key(root: Path, rel_path: str, sha256: str) -> str:
    """The same for the same bytes at the same place in the same folder, across restarts and
    a lost journal: the service answers a repeat with the first item."""
    seed = f"{root.resolve()}\0{rel_path}\0{sha256}".encode()
    return "watch-" + hashlib.sha256(seed).hexdigest()


class _CrashPoints:
    """``NOTARY_WATCH_CRASH_AT="answered:3"``: SIGKILL this process the 3rd time it reaches
    the step ``answered`` (for the fault tests; unset in production, one lookup)."""

    def __init__(self) -> None:
        self.left: dict[str, int] = {}
        for item in filter(None, os.environ.get("NOTARY_WATCH_CRASH_AT", "").split(",")):
            name, _, count = item.partition(":")
            self.left[name.strip()] = int(count or 1)

    def reach(self, name: str) -> None:
        if name in self.left:
            self.left[name] -= 1
            if self.left[name] <= 0:
                os.kill(os.getpid(), signal.SIGKILL)


class Watcher:
    def __init__(self, options: Options, client: Client, report: Report) -> None:
        self.o, self.client, self.report = options, client, report
        self.journal = Journal(options.journal_path)
        self.tally = Tally()
        self.crash = _CrashPoints()
        self.notify = inotify.Inotify.open() if options.use_inotify else None
        self.writing: set[str] = set()  # modified since its last close (inotify)
        self.closed: set[str] = set()  # closed after writing, not modified since
        self.sizes: dict[str, tuple[int, int, float]] = {}  # size, mtime_ns, unchanged since
        self.not_ready = 0  # candidates found by the last scan that are not finished yet
        self.pause_until = 0.0
        self.pause = 1.0
        self.last_scan = 0.0
        state = options.journal_path.parent
        self.state_dir = state.resolve() if state.exists() else state

    # -- the loop ------------------------------------------------------------------------------

    def run(self, stopped: Callable[[], bool], *, once: bool = False) -> Tally:
        """Until ``stopped()`` (checked between files); with ``once``, until nothing that is
        ready is left to do."""
        try:
            self.recover()
            while not stopped():
                self.wait_for_events()
                worked = self.work(stopped)
                if once and not worked and not self.not_ready and not self.journal_busy():
                    break
        finally:
            if self.notify is not None:
                self.notify.close()
            self.journal.close()
        return self.tally

    def recover(self) -> None:
        """A restart: re-hash what was being hashed, try again what had failed."""
        unfinished = self.journal.unfinished()
        for entry in unfinished:
            if entry.state in ("hashing", "failed"):
                entry = self.journal.move(entry, "seen")
            if entry.state == "seen" and not (self.o.root / entry.rel_path).exists():
                self.fail(entry, "file_missing", f"{entry.rel_path} was found finished, then "
                          "removed by something else before it was deposited")
        if unfinished:
            self.report("resumed", {"count": len(unfinished)})

    def journal_busy(self) -> bool:
        return any(e.state in ("hashed", "deposited") for e in self.journal.unfinished())

    def wait_for_events(self) -> None:
        timeout = max(0.0, self.last_scan + self.o.poll - time.monotonic())
        if self.notify is None:
            time.sleep(min(timeout, self.o.poll))
            return
        for folder, name, mask in self.notify.events(timeout):
            if folder is None:  # events were lost: every file falls back to --settle
                self.closed.clear()
                self.writing.clear()
                continue
            if mask & inotify.IN_ISDIR:
                continue
            rel = (folder / name).relative_to(self.o.root).as_posix()
            if mask & (inotify.IN_MODIFY | inotify.IN_CREATE):
                self.writing.add(rel)
                self.closed.discard(rel)
            if mask & (inotify.IN_CLOSE_WRITE | inotify.IN_MOVED_TO):  # closed, or moved in whole
                self.writing.discard(rel)
                self.closed.add(rel)
            if mask & (inotify.IN_DELETE | inotify.IN_MOVED_FROM):
                self.writing.discard(rel)
                self.closed.discard(rel)

    def work(self, stopped: Callable[[], bool]) -> bool:
        """One pass: finish the journal's open rows, then the ready files. True if any
        file moved on."""
        if time.monotonic() - self.last_scan < MIN_SCAN_INTERVAL:
            return True
        self.last_scan = time.monotonic()
        worked = False
        if time.monotonic() < self.pause_until:
            return True
        for entry in self.journal.unfinished():
            if stopped():
                return worked
            if entry.state in ("hashed", "deposited"):
                worked |= self.advance(entry)
        for rel in self.ready_files():
            if stopped() or time.monotonic() < self.pause_until:
                return True
            entry = self.journal.open_entry(rel) or self.journal.add(rel)
            if entry.state == "seen":
                worked |= self.advance(entry)
        return worked or time.monotonic() < self.pause_until

    # -- finding finished files ----------------------------------------------------------------

    def ready_files(self) -> list[str]:
        found: list[tuple[int, str]] = []
        now = time.monotonic()
        self.not_ready = 0
        for folder, dirs, files in os.walk(self.o.root):
            base = Path(folder)
            # os.walk lists a linked folder among ``dirs`` without entering it; it is dropped
            # here too, so nothing outside the watched folder is ever read
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and not (base / d).is_symlink()
                             and (base / d).resolve() != self.state_dir)
            if self.notify is not None:
                self.notify.watch(base)
            for name in files:
                if not is_candidate(name):
                    continue
                path = base / name
                rel = path.relative_to(self.o.root).as_posix()
                if self.o.pattern is not None and self.o.pattern.match(rel) is None:
                    continue
                try:
                    st = path.lstat()
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    self.skip(rel, "a symbolic link" if stat.S_ISLNK(st.st_mode)
                              else "not a regular file")
                    continue
                if self.o.after == "mark" and is_marked(path, st):
                    continue
                unchanged = self.unchanged_for(rel, st.st_size, st.st_mtime_ns, now)
                if st.st_size > 0 and self.is_ready(rel, path, unchanged):
                    found.append((st.st_mtime_ns, rel))
                elif unchanged < self.o.settle + self.o.poll:
                    self.not_ready += 1  # still being written (what --once waits for)
        return [rel for _, rel in sorted(found)]

    def unchanged_for(self, rel: str, size: int, mtime_ns: int, now: float) -> float:
        """Seconds since the size or mtime of ``rel`` was last seen to change."""
        last = self.sizes.get(rel)
        if last is None or last[:2] != (size, mtime_ns):
            self.sizes[rel] = (size, mtime_ns, now)
            return 0.0
        return now - last[2]

    def is_ready(self, rel: str, path: Path, unchanged: float) -> bool:
        ready = self.o.ready
        if ready == "rename":
            return True
        if ready == "done":
            return path.with_name(path.name + DONE_SUFFIX).exists()
        if ready == "close" and self.notify is not None:
            if rel in self.closed:
                return True
            if rel in self.writing:
                return False
        return unchanged >= self.o.settle

    # -- the steps of one file -----------------------------------------------------------------

    def advance(self, entry: Entry) -> bool:
        """Take ``entry`` as far as it goes now; True if it moved on."""
        path = self.o.root / entry.rel_path
        try:
            if entry.state == "seen":
                hashed = self.hash(entry, path)
                if hashed is None:
                    return False
                entry = hashed
            if entry.state == "hashed":
                entry = self.deposit(entry, path)
            if entry.state == "deposited":
                self.finish(entry, path)
            return True
        except InputError as exc:
            self.fail(entry, exc.code, exc.message, exc.details.get("evidence_id"))
            return True
        except OSError as exc:  # unreadable, or .done/ not writable: said, tried at next start
            self.fail(entry, "file_unreadable", f"{entry.rel_path}: {exc.strerror or exc}")
            return True

    def hash(self, entry: Entry, path: Path) -> Entry | None:
        sidecar = read_sidecar(path.with_name(path.name + SIDECAR_SUFFIX))
        found = self.o.pattern.match(entry.rel_path) if self.o.pattern else None
        meta = metadata_for(entry.rel_path, found, sidecar, case=self.o.case, kind=self.o.kind)
        if meta is None:
            if entry.rel_path not in self.tally.waiting:
                self.tally.waiting.add(entry.rel_path)
                self.report("waiting", {"file": entry.rel_path,
                                        "sidecar": entry.rel_path + SIDECAR_SUFFIX})
            return None
        self.tally.waiting.discard(entry.rel_path)
        entry = self.journal.move(entry, "hashing")
        try:
            with open_regular(path) as fh:  # hashes what it opened, never a link's target
                digest = digest_stream(fh)
        except FileNotFoundError:
            raise InputError(f"{entry.rel_path} vanished before it was deposited",
                             code="file_missing") from None
        key = idempotency_key(self.o.root, entry.rel_path, digest.hex)
        entry = self.journal.move(entry, "hashed", sha256=digest.hex, size=digest.size,
                                  idempotency_key=key, metadata=meta)
        self.crash.reach("hashed")
        return entry

    def deposit(self, entry: Entry, path: Path) -> Entry:
        assert entry.metadata is not None and entry.idempotency_key is not None
        try:
            item = self.client.submit(path, entry.metadata, progress=False,
                                      idempotency_key=entry.idempotency_key,
                                      follow_symlinks=False,
                                      name=file_name_for(self.o.file_name, path.name,
                                                         entry.sha256 or "",
                                                         mask_digits=self.o.mask_digits))
        except ServiceError as exc:
            if exc.http_status in _FATAL:
                raise WatchStopped(f"the service refuses the API key ({exc.code}): "
                                   f"{exc.message}") from exc
            if exc.http_status in _REFUSED:
                self.fail(entry, exc.code, exc.message)
                return entry
            self.pause_until = time.monotonic() + self.pause
            self.report("retrying", {"file": entry.rel_path, "in": self.pause,
                                     "message": exc.message, "code": exc.code})
            self.pause = min(self.pause * 2, MAX_PAUSE)
            return entry
        self.pause = 1.0
        self.crash.reach("answered")
        if item.get("sha256") != entry.sha256:
            raise InputError(f"{entry.rel_path} changed after it was hashed (the service "
                             f"filed SHA-256 {item.get('sha256')} as {item.get('id')}); it was "
                             "still being written: choose another --ready convention",
                             code="file_changed", evidence_id=item.get("id"))
        held = bool(item.get("duplicate_of"))
        entry = self.journal.move(entry, "deposited", evidence_id=item["id"], replayed=held)
        self.tally.deposited += 1
        self.tally.already_held += held
        self.report("deposited", {"file": entry.rel_path, "evidence_id": item["id"],
                                  "case_id": item.get("case_id"),
                                  "case_seq": item.get("case_seq"), "already_held": held,
                                  "sha256": entry.sha256})
        return entry

    def finish(self, entry: Entry, path: Path) -> None:
        """Move the file (and its sidecar and done-file) under ``.done/``, or mark it."""
        if self.o.after == "mark":
            mark = path.with_name(path.name + MARK_SUFFIX)
            # size and mtime tell a new recording under the same name from the one marked
            body = {"evidence_id": entry.evidence_id, "sha256": entry.sha256,
                    "case_id": (entry.metadata or {}).get("case_id"), "size": entry.size,
                    "mtime_ns": path.lstat().st_mtime_ns}
            write_durably(mark, json.dumps(body, indent=2).encode() + b"\n")
        else:
            target = self.o.root / DONE_FOLDER / entry.rel_path
            for suffix in ("", SIDECAR_SUFFIX, DONE_SUFFIX):
                source = path.with_name(path.name + suffix)
                moved = target.with_name(target.name + suffix)
                if source.exists():
                    move_durably(source, moved, entry.evidence_id or "")
        self.crash.reach("moved")
        self.journal.move(entry, "done")
        self.sizes.pop(entry.rel_path, None)
        self.closed.discard(entry.rel_path)

    def skip(self, rel: str, why: str) -> None:
        """Say once a run that ``rel`` is never deposited: a link could have any file the
        watcher may read (a key) signed into the tenant; a FIFO or device is no recording."""
        if rel not in self.tally.skipped:
            self.tally.skipped.add(rel)
            self.report("skipped", {"file": rel, "reason": why})

    def fail(self, entry: Entry, code: str, message: str, evidence_id: str | None = None) -> None:
        """``evidence_id``: the item the service filed before the file failed (it changed
        after it was hashed), kept in the journal's row and listed in the summary."""
        current = self.journal.open_entry(entry.rel_path)
        if current is not None and current.state != "failed":
            extra = {"evidence_id": evidence_id} if evidence_id else {}
            self.journal.move(current, "failed", error=f"{code}: {message}", **extra)
        self.tally.failed += 1
        info = {"file": entry.rel_path, "code": code, "message": message}
        if evidence_id:
            self.tally.filed_then_failed[entry.rel_path] = evidence_id
            info["evidence_id"] = evidence_id
        self.report("failed", info)


def is_marked(path: Path, st: os.stat_result) -> bool:
    """Whether ``path`` (``st``, its lstat) is the recording its ``NAME.notarised`` mark
    records. A mark from before marks held size and mtime counts whatever it is; a mark that
    cannot be read counts too (the file waits rather than being filed twice)."""
    try:
        with open_regular(path.with_name(path.name + MARK_SUFFIX), nonblock=True) as fh:
            raw = fh.read(MAX_MARK_BYTES)
    except FileNotFoundError:
        return False
    except (InputError, OSError):
        return True
    try:
        mark = json.loads(raw)
        recorded = (mark["size"], mark["mtime_ns"])
    except (ValueError, TypeError, KeyError):
        return True
    return recorded == (st.st_size, st.st_mtime_ns)


def move_durably(source: Path, target: Path, evidence_id: str) -> None:
    """Rename ``source`` to ``target`` (or beside it, ``NAME.<evidence id>``, when another file
    has that name), and sync both folders so the move survives a power cut."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target = target.with_name(f"{target.name}.{evidence_id}")
    os.rename(source, target)
    for folder in {source.parent, target.parent}:
        _sync_folder(folder)


def write_durably(path: Path, data: bytes) -> None:
    part = path.with_name(path.name + ".part")
    with part.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, path)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
