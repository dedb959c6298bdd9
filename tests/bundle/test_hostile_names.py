"""Issue 13 #4: a file name (or a certifier's name) chosen to attack whoever follows the
bundle's VERIFY.md. The name is accepted and signed as sent, but the original is stored under
a shell- and URL-safe name, VERIFY.md quotes every path and escapes every user value, running
its shell blocks as printed creates nothing, and `notary verify` refuses a bundle whose
original has an unsafe name. Real HTTP, real anvil, real bash."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from notary.bundles.check import verify_bundle_file
from notary.chain.embedded import EmbeddedChain
from notary.chain.observe import chain_reader
from notary.chain.registry import connect
from notary.config import Settings
from notary.core.statement import canonical_json
from tests.bundle.repack import member, names, rezip
from tests.bundle.test_verify_guide import run_guide, served_fingerprint
from tests.intake.files import form, pdf_bytes, statement_of, wav_bytes
from tests.support import LiveServer, free_port, wait_until

pytestmark = [pytest.mark.api, pytest.mark.chain]

CASE = "HN-2026-1"
SHELL_NAME = "rec'; touch PWNED_x; echo '.wav"
HTML_NAME = "<img src=x onerror=alert(1)> [pay](javascript:alert(1)) $(touch PWNED_y).pdf"
CERTIFIER = {"certifier_name": "<img src=x onerror=alert(2)>",
             "certifier_title": "[records](javascript:alert(3))",
             "certifier_organisation": "`touch PWNED_z` & Co | Ltd"}


class Hostile:
    def __init__(self, server: LiveServer, chain_url: str, answers: list[dict], bundle: bytes):
        self.server, self.chain_url, self.answers, self.bundle = server, chain_url, answers, bundle

    def verify(self, data: bytes):  # type: ignore[no-untyped-def]
        w3 = connect(self.chain_url)
        return verify_bundle_file(io.BytesIO(data), chain=chain_reader(w3))


@pytest.fixture(scope="module")
def hostile(anvil: EmbeddedChain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    settings = Settings(home=tmp_path_factory.mktemp("hostile-names"), port=free_port(),
                        chain_port=anvil.port, batch_seconds=3600, batch_max=2,
                        chain_timeout=20.0)
    server = LiveServer(settings)
    try:
        http = server.admin()
        answers = []
        for name, kind, data in ((SHELL_NAME, "call_recording", wav_bytes()),
                                 (HTML_NAME, "notice", pdf_bytes())):
            resp = http.post("/v1/evidence", files=form({"case_id": CASE, "kind": kind}, data,
                                                        name, "application/octet-stream"))
            assert resp.status_code == 201, resp.text
            answers.append(resp.json())
        wait_until(lambda: all(http.get(f"/v1/evidence/{a['id']}").json()["status"] == "anchored"
                               for a in answers), timeout=60)
        resp = http.get(f"/v1/cases/{CASE}/bundle", params=CERTIFIER)
        assert resp.status_code == 200, resp.text
        yield Hostile(server, anvil.url, answers, resp.content)
    finally:
        server.stop()


def test_the_statement_keeps_the_name_as_sent(hostile: Hostile) -> None:
    assert [statement_of(a)["file_name"] for a in hostile.answers] == [SHELL_NAME, HTML_NAME]


def test_originals_are_stored_under_safe_names(hostile: Hostile) -> None:
    originals = sorted(n for n in names(hostile.bundle) if "/original/" in n)
    assert originals == ["items/001/original/original.wav", "items/002/original/original.pdf"]
    manifest = json.loads(member(hostile.bundle, "manifest.json"))
    assert manifest["bundle_version"] == 3
    assert member(hostile.bundle, "mimetype") == b"application/vnd.notary.bundle.v3+zip"


def test_running_verify_md_as_printed_creates_nothing(hostile: Hostile, tmp_path: Path) -> None:
    out = run_guide(hostile.bundle, tmp_path / "work", rpc=hostile.chain_url,
                    fingerprint=served_fingerprint(hostile.server))
    assert out.failed is None, out.text
    assert "items/001/original/original.wav: OK" in out.stdout and "FAILED" not in out.text
    assert not list(tmp_path.rglob("PWNED*"))


def test_verify_md_shows_user_values_as_inert_text(hostile: Hostile) -> None:
    text = member(hostile.bundle, "VERIFY.md").decode()
    assert "<img" not in text and "](javascript:" not in text
    assert re.search(r"(?<!\\)`touch", text) is None  # no code span: the backtick is escaped
    assert "\\`touch PWNED\\_z\\` &amp; Co \\| Ltd" in text
    assert "&lt;img src\\=x onerror\\=alert\\(1\\)&gt;" in text  # shown, escaped
    assert "rec\\'\\; touch PWNED\\_x\\; echo \\'\\.wav" in text
    assert "&lt;img src\\=x onerror\\=alert\\(2\\)&gt;" in text
    # No shell line names an original: the steps read every path from the signed manifest.
    shell = "\n".join(re.findall(r"^```sh\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE))
    assert "PWNED" not in shell and "items/001/original" not in shell


def test_notary_verify_accepts_the_bundle(hostile: Hostile) -> None:
    verdict = hostile.verify(hostile.bundle).verdict
    assert verdict.result == "valid", verdict.failed


@pytest.mark.parametrize("unsafe", ["rec'; touch PWNED_x; echo '.wav", "a b.wav", "-rf.wav",
                                    "录音.wav"])
def test_notary_verify_refuses_an_original_with_an_unsafe_name(hostile: Hostile,
                                                               unsafe: str) -> None:
    old = "items/001/original/original.wav"
    new = f"items/001/original/{unsafe}"
    manifest = json.loads(member(hostile.bundle, "manifest.json"))
    for entry in manifest["files"]:
        if entry["path"] == old:
            entry["path"] = new
    manifest["files"].sort(key=lambda e: e["path"])
    manifest["items"][0]["original"] = new
    forged = rezip(hostile.bundle, {"manifest.json": canonical_json(manifest)},
                   rename={old: new})
    with zipfile.ZipFile(io.BytesIO(forged)) as z:
        assert new in z.namelist()
    verdict = hostile.verify(forged).verdict
    assert verdict.result != "valid"
    check = verdict.check("manifest")
    assert check.status.value == "fail" and "safe form" in check.reason, check.reason
