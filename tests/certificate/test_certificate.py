"""Certificates rendered from facts made by the real core: every required field is on them,
the PDF's text is real text in an embedded CJK font (read back by poppler's ``pdftotext`` and
``pdffonts``), and its QR code decodes (``zbarimg``) to the verification URL."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from notary.certificate import (
    CertificateError,
    CertificateFacts,
    item_certificate,
    qr_code,
    render_case_certificate,
    render_certificates,
    render_item_certificate,
    verification_url,
)
from notary.certificate.html import CONTENT_SECURITY_POLICY, item_html
from notary.core.statement import Statement
from tests.certificate.facts import CASE, VERIFY_URL, SignedCase, signed_case

pytestmark = pytest.mark.integration

LABELS = ["证据编号", "Evidence ID", "案件编号", "Case", "证据类型", "Kind", "文件名", "File name",
          "文件大小", "Size", "文件哈希", "File SHA-256", "采集时间", "Captured at", "接收时间",
          "Received at", "提交人", "Submitted by", "运营方", "Operator", "租户（委托方）",
          "存储地址", "Storage address (CID)", "区块链",
          "Chain", "合约地址", "Contract", "交易哈希", "Transaction", "区块", "Block", "区块时间",
          "Block time", "核验网址", "Verification URL", "签发时已核验", "Verified when issued"]


@pytest.fixture(scope="module")
def case() -> SignedCase:
    return signed_case()


@pytest.fixture(scope="module")
def first(case: SignedCase) -> tuple[str, bytes]:
    """The first item's certificate, (html, pdf); rendering a PDF takes about a second."""
    return render_item_certificate(case.facts(0), verify_url=VERIFY_URL)


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is required (Debian poppler-utils / zbar-tools; make test installs them)"
    return found


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([tool("pdftotext"), "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True)
    return re.sub(r"[ \t]+", " ", out.stdout)


def values(case: SignedCase, i: int) -> list[str]:
    s, a = case.statements[i], case.anchor
    return [s.evidence_id, s.case_id, s.file_name, f"{s.size:,}", s.sha256, s.received_at,
            s.submitter, s.content_address or "", str(a.chain_id), a.contract, a.tx_hash,
            f"#{a.block_number}", "2026-11-30 12:00:05 UTC", verification_url(VERIFY_URL, s.sha256)]


class _Text(HTMLParser):
    """The visible text of an HTML page (what a reader sees, entities decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("style", "script", "title")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script", "title")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def test_item_html_states_every_required_field(case: SignedCase, first: tuple[str, bytes]) -> None:
    html, _ = first
    text = visible(html)
    for needed in LABELS + values(case, 0):
        assert needed in text, needed
    assert "通话录音" in text and "Call recording" in text
    assert "2026-11-28T09:30:00+08:00" in text  # captured at, as declared
    assert "北京时间 Beijing time 2026-11-30 20:00:05" in text
    assert "本地开发链" in text  # chain 31337 is named as not public
    assert "<script" not in html and "<svg" in html  # the QR code, inline, no script
    for check in ("statement_signature", "file_hash", "merkle_proof", "anchor_root",
                  "chain_anchor"):
        assert f'data-check="{check}"' in html
    assert 'class="holder" data-check="file_hash"' in html
    assert text.count("通过") >= 4 and "最迟于区块时间 2026-11-30 12:00:05 UTC 已经存在" in text


def test_html_escapes_what_the_submitter_wrote(case: SignedCase) -> None:
    hostile = dataclasses.replace(case.facts(0), statement=Statement.from_json(
        {**case.statements[0].to_json(), "file_name": '<img src=x onerror=alert(1)>.wav',
         "submitter": 'a"b<c>'}))
    html = item_html(item_certificate(hostile, verify_url=VERIFY_URL))
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;.wav" in html
    assert 'a&quot;b&lt;c&gt;' in html


def test_html_policy_allows_exactly_its_own_style(first: tuple[str, bytes]) -> None:
    style = first[0].split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY


def test_pdf_text_is_real_text_in_an_embedded_cjk_font(
    case: SignedCase, first: tuple[str, bytes], tmp_path: Path
) -> None:
    _, pdf = first
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    for needed in LABELS + values(case, 0):
        assert needed in text, needed
    assert "存证证书" in text and "Certificate of Evidence Notarisation" in text
    fonts = subprocess.run([tool("pdffonts"), str(tmp_path / "c.pdf")], capture_output=True,
                           text=True, check=True).stdout.splitlines()[2:]
    assert fonts, "no fonts in the PDF"
    for line in fonts:  # name type encoding emb sub uni: every font embedded (as a subset)
        assert "CJK" in line and re.search(r"\byes\s+yes\s+yes\b", line), line
    info = subprocess.run([tool("pdfinfo"), str(tmp_path / "c.pdf")], capture_output=True,
                          text=True, check=True).stdout
    # One item: two A4 pages at most (the first holds the operator, tenant and conclusion).
    assert re.search(r"Pages:\s+[12]\n", info), info
    assert "595.2 x 841.68 pts (A4)" in info or "595.28 x 841.89 pts (A4)" in info, info


def test_pdf_qr_code_decodes_to_the_verification_url(case: SignedCase, tmp_path: Path) -> None:
    _, pdf = render_item_certificate(case.facts(1), verify_url=VERIFY_URL)
    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run([tool("pdftoppm"), "-r", "200", "-png", "-singlefile", str(tmp_path / "c.pdf"),
                    str(tmp_path / "page")], check=True)
    out = subprocess.run([tool("zbarimg"), "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable",
                          str(tmp_path / "page.png")], capture_output=True, text=True, check=True)
    expected = verification_url(VERIFY_URL, case.statements[1].sha256)
    assert out.stdout.strip() == expected
    assert expected == f"https://notary.example.cn/verify?sha256={case.statements[1].sha256}"
    html, _ = render_item_certificate(case.facts(1), verify_url=VERIFY_URL)
    assert qr_code(expected).svg_inline(scale=4, border=2, omitsize=True, title=expected) in html


def test_case_certificate_lists_items_in_case_order(case: SignedCase, tmp_path: Path) -> None:
    items = [case.facts(2), case.facts(0), case.facts(1)]
    html, pdf = render_case_certificate(items, case_id=CASE, verify_url=VERIFY_URL,
                                        not_included=1)
    text = visible(html)
    assert "案件存证证书" in text and "Case Certificate" in text
    positions = [text.index(s.file_name) for s in case.statements]
    assert positions == sorted(positions)
    assert "另有 1 件证据尚未上链" in text and "1 more item(s)" in text
    printed = pdf_text(pdf, tmp_path)
    for i in range(3):
        for needed in values(case, i):
            assert needed in printed, needed
    assert "还款协议-2026-11-28.pdf" in printed and "另有 1 件尚未上链" in printed
    with pytest.raises(CertificateError) as err:
        render_case_certificate(items, case_id="OTHER-CASE", verify_url=VERIFY_URL)
    assert err.value.code == "certificate_case_mismatch"
    with pytest.raises(CertificateError) as err:
        render_case_certificate([], case_id=CASE, verify_url=VERIFY_URL)
    assert err.value.code == "certificate_empty"


def test_bundle_certificates_by_path(case: SignedCase, tmp_path: Path) -> None:
    files = render_certificates([case.facts(i) for i in range(3)], case_id=CASE,
                                verify_url=VERIFY_URL)
    assert sorted(files) == ["certificate.html", "certificate.pdf",
                             "items/1/certificate.html", "items/1/certificate.pdf",
                             "items/2/certificate.html", "items/2/certificate.pdf",
                             "items/3/certificate.html", "items/3/certificate.pdf"]
    assert case.statements[1].sha256 in pdf_text(files["items/2/certificate.pdf"], tmp_path)
    assert case.statements[0].sha256 not in pdf_text(files["items/2/certificate.pdf"], tmp_path)
    assert case.statements[2].file_name in files["items/3/certificate.html"].decode()


def test_no_certificate_for_evidence_that_does_not_verify(case: SignedCase) -> None:
    # tampered-proof: one bit of the first proof step flipped
    proof = case.proof(0)
    tampered = [bytes([proof[0][0] ^ 0x08]) + proof[0][1:], *proof[1:]]
    with pytest.raises(CertificateError) as err:
        CertificateFacts.verified(statement_jws=case.tokens[0], jwks=case.key_set, proof=tampered,
                                  anchor=case.anchor, observed_anchor=case.anchor,
                                  checked_at=case.facts(0).checked_at)
    assert err.value.code == "certificate_refused"
    assert err.value.details["failed"] == ["merkle_proof"]
    # chain-disagrees: the chain records another transaction for the root
    elsewhere = dataclasses.replace(case.anchor, tx_hash="0x" + "ee" * 32)
    with pytest.raises(CertificateError) as err:
        case.facts(0, observed=elsewhere)
    assert err.value.details["failed"] == ["chain_anchor"]
    # statement-signed-by-another-key
    with pytest.raises(CertificateError):
        CertificateFacts.verified(statement_jws=case.tokens[0], jwks={"keys": []}, proof=proof,
                                  anchor=case.anchor, observed_anchor=None,
                                  checked_at=case.facts(0).checked_at)


def test_chain_not_consulted_is_said_on_the_certificate(case: SignedCase) -> None:
    html = item_html(item_certificate(case.facts(0, observed=None), verify_url=VERIFY_URL))
    assert 'class="skip" data-check="chain_anchor"' in html
    assert "未核验" in visible(html) and "部分核验未能完成" in visible(html)
    assert "not checked against a chain node (offline)" in visible(html)


def test_explorer_link(case: SignedCase) -> None:
    cert = item_certificate(case.facts(0), verify_url=VERIFY_URL,
                            explorer_url="https://explorer.example/tx/{tx}")
    links = [r.link for s in cert.sections for r in s.rows if r.link]
    assert links == [f"https://explorer.example/tx/{case.anchor.tx_hash}"]
    for bad in ("javascript:alert(1)//{tx}", "https://explorer.example/tx/"):
        with pytest.raises(CertificateError) as err:
            item_certificate(case.facts(0), verify_url=VERIFY_URL, explorer_url=bad)
        assert err.value.code == "explorer_url_invalid"


def test_pdf_never_drops_a_character_its_font_lacks(case: SignedCase, tmp_path: Path) -> None:
    # file-name-with-emoji-and-extension-b-ideograph: Noto Sans CJK has neither glyph
    odd = dataclasses.replace(case.facts(0), statement=Statement.from_json(
        {**case.statements[0].to_json(), "file_name": "录音😀𠀀-2026.wav"}))
    _, pdf = render_item_certificate(odd, verify_url=VERIFY_URL)
    assert "录音[U+1F600][U+20000]-2026.wav" in pdf_text(pdf, tmp_path)


def test_leap_second_and_nanoseconds_are_printed_as_signed(case: SignedCase) -> None:
    odd = dataclasses.replace(case.facts(0), statement=Statement.from_json(
        {**case.statements[0].to_json(), "captured_at": "2016-12-31T23:59:60+08:00",
         "received_at": "2026-11-29T12:00:00.123456789Z"}))
    text = visible(item_html(item_certificate(odd, verify_url=VERIFY_URL)))
    assert "2016-12-31T23:59:60+08:00" in text and "2026-11-29T12:00:00.123456789Z" in text
    assert "北京时间 Beijing time 2026-11-29 20:00:00" in text
