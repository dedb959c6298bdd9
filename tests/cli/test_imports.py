"""A court's or a collector's machine needs neither web3 nor a database library: the client
commands and the offline verifier must not load them, on import or on the paths they run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.integration

HEAVY = ("web3", "eth_abi", "eth_account", "sqlalchemy", "sqlmodel", "storage",
         "notary.chain", "notary.service")


def loaded_after(code: str, cwd: Path) -> list[str]:
    script = (f"import sys\n{code}\n"
              f"print('\\n'.join(m for m in sys.modules if m.startswith({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True,
                         text=True, timeout=60, check=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    return [line for line in out.stdout.splitlines() if line]


def test_importing_the_client_and_offline_commands_loads_no_chain_or_database(
        tmp_path: Path) -> None:
    assert loaded_after("import notary.cli.client, notary.cli.offline, notary.client, "
                        "notary.cli.trustsource", tmp_path) == []


def test_running_client_and_offline_paths_loads_no_chain_or_database(tmp_path: Path) -> None:
    # the paths really run: a hash asked of an unreachable service (exit 3), a file that is
    # not a bundle read as one (exit 2), an export to an unreachable service (exit 3)
    garbage = tmp_path / "not-a-bundle.zip"
    garbage.write_bytes(b"PK\x03\x04 definitely not a proof bundle")
    code = f"""
import os
os.environ["NOTARY_URL"] = "http://127.0.0.1:9"
from notary.cli import main
assert main(["verify", "--sha256", "ab" * 32]) == 3
assert main(["verify", {str(garbage)!r}, "--bundle"]) == 2
assert main(["verify", {str(garbage)!r}, "--trust-root", {str(tmp_path / "root.json")!r}]) == 2
assert main(["verify", {str(garbage)!r}, "--trust-root-fingerprint", "0" * 32]) == 2
assert main(["status", "ev_" + "0" * 32, "--wait", "--timeout", "1"]) == 3
assert main(["export", "--case", "C-1", "-o", {str(tmp_path / "out.zip")!r}]) == 3
"""
    assert loaded_after(code, tmp_path) == []
