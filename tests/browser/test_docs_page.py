"""The OpenAPI page ``/docs`` works offline: Swagger UI's script, styles and icon are served
by the service itself (pinned PyPI package ``fastapi-swagger``), not by a CDN. Loaded in
Debian's Chromium (playwright-core, tests/browser/docs_page.mjs) with every other origin
cut off, the page must render the API's operations, ask nothing of another origin and
break no rule of its Content-Security-Policy."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_verify_page import chromium
from tests.support import REPO, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.api, pytest.mark.chain]


def open_docs(server: LiveServer, shot: Path) -> dict[str, Any]:
    job = {"chromium": chromium(), "base": server.url, "screenshot": str(shot)}
    out = subprocess.run(["node", "tests/browser/docs_page.mjs"], cwd=REPO, input=json.dumps(job),
                         capture_output=True, text=True, timeout=180, check=False)
    assert out.returncode == 0, out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def test_docs_render_offline_from_the_service(server: LiveServer, tmp_path: Path) -> None:
    report = open_docs(server, tmp_path / "docs.png")
    assert report["status"] == 200
    assert report["offOrigin"] == [], report["offOrigin"]  # nothing from a CDN
    assert all(url.startswith(server.url + "/") for url in report["requests"]), report["requests"]
    assert f"{server.url}/docs/assets/swagger-ui-bundle.js" in report["requests"]
    assert report["console"] == [], report["console"]  # no CSP violation, no script error
    assert report["title"] == "notary" and report["infoTitle"].startswith("notary")
    assert report["operations"] >= 10 and "/v1/evidence" in report["paths"], report["paths"]
    assert report["errors"] == []
    policy = report["policy"]
    assert "cdn" not in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert "script-src 'self' 'sha256-" in policy
    shot = Path(report["screenshot"]).read_bytes()
    assert shot.startswith(b"\x89PNG") and len(shot) > 20_000  # a page, not a blank


def test_docs_assets_are_the_listed_ones_only(server: LiveServer) -> None:
    http = server.client()
    css = http.get("/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".swagger-ui" in css.text
    for name in ("../../pyproject.toml", "main.py", "__init__.py", "swagger-ui.js.map"):
        missing = http.get(f"/docs/assets/{name}")
        assert missing.status_code == 404, name
        assert missing.json()["code"] == "not_found"
    assert http.get("/redoc").status_code == 404  # not served: it would need a CDN
