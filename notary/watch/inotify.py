"""Linux inotify through libc (ctypes): no dependency, and nothing on other systems, where the
watcher polls. Only what the watcher needs: watch folders, read (folder, name, mask) events.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
from collections.abc import Iterator
from pathlib import Path

IN_MODIFY = 0x002
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ISDIR = 0x40000000
_MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
_NONBLOCK, _CLOEXEC = os.O_NONBLOCK, 0o2000000
_HEADER = struct.Struct("iIII")


class Inotify:
    """An inotify instance; ``Inotify.open()`` is None where inotify is not available."""

    def __init__(self, libc: ctypes.CDLL, fd: int) -> None:
        self.libc, self.fd = libc, fd
        self.folders: dict[int, Path] = {}
        self.watched: set[Path] = set()

    @classmethod
    def open(cls) -> Inotify | None:
        name = ctypes.util.find_library("c")
        if name is None:
            return None
        try:
            libc = ctypes.CDLL(name, use_errno=True)
            fd = libc.inotify_init1(_NONBLOCK | _CLOEXEC)
        except (OSError, AttributeError):
            return None
        return cls(libc, fd) if fd >= 0 else None

    def watch(self, folder: Path) -> None:
        """Watch ``folder`` (not its subfolders: the caller adds those it finds)."""
        if folder in self.watched:
            return
        wd = self.libc.inotify_add_watch(self.fd, os.fsencode(folder), _MASK)
        if wd < 0:  # gone, or the watch limit (fs.inotify.max_user_watches): polling covers it
            return
        self.folders[wd] = folder
        self.watched.add(folder)

    def events(self, timeout: float) -> Iterator[tuple[Path | None, str, int]]:
        """Wait up to ``timeout`` seconds, then yield (folder, name, mask) of what arrived;
        (None, "", IN_Q_OVERFLOW) when events were lost (the caller rescans)."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return
        offset = 0
        while offset + _HEADER.size <= len(data):
            wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
            raw = data[offset + _HEADER.size:offset + _HEADER.size + length]
            offset += _HEADER.size + length
            if mask & IN_Q_OVERFLOW:
                yield None, "", IN_Q_OVERFLOW
                continue
            folder = self.folders.get(wd)
            if mask & IN_IGNORED:
                gone = self.folders.pop(wd, None)
                if gone is not None:
                    self.watched.discard(gone)
                continue
            if folder is not None:
                yield folder, os.fsdecode(raw.rstrip(b"\0")), mask

    def close(self) -> None:
        os.close(self.fd)
