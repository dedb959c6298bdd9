"""How the CLI talks to people and to machines: short human lines by default, ``--json``
for scripts, errors as ``error <code>: <message>`` on stderr, a spinner or byte counter only
on a terminal (a log or pipe gets plain lines)."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, Self, TextIO

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def error(code: str, message: str) -> None:
    """One line on stderr that a person reads and a script greps: ``error <code>: <message>``."""
    print(f"error {code}: {message}", file=sys.stderr)


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def _line(label: str, value: object) -> str:
    return f"  {label:<13}{value}"


def evidence_lines(item: Mapping[str, Any]) -> list[str]:
    """An evidence item (submit or status answer) in a few lines: no raw JWS."""
    anchored = item.get("status") == "anchored"
    head = "已存证 / notarised" if anchored else "已受理，待上链 / received, not yet anchored"
    if item.get("shredded_at"):
        head = "已销毁内容，证明保留 / content shredded, proof kept"
    lines = [f"{item.get('id')}  {head}",
             _line("case", f"{item.get('case_id')} #{item.get('case_seq')}"),
             _line("sha256", item.get("sha256")),
             _line("size", human_bytes(int(item.get("size") or 0)))]
    anchor = item.get("anchor")
    if anchored and isinstance(anchor, Mapping):
        lines.append(_line("status", "anchored"))
        lines.append(_line("tx", anchor.get("tx_hash")))
        moment = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                               time.gmtime(int(anchor.get("block_timestamp") or 0)))
        lines.append(_line("block", f"{anchor.get('block_number')} (chain "
                                    f"{anchor.get('chain_id')}, {moment})"))
        lines.append(_line("contract", anchor.get("contract")))
    else:
        lines.append(_line("status", f"{item.get('status')}; to be anchored by "
                                     f"{item.get('anchor_deadline')}"))
    if item.get("check_code"):
        lines.append(_line("check code", item["check_code"]))
    if item.get("legal_hold"):
        lines.append(_line("legal hold", item["legal_hold"]))
    return lines


def share_lines(share: Mapping[str, Any]) -> list[str]:
    revoked = share.get("revoked_at") or share.get("revoked")
    state = "已撤销 / revoked" if revoked else "有效 / active"
    lines = [f"share {share.get('id')}  {state}  expires {share.get('expires_at')}"
             + (f"  {share['label']}" if share.get("label") else "")]
    if share.get("revoked_reason"):
        lines.append(f"  撤销原因 / revoked because: {share['revoked_reason']}")
    if share.get("url"):
        lines.append(f"  {share['url']}")
    return lines


class Activity:
    """A spinner with a short status text on a terminal; on anything else one line when it
    starts (``announce``) or nothing; the caller prints the result. A context manager."""

    def __init__(self, text: str, stream: TextIO | None = None, *, announce: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.announce = announce
        self.tty = self.stream.isatty()
        self.text = text
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        if self.tty:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        elif self.announce:
            print(f"{self.text} …", file=self.stream, flush=True)
        return self

    def update(self, text: str) -> None:
        self.text = text

    def _spin(self) -> None:
        frame = 0
        while not self._stop.wait(0.1):
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r\x1b[2K{_FRAMES[frame % len(_FRAMES)]} {self.text}"
                              f"  {elapsed:4.0f} s")
            self.stream.flush()
            frame += 1

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
