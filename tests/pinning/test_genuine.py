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


def test_another_tenant_of_the_deployment_is_named_as_itself(genuine: Deployment) -> None:
    """Someone else who is a customer of the same deployment gets bundles the trust root
    accepts (they are notarised here), but the issuer answer names that tenant by its own
    legal name, and the agent by the name its admin gave the key: never the genuine
    tenant. A debtor shown a scam notice sees whose notice it is."""
    from notary.service.apikeys import create_key
    from notary.service.tenancy import create_tenant
    from tests.pinning.conftest import notarise

    engine = genuine.server.service.engine
    other = create_tenant(engine, "深圳某某信息咨询有限公司").id
    _, collector = create_key(engine, "collector", tenant=other, name="外呼系统 7")
    _, admin = create_key(engine, "admin", tenant=other)
    # Three notices: the deployment's worker anchors as soon as three wait (batch_max).
    notices = [(f"notice-{i}.pdf", b"%PDF-1.4\n% notice " + bytes([48 + i]) + b"\n%%EOF\n",
                "notice", "2026-11-28T10:00:00+08:00") for i in range(3)]
    evidence = notarise(genuine.server, collector, notices, case_id="SZ-2026-0001")[0]
    bundle = genuine.server.client(admin).get(f"/v1/evidence/{evidence}/bundle")
    assert bundle.status_code == 200, bundle.text
    report = verify(bundle.content, trust_root=genuine.trust_root, rpc=genuine.chain_url)
    assert report["result"] == "valid", describe(report)
    issuer = answer(report, "issuer")
    assert issuer["tenants"] == ["深圳某某信息咨询有限公司"]
    assert [s["name"] for s in issuer["submitters"]] == ["外呼系统 7"]
    assert TENANT not in issuer["reason"]["zh"] and TENANT not in issuer["reason"]["en"]
    assert "深圳某某信息咨询有限公司" in issuer["reason"]["zh"]
