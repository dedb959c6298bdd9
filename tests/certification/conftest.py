"""One real anchored case exported with a court certification: the three sample files of case
HX-2026-1128-ZW notarised over HTTP by a live service on the session's anvil, then exported
by ``notary export --certifier-...`` naming a qualified person and the public half of an
Ed25519 key made by openssl. Built once per session (the export renders PDFs) and shared
read-only: tests sign and tamper with copies."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from notary.chain.embedded import EmbeddedChain
from notary.config import Settings
from tests.bundle.conftest import CASE, notary_cli, submit_case
from tests.support import LiveServer, free_port

PERSON = {"name": "王晓明 (Wang Xiaoming)", "title": "Custodian of Records | 档案管理员",
          "organisation": "华信资产管理有限公司 Huaxin Asset Management Co., Ltd."}


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("openssl")
    assert found, "openssl is required (make test installs it)"
    return subprocess.run([found, *args], capture_output=True, text=True, check=True, timeout=30)


def ed25519_key(folder: Path, name: str) -> tuple[Path, Path]:
    """A fresh Ed25519 key pair made by openssl: (private PKCS#8 PEM, public PEM)."""
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    openssl("genpkey", "-algorithm", "ed25519", "-out", str(private))
    openssl("pkey", "-in", str(private), "-pubout", "-out", str(public))
    return private, public


@dataclass
class Certified:
    """The live service, the case's evidence ids, the person's key files, and the case bundle
    exported with a certification naming that key."""

    server: LiveServer
    chain_url: str
    evidence_ids: list[str]
    private_key: Path
    public_key: Path
    bundle: Path

    def cli(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return notary_cli(self.server, *args, cwd=cwd)


@pytest.fixture(scope="session")
def certified(anvil: EmbeddedChain,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Certified]:
    settings = Settings(home=tmp_path_factory.mktemp("certification-home"), port=free_port(),
                        chain_port=anvil.port, batch_seconds=3600, batch_max=3,
                        chain_timeout=20.0)
    server = LiveServer(settings)
    try:
        ids = submit_case(server)
        folder = tmp_path_factory.mktemp("certification")
        private, public = ed25519_key(folder, "custodian")
        out = folder / "case.zip"
        run = notary_cli(server, "export", "--case", CASE, "-o", str(out),
                         "--certifier-name", PERSON["name"], "--certifier-title", PERSON["title"],
                         "--certifier-organisation", PERSON["organisation"],
                         "--certifier-key", str(public), cwd=folder)
        assert run.returncode == 0, run.stderr
        yield Certified(server, anvil.url, ids, private, public, out)
    finally:
        server.stop()
