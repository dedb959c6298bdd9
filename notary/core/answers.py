"""The verdict on a bundle as five questions a court asks (issue 14, item 5).

Integrity (are the files the ones the signed statements describe, is the bundle as it was
made?), existence time (since when did they exist, by the chain and by RFC 3161?), issuer (who
notarised them: which deployment, which operator, for which tenant, submitted by whom?),
completeness (is every entry of the case there?) and custody (what happened to each item
since?); and, when the bundle carries a part of the transparency log or the trust root names
one, neutrality (do parties other than the operator, its witnesses, attest the log that holds
the statements?). Each is ``pass``, ``fail`` or ``unknown`` with a reason in English and
Chinese, and the names of the checks it rests on. Pure: it reads only the checks and facts
already made.

The overall result (docs/bundle-format.md §6):

* ``invalid`` -- any check failed;
* ``not_established`` -- nothing failed, but no trust root was pinned: the issuer is not
  established, so the bundle is never ``valid`` (anybody can make a consistent bundle with their
  own key and their own copy of the registry);
* ``unknown`` -- pinned, but integrity, existence time or issuer could not be answered (e.g.
  no chain node was asked, or it did not answer);
* ``valid`` -- pinned, and those three passed (and neutrality, when the trust root requires
  witnesses); ``qualified`` when completeness or custody is
  unknown (a one-item bundle, no custody log) or another check was skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .statement import Statement
from .trustroot import VerifiedTrustRoot
from .verdict import Check, CheckStatus, Verdict

__all__ = [
    "NEUTRALITY",
    "QUESTIONS",
    "RESULTS",
    "Answer",
    "BundleVerification",
    "answer_bundle",
    "overall_result",
]

Status = Literal["pass", "fail", "unknown"]
QUESTIONS = ("integrity", "existence_time", "issuer", "completeness", "custody")
#: The sixth question, asked when a bundle carries a part of the log or a log is pinned.
NEUTRALITY = "neutrality"
RESULTS = ("valid", "invalid", "unknown", "not_established")
_CORE = ("integrity", "existence_time", "issuer")

_ITEM = re.compile(r"items\[([0-9]+)\]\.(.+)")
_INTEGRITY_ITEM = {"statement_signature", "receipt_signature", "key_validity", "file_hash",
                   "merkle_proof", "anchor_record", "recording", "log"}
_INTEGRITY_TOP = {"manifest", "manifest_signature", "items", "certification",
                  "certification_signature", "conduct"}
_TIME_ITEM = {"chain_anchor", "rfc3161_timestamp"}
_CUSTODY_ITEM = {"custody", "deletion"}
_PASS, _FAIL, _SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIP
#: Checks whose skip does not make their answer unknown: a hashes-only or shredded item has
#: no file to compare (the statement says what to compare a copy with); a timestamp whose TSA
#: was not checked against a trust root is extra evidence, not the time answer itself; a
#: recording whose segments a bundle cannot prove one by one (exported before bundles carried
#: ``recording.json``, or shredded) still verifies as a whole. An item's log proofs (``log``)
#: skipped for want of a statement: the statement check says why.
_SKIP_TOLERATED = {"file_hash", "rfc3161_timestamp", "certification_signature", "recording",
                   "log"}


@dataclass(frozen=True)
class Answer:
    """One question's answer: status, the reason in English and Chinese, the checks it rests
    on, and the question's own fields (``time``, ``operator``...)."""

    question: str
    status: Status
    reason_en: str
    reason_zh: str
    checks: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "status": self.status,
                "reason": {"en": self.reason_en, "zh": self.reason_zh},
                "checks": list(self.checks), **self.extra}


def overall_result(verdict: Verdict, answers: Sequence[Answer], pinned: bool) -> str:
    """``invalid``, ``not_established``, ``unknown`` or ``valid`` (see the module docstring)."""
    if verdict.failed or any(a.status == "fail" for a in answers):
        return "invalid"
    if not pinned:
        return "not_established"
    by = {a.question: a.status for a in answers}
    if not verdict.checks or any(by.get(q) != "pass" for q in _CORE):
        return "unknown"
    if any(a.question == NEUTRALITY and a.extra.get("required") and a.status != "pass"
           for a in answers):
        return "unknown"  # the trust root requires witnesses: a bundle without them is not
    return "valid"


@dataclass
class BundleVerification:
    """The verdict on a bundle: the overall result, the five answers, every check, and the
    facts established (per item, from verified statements only).

    ``verdict`` keeps the checks (``verdict.result`` is the checks' own result, which says
    nothing of the issuer: use :attr:`result`)."""

    verdict: Verdict
    facts: dict[str, Any] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    pinned: bool = False

    @property
    def result(self) -> str:
        return overall_result(self.verdict, self.answers, self.pinned)

    @property
    def qualified(self) -> bool:
        """A ``valid`` result with an answer unknown (completeness, custody) or a check
        skipped: report it as "valid, except for ..." and say which."""
        if self.result != "valid":
            return False
        return any(a.status != "pass" for a in self.answers) or bool(self.verdict.skipped)

    def answer(self, question: str) -> Answer:
        for a in self.answers:
            if a.question == question:
                return a
        raise KeyError(question)

    def to_json(self) -> dict[str, Any]:
        return {"result": self.result, "qualified": self.qualified,
                "answers": [a.to_json() for a in self.answers],
                "checks": [c.to_json() for c in self.verdict.checks], "facts": self.facts}


# -- helpers ------------------------------------------------------------------------------------


def _part(name: str) -> str:
    m = _ITEM.fullmatch(name)
    return m.group(2) if m else name


def _status(checks: Sequence[Check]) -> Status:
    if any(c.status is _FAIL for c in checks):
        return "fail"
    if not checks or any(c.status is _SKIP and _part(c.name) not in _SKIP_TOLERATED
                         for c in checks):
        return "unknown"
    return "pass"


def _first(checks: Sequence[Check], status: CheckStatus) -> Check | None:
    return next((c for c in checks if c.status is status
                 and (status is not _SKIP or _part(c.name) not in _SKIP_TOLERATED)), None)


def _names(checks: Sequence[Check]) -> tuple[str, ...]:
    return tuple(c.name for c in checks)


def _zh(check: Check | None, fallback: str) -> str:
    """A check's reason for a Chinese reader: what happened in Chinese, then the check's own
    sentence (English) labelled as such, so nothing is lost in translation."""
    if check is None:
        return fallback
    r = check.reason
    if check.status is _SKIP:
        if "offline" in r:
            lead = "未询问区块链节点（离线验证）；请用 --rpc 指定您自己选择的节点"
        elif "could not be asked" in r:
            lead = "区块链节点无法访问"
        elif "no custody log" in r:
            lead = "证据包未附保管日志"
        else:
            lead = f"检查项 {check.name} 未能进行"
    else:
        lead = f"检查项 {check.name} 未通过"
    return f"{lead}（英文详情：{r}）"


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the questions ------------------------------------------------------------------------------


def _integrity(checks: Sequence[Check], facts: Mapping[str, Any], pinned: bool) -> Answer:
    own = [c for c in checks if c.name in _INTEGRITY_TOP or (c.name == "keys" and not pinned)
           or (_ITEM.fullmatch(c.name) and _part(c.name) in _INTEGRITY_ITEM)]
    status = _status(own)
    n = len(facts.get("items", []))
    if status == "fail":
        bad = _first(own, _FAIL)
        assert bad is not None
        en = f"The bundle is not as it was made: {bad.name} failed. {bad.reason}"
        zh = f"证据包已被改动或不完整：{_zh(bad, '')}"
    elif status == "unknown":
        gap = _first(own, _SKIP)
        why = gap.reason if gap is not None else "no check was made."
        en = f"Integrity could not be established: {why}"
        zh = f"无法确认完整性：{_zh(gap, '未进行任何检查。')}"
    else:
        by_whom = ("keys of the pinned trust root" if pinned
                   else "the keys the bundle itself carries (not compared with any trust root)")
        by_whom_zh = "所固定信任根中的密钥" if pinned else "证据包自带的密钥（未与任何信任根比对）"
        hashes = ""
        hashes_zh = ""
        if any(i.get("deposit") == "hash_only" for i in facts.get("items", [])):
            hashes += (" Some items are hash-only deposits: the service never saw those files "
                       "and did not check them; only their SHA-256 was deposited.")
            hashes_zh += ("部分证据为仅哈希存证：本服务从未见过这些文件，也未核验，"
                          "仅收到其 SHA-256。")
        if facts.get("hashes_only") or any(
                c.status is _SKIP and _part(c.name) == "file_hash" for c in own):
            hashes += (" The original files are not all in the bundle: compare your copy with "
                       "the SHA-256 the statement gives.")
            hashes_zh += "部分原始文件不在证据包中：请将您手中的文件与声明中的 SHA-256 比对。"
        en = (f"Every file of the bundle is listed in its signed manifest, and each of the {n} "
              f"item(s) matches its signed statement, receipt, Merkle proof and anchor record; "
              f"the signatures verify with {by_whom}.{hashes}")
        zh = (f"证据包中每个文件都列于已签名的清单中，{n} 项证据均与其已签名的声明、回执、"
              f"默克尔证明和锚定记录一致；签名经{by_whom_zh}验证。{hashes_zh}")
    return Answer("integrity", status, en, zh, _names(own))


def _existence_time(checks: Sequence[Check], facts: Mapping[str, Any]) -> Answer:
    # A second anchor (items[i].extra_anchor_<chain id>, issue 19) that fails is a false
    # time claim: it fails this answer; one that passes or is not pinned changes nothing here
    # (the facts' per-item "dated_by" names the earliest valid attestation).
    own = [c for c in checks if _ITEM.fullmatch(c.name) and (
        _part(c.name) in _TIME_ITEM or _part(c.name).startswith("extra_anchor_"))]
    anchors = [c for c in own if _part(c.name) == "chain_anchor"]
    # Pinned, a block time counts only from the pinned chain: a node of a private copy with
    # the same chain id confirms anchors that the deployment's chain never saw.
    anchors += [c for c in checks if c.name == "issuer.chain"]
    own += [c for c in checks if c.name == "issuer.chain"]
    items = facts.get("items", [])
    times = [i["anchor"]["block_timestamp"] for i in items if "anchor" in i]
    chains = sorted({i["anchor"]["chain_id"] for i in items if "anchor" in i})
    tsa = sorted(i["rfc3161_time"] for i in items if "rfc3161_time" in i)
    extra: dict[str, Any] = {"time": None, "chain_id": chains[0] if len(chains) == 1 else None}
    if tsa:
        extra["rfc3161_time"] = tsa[-1]
    tsa_en = (f" A trusted RFC 3161 time-stamping authority also dated "
              f"{'the items' if len(items) > 1 else 'the item'} no later than {tsa[-1]} "
              "(genTime)." if tsa else "")
    tsa_zh = f"受信任的 RFC 3161 时间戳机构亦证明其不晚于 {tsa[-1]}（genTime）。" if tsa else ""
    if any(c.status is _FAIL for c in own):
        bad = _first(own, _FAIL)
        assert bad is not None
        return Answer("existence_time", "fail",
                      f"The time of the evidence is not as the bundle claims: {bad.name} failed. "
                      f"{bad.reason}",
                      f"证据时间与证据包所述不符：{_zh(bad, '')}",
                      _names(own), extra)
    if not anchors or any(c.status is not _PASS for c in anchors) or not times:
        gap = next((c for c in anchors if c.status is not _PASS), None)
        why = gap.reason if gap is not None else "no anchor could be checked."
        return Answer("existence_time", "unknown",
                      f"The existence time is unknown: no chain node confirmed every anchor. "
                      f"{why}{tsa_en}",
                      f"存在时间未知：没有区块链节点确认全部锚定。{_zh(gap, '没有可核对的锚定。')}"
                      f"{tsa_zh}",
                      _names(own), extra)
    latest = _utc(max(times))
    extra["time"] = latest
    chain = f"chain {chains[0]}" if len(chains) == 1 else f"chains {chains}"
    earliest = _utc(min(times))
    span = "" if earliest == latest else (f" (the earliest item no later than {earliest}; "
                                          "each item's block time is in the facts)")
    span_zh = "" if earliest == latest else f"（最早一项不晚于 {earliest}；各项区块时间见 facts）"
    return Answer("existence_time", "pass",
                  f"A chain node confirmed every anchor: the bundle's items existed, as they are "
                  f"now, no later than {latest}, the time of the latest anchor block on "
                  f"{chain}{span}.{tsa_en}",
                  f"区块链节点确认了全部锚定：证据包中的各项证据以现有内容存在的时间不晚于 {latest}"
                  f"（{chain} 上最晚一个锚定区块的时间）{span_zh}。{tsa_zh}",
                  _names(own), extra)


def _identities(statements: Sequence[Statement | None]) -> tuple[list[str], list[dict[str, Any]]]:
    tenants: list[str] = []
    submitters: list[dict[str, Any]] = []
    for s in statements:
        if s is None:
            continue
        tenant = getattr(s, "tenant_name", None)
        if tenant and tenant not in tenants:
            tenants.append(tenant)
        entry = {"submitter": s.submitter, "name": getattr(s, "submitter_name", None)}
        if entry not in submitters:
            submitters.append(entry)
    return tenants, submitters


def _issuer(checks: Sequence[Check], trust_root: VerifiedTrustRoot | None,
            bundled_fingerprint: str | None, statements: Sequence[Statement | None],
            time: Answer) -> Answer:
    tenants, submitters = _identities(statements)
    named = ", ".join(tenants) or "(none named)"
    who = "; ".join(f"{s['submitter']}" + (f" ({s['name']})" if s["name"] else "")
                    for s in submitters) or "(none)"
    extra: dict[str, Any] = {
        "pinned": trust_root is not None,
        "trust_root_fingerprint": trust_root.fingerprint if trust_root is not None else None,
        "bundled_trust_root_fingerprint": bundled_fingerprint,
        "operator": None, "deployment": None, "tenants": tenants, "submitters": submitters,
    }
    carried = (f" The bundle carries trust root {bundled_fingerprint}; it is not trusted by "
               "itself: compare it with the fingerprint the operator publishes or filed."
               if bundled_fingerprint else "")
    carried_zh = (f"证据包自带信任根 {bundled_fingerprint}；它本身不可信，请与运营方公布或"
                  "向法院提交的指纹比对。" if bundled_fingerprint else "")
    if trust_root is None:
        extra["claims"] = {
            "en": "The tenant and submitter names are what the bundle's signer wrote in the "
                  "statements; who that signer is, is not established.",
            "zh": "租户和提交人名称是证据包签名者写入声明的内容；该签名者的身份未经确认。"}
        failed = [c for c in checks if c.status is _FAIL]
        consistent = ("" if failed else
                      " What was established: the bundle is internally consistent (its "
                      "signatures verify with the keys it carries)")
        consistent_zh = "" if failed else "已确认的是：证据包内部一致（签名可用其自带密钥验证）"
        when = (f"; it existed no later than {time.extra['time']} on chain "
                f"{time.extra['chain_id']}" if time.status == "pass" and not failed else "")
        when_zh = (f"；其存在时间不晚于 {time.extra['time']}（链 {time.extra['chain_id']}）"
                   if time.status == "pass" and not failed else "")
        return Answer(
            "issuer", "unknown",
            "Not established: no trust root was pinned, so nothing says who made this bundle. "
            "Anybody can build a consistent bundle with their own key and their own copy of the "
            f"registry.{consistent}{when}." + carried
            + " Verify with the deployment's trust root (notary verify --trust-root).",
            "签发方未确认：未固定信任根，无从知道证据包由谁制作。任何人都可以用自己的密钥和自己部署的"
            f"登记合约制作内部一致的证据包。{consistent_zh}{when_zh}。{carried_zh}"
            "请使用该部署的信任根验证（notary verify --trust-root）。",
            (), extra)
    root = trust_root.root
    extra["operator"] = root.operator.to_json()
    extra["deployment"] = {"public_url": root.public_url, "chain_id": root.chain_id,
                           "registry": root.registry.address, "development": root.development}
    extra["claims"] = {
        "en": f"The operator's identity is what the trust root {trust_root.fingerprint} states. "
              "The tenant's legal name and the submitter's name are the deployment's record of "
              "what the tenant told it when the evidence was submitted: claims, not verified "
              "identities.",
        "zh": f"运营方身份以信任根 {trust_root.fingerprint} 所载为准。租户法定名称和提交人名称"
              "是该部署记录的租户在提交证据时的自述：属于声明，并非经核验的身份。"}
    own = [c for c in checks if c.name == "keys" or c.name.startswith("issuer.")
           or (_ITEM.fullmatch(c.name) and _part(c.name) == "issuer")]
    status = _status(own)
    if status == "fail":
        bad = _first(own, _FAIL)
        assert bad is not None
        en = (f"Not notarised by the deployment of trust root {trust_root.fingerprint} "
              f"({root.operator.name}): {bad.name} failed. {bad.reason}")
        zh = (f"并非由信任根 {trust_root.fingerprint} 对应的部署（{root.operator.name}）存证："
              f"{_zh(bad, '')}")
    elif status == "unknown":
        gap = _first(own, _SKIP)
        why = gap.reason if gap is not None else "nothing was checked."
        en = (f"The bundle's keys are those of trust root {trust_root.fingerprint} "
              f"({root.operator.name}), but the issuer is not fully established: {why}")
        zh = (f"证据包的密钥属于信任根 {trust_root.fingerprint}（{root.operator.name}），"
              f"但签发方未能完全确认：{_zh(gap, '未进行任何检查。')}")
    else:
        dev = (" This is a DEVELOPMENT deployment (its trust root says so): its chain may be a "
               "local chain nobody else can query." if root.development else "")
        dev_zh = "这是一个开发环境部署（其信任根如此声明）：其区块链可能是他人无法查询的本地链。" \
            if root.development else ""
        en = (f"Notarised by the deployment {root.public_url}, operated by {root.operator.name}"
              + (f" ({root.operator.registration})" if root.operator.registration else "")
              + f", as pinned by trust root {trust_root.fingerprint}: every signature is by its "
              f"keys, registered on chain {root.chain_id} before they signed, and every anchor "
              f"is in its registry, sent by its anchoring account. Tenant(s): {named}. "
              f"Submitted by: {who}.{dev}")
        zh = (f"由部署 {root.public_url} 存证，运营方为 {root.operator.name}"
              + (f"（{root.operator.registration}）" if root.operator.registration else "")
              + f"，依据所固定的信任根 {trust_root.fingerprint}：每个签名均出自其密钥，"
              f"且该密钥在签名前已在链 {root.chain_id} 上登记；每个锚定都在其登记合约中，"
              "由其锚定账户发送。租户："
              f"{'、'.join(tenants) or '（未具名）'}。提交人：{who}。{dev_zh}")
    return Answer("issuer", status, en + (carried if status != "pass" else ""),
                  zh + (carried_zh if status != "pass" else ""), _names(own), extra)


def _completeness(checks: Sequence[Check], facts: Mapping[str, Any], pinned: bool) -> Answer:
    own = [c for c in checks if c.name == "case_sequence"]
    status = _status(own)
    case = facts.get("case_id")
    if status == "fail":
        bad = own[0]
        return Answer("completeness", "fail", f"The case's entries are not complete or not in "
                      f"order. {bad.reason}", f"案件条目不完整或顺序有误：{_zh(bad, '')}",
                      _names(own))
    if status == "unknown":
        if facts.get("scope") == "evidence":
            return Answer("completeness", "unknown",
                          f"This bundle holds one entry of case {case!r}; whether the case has "
                          "other entries can only be told from a bundle of the whole case.",
                          f"本证据包只含案件 {case!r} 的一项；案件是否还有其他条目，"
                          "只能由整个案件的证据包判断。", _names(own))
        why = own[0].reason if own else "the case sequence was not checked."
        return Answer("completeness", "unknown", f"Completeness is unknown: {why}",
                      f"齐全性未知：{_zh(own[0] if own else None, '未检查案件序列。')}",
                      _names(own))
    signer = ("the deployment's key" if pinned
              else "the bundle's own key (whose owner is not established)")
    signer_zh = "该部署的密钥" if pinned else "证据包自带的密钥（其持有者未经确认）"
    n = len(facts.get("items", []))
    return Answer("completeness", "pass",
                  f"The bundle holds all {n} entries of case {case!r} when it was made "
                  f"({facts.get('created_at')}), as its manifest signed by {signer} says: "
                  "numbered without gaps, each linked to the one before by its digest.",
                  f"证据包包含案件 {case!r} 在制作时（{facts.get('created_at')}）的"
                  f"全部 {n} 个条目，"
                  f"与经{signer_zh}签名的清单一致：编号连续无缺，每项均以摘要链接前一项。",
                  _names(own))


def _custody(checks: Sequence[Check]) -> Answer:
    own = [c for c in checks if _ITEM.fullmatch(c.name) and _part(c.name) in _CUSTODY_ITEM]
    status = _status(own)
    if status == "fail":
        bad = _first(own, _FAIL)
        assert bad is not None
        return Answer("custody", "fail", f"The custody record is broken: {bad.name} failed. "
                      f"{bad.reason}", f"保管记录有误：{_zh(bad, '')}",
                      _names(own))
    if status == "unknown":
        gap = _first(own, _SKIP)
        why = gap.reason if gap is not None else "there is no custody log."
        return Answer("custody", "unknown", f"What happened to the evidence since it was "
                      f"notarised is not recorded in the bundle: {why}",
                      f"证据包未记录证据存证之后的保管情况：{_zh(gap, '没有保管日志。')}",
                      _names(own))
    return Answer("custody", "pass",
                  "Each item's custody log is signed, numbered and linked from its registration "
                  "to the export: no event was removed, inserted or changed.",
                  "每项证据的保管日志自登记至导出均已签名、编号并逐条链接：没有事件被删除、插入或改动。",
                  _names(own))


def _neutrality(checks: Sequence[Check], facts: Mapping[str, Any]) -> Answer:
    own = [c for c in checks if c.name in ("log", "log.witnesses")
           or (_ITEM.fullmatch(c.name) and _part(c.name) == "log")]
    status: Status = "fail" if any(c.status is _FAIL for c in own) else (
        "pass" if own and all(c.status is _PASS for c in own)
        and any(c.name == "log.witnesses" for c in own) else "unknown")
    extra = {k: facts.get(k) for k in ("required", "origin", "size", "witnesses",
                                       "witness_threshold")}
    if status == "fail":
        bad = _first(own, _FAIL)
        assert bad is not None
        return Answer(NEUTRALITY, "fail",
                      f"The bundle's part of the transparency log is wrong: {bad.name} failed. "
                      f"{bad.reason}", f"证据包中的透明日志部分有误：{_zh(bad, '')}",
                      _names(own), extra)
    if status == "unknown":
        gap = next((c for c in own if c.status is not _PASS), None)
        why = gap.reason if gap is not None else "the bundle carries no part of the log."
        need = (" The pinned trust root requires it: the bundle is not valid without it."
                if facts.get("required") else "")
        need_zh = "所固定的信任根要求见证人联署：缺少联署，证据包不能认定为有效。" \
            if facts.get("required") else ""
        if gap is not None and gap.name == "log.witnesses":
            cosigned = "、".join(facts.get("witnesses") or []) or "无"
            lead = (f"联署的见证人（{cosigned}）少于信任根要求的 "
                    f"{max(facts.get('witness_threshold') or 0, 1)} 个（英文详情：{gap.reason}）")
        elif gap is None:
            lead = "证据包未附透明日志部分。"
        elif "no part of the transparency log" in gap.reason:
            lead = f"证据包未附透明日志部分，请重新导出（英文详情：{gap.reason}）"
        else:
            lead = _zh(gap, "")
        return Answer(NEUTRALITY, "unknown",
                      f"Neutrality is not established: {why}{need}",
                      f"中立性未能确认：{lead}{need_zh}", _names(own), extra)
    names = ", ".join(facts.get("witnesses") or [])
    return Answer(NEUTRALITY, "pass",
                  f"Every statement and custody event of the bundle is in the deployment's "
                  f"transparency log {facts.get('origin')!r}, in its checkpoint of size "
                  f"{facts.get('size')} signed by the log key the trust root names, and "
                  f"cosigned by the witness(es) {names}: parties other than the operator "
                  "attest that the log showed them this same history, not a second one.",
                  f"证据包中每份声明和每个保管事件都在该部署的透明日志 {facts.get('origin')!r} 中，"
                  f"其大小为 {facts.get('size')} 的检查点由信任根所列的日志密钥签名，"
                  f"并经见证人 {names} 联署：运营方以外的第三方证明日志向其展示的是同一份历史，"
                  "而非另一套。", _names(own), extra)


def answer_bundle(verdict: Verdict, facts: Mapping[str, Any], *,
                  trust_root: VerifiedTrustRoot | None,
                  statements: Sequence[Statement | None],
                  bundled_fingerprint: str | None = None) -> list[Answer]:
    """The five answers for a bundle's checks (``verdict``) and facts, in the order of
    :data:`QUESTIONS`, and a sixth (:data:`NEUTRALITY`) when the bundle carries a part of the
    transparency log or the trust root names one. ``statements`` are the items' verified
    statements (None where one did not verify); ``bundled_fingerprint`` the fingerprint of
    the trust root the bundle carries (reported, never trusted)."""
    checks = verdict.checks
    pinned = trust_root is not None
    time = _existence_time(checks, facts)
    answers = [_integrity(checks, facts, pinned), time,
               _issuer(checks, trust_root, bundled_fingerprint, statements, time),
               _completeness(checks, facts, pinned), _custody(checks)]
    if facts.get("log") is not None:  # a log part carried, or a log pinned
        answers.append(_neutrality(checks, facts["log"]))
    return answers
