"""Report a suite's figures: one line on the terminal (shown even when pytest captures output)
and, when ``NOTARY_FIGURES_DIR`` is set, ``<name>.json`` there for docs/reliability.md."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


def report(request: pytest.FixtureRequest, name: str, line: str, figures: dict[str, Any]) -> None:
    terminal = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if terminal is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # past pytest's output capture
            terminal.write_line("")
            terminal.write_line(line)
    else:
        print(line)
    directory = os.environ.get("NOTARY_FIGURES_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / f"{name}.json").write_text(json.dumps(figures, sort_keys=True) + "\n")
