"""The parts of ``VERIFY.md`` that depend on the bundle: the notices (development chain or
deployment, no trust root), who the bundle says issued it, the tools and variables, the
contents, and the sections for RFC 3161 timestamps and shredded items."""

from __future__ import annotations

from notary.bundles.guide.chain import EXTRA_ANCHOR_SCRIPT, TIMESTAMP_SCRIPT
from notary.bundles.guide.documents import DELETION_SCRIPT
from notary.bundles.guide.template import block, md, script
from notary.core.bundle import (
    ANCHOR_NAME,
    BUNDLE_MEDIA_TYPE,
    CUSTODY_NAME,
    DELETION_NAME,
    KEYS_PATH,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    MIMETYPE_PATH,
    PROOF_NAME,
    RECEIPT_NAME,
    RECORDING_NAME,
    STATEMENT_JSON_NAME,
    STATEMENT_NAME,
    TRUST_ROOT_PATH,
    BundleFacts,
)
from notary.core.errors import NotaryError
from notary.core.timestamp import TIMESTAMPS_DIR, TSA_CHAIN_PATH
from notary.core.trustroot import TrustRoot, verify_trust_root

__all__ = ["about", "contents", "extra_anchor_section", "notice", "shredded_section",
           "timestamp_section", "tools",
           "trust_root_of"]


def trust_root_of(document: bytes | None) -> TrustRoot | None:
    if document is None:
        return None
    try:
        return verify_trust_root(document).root
    except NotaryError as exc:  # pragma: no cover - the exporter only passes its own
        raise ValueError(f"the exporter's trust root does not verify: {exc.message}") from exc


def notice(root: TrustRoot | None, facts: BundleFacts, local_chain: bool) -> list[str]:
    """The first lines: a development chain or deployment, or no trust root at all."""
    chain_id = root.chain_id if root is not None else facts.items[0].anchor.chain_id
    out: list[str] = []
    if local_chain:
        out += [
            (f"> **⚠ 本地开发链。** 本证据包锚定在本地开发链（链 ID {chain_id}）上："
             "这条链只在运营者自己的机器上运行，其他任何人都无法查询，"
             "其区块时间也由运行者随意设定。因此它不能向任何第三方证明任何时间，"
             "不能作为区块链存证提交法院。"),
            ">",
            (f"> **⚠ Local development chain.** This bundle is anchored on a local development "
             f"chain (chain id {chain_id}) that runs only on the operator's own machine: nobody "
             "else can query it, and whoever runs it sets its clock. It proves no time to any "
             "third party and is not blockchain evidence for a court."),
            "",
        ]
    elif root is not None and root.development:
        out += [
            ("> **⚠ 开发部署。** 信任根将本部署标记为开发或测试部署（development）：其存证不能作为"
             "证据使用。"),
            ">",
            ("> **⚠ Development deployment.** The trust root marks this deployment as a "
             "development or test deployment: its records are not evidence."),
            "",
        ]
    if root is None:
        out += [
            ("> **本证据包不含信任根**（导出时服务未连接区块链）：仅凭本证据包无法确定签发者。"
             "请向运营者索取其信任根文件（其指纹应与运营者向法院提交的一致），并设置 "
             "`TRUST_ROOT`。"),
            ">",
            ("> **This bundle carries no trust root** (the service had no chain when it was "
             "exported): the issuer cannot be established by it. Obtain the operator's trust "
             "root (its fingerprint must be the one the operator filed with the court) and set "
             "`TRUST_ROOT` to that file."),
            "",
        ]
    return out


def about(root: TrustRoot | None, fingerprint: str | None, facts: BundleFacts) -> list[str]:
    first = facts.items[0]
    case = md(facts.case_id)
    what = (f"案件 {case} 的全部 {len(facts.items)} 项证据" if facts.scope == "case"
            else f"案件 {case} 的第 {first.case_seq} 项证据")
    what_en = (f"all {len(facts.items)} item(s) of case {case}" if facts.scope == "case"
               else f"entry {first.case_seq} of case {case}")
    out = [
        f"本证据包于 {facts.created_at_text} 导出，包含{what}。",
        "",
        f"This bundle was exported at {facts.created_at_text}; it holds {what_en}.",
        "",
    ]
    if root is not None and fingerprint is not None:
        op = root.operator
        ident = ", ".join(md(v) for v in (op.registration, op.country) if v)
        suffix = f"（{ident}）" if ident else ""
        suffix_en = f" ({ident})" if ident else ""
        out += [
            (f"它自称由 **{md(op.name)}**{suffix} 运营的存证服务（{md(root.public_url)}）签发，"
             f"所附信任根 `{TRUST_ROOT_PATH}` 的指纹为 **`{fingerprint}`**。这只是本证据包的自述："
             "任何人都能制作自己的信任根。唯一能确定签发者的是：第 1 步用运营者向法院提交（并印在其"
             "证书上）的指纹核对该信任根。"),
            "",
            (f"It says it was issued by the notarisation service operated by **{md(op.name)}**"
             f"{suffix_en} ({md(root.public_url)}); the trust root it carries, "
             f"`{TRUST_ROOT_PATH}`, has the fingerprint **`{fingerprint}`**. That is only the "
             "bundle's own claim: anyone can make a trust root. What establishes the issuer is "
             "step 1, which checks that trust root against the fingerprint the operator filed "
             "with the court (and printed on its certificates)."),
            "",
        ]
    return out


def tools() -> list[str]:
    return [
        "## 准备 / Before you start",
        "",
        ("所需工具只有：`sha256sum` 或 `openssl`、`curl`、Python 3 及其 JOSE 库 `jwcrypto` 与 "
         "Keccak 库 `pycryptodome`（`python3 -m pip install jwcrypto pycryptodome`，均为其在 PyPI "
         "上的真实名称；PyPI 上名为 `notary` 的包是另一个无关项目，切勿安装）。设置以下变量："),
        "",
        ("The tools are only `sha256sum` or `openssl`, `curl`, and Python 3 with the JOSE library "
         "`jwcrypto` and the Keccak library `pycryptodome` (`python3 -m pip install jwcrypto "
         "pycryptodome`, their real PyPI names; the PyPI package named `notary` is an unrelated "
         "project: never install it). Set:"),
        "",
        "| 变量 / variable | 内容 / what |",
        "|---|---|",
        "| `BUNDLE` | 证据包文件 (.zip) / the bundle file (.zip) |",
        ("| `TRUST_ROOT_FINGERPRINT` | 运营者向法院提交的信任根指纹（**不要**从本证据包中抄取） / "
         "the trust-root fingerprint the operator filed with the court (**not** copied from this "
         "bundle) |"),
        ("| `TRUST_ROOT` | 可选：从别处取得的信任根文件（如运营者网站的 "
         "`/.well-known/notary-trust-root.json`），默认用包内副本；无论哪份都须指纹相符 / "
         "optional: a trust-root file obtained elsewhere (such as the operator's "
         "`/.well-known/notary-trust-root.json`); by default the bundle's copy "
         f"`{TRUST_ROOT_PATH}`; either way its fingerprint must match |"),
        ("| `RPC` | 您自己选择的该链节点地址（绝不用证据包或运营者给出的节点） / the URL of a node "
         "of the chain that you chose yourself (never one named by the bundle or the operator) |"),
        "",
        ("每一段都是独立的脚本：把它粘贴进 `bash`（或存为 `bundle` 目录以外的文件后 `bash 文件`）"
         "运行。每段打印 `OK` 行，或在第一处不符时以 `FAILED: 原因` 停止并返回非零状态。"
         "请按顺序运行：后面的步骤以前面的步骤通过为前提。第 0 段在证据包所在目录运行，"
         "其余各段在解压目录 `bundle` 中运行。"),
        "",
        ("Each block is a script of its own: paste it into `bash` (or save it outside the folder "
         "`bundle` and run `bash FILE`). It prints `OK` lines, or stops at the first mismatch with "
         "`FAILED: reason` and a non-zero exit status. Run them in order: each relies on the ones "
         "before it having passed. Block 0 runs in the folder of the bundle file, the others "
         "inside the unpacked folder `bundle`."),
        "",
        ("读 VERIFY.md 本身无需解压：`unzip -p \"$BUNDLE\" VERIFY.md`。"
         "各段不含任何本证据包的预期值：所有比对值都取自信任根、验签后的签名文件或区块链，"
         "因此每个证据包的这些步骤都相同。"),
        "",
        ("Reading VERIFY.md needs no unpacking: `unzip -p \"$BUNDLE\" VERIFY.md`. The blocks "
         "hold no expected value of this bundle: everything they compare against comes from the "
         "trust root, from signed documents after their signatures verified, or from the chain, "
         "so they are the same for every bundle."),
        "",
    ]


def contents(facts: BundleFacts) -> list[str]:
    """What the bundle holds: a reading aid (the steps take nothing from it)."""
    out = [
        "## 内容 / Contents",
        "",
        "| 路径 / path | 内容 / what |",
        "|---|---|",
        f"| `{MIMETYPE_PATH}` | `{BUNDLE_MEDIA_TYPE}` |",
        f"| `{MANIFEST_PATH}` | 文件清单及 SHA-256 / every file with its SHA-256 |",
        f"| `{MANIFEST_SIGNATURE_PATH}` | 清单的签名 (JWS) / the manifest's signature (JWS) |",
        f"| `{KEYS_PATH}` | 签名公钥 / the signing keys used |",
        (f"| `{TRUST_ROOT_PATH}` | 导出时的信任根副本（须按指纹核对） / a copy of the exporter's "
         "trust root (to be checked by its fingerprint) |"),
        f"| `items/NNN/{STATEMENT_NAME}` | 签名声明 / the signed statement (JWS) |",
        f"| `items/NNN/{STATEMENT_JSON_NAME}` | 声明原文（规范 JSON） / its canonical bytes |",
        f"| `items/NNN/{RECEIPT_NAME}` | 签名回执 / the signed receipt (JWS) |",
        f"| `items/NNN/{PROOF_NAME}` | 默克尔包含证明 / the Merkle inclusion proof |",
        (f"| `items/NNN/{ANCHOR_NAME}` | 链上锚定（所称） / the anchor (as claimed) and the "
         "raw transaction receipt |"),
        f"| `items/NNN/{CUSTODY_NAME}` | 保管链事件 / the signed chain-of-custody events |",
        "| `items/NNN/original/` | 原始文件（若包含） / the original file (unless hashes only) |",
        (f"| `items/NNN/{DELETION_NAME}` | 删除证明（仅已销毁的证据） / the signed deletion "
         "certificate (shredded items only) |"),
        *([("| `items/NNN/anchor-<链 ID chain id>.json` | 在另一条链上的第二锚定（所称） / the "
            "second anchor on another chain (as claimed), with its raw transaction receipt |")]
          if any(item.extra_anchors for item in facts.items) else []),
        "",
        "| 证据 / item | 类型 / kind | 文件名 / file name | 收到时间 (UTC) / received |",
        "|---|---|---|---|",
    ]
    for item in facts.items:
        s = item.statement
        out.append(f"| {item.directory} ({item.evidence_id}) | {s.kind.value} | "
                   f"{md(s.file_name)} | {s.received_at} |")
    out.append("")
    hash_only = [item.directory for item in facts.items if item.hash_only]
    if hash_only:
        dirs = ", ".join(hash_only)
        out += [
            (f"{dirs} 是仅哈希存证：存证方只提交了文件的 SHA-256 和大小，本服务从未见过该文件，"
             "也从未核验它。签名声明中的 `\"deposit\": \"hash_only\"` 记载了这一点；"
             "请用 `sha256sum 文件` 自行核对您持有的文件。"),
            "",
            (f"{dirs} are hash-only deposits: the depositor sent only the file's SHA-256 and "
             "size; the file was never seen by this service, which never checked it. The "
             "signed statement records this as `\"deposit\": \"hash_only\"`; check your own "
             "copy with `sha256sum FILE`."),
            "",
        ]
    recorded = [item.directory for item in facts.items if item.segments]
    if recorded:  # only then: other bundles' VERIFY.md keeps its bytes
        dirs = ", ".join(recorded)
        out += [
            (f"{dirs} 是通话中实时存证的录音：`{RECORDING_NAME}` 列出每段录音在 WAV 中的位置"
             "（`offset`、`size`）、盐和服务签名的签收凭证（JWS）。`notary verify` 逐段核验："
             "第 n 段即 WAV 从 `offset` 起的 `size` 个字节，其叶子为 "
             "SHA-256(盐 || SHA-256(该段))，须与凭证及声明中的片段树根一致；每段不晚于其凭证时间"
             "存在，且不晚于上链区块时间。手工核对一段："
             "`tail -c +$((offset+1)) 原件 | head -c size | sha256sum`，"
             "与凭证中的 `sha256` 比对。"),
            "",
            (f"{dirs} were notarised while recorded: `{RECORDING_NAME}` lists each segment's "
             "place in the WAV (`offset`, `size`), its salt and the service's signed checkpoint "
             "(JWS). `notary verify` checks each one: segment n is the `size` bytes of the WAV "
             "from `offset`, its leaf SHA-256(salt || SHA-256(segment)) must match its "
             "checkpoint and the statement's segment tree root; it existed no later than its "
             "checkpoint's time and the anchor's block time. By hand, one segment: "
             "`tail -c +$((offset+1)) ORIGINAL | head -c size | sha256sum`, compared with the "
             "checkpoint's `sha256`."),
            "",
        ]
    sm3 = [item.directory for item in facts.items if item.statement.sm3 is not None]
    if sm3:
        dirs = ", ".join(sm3)
        out += [
            (f"{dirs} 的签名声明还记载了文件的 SM3 摘要（GB/T 32905，字段 `sm3`）。"
             "第 2 步一并核对；也可用 `openssl dgst -sm3 文件` 自行计算，"
             "结果须与声明中的 `sm3` 相同。"),
            "",
            (f"The signed statements of {dirs} also record the file's SM3 digest (GB/T 32905, "
             "field `sm3`). Step 2 checks it too; you can compute it yourself with "
             "`openssl dgst -sm3 FILE`, which must print the statement's `sm3`."),
            "",
        ]
    if facts.hashes_only:
        out += [
            ("本证据包不含原始文件（仅哈希，保护隐私）。第 2 步打印每项签名声明所记载的 SHA-256："
             "请用 `sha256sum 文件` 或 `openssl dgst -sha256 文件` 核对您持有的原件。"),
            "",
            ("This bundle carries no originals (hashes only, for privacy). Step 2 prints the "
             "SHA-256 each signed statement records: check your own copy with `sha256sum FILE` "
             "or `openssl dgst -sha256 FILE`."),
            "",
        ]
    return out


def timestamp_section(facts: BundleFacts) -> list[str]:
    if not any(item.timestamp is not None for item in facts.items):
        return []
    untrusted = f" -untrusted {TSA_CHAIN_PATH}" if facts.tsa_chain is not None else ""
    return block([
        "## RFC 3161 时间戳 / RFC 3161 timestamps",
        "",
        ("时间戳机构（TSA）按 RFC 3161 签署证明：默克尔根 32 个字节的 SHA-256 "
         "在其签署时间（genTime）已经存在——这是独立于区块链的时间证明。"
         f"`{TIMESTAMPS_DIR}/<根>.tsr` 是 TSA 的完整应答 (DER)，`{TIMESTAMPS_DIR}/<根>.bin` 是根的 "
         "32 个字节。请从 TSA 本身获取其根证书 (PEM)，并把 `TSA_CA` 设为该文件；包内 "
         f"`{TSA_CHAIN_PATH}` 中的证书只用于构建证书链，不能替代可信根。"
         "每个时间戳按其签署时间（`-attime`）核验。时间戳只在 TSA 证书有效期内单独证明时间；"
         f"此后须由续期时间戳（RFC 4998）延续：`{TIMESTAMPS_DIR}/<根>.renewal-1.tsr` 是对 "
         "`<根>.tsr` 文件字节的 SHA-256 的新时间戳，`renewal-2` 再覆盖 `renewal-1`，依此类推；"
         "每个续期须在前一个时间戳的 TSA 证书过期之前作出，最后一个的证书须至今有效。"
         "TSA 的证书是其哈希由 TSA 签名（ESSCertID 签名属性）的那一张，不是令牌所附的任意一张。"
         "根的时间始终是 `<根>.tsr` 的 genTime。"),
        "",
        ("A time-stamping authority (TSA) signed, under RFC 3161, that the SHA-256 of the Merkle "
         "root's 32 bytes existed at its time (genTime): evidence of time independent of the "
         f"chain. `{TIMESTAMPS_DIR}/<root>.tsr` is the TSA's whole answer (DER), "
         f"`{TIMESTAMPS_DIR}/<root>.bin` the root's 32 bytes. Get the TSA's root certificate "
         f"(PEM) from the TSA itself and set `TSA_CA` to that file; the certificates in "
         f"`{TSA_CHAIN_PATH}` only help build the chain and are no trust root. Each token is "
         "checked as of its own signing time (`-attime`). A token proves its time on its own "
         "only while its TSA certificate is valid; after that, renewals carry the proof on "
         f"(RFC 4998): `{TIMESTAMPS_DIR}/<root>.renewal-1.tsr` is a new token over the SHA-256 "
         "of the bytes of the file `<root>.tsr`, `renewal-2` covers `renewal-1`, and so on. "
         "Each renewal must be made before the TSA certificate of the token it renews "
         "expired, and the last one's certificate must still be valid. A token's TSA "
         "certificate is the one whose hash the TSA signed (its ESSCertID signed attribute), "
         "not whichever the token carries. The root's time is always the genTime of "
         "`<root>.tsr`."),
        "",
    ], script(TIMESTAMP_SCRIPT, TIMESTAMPS=TIMESTAMPS_DIR, UNTRUSTED=untrusted,
              CHAIN=TSA_CHAIN_PATH))


def extra_anchor_section(facts: BundleFacts) -> list[str]:
    """Second anchors (docs/bundle-format.md §4.3.1): how to check them and which time counts."""
    chains = sorted({a.chain_id for item in facts.items for a, _ in item.extra_anchors})
    if not chains:
        return []
    listed = ", ".join(str(c) for c in chains)
    return block([
        "## 第二锚定 / Second anchors",
        "",
        (f"同一默克尔根还锚定在链 {listed} 上（`items/NNN/anchor-<链 ID>.json`，格式与 "
         f"`{ANCHOR_NAME}` 相同，附节点返回的交易回执）。以下脚本按信任根的 `extra_chains` "
         "核对：合约须为该链上固定的登记合约，交易发送方须为固定的锚定账户，交易回执须记载该根的 "
         "BatchAnchored 事件。任何一项不符即为虚假声明，整个证据包无效。每项证据的存在时间以"
         "最早的、经第三方确认的有效证明为准（经链节点确认的主链或第二锚定区块时间，或 RFC 3161 "
         "时间戳的 genTime）；未通过核验或未经确认的证明不计时间。此脚本不询问第二条链的节点，"
         "因此这里第二锚定的区块时间只是证据包的声明，不计时间（用 `notary verify --extra-rpc` "
         "向该链节点核对）。"),
        "",
        (f"The same Merkle root is also anchored on chain(s) {listed} "
         f"(`items/NNN/anchor-<chain id>.json`, the same document as `{ANCHOR_NAME}`, with the "
         "node's transaction receipt). The script checks each against the trust root's "
         "`extra_chains`: the contract must be the registry pinned on that chain, the sender a "
         "pinned anchoring account, and the receipt must record the root's BatchAnchored "
         "event. One that does not is a false claim and makes the whole bundle invalid. Each "
         "item is dated by its earliest valid attestation that a third party confirmed (a "
         "primary or second anchor's block time confirmed by a chain node, or an RFC 3161 "
         "genTime); one that fails or is unconfirmed dates nothing. This script asks no node "
         "of the second chain, so a second anchor's block time is only the bundle's claim here "
         "and dates nothing (confirm it with `notary verify --extra-rpc CHAIN_ID=URL`)."),
        "",
    ], script(EXTRA_ANCHOR_SCRIPT))


def shredded_section(facts: BundleFacts) -> list[str]:
    shredded = [item for item in facts.items if item.shredded]
    if not shredded:
        return []
    dirs = ", ".join(item.directory for item in shredded)
    return block([
        "## 已销毁的证据 / Shredded items",
        "",
        (f"{dirs} 的内容已按数据保护规则被销毁（加密销毁：密钥与存储的密文均已删除），"
         "任何人都无法再还原原始文件。其签名声明、默克尔证明和链上锚定仍然证明：该 SHA-256 "
         f"的文件在上链时已存在，且直至销毁时未被改动。`{DELETION_NAME}` 是签名的删除证明；"
         f"下面核验它（用信任根中的密钥），并核对它与保管链（`{CUSTODY_NAME}`）中的 shredded "
         "记录一致。"),
        "",
        (f"The content of {dirs} was shredded under data-protection rules (crypto-shredding: its "
         "key and the stored ciphertext were deleted); nobody can reproduce the original any "
         "more. Its signed statement, Merkle proof and anchor still prove that the file with "
         "that SHA-256 existed when anchored and was unaltered until the shred. "
         f"`{DELETION_NAME}` is the signed deletion certificate; this checks it (with the trust "
         f"root's keys) and that it matches the 'shredded' event of the custody log "
         f"(`{CUSTODY_NAME}`)."),
        "",
    ], script(DELETION_SCRIPT))
