"""The conduct report (合规通话报告) as a bilingual document, HTML and PDF.

The signed JSON report (:mod:`notary.core.conduct`) is the record; this restates it for a
regulator or a court: the case, the period and the rules, then every call with its local
time, duration, direction, 工号, recorded and notarised state, and its flags.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from notary.core.validate import format_rfc3339_utc
from notary.localfiles import tzdata_version

from .html import item_html
from .model import ItemCertificate, Row, Section
from .wording import KIND_NAMES, Bilingual

CONDUCT_TITLE = Bilingual("合规通话报告", "Conduct report")
_FLAG_WORDS = {"quiet_hours": Bilingual("夜间禁呼时段", "quiet hours"),
               "over_daily_limit": Bilingual("超过每日次数", "over the daily limit"),
               "zone_mismatch": Bilingual("时区与时差不符", "zone contradicts the offset"),
               "not_countable": Bilingual("客户自行承诺，无法计数",
                                          "committed by the client, not countable")}
_DIRECTION = {"outbound": "呼出 / outbound", "inbound": "呼入 / inbound"}


def _call_row(row: Mapping[str, Any]) -> Row:
    flags = [_FLAG_WORDS.get(f, Bilingual(f, f)) for f in row["flags"]]
    flagged = ("⚠ " + "；".join(f"{f.zh} / {f.en}" for f in flags)) if flags else \
        "无标记 / no flags"
    attempt = row.get("attempt_of_day")
    note = (f"时长 / duration {row['duration_seconds']} 秒 s · "
            f"{_DIRECTION.get(row['direction'], row['direction'])} · 工号 / agent "
            f"{row['agent_id']}" + (f" · 当日第 {attempt} 次 / attempt {attempt} of the day"
                                    if attempt is not None else "")
            + " · " + ("已录音 / recorded" if row["recorded"] else "无录音 / not recorded")
            + " · " + ("已上链 / notarised" if row["notarised"] else "未上链 / not yet anchored")
            + f" · 对象 / contact {row['contact'][:16]}… · 声明 / statement "
              f"{row['statement_sha256'][:16]}…")
    return Row(Bilingual(f"第 {row['case_seq']} 件", f"Item {row['case_seq']}"),
               f"{row['local_start']} ({row['timezone']}) — {flagged}", note=note)


def conduct_document(report: Mapping[str, Any], jws: str, *, verify_url: str,
                     issued_at: datetime | None = None) -> ItemCertificate:
    """Lay out a conduct report (signed as ``jws``) as a document."""
    rules, summary = report["rules"], report["summary"]
    tz = tzdata_version() or "?"
    subject = report["subject"]
    scope = Section(Bilingual("报告范围与规则", "Scope and rules"), (
        Row(Bilingual("案件编号", "Case"), subject["case_id"]),
        Row(Bilingual("联系对象", "Contact"), subject.get("contact", "全部 / all"),
            mono="contact" in subject),
        Row(Bilingual("期间", "Period"), f"{report['period']['from']} — {report['period']['to']}",
            note="按通话开始时间 / by the call's start"),
        Row(Bilingual("夜间禁呼时段", "Quiet hours"),
            f"{rules['quiet_hours']['from']}–{rules['quiet_hours']['to']}",
            note="按签名开始时间所带时差的当地时间；只计呼出 / local time by the offset of the "
                 "signed start; outbound calls only"),
        Row(Bilingual("每日次数上限", "Daily attempts"), str(rules["max_daily_attempts"]),
            note="同一联系对象、同一当地日的呼出次数 / outbound calls to one contact per "
                 "local day"),
        Row(Bilingual("汇总", "Summary"),
            f"通话 {summary['calls']} 次，夜间 {summary['quiet_hours']} 次，超次 "
            f"{summary['over_daily_limit']} 次，时区不符 {summary['zone_mismatch']} 次，无法计数 "
            f"{summary['not_countable']} 次 / {summary['calls']} call(s), "
            f"{summary['quiet_hours']} in the quiet hours, {summary['over_daily_limit']} over "
            f"the daily limit, {summary['zone_mismatch']} with a zone that contradicts the "
            f"offset, {summary['not_countable']} not countable (committed by the client)"),
    ))
    calls = Section(Bilingual("通话明细", "Calls"),
                    tuple(_call_row(r) for r in report["contacts"]) or (
                        Row(Bilingual("通话", "Calls"), "无 / none"),))
    signed = Section(Bilingual("签名记录", "The signed record"), (
        Row(Bilingual("签名记录摘要", "SHA-256 of the JWS"),
            hashlib.sha256(jws.encode("ascii")).hexdigest(), mono=True,
            note="JWS (Ed25519, application/vnd.notary.conduct-report.v1+json)；报告可由案件的"
                 f"存证声明重新推导（本报告所用时区数据 tzdata {tz}）/ the report can be derived "
                 f"again from the case's statements (this one used tzdata {tz})"),
    ))
    flagged = sum(summary[f] for f in _FLAG_WORDS)
    conclusion = Bilingual(
        f"结论：本期间共 {summary['calls']} 次通话，其中 {flagged} 项标记（见通话明细）。",
        f"Conclusion: {summary['calls']} call(s) in the period, {flagged} flag(s) (see the "
        "calls).")
    moment = issued_at or datetime.now(UTC)
    kind = KIND_NAMES.get("call_recording", Bilingual("通话录音", "call recording"))
    return ItemCertificate(
        title=CONDUCT_TITLE, evidence_id=subject["case_id"], case_id=subject["case_id"],
        case_seq=0, kind=kind, file_name="", sha256=hashlib.sha256(jws.encode()).hexdigest(),
        received_at="", block_time="", verify_url=verify_url,
        issued_at=format_rfc3339_utc(moment), sections=(scope, calls, signed), checks=(),
        conclusion=conclusion, complete=True, id_label=Bilingual("案件编号", "Case"))


def render_conduct_report(report: Mapping[str, Any], jws: str, *, verify_url: str
                          ) -> tuple[str, bytes]:
    """``(html, pdf)`` of a conduct report."""
    doc = conduct_document(report, jws, verify_url=verify_url)
    from .pdf import item_pdf  # fpdf2 only when a PDF is drawn (notary.certificate)

    return item_html(doc), item_pdf(doc, footer="notary 合规通话报告 Conduct report")
