"""notary.core.timestamp alone: what a reading of a token proves about one Merkle root. The
readings are built here (the core never parses tokens), one per rule, named for what is
wrong; and the adapter's reading of bytes that are no token at all."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from notary.bundles.archive import read_archive
from notary.core.bundle import Bundle, open_bundle, verify_bundle
from notary.core.timestamp import (
    TimestampReading,
    TokenTrust,
    check_timestamp,
    is_timestamp_document,
    renewal_path,
    root_path,
    token_path,
)
from notary.core.verdict import Check, CheckStatus, Verdict
from notary.tsa import read_token
from tests.unit.test_bundle import _facts, _write

pytestmark = pytest.mark.unit

ROOT = bytes(range(32))
PATH = token_path(ROOT)
GOOD = TimestampReading(
    PATH, hash_algorithm="sha256", imprint=hashlib.sha256(ROOT).digest(),
    gen_time=datetime(2026, 11, 29, 15, 49, 45, tzinfo=UTC), tsa="CN=Test TSA", serial=2,
    nonce=7, trust=TokenTrust.TRUSTED,
    trust_detail="the root 'CN=Test TSA Root' (SHA-256 fingerprint 00ff)")


def _check(reading: TimestampReading | None, *, present: bool = True,
           root_bytes: bytes | None = ROOT) -> Check:
    return check_timestamp(ROOT, reading, token_present=present, root_bytes=root_bytes)


def test_paths() -> None:
    assert PATH == f"timestamps/{ROOT.hex()}.tsr"
    assert root_path(ROOT) == f"timestamps/{ROOT.hex()}.bin"
    assert is_timestamp_document(PATH) and is_timestamp_document("timestamps/tsa-chain.pem")
    for other in ("timestamps/x.tsr", f"timestamps/{ROOT.hex().upper()}.tsr",
                  f"items/001/{ROOT.hex()}.tsr", f"timestamps/{ROOT.hex()}.tsr.bak"):
        assert not is_timestamp_document(other), other


def test_a_trusted_token_passes_and_shows_its_time() -> None:
    check = _check(GOOD)
    assert check.name == "rfc3161_timestamp" and check.status is CheckStatus.PASS
    assert "2026-11-29T15:49:45.000000Z" in check.reason and "'CN=Test TSA'" in check.reason
    assert "CN=Test TSA Root" in check.reason and check.reason.endswith(".")


@pytest.mark.parametrize(("name", "reading", "kwargs", "status", "words"), [
    ("no-token", None, {"present": False}, CheckStatus.SKIP, "no RFC 3161 timestamp"),
    ("token-not-read", None, {}, CheckStatus.SKIP, "was not read"),
    ("self-declared-root", replace(GOOD, trust=TokenTrust.SELF_DECLARED), {}, CheckStatus.SKIP,
     "which the bundle itself carries"),
    ("no-root-at-all", replace(GOOD, trust=TokenTrust.UNCHECKED, trust_detail="none"), {},
     CheckStatus.SKIP, "were not checked"),
    ("not-granted", TimestampReading(PATH, problem="its status is 2 (not granted: busy)."), {},
     CheckStatus.FAIL, "not a granted"),
    ("modified-imprint[0]", replace(GOOD, imprint=b"\x01" + GOOD.imprint[1:]), {},  # type: ignore[index]
     CheckStatus.FAIL, "the token is for other data"),
    ("sha512-imprint", replace(GOOD, hash_algorithm="sha512"), {}, CheckStatus.FAIL,
     "only SHA-256"),
    ("missing-root-bin", GOOD, {"root_bytes": None}, CheckStatus.FAIL, "is missing"),
    ("modified-root-bin[31]", GOOD, {"root_bytes": ROOT[:31] + b"\x00"}, CheckStatus.FAIL,
     "does not hold the 32 bytes"),
    ("bad-signature", replace(GOOD, trust=TokenTrust.INVALID, trust_detail="bad signature"), {},
     CheckStatus.FAIL, "signature does not hold: bad signature."),
])
def test_each_rule(name: str, reading: TimestampReading | None, kwargs: dict[str, object],
                   status: CheckStatus, words: str) -> None:
    check = _check(reading, **kwargs)  # type: ignore[arg-type]
    assert check.status is status, (name, check)
    assert words in check.reason, (name, check.reason)
    assert check.reason.endswith("."), check.reason


def test_an_unreadable_root_is_not_checked() -> None:
    check = check_timestamp(None, GOOD, token_present=True, root_bytes=ROOT)
    assert check.status is CheckStatus.SKIP and "could not be read" in check.reason


@pytest.mark.parametrize("data", [
    b"", b"garbage" * 10, b"\x30\x82\xff\xff" + b"\x00" * 20,
    b"\x30\x03\x02\x01\x00",  # a status that is not a PKIStatusInfo
    b"\x30\x05\x30\x03\x02\x01\x00",  # granted, but no token
], ids=["empty", "garbage", "truncated", "bad-status", "granted-without-token"])
def test_bytes_that_are_no_token_are_a_problem_not_an_exception(data: bytes) -> None:
    reading = read_token(data, path=PATH)
    assert reading.problem is not None and reading.gen_time is None
    check = _check(reading)
    assert check.status is CheckStatus.FAIL and "not a granted" in check.reason


# -- in a bundle (built in memory as in tests/unit/test_bundle.py) ----------------------------


def _bundle_verdict(extra: dict[str, bytes],
                    readings: dict[str, TimestampReading] | None) -> tuple[Verdict, Bundle]:
    bundle = open_bundle(read_archive(io.BytesIO(_write(_facts(), extra=extra))))
    return verify_bundle(bundle, timestamps=readings).verdict, bundle


def test_a_bundle_without_timestamps_has_no_timestamp_check() -> None:
    """Nothing claimed, nothing checked: the verdict of a bundle without ``timestamps/`` is
    what it was before timestamps existed."""
    verdict, _ = _bundle_verdict({}, {})
    assert not [c for c in verdict.checks if "rfc3161" in c.name]
    assert verdict.result == "valid"


def test_in_a_bundle_with_timestamps_each_item_is_checked() -> None:
    root = _facts().items[0].anchor.root
    verdict, bundle = _bundle_verdict({token_path(root): b"not a token",
                                       root_path(root): root}, None)
    names = [c.name for c in verdict.checks if "rfc3161" in c.name]
    assert names == ["items[0].rfc3161_timestamp", "items[1].rfc3161_timestamp"]
    # The caller did not read the tokens: said, not guessed.
    assert "was not read" in verdict.check(names[0]).reason
    # Read by the adapter: bytes that are no token fail, for both items of that root.
    readings = {token_path(root): read_token(b"not a token", path=token_path(root))}
    read = verify_bundle(bundle, timestamps=readings).verdict
    assert read.result == "invalid"
    assert [read.check(n).status for n in names] == [CheckStatus.FAIL, CheckStatus.FAIL]


def test_an_item_whose_root_has_no_token_is_skipped() -> None:
    verdict, _ = _bundle_verdict({"timestamps/tsa-chain.pem": b""}, {})
    check = verdict.check("items[0].rfc3161_timestamp")
    assert check.status is CheckStatus.SKIP and "There is no RFC 3161 timestamp" in check.reason
    assert verdict.result == "valid" and verdict.qualified


def _link(n: int, previous: bytes, *, at: datetime, expires: datetime,
          trust: TokenTrust = TokenTrust.TRUSTED) -> TimestampReading:
    return replace(GOOD, path=renewal_path(ROOT, n), imprint=hashlib.sha256(previous).digest(),
                   gen_time=at, expires=expires, trust=trust)


def test_the_renewal_rule_of_rfc_4998() -> None:
    """A token holds while some link of its unbroken renewal chain has a valid certificate."""
    day = timedelta(days=1)
    t0, now = GOOD.gen_time, datetime(2027, 6, 1, tzinfo=UTC)
    assert t0 is not None
    token = replace(GOOD, expires=t0 + 10 * day, checked_at=now)  # expired long ago
    assert renewal_path(ROOT, 1) == f"timestamps/{ROOT.hex()}.renewal-1.tsr"
    assert is_timestamp_document(renewal_path(ROOT, 99))
    assert not is_timestamp_document(f"timestamps/{ROOT.hex()}.renewal-0.tsr")
    previous = b"the DER of the token"
    in_time = _link(1, previous, at=t0 + 5 * day, expires=now + day)
    late = _link(1, previous, at=t0 + 11 * day, expires=now + day)
    unchecked = replace(in_time, trust=TokenTrust.UNCHECKED, trust_detail="no root")
    cases = [
        ([], CheckStatus.SKIP, "no renewal covers this timestamp"),
        ([(in_time, previous)], CheckStatus.PASS, "renewed by"),
        ([(late, previous)], CheckStatus.SKIP, "after the TSA certificate"),
        ([(unchecked, previous)], CheckStatus.SKIP, "partial check"),
        ([(in_time, previous + b"!")], CheckStatus.FAIL, "renews other data"),
        ([(None, previous)], CheckStatus.SKIP, "was not read"),
    ]
    for renewals, status, words in cases:
        check = check_timestamp(ROOT, token, token_present=True, root_bytes=ROOT,
                                renewals=renewals)
        assert check.status is status and words in check.reason, (words, check.reason)
    # Unexpired: the token holds on its own, and its later links are not needed.
    fresh = replace(token, expires=now + day)
    assert _check(fresh).status is CheckStatus.PASS
    assert check_timestamp(ROOT, fresh, token_present=True, root_bytes=ROOT,
                           renewals=[(late, previous)]).status is CheckStatus.PASS
