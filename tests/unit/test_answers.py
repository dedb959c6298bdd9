"""The five answers and the overall result (notary.core.answers) from checks written by hand:
without a pinned trust root nothing is ever "valid"; with one, integrity, time and issuer must
pass; every answer has its reason in English and Chinese."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from notary.core.answers import QUESTIONS, BundleVerification, answer_bundle, overall_result
from notary.core.trustroot import VerifiedTrustRoot
from notary.core.verdict import Check, CheckStatus, Verdict


def _vectors() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "vectors" / "trust-root" / "make_vectors.py"
    spec = importlib.util.spec_from_file_location("trust_root_vectors_answers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _vectors()
PINNED = VerifiedTrustRoot(GEN.ROOT, GEN.ROOT.fingerprint, GEN.CURRENT.kid)
P, F, S = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP
ITEM_PARTS = ("statement_signature", "receipt_signature", "key_validity", "file_hash",
              "merkle_proof", "anchor_record", "chain_anchor", "custody")


def all_checks(n: int = 2, *, pinned: bool = True, **overrides: CheckStatus) -> list[Check]:
    names = ["keys", "manifest", "manifest_signature"]
    for i in range(n):
        names += [f"items[{i}].{p}" for p in ITEM_PARTS]
    names.append("case_sequence")
    if pinned:
        names += ["issuer.trust_root", "issuer.keys", "issuer.chain"]
        names += [f"items[{i}].issuer" for i in range(n)]
    return [Check(name, overrides.get(name.replace("[", "_").replace("]", "").replace(".", "_"),
                                      P), f"reason of {name}") for name in names]


def facts(n: int = 2, scope: str = "case") -> dict[str, Any]:
    return {"scope": scope, "case_id": "HX-1", "created_at": "2026-12-04T10:00:00.000000Z",
            "hashes_only": False,
            "items": [{"path": f"items/{i + 1:03d}", "anchor": {
                "chain_id": 8453, "block_timestamp": 1_796_378_400 + 60 * i}} for i in range(n)]}


STATEMENTS = [SimpleNamespace(submitter="apikey:76a891f7fa09", tenant_name="某某资产管理有限公司",
                              submitter_name="工号 1024"),
              SimpleNamespace(submitter="apikey:76a891f7fa09", tenant_name="某某资产管理有限公司",
                              submitter_name="工号 1024")]


def verify(checks: list[Check], *, pinned: bool = True, scope: str = "case",
           n: int = 2) -> BundleVerification:
    verdict = Verdict(checks)
    root = PINNED if pinned else None
    answers = answer_bundle(verdict, facts(n, scope), trust_root=root,
                            statements=STATEMENTS[:n],  # type: ignore[arg-type]
                            bundled_fingerprint=GEN.ROOT.fingerprint)
    return BundleVerification(verdict, facts(n, scope), answers, pinned=pinned)


def by(result: BundleVerification) -> dict[str, str]:
    return {a.question: a.status for a in result.answers}


def test_a_genuine_pinned_bundle_is_valid_and_names_who() -> None:
    result = verify(all_checks())
    assert result.result == "valid" and not result.qualified
    assert by(result) == dict.fromkeys(QUESTIONS, "pass")
    issuer = result.answer("issuer").to_json()
    assert issuer["pinned"] is True and issuer["trust_root_fingerprint"] == GEN.ROOT.fingerprint
    assert issuer["operator"]["name"] == "上海某某数据科技有限公司"
    assert issuer["deployment"] == {"public_url": "https://notary.example.cn", "chain_id": 8453,
                                    "registry": GEN.ROOT.registry.address, "development": False}
    assert issuer["tenants"] == ["某某资产管理有限公司"]
    assert issuer["submitters"] == [{"submitter": "apikey:76a891f7fa09", "name": "工号 1024"}]
    assert "上海某某数据科技有限公司" in issuer["reason"]["en"]
    assert "某某资产管理有限公司" in issuer["reason"]["zh"] and "claims" in issuer["claims"]["en"]
    time = result.answer("existence_time").to_json()
    assert time["time"] == "2026-12-04T10:01:00Z" and time["chain_id"] == 8453
    assert "2026-12-04T10:00:00Z" in time["reason"]["en"], "the earliest is mentioned too"


def test_the_report_format() -> None:
    report = verify(all_checks()).to_json()
    assert list(report) == ["result", "qualified", "answers", "checks", "facts"]
    assert [a["question"] for a in report["answers"]] == list(QUESTIONS)
    for answer in report["answers"]:
        assert answer["status"] in ("pass", "fail", "unknown")
        assert answer["reason"]["en"] and answer["reason"]["zh"]
        assert all(isinstance(c, str) for c in answer["checks"])
    integrity = report["answers"][0]["checks"]
    assert "manifest" in integrity and "items[1].file_hash" in integrity
    assert "keys" not in integrity, "pinned: the keys belong to the issuer"
    assert "keys" in report["answers"][2]["checks"]
    assert report["checks"][0] == {"name": "keys", "status": "pass", "reason": "reason of keys"}


def test_without_a_trust_root_never_valid_but_says_what_was_established() -> None:
    result = verify(all_checks(pinned=False), pinned=False)
    assert result.result == "not_established" and not result.qualified
    issuer = result.answer("issuer")
    assert issuer.status == "unknown" and issuer.extra["pinned"] is False
    assert issuer.extra["operator"] is None and issuer.extra["trust_root_fingerprint"] is None
    assert issuer.extra["bundled_trust_root_fingerprint"] == GEN.ROOT.fingerprint
    assert "Not established" in issuer.reason_en and "未确认" in issuer.reason_zh
    assert "internally consistent" in issuer.reason_en
    assert "no later than 2026-12-04T10:01:00Z on chain 8453" in issuer.reason_en
    assert GEN.ROOT.fingerprint in issuer.reason_en and "not trusted" in issuer.reason_en
    assert "keys" in result.answer("integrity").checks, "unpinned: the bundle's own keys"


def test_without_a_trust_root_offline_the_time_is_not_claimed() -> None:
    checks = all_checks(pinned=False, items_0_chain_anchor=S, items_1_chain_anchor=S)
    result = verify(checks, pinned=False)
    assert result.result == "not_established"
    assert result.answer("existence_time").status == "unknown"
    assert "no later than" not in result.answer("issuer").reason_en


def test_any_failed_check_is_invalid_pinned_or_not() -> None:
    for pinned in (True, False):
        result = verify(all_checks(pinned=pinned, items_1_merkle_proof=F), pinned=pinned)
        assert result.result == "invalid"
        integrity = result.answer("integrity")
        assert integrity.status == "fail" and "items[1].merkle_proof" in integrity.reason_en
        assert "items[1].merkle_proof" in integrity.reason_zh
        assert "英文详情" in integrity.reason_zh, "an English detail is labelled as such"


@pytest.mark.parametrize("check, question", [
    ("keys", "issuer"), ("items_0_issuer", "issuer"),
    ("items_0_chain_anchor", "existence_time"), ("case_sequence", "completeness"),
    ("items_1_custody", "custody"), ("manifest_signature", "integrity")])
def test_a_failure_is_the_answer_of_its_question(check: str, question: str) -> None:
    result = verify(all_checks(**{check: F}))
    assert result.result == "invalid" and result.answer(question).status == "fail"
    assert [q for q, s in by(result).items() if s == "fail"] == [question]


def test_offline_with_a_trust_root_is_unknown_never_valid() -> None:
    checks = all_checks(items_0_chain_anchor=S, items_1_chain_anchor=S, issuer_chain=S,
                        items_0_issuer=S, items_1_issuer=S)
    result = verify(checks)
    assert result.result == "unknown" and not result.qualified
    assert by(result)["existence_time"] == "unknown" and by(result)["issuer"] == "unknown"
    assert result.answer("existence_time").extra["time"] is None
    assert "reason of items[0].chain_anchor" in result.answer("existence_time").reason_en
    assert result.answer("existence_time").reason_zh.startswith("存在时间未知")


def test_an_unknown_issuer_alone_is_unknown() -> None:
    result = verify(all_checks(items_1_issuer=S))
    assert result.result == "unknown" and by(result)["issuer"] == "unknown"
    assert "reason of items[1].issuer" in result.answer("issuer").reason_en


def test_completeness_and_custody_unknown_still_valid_but_qualified() -> None:
    names = [c for c in all_checks(1) if not c.name.endswith("custody")]
    checks = [Check(c.name, S, "one entry") if c.name == "case_sequence" else c for c in names]
    checks.append(Check("items[0].custody", S, "The bundle carries no custody log."))
    result = verify(checks, scope="evidence", n=1)
    assert result.result == "valid" and result.qualified
    assert by(result)["completeness"] == "unknown" and by(result)["custody"] == "unknown"
    assert "one entry of case 'HX-1'" in result.answer("completeness").reason_en


def test_a_hashes_only_bundle_keeps_integrity_but_says_to_compare_a_copy() -> None:
    result = verify(all_checks(items_0_file_hash=S, items_1_file_hash=S))
    assert result.result == "valid" and result.qualified
    assert result.answer("integrity").status == "pass"
    assert "compare your copy" in result.answer("integrity").reason_en


def test_a_skipped_statement_signature_is_not_integrity() -> None:
    result = verify(all_checks(items_0_statement_signature=S))
    assert result.answer("integrity").status == "unknown" and result.result == "unknown"


def test_overall_result_with_no_checks_is_unknown() -> None:
    assert overall_result(Verdict([]), [], pinned=True) == "unknown"
    assert overall_result(Verdict([]), [], pinned=False) == "not_established"


def test_a_trusted_rfc3161_time_is_reported() -> None:
    checks = all_checks()
    f = facts()
    f["items"][0]["rfc3161_time"] = "2026-12-04T10:00:05.000000Z"
    verdict = Verdict(checks)
    answers = answer_bundle(verdict, f, trust_root=PINNED,
                            statements=STATEMENTS)  # type: ignore[arg-type]
    time = next(a for a in answers if a.question == "existence_time")
    assert time.extra["rfc3161_time"] == "2026-12-04T10:00:05.000000Z"
    assert "RFC 3161" in time.reason_en and "RFC 3161" in time.reason_zh


def test_a_node_not_on_the_pinned_chain_gives_no_time() -> None:
    """A private copy of the chain confirms the anchors, but its block times are not the
    pinned chain's: the time fails with the issuer."""
    result = verify(all_checks(issuer_chain=F))
    assert result.result == "invalid"
    assert by(result)["existence_time"] == "fail" and by(result)["issuer"] == "fail"
    assert "issuer.chain" in result.answer("existence_time").checks
    assert result.answer("existence_time").extra["time"] is None
    unknown = verify(all_checks(issuer_chain=S))
    assert by(unknown)["existence_time"] == "unknown" and unknown.result == "unknown"
