"""notary.tsa against OpenSSL's real TSA over HTTP (no chain): a granted token over SHA-256 of
the root that ``openssl ts -verify`` accepts too, and every answer a faulty TSA could give
refused before anything is stored."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notary.config import Settings
from notary.core.errors import InputError
from notary.core.timestamp import TokenTrust
from notary.tsa import TimestampAuthority, TimestampError, load_trust_roots, read_token
from tests.tsa.conftest import OpenSslTsa, openssl

pytestmark = pytest.mark.integration


def test_a_granted_token_over_the_root_that_openssl_accepts(tsa: OpenSslTsa,
                                                            tmp_path: Path) -> None:
    root = os.urandom(32)
    authority = TimestampAuthority(tsa.url, trust_roots=load_trust_roots(tsa.ca))
    stamp = authority.stamp(root)
    assert abs(stamp.gen_time - datetime.now(UTC)) < timedelta(minutes=1)
    (tmp_path / "root.bin").write_bytes(root)
    (tmp_path / "root.tsr").write_bytes(stamp.response)
    run = openssl("ts", "-verify", "-data", "root.bin", "-in", "root.tsr",
                  "-CAfile", str(tsa.ca), cwd=tmp_path)
    assert b"Verification: OK" in run.stdout
    reading = read_token(stamp.response, path="root.tsr", trust_roots=load_trust_roots(tsa.ca))
    assert reading.trust is TokenTrust.TRUSTED, reading
    assert reading.imprint == hashlib.sha256(root).digest()
    assert reading.hash_algorithm == "sha256" and reading.gen_time == stamp.gen_time
    assert reading.tsa is not None and "CN=Test TSA" in reading.tsa
    assert "CN=Test TSA Root" in reading.trust_detail


def test_without_trust_roots_the_answer_is_kept_unchecked(tsa: OpenSslTsa) -> None:
    """No NOTARY_TSA_CA_FILE: form, imprint and nonce are checked; the signature cannot be
    (nothing to chain it to), which the reading says."""
    stamp = TimestampAuthority(tsa.url).stamp(os.urandom(32))
    reading = read_token(stamp.response, path="x.tsr")
    assert reading.trust is TokenTrust.UNCHECKED and reading.problem is None


def test_a_token_from_an_untrusted_tsa_is_refused(tsa: OpenSslTsa) -> None:
    authority = TimestampAuthority(tsa.url, trust_roots=load_trust_roots(tsa.other_ca))
    with pytest.raises(TimestampError) as caught:
        authority.stamp(os.urandom(32))
    assert caught.value.code == "tsa_response_invalid"
    assert "signature does not hold" in caught.value.message


@pytest.mark.parametrize(("mode", "code", "words"), [
    ("other_data", "tsa_response_invalid", "the token is for other data"),
    ("replay", "tsa_response_invalid", "is not the request's"),
    ("http_error", "tsa_unavailable", "answered HTTP 500"),
])
def test_a_misbehaving_tsa_is_refused(tsa: OpenSslTsa, mode: str, code: str,
                                      words: str) -> None:
    authority = TimestampAuthority(tsa.url, trust_roots=load_trust_roots(tsa.ca))
    root = os.urandom(32)
    authority.stamp(root)  # an honest answer first (what a replay sends again)
    tsa.mode = mode  # type: ignore[assignment]
    try:
        with pytest.raises(TimestampError) as caught:
            authority.stamp(root)
    finally:
        tsa.mode = "honest"
    assert caught.value.code == code and words in caught.value.message, caught.value.message


def test_a_tsa_that_is_down(tsa: OpenSslTsa) -> None:
    authority = TimestampAuthority(tsa.url, timeout=2.0)
    tsa.stop()
    try:
        with pytest.raises(TimestampError) as caught:
            authority.stamp(os.urandom(32))
    finally:
        tsa.start()
    assert caught.value.code == "tsa_unavailable" and "did not answer" in caught.value.message
    assert authority.stamp(os.urandom(32)).response  # back up: answers again


def test_an_unreadable_trust_root_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(InputError) as caught:
        load_trust_roots(bad)
    assert caught.value.code == "tsa_ca_invalid" and str(bad) in caught.value.message


def test_settings(tmp_path: Path, tsa: OpenSslTsa) -> None:
    assert TimestampAuthority.from_settings(Settings(home=tmp_path)) is None  # off by default
    configured = TimestampAuthority.from_settings(
        Settings(home=tmp_path, tsa_url=tsa.url, tsa_ca_file=tsa.ca, tsa_timeout=3.0))
    assert configured is not None and configured.timeout == 3.0
    assert [c.subject.rfc4514_string() for c in configured.trust_roots] == [
        "CN=Test TSA Root,O=notary tests"]
    with pytest.raises(InputError) as caught:
        TimestampAuthority.from_settings(Settings(home=tmp_path, tsa_url="ftp://tsa.example"))
    assert caught.value.code == "config_invalid"
