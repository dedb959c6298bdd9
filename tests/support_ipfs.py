"""A real IPFS node for the tests: the js-ipfs 0.66 daemon from node_modules, offline, on 127.0.0.1.

Why js-ipfs: Kubo cannot be installed on machines that reach only the package registries
(its npm wrapper downloads the binary), while js-ipfs is plain npm and speaks the same
``/api/v0`` RPC API that ``ipfshttpclient`` talks to.

The repository lives in a directory of the caller's choice and survives :meth:`IpfsDaemon.stop`,
so :meth:`IpfsDaemon.start` after a stop brings back the same node with the same pins, on the
same ports: what a restart of an operator's node looks like.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from multiformats import CID

from tests.support import REPO, free_port

JSIPFS = REPO / "node_modules" / ".bin" / "jsipfs"
POLYFILL = REPO / "tests" / "node" / "ipfs-polyfill.cjs"


class IpfsDaemon:
    """``jsipfs init --profile test`` once, then ``jsipfs daemon --offline`` on free ports."""

    def __init__(self, repo: Path, *, start_timeout: float = 60.0) -> None:
        self.repo = repo
        self.start_timeout = start_timeout
        self.api_port = free_port()
        self.gateway_port = free_port()
        self.rpc_port = free_port()
        self.log_path = repo.parent / f"{repo.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def multiaddr(self) -> str:
        """The API address as ``ipfshttpclient`` and NOTARY_IPFS_API take it."""
        return f"/ip4/127.0.0.1/tcp/{self.api_port}/http"

    @property
    def url(self) -> str:
        """The API's base URL, for plain HTTP clients (curl, httpx)."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["IPFS_PATH"] = str(self.repo)
        env["NODE_OPTIONS"] = f"--require {POLYFILL} {env.get('NODE_OPTIONS', '')}".strip()
        return env

    def init(self) -> None:
        """Create the repository (test profile: no bootstrap peers, no MDNS) and bind every
        listener to 127.0.0.1 on our ports, with no swarm listener at all."""
        if not JSIPFS.exists():
            raise RuntimeError(f"{JSIPFS} is missing: run `npm ci` (package.json pins ipfs)")
        subprocess.run([str(JSIPFS), "init", "--profile", "test"], env=self._env(),
                       check=True, capture_output=True, timeout=120)
        config_path = self.repo / "config"
        config = json.loads(config_path.read_text())
        config["Addresses"].update(
            API=f"/ip4/127.0.0.1/tcp/{self.api_port}",
            Gateway=f"/ip4/127.0.0.1/tcp/{self.gateway_port}",
            RPC=f"/ip4/127.0.0.1/tcp/{self.rpc_port}",
            Swarm=[],
        )
        config_path.write_text(json.dumps(config, indent=2))

    def start(self) -> None:
        """Start the daemon and wait until its API answers; raises with the log's tail if it
        exits or does not answer within `start_timeout` seconds."""
        if self.running:
            return
        log = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                [str(JSIPFS), "daemon", "--offline"], env=self._env(), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"jsipfs daemon exited ({self._proc.returncode}):\n"
                                   + self.log_tail())
            try:
                if httpx.post(f"{self.url}/api/v0/version", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"jsipfs daemon did not answer in {self.start_timeout}s:\n"
                           + self.log_tail())

    def stop(self, timeout: float = 20.0) -> None:
        """``POST /api/v0/shutdown`` and wait for the process to exit; if it does not, end
        it (SIGTERM, then SIGKILL) by its process group, which only it and its children are in."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                httpx.post(f"{self.url}/api/v0/shutdown", timeout=5)
            except httpx.TransportError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(proc.pid, sig)
                        proc.wait(5)
                        break
                    except (ProcessLookupError, subprocess.TimeoutExpired):
                        continue
        self._proc = None
        # The API port must be free again before we report the node as down.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                httpx.post(f"{self.url}/api/v0/version", timeout=1)
            except httpx.TransportError:
                return
            time.sleep(0.1)
        raise RuntimeError(f"something still answers on {self.url} after the daemon stopped")

    # -- the node's own answers, over plain HTTP (not through the ipfshttpclient under test) --

    def rpc(self, command: str, *, timeout: float = 120, **params: str) -> httpx.Response:
        """``POST /api/v0/<command>?params``; raises for an HTTP error status."""
        resp = httpx.post(f"{self.url}/api/v0/{command}", params=params, timeout=timeout)
        resp.raise_for_status()
        return resp

    def pinned(self) -> set[CID]:
        """Every recursive pin on the node, as decoded CIDs (compare with ``CID.decode``)."""
        keys = self.rpc("pin/ls", type="recursive").json().get("Keys", {})
        return {CID.decode(key) for key in keys}

    def cat(self, cid: str) -> bytes:
        """The bytes the node serves for `cid`."""
        return self.rpc("cat", arg=cid).content

    def add(self, data: bytes, *, pin: bool = False) -> CID:
        """``add --cid-version 1 --raw-leaves`` (256 KiB chunks) as any IPFS user would run
        it, in the node's default multibase (base58 for js-ipfs); returns the CID it reports."""
        resp = httpx.post(
            f"{self.url}/api/v0/add",
            params={"cid-version": "1", "raw-leaves": "true", "chunker": "size-262144",
                    "pin": str(pin).lower()},
            files={"file": ("blob", data, "application/octet-stream")}, timeout=300,
        )
        resp.raise_for_status()
        return CID.decode(json.loads(resp.text.splitlines()[-1])["Hash"])

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"
