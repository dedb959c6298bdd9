"""Renewal of RFC 3161 timestamps (RFC 4998 §5.2) over real tokens from OpenSSL's TSA: a root
timestamped under a TSA certificate valid for 3 seconds, renewed under a long-lived one before
it expired, still proves its time once it has expired; the unrenewed token, or one renewed too
late, no longer does; and ``openssl ts -verify -data`` checks each link by hand."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notary.core.timestamp import TimestampReading, check_timestamp
from notary.core.verdict import CheckStatus
from notary.tsa import TimestampAuthority, load_trust_roots, read_token
from tests.support import wait_until
from tests.tsa.conftest import OpenSslTsa, issue_tsa_certificate, start_tsa

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
