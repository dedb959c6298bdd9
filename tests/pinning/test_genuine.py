"""The positive side: the genuine case bundle, pinned to its deployment's trust root and
checked against the chain, is "valid", and its answers say who operated the deployment, for
which tenant (a Chinese legal name) and who submitted, in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pinning.conftest import (
    OPERATOR,
    OPERATOR_REGISTRATION,
    SUBMITTER,
    TENANT,
    WELL_KNOWN,
    Deployment,
    answer,
    cli_verify,
    describe,
    failed,
    verify,
)

pytestmark = [pytest.mark.chain]


def test_genuine_case_bundle_is_valid_and_names_who(genuine: Deployment) -> None:
    report = verify(genuine.case_bundle, trust_root=genuine.trust_root, rpc=genuine.chain_url)
    assert report["result"] == "valid", describe(report)
    assert not failed(report)
    for question in ("integrity", "existence_time", "issuer", "completeness"):
        assert answer(report, question)["status"] == "pass", describe(report)
    time = answer(report, "existence_time")
    assert time["chain_id"] == 31337 and time["time"], time
    issuer = answer(report, "issuer")
    assert issuer["pinned"] is True
    assert issuer["trust_root_fingerprint"] == genuine.root.fingerprint
    assert issuer["bundled_trust_root_fingerprint"] == genuine.root.fingerprint
    assert issuer["operator"]["name"] == OPERATOR
    assert issuer["operator"]["registration"] == OPERATOR_REGISTRATION
    assert issuer["operator"]["country"] == "CN"
    assert issuer["deployment"]["registry"].lower() == genuine.registry.address.lower()
    assert issuer["deployment"]["chain_id"] == 31337
    assert issuer["deployment"]["development"] is True
    assert issuer["tenants"] == [TENANT]
    assert [s["name"] for s in issuer["submitters"]] == [SUBMITTER]
    # In words, in both languages: the operator and the tenant by their legal names, and
    # which of these facts are the tenant's own claims.
    for lang in ("en", "zh"):
        assert OPERATOR in issuer["reason"][lang], issuer["reason"]
        assert TENANT in issuer["reason"][lang], issuer["reason"]
        assert SUBMITTER in issuer["reason"][lang], issuer["reason"]
    assert issuer["claims"]["en"] and issuer["claims"]["zh"]


def test_genuine_item_bundle_is_valid_qualified(genuine: Deployment) -> None:
    """One entry of the case: completeness cannot be told from it, so "valid", qualified."""
    report = verify(genuine.item_bundle, trust_root=genuine.trust_root, rpc=genuine.chain_url)
    assert report["result"] == "valid" and report["qualified"] is True, describe(report)
    assert answer(report, "completeness")["status"] == "unknown"
    assert answer(report, "issuer")["tenants"] == [TENANT]


def test_genuine_without_trust_root_is_not_established(genuine: Deployment) -> None:
    """What was established without a trust root: consistent, and existed no later than
    the block time on chain 31337; who issued it is not."""
    report = verify(genuine.case_bundle, rpc=genuine.chain_url)
    assert report["result"] == "not_established", describe(report)
    assert not failed(report)
    assert answer(report, "existence_time")["status"] == "pass"
    issuer = answer(report, "issuer")
    assert issuer["status"] == "unknown" and issuer["pinned"] is False
    assert issuer["trust_root_fingerprint"] is None
    assert issuer["bundled_trust_root_fingerprint"] == genuine.root.fingerprint


def test_cli_verifies_the_genuine_bundle(genuine: Deployment, tmp_path: Path) -> None:
    code, report = cli_verify(tmp_path, genuine.case_bundle, trust_root=genuine.trust_root,
                              rpc=genuine.chain_url)
    assert code == 0 and report["result"] == "valid", describe(report)
    assert answer(report, "issuer")["operator"]["name"] == OPERATOR
    assert answer(report, "issuer")["tenants"] == [TENANT]
    code, report = cli_verify(tmp_path, genuine.case_bundle,
                              trust_root=genuine.server.url + WELL_KNOWN, rpc=genuine.chain_url)
    assert code == 0 and report["result"] == "valid", describe(report)
    code, report = cli_verify(tmp_path, genuine.case_bundle, rpc=genuine.chain_url)
    assert code == 5 and report["result"] == "not_established", describe(report)
