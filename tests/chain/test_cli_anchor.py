"""`notary anchor` end to end: the real CLI process, the real chain, third-party checks."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from jwcrypto import jwk, jws

from notary.chain.embedded import EmbeddedChain
from notary.chain.registry import Registry, connect
from notary.core.merkle import from_hex32
from tests.support import REPO, SAMPLES

pytestmark = [pytest.mark.chain, pytest.mark.node]


def run_cli(args: list[str], home: Path, anvil: EmbeddedChain, *, user: str | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NOTARY_HOME": str(home), "NOTARY_CHAIN_PORT": str(anvil.port),
           **(extra_env or {})}
    cmd = [sys.executable, "-m", "notary.cli", *args]
    if user is not None:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root for this test"
        cmd = [setpriv, "--reuid", user, "--regid", user, "--clear-groups", *cmd]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def block_number(anvil: EmbeddedChain) -> int:
    return int(connect(anvil.url).eth.block_number)


def test_anchor_two_files_verifiable_by_third_parties(tmp_path: Path, anvil: EmbeddedChain) -> None:
    home = tmp_path / "home"
    files = [SAMPLES / "notice-2026-11-28.pdf", SAMPLES / "agreement-2026-11-28.pdf"]
    out = run_cli(["anchor", *map(str, files), "--case", "HX-2026-1128-ZW"], home, anvil)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 2
    jwks = json.loads(run_cli(["keys"], home, anvil).stdout)
    keyset = jwk.JWKSet.from_json(json.dumps(jwks))
    registry = Registry(connect(rows[0]["rpc_url"]), rows[0]["contract"])
    for row, path in zip(rows, files, strict=True):
        # sha256 equals sha256sum of the file
        sha256sum = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True,
                                   check=True).stdout.split()[0]
        assert row["sha256"] == sha256sum
        # the statement verifies with a third-party JOSE library against the published key
        token = jws.JWS()
        token.deserialize(row["statement"])
        token.verify(keyset.get_key(token.jose_header["kid"]), alg="EdDSA")
        statement = json.loads(token.payload)
        assert statement["sha256"] == sha256sum and statement["file_name"] == path.name
        # the proof verifies with @openzeppelin/merkle-tree and with the contract on chain
        value = [1, "0x" + row["sha256"], "0x" + hashlib.sha256(token.payload).hexdigest()]
        oz = subprocess.run(["node", "tests/node/oz_verify.mjs"], cwd=REPO, text=True,
                            capture_output=True, check=True,
                            input=json.dumps({"root": row["root"], "value": value,
                                              "encoding": ["uint8", "bytes32", "bytes32"],
                                              "proof": row["proof"]}))
        assert json.loads(oz.stdout) == {"valid": True, "leaf": row["leaf"]}
        assert registry.verify_inclusion(from_hex32(row["root"]),
                                         [from_hex32(p) for p in row["proof"]],
                                         from_hex32(row["leaf"]))
        assert row["chain_id"] == 31337 and row["tx_hash"].startswith("0x")
    assert rows[0]["root"] == rows[1]["root"], "one batch for both files"
    # a changed leaf does not verify on chain
    wrong = bytearray(from_hex32(rows[0]["leaf"]))
    wrong[0] ^= 1
    assert not registry.verify_inclusion(from_hex32(rows[0]["root"]),
                                         [from_hex32(p) for p in rows[0]["proof"]], bytes(wrong))


def test_keys_are_private_and_never_printed(tmp_path: Path, anvil: EmbeddedChain) -> None:
    home = tmp_path / "home"
    doc = tmp_path / "doc.txt"
    doc.write_text("instalment agreement")
    out = run_cli(["anchor", str(doc)], home, anvil)
    assert out.returncode == 0, out.stderr
    for key_file in (home / "keys").iterdir():
        if key_file.name == "signing-keys.json":
            # the public key history (no private member) may be world-readable
            assert '"d"' not in key_file.read_text()
            continue
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, key_file
        secret = key_file.read_text().strip()
        body = "".join(line for line in secret.splitlines() if not line.startswith("-----"))
        assert body[:40] not in out.stdout + out.stderr
    assert stat.S_IMODE((home / "keys").stat().st_mode) == 0o700


def test_passphrase_encrypts_keys_at_rest(tmp_path: Path, anvil: EmbeddedChain) -> None:
    home = tmp_path / "home"
    env = {"NOTARY_KEY_PASSPHRASE": "correct horse battery staple"}
    # `notary keys` only reads a home; `notary anchor` (a one-shot) may create one.
    refused = run_cli(["keys"], home, anvil, extra_env=env)
    assert refused.returncode == 2 and "home_not_initialised" in refused.stderr
    doc = tmp_path / "doc.txt"
    doc.write_text("instalment agreement")
    assert run_cli(["anchor", str(doc)], home, anvil, extra_env=env).returncode == 0
    first = run_cli(["keys"], home, anvil, extra_env=env)
    assert first.returncode == 0, first.stderr
    pem = (home / "keys" / "signing-key.pem").read_text()
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    again = run_cli(["keys"], home, anvil, extra_env=env)
    assert again.stdout == first.stdout, "the same key is loaded, not a new one made"
    wrong = run_cli(["keys"], home, anvil, extra_env={"NOTARY_KEY_PASSPHRASE": "wrong"})
    assert wrong.returncode != 0 and "passphrase" in wrong.stderr.lower()
    assert len(wrong.stderr.strip().splitlines()) == 1


NOBODY = "65534"


@pytest.mark.parametrize("case", ["missing", "directory", "unreadable"])
def test_bad_input_exits_non_zero_and_anchors_nothing(tmp_path: Path, anvil: EmbeddedChain,
                                                      case: str) -> None:
    # root reads everything: for "unreadable", run the CLI as 'nobody' in a directory it can
    # reach (pytest's own tmp root is 0700), so the permission really bites.
    user = NOBODY if case == "unreadable" and os.geteuid() == 0 else None
    work = Path(tempfile.mkdtemp(prefix="notary-cli-")) if user else tmp_path
    work.chmod(0o777)
    home = work / "home"
    good = work / "good.pdf"
    good.write_bytes(b"%PDF fine")
    good.chmod(0o644)
    if case == "missing":
        bad = work / "no-such-file.pdf"
    elif case == "directory":
        bad = work / "a-dir"
        bad.mkdir()
    else:
        bad = work / "locked.wav"
        bad.write_bytes(b"RIFF....")
        bad.chmod(0)
    before = block_number(anvil)
    out = run_cli(["anchor", str(good), str(bad)], home, anvil, user=user)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0], out.stderr
    assert {"missing": "no such file", "directory": "directory",
            "unreadable": "permission denied"}[case] in lines[0]
    assert block_number(anvil) == before, "nothing was sent to the chain"
    assert not (home / "chain" / "deployment.json").exists()
    if user:
        shutil.rmtree(work)
