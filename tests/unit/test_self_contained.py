"""A clone stands alone: no tracked file refers to a path above the repository root.

A test, doc or script that reads a folder beside the clone, ``REPO.parent``, ``Path(__file__)
.parents[N]`` past the root or an absolute ``/work/...`` path works on one machine and fails
in every other clone. The files are those git tracks (``git ls-files``), so what a clone
gets is what is checked.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]

#: Binary or generated files: no paths worth reading in them.
_SKIP_SUFFIXES = frozenset({".wav", ".pdf", ".png", ".jpg", ".zip", ".ttc", ".ttf", ".woff2",
                            ".ico", ".gz"})
_SKIP_NAMES = frozenset({"package-lock.json", "requirements.lock"})
#: Hostile-input tests spell traversal paths on purpose (they are the input, never read).
_HOSTILE = ("tests/hostile/",)
#: This file spells the escapes it looks for.
_SELF = "tests/unit/test_self_contained.py"

_PARENT_OF_REPO = re.compile(r"\bREPO\s*\.\s*parent\b|\bROOT\s*\.\s*parent\b")
_ABSOLUTE = re.compile(r"(?<![\w.~-])/work/|(?<![\w.])\.\./shared\b|/shared/samples\b")
_PARENTS_INDEX = re.compile(r"__file__\)\s*\.resolve\(\)\s*\.parents\[(\d+)\]")
_PARENT_CHAIN = re.compile(r"__file__\)\s*(?:\.resolve\(\)\s*)?((?:\.parent\b\s*)+)")
_DOTDOT = re.compile(r"(?<![\w.])((?:\.\./)+)")


def tracked_files() -> list[str]:
    """The repository's tracked files; the tree itself (minus installs) outside a git
    checkout, e.g. an unpacked release."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], check=True,
                             capture_output=True, timeout=30).stdout
        return [name for name in out.decode("utf-8").split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "node_modules", "var"}
        return [p.relative_to(REPO).as_posix() for p in REPO.rglob("*")
                if p.is_file() and not skip & set(p.relative_to(REPO).parts)]


def escapes(name: str, text: str) -> list[str]:
    """The places in ``text`` (the file ``name``, relative to the root) that lead above the
    repository root, as ``line: excerpt``."""
    depth = len(PurePosixPath(name).parts) - 1  # folders between the root and the file
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        hits = [m.group(0) for m in (_PARENT_OF_REPO.search(line), _ABSOLUTE.search(line)) if m]
        hits += [m.group(0) for m in _PARENTS_INDEX.finditer(line) if int(m.group(1)) > depth]
        hits += [m.group(0) for m in _PARENT_CHAIN.finditer(line)
                 if m.group(1).count(".parent") > depth + 1]
        if not name.startswith(_HOSTILE):
            hits += [m.group(0) for m in _DOTDOT.finditer(line)
                     if m.group(1).count("../") > depth]
        found += [f"{name}:{number}: {hit}" for hit in hits]
    return found


def test_no_tracked_file_refers_above_the_repository_root() -> None:
    names = tracked_files()
    assert "tests/support.py" in names  # the listing is the repository, not an empty answer
    problems = []
    for name in names:
        path = REPO / name
        if (path.suffix.lower() in _SKIP_SUFFIXES or path.name in _SKIP_NAMES
                or name == _SELF or not path.is_file()):
            continue
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            continue
        problems += escapes(name, text)
    assert not problems, "paths above the repository root:\n" + "\n".join(problems)


@pytest.mark.parametrize(("name", "line"), [
    # (the team's reference folder is spelled in two pieces, so this file does not name it)
    ("tests/support.py", 'SAMPLES = REPO.parent / "sha' + 'red" / "samples"'),
    ("README.md", "S=../sha" + "red/samples"),
    ("tests/x.py", "open('/work/main/var/admin.key')"),
    ("tests/unit/x.py", "ROOT = Path(__file__).resolve().parents[3]"),
    ("tests/x.py", "ROOT = Path(__file__).parent.parent.parent"),
    ("docs/x.md", "see [the toolchain](../../TOOLCHAIN.md)"),
    ("Makefile", "cp ../vectors/x.json tests/"),
])
def test_escapes_are_found(name: str, line: str) -> None:
    assert escapes(name, line), line


@pytest.mark.parametrize(("name", "line"), [
    ("tests/unit/x.py", "REPO = Path(__file__).resolve().parents[2]"),
    ("tests/x.py", "ROOT = Path(__file__).parent.parent"),
    ("docs/x.md", "see [the formats](../README.md)"),
    ("tests/support.py", 'SAMPLES = REPO / "samples"'),
    ("api/x.py", '"/v1/shared/{token}"'),
])
def test_paths_inside_the_repository_pass(name: str, line: str) -> None:
    assert not escapes(name, line), line
