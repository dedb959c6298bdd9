"""The declaration as one bilingual PDF (``certification/certification.pdf``): the qualified
person, the Chinese 存证说明 and the English certification of records, each with its signature
blanks, then the schedule of records with Chinese and English labels.

Laid out with the certificates' A4 document, fonts and rows (:mod:`.pdf`), from the same blocks
(:mod:`notary.bundles.declaration`) whose Markdown the bundle carries, so the printed text is
the text that ``certification.json`` holds (and a digital signature covers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from fpdf.enums import WrapMode

from notary.bundles.declaration import Block, chinese, english
from notary.core.declaration import Declaration

from .fonts import CertificateFonts, find_fonts
from .model import Row
from .pdf import GREY, LEFT, NAVY, WIDTH, _Document, _header, _heading, _row, _style
from .wording import Bilingual

__all__ = ["TITLE", "declaration_pdf"]

TITLE = Bilingual("电子数据存证情况说明", "Certification of Records (FRE 902(11), 902(14))")
_NUMBER_W = 9.0
#: Schedule rows whose Chinese value says more than a translation of the label would.
_ZH_NOTES = frozenset({"类型、媒体类型"})
_MONO = re.compile(r"(0x)?[0-9a-fA-F]{40,}.*|[A-Za-z0-9_-]{43}")


def _paragraph(pdf: _Document, text: str, wrap: WrapMode, *, number: str = "",
               size: float = 9.0) -> None:
    """A paragraph (numbered with a hanging indent), moved whole to the next page when it
    does not fit."""
    x = LEFT + (_NUMBER_W if number else 0.0)
    w = WIDTH - (x - LEFT)
    line = size * 0.47
    _style(pdf, "sans", size)
    height = pdf.text_height(w, text, line, wrap=wrap) + 1.8
    if pdf.room() < height:
        pdf.add_page()
    y = pdf.get_y()
    if number:
        _style(pdf, "sans", size, NAVY, bold=True)
        pdf.write_at(LEFT, y, _NUMBER_W, number, line)
        _style(pdf, "sans", size)
    pdf.write_at(x, y, w, text, line, wrap=wrap)
    pdf.set_y(y + height)


def _signature(pdf: _Document, rows: Sequence[tuple[str, str]]) -> None:
    """Signature lines, kept together on one page: a filled value, or a rule to write on."""
    label_w = 62.0
    _style(pdf, "sans", 8.5)
    heights = [max(8.0, pdf.text_height(label_w - 2, label, 3.6) + 3.0) for label, _ in rows]
    if pdf.room() < sum(heights) + 4:
        pdf.add_page()
    y = pdf.get_y() + 2
    for (label, value), height in zip(rows, heights, strict=True):
        _style(pdf, "sans", 8.5, GREY)
        pdf.write_at(LEFT, y + 2.2, label_w - 2, label, 3.6)
        if value:
            mono = _MONO.fullmatch(value) is not None
            _style(pdf, "mono" if mono else "sans", 8.5 if not mono else 7.5)
            pdf.write_at(LEFT + label_w, y + 2.2, WIDTH - label_w, value, 3.6,
                         wrap=WrapMode.CHAR if mono else WrapMode.WORD)
        else:
            pdf.set_draw_color(*GREY)
            pdf.set_line_width(0.25)
            pdf.line(LEFT + label_w, y + 6.4, LEFT + WIDTH - 20, y + 6.4)
        y += height
    pdf.set_y(y + 2)


def _body(pdf: _Document, blocks: Sequence[Block], wrap: WrapMode) -> None:
    """A declaration's body. Chinese breaks between any two characters (``wrap`` CHAR), as
    Chinese text does; English between words."""
    for block in blocks:
        if block.kind == "title":
            _style(pdf, "sans", 12, NAVY, bold=True)
            y = pdf.write_at(LEFT, pdf.get_y() + 1, WIDTH, block.text, 5.6)
            pdf.set_y(y + 2)
        elif block.kind in ("paragraph", "numbered"):
            _paragraph(pdf, block.text, wrap, number=block.number)
        elif block.kind == "signature":
            _signature(pdf, block.rows)


def _schedule(pdf: _Document, declaration: Declaration) -> None:
    """Each record's facts, labelled in both languages (the two schedules list the same facts
    in the same order; values are shown as the English one has them, with the Chinese one
    below where it adds Beijing time or names the kind in Chinese)."""
    _heading(pdf, Bilingual("附表一：电子数据存证清单", "Schedule A: the records"))
    zh, en = chinese(declaration).schedule[1:], english(declaration).schedule[1:]
    for zh_block, en_block in zip(zh, en, strict=True):
        _heading(pdf, Bilingual(zh_block.text, en_block.text))
        for (zh_label, zh_value), (en_label, en_value) in zip(zh_block.rows, en_block.rows,
                                                              strict=True):
            mono = _MONO.fullmatch(en_value) is not None
            note = zh_value if "北京时间" in zh_value or zh_label in _ZH_NOTES else None
            _row(pdf, Row(Bilingual(zh_label, en_label), en_value, mono=mono, note=note))


def declaration_pdf(declaration: Declaration, fonts: CertificateFonts | None = None) -> bytes:
    """The declaration as PDF bytes (A4, the CJK font embedded). Raises
    ``CertificateError`` (``certificate_font_missing``) when no CJK font is installed."""
    b, p = declaration.bundle, declaration.person
    created = datetime.fromisoformat(b.created_at)
    pdf = _Document(fonts or find_fonts(),
                    f"notary 存证说明 Certification of records · {b.case_id}", created)
    pdf.set_title(f"{TITLE.zh} {TITLE.en} {b.case_id}")
    pdf.set_subject(f"{p.name}, {p.title}, {p.organisation}")
    pdf.add_page()
    _header(pdf, TITLE, f"案件 Case {b.case_id} · 证据包生成 Bundle created {b.created_at} · "
                        f"{len(declaration.items)} 项记录 record(s)", None)
    _heading(pdf, Bilingual("说明人", "Qualified person"))
    _row(pdf, Row(Bilingual("姓名", "Name"), p.name, note=p.name_zh))
    _row(pdf, Row(Bilingual("职务", "Title"), p.title, note=p.title_zh))
    _row(pdf, Row(Bilingual("单位", "Organisation"), p.organisation, note=p.organisation_zh))
    if p.key_thumbprint is not None:
        _row(pdf, Row(Bilingual("签名密钥", "Signature key"), p.key_thumbprint, mono=True,
                      note="Ed25519 · RFC 7638 指纹 / thumbprint · certification.json.jws"))
    _heading(pdf, Bilingual("存证说明（中文）", "Declaration in Chinese"))
    _body(pdf, chinese(declaration).body, WrapMode.CHAR)
    pdf.add_page()
    _heading(pdf, Bilingual("英文认证", "Certification in English"))
    _body(pdf, english(declaration).body, WrapMode.WORD)
    pdf.add_page()
    _schedule(pdf, declaration)
    return bytes(pdf.output())
