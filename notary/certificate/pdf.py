"""The certificate as PDF (A4), drawn with fpdf2, its CJK font embedded as a subset.

Text is real text (searchable, copyable, readable by ``pdftotext``), the QR code is drawn as
vector squares, and the document's dates are the certificate's issue time, so the same facts
give the same layout.
"""

from __future__ import annotations

from datetime import datetime

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, WrapMode, XPos, YPos

from .fonts import CertificateFonts, find_fonts
from .html import qr_code
from .identity import CLAIM_NOTE, FINGERPRINT_NOTE
from .model import (
    EVIDENCE_LABEL,
    LISTING_NOTE,
    CaseCertificate,
    CheckLine,
    ItemCertificate,
    Row,
    Section,
)
from .wording import Bilingual

__all__ = ["case_pdf", "item_pdf"]

NAVY = (31, 58, 95)
GREY = (85, 85, 85)
RULE = (200, 210, 222)
FAINT = (227, 231, 236)
STATUS_COLOURS = {"pass": ((227, 243, 230), (23, 99, 42)),
                  "fail": ((251, 227, 227), (155, 28, 28)),
                  "skip": ((238, 241, 244), (61, 74, 90)),
                  "holder": ((238, 241, 244), (61, 74, 90))}

LEFT, TOP, BOTTOM = 15.0, 13.0, 15.0
WIDTH = 180.0
LABEL_W = 40.0
VALUE_W = WIDTH - LABEL_W - 2.0
QR_SIZE = 30.0


class _Document(FPDF):
    """An A4 document with the certificate fonts and a footer naming the certificate."""

    def __init__(self, fonts: CertificateFonts, footer_text: str, issued: datetime) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.set_margins(LEFT, TOP, LEFT)
        self.set_auto_page_break(False)
        self.add_font("sans", "", str(fonts.regular.path),
                      collection_font_number=fonts.regular.index)
        self.add_font("sans", "B", str(fonts.bold.path), collection_font_number=fonts.bold.index)
        self.add_font("mono", "", str(fonts.mono.path), collection_font_number=fonts.mono.index)
        self.set_creation_date(issued)
        self.set_creator("notary")
        self.set_author("notary")
        self.set_lang("zh-CN")

    def normalize_text(self, text: str) -> str:
        """Characters the font lacks (emoji, rare ideographs) are printed as ``[U+1F600]``,
        never dropped: a file name on a certificate must read as the statement has it."""
        cmap = getattr(self.current_font, "cmap", None)
        if cmap:
            text = "".join(ch if ord(ch) in cmap or ch == "\n" else f"[U+{ord(ch):04X}]"
                           for ch in text)
        return super().normalize_text(text)

    def footer(self) -> None:
        self.set_y(-BOTTOM + 4)
        self.set_font("sans", "", 7)
        self.set_text_color(*GREY)
        self.cell(WIDTH / 2, 4, self.footer_text)
        self.cell(WIDTH / 2, 4,
                  f"第 {self.page_no()} / {{nb}} 页 · page {self.page_no()} of {{nb}}", align="R")

    # -- measuring and writing ----------------------------------------------------------------

    def text_height(self, w: float, text: str, line: float, *,
                    wrap: WrapMode = WrapMode.WORD) -> float:
        h = self.multi_cell(w, line, text, dry_run=True, output=MethodReturnValue.HEIGHT,
                            wrapmode=wrap, align="L")
        return float(h)  # type: ignore[arg-type]

    def write_at(self, x: float, y: float, w: float, text: str, line: float, *,
                 wrap: WrapMode = WrapMode.WORD, align: str = "L") -> float:
        """Write ``text`` in a box ``w`` wide at (x, y); return the y below it."""
        self.set_xy(x, y)
        self.multi_cell(w, line, text, wrapmode=wrap, align=align,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return float(self.get_y())

    def fits(self, w: float, text: str) -> bool:
        """Whether ``text`` fits on one line of a box ``w`` wide (then :meth:`line_at` draws
        it without fpdf's line breaking, which costs a measure per character)."""
        return "\n" not in text and self.get_string_width(text) <= w - 2 * self.c_margin

    def line_at(self, x: float, y: float, w: float, text: str, line: float, *,
                wrap: WrapMode = WrapMode.WORD) -> float:
        """:meth:`write_at` for a case listing's cells, one line when the text fits."""
        if not self.fits(w, text):
            return self.write_at(x, y, w, text, line, wrap=wrap)
        # Where cell() would put the baseline of one line of ``line`` height.
        self.text(x + self.c_margin, y + 0.5 * line + 0.3 * self.font_size, text)
        self.set_xy(self.l_margin, y + line)
        return y + line

    def room(self) -> float:
        return float(self.h - BOTTOM - self.get_y())


def _style(pdf: _Document, family: str, size: float, colour: tuple[int, int, int] = (17, 17, 17),
           bold: bool = False) -> None:
    pdf.set_font(family, "B" if bold else "", size)
    pdf.set_text_color(*colour)


def _draw_qr(pdf: _Document, url: str, x: float, y: float, size: float) -> None:
    """The QR code as filled squares (one rectangle per run of dark modules)."""
    qr = qr_code(url)
    rows = [list(r) for r in qr.matrix_iter(scale=1, border=2)]
    module = size / len(rows)
    pdf.set_fill_color(0, 0, 0)
    for j, row in enumerate(rows):
        i = 0
        while i < len(row):
            if row[i]:
                start = i
                while i < len(row) and row[i]:
                    i += 1
                pdf.rect(x + start * module, y + j * module, (i - start) * module, module,
                         style="F")
            else:
                i += 1


def _notices(pdf: _Document, notices: tuple[Bilingual, ...]) -> None:
    """The first lines of the page (a local development chain...), in a red box."""
    for text in notices:
        _style(pdf, "sans", 9.5, bold=True)
        zh_h = pdf.text_height(WIDTH - 6, text.zh, 4.4)
        _style(pdf, "sans", 8)
        en_h = pdf.text_height(WIDTH - 6, text.en, 3.6)
        y = pdf.get_y()
        height = zh_h + en_h + 3
        pdf.set_fill_color(251, 227, 227)
        pdf.set_draw_color(155, 28, 28)
        pdf.set_line_width(0.6)
        pdf.rect(LEFT, y, WIDTH, height, style="DF")
        _style(pdf, "sans", 9.5, (122, 20, 20), bold=True)
        ty = pdf.write_at(LEFT + 3, y + 1.5, WIDTH - 6, text.zh, 4.4)
        _style(pdf, "sans", 8, (122, 20, 20))
        pdf.write_at(LEFT + 3, ty, WIDTH - 6, text.en, 3.6)
        pdf.set_y(y + height + 2)


def _header(pdf: _Document, title: Bilingual, meta: str, url: str | None,
            notices: tuple[Bilingual, ...] = ()) -> None:
    pdf.set_y(TOP - 1)
    _notices(pdf, notices)
    top = pdf.get_y() + 1 if notices else TOP
    y = top
    text_w = WIDTH - (QR_SIZE + 6 if url else 0)
    _style(pdf, "sans", 20, NAVY, bold=True)
    pdf.set_char_spacing(1.5)
    y = pdf.write_at(LEFT, y, text_w, title.zh, 9)
    pdf.set_char_spacing(0)
    _style(pdf, "sans", 11, (51, 51, 51))
    y = pdf.write_at(LEFT, y, text_w, title.en, 5.5)
    _style(pdf, "sans", 7.5, GREY)
    y = pdf.write_at(LEFT, y + 1.5, text_w, meta, 3.6)
    if url:
        _style(pdf, "sans", 7, GREY)
        y = pdf.write_at(LEFT, y + 1, text_w, "核验网址 Verification URL:", 3.4)
        _style(pdf, "mono", 7.5, NAVY)
        top = y
        y = pdf.write_at(LEFT, y, text_w, url, 3.4, wrap=WrapMode.CHAR)
        pdf.link(LEFT, top, text_w, y - top, url)
        qr_x = LEFT + WIDTH - QR_SIZE
        _draw_qr(pdf, url, qr_x, top - 1, QR_SIZE)
        _style(pdf, "sans", 6.5, GREY)
        pdf.write_at(qr_x, top - 1 + QR_SIZE, QR_SIZE, "扫码核验 Scan to verify", 3, align="C")
        y = max(y, top - 1 + QR_SIZE + 3)
    pdf.set_draw_color(*NAVY)
    pdf.set_line_width(0.6)
    pdf.line(LEFT, y + 1.5, LEFT + WIDTH, y + 1.5)
    pdf.set_y(y + 3)


def _heading(pdf: _Document, title: Bilingual) -> None:
    if pdf.room() < 20:
        pdf.add_page()
    y = pdf.get_y() + 1.5
    _style(pdf, "sans", 10.5, NAVY, bold=True)
    pdf.set_xy(LEFT, y)
    pdf.cell(pdf.get_string_width(title.zh) + 2, 5.5, title.zh)
    _style(pdf, "sans", 8.5, GREY)
    pdf.cell(100, 5.5, title.en)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.3)
    pdf.line(LEFT, y + 6, LEFT + WIDTH, y + 6)
    pdf.set_y(y + 6.5)


def _wrap(row: Row) -> WrapMode:
    """Hashes break anywhere; words (and runs of Chinese) break as text does."""
    return WrapMode.CHAR if row.mono else WrapMode.WORD


def _row_parts(pdf: _Document, row: Row) -> tuple[float, float, float]:
    """Heights of the label, the value and the note of ``row``."""
    _style(pdf, "sans", 8.5, bold=True)
    label = pdf.text_height(LABEL_W, row.label.zh, 3.6)
    _style(pdf, "sans", 6.5)
    label += pdf.text_height(LABEL_W, row.label.en, 2.8)
    if row.mono:
        _style(pdf, "mono", 8.5)
    else:
        _style(pdf, "sans", 8.5)
    value = pdf.text_height(VALUE_W, row.value, 3.8, wrap=_wrap(row))
    note = 0.0
    if row.note:
        _style(pdf, "sans", 6.5)
        note = pdf.text_height(VALUE_W, row.note, 2.8)
    return label, value, note


def _row(pdf: _Document, row: Row) -> None:
    label_h, value_h, note_h = _row_parts(pdf, row)
    height = max(label_h, value_h + note_h) + 1.0
    if pdf.room() < height:
        pdf.add_page()
    y = pdf.get_y() + 0.5
    _style(pdf, "sans", 8.5, bold=True)
    ly = pdf.write_at(LEFT, y, LABEL_W, row.label.zh, 3.6)
    _style(pdf, "sans", 6.5, GREY)
    pdf.write_at(LEFT, ly, LABEL_W, row.label.en, 2.8)
    vx = LEFT + LABEL_W + 2
    if row.mono:
        _style(pdf, "mono", 8.5, NAVY if row.link else (17, 17, 17))
    else:
        _style(pdf, "sans", 8.5, NAVY if row.link else (17, 17, 17))
    vy = pdf.write_at(vx, y, VALUE_W, row.value, 3.8, wrap=_wrap(row))
    if row.link:
        pdf.link(vx, y, VALUE_W, vy - y, row.link)
    if row.note:
        _style(pdf, "sans", 6.5, GREY)
        pdf.write_at(vx, vy, VALUE_W, row.note, 2.8)
    bottom = y - 0.5 + height
    pdf.set_draw_color(*FAINT)
    pdf.set_line_width(0.2)
    pdf.line(LEFT, bottom, LEFT + WIDTH, bottom)
    pdf.set_y(bottom)


def _section(pdf: _Document, section: Section) -> None:
    _heading(pdf, section.title)
    for row in section.rows:
        _row(pdf, row)


def _check(pdf: _Document, line: CheckLine) -> None:
    text_x, text_w = LEFT + 19, WIDTH - 19
    _style(pdf, "sans", 8.5)
    height = pdf.text_height(text_w, line.words.zh, 3.6)
    _style(pdf, "sans", 7.5)
    height += pdf.text_height(text_w, line.words.en, 3.2)
    if line.reason:
        _style(pdf, "sans", 6.5)
        height += pdf.text_height(text_w, line.reason, 2.8)
    height = max(height, 6.6) + 1.0
    if pdf.room() < height:
        pdf.add_page()
    y = pdf.get_y() + 0.5
    fill, ink = STATUS_COLOURS[line.status]
    pdf.set_fill_color(*fill)
    pdf.rect(LEFT, y, 17, 6.6, style="F")
    _style(pdf, "sans", 7.5, ink, bold=True)
    pdf.write_at(LEFT, y + 0.2, 17, line.status_words.zh, 3.3, align="C")
    _style(pdf, "sans", 6, ink)
    pdf.write_at(LEFT, y + 3.4, 17, line.status_words.en, 2.8, align="C")
    _style(pdf, "sans", 8.5)
    ty = pdf.write_at(text_x, y, text_w, line.words.zh, 3.6)
    _style(pdf, "sans", 7.5, (68, 68, 68))
    ty = pdf.write_at(text_x, ty, text_w, line.words.en, 3.2)
    if line.reason:
        _style(pdf, "sans", 6.5, GREY)
        pdf.write_at(text_x, ty, text_w, line.reason, 2.8)
    pdf.set_y(y - 0.5 + height)


def _conclusion(pdf: _Document, text: Bilingual) -> None:
    _style(pdf, "sans", 9)
    zh_h = pdf.text_height(WIDTH - 6, text.zh, 4.2)
    _style(pdf, "sans", 8)
    en_h = pdf.text_height(WIDTH - 6, text.en, 3.6)
    height = zh_h + en_h + 4
    if pdf.room() < height + 2:
        pdf.add_page()
    y = pdf.get_y() + 2
    pdf.set_fill_color(244, 247, 251)
    pdf.set_draw_color(*NAVY)
    pdf.set_line_width(0.3)
    pdf.rect(LEFT, y, WIDTH, height, style="DF")
    _style(pdf, "sans", 9, (17, 17, 17))
    ty = pdf.write_at(LEFT + 3, y + 2, WIDTH - 6, text.zh, 4.2)
    _style(pdf, "sans", 8, (51, 51, 51))
    pdf.write_at(LEFT + 3, ty, WIDTH - 6, text.en, 3.6)
    pdf.set_y(y + height + 1)


def _issuer(operator: str | None, fingerprint: str | None) -> str:
    parts = []
    if operator:
        parts.append(f"运营方 Operator {operator}")
    if fingerprint:
        parts.append(f"信任根指纹 Trust root {fingerprint}")
    return ("\n" + " · ".join(parts)) if parts else ""


def _item_pages(pdf: _Document, cert: ItemCertificate) -> None:
    pdf.add_page()
    label = cert.id_label or EVIDENCE_LABEL
    _header(pdf, cert.title, f"签发 Issued {cert.issued_at} · notary · {label.zh} {label.en} "
                             f"{cert.evidence_id}" + _issuer(cert.operator, cert.fingerprint),
            cert.verify_url, cert.notices)
    _conclusion(pdf, cert.conclusion)
    for section in cert.sections:
        _section(pdf, section)
    _heading(pdf, Bilingual("签发时已核验", "Verified when issued"))
    for line in cert.checks:
        _check(pdf, line)


def item_pdf(cert: ItemCertificate, fonts: CertificateFonts | None = None, *,
             footer: str = "notary 存证证书 Certificate") -> bytes:
    """One item's certificate as PDF bytes (``footer`` names the document on every page).
    Raises ``CertificateError`` (``certificate_font_missing``) when no CJK font is installed."""
    issued = datetime.fromisoformat(cert.issued_at)
    pdf = _Document(fonts or find_fonts(), f"{footer} · {cert.evidence_id}", issued)
    pdf.set_title(f"{cert.title.zh} {cert.title.en} {cert.evidence_id}")
    pdf.set_subject(f"SHA-256 {cert.sha256}")
    _item_pages(pdf, cert)
    return bytes(pdf.output())


def _summary_row(pdf: _Document, item: ItemCertificate) -> None:
    widths = (10.0, 30.0, 100.0, WIDTH - 140.0)
    _style(pdf, "sans", 8)
    name_h = (3.6 if pdf.fits(widths[2], item.file_name)
              else pdf.text_height(widths[2], item.file_name, 3.6, wrap=WrapMode.CHAR))
    height = name_h + 3.4 + 1.6
    if pdf.room() < height:
        pdf.add_page()
    y = pdf.get_y() + 0.8
    x = LEFT
    _style(pdf, "sans", 8)
    pdf.line_at(x, y, widths[0], str(item.case_seq), 3.6)
    x += widths[0]
    pdf.line_at(x, y, widths[1], item.kind.zh, 3.6)
    _style(pdf, "sans", 6.5, GREY)
    pdf.line_at(x, y + 3.6, widths[1], item.kind.en, 3.0)
    x += widths[1]
    _style(pdf, "sans", 8)
    ny = pdf.line_at(x, y, widths[2], item.file_name, 3.6, wrap=WrapMode.CHAR)
    _style(pdf, "mono", 6.8, GREY)
    pdf.line_at(x, ny, widths[2], item.sha256, 3.4, wrap=WrapMode.CHAR)
    x += widths[2]
    _style(pdf, "sans", 6.5, GREY)
    pdf.line_at(x, y, widths[3], item.received_at, 3.0, wrap=WrapMode.CHAR)
    pdf.line_at(x, y + 3.2, widths[3], item.block_time, 3.0, wrap=WrapMode.CHAR)
    bottom = y - 0.8 + height
    pdf.set_draw_color(*FAINT)
    pdf.set_line_width(0.2)
    pdf.line(LEFT, bottom, LEFT + WIDTH, bottom)
    pdf.set_y(bottom)


def case_pdf(cert: CaseCertificate, fonts: CertificateFonts | None = None, *,
             item_pages: bool = True) -> bytes:
    """A case's certificate as PDF bytes: a summary page, then (``item_pages``) each item's
    pages. Without them it is the listing a v3 case bundle carries: one document, whatever
    the number of items, instead of a certificate rendered per item."""
    issued = datetime.fromisoformat(cert.issued_at)
    pdf = _Document(fonts or find_fonts(), f"notary 案件存证证书 Case certificate · {cert.case_id}",
                    issued)
    pdf.set_title(f"{cert.title.zh} {cert.title.en} {cert.case_id}")
    pdf.add_page()
    _header(pdf, cert.title, f"签发 Issued {cert.issued_at} · notary"
            + _issuer(cert.operator, cert.fingerprint), None, cert.notices)
    _row(pdf, Row(Bilingual("案件编号", "Case"), cert.case_id))
    _row(pdf, Row(Bilingual("证据数量", "Items"), str(len(cert.items)),
                  note=(f"另有 {cert.not_included} 件尚未上链，未列入 / {cert.not_included} more "
                        "not anchored yet, not included") if cert.not_included else None))
    if cert.operator:
        _row(pdf, Row(Bilingual("运营方", "Operator"), cert.operator,
                      note="取自已签名的信任根 / from the signed trust root" if cert.fingerprint
                      else "取自服务设置 / from the service's settings"))
    if cert.fingerprint:
        _row(pdf, Row(Bilingual("信任根指纹", "Trust-root fingerprint"), cert.fingerprint,
                      mono=True, note=f"{FINGERPRINT_NOTE.zh} / {FINGERPRINT_NOTE.en}"))
    if cert.tenants:
        _row(pdf, Row(Bilingual("租户（委托方）", "Tenant (on whose behalf)"),
                      "；".join(cert.tenants), note=f"{CLAIM_NOTE.zh} / {CLAIM_NOTE.en}"))
    if cert.submitters:
        _row(pdf, Row(Bilingual("提交人", "Submitted by"), "；".join(cert.submitters),
                      note=f"{CLAIM_NOTE.zh} / {CLAIM_NOTE.en}"))
    _heading(pdf, Bilingual("证据清单", "Items of the case"))
    y = pdf.get_y() + 0.5
    for x, w, text in ((LEFT, 10, Bilingual("序号", "#")),
                       (LEFT + 10, 30, Bilingual("类型", "Kind")),
                       (LEFT + 40, 100, Bilingual("文件名 · SHA-256", "File name · SHA-256")),
                       (LEFT + 140, 40, Bilingual("接收 · 区块时间", "Received · block time"))):
        _style(pdf, "sans", 7, GREY, bold=True)
        pdf.write_at(x, y, w, text.zh, 3.2)
        _style(pdf, "sans", 6.5, GREY)
        pdf.write_at(x, y + 3.2, w, text.en, 2.8)
    pdf.set_y(y + 6.5)
    for item in cert.items:
        _summary_row(pdf, item)
    _style(pdf, "sans", 7.5, GREY)
    if not item_pages:
        pdf.write_at(LEFT, pdf.get_y() + 2, WIDTH, LISTING_NOTE, 3.6)
        return bytes(pdf.output())
    pdf.write_at(LEFT, pdf.get_y() + 2, WIDTH, "每件证据的证书见后页。 / Each item's certificate "
                 "follows.", 3.6)
    for item in cert.items:
        _item_pages(pdf, item)
    return bytes(pdf.output())
