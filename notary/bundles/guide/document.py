"""The whole ``VERIFY.md``: the steps 0 to 5 in order, each a script under its explanation in
Chinese and English, then the sections a bundle needs and the conclusion; and the runnable
blocks read back from a guide."""

from __future__ import annotations

import re

from notary.bundles.guide.chain import (
    BATCH_OF,
    CHAIN_SCRIPT,
    MERKLE_SCRIPT,
    SIGNING_KEY_OF,
    VERIFY_INCLUSION,
)
from notary.bundles.guide.declaration import declaration_section
from notary.bundles.guide.documents import (
    ARCHIVE_SCRIPT,
    CUSTODY_SCRIPT,
    SIGNATURE_SCRIPT,
    TRUST_ROOT_SCRIPT,
)
from notary.bundles.guide.log import log_section
from notary.bundles.guide.sections import (
    about,
    contents,
    extra_anchor_section,
    notice,
    shredded_section,
    timestamp_section,
    tools,
    trust_root_of,
)
from notary.bundles.guide.template import block, script
from notary.core.bundle import (
    CUSTODY_NAME,
    GUIDE_PATH,
    KEYS_PATH,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    BundleFacts,
)
from notary.core.declaration import QualifiedPerson
from notary.core.trustroot import verify_trust_root

__all__ = ["guide_blocks", "render_guide"]


def render_guide(facts: BundleFacts, *, local_chain: bool = False,
                 certifier: QualifiedPerson | None = None, conduct: bool = False) -> bytes:
    """The bundle's ``VERIFY.md`` (UTF-8).

    ``facts.trust_root`` is the signed trust-root document the bundle carries
    (``keys/trust-root.json``; None when the exporting service has no chain: the guide then
    says the issuer cannot be established by the bundle); ``local_chain`` says the anchors are
    on a local development chain nobody else can query (the embedded chain, or a development
    chain id); ``certifier`` the qualified person when the bundle carries a court
    certification; ``conduct`` that it carries the case's conduct report (``conduct/``).
    The steps take no node from the bundle: the expert's own ``RPC`` is always
    asked for."""
    trust_root = facts.trust_root
    root = trust_root_of(trust_root)
    fingerprint = verify_trust_root(trust_root).fingerprint if trust_root is not None else None
    lines = [
        "# 如何核验本证据包 / How to verify this proof bundle",
        "",
        *notice(root, facts, local_chain),
        *about(root, fingerprint, facts),
        *tools(),
        *contents(facts),
    ]
    lines += block([
        "## 0. 解压前检查归档 / Check the archive before unpacking",
        "",
        ("在解压任何内容之前，先列出归档并拒绝：符号链接等非普通文件、重名（含仅大小写不同）、"
         f"`..` 或绝对路径、以及 `{MANIFEST_PATH}` 未列出的文件；然后才解压到新目录 `bundle`。"
         "（`unzip` 会照归档所写解出符号链接等，所以请用此脚本而不是 `unzip` 解压。）"),
        "",
        ("Before anything is extracted, the archive is listed and refused if it holds links or "
         "other non-regular files, duplicate names (also names equal but for case), `..` or "
         f"absolute names, or files `{MANIFEST_PATH}` does not list; only then is it unpacked "
         "into a fresh folder `bundle`. (`unzip` extracts links and the like as the archive says: "
         "unpack with this script, not with `unzip`.)"),
        "",
    ], script(ARCHIVE_SCRIPT))
    lines += ["```text", "cd bundle", "```", ""]
    lines += block([
        "## 1. 信任根：谁签发了本证据包 / The trust root: who issued this bundle",
        "",
        ("信任根是运营者签署的一份规范 JSON 文件，载明运营者身份、链 ID、登记合约（registry）"
         "地址及其代码哈希、锚定账户和全部签名密钥。其指纹为去掉 `signature` 后规范字节的 SHA-256 "
         "的前 16 字节。本步骤核对：指纹等于运营者向法院提交的指纹、文件为规范形式、"
         "其签名由其当前密钥作出，并列出其内容。"),
        "",
        ("The trust root is a canonical JSON document signed by the operator: the operator's "
         "identity, the chain id, the registry contract's address and code hash, the anchoring "
         "accounts and every signing key. Its fingerprint is the first 16 bytes of the SHA-256 "
         "of its canonical bytes without `signature`. This checks that the fingerprint is the one "
         "the operator filed with the court, that the document is canonical and signed by its "
         "current key, and prints what it says."),
        "",
    ], script(TRUST_ROOT_SCRIPT))
    lines += block([
        "## 2. 密钥、签名与文件 / Keys, signatures and files",
        "",
        (f"`{KEYS_PATH}` 中的每个密钥 ID（RFC 7638 指纹）都必须在信任根中；清单 "
         f"`{MANIFEST_SIGNATURE_PATH}`、每份声明（statement）和回执（receipt）"
         "都必须由信任根中的密钥、在其有效期内签名。清单所列的每个文件的 SHA-256 和大小必须相符，"
         "目录中不得有清单以外的文件；每个原始文件的 SHA-256 取自验签后的声明内容。"
         "本步骤同时核对案件顺序：第 n 项声明的 `prev_statement` 等于第 n−1 项 `statement.json` 的 "
         "SHA-256。"),
        "",
        (f"Every key id (RFC 7638 thumbprint) in `{KEYS_PATH}` must be in the trust root; the "
         f"manifest's signature `{MANIFEST_SIGNATURE_PATH}`, every statement and every receipt "
         "must be signed by a key of the trust root within its period. Every file the manifest "
         "lists must have its SHA-256 and size, and the folder must hold nothing else; each "
         "original's SHA-256 is read from its statement after the signature verified. This also "
         "checks the case sequence: statement n's `prev_statement` is the SHA-256 of statement "
         "n−1's `statement.json`."),
        "",
    ], script(SIGNATURE_SCRIPT))
    lines += block([
        "## 3. 保管链 / Chain of custody",
        "",
        (f"`items/NNN/{CUSTODY_NAME}` 每行是一条签名的保管事件（登记、存储、锚定、查看、导出……）。"
         "每条都必须由信任根中的密钥签名，编号从 1 连续递增，并以 `prev_event` 记载前一条的 "
         "SHA-256；第一条登记的必须是该项证据的声明。删除、插入或改动任何一条都会被发现。"),
        "",
        (f"Each line of `items/NNN/{CUSTODY_NAME}` is a signed custody event (registered, stored, "
         "anchored, viewed, exported...). Each must be signed by a key of the trust root, "
         "numbered 1, 2, 3... without a gap, and name the SHA-256 of the event before it "
         "(`prev_event`); the first must register this item's statement. Removing, inserting or "
         "changing any event shows."),
        "",
    ], script(CUSTODY_SCRIPT))
    lines += block([
        "## 4. 默克尔证明 / The Merkle proof",
        "",
        ("规则（与 OpenZeppelin `StandardMerkleTree` 相同）：叶子 = keccak256(keccak256("
         "uint256(1) ‖ 文件 SHA-256 ‖ 声明 SHA-256))；每一步 h = keccak256(min(h, p) ‖ max(h, p))；"
         "最后得到的 h 必须等于锚定的根。"),
        "",
        ("The rule (OpenZeppelin's `StandardMerkleTree`): leaf = keccak256(keccak256(uint256(1) ‖ "
         "file SHA-256 ‖ statement SHA-256)); each step h = keccak256(min(h, p) ‖ max(h, p)); the "
         "final h must be the anchored root."),
        "",
    ], script(MERKLE_SCRIPT))
    lines += block([
        "## 5. 链上锚定 / The anchor on chain",
        "",
        ("以下用 `curl` 向您自己选择的节点（`RPC`）发送标准 JSON-RPC 请求，并与信任根比对："
         "`eth_chainId` 等于信任根的链 ID；节点的创世区块及登记合约部署区块的哈希等于信任根所记；"
         "`eth_getCode` 的 keccak-256 等于信任根所记的合约代码哈希；交易回执中 BatchAnchored "
         "日志的地址是信任根的登记合约，topic0 为 BatchAnchored 事件，topic1 为批次号，topic2 "
         "为默克尔根；交易发送者（`eth_getTransactionByHash` 的 `from`）是信任根所列的锚定账户；"
         "`signingKeyOf(密钥指纹)` 表明签名密钥在锚定区块之前（含）已在链上登记、且未在其前撤销。"
         "区块时间即该文件存在的最晚时间。"),
        "",
        ("This sends standard JSON-RPC requests with `curl` to the node you chose (`RPC`) and "
         "compares the answers with the trust root: `eth_chainId` is the trust root's chain id; "
         "the node's genesis block and the registry's deployment block have the trust root's "
         "hashes; the keccak-256 of `eth_getCode` is the registry's pinned code hash; the "
         "transaction receipt's BatchAnchored log comes from the trust root's registry, with "
         "topic0 the BatchAnchored event, topic1 the batch id and topic2 the Merkle root; the "
         "transaction's sender (`from` of `eth_getTransactionByHash`) is one of the trust root's "
         "anchoring accounts; `signingKeyOf(thumbprint)` shows each signing key registered on "
         "chain at or before the anchor's block and not retired before it. The block's time is "
         "the latest time at which the file existed."),
        "",
        "例如 / for example:",
        "",
        "```text",
        ("curl -s -X POST \"$RPC\" -H 'content-type: application/json' -d "
         "'{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[]}'"),
        "```",
        "",
    ], script(CHAIN_SCRIPT, SIGNING_KEY_OF=SIGNING_KEY_OF, BATCH_OF=BATCH_OF,
               VERIFY_INCLUSION=VERIFY_INCLUSION))
    lines += shredded_section(facts) + timestamp_section(facts) + extra_anchor_section(facts)
    lines += log_section(facts)
    lines += declaration_section(certifier) + (conduct_section() if conduct else [])
    lines += [
        "## 结论 / Conclusion",
        "",
        ("以上各段全部通过，即证明：这些文件（按 SHA-256）由指纹所指信任根中的运营者的密钥签名，"
         "在声明记载的时间被接收，且不晚于第 5 步打印的区块时间被锚定在该信任根所指的链和登记合约"
         "上。提交者、租户名称是其本人向服务所作的陈述，并非经核实的身份。"),
        "",
        ("If every block above passed, these files (by SHA-256) were signed with the keys of the "
         "operator of the trust root with that fingerprint, received at the times their "
         "statements record, and anchored no later than the block times step 5 printed, on the "
         "chain and in the registry that trust root names. The submitter's and the tenant's "
         "names are what they told the service, not verified identities."),
        "",
        ("格式规范 / Format specification: docs/bundle-format.md §5 (this "
         f"{GUIDE_PATH}), docs/formats.md (notary)."),
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def conduct_section() -> list[str]:
    """How the conduct report the bundle carries is checked: derived again, not trusted."""
    return [
        "## 合规通话报告 / The conduct report",
        "",
        ("`conduct/report.jws` 是服务签名的合规通话报告（`conduct/report.json` 为其载荷，"
         "`conduct/report.pdf` 为中英文版本，仅供阅读）。报告不必采信：`notary verify` 按报告所载的"
         "期间和规则，仅凭本证据包中的声明重新推导报告，逐字节比较；遗漏或多出的通话、被改动的"
         "标记都会使检查项 `conduct` 未通过，并指出是哪一通电话。时区换算使用核验机器的 tzdata，"
         "`notary verify` 会打印其版本。"),
        "",
        ("`conduct/report.jws` is the conduct report signed by the service "
         "(`conduct/report.json` is its payload, `conduct/report.pdf` the bilingual document, "
         "for reading only). It need not be trusted: `notary verify` derives the report again "
         "from this bundle's statements alone, under the period and rules the report states, and "
         "compares the bytes; a call left out or added, or a flag changed, fails the check "
         "`conduct`, naming the call. Zones are converted with the verifying machine's tzdata, "
         "whose version `notary verify` prints."),
        "",
    ]


def guide_blocks(text: str) -> list[tuple[str, str]]:
    """The runnable blocks of a VERIFY.md, each with the heading it stands under."""
    out, heading = [], ""
    for match in re.finditer(r"^(## [^\n]*)$|^```sh\n(.*?)^```$", text,
                             flags=re.DOTALL | re.MULTILINE):
        if match.group(1) is not None:
            heading = match.group(1)
        else:
            out.append((heading, match.group(2)))
    return out
