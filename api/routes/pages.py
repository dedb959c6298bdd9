"""The public verification page ``GET /verify`` and its two static files.

The page hashes a file in the browser (WebCrypto) and sends only the hash to
``POST /v1/verify``; a proof bundle is uploaded there to be checked. Everything is served
from this origin with a strict Content-Security-Policy: no inline script, no third party.
"""

from __future__ import annotations

from functools import cache
from html import escape
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.deps import ContextDep, VerifyLimit
from api.errors import status_for
from api.render import explorer_template, security_headers
from api.routes.custody import SharedCase, shared_case
from notary.certificate.identity import (
    DEV_CHAIN_PAGE_NOTICE,
    DEV_DEPLOYMENT_NOTICE,
    FINGERPRINT_NOTE,
    Deployment,
)
from notary.core.errors import NotaryError
from notary.service.errors import NotFound
from notary.service.identity import deployment_of

router = APIRouter(tags=["pages"], include_in_schema=False)

STATIC_TYPES = {"verify.js": "text/javascript; charset=utf-8",
                "verify.css": "text/css; charset=utf-8",
                "share.css": "text/css; charset=utf-8"}
# The judge's page has no script at all.
SHARE_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
                "form-action 'none'; frame-ancestors 'none'")
EXPLORER_PLACEHOLDER = '<meta name="notary-explorer" content="">'


@cache
def _static(name: str) -> bytes:
    return (files("api") / "static" / name).read_bytes()


@router.get("/verify")
def verify_page() -> Response:
    """The verification page (zh/en). ``?sha256=<hex>`` verifies that hash on load, so the QR
    code printed on a certificate opens the answer directly; ``?code=XXXX-XXXX-XXXX`` does the
    same for the check code printed on a notice (docs/debtor-check.md)."""
    page = _static("verify.html").decode()
    page = page.replace(EXPLORER_PLACEHOLDER, f'<meta name="notary-explorer" content='
                                              f'"{escape(explorer_template() or "")}">', 1)
    return Response(page, media_type="text/html; charset=utf-8",
                    headers={**security_headers(), "Cache-Control": "no-cache"})


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The page's script and style sheet (nothing else is served from here)."""
    media_type = STATIC_TYPES.get(name)
    if media_type is None:
        raise NotFound(f"no static file {name!r}")
    return Response(_static(name), media_type=media_type,
                    headers={**security_headers(), "Cache-Control": "no-cache"})


_KINDS = {"call_recording": "通话录音 Call recording", "notice": "通知 Notice",
          "agreement": "协议 Agreement", "message": "消息 Message", "photo": "照片 Photo"}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _operator_rows(deployment: Deployment | None) -> tuple[str, str]:
    """(the dev-chain notice, the operator and fingerprint rows) of the judge's page."""
    if deployment is None:
        return "", ""
    notice = ""
    if deployment.local_chain:
        notice = (f'<p class="dev-notice" role="alert">{_e(DEV_CHAIN_PAGE_NOTICE.zh)}<span '
                  f'class="en" lang="en">{_e(DEV_CHAIN_PAGE_NOTICE.en)}</span></p>')
    elif deployment.development:
        notice = (f'<p class="dev-notice" role="alert">{_e(DEV_DEPLOYMENT_NOTICE.zh)}<span '
                  f'class="en" lang="en">{_e(DEV_DEPLOYMENT_NOTICE.en)}</span></p>')
    registration = " · ".join(x for x in (deployment.operator_registration,
                                          deployment.operator_country) if x)
    fingerprint = deployment.trust_root_fingerprint or "暂不可得 / unavailable"
    rows = f"""
  <dt>运营方 <span class="en" lang="en">Operator</span></dt>\
<dd id="operator">{_e(deployment.operator_name)}
    {f'<span class="mono">({_e(registration)})</span>' if registration else ""}
    <span class="note-line">取自已签名的信任根 / from the signed trust root</span></dd>
  <dt>信任根指纹 <span class="en" lang="en">Trust-root fingerprint</span></dt>
  <dd><span class="mono" id="fingerprint">{_e(fingerprint)}</span>
    <span class="note-line">{_e(FINGERPRINT_NOTE.zh)} / {_e(FINGERPRINT_NOTE.en)}</span></dd>"""
    return notice, rows


def render_share_page(view: SharedCase, deployment: Deployment | None = None) -> str:
    """The judge's page for a share link (zh/en), server-rendered: every value is escaped
    (file names, case references and labels come from users). ``deployment`` names the
    operator, prints the trust-root fingerprint and says first when the chain is a local
    development chain (issue 14)."""
    notice, operator = _operator_rows(deployment)
    rows = []
    for item in view.items:
        if item.status == "anchored" and item.block_number is not None:
            verdict = (f'<span class="verdict-ok">已锚定 <span class="en" lang="en">Anchored'
                       f'</span></span><br>区块 Block <span class="mono">{_e(item.block_number)}'
                       f'</span><br><span class="mono">{_e(item.anchored_at or "")}</span>')
        else:
            verdict = ('<span class="verdict-wait">待锚定 <span class="en" lang="en">Pending'
                       '</span></span>')
        rows.append(
            f'<tr><td>{_e(item.case_seq)}</td>'
            f'<td>{_e(_KINDS.get(item.kind, item.kind))}<br><span class="mono">'
            f'{_e(item.file_name)}</span></td>'
            f'<td class="mono">{_e(item.sha256)}</td>'
            f'<td class="mono">{_e(item.received_at)}</td><td>{verdict}</td>'
            f'<td><a href="{_e(item.certificate_url)}">证书 PDF</a> · '
            f'<a href="{_e(item.certificate_url)}?format=html" lang="en">HTML</a></td></tr>')
    body = f"""{notice}<header class="top">
  <h1>案件存证 <span class="en" lang="en">Case evidence</span></h1>
  <p>本页面由持有案件的机构分享，只读，到期或撤销后失效。</p>
  <p class="en" lang="en">Shared read-only by the organisation holding the case; it stops
    working when it expires or is revoked.</p>
</header>
<section class="case-facts" aria-label="case">
<dl>
  <dt>案件编号 <span class="en" lang="en">Case reference</span></dt>
  <dd class="mono" id="case-id">{_e(view.case_id)}</dd>
  <dt>分享机构 <span class="en" lang="en">Shared by</span></dt><dd>{_e(view.shared_by_name)}
    <span class="mono">({_e(view.shared_by)})</span></dd>
  <dt>有效期至 <span class="en" lang="en">Valid until</span></dt>
  <dd class="mono">{_e(view.expires_at)}</dd>
  <dt>存证数量 <span class="en" lang="en">Items</span></dt><dd>{len(view.items)}</dd>{operator}
</dl>
</section>
<table class="items" id="items">
<thead><tr><th>序号<span class="en" lang="en">No.</span></th>
<th>类型 / 文件<span class="en" lang="en">Kind / file</span></th>
<th>SHA-256<span class="en" lang="en">Fingerprint</span></th>
<th>收到时间 (UTC)<span class="en" lang="en">Received</span></th>
<th>核验结果<span class="en" lang="en">Verdict</span></th>
<th>证书<span class="en" lang="en">Certificate</span></th></tr></thead>
<tbody>{"".join(rows)}</tbody>
</table>
<div class="actions">
  <a class="button" id="bundle" href="{_e(view.bundle_url)}">下载证据包 <span class="en"
    lang="en">Download the proof bundle (ZIP)</span></a>
  <a class="button" href="{_e(view.verify_url)}">独立核验 <span class="en"
    lang="en">Verify independently</span></a>
</div>
<p class="note">证据包含原始文件、签名声明、默克尔证明和区块链锚定；按其中 VERIFY.md 可离线核验。
  <span class="en" lang="en">The bundle holds the originals, signed statements, Merkle proofs
  and anchors; VERIFY.md inside explains how to check it offline.</span></p>"""
    return _static("share.html").decode().replace("<!--BODY-->", body, 1)


def render_share_error(code: str, message: str) -> str:
    """The page a browser sees for a link that is unknown, revoked or expired."""
    titles = {"share_revoked": ("此分享链接已撤销", "This share link was revoked"),
              "share_expired": ("此分享链接已过期", "This share link has expired")}
    zh, en = titles.get(code, ("找不到此分享链接", "No such share link"))
    body = (f'<section class="gone" id="gone"><h1>{_e(zh)} <span class="en" lang="en">'
            f'{_e(en)}</span></h1><p class="en" lang="en">{_e(message)}</p>'
            '<p>请联系分享此链接的机构。</p><p class="en" lang="en">Ask the organisation '
            'that sent it for a new link.</p></section>')
    return _static("share.html").decode().replace("<!--BODY-->", body, 1)


@router.get("/s/{token}", dependencies=[VerifyLimit])
def share_page(token: Annotated[str, PathParam(max_length=128)], ctx: ContextDep) -> Response:
    """The judge's page of a share link (no account): the case, each item's verdict and
    certificate, the bundle download. ``/v1/shared/{token}`` is the same as JSON."""
    headers = {**security_headers(SHARE_POLICY), "Cache-Control": "no-store"}
    try:
        view = shared_case(ctx, token)
    except NotaryError as exc:
        status = status_for(exc)
        if status not in (404, 410):
            raise
        return Response(render_share_error(exc.code, exc.message), status_code=status,
                        media_type="text/html; charset=utf-8", headers=headers)
    return Response(render_share_page(view, deployment_of(ctx)),
                    media_type="text/html; charset=utf-8",
                    headers=headers)
