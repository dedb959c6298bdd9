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
import re
import shlex
from collections.abc import Sequence

from notary.core.bundle import (
    ANCHOR_NAME,
    BUNDLE_MEDIA_TYPE,
    CUSTODY_NAME,
    DELETION_JSON_NAME,
    DELETION_NAME,
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
from notary.core.certification import (
    CERTIFICATION_DIR,
    CERTIFICATION_EN_PATH,
    CERTIFICATION_MEDIA_TYPE,
    CERTIFICATION_PATH,
    CERTIFICATION_PDF_PATH,
    CERTIFICATION_SIGNATURE_PATH,
    CERTIFICATION_ZH_PATH,
    QualifiedPerson,
)
from notary.core.custody import CUSTODY_MEDIA_TYPE
from notary.core.deletion import DELETION_MEDIA_TYPE
from notary.core.merkle import hash_pair, keccak256, to_hex32
from notary.core.signing import RECEIPT_MEDIA_TYPE
from notary.core.statement import STATEMENT_MEDIA_TYPE
from notary.core.timestamp import TSA_CHAIN_PATH, root_path, token_path

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


_MD_SPECIAL = re.compile(r"[!-/:-@\[-`{-~]")
_MD_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def md(value: object) -> str:
    """A value chosen by a submitter or certifier (file name, case id, name...) as inert
    Markdown text: ``<``, ``>`` and ``&`` as entities (so never raw HTML), every other ASCII
    punctuation backslash-escaped (no links, emphasis, code or table cells), line breaks as
    spaces. What a reader sees is the value itself."""
    text = re.sub(r"[\r\n\t\u2028\u2029]", " ", str(value))
    return _MD_SPECIAL.sub(lambda m: _MD_ENTITIES.get(m.group(), "\\" + m.group()), text)


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
            out.append(f"| {item.directory} | {md(s.file_name)} | {s.size} | `{s.sha256}` |")
        return out + [""] + _shredded_section(facts)
    present = [item for item in facts.items if not item.shredded]
    if not present:
        return out + _shredded_section(facts)
    out += [
        "每个原始文件的 SHA-256 必须等于其签名声明（statement）中记载的值：",
        "",
        "Each original's SHA-256 must be the one its signed statement records:",
        "",
        "```sh",
        "sha256sum -c <<'EOF'",
        *[f"{item.statement.sha256}  {item.original_path}" for item in present],
        "EOF",
    ]
    for item in present:
        # Stored names are of the safe form (notary.core.bundle.SAFE_ORIGINAL); quoting them
        # anyway means a rule slip could never turn a name into a command.
        path = shlex.quote(item.original_path)
        out.append(f"openssl dgst -sha256 {path} | grep -q "
                   f"'{item.statement.sha256}' && echo {shlex.quote(item.directory + ' original: OK')} "
                   f"|| echo {shlex.quote(item.directory + ' original: FAILED')}")
    out += ["```", ""]
    return out + _shredded_section(facts)


def _shredded_section(facts: BundleFacts) -> list[str]:
    """For items whose content was crypto-shredded: what still holds, and how to check the
    signed deletion certificate with a JOSE library."""
    shredded = [item for item in facts.items if item.shredded]
    if not shredded:
        return []
    dirs = ", ".join(item.directory for item in shredded)
    return [
        "### 已销毁的证据 / Shredded items",
        "",
        (f"{dirs} 的内容已按数据保护规则被销毁（加密销毁：密钥与存储的密文均已删除），任何人都无法再"
         f"还原原始文件。其签名声明、默克尔证明和链上锚定仍然证明：该 SHA-256 的文件在上链时已存在，"
         f"且直至销毁时未被改动。`{DELETION_NAME}` 是 notary 签名的删除证明，下面的命令核验它，并核对它"
         f"与保管链（`{CUSTODY_NAME}`）中的 shredded 记录一致。"),
        "",
        (f"The content of {dirs} was shredded under data-protection rules (crypto-shredding: its "
         "key and the stored ciphertext were deleted); nobody can reproduce the original any "
         "more. Its signed statement, Merkle proof and anchor still prove that the file with "
         "that SHA-256 existed when anchored and was unaltered until the shred. "
         f"`{DELETION_NAME}` is notary's signed deletion certificate; this checks it and that it "
         f"matches the 'shredded' event of the custody log (`{CUSTODY_NAME}`)."),
        "",
        "```sh",
        _DELETION_SCRIPT,
        "```",
        "",
    ]


_DELETION_SCRIPT = f'''python3 - <<'PY'
import hashlib, json
from jwcrypto import jwk, jws

keys = {{jwk.JWK(kty=k["kty"], crv=k["crv"], x=k["x"]).thumbprint(): k
        for k in json.load(open("{KEYS_PATH}"))["keys"]}}

def payload(token, typ):
    obj = jws.JWS()
    obj.deserialize(token)
    assert obj.jose_header["alg"] == "EdDSA" and obj.jose_header["typ"] == typ
    k = keys[obj.jose_header["kid"]]
    obj.verify(jwk.JWK(kty=k["kty"], crv=k["crv"], x=k["x"]), alg="EdDSA")
    return obj.payload

for item in json.load(open("{MANIFEST_PATH}"))["items"]:
    if not item.get("shredded"):
        continue
    d = item["path"]
    body = payload(open(d + "/{DELETION_NAME}").read(), "{DELETION_MEDIA_TYPE}")
    assert body == open(d + "/{DELETION_JSON_NAME}", "rb").read(), d
    cert = json.loads(body)
    statement = open(d + "/{STATEMENT_JSON_NAME}", "rb").read()
    assert cert["statement_sha256"] == hashlib.sha256(statement).hexdigest(), d
    assert cert["file_sha256"] == json.loads(statement)["sha256"], d
    events = open(d + "/{CUSTODY_NAME}").read().split()
    event = payload(events[cert["custody_event_seq"] - 1], "{CUSTODY_MEDIA_TYPE}")
    assert json.loads(event)["act"] == "shredded", d
    assert hashlib.sha256(event).hexdigest() == cert["custody_event_sha256"], d
    print(d, "deletion certificate: OK; shredded at", cert["shredded_at"], "-", cert["reason"])
PY'''


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


def _timestamped(facts: BundleFacts) -> list[tuple[bytes, list[str]]]:
    """The roots that carry an RFC 3161 token, each with the items it covers."""
    roots: dict[bytes, list[str]] = {}
    for item in facts.items:
        if item.timestamp is not None:
            roots.setdefault(item.anchor.root, []).append(item.directory)
    return list(roots.items())


def _timestamp_rows(facts: BundleFacts) -> list[str]:
    if not _timestamped(facts):
        return []
    rows = [("| `timestamps/<根 root>.tsr`, `.bin` | RFC 3161 时间戳应答 (DER) 及默克尔根的 32 字节 "
             "/ the TSA's RFC 3161 answer (DER) and the Merkle root's 32 bytes |")]
    if facts.tsa_chain is not None:
        rows.append(f"| `{TSA_CHAIN_PATH}` | 时间戳机构的证书 / the TSA's certificates (PEM) |")
    return rows


def _timestamp_section(facts: BundleFacts) -> list[str]:
    """How to check each root's RFC 3161 token with ``openssl ts -verify`` (the TSA's own
    root certificate comes from the TSA, never from the bundle)."""
    roots = _timestamped(facts)
    if not roots:
        return []
    untrusted = f" -untrusted {TSA_CHAIN_PATH}" if facts.tsa_chain is not None else ""
    out = [
        "### RFC 3161 时间戳 / RFC 3161 timestamps",
        "",
        ("时间戳机构（TSA）按 RFC 3161 签署证明：默克尔根 32 个字节的 SHA-256 在其签署时间（genTime）"
         "已经存在——这是独立于区块链的时间证明。`timestamps/<根>.tsr` 是 TSA 的完整应答 (DER)，"
         "`timestamps/<根>.bin` 是根的 32 个字节。请从 TSA 本身获取其根证书 (PEM)，并把 `TSA_CA` "
         f"设为该文件；包内 `{TSA_CHAIN_PATH}` 中的证书只用于构建证书链，不能替代可信根。"
         "若 TSA 证书届时已过期，请加上 `-attime <genTime 的 Unix 秒数>`，按签署时间核验。"),
        "",
        ("A time-stamping authority (TSA) signed, under RFC 3161, that the SHA-256 of the Merkle "
         "root's 32 bytes existed at its time (genTime): evidence of time independent of the "
         "chain. `timestamps/<root>.tsr` is the TSA's whole answer (DER), `timestamps/<root>.bin` "
         "the root's 32 bytes. Get the TSA's root certificate (PEM) from the TSA itself and set "
         f"`TSA_CA` to that file; the certificates in `{TSA_CHAIN_PATH}` only help build the "
         "chain and are no trust root. Once the TSA's certificate has expired, add "
         "`-attime <genTime in Unix seconds>` to check it as of its signing time."),
        "",
        "| 默克尔根 / Merkle root | 证据 / items |",
        "|---|---|",
        *[f"| `{to_hex32(root)}` | {', '.join(dirs)} |" for root, dirs in roots],
        "",
        "```sh",
        'TSA_CA="${TSA_CA:?set TSA_CA to the TSA root certificate (PEM), obtained from the TSA}"',
    ]
    for root, _ in roots:
        tsr, data = token_path(root), root_path(root)
        out += [
            (f"test \"$(od -An -v -tx1 {data} | tr -d ' \\n')\" = '{root.hex()}' "
             f"&& echo '{data} is the Merkle root: OK' || echo '{data}: FAILED'"),
            f'openssl ts -verify -data {data} -in {tsr} -CAfile "$TSA_CA"{untrusted}',
            f"openssl ts -reply -in {tsr} -text | grep -E '^(Hash Algorithm|Time stamp|TSA):'",
        ]
    return out + ["```", ""]


_CERTIFICATION_SCRIPT = f'''if [ -f {CERTIFICATION_SIGNATURE_PATH} ]; then
python3 - <<'PY'
import json
from jwcrypto import jwk, jws

data = open("{CERTIFICATION_PATH}", "rb").read()
person = json.loads(data)["qualified_person"]
key = jwk.JWK(**person["public_key"])
assert key.thumbprint() == person["key_thumbprint"] == KID, "not the key the certification names"
token = jws.JWS()
token.deserialize(open("{CERTIFICATION_SIGNATURE_PATH}").read().strip())
header = token.jose_header
assert header["alg"] == "EdDSA" and header["kid"] == KID
assert header["typ"] == "{CERTIFICATION_MEDIA_TYPE}"
token.verify(key, alg="EdDSA", detached_payload=data)
print("{CERTIFICATION_SIGNATURE_PATH}: OK, signed by", person["name"], "at", header["signed_at"])
PY
else
echo "certification: not signed by the qualified person (sign with: notary certify sign)"
fi'''

_CERTIFICATION_OPENSSL = f'''if [ -f {CERTIFICATION_SIGNATURE_PATH} ]; then
tmp=$(mktemp -d)
cat > "$tmp/certifier.pub.pem" <<'PEM'
PUBLIC_KEY
PEM
jws=$(tr -d '\\n' < {CERTIFICATION_SIGNATURE_PATH})
sig=$(printf '%s' "$jws" | cut -d. -f3 | tr '_-' '/+')
while [ $(( ${{#sig}} % 4 )) -ne 0 ]; do sig="$sig="; done
printf '%s' "$sig" | base64 -d > "$tmp/signature"
printf '%s.' "$(printf '%s' "$jws" | cut -d. -f1)" > "$tmp/signing-input"
base64 -w0 {CERTIFICATION_PATH} | tr '+/' '-_' | tr -d '=' >> "$tmp/signing-input"
openssl pkeyutl -verify -pubin -inkey "$tmp/certifier.pub.pem" -rawin \\
  -in "$tmp/signing-input" -sigfile "$tmp/signature"
echo "{CERTIFICATION_SIGNATURE_PATH} (openssl): OK"
rm -r "$tmp"
fi'''


def _certification_section(certifier: QualifiedPerson | None) -> list[str]:
    """A court certification in the bundle: what its files are, that its signature lies
    outside the manifest, and how to check that signature with jwcrypto or openssl."""
    if certifier is None:
        return []
    p, kid = certifier, certifier.key_thumbprint
    name, organisation, title = md(p.name), md(p.organisation), md(p.title)
    out = [
        "## 法庭认证 / Court certification",
        "",
        (f"`{CERTIFICATION_DIR}/` 中是供说明人{md(p.zh('name'))}（{md(p.zh('organisation'))}，"
         f"{md(p.zh('title'))}）签署的法庭"
         f"认证：`{CERTIFICATION_PATH}` 载明各项记录的事实（哈希值、接收时间、声明摘要、链上锚定、"
         f"保管事件数）、说明人及两份声明的全文；`{CERTIFICATION_EN_PATH}` 为英文认证（FRE "
         f"902(11)、902(14)，28 U.S.C. § 1746），`{CERTIFICATION_ZH_PATH}` 为中文电子数据存证情况"
         f"说明，`{CERTIFICATION_PDF_PATH}` 为可打印签字的双语文本。它们都列在 `{MANIFEST_PATH}` "
         "中（第 1 步已核对）；`notary verify` 另核对认证所载事实与本证据包各项一致。"),
        "",
        (f"`{CERTIFICATION_DIR}/` holds a court certification for {name} ({title}, "
         f"{organisation}) to sign: `{CERTIFICATION_PATH}` states the records' facts (hash "
         "values, receipt times, statement digests, anchors, custody event counts), the "
         f"qualified person and the full text of both declarations; `{CERTIFICATION_EN_PATH}` is "
         "the certification in English (FRE 902(11), 902(14), 28 U.S.C. § 1746), "
         f"`{CERTIFICATION_ZH_PATH}` the 存证说明 in Chinese, `{CERTIFICATION_PDF_PATH}` both, "
         f"printable for a signature by hand. All are listed in `{MANIFEST_PATH}` (checked in "
         "step 1); `notary verify` also checks that the certification's facts are this "
         "bundle's."),
        "",
    ]
    if kid is None:
        return out + [
            "认证未指定说明人的密钥，请打印后手写签名、盖章。",
            "",
            "The certification names no key of the qualified person: print it and sign by hand.",
            "",
        ]
    return out + [
        (f"说明人可用其 Ed25519 密钥（RFC 7638 指纹 `{kid}`，已写入 `{CERTIFICATION_PATH}`，"
         f"受 notary 签名的清单保护）对 `{CERTIFICATION_PATH}` 作分离式 JWS 签名（RFC 7515 附录 F："
         f"`header..signature`），存为 `{CERTIFICATION_SIGNATURE_PATH}`（`notary certify sign`）。"
         f"该文件在证据包生成之后加入，因此不在 `{MANIFEST_PATH}` 中，须单独核验：把 "
         f"`BASE64URL({CERTIFICATION_PATH})` 放回两点之间即为被签名的内容。下面先用 jwcrypto "
         "核验，再用 `openssl pkeyutl -verify -rawin`（OpenSSL 3）核验同一签名输入。"),
        "",
        (f"The qualified person may sign `{CERTIFICATION_PATH}` with their Ed25519 key (RFC 7638 "
         f"thumbprint `{kid}`, named in `{CERTIFICATION_PATH}` and so covered by notary's signed "
         "manifest) as a detached JWS (RFC 7515 Appendix F: `header..signature`), stored as "
         f"`{CERTIFICATION_SIGNATURE_PATH}` (`notary certify sign`). That file is added after the "
         f"bundle was made, so it is NOT in `{MANIFEST_PATH}` and is checked on its own: the "
         f"signed content is the token with `BASE64URL({CERTIFICATION_PATH})` put back between "
         "the two dots. The first block checks it with jwcrypto (any JOSE library that takes "
         "a detached payload will do), the second checks the same signing input with "
         "`openssl pkeyutl -verify -rawin` (OpenSSL 3)."),
        "",
        "```sh",
        _CERTIFICATION_SCRIPT.replace("KID", json.dumps(kid)),
        "```",
        "",
        "```sh",
        _CERTIFICATION_OPENSSL.replace("PUBLIC_KEY", (p.public_key_pem() or "").strip()),
        "```",
        "",
    ]


def render_guide(facts: BundleFacts, *, rpc_hint: str | None = None,
                 certifier: QualifiedPerson | None = None) -> bytes:
    """The bundle's ``VERIFY.md`` (UTF-8). ``rpc_hint`` is a node URL to suggest (only the
    embedded chain's; a paid node's URL may carry a secret and is never written here);
    ``certifier`` the qualified person when the bundle carries a court certification."""
    first = facts.items[0]
    chain_id, contract = first.anchor.chain_id, first.anchor.contract
    case = md(facts.case_id)
    what = (f"案件 {case} 的全部 {len(facts.items)} 项证据" if facts.scope == "case"
            else f"案件 {case} 的第 {first.case_seq} 项证据")
    what_en = (f"all {len(facts.items)} item(s) of case {case}" if facts.scope == "case"
               else f"entry {first.case_seq} of case {case}")
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
        f"| `mimetype` | `{BUNDLE_MEDIA_TYPE}` |",
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
        (f"| `items/NNN/{DELETION_NAME}` | 删除证明（仅已销毁的证据） / the signed deletion "
         "certificate (shredded items only) |"),
        *_timestamp_rows(facts),
        "",
        "| 证据 / item | 类型 / kind | 文件名 / file name | 收到时间 (UTC) / received |",
        "|---|---|---|---|",
    ]
    for item in facts.items:
        s = item.statement
        lines.append(f"| {item.directory} ({item.evidence_id}) | {s.kind.value} | "
                     f"{md(s.file_name)} | {s.received_at} |")
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
    lines += _chain_section(facts, rpc_hint) + _timestamp_section(facts)
    lines += _certification_section(certifier)
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
