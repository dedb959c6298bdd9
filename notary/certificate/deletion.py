"""The deletion certificate (数据销毁证明) as a bilingual document, HTML and PDF.

The signed JSON certificate (:mod:`notary.core.deletion`) is the record; this restates it for a
data subject, a regulator or a court: what was destroyed, who did it, when and why, what
remains provable, and the checks made when the document was issued.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from notary.core.deletion import DeletionCertificate
from notary.core.validate import format_rfc3339_utc
from notary.core.verdict import Check

from .html import item_html
from .identity import FINGERPRINT_NOTE, Deployment, notices
from .model import ItemCertificate, Row, Section, _beijing_of, _check_lines, verification_url
from .wording import DELETION_TITLE, KIND_NAMES, Bilingual

_DESTROYED = {
    "item_key": "该证据专用的解密密钥 / the item's own decryption key (age identity)",
    "stored_ciphertext": "服务器存储的加密文件 / the encrypted file in the service's store",
    "ipfs_pin": "IPFS 节点上的固定与数据块 / the IPFS pin and blocks on the service's node",
}


def deletion_document(cert: DeletionCertificate, jws: str, checks: Sequence[Check], *,
                      verify_url: str, issued_at: datetime | None = None,
                      deployment: Deployment | None = None) -> ItemCertificate:
    """Lay out ``cert`` (already verified into ``checks``) as a certificate document;
    ``deployment`` names the operator and prints the trust-root fingerprint."""
    kind = KIND_NAMES.get(cert.kind, Bilingual(cert.kind, cert.kind))
    d = cert.disclosed_before
    subject = Section(Bilingual("被销毁的证据", "The evidence shredded"), (
        Row(Bilingual("证据编号", "Evidence ID"), cert.evidence_id, mono=True),
        Row(Bilingual("案件编号", "Case"), cert.case_id),
        Row(Bilingual("证据类型", "Kind"), f"{kind.zh} / {kind.en}"),
        Row(Bilingual("文件哈希", "File SHA-256"), cert.file_sha256, mono=True,
            note=f"{cert.file_size:,} 字节 / bytes"),
        Row(Bilingual("声明摘要", "Statement SHA-256"), cert.statement_sha256, mono=True),
        Row(Bilingual("存储地址", "Storage address (CID)"), cert.cid, mono=True),
        Row(Bilingual("接收时间", "Received at"), cert.received_at,
            note=_beijing_of(cert.received_at)),
    ))
    act = Section(Bilingual("销毁记录", "The shred"), (
        Row(Bilingual("销毁时间", "Shredded at"), cert.shredded_at,
            note=_beijing_of(cert.shredded_at)),
        Row(Bilingual("操作人", "By"), cert.actor, note=f"租户 / tenant {cert.tenant}"),
        Row(Bilingual("理由", "Reason"), cert.reason),
        Row(Bilingual("法律依据", "Legal basis"),
            cert.legal_basis or "未注明 / not stated"),
        Row(Bilingual("已销毁", "Destroyed"),
            "；".join(_DESTROYED.get(x, x) for x in cert.destroyed)),
        Row(Bilingual("此前的披露", "Disclosed before"),
            f"内容查看 {d['content_views']} 次，导出 {d['exports']} 次，密钥导出 "
            f"{d['key_exports']} 次 / content read {d['content_views']}, exported "
            f"{d['exports']}, key exported {d['key_exports']} time(s)",
            note="此前交付的副本不在本服务控制范围内 / copies handed out before are beyond "
                 "the service's reach"),
        Row(Bilingual("保管链记录", "Custody event"), f"#{cert.custody_event_seq}",
            note=f"SHA-256 {cert.custody_event_sha256}"),
    ))
    sections = [subject, act]
    if cert.anchor is not None:
        a = cert.anchor
        sections.append(Section(Bilingual("仍可证明的锚定", "The anchor that still proves it"), (
            Row(Bilingual("区块链", "Chain"), f"链 ID / chain id {a['chain_id']}"),
            Row(Bilingual("合约地址", "Contract"), str(a["contract"]), mono=True),
            Row(Bilingual("交易哈希", "Transaction"), str(a["tx_hash"]), mono=True),
            Row(Bilingual("区块", "Block"), f"#{a['block_number']}",
                note=f"unix {a['block_timestamp']}"),
            Row(Bilingual("默克尔根", "Merkle root"), str(a["root"]), mono=True),
        )))
    if deployment is not None:
        sections.append(Section(Bilingual("运营方", "Operator"), (
            Row(Bilingual("运营方", "Operator"), deployment.operator_name,
                note="取自已签名的信任根 / from the signed trust root"
                if deployment.trust_root_fingerprint else
                "信任根暂不可得，取自服务设置 / trust root unavailable: from the settings"),
            Row(Bilingual("信任根指纹", "Trust-root fingerprint"),
                deployment.trust_root_fingerprint or "暂不可得 / unavailable",
                mono=deployment.trust_root_fingerprint is not None,
                note=f"{FINGERPRINT_NOTE.zh} / {FINGERPRINT_NOTE.en}"),
        )))
    sections.append(Section(Bilingual("签名记录", "The signed record"), (
        Row(Bilingual("签名记录摘要", "SHA-256 of the JWS"),
            hashlib.sha256(jws.encode("ascii")).hexdigest(), mono=True,
            note="JWS (Ed25519, application/vnd.notary.deletion.v1+json)：证据包中的 "
                 "deletion.jws 或 API 的 JSON 格式 / deletion.jws in the bundle, or the "
                 "API's JSON format"),
    )))
    lines = _check_lines(checks)
    complete = all(c.status == "pass" for c in lines)
    conclusion = Bilingual(
        f"结论：SHA-256 为上列数值的文件，在其存证声明上链时已经存在，并且直至 {cert.shredded_at} "
        "被销毁前未被改动；此后任何人（包括本服务）都无法再还原其内容。",
        f"Conclusion: the file with the SHA-256 above existed when its statement was anchored "
        f"and was unaltered until it was shredded at {cert.shredded_at}; from then on nobody, "
        "this service included, can reproduce its content.",
    )
    moment = issued_at or datetime.now(UTC)
    return ItemCertificate(
        title=DELETION_TITLE, evidence_id=cert.evidence_id, case_id=cert.case_id, case_seq=0,
        kind=kind, file_name="", sha256=cert.file_sha256, received_at=cert.received_at,
        block_time="", verify_url=verification_url(verify_url, cert.file_sha256),
        issued_at=format_rfc3339_utc(moment), sections=tuple(sections), checks=lines,
        conclusion=conclusion, complete=complete,
        notices=notices(int(cert.anchor["chain_id"]) if cert.anchor else
                        (deployment.chain_id or -1) if deployment else -1, deployment),
        operator=deployment.operator_name if deployment else None,
        fingerprint=deployment.trust_root_fingerprint if deployment else None)


def render_deletion_certificate(cert: DeletionCertificate, jws: str, checks: Sequence[Check],
                                *, verify_url: str, deployment: Deployment | None = None
                                ) -> tuple[str, bytes]:
    """``(html, pdf)`` of a deletion certificate."""
    doc = deletion_document(cert, jws, checks, verify_url=verify_url, deployment=deployment)
    from .pdf import item_pdf  # fpdf2 only when a PDF is drawn (notary.certificate)

    return item_html(doc), item_pdf(doc, footer="notary 数据销毁证明 Certificate of Deletion")
