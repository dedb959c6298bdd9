"""Make the fictional sample case in ``samples/``: a Mandarin collection call (WAV), a
collection notice and a repayment agreement (PDF).

The files are committed, so tests and the README walk-through need no speech synthesiser;
run this only to change them (then commit the script and the files together):

    apt-get install espeak-ng sox fonts-noto-cjk
    .venv/bin/python tools/make_samples.py            # writes samples/*.wav, samples/*.pdf

Everyone and everything in them is invented: the agency, the creditor, the debtor, the
account and the amounts. The call is telephony audio (8 kHz, mono, 16-bit PCM) synthesised
by espeak-ng's Mandarin voice, two voices for the two speakers. The output is reproducible
for the same espeak-ng, sox and fpdf2 versions (no dither, fixed PDF dates).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere in the repository
    sys.path.insert(0, str(REPO))

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from notary.certificate.fonts import find_fonts

CASE = "HX-2026-1128-ZW"
AGENCY = ("华夏催收服务有限公司（虚构）", "Huaxia Collections Ltd (fictional)")
CREDITOR = ("青禾消费金融有限公司（虚构）", "Qinghe Consumer Finance Co., Ltd. (fictional)")
DEBTOR = ("王伟", "Wang Wei")
ACCOUNT = "QH-LN-2025-0417"
OVERDUE, INSTALMENTS, INSTALMENT = "6,480.00", 12, "540.00"
BEIJING = timezone(timedelta(hours=8))

#: The call: (speaker, line). C = the collector (agent 17), D = the debtor.
CALL = [
    ("C", "您好，这里是华夏催收，工号十七。本次通话全程录音。"),
    ("C", "请问是王伟先生吗？"),
    ("D", "是我。"),
    ("C", "我们受青禾消费金融委托，您的贷款已逾期九十二天，欠款六千四百八十元。"),
    ("D", "最近收入不稳定，一次还不上。"),
    ("C", "可以分十二期，每期五百四十元，不另收费用。"),
    ("D", "每月五百四十元，我可以接受。"),
    ("C", "首期十二月十五日前还，协议今天发给您，请签字寄回。"),
    ("D", "好的，收到就签。"),
    ("C", "谢谢配合，再见。"),
]
VOICES = {"C": ["-v", "cmn", "-p", "40"], "D": ["-v", "cmn+f3", "-p", "60"]}
CALL_SECONDS = 58.0


def _need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        sys.exit(f"{tool} not found: apt-get install {package}")
    return path


def make_call(out: Path) -> None:
    """The call as 8 kHz mono 16-bit PCM WAV, about a minute: each line spoken by its
    speaker's voice, a short pause between turns, silence to the end."""
    espeak, sox = _need("espeak-ng", "espeak-ng"), _need("sox", "sox")
    with tempfile.TemporaryDirectory() as tmp:
        parts: list[str] = []
        for i, (speaker, line) in enumerate(CALL):
            raw = Path(tmp) / f"{i:02d}.wav"
            subprocess.run([espeak, *VOICES[speaker], "-s", "190", "-w", str(raw), line],
                           check=True)
            part = Path(tmp) / f"{i:02d}-8k.wav"
            # -D: no dither, so the same input gives the same bytes.
            subprocess.run([sox, "-D", str(raw), "-r", "8000", "-c", "1", "-b", "16",
                            str(part), "vol", "0.8", "pad", "0", "0.6"], check=True)
            parts.append(str(part))
        joined = Path(tmp) / "joined.wav"
        subprocess.run([sox, "-D", *parts, str(joined), "pad", "1.0", "0"], check=True)
        length = float(subprocess.run([sox, "--i", "-D", str(joined)], check=True,
                                      capture_output=True, text=True).stdout)
        if length > CALL_SECONDS:
            sys.exit(f"the call is {length:.1f} s, longer than {CALL_SECONDS} s: shorten it")
        subprocess.run([sox, "-D", str(joined), "-t", "wav", "-e", "signed-integer",
                        str(out), "pad", "0", f"{CALL_SECONDS - length:.3f}"], check=True)


class _Paper(FPDF):
    """An A4 page with the CJK font, fixed dates and a fictional-sample footer."""

    def __init__(self, title: str, dated: datetime) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        fonts = find_fonts()
        self.add_font("sans", "", str(fonts.regular.path),
                      collection_font_number=fonts.regular.index)
        self.add_font("sans", "B", str(fonts.bold.path), collection_font_number=fonts.bold.index)
        self.set_creation_date(dated)
        self.set_title(title)
        self.set_author(AGENCY[1])
        self.set_creator("notary tools/make_samples.py")
        self.set_lang("zh-CN")
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(True, 20)
        self.add_page()

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("sans", "", 7.5)
        self.set_text_color(110)
        self.cell(0, 5, "虚构样例，仅供演示与测试 / Fictional sample for demos and tests only",
                  align="C")

    def title_block(self, zh: str, en: str) -> None:
        self.set_font("sans", "B", 16)
        self.cell(0, 9, zh, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("sans", "", 11)
        self.cell(0, 7, en, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(4)

    def para(self, zh: str, en: str) -> None:
        self.set_font("sans", "", 10.5)
        self.multi_cell(0, 6, zh, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("sans", "", 9)
        self.set_text_color(70)
        self.multi_cell(0, 5, en, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)
        self.ln(3)

    def facts(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            self.set_font("sans", "B", 9.5)
            self.cell(62, 7, label, border=1)
            self.set_font("sans", "", 9.5)
            self.cell(0, 7, value, border=1, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(4)


def make_notice(out: Path) -> None:
    """催收通知书 / notice of overdue payment."""
    pdf = _Paper("催收通知书 Notice of overdue payment", datetime(2026, 11, 28, 10, 0,
                                                                 tzinfo=BEIJING))
    pdf.title_block("催收通知书", "Notice of Overdue Payment")
    pdf.para(f"编号：{CASE}-N1　　日期：2026年11月28日",
             f"Reference: {CASE}-N1    Date: 28 November 2026")
    pdf.para(f"{DEBTOR[0]} 先生：", f"Dear Mr {DEBTOR[1]},")
    pdf.para(f"受{CREDITOR[0]}委托，本公司通知您：您在该公司的贷款账户 {ACCOUNT} 已逾期，"
             "详情如下。请于 2026年12月15日 前还款，或与我们联系商定还款计划。",
             f"On behalf of {CREDITOR[1]}, we notify you that your loan account {ACCOUNT} is "
             "overdue, as set out below. Please pay by 15 December 2026 or contact us to agree "
             "a repayment plan.")
    pdf.facts([
        ("债权人 Creditor", CREDITOR[1]),
        ("账户 Account", ACCOUNT),
        ("逾期金额 Overdue amount", f"CNY {OVERDUE}"),
        ("逾期天数 Days overdue", "92"),
        ("还款期限 Pay by", "2026-12-15"),
    ])
    pdf.para("如您对上述金额有异议，请在收到本通知之日起十五日内书面提出。本通知不影响您依法"
             "享有的任何权利。",
             "If you dispute the amount, tell us in writing within 15 days of receiving this "
             "notice. This notice does not affect any of your rights under the law.")
    pdf.para(f"{AGENCY[0]}　联系电话：400-000-0000（虚构）",
             f"{AGENCY[1]}    Telephone: 400-000-0000 (fictional)")
    pdf.output(str(out))


def make_agreement(out: Path) -> None:
    """分期还款协议 / instalment repayment agreement."""
    pdf = _Paper("分期还款协议 Instalment repayment agreement",
                 datetime(2026, 11, 28, 11, 0, tzinfo=BEIJING))
    pdf.title_block("分期还款协议", "Instalment Repayment Agreement")
    pdf.para(f"编号：{CASE}-A1　　签订日期：2026年11月28日",
             f"Reference: {CASE}-A1    Date: 28 November 2026")
    pdf.para(f"甲方（债权人）：{CREDITOR[0]}\n受托方：{AGENCY[0]}\n乙方（债务人）：{DEBTOR[0]}",
             f"Party A (creditor): {CREDITOR[1]}\nAgent: {AGENCY[1]}\n"
             f"Party B (debtor): {DEBTOR[1]}")
    pdf.para(f"第一条　乙方确认截至 2026年11月28日 在账户 {ACCOUNT} 下尚欠甲方人民币 "
             f"{OVERDUE} 元。",
             f"Article 1. Party B confirms owing Party A CNY {OVERDUE} under account {ACCOUNT} "
             "as at 28 November 2026.")
    pdf.para(f"第二条　乙方分 {INSTALMENTS} 期偿还，每期人民币 {INSTALMENT} 元，首期于 "
             "2026年12月15日 前支付，其后每月十五日前支付，不另收取费用。",
             f"Article 2. Party B repays in {INSTALMENTS} instalments of CNY {INSTALMENT}, the "
             "first by 15 December 2026 and then by the 15th of each month, with no further "
             "charges.")
    pdf.facts([(f"第 {n} 期 Instalment {n}",
                f"2027-{n - 1:02d}-15  CNY {INSTALMENT}" if n > 1
                else f"2026-12-15  CNY {INSTALMENT}") for n in range(1, INSTALMENTS + 1)])
    pdf.para("第三条　乙方按期足额还款的，甲方不再就上述款项催收。",
             "Article 3. While Party B pays each instalment in full and on time, Party A takes "
             "no further collection action for this debt.")
    pdf.para("甲方（盖章）：__________　　乙方（签字）：__________",
             "Party A (seal): __________    Party B (signature): __________")
    pdf.output(str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "samples",
                        help="folder to write to (default: samples/)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    make_call(args.out / "call-2026-11-28-0930.wav")
    make_notice(args.out / "notice-2026-11-28.pdf")
    make_agreement(args.out / "agreement-2026-11-28.pdf")
    for path in sorted(args.out.iterdir()):
        print(f"{path.stat().st_size:>9,}  {path.relative_to(args.out)}")


if __name__ == "__main__":
    main()
