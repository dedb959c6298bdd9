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
from notary.bundles.guide.chain import TIMESTAMP_SCRIPT
from notary.bundles.guide.template import script
from notary.chain.embedded import EmbeddedChain
from notary.cli.offline import print_bundle_report
from notary.config import Settings
from notary.core.timestamp import (
    TSA_CHAIN_PATH,
    TimestampReading,
    TokenTrust,
    check_timestamp,
    root_path,
    token_path,
)
from notary.core.verdict import CheckStatus
from notary.service.renewal import renewal_tokens
from notary.tsa import (
    TimestampAuthority,
    TimestampError,
    load_trust_roots,
    read_bundle_timestamps,
    read_token,
)
from storage.db import Batch, session
from tests.bundle.repack import member, names, rezip
from tests.support import REPO, LiveServer, free_port, wait_until
from tests.tsa.conftest import (
    OpenSslTsa,
    issue_tsa_certificate,
    look_alike,
    start_tsa,
    with_carried,
    with_duplicated_extension,
)
from tests.tsa.test_live import run_block, submit, timestamp_block, timestamp_of, unpack
from tests.unit.test_bundle import _facts, _write

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
    # A forger swaps the certificate the token carries (outside the TSA's signature) for a
    # look-alike valid until 2099, keeping the real one where the bundle offers it: the
    # token is refused, not taken to be valid until 2099.
    genuine = x509.load_pem_x509_certificate((renewing.folder / "short.pem").read_bytes())
    assert with_carried(first.response, [genuine]) == first.response  # the helper is exact
    forged = with_carried(first.response, [look_alike(genuine)])
    for offered in ([genuine, *load_trust_roots(renewing.ca)], load_trust_roots(renewing.ca)):
        for roots in (load_trust_roots(renewing.ca), []):
            faked = read_token(forged, path="t.tsr", trust_roots=roots, bundled=offered)
            assert faked.trust is TokenTrust.INVALID, faked
            assert faked.expires is None or faked.expires < datetime.now(UTC), faked
            assert check_timestamp(root, faked, token_present=True,
                                   root_bytes=root).status is CheckStatus.FAIL
    # VERIFY.md's expiry() takes the certificate whose hash the TSA signed, not the carried one.
    (tmp_path / "forged.tsr").write_bytes(forged)
    (tmp_path / "chain.pem").write_bytes((renewing.folder / "short.pem").read_bytes())
    functions = script(TIMESTAMP_SCRIPT, TIMESTAMPS="timestamps", UNTRUSTED="", CHAIN="chain.pem")
    functions = functions[functions.index("seconds() {"):functions.index("link() {")]
    for token_file in ("forged.tsr", "t.tsr"):
        (tmp_path / "t.tsr").write_bytes(first.response)
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", f"{functions}expiry {token_file}"],
                             cwd=tmp_path, env={**os.environ, "TSA_CA": str(renewing.ca)},
                             capture_output=True, text=True, timeout=30, check=False)
        assert run.returncode == 0, run.stderr
        assert int(run.stdout) == int(genuine.not_valid_after_utc.timestamp()), token_file
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


def hostile(response: bytes, folder: Path, name: str = "tsa") -> tuple[bytes, bytes]:
    """``response`` carrying its TSA certificate with a duplicated extension, and the
    tsa-chain.pem (the genuine certificate and its root) that makes its signature verify."""
    chain = (folder / f"{name}.pem").read_bytes() + (folder / "tsa-root.pem").read_bytes()
    genuine = x509.load_pem_x509_certificate((folder / f"{name}.pem").read_bytes())
    return with_carried(response, [with_duplicated_extension(genuine)]), chain


def test_a_hostile_token_is_a_reasoned_failure_not_a_crash(renewing: OpenSslTsa) -> None:
    """A token whose carried certificate makes the libraries raise (here DuplicateExtension,
    no ValueError) is read as a failure with its reason, for a used root or not, with or
    without --tsa-ca: `notary verify` and POST /v1/verify never crash on it."""
    renewing.use_certificate("long")
    root = _facts().items[0].anchor.root
    token = TimestampAuthority(renewing.url).stamp(root).response
    bad, chain = hostile(token, renewing.folder)
    unused = token_path(os.urandom(32))
    for roots in (load_trust_roots(renewing.ca), []):
        readings = read_bundle_timestamps({unused: bad, TSA_CHAIN_PATH: chain}, roots)
        assert readings[unused].problem is not None, readings
        assert "DuplicateExtension" in readings[unused].problem  # type: ignore[operator]
        data = _write(_facts(), extra={token_path(root): bad, root_path(root): root,
                                       unused: bad, TSA_CHAIN_PATH: chain})
        verdict = verify_bundle_file(io.BytesIO(data), tsa_roots=roots).verdict
        check = verdict.check("items[0].rfc3161_timestamp")
        assert check.status is CheckStatus.FAIL and "DuplicateExtension" in check.reason, check
    # The worker's TSA client, asked by a TSA that answers so: refused with the reason.
    renewing.mode = "hostile"
    try:
        for roots in (load_trust_roots(renewing.ca), []):
            with pytest.raises(TimestampError) as refused:
                TimestampAuthority(renewing.url, trust_roots=roots).renew(root, token)
            assert refused.value.code == "tsa_response_invalid"
            assert "DuplicateExtension" in refused.value.message
    finally:
        renewing.mode = "honest"
    # Every truncation of the token's bytes is a reading with a problem, never an exception.
    for cut in range(0, len(token), 7):
        assert read_token(token[:cut], path="t.tsr").problem is not None


def test_the_guide_refuses_an_imprint_hash_notary_verify_refuses(renewing: OpenSslTsa,
                                                                 tmp_path: Path) -> None:
    """VERIFY.md's link() accepts only SHA-256 over a root (SHA-256/384/512 over a token),
    as `notary verify` does: OpenSSL alone would verify a SHA-384 token over the root."""
    renewing.use_certificate("long")
    (tmp_path / "root.bin").write_bytes(os.urandom(32))
    query = subprocess.run(["openssl", "ts", "-query", "-data", "root.bin", "-sha384", "-cert"],
                           cwd=tmp_path, capture_output=True, check=True).stdout
    (tmp_path / "t.tsr").write_bytes(renewing.reply(query))
    functions = script(TIMESTAMP_SCRIPT, TIMESTAMPS="timestamps", UNTRUSTED="", CHAIN="none")
    functions = functions[functions.index("seconds() {"):functions.index("roots=$(")]
    outcomes = {}
    for allowed in ("sha256", "sha256 sha384 sha512"):
        run = subprocess.run(["bash", "-euo", "pipefail", "-c",
                              f"{functions}link t.tsr root.bin '{allowed}'"], cwd=tmp_path,
                             env={**os.environ, "TSA_CA": str(renewing.ca)},
                             capture_output=True, text=True, timeout=30, check=False)
        assert "Verification: OK" in run.stdout, run.stderr
        outcomes[allowed] = run.returncode
    assert outcomes == {"sha256": 1, "sha256 sha384 sha512": 0}


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
        # POST /v1/verify of the bundle with a token the libraries raise on: no 500.
        tsr = f"timestamps/{str(proof['root'])[2:]}.tsr"
        bad, chain = hostile(member(bundle.content, tsr), renewing.folder, "brief")
        served = server.client().post("/v1/verify", files={"bundle": (
            "case.zip", rezip(bundle.content, {tsr: bad, TSA_CHAIN_PATH: chain}),
            "application/zip")})
        assert served.status_code == 200, served.text
        (failed,) = [c for c in served.json()["checks"]
                     if c["name"] == "items[0].rfc3161_timestamp"]
        assert failed["status"] == "fail" and "DuplicateExtension" in failed["reason"], failed
    finally:
        server.stop()
    # An operator renews every root at once (the TSA's key retired): link 2, by the CLI,
    # under a certificate that outlives link 1's; one that does not is refused, as the
    # worker refuses it (the last link's expiry is the proof's).
    def renew_all() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "notary.cli", "timestamps", "renew", "--all", "--reason",
             "key-retired"], env={**os.environ, "PYTHONPATH": str(REPO),
                                  "NOTARY_HOME": str(settings.home),
                                  "NOTARY_TSA_URL": renewing.url,
                                  "NOTARY_TSA_CA_FILE": str(renewing.ca)},
            capture_output=True, text=True, timeout=60, check=False)

    issue_tsa_certificate(renewing.folder, "tsa-root", "longer", seconds=800 * 86400)
    renewing.use_certificate("longer")
    run = renew_all()
    assert run.returncode == 0, run.stderr
    assert f"已续期 / renewed: batch {batch.id}, link renewal-2" in run.stdout
    renewing.use_certificate("long")
    shorter = renew_all()
    assert shorter.returncode != 0 and "tsa_certificate_expiring" in shorter.stderr, shorter
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
    # A look-alike certificate (valid until 2099) in place of the one the expired token
    # carries: VERIFY.md and `notary verify` still find it lapsed, not valid until 2099.
    brief = x509.load_pem_x509_certificate((renewing.folder / "brief.pem").read_bytes())
    forged = with_carried(member(bundle.content, tsr), [look_alike(brief)])
    (folder / tsr).write_bytes(forged)
    fooled = run_block(timestamp_block(folder), folder, renewing.ca)
    assert fooled.returncode != 0 and "no renewal covers it" in fooled.stderr, fooled.stdout
    report = verify_bundle_file(io.BytesIO(rezip(bundle.content, {tsr: forged, link: None})),
                                tsa_roots=load_trust_roots(renewing.ca))
    check = report.verdict.check("items[0].rfc3161_timestamp")
    assert check.status is CheckStatus.FAIL and "look-alike" in check.reason, check
