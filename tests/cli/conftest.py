"""The `notary` command as a user runs it: a real process, real files, a live service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import REPO, LiveServer


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any NOTARY_* setting of the machine running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def run_notary(*args: str, env: dict[str, str], cwd: Path,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "notary.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def client_env(server: LiveServer, key: str | None = None) -> dict[str, str]:
    """A user's machine: only the service's URL and an API key."""
    return clean_env(NOTARY_URL=server.url, NOTARY_API_KEY=key or server.admin_key)


def server_env(server: LiveServer) -> dict[str, str]:
    """The service's machine: its NOTARY_HOME (and database, when not the default)."""
    env = clean_env(NOTARY_HOME=str(server.settings.home))
    if server.settings.database_url:
        env["NOTARY_DATABASE_URL"] = server.settings.database_url
    return env
