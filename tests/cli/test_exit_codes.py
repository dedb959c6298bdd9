"""Every command ends with a code from the one table (notary/cli/exits.py): bad input is 2
and is caught here before anything is sent; an unreachable service is 3; server-side
commands refuse, with 2, a NOTARY_HOME that holds no service instead of creating one."""

from __future__ import annotations

from pathlib import Path

import pytest

from notary.cli.exits import TABLE, Exit
from tests.cli.conftest import clean_env, run_notary
from tests.support import REPO, free_port

pytestmark = pytest.mark.integration

EV = "ev_" + "0" * 32


@pytest.fixture
def unreachable(tmp_path: Path) -> dict[str, str]:
    """A client pointed at a port where nothing listens."""
    return clean_env(NOTARY_URL=f"http://127.0.0.1:{free_port()}", NOTARY_API_KEY="nk_x")


@pytest.mark.parametrize("args", [
    [],
    ["no-such-command"],
    ["submit", "f.pdf", "--case", "C"],  # --kind missing
    ["submit", "f.pdf", "--case", "C", "--kind", "selfie"],
    ["export", "-o", "x.zip"],  # neither --case nor --evidence
    ["check-code", "--count", "many"],
    ["status", EV, "--timeout", "soon"],
    ["share", "create"],
])
def test_argument_errors_exit_2(args: list[str], tmp_path: Path,
                                unreachable: dict[str, str]) -> None:
    run = run_notary(*args, env=unreachable, cwd=tmp_path)
    assert run.returncode == Exit.BAD_INPUT, run.stderr
    assert "usage:" in run.stderr and run.stdout == ""


@pytest.mark.parametrize(("args", "code", "says"), [
    (["submit", "{doc}", "--case", "C", "--kind", "notice", "--captured-at", "yesterday"],
     "captured_at_invalid", "RFC 3339"),
    (["submit", "{doc}", "--case", "C", "--kind", "notice", "--captured-at",
      "2026-02-30T10:00:00Z"], "captured_at_invalid", "--captured-at"),
    (["submit", "{missing}", "--case", "C", "--kind", "notice"], "file_missing", "no such file"),
    (["submit", "{doc}", "--case", "C", "--kind", "notice", "--wait", "--timeout", "0"],
     "timeout_invalid", "--timeout"),
    (["status", "ev_nope"], "evidence_id_invalid", "not an evidence id"),
    (["status", "EV_" + "0" * 32], "evidence_id_invalid", "ev_"),
    (["verify", "--sha256", "1234"], "sha256_invalid", "64 hex digits"),
    (["verify", "--sha256", "g" * 64], "sha256_invalid", "64 hex digits"),
    (["verify"], "argument_missing", "FILE or --sha256"),
    (["verify", "{missing}"], "file_missing", "no such file"),
    (["verify", "{doc}", "--sha256", "a" * 64], "argument_conflict", "not both"),
    (["verify", "{doc}", "--bundle"], "bundle_unreadable", "{doc}"),
    (["verify", "{doc}", "--trust-root-fingerprint", "abcd"], "fingerprint_invalid",
     "32 hex digits"),
    (["verify", "{doc}", "--trust-root", "{missing}"], "trust_root_missing", "no such file"),
    (["verify", "--sha256", "a" * 64, "--trust-root", "{doc}"], "argument_conflict",
     "--sha256 asks the service"),
    (["export", "--evidence", "42", "-o", "x.zip"], "evidence_id_invalid", "evidence id"),
    (["export", "--case", "C", "-o", "{doc}"], "output_exists", "--force"),
    (["share", "create", "--case", "C", "--expires-in", "a week"], "duration_invalid", "7d"),
    (["share", "create", "--case", "C", "--expires-in", "30s"], "share_ttl_invalid", "1 minute"),
    (["share", "revoke", "--case", "C", "not-an-id"], "share_id_invalid", "16 hex"),
    (["shred", "ev_x", "--reason", "done"], "evidence_id_invalid", "evidence id"),
    (["check-code", "--count", "0"], "count_invalid", "--count"),
])
def test_bad_input_is_caught_locally_with_2(args: list[str], code: str, says: str,
                                            tmp_path: Path, unreachable: dict[str, str]) -> None:
    # the service is unreachable: a 3 here would mean the input was sent before being checked
    doc = tmp_path / "doc.pdf"
    doc.write_bytes(b"%PDF-1.7 a notice")
    fill = {"doc": str(doc), "missing": str(tmp_path / "nope.pdf")}
    run = run_notary(*[a.format(**fill) for a in args], env=unreachable, cwd=tmp_path)
    assert run.returncode == Exit.BAD_INPUT, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"error {code}: ") and says.format(**fill) in lines[0], lines[0]
    assert "Traceback" not in run.stderr and run.stdout == ""


@pytest.mark.parametrize("args", [
    ["status", EV],
    ["status", EV, "--wait"],
    ["verify", "--sha256", "ab" * 32],
    ["submit", "{doc}", "--case", "C", "--kind", "notice", "--quiet"],
    ["export", "--case", "C", "-o", "out.zip"],
    ["share", "list", "--case", "C"],
    ["hold", EV, "--reason", "litigation"],
])
def test_an_unreachable_service_is_3(args: list[str], tmp_path: Path,
                                     unreachable: dict[str, str]) -> None:
    doc = tmp_path / "doc.pdf"
    doc.write_bytes(b"%PDF-1.7 a notice")
    run = run_notary(*[a.format(doc=doc) for a in args], env=unreachable, cwd=tmp_path)
    assert run.returncode == Exit.UNREACHABLE, (run.stdout, run.stderr)
    assert run.stderr.startswith("error service_unavailable: cannot reach http://127.0.0.1:")
    assert not (tmp_path / "out.zip").exists() and not (tmp_path / "out.zip.part").exists()


@pytest.mark.parametrize("args", [
    ["signing-key", "show"],
    ["signing-key", "rotate"],
    ["api-keys", "create", "--role", "collector"],
    ["api-keys", "list"],
    ["api-keys", "revoke", "0123456789abcdef"],
    ["tenants", "list"],
    ["tenants", "create", "华信资产管理有限公司", "--slug", "huaxin"],
    ["item-key", "export", EV],
    # the spellings before issue 15
    ["keys"],
    ["keys", "create", "--role", "collector"],
    ["key", "export", EV],
    ["worker"],
    ["db", "upgrade"],
])
@pytest.mark.parametrize("where", ["default ./var", "NOTARY_HOME"])
def test_server_side_commands_refuse_an_uninitialised_home(args: list[str], where: str,
                                                           tmp_path: Path) -> None:
    home = tmp_path / "elsewhere"
    env = clean_env() if where == "default ./var" else clean_env(NOTARY_HOME=str(home))
    looked_at = tmp_path / "var" if where == "default ./var" else home
    run = run_notary(*args, env=env, cwd=tmp_path, timeout=60)
    assert run.returncode == Exit.BAD_INPUT, (run.stdout, run.stderr)
    assert run.stdout == ""
    line = run.stderr.strip()
    assert line.startswith("error home_not_initialised: ") and "\n" not in line
    assert str(looked_at) in line and "NOTARY_HOME=" in line and "notary run" in line
    assert "no initialised NOTARY_HOME" in line and "未找到" in line
    assert not (tmp_path / "var").exists() and not home.exists(), "nothing was created"


def test_the_readme_lists_the_exit_code_table() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    for code, meaning in TABLE:
        assert f"| {int(code)} | {meaning} |" in readme


def test_not_established_has_its_own_code_5() -> None:
    # nothing failed but no trust root was pinned: neither valid (0) nor invalid (1)
    assert Exit.NOT_ESTABLISHED == 5
    meaning = dict(TABLE)[Exit.NOT_ESTABLISHED]
    assert "not established" in meaning and "--trust-root" in meaning
    assert len({int(code) for code, _ in TABLE}) == len(TABLE)
