"""One real anchored case for the bundle suites: the three sample files of case
HX-2026-1128-ZW notarised over HTTP by a live service on the session's anvil, then exported
as bundles through the API. Built once per session (exports render PDF certificates, which
takes seconds) and shared read-only by the tests, which tamper with copies."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from notary.bundles.check import ChainReader, verify_bundle_file
from notary.chain.embedded import EmbeddedChain
from notary.chain.observe import chain_reader
from notary.chain.registry import connect
from notary.config import Settings
from notary.core.bundle import BundleVerification
from notary.core.trustroot import VerifiedTrustRoot, verify_trust_root
from tests.support import REPO, SAMPLES, LiveServer, free_port, wait_until

CASE = "HX-2026-1128-ZW"
SAMPLE_FILES = [
    ("call-2026-11-28-0930.wav", "call_recording", "2026-11-28T09:30:00+08:00"),
    ("notice-2026-11-28.pdf", "notice", "2026-11-28T10:00:00+08:00"),
    ("agreement-2026-11-28.pdf", "agreement", "2026-11-28T11:00:00+08:00"),
]


@dataclass
class Exported:
    """The live service, the case's evidence ids, and its bundles as exported."""

    server: LiveServer
    chain_url: str
    evidence_ids: list[str]
    case_bundle: bytes  # the whole case, with originals

    def chain(self) -> ChainReader:
        return chain_reader(connect(self.chain_url), self.chain_url)

    def trust_root(self) -> VerifiedTrustRoot:
        """The service's trust root as a verifier gets it: the well-known URL, checked
        against the fingerprint /v1/keys gives."""
        http = self.server.client()
        fingerprint = http.get("/v1/keys").json()["trust_root_fingerprint"]
        return verify_trust_root(http.get("/.well-known/notary-trust-root.json").content,
                                 fingerprint)

    def verify(self, data: bytes, *, online: bool = True,
               pinned: bool = False) -> BundleVerification:
        """Verify bundle bytes as `notary verify` does, with the chain (default) or offline,
        against the service's trust root when ``pinned``."""
        return verify_bundle_file(io.BytesIO(data), chain=self.chain() if online else None,
                                  trust_root=self.trust_root() if pinned else None)


def submit_case(server: LiveServer, case_id: str = CASE) -> list[str]:
    http = server.admin()
    ids = []
    for name, kind, captured in SAMPLE_FILES:
        with (SAMPLES / name).open("rb") as fh:
            resp = http.post("/v1/evidence", files={
                "metadata": (None, json.dumps({"case_id": case_id, "kind": kind,
                                               "captured_at": captured}), "application/json"),
                "file": (name, fh, "application/octet-stream"),
            })
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    wait_until(lambda: all(http.get(f"/v1/evidence/{i}").json()["status"] == "anchored"
                           for i in ids))
    # and a checkpoint of the log holds them (signed in the anchoring cycle, just after the
    # anchor): a bundle exported before it carries no log part (docs/bundle-format.md §4.8)
    log = server.service.translog
    assert log is not None
    wait_until(lambda: log.bundle_part(ids) is not None)
    return ids


@pytest.fixture(scope="session")
def exported(anvil: EmbeddedChain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    # One batch of exactly the three items (the worker anchors as soon as three wait), so
    # every inclusion proof has at least one step, whatever the machine's speed.
    settings = Settings(home=tmp_path_factory.mktemp("bundle-home"), port=free_port(),
                        chain_port=anvil.port, batch_seconds=3600, batch_max=3,
                        chain_timeout=20.0)
    server = LiveServer(settings)
    try:
        ids = submit_case(server)
        # The case is exported as a user would: `notary export` over HTTP (GET
        # /v1/cases/{case}/bundle), streamed to a file.
        out = tmp_path_factory.mktemp("export") / "case.zip"
        run = notary_cli(server, "export", "--case", CASE, "-o", str(out), cwd=out.parent)
        assert run.returncode == 0, run.stderr
        assert f"wrote {out}" in run.stderr
        yield Exported(server, anvil.url, ids, out.read_bytes())
    finally:
        server.stop()


def notary_cli(server: LiveServer, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real `notary` command, as a process, talking to ``server`` as its admin."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NOTARY_URL": server.url,
           "NOTARY_API_KEY": server.admin_key}
    return subprocess.run([sys.executable, "-m", "notary.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="session")
def item_bundle(exported: Exported) -> bytes:
    """Entry 2 of the case alone, hashes only, fetched with an auditor's key (which may
    export hashes-only bundles, not originals)."""
    from notary.service.apikeys import create_key

    _, token = create_key(exported.server.service.engine, "auditor", label="bundle tests")
    resp = exported.server.client(token).get(f"/v1/evidence/{exported.evidence_ids[1]}/bundle",
                                             params={"hashes_only": "true"})
    assert resp.status_code == 200, resp.text
    return resp.content
