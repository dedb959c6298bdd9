"""Renewal of RFC 3161 timestamps (RFC 4998 §5.2) over real tokens from OpenSSL's TSA: a root
timestamped under a TSA certificate valid for 3 seconds, renewed under a long-lived one before
it expired, still proves its time once it has expired; the unrenewed token, or one renewed too
late, no longer does; and ``openssl ts -verify -data`` checks each link by hand."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from sqlmodel import select

from notary.bundles.check import verify_bundle_file
from notary.chain.embedded import EmbeddedChain
from notary.cli.offline import print_bundle_report
from notary.config import Settings
from notary.core.timestamp import TimestampReading, check_timestamp
from notary.core.verdict import CheckStatus
from notary.service.renewal import renewal_tokens
from notary.tsa import TimestampAuthority, load_trust_roots, read_token
from storage.db import Batch, session
from tests.bundle.repack import member, names
from tests.support import REPO, LiveServer, free_port, wait_until
from tests.tsa.conftest import OpenSslTsa, issue_tsa_certificate, start_tsa
from tests.tsa.test_live import run_block, submit, timestamp_block, timestamp_of, unpack

pytestmark = pytest.mark.api


@pytest.fixture(scope="module")
def renewing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSslTsa]:
    server = start_tsa(tmp_path_factory.mktemp("renewing-tsa"))
    for ext in ("pem", "key"):
        (server.folder / f"long.{ext}").write_bytes((server.folder / f"tsa.{ext}").read_bytes())
    yield server
    server.stop()


def read(der: bytes, tsa: OpenSslTsa, path: str) -> TimestampReading:
    return read_token(der, path=path, trust_roots=load_trust_roots(tsa.ca))


def test_a_renewed_timestamp_outlives_its_expired_certificate(renewing: OpenSslTsa,
                                                             tmp_path: Path) -> None:
    authority = TimestampAuthority(renewing.url, trust_roots=load_trust_roots(renewing.ca))
    root = os.urandom(32)
    # Step 1: the root, under a TSA certificate that expires in 3 seconds.
    issue_tsa_certificate(renewing.folder, "tsa-root", "short", seconds=3)
    renewing.use_certificate("short")
    first = authority.stamp(root)
    assert first.expires is not None
    # While it is valid, the token proves its time on its own.
    fresh = check_timestamp(root, read(first.response, renewing, "t.tsr"), token_present=True,
                            root_bytes=root)
    assert fresh.status is CheckStatus.PASS, fresh.reason
    # Step 2: the TSA got a long-lived certificate; the token is renewed before it expires.
    renewing.use_certificate("long")
    renewal = authority.renew(root, first.response)
    assert renewal.gen_time < first.expires < renewal.expires  # type: ignore[operator]
    # Step 3: the short certificate expires (awaited, not slept for).
    wait_until(lambda: datetime.now(UTC) > first.expires, timeout=10)  # type: ignore[operator]
    late = authority.renew(root, first.response)  # made after the expiry: covers nothing
    token = read(first.response, renewing, "t.tsr")
    renewed = check_timestamp(root, token, token_present=True, root_bytes=root,
                              renewals=[(read(renewal.response, renewing, "r1.tsr"),
                                         first.response)])
    assert renewed.status is CheckStatus.PASS, renewed.reason
    assert "renewed by r1.tsr" in renewed.reason
    stronger = authority.renew(root, renewal.response, "sha512")  # SHA-256 deprecated
    twice = check_timestamp(root, token, token_present=True, root_bytes=root, renewals=[
        (read(renewal.response, renewing, "r1.tsr"), first.response),
        (read(stronger.response, renewing, "r2.tsr"), renewal.response)])
    assert twice.status is CheckStatus.PASS and "r2.tsr (TSA" in twice.reason, twice.reason
    assert "sha512" in twice.reason
    assert token.gen_time == first.gen_time  # the root keeps its original time
    alone = check_timestamp(root, token, token_present=True, root_bytes=root)
    assert alone.status is CheckStatus.SKIP
    assert "expired on" in alone.reason and "no renewal covers this timestamp" in alone.reason
    assert "过期" in alone.reason
    too_late = check_timestamp(root, token, token_present=True, root_bytes=root,
                               renewals=[(read(late.response, renewing, "r1.tsr"),
                                          first.response)])
    assert too_late.status is CheckStatus.SKIP and "after the TSA certificate" in too_late.reason
    other = check_timestamp(root, token, token_present=True, root_bytes=root,
                            renewals=[(read(renewal.response, renewing, "r1.tsr"),
                                       first.response + b"\0")])
    assert other.status is CheckStatus.FAIL and "renews other data" in other.reason
    # Step 4: by hand: each link is over the bytes of the file before it.
    (tmp_path / "t.tsr").write_bytes(first.response)
    (tmp_path / "r1.tsr").write_bytes(renewal.response)
    run = subprocess.run(["openssl", "ts", "-verify", "-data", "t.tsr", "-in", "r1.tsr",
                          "-CAfile", str(renewing.ca)], cwd=tmp_path, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0 and "Verification: OK" in run.stdout, run.stderr


@pytest.mark.chain
def test_the_worker_renews_and_the_bundle_verifies_after_expiry(
        anvil: EmbeddedChain, renewing: OpenSslTsa, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The service end to end: the worker timestamps a root under a short-lived certificate,
    refuses to renew it under the same one (and says so in /v1/health), renews it once the
    TSA has a long-lived one; the bundle carries the link, and once the first certificate
    has expired both `notary verify` and VERIFY.md's openssl steps accept it, dated at the
    first token."""
    renewing.use_certificate("long")
    settings = Settings(home=tmp_path / "home", port=free_port(), chain_port=anvil.port,
                        batch_seconds=0.2, chain_timeout=20.0, tsa_url=renewing.url,
                        tsa_ca_file=renewing.ca, tsa_timeout=5.0, tsa_renew_retry=0.3)
    server = LiveServer(settings)
    try:
        issue_tsa_certificate(renewing.folder, "tsa-root", "brief", seconds=6)
        renewing.use_certificate("brief")
        expires = x509.load_pem_x509_certificate(
            (renewing.folder / "brief.pem").read_bytes()).not_valid_after_utc
        evidence_id = submit(server, "TSA-RENEW-1")
        proof = wait_until(lambda: timestamp_of(server, evidence_id))
        assert isinstance(proof, dict)

        def error() -> str | None:
            return server.admin().get("/v1/health").json()["anchoring"]["timestamp_error"]

        assert str(wait_until(error)).startswith("tsa_certificate_expiring")
        renewing.use_certificate("long")
        with session(server.service.engine) as s:
            (batch,) = s.exec(select(Batch).where(Batch.root == proof["root"])).all()
        assert batch.id is not None
        wait_until(lambda: renewal_tokens(server.service.engine, batch.id))  # type: ignore[arg-type]
        assert wait_until(lambda: error() is None)
        bundle = server.admin().get("/v1/cases/TSA-RENEW-1/bundle")
        assert bundle.status_code == 200, bundle.text
    finally:
        server.stop()
    # An operator renews every root at once (the TSA's key retired): link 2, by the CLI.
    run = subprocess.run([sys.executable, "-m", "notary.cli", "timestamps", "renew", "--all",
                          "--reason", "key-retired"],
                         env={**os.environ, "PYTHONPATH": str(REPO),
                              "NOTARY_HOME": str(settings.home), "NOTARY_TSA_URL": renewing.url,
                              "NOTARY_TSA_CA_FILE": str(renewing.ca)},
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert f"已续期 / renewed: batch {batch.id}, link renewal-2" in run.stdout
    assert len(renewal_tokens(server.service.engine, batch.id)) == 2
    wait_until(lambda: datetime.now(UTC) > expires, timeout=10)  # then verify
    hexroot = str(proof["root"])[2:]
    link = f"timestamps/{hexroot}.renewal-1.tsr"
    listed = {f["path"] for f in json.loads(member(bundle.content, "manifest.json"))["files"]}
    assert link in listed and link in names(bundle.content)
    report = verify_bundle_file(io.BytesIO(bundle.content),
                                tsa_roots=load_trust_roots(renewing.ca))
    check = report.verdict.check("items[0].rfc3161_timestamp")
    assert check.status is CheckStatus.PASS, check.reason
    assert f"renewed by {link}" in check.reason
    (item,) = report.facts["items"]
    assert item["rfc3161_time"] == proof["timestamp"]["gen_time"]  # type: ignore[index]
    assert [c["path"] for c in item["rfc3161_chain"]] == [f"timestamps/{hexroot}.tsr", link]
    print_bundle_report(report.to_json(), rpc=None)  # what `notary verify` prints
    shown = capsys.readouterr().out
    assert "时间戳续期链 / RFC 3161 renewal chain (RFC 4998):" in shown
    assert f"  {link}: genTime" in shown
    folder = unpack(bundle.content, tmp_path / "bundle")
    out = run_block(timestamp_block(folder), folder, renewing.ca)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{link} renews timestamps/{hexroot}.tsr before its TSA certificate expired: OK" \
        in out.stdout
    # Without the link, VERIFY.md refuses the expired token.
    (folder / link).unlink()
    lapsed = run_block(timestamp_block(folder), folder, renewing.ca)
    assert lapsed.returncode != 0 and "no renewal covers it" in lapsed.stderr
