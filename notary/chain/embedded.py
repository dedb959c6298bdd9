"""The embedded chain: an anvil node we start on 127.0.0.1 with its state under NOTARY_HOME.

anvil comes from the npm package ``@foundry-rs/anvil`` (no download at run time). Its state is
dumped to ``chain/anvil-state.json`` every second and on a clean stop, and loaded on the next
start, so a second ``make run`` sees the same chain and contract. A node already answering on
the port with the right chain id is reused instead of starting a second one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from notary.chain.errors import ChainError, ChainMismatch, ChainUnavailable

STATE_FILE = "anvil-state.json"


def find_anvil() -> Path:
    """Locate the anvil binary installed by ``npm ci`` (or ``NOTARY_ANVIL_BIN``)."""
    explicit = os.environ.get("NOTARY_ANVIL_BIN")
    if explicit:
        return Path(explicit)
    roots = [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[2]]
    for root in roots:
        modules = root / "node_modules" / "@foundry-rs"
        if modules.is_dir():
            # The platform package holds the native binary; calling it directly (not the
            # Node wrapper) means a signal reaches anvil itself and its state gets dumped.
            for candidate in sorted(modules.glob("anvil-*/bin/anvil")):
                if os.access(candidate, os.X_OK):
                    return candidate
    raise ChainError(
        "anvil not found: run `npm ci` in the repository (or set NOTARY_ANVIL_BIN)",
        code="anvil_missing",
    )


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Resolved in the parent, so the child after fork only makes one C call (no imports, no dlopen).
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    """In the child: ask Linux to send SIGTERM when the parent dies, even by ``kill -9``, so
    anvil still dumps its state and no orphan keeps the port."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def rpc_chain_id(url: str, timeout: float = 1.0) -> int | None:
    """The chain id a node at ``url`` reports, or None when nothing answers there."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(json.load(resp)["result"], 16)
    except (OSError, urllib.error.URLError, ValueError, KeyError):
        return None


class EmbeddedChain:
    """Start, reuse and stop the local anvil node."""

    def __init__(
        self,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 8545,
        chain_id: int = 31337,
        block_time: float = 0.0,
        state_interval: int = 1,
    ) -> None:
        self.state_dir = state_dir
        self.host = host
        self.port = port
        self.chain_id = chain_id
        self.block_time = block_time
        self.state_interval = state_interval
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_FILE

    @property
    def started_here(self) -> bool:
        """True when this object started the node (and so will stop it)."""
        return self._proc is not None

    def ensure_running(self, timeout: float = 30.0) -> str:
        """Reuse a node already on the port or start one; returns its RPC URL."""
        found = rpc_chain_id(self.url)
        if found is not None:
            if found != self.chain_id:
                raise ChainMismatch(
                    f"a node with chain id {found} already listens on {self.url}; "
                    f"the embedded chain uses {self.chain_id}: set NOTARY_CHAIN_PORT",
                    url=self.url,
                )
            return self.url
        self.start(timeout)
        return self.url

    def command(self) -> list[str]:
        cmd = [
            str(find_anvil()),
            "--host", self.host,
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--state", str(self.state_file),
            "--state-interval", str(self.state_interval),
            "--accounts", "1",
        ]
        if self.block_time > 0:
            cmd += ["--block-time", str(self.block_time)]
        return cmd

    def start(self, timeout: float = 30.0) -> None:
        """Start anvil and wait until it answers; raises ChainUnavailable if it does not."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.state_dir / "anvil.log", "ab")  # noqa: SIM115 - owned by the child
        self._proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_stop_with_parent,  # noqa: PLW1509 - one C call, resolved before fork
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = (self.state_dir / "anvil.log").read_text(errors="replace")[-800:]
                self._proc = None
                raise ChainUnavailable(f"anvil exited at start: {tail.strip()}", url=self.url)
            if rpc_chain_id(self.url, timeout=0.5) == self.chain_id:
                (self.state_dir / "anvil.pid").write_text(str(self._proc.pid))
                return
            time.sleep(0.1)
        self.stop()
        raise ChainUnavailable(f"anvil did not answer on {self.url} within {timeout:.0f}s")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the node we started; SIGTERM lets anvil dump its state first."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        (self.state_dir / "anvil.pid").unlink(missing_ok=True)

    def __enter__(self) -> Self:
        self.ensure_running()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(chain: EmbeddedChain) -> None:
    """Run the chain in the foreground until interrupted (``notary chain``)."""
    chain.ensure_running()
    if not chain.started_here:
        print(f"chain already running at {chain.url}", file=sys.stderr)
        return
    try:
        assert chain._proc is not None
        chain._proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        chain.stop()
