"""The declaration's wording: the English certification of records (FRE 902(11) and 902(14),
a declaration under 28 U.S.C. § 1746) and the Chinese 电子数据存证情况说明 (存证说明), filled
from the facts of a :class:`~notary.core.declaration.Declaration`, as blocks and as the
Markdown the bundle carries (``certification/certification-en.md`` and
``certification/cunzheng-shuoming-zh.md``, the same texts ``certification.json`` holds).

Legal prose, not a format: the core (:mod:`notary.core.declaration`) keeps the document's
fields, reading, signature and checks, and takes these texts as they are written here, so the
wording may change without touching what a verifier checks. The PDF
(:mod:`notary.certificate.declaration`) lays out the same blocks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final, Literal

from notary.core.declaration import Declaration, DeclaredItem, QualifiedPerson, full_stop
from notary.core.merkle import to_hex32
from notary.core.statement import Statement

__all__ = ["Block", "DeclarationText", "chinese", "chinese_row", "declaration_files", "english",
           "in_chinese"]

_BEIJING = timezone(timedelta(hours=8))
#: Characters that would make Markdown of a value (a name, a file name) read as markup:
#: always ``\ ` * [ ] < > |``; ``_`` and ``~`` only at a word's edge (CommonMark ignores them
#: inside words, and ``ev_3f2c...`` stays readable).
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])|(?<![0-9A-Za-z])([_~])|([_~])(?![0-9A-Za-z])")


def _beijing(text: str) -> str:
    """``text`` (RFC 3339) in Beijing time, or "" when Python cannot represent it."""
    try:
        return datetime.fromisoformat(text).astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, ValueError):  # a leap second, or beyond year 9999 in Beijing
        return ""


def in_chinese(person: QualifiedPerson, field_name: str) -> str:
    """The qualified person's ``name``, ``title`` or ``organisation`` for Chinese text: the
    Chinese value when given, else the English one in Chinese quotation marks, so that it reads
    as a quoted name inside a sentence (本人在“Huaxia Collections Ltd”担任……)."""
    value_zh = getattr(person, f"{field_name}_zh")
    return value_zh if value_zh else f"“{getattr(person, field_name)}”"


def chinese_row(person: QualifiedPerson, field_name: str) -> str:
    """The value for a Chinese signature or facts line, where no quotation is needed:
    the Chinese value followed by the English one, or the English one alone."""
    value_zh, value_en = getattr(person, f"{field_name}_zh"), getattr(person, field_name)
    return f"{value_zh}（{value_en}）" if value_zh and value_zh != value_en else value_en


# -- the facts in words -----------------------------------------------------------------------


#: Statement kinds (formats §1.1) as the declarations name them; the value itself follows in
#: brackets, so a reader can match it with certification.json.
_KIND_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "call_recording": ("通话录音", "call recording"),
    "notice": ("催收通知", "collection notice"),
    "agreement": ("还款协议", "repayment agreement"),
    "other": ("其他电子数据", "other record"),
}
#: Media types said in words; others by their top-level type.
_MEDIA_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "application/pdf": ("PDF 文档", "PDF document"),
    "application/octet-stream": ("未识别格式的二进制数据", "binary data of unidentified format"),
    "audio/wav": ("WAV 音频", "WAV audio"),
    "audio/x-wav": ("WAV 音频", "WAV audio"),
    "audio/wave": ("WAV 音频", "WAV audio"),
    "audio/mpeg": ("MP3 音频", "MP3 audio"),
    "image/jpeg": ("JPEG 图像", "JPEG image"),
    "image/png": ("PNG 图像", "PNG image"),
    "text/plain": ("纯文本", "plain text"),
}
_MEDIA_FAMILIES: Final[Mapping[str, tuple[str, str]]] = {
    "audio": ("音频", "audio"), "video": ("视频", "video"), "image": ("图像", "image"),
    "text": ("文本", "text"),
}


def _kind_and_media(statement: Statement, language: str) -> str:
    """The record's kind and media type as a reader says them, each with the value the
    statement holds: 催收通知（notice）；application/pdf（PDF 文档）."""
    kind = _KIND_WORDS.get(statement.kind.value, (statement.kind.value,) * 2)
    media = statement.media_type
    words = _MEDIA_WORDS.get(media.split(";")[0].strip().lower()) or _MEDIA_FAMILIES.get(
        media.split("/")[0].lower(), ("文件", "file"))
    if language == "zh":
        return f"{kind[0]}（{statement.kind.value}）；{media}（{words[0]}）"
    return f"{kind[1]} ({statement.kind.value}); {media} ({words[1]})"


def _record_heading(position: int, item: DeclaredItem, language: str) -> str:
    """A schedule entry's heading: its number in this declaration (1 to n, as "共 n 项"
    counts), with the record's number in its case when that differs (an export of one item,
    or of part of a case)."""
    seq = item.statement.case_seq
    if language == "zh":
        where = item.path if seq == position else f"本案第 {seq} 项，{item.path}"
        return f"第 {position} 项（{where}）"
    where = item.path if seq == position else f"entry {seq} of the case, {item.path}"
    return f"Record {position} ({where})"


# -- the texts --------------------------------------------------------------------------------


BlockKind = Literal["title", "heading", "paragraph", "numbered", "facts", "signature"]


@dataclass(frozen=True)
class Block:
    """One part of a declaration. ``text`` is plain text (the Markdown form escapes it);
    ``rows`` are ``(label, value)`` pairs: facts, or signature lines (an empty value is a blank
    to fill in by hand); ``number`` numbers a paragraph."""

    kind: BlockKind
    text: str = ""
    rows: tuple[tuple[str, str], ...] = ()
    number: str = ""


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


@dataclass(frozen=True)
class DeclarationText:
    """The declaration in one language: its body (ending with the signature blanks) and its
    schedule of records, as blocks the Markdown and the PDF lay out."""

    language: str
    body: tuple[Block, ...]
    schedule: tuple[Block, ...]

    def markdown(self) -> str:
        """The text as Markdown (CommonMark): what ``certification-*.md`` holds and
        ``certification.json`` carries."""
        lines: list[str] = []
        for block in (*self.body, *self.schedule):
            if block.kind == "title":
                lines += [f"# {_md(block.text)}", ""]
            elif block.kind == "heading":
                lines += [f"## {_md(block.text)}", ""]
            elif block.kind == "paragraph":
                lines += [_md(block.text), ""]
            elif block.kind == "numbered":
                lines += [f"{block.number} {_md(block.text)}", ""]
            elif block.kind == "facts":
                if block.text:
                    lines += [f"### {_md(block.text)}", ""]
                lines += ["| | |", "|---|---|"]
                lines += [f"| {_md(label)} | {_md(value)} |" for label, value in block.rows]
                lines.append("")
            else:  # signature lines, blanks to fill in
                colon = "：" if self.language == "zh" else ": "
                for label, value in block.rows:
                    lines += [f"{_md(label)}{colon}{_md(value) if value else '_' * 32}", ""]
        return "\n".join(lines)


def _count_en(n: int) -> str:
    return f"{n} record{'s' if n != 1 else ''}"


def english(declaration: Declaration) -> DeclarationText:
    """The English text: a certification of records of regularly conducted activity (FRE
    902(11), 803(6)) and of data copied from an electronic device, storage medium or file (FRE
    902(14)), a declaration under penalty of perjury (28 U.S.C. § 1746(1))."""
    b, p, n = declaration.bundle, declaration.person, len(declaration.items)
    copies = (
        "This proof bundle holds the hash values, not copies of the records. The hash "
        "values in Schedule A were verified by this process of digital identification "
        "against the signed statements and the blockchain record; any copy of a record "
        "whose SHA-256 hash value equals the value in Schedule A is identical to the "
        "record received."
        if b.hashes_only else
        "The copy of each record in this proof bundle (its folder items/NNN/original/) "
        "was copied from the record received, and its SHA-256 hash value was verified, "
        "by this process of digital identification, to be identical to the hash value "
        "recorded when the record was received."
    )
    key = p.key_thumbprint
    body: tuple[Block, ...] = (
        Block("title", "Certification of Records of Regularly Conducted Activity and of "
                       "Data Copied from an Electronic Device, Storage Medium, or File"),
        Block("paragraph", "Federal Rules of Evidence 902(11), 902(14) and 803(6); "
                           "declaration under 28 U.S.C. § 1746."),
        Block("paragraph", f"Case: {b.case_id}. Proof bundle created by the notary "
                           f"service at {b.created_at}, holding {_count_en(n)}."),
        Block("paragraph", f"I, {p.name}, declare as follows:"),
        Block("numbered", f"I am {p.title} at {full_stop(p.organisation)} By my position and "
                          "duties I am a custodian of the records described below or am "
                          "otherwise qualified to make this certification, and I am "
                          "familiar with how the notary evidence-notarisation service "
                          "receives, records and keeps them.", number="1."),
        Block("numbered", f"The records. The {_count_en(n)} listed in Schedule A are "
                          f"records of case {b.case_id}. For each record, Schedule A gives "
                          "its file name, size, SHA-256 hash value, the time the notary "
                          "service received it, the SHA-256 digest of the statement the "
                          "service signed about it, and the blockchain transaction, block "
                          "and block time that anchor that statement.", number="2."),
        Block("numbered", "Regularly conducted activity (Rule 803(6)(A)-(C)). Each record, "
                          "and the notary service's statement, receipt and custody events "
                          "about it, was made at or near the time of the act, event or "
                          "condition it records, by, or from information transmitted by, "
                          "someone with knowledge of it; it was kept in the course of a "
                          f"regularly conducted activity of {p.organisation}; and making "
                          "such records is a regular practice of that activity.",
              number="3."),
        Block("numbered", "Process of digital identification (Rule 902(14)). When the "
                          "notary service received each record it computed the record's "
                          "SHA-256 hash value (FIPS 180-4) and recorded it in a statement "
                          "signed with an Ed25519 key (JWS, RFC 7515 and RFC 8037). The "
                          "statements were combined in a Merkle tree whose root was "
                          "recorded in a transaction on the blockchain named in Schedule A. "
                          + copies, number="4."),
        Block("numbered", "Integrity and custody. Because each statement is a leaf of a "
                          "Merkle tree whose root was recorded on the blockchain at the "
                          "block time shown, the statement and the hash value it records "
                          "existed no later than that time and have not been altered "
                          "since. Every act on each record since its receipt "
                          "(registration, storage, anchoring, access, export, transfer) is "
                          "recorded in a signed, hash-chained custody log; this bundle "
                          "carries each log as it stood when the bundle was created.",
              number="5."),
        Block("numbered", "Anyone can repeat these verifications with the proof bundle "
                          "alone: with the command notary verify, or with the steps of the "
                          "bundle's VERIFY.md and standard tools (sha256sum, openssl, a "
                          "JOSE library and any node of the blockchain).", number="6."),
        *((Block("paragraph", "I may also sign this certification digitally: the detached "
                              "JWS certification/certification.json.jws, made with the "
                              f"Ed25519 key whose RFC 7638 thumbprint is {key}, over "
                              "certification/certification.json, which holds this text."),)
          if key else ()),
        Block("paragraph", "I declare under penalty of perjury under the laws of the "
                           "United States of America that the foregoing is true and "
                           "correct."),
        Block("signature", rows=(
            ("Executed on (date)", ""),
            ("At (city, state or province, country)", ""),
            ("Signature", ""),
            ("Name", p.name),
            ("Title", p.title),
            ("Organisation", p.organisation),
            *((("Signature key (Ed25519, RFC 7638 thumbprint)", key),) if key else ()),
        )),
    )
    schedule: tuple[Block, ...] = (Block("heading", "Schedule A: the records"),)
    for position, item in enumerate(declaration.items, 1):
        schedule += (Block("facts", _record_heading(position, item, "en"),
                           rows=_rows_en(item)),)
    return DeclarationText("en", body, schedule)

def _rows_en(item: DeclaredItem) -> tuple[tuple[str, str], ...]:
    s, a = item.statement, item.anchor
    rows = [
        ("Evidence ID", s.evidence_id),
        ("File name", s.file_name),
        ("Kind, media type", _kind_and_media(s, "en")),
        ("Size", f"{s.size:,} bytes"),
        ("SHA-256 hash value", s.sha256),
        ("Received by notary (UTC)", s.received_at),
    ]
    if s.captured_at is not None:
        rows.append(("Captured at (as declared by the submitter)", s.captured_at))
    if item.original is not None:
        rows.append(("Copy in this bundle", item.original))
    rows += [
        ("Statement SHA-256", s.digest_hex()),
        ("Statement signing key", item.statement_kid),
        ("Merkle root", f"{to_hex32(a.root)} (batch {a.batch_id})"),
        ("Blockchain", f"chain id {a.chain_id}, contract {a.contract}"),
        ("Transaction", a.tx_hash),
        ("Block", f"{a.block_number} ({a.block_hash})"),
        ("Block time (UTC)", item.block_time),
        ("Custody events", str(item.custody_events)),
    ]
    return tuple(rows)

def chinese(declaration: Declaration) -> DeclarationText:
    """The Chinese text: the 电子数据存证情况说明 (存证说明), citing
    《最高人民法院关于互联网法院审理案件若干问题的规定》第十一条 and
    《人民法院在线诉讼规则》第十六条至第十九条."""
    b, p, n = declaration.bundle, declaration.person, len(declaration.items)
    copies = (
        "本证据包仅含哈希值，不含电子数据副本。附表一所列哈希值已与经签名的存证声明及区块链记录"
        "核对一致；任何副本的 SHA-256 哈希值与附表一所列数值相同的，即与所接收的电子数据相同。"
        if b.hashes_only else
        "本证据包所附各项电子数据的副本（目录 items/NNN/original/）系从所接收的电子数据复制，"
        "经哈希值校验，其 SHA-256 哈希值与接收时记录的哈希值一致。"
    )
    key = p.key_thumbprint
    name, title, organisation = (in_chinese(p, f) for f in ("name", "title", "organisation"))
    body: tuple[Block, ...] = (
        Block("title", "电子数据存证情况说明"),
        Block("paragraph", f"案件编号：{b.case_id}；证据包由 notary 存证服务生成于 "
                           f"{b.created_at}（北京时间 {_beijing(b.created_at)}）；"
                           f"所涉电子数据共 {n} 项。"),
        Block("paragraph", f"说明人{name}（{organisation}，{title}）"
                           "就下列电子数据的存证情况说明如下："),
        Block("numbered", f"说明人身份。本人在{organisation}担任{title}，"
                          "因职务熟悉下列电子数据的收集、存证与保管过程，有资格作出本说明。",
              number="一、"),
        Block("numbered", f"存证对象。本说明所涉电子数据共 {n} 项，列于附表一，逐项载明证据"
                          "编号、文件名、文件大小、哈希值（SHA-256）、存证平台接收时间及存证"
                          "声明摘要。", number="二、"),
        Block("numbered", "存证方式。notary 电子数据存证服务在接收每项电子数据时计算其 "
                          "SHA-256 哈希值，写入存证声明，并以 Ed25519 电子签名固定（JWS，"
                          "RFC 7515、RFC 8037）；存证声明按批次构建默克尔树，树根通过区块链"
                          "交易写入区块链上的存证合约。", number="三、"),
        Block("numbered", "区块链存证情况。各项电子数据的哈希值、区块链存证时间（区块时间）、"
                          "交易哈希、区块高度、合约地址及链 ID 均载于附表一。", number="四、"),
        Block("numbered", "保管链。自接收时起，对每项电子数据的每一次操作（登记、存储、上链、"
                          "查看、导出、共享、移交）均记录为经签名、以哈希值前后相连的保管"
                          "事件；本证据包附有截至生成时的全部保管事件，其数量载于附表一。",
              number="五、"),
        Block("numbered", "核验情况。" + copies + "存证声明的签名、默克尔证明与区块链记录均"
                          "经核验一致。任何人均可仅凭本证据包，使用 notary verify 命令或"
                          "包内 VERIFY.md 所列标准工具独立核验。", number="六、"),
        Block("numbered", "依据。根据《最高人民法院关于互联网法院审理案件若干问题的规定》"
                          "第十一条关于通过电子签名、可信时间戳、哈希值校验、区块链等技术"
                          "手段收集、固定和防篡改的电子数据真实性认定的规定，以及《人民法院"
                          "在线诉讼规则》第十六条至第十九条关于区块链存储电子数据的技术核验、"
                          "上链后未经篡改的认定及上链前数据真实性审查的规定，特作本说明。",
              number="七、"),
        *((Block("paragraph", "本人亦可以电子方式签名：以 RFC 7638 指纹为 "
                              f"{key} 的 Ed25519 密钥，对含本说明全文的 "
                              "certification/certification.json 作分离式 JWS 签名，存为 "
                              "certification/certification.json.jws。"),)
          if key else ()),
        Block("paragraph", "本人保证以上说明内容真实、准确、完整，如有不实，愿承担相应的"
                           "法律责任。"),
        Block("signature", rows=(
            ("说明人（签字）", ""),
            ("单位（盖章）", ""),
            ("姓名", chinese_row(p, "name")),
            ("职务", chinese_row(p, "title")),
            ("单位", chinese_row(p, "organisation")),
            *((("电子签名密钥（Ed25519，RFC 7638 指纹）", key),) if key else ()),
            ("日期", ""),
            ("地点", ""),
        )),
    )
    schedule: tuple[Block, ...] = (Block("heading", "附表一：电子数据存证清单"),)
    for position, item in enumerate(declaration.items, 1):
        schedule += (Block("facts", _record_heading(position, item, "zh"),
                           rows=_rows_zh(item)),)
    return DeclarationText("zh", body, schedule)

def _rows_zh(item: DeclaredItem) -> tuple[tuple[str, str], ...]:
    s, a = item.statement, item.anchor
    block_time = item.block_time
    rows = [
        ("证据编号", s.evidence_id),
        ("文件名", s.file_name),
        ("类型、媒体类型", _kind_and_media(s, "zh")),
        ("文件大小", f"{s.size:,} 字节"),
        ("哈希值（SHA-256）", s.sha256),
        ("存证平台接收时间", f"{s.received_at}（北京时间 {_beijing(s.received_at)}）"),
    ]
    if s.captured_at is not None:
        rows.append(("采集时间（提交方声明）", s.captured_at))
    if item.original is not None:
        rows.append(("本证据包内副本", item.original))
    rows += [
        ("存证声明摘要（SHA-256）", s.digest_hex()),
        ("存证声明签名密钥", item.statement_kid),
        ("默克尔根", f"{to_hex32(a.root)}（批次 {a.batch_id}）"),
        ("区块链", f"链 ID {a.chain_id}，存证合约 {a.contract}"),
        ("交易哈希", a.tx_hash),
        ("区块高度", f"{a.block_number}（区块哈希 {a.block_hash}）"),
        ("区块链存证时间", f"{block_time}（北京时间 {_beijing(block_time)}）"),
        ("保管事件数", str(item.custody_events)),
    ]
    return tuple(rows)


def declaration_files(declaration: Declaration) -> dict[str, bytes]:
    """The declaration's documents by bundle path, except the PDF: ``certification.json`` and
    the two texts as Markdown (:meth:`~notary.core.declaration.Declaration.files`)."""
    return declaration.files(english(declaration).markdown(), chinese(declaration).markdown())
