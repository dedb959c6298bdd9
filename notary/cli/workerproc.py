"""``notary run``'s batch worker in its own process, supervised by the API process.

The worker (``notary worker``: anchoring, retention, webhook delivery) is what needs web3 and
eth-account; in a child process their ~30 MiB stay out of the API process (issue 17). The
anchoring lease already lets any number of workers share a database, so nothing else changes.

The child is started before the API serves and reports through a pipe when it has set the
chain up (registry deployed or checked, signing key registered); a child that dies later is
started again, after a pause that grows while it keeps dying. Linux stops it with its parent
(``PR_SET_PDEATHSIG``), so even a ``kill -9`` of ``notary run`` leaves no orphan anchoring.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from notary.chain.embedded import _stop_with_parent

log = logging.getLogger("notary.worker")

#: How long a worker may take to set the chain up at start (deploy, register the key).
READY_TIMEOUT = 300.0
#: Pauses before a dead worker is started again: 1 s, doubling up to a minute.
RESTART_FIRST, RESTART_MAX = 1.0, 60.0
#: A worker that ran this long before dying is restarted after the first pause again.
STEADY_SECONDS = 60.0


class WorkerFailed(Exception):
    """The worker process ended before it was ready; it printed why. ``returncode`` is its."""

    def __init__(self, returncode: int) -> None:
        super().__init__(f"the worker process exited with {returncode} at start")
        self.returncode = returncode


def worker_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "notary.cli", "worker", *extra]


def run_setup(env: dict[str, str] | None = None) -> None:
    """``notary worker --setup-only`` to its end: the chain set up as a worker's start does
    (for ``notary run --no-worker``). WorkerFailed when it fails."""
    code = subprocess.call(worker_command("--setup-only"), env=env, stdin=subprocess.DEVNULL,
                           preexec_fn=_stop_with_parent)
    if code != 0:
        raise WorkerFailed(code)


class WorkerProcess:
    """One supervised ``notary worker`` child: :meth:`start` waits until it is ready,
    :meth:`stop` ends it (SIGTERM, then SIGKILL after ``stop_timeout``)."""

    def __init__(self, env: dict[str, str] | None = None, *, stop_timeout: float = 30.0) -> None:
        self.env = env
        self.stop_timeout = stop_timeout
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None

    def _spawn(self, ready_fd: int | None = None) -> subprocess.Popen[bytes]:
        extra = ("--ready-fd", str(ready_fd)) if ready_fd is not None else ()
        return subprocess.Popen(worker_command(*extra), env=self.env, stdin=subprocess.DEVNULL,
                                pass_fds=(ready_fd,) if ready_fd is not None else (),
                                preexec_fn=_stop_with_parent)  # noqa: PLW1509 - one C call

    def start(self, timeout: float = READY_TIMEOUT) -> WorkerProcess:
        """Start the child and wait for its word that the chain is set up; WorkerFailed when
        it ends first (it has printed its error), TimeoutError when it takes too long."""
        read_end, write_end = os.pipe()
        try:
            self._proc = self._spawn(write_end)
        finally:
            os.close(write_end)
        try:
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the worker process was not ready within {timeout:.0f}s")
                ready, _, _ = select.select([read_end], [], [], min(left, 1.0))
                if ready:
                    if os.read(read_end, 1):
                        break
                    raise WorkerFailed(self._proc.wait())  # the pipe closed: it ended
        except BaseException:  # a timeout, a signal: the child does not stay behind
            self._terminate(self._proc)
            raise
        finally:
            os.close(read_end)
        self._monitor = threading.Thread(target=self._watch, name="worker-supervisor",
                                         daemon=True)
        self._monitor.start()
        return self

    def _watch(self) -> None:
        pause = RESTART_FIRST
        started = time.monotonic()
        while True:
            proc = self._proc
            assert proc is not None
            code = proc.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > STEADY_SECONDS:
                pause = RESTART_FIRST
            log.warning("the worker process %d exited with %s; starting it again in %.0f s",
                        proc.pid, code, pause)
            if self._stopping.wait(pause):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._proc = self._spawn()
                self.restarts += 1
            started = time.monotonic()
            pause = min(pause * 2, RESTART_MAX)

    def status(self) -> dict[str, Any]:
        """For health: whether the worker process is running, its pid and restarts."""
        proc = self._proc
        alive = proc is not None and proc.poll() is None
        return {"ok": alive, "process": proc.pid if proc is not None else None,
                "restarts": self.restarts}

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        """End the child (and stop restarting it); waits for it to exit."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None:
            self._terminate(proc)
        if self._monitor is not None:
            self._monitor.join(timeout=5)
