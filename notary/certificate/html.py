"""The certificate as one self-contained HTML page: inline CSS, the QR code as inline SVG,
no script, nothing fetched. It prints on A4; long hashes break anywhere instead of
overflowing. Every value from a statement is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

import segno

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

__all__ = ["CONTENT_SECURITY_POLICY", "case_html", "item_html", "qr_code"]

_CSS = """
@page { size: A4; margin: 14mm 15mm; }
* { box-sizing: border-box; }
body { margin: 0; color: #111; background: #fff; font: 10pt/1.45 "Noto Sans CJK SC",
  "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Zen Hei", sans-serif; }
.sheet { max-width: 180mm; margin: 0 auto; padding: 10mm 12px; }
.sheet + .sheet { border-top: 1px dashed #999; }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 6mm;
  border-bottom: 2px solid #1f3a5f; padding-bottom: 3mm; margin-bottom: 3mm; }
h1 { margin: 0; font-size: 20pt; color: #1f3a5f; letter-spacing: .08em; }
h1 .en, h2 .en, th .en { display: block; font-weight: normal; letter-spacing: 0; }
h1 .en { font-size: 11pt; color: #333; }
.meta { margin: 2mm 0 0; font-size: 8.5pt; color: #333; }
.qr { text-align: center; font-size: 7.5pt; color: #333; width: 34mm; flex: none; }
.qr svg { width: 30mm; height: 30mm; display: block; margin: 0 auto; }
h2 { font-size: 11pt; margin: 4mm 0 1mm; color: #1f3a5f; border-bottom: 1px solid #c8d2de; }
h2 .en { display: inline; font-size: 9pt; color: #555; margin-left: .5em; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: 1.2mm 1.5mm; \
border-bottom: 1px solid #e3e7ec; }
th { width: 42mm; font-weight: bold; }
table.summary th { width: auto; font-size: 8.5pt; }
table.summary td { font-size: 9pt; }
th .en { font-size: 7.5pt; color: #555; }
.mono { font-family: "Noto Sans Mono CJK SC", "DejaVu Sans Mono", "Consolas", monospace;
  font-size: 9pt; word-break: break-all; overflow-wrap: anywhere; }
.note { display: block; font-size: 7.5pt; color: #555; overflow-wrap: anywhere; }
ul.checks { list-style: none; margin: 0; padding: 0; }
ul.checks li { padding: 1mm 0 1mm 22mm; min-height: 10mm; position: relative;
  border-bottom: 1px solid #eef1f4; }
ul.checks .status { position: absolute; left: 0; top: 1mm; width: 20mm; font-size: 7.5pt;
  font-weight: bold; text-align: center; border-radius: 2px; white-space: nowrap; }
ul.checks .status span { font-weight: normal; }
.pass .status { background: #e3f3e6; color: #17632a; }
.fail .status { background: #fbe3e3; color: #9b1c1c; }
.skip .status, .holder .status { background: #eef1f4; color: #3d4a5a; }
.en-line { display: block; color: #444; font-size: 8.5pt; }
.reason { display: block; color: #555; font-size: 7.5pt; }
.notice { margin: 3mm 0; padding: 2mm 3mm; border: 2px solid #9b1c1c; background: #fbe3e3;
  color: #7a1414; font-weight: bold; }
.notice .en-line { color: #7a1414; font-weight: normal; }
.conclusion { margin: 3mm 0; padding: 2mm 3mm; border: 1px solid #1f3a5f; background: #f4f7fb; }
footer { margin-top: 3mm; font-size: 7.5pt; color: #555; }
a { color: #1f3a5f; }
@media print { .sheet { padding: 0; } .sheet + .sheet { border: 0; break-before: page; }
  a { color: inherit; text-decoration: none; } }
"""

#: The policy to serve certificate pages with: no script at all, only this page's style.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
    + "'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def qr_code(url: str) -> segno.QRCode:
    """The QR code of ``url``: a full (not micro) QR code at error level M."""
    return segno.make_qr(url, error="m", boost_error=False)


def _label(text: Bilingual) -> str:
    return f'{escape(text.zh)}<span class="en" lang="en">{escape(text.en)}</span>'


def _row(row: Row) -> str:
    value = escape(row.value)
    if row.link:
        value = f'<a href="{escape(row.link)}" rel="noreferrer">{value}</a>'
    cls = ' class="mono"' if row.mono else ""
    note = f'<span class="note">{escape(row.note)}</span>' if row.note else ""
    return f"<tr><th>{_label(row.label)}</th><td><span{cls}>{value}</span>{note}</td></tr>"


def _section(section: Section) -> str:
    rows = "".join(_row(r) for r in section.rows)
    return f"<h2>{_label(section.title)}</h2><table>{rows}</table>"


def _check(line: CheckLine) -> str:
    reason = (f'<span class="reason" lang="en">{escape(line.reason)}</span>'
              if line.reason else "")
    return (f'<li class="{escape(line.status)}" data-check="{escape(line.name)}">'
            f'<span class="status">{escape(line.status_words.zh)}<br>'
            f'<span lang="en">{escape(line.status_words.en)}</span></span>'
            f'{escape(line.words.zh)}<span class="en-line" lang="en">{escape(line.words.en)}'
            f"</span>{reason}</li>")


def _notices(notices: tuple[Bilingual, ...]) -> str:
    """The first lines (a local development chain...), before anything else is read."""
    return "".join(f'<p class="notice" role="alert">{escape(n.zh)}<span class="en-line" '
                   f'lang="en">{escape(n.en)}</span></p>' for n in notices)


def _issuer(operator: str | None, fingerprint: str | None) -> str:
    """The header's second line: the operator and the trust-root fingerprint."""
    parts = []
    if operator:
        parts.append(f"运营方 Operator {escape(operator)}")
    if fingerprint:
        parts.append(f'信任根指纹 Trust root <span class="mono">{escape(fingerprint)}</span>')
    return f'<p class="meta">{" · ".join(parts)}</p>' if parts else ""


def _id_label(cert: ItemCertificate) -> str:
    label = cert.id_label or EVIDENCE_LABEL
    return f"{escape(label.zh)} {escape(label.en)}"


def _sheet(cert: ItemCertificate) -> str:
    qr = qr_code(cert.verify_url).svg_inline(scale=4, border=2, omitsize=True,
                                            title=cert.verify_url)
    checks = "".join(_check(c) for c in cert.checks)
    return f"""<section class="sheet" id="{escape(cert.evidence_id)}">
{_notices(cert.notices)}
<header><div><h1>{_label(cert.title)}</h1>
<p class="meta">签发 Issued {escape(cert.issued_at)} · notary · {_id_label(cert)}
 <span class="mono">{escape(cert.evidence_id)}</span></p>
{_issuer(cert.operator, cert.fingerprint)}</div>
<div class="qr">{qr}扫码核验 Scan to verify</div></header>
<p class="conclusion">{escape(cert.conclusion.zh)}<span class="en-line" lang="en">
{escape(cert.conclusion.en)}</span></p>
{"".join(_section(s) for s in cert.sections)}
<h2>{_label(Bilingual("核验网址", "Verification URL"))}</h2>
<p><a class="mono" href="{escape(cert.verify_url)}" rel="noreferrer">{escape(cert.verify_url)}</a>
<span class="note">在此网页选择文件即可在本地核验，文件不会上传。 / Choose the file on this page
 to check it locally; it is not uploaded.</span></p>
<h2>{_label(Bilingual("签发时已核验", "Verified when issued"))}</h2>
<ul class="checks">{checks}</ul>
<footer>本证书是对已签名存证声明、默克尔证明和链上锚定记录的说明；证明本身是这些记录，
任何人可独立核验（格式见 notary docs/formats.md）。 / This certificate describes the signed
 statement, the Merkle proof and the on-chain anchor; those records are the proof, and anyone
 can check them independently (formats in notary's docs/formats.md).</footer>
</section>"""


def _page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{escape(title)}</title>
<style>{_CSS}</style></head>
<body>
{body}
</body></html>
"""


def item_html(cert: ItemCertificate) -> str:
    """One item's certificate as a complete HTML document."""
    return _page(f"{cert.title.zh} {cert.title.en} · {cert.evidence_id}", _sheet(cert))


def _case_identity(cert: CaseCertificate) -> list[tuple[Bilingual, str, str]]:
    """The case summary's operator, fingerprint and tenant rows: (label, HTML value, note)."""
    rows = []
    if cert.operator:
        rows.append((Bilingual("运营方", "Operator"), escape(cert.operator),
                     "取自已签名的信任根 / from the signed trust root"
                     if cert.fingerprint else "取自服务设置 / from the service's settings"))
    if cert.fingerprint:
        rows.append((Bilingual("信任根指纹", "Trust-root fingerprint"),
                     f'<span class="mono">{escape(cert.fingerprint)}</span>',
                     f"{FINGERPRINT_NOTE.zh} / {FINGERPRINT_NOTE.en}"))
    if cert.tenants:
        rows.append((Bilingual("租户（委托方）", "Tenant (on whose behalf)"),
                     escape("；".join(cert.tenants)), f"{CLAIM_NOTE.zh} / {CLAIM_NOTE.en}"))
    if cert.submitters:
        rows.append((Bilingual("提交人", "Submitted by"), escape("；".join(cert.submitters)),
                     f"{CLAIM_NOTE.zh} / {CLAIM_NOTE.en}"))
    return rows


def case_html(cert: CaseCertificate, *, item_pages: bool = True) -> str:
    """A case's certificate: a summary sheet, then (``item_pages``) one sheet per item."""
    rows = "".join(
        f"<tr><td>{i.case_seq}</td><td>{escape(i.kind.zh)}<span class=\"note\" lang=\"en\">"
        f"{escape(i.kind.en)}</span></td><td>{escape(i.file_name)}"
        f'<span class="note mono">{escape(i.sha256)}</span></td>'
        f'<td><span class="note">{escape(i.received_at)}</span>'
        f'<span class="note">{escape(i.block_time)}</span></td></tr>'
        for i in cert.items)
    missing = (f'<p class="meta">另有 {cert.not_included} 件证据尚未上链，未列入本证书。 / '
               f"{cert.not_included} more item(s) of the case are not anchored yet and are "
               "not included.</p>" if cert.not_included else "")
    identity = "".join(
        f"<tr><th>{_label(label)}</th><td>{value}<span class=\"note\">{escape(note)}</span>"
        "</td></tr>" for label, value, note in _case_identity(cert))
    summary = f"""<section class="sheet" id="case">
{_notices(cert.notices)}
<header><div><h1>{_label(cert.title)}</h1>
<p class="meta">签发 Issued {escape(cert.issued_at)} · notary</p>
{_issuer(cert.operator, cert.fingerprint)}</div></header>
<table><tr><th>{_label(Bilingual("案件编号", "Case"))}</th><td>{escape(cert.case_id)}</td></tr>
<tr><th>{_label(Bilingual("证据数量", "Items"))}</th><td>{len(cert.items)}</td></tr>
{identity}</table>
{missing}
<h2>{_label(Bilingual("证据清单", "Items of the case"))}</h2>
<table class="summary"><tr><th>序号<span class="en" lang="en">#</span></th>
<th>类型<span class="en" lang="en">Kind</span></th>
<th>文件名 · SHA-256<span class="en" lang="en">File name · SHA-256</span></th>
<th>接收 · 区块时间<span class="en" lang="en">Received · block time</span></th></tr>
{rows}</table>
<p class="meta">{"每件证据的证书见后页。 / Each item's certificate follows." if item_pages
                  else escape(LISTING_NOTE)}</p>
</section>"""
    sheets = "".join(_sheet(i) for i in cert.items) if item_pages else ""
    return _page(f"{cert.title.zh} {cert.title.en} · {cert.case_id}", summary + sheets)
