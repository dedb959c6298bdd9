"""What the watcher takes from a folder: which files are recordings, when one is finished (the
readiness conventions), and its case and kind (a path pattern or a sidecar ``NAME.json``).

Pure rules over names and small files; the loop that applies them is :mod:`notary.watch.watcher`.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notary.core.errors import InputError
from notary.core.statement import EvidenceKind
from notary.localfiles import open_regular

#: How a recorder says a file is finished (``--ready``).
#: close: closed after writing (inotify IN_CLOSE_WRITE; files found without having been seen
#: written: unchanged for ``--settle`` seconds); done: a ``NAME.done`` next to it; rename:
#: it got its final name (recorders write ``NAME.part`` or ``NAME.tmp``, then rename);
#: stable: size and mtime unchanged for ``--settle`` seconds (polling, network shares).
CONVENTIONS = ("close", "done", "rename", "stable")
TEMP_SUFFIXES = (".part", ".tmp")
DONE_SUFFIX = ".done"
MARK_SUFFIX = ".notarised"
SIDECAR_SUFFIX = ".json"
#: Never recordings: the conventions' own files.
_NOT_RECORDINGS = (*TEMP_SUFFIXES, DONE_SUFFIX, MARK_SUFFIX, SIDECAR_SUFFIX)
PLACEHOLDERS = ("case", "kind")
SIDECAR_FIELDS = ("case_id", "kind", "captured_at", "description")
MAX_SIDECAR_BYTES = 64 * 1024
KINDS = tuple(k.value for k in EvidenceKind)


def is_candidate(name: str) -> bool:
    """Whether a file of this name may be a recording (not hidden, not a convention's file)."""
    return not name.startswith(".") and not name.endswith(_NOT_RECORDINGS)


@dataclass(frozen=True)
class PathPattern:
    """``{case}/{kind}/*.wav``: ``/`` separates folders, ``{case}`` and ``{kind}`` take part of
    one name, ``*`` any characters within one name, ``**`` any folders (none or more), ``?``
    one character. It selects the files to notarise and names their case and kind."""

    text: str
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> PathPattern:
        if not text or text.startswith("/") or "\\" in text:
            raise InputError(f"--pattern {text!r}: a path relative to the watched folder, with "
                             "/ between folders (e.g. '{case}/{kind}/*.wav')",
                             code="pattern_invalid")
        out, i, seen = [], 0, set()
        while i < len(text):
            if text.startswith("**/", i):
                out.append("(?:[^/]+/)*")
                i += 3
            elif text.startswith("**", i):
                out.append(".*")
                i += 2
            elif text[i] == "*":
                out.append("[^/]*")
                i += 1
            elif text[i] == "?":
                out.append("[^/]")
                i += 1
            elif text[i] == "{":
                end = text.find("}", i)
                name = text[i + 1:end] if end > 0 else ""
                if name not in PLACEHOLDERS or name in seen:
                    raise InputError(f"--pattern {text!r}: placeholders are {{case}} and "
                                     "{kind}, each at most once", code="pattern_invalid")
                seen.add(name)
                out.append(f"(?P<{name}>[^/]+?)")
                i = end + 1
            elif text[i] == "}":
                raise InputError(f"--pattern {text!r}: a '}}' without its '{{'",
                                 code="pattern_invalid")
            else:
                out.append(re.escape(text[i]))
                i += 1
        return cls(text, re.compile("".join(out)))

    def match(self, rel_path: str) -> dict[str, str] | None:
        """The placeholders' values if ``rel_path`` (with ``/``) matches, else None."""
        m = self.regex.fullmatch(rel_path)
        return None if m is None else {k: v for k, v in m.groupdict().items() if v}


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """The sidecar's fields, or None while there is none or it is not (yet) whole JSON (a
    recorder may be writing it). InputError when it is JSON but not a sidecar, or is not a
    regular file: a FIFO would block the watcher, a link to /dev/zero fill its memory, at
    every start; only one file fails, never the watcher."""
    try:
        with open_regular(path, nonblock=True) as fh:
            raw = fh.read(MAX_SIDECAR_BYTES + 1)
    except FileNotFoundError:
        return None
    except InputError as exc:
        raise InputError(f"{path.name}: a sidecar is a regular file, not a link, folder, FIFO "
                         "or device", code="sidecar_invalid") from exc
    if len(raw) > MAX_SIDECAR_BYTES:
        raise InputError(f"{path.name}: a sidecar is at most {MAX_SIDECAR_BYTES} bytes",
                         code="sidecar_invalid")
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict):
        raise InputError(f"{path.name}: a sidecar is a JSON object", code="sidecar_invalid")
    unknown = sorted(set(obj) - set(SIDECAR_FIELDS))
    if unknown:
        raise InputError(f"{path.name}: unknown field(s) {', '.join(unknown)}; a sidecar "
                         f"has {', '.join(SIDECAR_FIELDS)}", code="sidecar_invalid")
    if any(not isinstance(v, str) for v in obj.values()):
        raise InputError(f"{path.name}: every field of a sidecar is a string",
                         code="sidecar_invalid")
    return obj


def metadata_for(rel_path: str, found: dict[str, str] | None, sidecar: dict[str, Any] | None,
                 *, case: str | None, kind: str | None) -> dict[str, Any] | None:
    """The submission's metadata: the sidecar's fields over the pattern's over ``--case`` and
    ``--kind``; None while no case is known (the file waits for its sidecar). InputError when
    the kind is not one the service knows."""
    meta: dict[str, Any] = {}
    if case:
        meta["case_id"] = case
    if kind:
        meta["kind"] = kind
    for name, value in (found or {}).items():
        meta["case_id" if name == "case" else name] = value
    meta.update(sidecar or {})
    if "case_id" not in meta:
        return None
    meta.setdefault("kind", "call_recording")
    if meta["kind"] not in KINDS:
        raise InputError(f"{rel_path}: kind {meta['kind']!r} is not one of "
                         f"{', '.join(KINDS)}", code="kind_unknown")
    return meta


#: ``--file-name``: the name the statement records, from the file's own (``{name}`` =
#: ``{stem}{ext}``) and its SHA-256 (``{sha8}``, its first 8 hex digits).
FILE_NAME_FIELDS = ("name", "stem", "ext", "sha8")
_PHONE_LIKE = re.compile(r"\d{7,}")


def check_file_name_template(template: str) -> str:
    """``template`` if it uses only :data:`FILE_NAME_FIELDS`, plainly; else InputError."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        parts = [("", "", "!", None)]
    fields = [(f, spec, conv) for _, f, spec, conv in parts if f is not None]
    if not template or "/" in template or any(
            f not in FILE_NAME_FIELDS or spec or conv for f, spec, conv in fields):
        raise InputError(f"--file-name {template!r}: a name without '/', with placeholders "
                         f"{', '.join('{' + f + '}' for f in FILE_NAME_FIELDS)}",
                         code="file_name_invalid")
    return template


def file_name_for(template: str, name: str, sha256: str, *, mask_digits: bool) -> str:
    """The file name the statement records: a dialer names recordings after the phone number,
    which the signed statement would otherwise carry in the clear (call records commit to the
    number instead). ``mask_digits`` writes each run of 7 or more digits as ``#``s."""
    if mask_digits:
        name = _PHONE_LIKE.sub(lambda m: "#" * len(m.group()), name)
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no extension, or a name that starts with its only dot
        stem, ext = name, ""
    else:
        ext = dot + ext
    return template.format(name=name, stem=stem, ext=ext, sha8=sha256[:8])
