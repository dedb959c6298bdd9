"""Processes the benchmarks start and measure: the notary server, child commands, their memory.

Memory is read from Linux's own accounting: ``VmHWM`` (peak resident set) in
``/proc/<pid>/status`` for a running server, reset with ``/proc/<pid>/clear_refs`` before a
measurement, and ``ru_maxrss`` from ``wait4`` for a child that has finished.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(message: str) -> None:
    """Progress on stderr, with the time since the bench started."""
    print(f"[bench {time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


_T0 = time.monotonic()


def drop_dirty_pages() -> None:
    """Flush dirty pages so one measurement does not pay for the previous one's writeback."""
    os.sync()


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank on the sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return float(ordered[k])


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: wall time, peak RSS, exit status and output."""

    seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str


def run_measured(cmd: Sequence[str], *, cwd: Path = REPO, env: dict[str, str] | None = None,
                 stdin: bytes | None = None, timeout: float = 600) -> ChildRun:
    """Run ``cmd`` to its end; its wall time and ``wait4``'s ``ru_maxrss``.

    ``ru_maxrss`` carries over exec, so it is at least this (forking) process's RSS: children
    whose memory matters report their own ``VmHWM`` instead.

    Output goes to temporary files (not pipes) so that a chatty child can never block.
    """
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=out, stderr=err,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(seconds, usage.ru_maxrss * 1024, proc.returncode,
                        out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def proc_status(pid: int) -> dict[str, int]:
    """The ``Vm*`` lines of ``/proc/<pid>/status``, in bytes."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("Vm") and line.rstrip().endswith("kB"):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0]) * 1024
    return out


def reset_peak_rss(pid: int) -> bool:
    """Reset ``VmHWM`` of ``pid`` to its current RSS (Linux >= 4.0); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def http_json(method: str, url: str, *, body: Any = None, token: str | None = None,
              timeout: float = 30) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def child_pids(pid: int) -> list[int]:
    """The live children of ``pid`` (from ``/proc/*/stat``)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return sorted(out)


class NotaryServer:
    """``notary run`` in its own process (own embedded anvil, own NOTARY_HOME), so that its
    memory and CPU are its own and not the client's.

    ``pid`` is the API process (``notary run`` itself); its batch worker runs as a child
    process (``notary worker``, issue 17), found by :meth:`worker_pid` and measured apart.
    A checkout from before that change anchors in a thread of ``pid``: no worker pid then.
    """

    def __init__(self, home: Path, *, env: dict[str, str] | None = None,
                 startup_timeout: float = 90, cwd: Path = REPO) -> None:
        """Start ``notary run`` with NOTARY_HOME=``home``; ``cwd`` may be another checkout of
        notary (its modules are imported, the venv is this one: for before/after runs)."""
        self.home = home
        self.port = free_port()
        self.chain_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "NOTARY_HOME": str(home), "NOTARY_PORT": str(self.port),
            "NOTARY_CHAIN_PORT": str(self.chain_port), "NOTARY_LOG_LEVEL": "warning",
            **(env or {}),
        }
        self.log_path = home / "server.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        if cwd != REPO:
            self.env.setdefault("NOTARY_ANVIL_BIN", str(find_anvil_binary()))
        self.proc = subprocess.Popen([sys.executable, "-m", "notary.cli", "run"], cwd=cwd,
                                     env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        deadline = time.monotonic() + startup_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"notary run exited at start:\n{self.tail()}")
            try:
                status, _ = http_json("GET", self.url + "/v1/keys", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"notary run did not answer within {startup_timeout}s")
            time.sleep(0.2)
        key_file = home / "admin.key"
        self.admin_key = key_file.read_text().strip() if key_file.exists() else ""
        if not self.admin_key:
            raise RuntimeError("no admin key in NOTARY_HOME/admin.key")

    def tail(self, n: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]

    def status(self) -> dict[str, int]:
        return proc_status(self.pid)

    def worker_pid(self) -> int | None:
        """The worker child's pid (None when the worker is a thread of ``pid``)."""
        for child in child_pids(self.pid):
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"worker" in cmdline and b"notary.cli" in cmdline:
                return child
        return None

    def worker_status(self) -> dict[str, int] | None:
        """``/proc/<worker>/status`` as :func:`proc_status`; None without a worker process."""
        pid = self.worker_pid()
        try:
            return proc_status(pid) if pid is not None else None
        except OSError:
            return None

    def db_path(self) -> Path:
        return self.home / "notary.db"

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def find_anvil_binary() -> Path:
    from notary.chain.embedded import find_anvil

    return find_anvil()


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
