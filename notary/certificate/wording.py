"""The certificate's words, in Chinese and English, in one place.

Chinese comes first (the certificate's readers in court read Chinese); English follows on the
same line or the next. The verification page (``api/static/verify.js``) words the same checks
for the public; keep the two in step when a check is added.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "CASE_TITLE",
    "CHAIN_NAMES",
    "CHECK_WORDS",
    "DELETION_TITLE",
    "KIND_NAMES",
    "STATUS_WORDS",
    "TITLE",
    "Bilingual",
    "chain_name",
]


class Bilingual(NamedTuple):
    """One text in both languages."""

    zh: str
    en: str


TITLE = Bilingual("存证证书", "Certificate of Evidence Notarisation")
CASE_TITLE = Bilingual("案件存证证书", "Case Certificate of Evidence Notarisation")

#: Statement ``kind`` values (formats §1.1) as a collector, lawyer or judge says them.
KIND_NAMES: dict[str, Bilingual] = {
    "call_recording": Bilingual("通话录音", "Call recording"),
    "notice": Bilingual("催收通知", "Collection notice"),
    "agreement": Bilingual("还款协议", "Repayment agreement"),
    "other": Bilingual("其他", "Other"),
}

#: Chains a reader may meet. A local development chain is named as such: it is not public,
#: so nobody outside the operator can read it.
CHAIN_NAMES: dict[int, Bilingual] = {
    1: Bilingual("以太坊主网", "Ethereum mainnet"),
    11155111: Bilingual("Sepolia 测试网", "Sepolia testnet"),
    17000: Bilingual("Holesky 测试网", "Holesky testnet"),
    31337: Bilingual("本地开发链，非公链", "local development chain, not public"),
}


def chain_name(chain_id: int) -> Bilingual:
    """The chain's name, or a neutral one for chains not listed."""
    return CHAIN_NAMES.get(chain_id, Bilingual("EVM 链", "EVM chain"))


#: What each check of ``notary.core.verify`` establishes, in plain words (formats §7).
CHECK_WORDS: dict[str, Bilingual] = {
    "statement_signature": Bilingual(
        "存证声明由 notary 公布的密钥签名，签名后内容未被改动。",
        "The statement is signed by a published notary key and has not been altered since.",
    ),
    "file_hash": Bilingual(
        "文件本身不随证书提供：持有文件者计算其 SHA-256，与本证书所列数值相同即为同一文件。",
        "The file is not part of this certificate: whoever holds it computes its SHA-256; "
        "if it equals the value above, it is the same file.",
    ),
    "merkle_proof": Bilingual(
        "存证声明包含在已上链批次的默克尔树中。",
        "The statement is included in the Merkle tree of an anchored batch.",
    ),
    "anchor_root": Bilingual(
        "锚定记录所对应的正是该默克尔树的根。",
        "The anchor record is for that tree's root.",
    ),
    "chain_anchor": Bilingual(
        "区块链上的记录与本证书所列的合约、交易、区块和时间一致。",
        "The chain's record matches the contract, transaction, block and time shown here.",
    ),
    "deletion": Bilingual(
        "删除证明由 notary 公布的密钥签名，并与该证据保管链中的“已销毁”记录一致。",
        "The deletion certificate is signed by a published notary key and matches the "
        "'shredded' event of the item's custody log.",
    ),
    "custody": Bilingual(
        "保管链记录均已签名，按序相连，无缺失、无改动。",
        "The custody log's events are signed and linked in order, none missing or changed.",
    ),
}

DELETION_TITLE = Bilingual("数据销毁证明", "Certificate of Deletion (crypto-shredding)")

STATUS_WORDS: dict[str, Bilingual] = {
    "pass": Bilingual("通过", "passed"),
    "fail": Bilingual("未通过", "failed"),
    "skip": Bilingual("未核验", "not checked"),
    "holder": Bilingual("持有人核验", "by the holder"),
}
