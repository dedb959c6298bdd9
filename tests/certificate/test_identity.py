"""The identity lines of a certificate (issue 14), from facts made by the real core: the
operator as the trust root states it (or the settings, said so, when it could not be made), the
tenant's and submitter's names as claims, statements without them, and the first lines for a
local development chain or a development deployment on a public chain."""

from __future__ import annotations

import dataclasses
import re

import pytest

from notary.certificate import Deployment, item_certificate
from notary.certificate.html import item_html
from notary.certificate.identity import (
    CLAIM_NOTE,
    DEV_CHAIN_NOTICE,
    DEV_DEPLOYMENT_NOTICE,
    FINGERPRINT_NOTE,
)
from tests.certificate.facts import SUBMITTER, TENANT, VERIFY_URL, SignedCase, signed_case

OPERATOR = Deployment(operator_name="华信数据科技有限公司", operator_registration="91310000MA1FL0XX1X",
                      operator_country="CN", trust_root_fingerprint="3f2a-9c1b-0d4e-77a1-5b6c-"
                      "e2f0-1a2b-3c4d", development=False, chain_id=1)


@pytest.fixture(scope="module")
def case() -> SignedCase:
    return signed_case()


def text_of(html: str) -> str:
    html = re.sub(r"<style>.*?</style>|<title>.*?</title>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def rows(cert) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    section = cert.sections[0]
    return {r.label.en: (r.value, r.note) for r in section.rows}


def test_operator_from_the_trust_root_tenant_and_submitter_as_claims(case: SignedCase) -> None:
    facts = case.facts(2)
    public = dataclasses.replace(facts, anchor=dataclasses.replace(facts.anchor, chain_id=1))
    cert = item_certificate(public, verify_url=VERIFY_URL, deployment=OPERATOR)
    assert cert.notices == ()  # a public chain, a named operator: nothing to warn of
    lines = rows(cert)
    assert lines["Operator"][0] == OPERATOR.operator_name
    assert "from the signed trust root" in (lines["Operator"][1] or "")
    assert "91310000MA1FL0XX1X" in (lines["Operator"][1] or "")
    assert lines["Trust-root fingerprint"] == (OPERATOR.trust_root_fingerprint,
                                               f"{FINGERPRINT_NOTE.zh} / {FINGERPRINT_NOTE.en}")
    assert lines["Tenant (on whose behalf)"] == (TENANT, f"{CLAIM_NOTE.zh} / {CLAIM_NOTE.en}")
    assert lines["Submitted by"][0] == SUBMITTER and CLAIM_NOTE.en in (lines["Submitted by"][1] or "")
    text = text_of(item_html(cert))
    assert "本地开发链" not in text.split("Operator, tenant and submitter")[0]
    assert f"信任根指纹 Trust root {OPERATOR.trust_root_fingerprint}" in text


def test_a_statement_without_names_and_a_deployment_without_trust_root(case: SignedCase) -> None:
    unavailable = dataclasses.replace(OPERATOR, trust_root_fingerprint=None)
    cert = item_certificate(case.facts(0), verify_url=VERIFY_URL, deployment=unavailable)
    lines = rows(cert)
    assert "the trust root was unavailable" in (lines["Operator"][1] or "")
    assert lines["Trust-root fingerprint"][0] == "暂不可得 / unavailable"
    assert lines["Tenant (on whose behalf)"][0] == "存证声明未记录 / not recorded in the statement"
    assert CLAIM_NOTE.zh not in (lines["Tenant (on whose behalf)"][1] or "")
    key_note = "API 密钥 apikey:0f3c9a7e / API key apikey:0f3c9a7e"
    assert lines["Submitted by"] == ("未命名 / unnamed", key_note)
    nobody = item_certificate(case.facts(0), verify_url=VERIFY_URL)
    assert rows(nobody)["Operator"][0] == "未提供 / not given"


def test_first_lines_for_development_chains_and_deployments(case: SignedCase) -> None:
    local = item_certificate(case.facts(1), verify_url=VERIFY_URL, deployment=OPERATOR)
    assert local.notices == (DEV_CHAIN_NOTICE,)  # chain id 31337, whatever the deployment says
    html = item_html(local)
    assert text_of(html).strip().startswith(DEV_CHAIN_NOTICE.zh)
    facts = case.facts(1)
    sepolia = dataclasses.replace(facts, anchor=dataclasses.replace(facts.anchor,
                                                                     chain_id=11155111))
    dev = dataclasses.replace(OPERATOR, development=True, chain_id=11155111)
    assert item_certificate(sepolia, verify_url=VERIFY_URL, deployment=dev).notices == (
        DEV_DEPLOYMENT_NOTICE,)
