"""``VERIFY.md``: how to check every claim of one bundle with standard tools alone, in Chinese
and English, with that bundle's own values filled in.

Every shell block of the guide is meant to be run as it stands, in order, in the folder the
bundle was unpacked to (the test suite does exactly that, against a real chain node): each
prints ``OK`` lines or stops with an error. The tools are ``sha256sum``/``openssl``,
Python 3 with ``jwcrypto`` (a JOSE library) and ``pycryptodome`` (Keccak-256), and ``curl``
against any node of the anchoring chain.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from notary.core.bundle import (
    ANCHOR_NAME,
    KEYS_PATH,
    MANIFEST_MEDIA_TYPE,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    PROOF_NAME,
    RECEIPT_NAME,
    STATEMENT_JSON_NAME,
    STATEMENT_NAME,
    BundleFacts,
    BundleItem,
)
from notary.core.merkle import hash_pair, keccak256, to_hex32
from notary.core.signing import RECEIPT_MEDIA_TYPE
from notary.core.statement import STATEMENT_MEDIA_TYPE

__all__ = ["batch_of_calldata", "render_guide", "verify_inclusion_calldata"]

_VERIFY_INCLUSION = "0x" + keccak256(b"verifyInclusion(bytes32,bytes32[],bytes32)")[:4].hex()
_BATCH_OF = "0x" + keccak256(b"batchOf(bytes32)")[:4].hex()


def verify_inclusion_calldata(root: bytes, proof: Sequence[bytes], leaf: bytes) -> str:
    """ABI calldata of ``verifyInclusion(bytes32 root, bytes32[] proof, bytes32 leaf)``:
    selector, root, the offset of the array (0x60), leaf, the array's length, its elements."""
    words = [root, (0x60).to_bytes(32, "big"), leaf, len(proof).to_bytes(32, "big"), *proof]
    return _VERIFY_INCLUSION + "".join(w.hex() for w in words)


def batch_of_calldata(root: bytes) -> str:
    """ABI calldata of ``batchOf(bytes32 root)``."""
    return _BATCH_OF + root.hex()


def _rpc(method: str, params: list[object]) -> str:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                      separators=(",", ":"))
    return f"curl -s -X POST \"$RPC\" -H 'content-type: application/json' \\\n  -d '{body}'"


def _files_section(facts: BundleFacts) -> list[str]:
    out = [
        "## 1. 文件完整性 / The files are intact",
        "",
        (f"`{MANIFEST_PATH}` 列出包内每个文件及其 SHA-256；下面的命令逐一核对（`{MANIFEST_PATH}` "
        f"本身由第 2 步的签名 `{MANIFEST_SIGNATURE_PATH}` 保护）。"),
        "",
        (f"`{MANIFEST_PATH}` lists every file of the bundle with its SHA-256; this checks them all "
        f"(`{MANIFEST_PATH}` itself is protected by the signature `{MANIFEST_SIGNATURE_PATH}`, "
        "step 2)."),
        "",
        "```sh",
        ("python3 -c 'import json; [print(f[\"sha256\"] + \"  \" + f[\"path\"]) for f in "
        f"json.load(open(\"{MANIFEST_PATH}\"))[\"files\"]]' | sha256sum -c --quiet"),
        "echo 'manifest files: OK'",
        "```",
        "",
    ]
    if facts.hashes_only:
        out += [
            ("本证据包不含原始文件（仅哈希，保护隐私）。请用您持有的原件核对：`sha256sum 文件` "
            "或 `openssl dgst -sha256 文件` 的输出必须与下表一致。"),
            "",
            ("This bundle carries no originals (hashes only, for privacy). Check your own copy: "
            "`sha256sum FILE` or `openssl dgst -sha256 FILE` must print the value below."),
            "",
            "| 证据 / item | 文件名 / file name | 大小 / size (bytes) | SHA-256 |",
            "|---|---|---|---|",
        ]
        for item in facts.items:
            s = item.statement
            out.append(f"| {item.directory} | {s.file_name} | {s.size} | `{s.sha256}` |")
        return out + [""]
    out += [
        "每个原始文件的 SHA-256 必须等于其签名声明（statement）中记载的值：",
        "",
        "Each original's SHA-256 must be the one its signed statement records:",
        "",
        "```sh",
        "sha256sum -c <<'EOF'",
        *[f"{item.statement.sha256}  {item.original_path}" for item in facts.items],
        "EOF",
    ]
    for item in facts.items:
        out.append(f"openssl dgst -sha256 '{item.original_path}' | grep -q "
                   f"'{item.statement.sha256}' && echo '{item.directory} original: OK' "
                   f"|| echo '{item.directory} original: FAILED'")
    out += ["```", ""]
    return out


_SIGNATURE_SCRIPT = f'''python3 - <<'PY'
import hashlib, json
from datetime import datetime
from jwcrypto import jwk, jws

keys = json.load(open("{KEYS_PATH}"))["keys"]
manifest = json.load(open("{MANIFEST_PATH}"))

def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

def verify(path, typ, signed_at=None):
    token = open(path).read()
    obj = jws.JWS()
    obj.deserialize(token)
    header = obj.jose_header
    assert header["alg"] == "EdDSA" and header["typ"] == typ, path
    public = lambda k: jwk.JWK(kty=k["kty"], crv=k["crv"], x=k["x"])
    (key,) = [k for k in keys if public(k).thumbprint() == header["kid"]]
    obj.verify(public(key), alg="EdDSA")
    at = when(signed_at or json.loads(obj.payload)["issued_at"])
    assert when(key["valid_from"]) <= at, (path, "signed before the key was valid")
    assert "valid_until" not in key or at < when(key["valid_until"]), (path, "key expired")
    return obj.payload

payload = verify("{MANIFEST_SIGNATURE_PATH}", "{MANIFEST_MEDIA_TYPE}", manifest["created_at"])
assert payload == open("{MANIFEST_PATH}", "rb").read(), "manifest.json differs from its signature"
print("{MANIFEST_SIGNATURE_PATH}: OK")
previous = None
for item in manifest["items"]:
    d = item["path"]
    statement = open(d + "/{STATEMENT_JSON_NAME}", "rb").read()
    s = json.loads(statement)
    assert verify(d + "/{STATEMENT_NAME}", "{STATEMENT_MEDIA_TYPE}", s["received_at"]) == statement
    digest = hashlib.sha256(statement).hexdigest()
    r = json.loads(verify(d + "/{RECEIPT_NAME}", "{RECEIPT_MEDIA_TYPE}"))
    assert r["statement_sha256"] == digest and r["evidence_id"] == s["evidence_id"], d
    assert s["evidence_id"] == item["evidence_id"] and s["case_seq"] == item["case_seq"], d
    if manifest["scope"] == "case":
        assert s["case_seq"] == (previous["case_seq"] + 1 if previous else 1), d
        assert s.get("prev_statement") == (previous["digest"] if previous else None), d
    previous = {{"case_seq": s["case_seq"], "digest": digest}}
    print(d, "statement, receipt, key validity, case link: OK; statement digest", digest)
PY'''

_MERKLE_SCRIPT = f'''python3 - <<'PY'
import hashlib, json
from Crypto.Hash import keccak

def k(data):
    return keccak.new(digest_bits=256, data=data).digest()

for item in json.load(open("{MANIFEST_PATH}"))["items"]:
    d = item["path"]
    statement = open(d + "/{STATEMENT_JSON_NAME}", "rb").read()
    proof = json.load(open(d + "/{PROOF_NAME}"))
    encoded = ((1).to_bytes(32, "big") + bytes.fromhex(json.loads(statement)["sha256"])
               + hashlib.sha256(statement).digest())
    node = k(k(encoded))
    assert "0x" + node.hex() == proof["leaf"], d
    for step in proof["proof"]:
        sibling = bytes.fromhex(step[2:])
        node = k(min(node, sibling) + max(node, sibling))
    assert "0x" + node.hex() == proof["root"], d
    assert json.load(open(d + "/{ANCHOR_NAME}"))["root"] == proof["root"], d
    print(d, "Merkle proof: OK, root", proof["root"])
PY'''


def _merkle_values(item: BundleItem) -> list[str]:
    values = item.leaf_values
    lines = [
        f"**{item.directory}**",
        "",
        "```text",
        f"leaf_values = {json.dumps(values)}",
        f"leaf        = {to_hex32(item.leaf)}",
    ]
    node = item.leaf
    for i, step in enumerate(item.proof):
        node = hash_pair(node, step)
        lines.append(f"proof[{i}]    = {to_hex32(step)}")
        lines.append(f"  h{i + 1} = keccak256(min ‖ max) = {to_hex32(node)}")
    lines += [f"root        = {to_hex32(item.anchor.root)}", "```", ""]
    return lines


def _chain_section(facts: BundleFacts, rpc_hint: str | None) -> list[str]:
    chain_id = facts.items[0].anchor.chain_id
    default = f'"${{RPC:-{rpc_hint}}}"' if rpc_hint else (
        f'"${{RPC:?set RPC to the URL of a node of chain {chain_id}}}"')
    out = [
        "## 4. 链上锚定 / The root is anchored on chain",
        "",
        (f"以下命令向链 ID 为 {chain_id} 的任一节点发送标准 JSON-RPC 请求（把 `RPC` 设为该节点的地址）。"
        "交易回执必须记载相同的区块号、区块哈希和默克尔根；合约的 `verifyInclusion` 必须返回 1（真）。"),
        "",
        (f"These send standard JSON-RPC requests to any node of chain id {chain_id} (set `RPC` to "
        "its URL). The transaction receipt must record the same block number, block hash and "
        "Merkle root; the contract's `verifyInclusion` must answer 1 (true)."),
        "",
        "```sh",
        f"RPC={default}",
    ]
    seen_tx: set[str] = set()
    for item in facts.items:
        a = item.anchor
        if a.tx_hash not in seen_tx:
            seen_tx.add(a.tx_hash)
            check = (
                "python3 -c 'import json, sys; r = json.load(sys.stdin)[\"result\"]; "
                f"assert r[\"status\"] == \"0x1\" and int(r[\"blockNumber\"], 16) == {a.block_number}; "
                f"assert r[\"blockHash\"] == \"{a.block_hash.lower()}\"; "
                f"assert r[\"to\"].lower() == \"{a.contract.lower()}\"; "
                "assert [l for l in r[\"logs\"] if l[\"topics\"][2] == "
                f"\"{to_hex32(a.root)}\"]; print(\"transaction {a.tx_hash}: OK\")'"
            )
            out += [
                _rpc("eth_getTransactionReceipt", [a.tx_hash]) + " \\",
                f"  | {check}",
                _rpc("eth_getBlockByNumber", [hex(a.block_number), False]) + " \\",
                ("  | python3 -c 'import json, sys; b = json.load(sys.stdin)[\"result\"]; "
                f"assert b[\"hash\"] == \"{a.block_hash.lower()}\" and int(b[\"timestamp\"], 16) == "
                f"{a.block_timestamp}; print(\"block {a.block_number}: OK, timestamp "
                f"{a.block_timestamp}\")'"),
            ]
        call = {"to": a.contract, "data": verify_inclusion_calldata(a.root, item.proof, item.leaf)}
        out += [
            _rpc("eth_call", [call, "latest"]) + " \\",
            ("  | python3 -c 'import json, sys; assert int(json.load(sys.stdin)[\"result\"], 16) "
            f"== 1; print(\"{item.directory} verifyInclusion: OK\")'"),
        ]
    out += ["```", ""]
    a = facts.items[0].anchor
    out += [
        "`verifyInclusion(bytes32 root, bytes32[] proof, bytes32 leaf)` 的调用数据 "
        "(selector `" + _VERIFY_INCLUSION + "`) 依次为：根、数组偏移 0x60、叶子、证明长度、各证明元素，"
        "每项 32 字节。`batchOf(bytes32 root)`（selector `" + _BATCH_OF + "`）返回批次号、区块号、"
        "时间戳和叶子数，例如：",
        "",
        ("The calldata of `verifyInclusion(bytes32 root, bytes32[] proof, bytes32 leaf)` (selector "
        f"`{_VERIFY_INCLUSION}`) is, in 32-byte words: the root, the array offset 0x60, the "
        "leaf, the proof's length, its elements. `batchOf(bytes32 root)` (selector "
        f"`{_BATCH_OF}`) answers batch id, block number, timestamp and leaf count, e.g.:"),
        "",
        "```sh",
        _rpc("eth_call", [{"to": a.contract, "data": batch_of_calldata(a.root)}, "latest"]),
        "echo",
        "```",
        "",
    ]
    return out


def render_guide(facts: BundleFacts, *, rpc_hint: str | None = None) -> bytes:
    """The bundle's ``VERIFY.md`` (UTF-8). ``rpc_hint`` is a node URL to suggest (only the
    embedded chain's; a paid node's URL may carry a secret and is never written here)."""
    first = facts.items[0]
    chain_id, contract = first.anchor.chain_id, first.anchor.contract
    what = (f"案件 {facts.case_id} 的全部 {len(facts.items)} 项证据" if facts.scope == "case"
            else f"案件 {facts.case_id} 的第 {first.case_seq} 项证据")
    what_en = (f"all {len(facts.items)} item(s) of case {facts.case_id}" if facts.scope == "case"
               else f"entry {first.case_seq} of case {facts.case_id}")
    lines = [
        "# 如何核验本证据包 / How to verify this proof bundle",
        "",
        (f"本证据包由 notary 存证服务于 {facts.created_at_text} 生成，包含{what}。"
        "下面每一项声明都可以只用标准工具核验，无需信任 notary：`sha256sum` 或 `openssl`、"
        "带 JOSE 库的 Python（`pip install jwcrypto pycryptodome`）、以及对链 "
        f"{chain_id} 任一节点的 `curl` 请求。`pip install notary` 后，`notary verify 本文件.zip "
        "--rpc 节点地址` 一次完成全部检查。"),
        "",
        (f"This bundle was made by the notary service at {facts.created_at_text}; it holds "
        f"{what_en}. Every claim can be checked with standard tools alone, without trusting "
        "notary: `sha256sum` or `openssl`, Python with a JOSE library (`pip install jwcrypto "
        f"pycryptodome`), and `curl` against any node of chain {chain_id}. After "
        "`pip install notary`, `notary verify THIS.zip --rpc NODE_URL` does all of it at once."),
        "",
        "先解压，然后在解压目录中按顺序运行各段命令；每段打印 OK，或因错误而停止。",
        "",
        ("Unpack it, then run the blocks below in order inside the unpacked folder; each prints "
        "OK or stops with an error."),
        "",
        "```text",
        "unzip -q bundle.zip -d bundle && cd bundle",
        "```",
        "",
        "## 0. 内容 / Contents",
        "",
        "| 路径 / path | 内容 / what |",
        "|---|---|",
        "| `mimetype` | `application/vnd.notary.bundle.v1+zip` |",
        f"| `{MANIFEST_PATH}` | 文件清单及 SHA-256 / every file with its SHA-256 |",
        f"| `{MANIFEST_SIGNATURE_PATH}` | 清单的签名 (JWS) / the manifest's signature (JWS) |",
        f"| `{KEYS_PATH}` | 服务公钥及有效期 / the service's public keys with validity periods |",
        f"| `items/NNN/{STATEMENT_NAME}` | 签名声明 / the signed statement (JWS) |",
        f"| `items/NNN/{STATEMENT_JSON_NAME}` | 声明原文（规范 JSON） / its canonical bytes |",
        f"| `items/NNN/{RECEIPT_NAME}` | 签名回执 / the signed receipt (JWS) |",
        f"| `items/NNN/{PROOF_NAME}` | 默克尔包含证明 / the Merkle inclusion proof |",
        (f"| `items/NNN/{ANCHOR_NAME}` | 链上锚定及原始交易回执 / the anchor and the raw "
        "transaction receipt |"),
        "| `items/NNN/original/` | 原始文件（若包含） / the original file (unless hashes only) |",
        "",
        "| 证据 / item | 类型 / kind | 文件名 / file name | 收到时间 (UTC) / received |",
        "|---|---|---|---|",
    ]
    for item in facts.items:
        s = item.statement
        lines.append(f"| {item.directory} ({item.evidence_id}) | {s.kind.value} | "
                     f"{s.file_name} | {s.received_at} |")
    lines += [""]
    lines += _files_section(facts)
    lines += [
        "## 2. 签名与密钥有效期 / Signatures and key validity",
        "",
        (f"每份声明、回执和清单都是 EdDSA (Ed25519) 签名的 JWS。公钥在 `{KEYS_PATH}` 中，"
        "以其 RFC 7638 指纹 (`kid`) 命名，并带有有效期 `valid_from`/`valid_until`；"
        "签名时间（声明的 `received_at`、清单的 `created_at`）必须在有效期内。请将 `kid` 与 "
        "notary 公布的公钥（`GET /v1/keys`）比对。本步骤同时核对案件顺序：第 n 项声明的 "
        "`prev_statement` 等于第 n−1 项 `statement.json` 的 SHA-256。"),
        "",
        ("Every statement, receipt and the manifest is a JWS signed with EdDSA (Ed25519). The "
        f"public keys are in `{KEYS_PATH}`, named by their RFC 7638 thumbprint (`kid`), with a "
        "validity period `valid_from`/`valid_until`; the signing time (a statement's "
        "`received_at`, the manifest's `created_at`) must fall inside it. Compare the `kid` "
        "with the keys notary publishes (`GET /v1/keys`). This step also checks the case "
        "sequence: statement n's `prev_statement` is the SHA-256 of statement n−1's "
        "`statement.json`."),
        "",
        "```sh",
        _SIGNATURE_SCRIPT,
        "```",
        "",
        "## 3. 默克尔证明 / The Merkle proof",
        "",
        ("规则（与 OpenZeppelin `StandardMerkleTree` 相同）：叶子 = keccak256(keccak256("
        "uint256(1) ‖ 文件 SHA-256 ‖ 声明 SHA-256))；每一步 h = keccak256(min(h, p) ‖ max(h, p))；"
        "最后得到的 h 必须等于锚定的根。"),
        "",
        ("The rule (OpenZeppelin's `StandardMerkleTree`): leaf = keccak256(keccak256(uint256(1) ‖ "
        "file SHA-256 ‖ statement SHA-256)); each step h = keccak256(min(h, p) ‖ max(h, p)); the "
        "final h must be the anchored root. The values of this bundle:"),
        "",
    ]
    for item in facts.items:
        lines += _merkle_values(item)
    lines += ["```sh", _MERKLE_SCRIPT, "```", ""]
    lines += _chain_section(facts, rpc_hint)
    lines += [
        "## 5. 结论 / Conclusion",
        "",
        (f"以上各段全部通过，即证明：这些文件（按 SHA-256）在声明记载的时间被 notary 接收并签名，"
        f"且不晚于所记区块时间被锚定在链 {chain_id} 的合约 {contract} 上。"),
        "",
        ("If every block above passed, these files (by SHA-256) were received and signed by "
        "notary at the times their statements record, and anchored no later than the recorded "
        f"block times in contract {contract} on chain {chain_id}."),
        "",
        "格式规范 / Format specification: docs/bundle-format.md, docs/formats.md (notary).",
        "",
    ]
    return "\n".join(lines).encode("utf-8")
