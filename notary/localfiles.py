"""Checks on local input files, shared by the CLI's client commands and ``notary anchor``.

Kept apart from :mod:`notary.anchoring` (which needs web3) so that the client and the
offline verifier run without the chain or database libraries installed or loaded.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from notary.core.errors import InputError


def check_readable_file(path: Path) -> None:
    """Raise InputError with a one-line reason unless ``path`` is a readable regular file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", code="file_missing") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}", code="file_unreadable") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory, not a file", code="file_is_directory")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a regular file", code="file_not_regular")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied", code="file_unreadable")


def open_regular(path: Path, *, nonblock: bool = False) -> BinaryIO:
    """``path`` opened for reading without following a symlink, checked on the opened
    descriptor to be a regular file: what is read is what was checked (a folder others write
    into may hold a link to a key file, a FIFO, /dev/zero). ``nonblock`` so that opening a FIFO
    does not wait for a writer. InputError ``file_not_regular`` for a symlink or anything not a
    regular file; FileNotFoundError when there is nothing there."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_NONBLOCK if nonblock else 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{path}: a symbolic link, not a regular file",
                             code="file_not_regular") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"{path}: not a regular file", code="file_not_regular")
    return os.fdopen(fd, "rb")


def tzdata_version() -> str | None:
    """The version of the time-zone database zoneinfo reads here (the system's
    ``tzdata.zi`` on its search path, else the ``tzdata`` package's), or None: local times of
    calls stated in UTC depend on it, so a re-derived conduct report says which one it used."""
    from importlib import metadata
    from zoneinfo import TZPATH

    for folder in TZPATH:
        try:
            with open(os.path.join(folder, "tzdata.zi"), encoding="ascii") as fh:
                first = fh.readline()
        except (OSError, UnicodeDecodeError):
            continue
        if first.startswith("# version "):
            return first.removeprefix("# version ").strip() or None
    try:
        return metadata.version("tzdata")
    except metadata.PackageNotFoundError:
        return None
