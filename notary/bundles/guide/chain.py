"""The scripts of the steps that establish time: the Merkle proof from a file to its root (step
4), the root's anchor asked of the expert's own chain node with JSON-RPC (5), and RFC 3161
timestamps over the root; with the contract calls' selectors and calldata."""

from __future__ import annotations

from collections.abc import Sequence

from notary.core.merkle import keccak256

__all__ = ["BATCH_OF", "CHAIN_SCRIPT", "EXTRA_ANCHOR_SCRIPT", "MERKLE_SCRIPT", "SIGNING_KEY_OF",
           "TIMESTAMP_SCRIPT",
           "VERIFY_INCLUSION", "batch_of_calldata", "verify_inclusion_calldata"]


VERIFY_INCLUSION = "0x" + keccak256(b"verifyInclusion(bytes32,bytes32[],bytes32)")[:4].hex()
BATCH_OF = "0x" + keccak256(b"batchOf(bytes32)")[:4].hex()
SIGNING_KEY_OF = "0x" + keccak256(b"signingKeyOf(bytes32)")[:4].hex()


def verify_inclusion_calldata(root: bytes, proof: Sequence[bytes], leaf: bytes) -> str:
    """ABI calldata of ``verifyInclusion(bytes32 root, bytes32[] proof, bytes32 leaf)``:
    selector, root, the offset of the array (0x60), leaf, the array's length, its elements."""
    words = [root, (0x60).to_bytes(32, "big"), leaf, len(proof).to_bytes(32, "big"), *proof]
    return VERIFY_INCLUSION + "".join(w.hex() for w in words)


def batch_of_calldata(root: bytes) -> str:
    """ABI calldata of ``batchOf(bytes32 root)``."""
    return BATCH_OF + root.hex()


MERKLE_SCRIPT = '''set -euo pipefail
test -f @MANIFEST@ || \
{ echo "FAILED: run this inside the unpacked folder (cd bundle)" >&2; exit 1; }
python3 - <<'PY'
import hashlib, json, sys
from Crypto.Hash import keccak

def fail(message):
    sys.exit("FAILED: " + message)

def unexpected(kind, error, trace):  # a malformed document: say so, exit 1, no traceback
    print("FAILED: a document is malformed (" + kind.__name__ + ": " + str(error) + ")",
          file=sys.stderr)

sys.excepthook = unexpected

def k(data):
    return keccak.new(digest_bits=256, data=data).digest()

for item in json.load(open("@MANIFEST@"))["items"]:
    d = item["path"]
    statement = open(d + "/@STATEMENT_JSON@", "rb").read()
    proof = json.load(open(d + "/@PROOF@"))
    encoded = ((1).to_bytes(32, "big") + bytes.fromhex(json.loads(statement)["sha256"])
               + hashlib.sha256(statement).digest())
    node = k(k(encoded))
    if "0x" + node.hex() != proof["leaf"]:
        fail(d + ": the leaf is not the one of its statement")
    for step in proof["proof"]:
        sibling = bytes.fromhex(step[2:])
        node = k(min(node, sibling) + max(node, sibling))
    if "0x" + node.hex() != proof["root"]:
        fail(d + ": the Merkle proof does not lead to its root")
    if json.load(open(d + "/@ANCHOR@"))["root"] != proof["root"]:
        fail(d + ": the anchor names another root")
    print(d, "Merkle proof: OK, root", proof["root"])
PY'''

CHAIN_SCRIPT = '''set -euo pipefail
test -f @MANIFEST@ || \
{ echo "FAILED: run this inside the unpacked folder (cd bundle)" >&2; exit 1; }
RPC="${RPC:?set RPC to the URL of a node of the chain of the trust root, chosen by yourself}"
python3 - <<'PY'
@PRELUDE@
import subprocess
from datetime import timezone
from Crypto.Hash import keccak

doc, KEYS, fingerprint = trust_root()
RPC = os.environ["RPC"]


def k(data):
    return keccak.new(digest_bits=256, data=data).digest()


def rpc(method, *params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    run = subprocess.run(["curl", "-sS", "--max-time", "30", "-X", "POST", "-H",
                          "content-type: application/json", "--data-binary", "@-", RPC],
                         input=body.encode(), capture_output=True)
    if run.returncode != 0:
        fail("the node " + RPC + " did not answer " + method + ": " + run.stderr.decode().strip())
    try:
        answer = json.loads(run.stdout)
    except ValueError:
        fail("the node's answer to " + method + " is not JSON")
    if "error" in answer or "result" not in answer:
        fail("the node refused " + method + ": " + json.dumps(answer.get("error")))
    return answer["result"]


def word(n):
    return n.to_bytes(32, "big").hex()


chain_id = doc["chain"]["chain_id"]
if int(rpc("eth_chainId"), 16) != chain_id:
    fail("the node is not on the trust root's chain " + str(chain_id))
if rpc("eth_getBlockByNumber", "0x0", False)["hash"] != doc["chain"]["genesis_hash"]:
    fail("the node's block 0 is not the trust root's genesis block: another chain with the same id")
reg = doc["registry"]
if "deployment_block" in reg and rpc("eth_getBlockByNumber", hex(reg["deployment_block"]),
                                     False)["hash"] != reg["deployment_block_hash"]:
    fail("the node's block " + str(reg["deployment_block"]) + \
" is not the trust root's: another chain")
print("node: OK, chain", chain_id, "with the trust root's pinned blocks")
pins = {reg["address"].lower(): dict(reg, until_block=None, current=True)}
for p in doc.get("previous_registries", []):
    if p["chain_id"] == chain_id:
        pins.setdefault(p["address"].lower(), dict(p, current=False))
accounts = {a.lower() for a in doc["anchoring_accounts"]}
TOPIC = "0x" + k(b"BatchAnchored(uint64,bytes32,uint32,bytes32)").hex()
checked_code, txs = set(), {}


def key_record(kid):
    thumb = base64.urlsafe_b64decode(kid + "=")
    out = rpc("eth_call", {"to": reg["address"], \
"data": "@SIGNING_KEY_OF@" + thumb.hex()}, "latest")
    return [int(out[2 + 64 * i: 2 + 64 * (i + 1)], 16) for i in range(4)]


def header_kid(token):
    part = token.strip().split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["kid"]


manifest = json.load(open("@MANIFEST@"))
for item in manifest["items"]:
    d = item["path"]
    a = load(d + "/@ANCHOR@")
    proof = json.load(open(d + "/@PROOF@"))
    statement = open(d + "/@STATEMENT_JSON@", "rb").read()
    contract, root, tx = a["contract"].lower(), proof["root"], a["tx_hash"]
    pin = pins.get(contract)
    if pin is None or a["chain_id"] != chain_id:
        fail(d + " is anchored in registry " + a["contract"] + " on chain " + str(a["chain_id"]) +
             ", which is not the trust root's registry " + reg["address"] + " (nor a previous one)")
    if pin.get("until_block") is not None and a["block_number"] > pin["until_block"]:
        fail(d + " is anchored in a previous registry after the trust root's last block for it")
    if contract not in checked_code:
        if "0x" + k(bytes.fromhex(rpc("eth_getCode", pin["address"], "latest")[2:])).hex() \
!= pin["code_keccak256"]:
            fail("the code at " + pin["address"] + " is not the trust root's registry code")
        checked_code.add(contract)
        print("registry", pin["address"] + ": OK, its code is the pinned code")
    if tx not in txs:
        receipt = rpc("eth_getTransactionReceipt", tx)
        if receipt is None or receipt["status"] != "0x1":
            fail(d + ": the node knows no successful transaction " + tx)
        sender = rpc("eth_getTransactionByHash", tx)["from"].lower()
        if sender not in accounts:
            fail(d + ": transaction " + tx + " was sent by " + sender + \
", not an anchoring account of the trust root")
        txs[tx] = (receipt, sender)
    receipt, sender = txs[tx]
    if int(receipt["blockNumber"], 16) != a["block_number"] \
or receipt["blockHash"] != a["block_hash"].lower():
        fail(d + ": the transaction is in another block than " + d + "/@ANCHOR@ says")
    logs = [log for log in receipt["logs"] if log["address"].lower() == contract
            and log["topics"][:3] == [TOPIC, "0x" + word(a["batch_id"]), root]]
    if not logs:
        fail(d + ": the transaction emitted no BatchAnchored(batch " + str(a["batch_id"]) + \
", root " + root + ") of the registry")
    block = rpc("eth_getBlockByNumber", hex(a["block_number"]), False)
    if block["hash"] != a["block_hash"].lower():
        fail(d + ": the node's block " + str(a["block_number"]) + " has another hash")
    batch = rpc("eth_call", {"to": a["contract"], "data": "@BATCH_OF@" + root[2:]}, "latest")
    if [int(batch[2 + 64 * i: 2 + 64 * (i + 1)], 16) for i in range(2)] \
!= [a["batch_id"], a["block_number"]]:
        fail(d + ": the registry's batchOf(root) is not this batch and block")
    leaf = proof["leaf"][2:]
    steps = [s[2:] for s in proof["proof"]]
    data = "@VERIFY_INCLUSION@" + root[2:] + word(0x60) + leaf + word(len(steps)) + "".join(steps)
    if int(rpc("eth_call", {"to": a["contract"], "data": data}, "latest"), 16) != 1:
        fail(d + ": the registry's verifyInclusion does not accept the proof")
    at = int(block["timestamp"], 16)
    for name in ("@STATEMENT@", "@RECEIPT@"):
        kid = header_kid(open(d + "/" + name).read())
        registered_at, registered_block, retired_at, retired_block = key_record(kid)
        if registered_block == 0:
            fail(d + "/" + name + ": key " + kid + \
" is not registered in the trust root's registry")
        if pin["current"] and registered_block > a["block_number"]:
            fail(d + "/" + name + ": key " + kid + " was registered in block " + \
str(registered_block) + ", after the anchor")
        if retired_block and retired_block <= a["block_number"]:
            fail(d + "/" + name + ": key " + kid + " was retired in block " + \
str(retired_block) + ", before the anchor")
    print(d, "on chain: OK, block", a["block_number"], "at",
          datetime.fromtimestamp(at, timezone.utc).isoformat(), "(the file existed no later),",
          "batch", a["batch_id"], "of registry", pin["address"], "sent by anchoring account",
          sender + "; its signing keys were registered on chain at the anchor")
later = [("@MANIFEST_JWS@", open("@MANIFEST_JWS@").read(), manifest["created_at"])]
for item in manifest["items"]:
    path = item["path"] + "/@CUSTODY@"
    if os.path.exists(path):
        for n, line in enumerate(open(path).read().split(), start=1):
            part = line.split(".")[1]
            event = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            later.append((path + " line " + str(n), line, event["at"]))
for where, token, moment in later:
    kid = header_kid(token)
    registered_at, registered_block, retired_at, retired_block = key_record(kid)
    if registered_block == 0:
        fail(where + ": key " + kid + " is not registered in the trust root's registry")
    if retired_block and when(moment).timestamp() >= retired_at:
        fail(where + ": signed at " + moment + " by key " + kid + ", retired on chain before")
print("signing keys on chain: OK, every key of the manifest and the custody logs is registered \
and was not retired when it signed")
PY'''

TIMESTAMP_SCRIPT = '''set -euo pipefail
test -f @MANIFEST@ || \
{ echo "FAILED: run this inside the unpacked folder (cd bundle)" >&2; exit 1; }
TSA_CA="${TSA_CA:?set TSA_CA to the TSA root certificate (PEM), obtained from the TSA}"
seconds() { python3 -c 'import calendar, re, sys, time; \
print(min(calendar.timegm(time.strptime(re.sub(r"\\.[0-9]+", "", " ".join(t.split())), \
"%b %d %H:%M:%S %Y GMT")) for t in sys.stdin if t.strip()))'; }
gentime() { openssl ts -reply -in "$1" -text | sed -n 's/^Time stamp: //p' | seconds; }
# The TSA's own certificate is the one whose hash the TSA signed (the ESSCertID / ESSCertIDv2
# signed attribute, RFC 3161 §2.4.1, RFC 5816): the list of certificates a token carries is
# outside the signature and could hold a look-alike (same issuer and serial, later notAfter).
# TSA 自身的证书是其哈希被 TSA 签名的那一张（ESSCertID 签名属性）；令牌所附证书列表不在签名
# 范围内，可能被换成同颁发者同序列号但到期更晚的仿冒证书，故到期时间只取哈希相符的证书。
ESSCERTID=$(cat <<'PY'
import base64, calendar, hashlib, os, re, sys, time


def items(d):  # the DER elements of d: (tag, content, whole) / d 中的 DER 元素
    out, i = [], 0
    while i < len(d):
        start, tag, n = i, d[i], d[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n, i = int.from_bytes(d[i:i + k], "big"), i + k
        if i + n > len(d):
            sys.exit("FAILED: the token is not DER / 令牌不是 DER")
        out.append((tag, d[i:i + n], d[start:i + n]))
        i += n
    return out


V1, V2 = "2a864886f70d010910020c", "2a864886f70d010910022f"  # signingCertificate(V2)
HASHES = {"2b0e03021a": "sha1", "608648016503040201": "sha256",
          "608648016503040202": "sha384", "608648016503040203": "sha512"}
# ContentInfo > [0] > SignedData: its [0] certificates and its one SignerInfo's signed attributes
signed = items(items(items(items(sys.stdin.buffer.read())[0][1])[1][1])[0][1])
carried = [w for t, c, w in items(next((c for t, c, w in signed if t == 0xA0), b""))]
(info,) = items([c for t, c, w in signed if t == 0x31][1])
attributes = [items(c) for t, c, w in items(next(c for t, c, w in items(info[1]) if t == 0xA0))]
ess = [a for a in attributes if a[0][1].hex() in (V1, V2)]
if len(ess) != 1:
    sys.exit("FAILED: the token names no signing certificate (ESSCertID) / 令牌未签名其证书")
fields = items(items(items(items(ess[0][1][1])[0][1])[0][1])[0][1])  # the first ESSCertID
name = "sha1" if ess[0][0][1].hex() == V1 else "sha256"
if fields[0][0] == 0x30:  # ESSCertIDv2 with its hash algorithm named
    name, fields = HASHES[items(fields[0][1])[0][1].hex()], fields[1:]
pool = carried + [base64.b64decode(b) for f in sys.argv[1:] if os.path.exists(f) for b in
                  re.findall(r"-----BEGIN CERTIFICATE-----([^-]+)-----END", open(f).read())]
signer = [c for c in pool if hashlib.new(name, c).digest() == fields[0][1]]
if not signer:
    sys.exit("FAILED: no certificate has the hash the TSA signed (ESSCertID) / 无哈希相符的证书")


def tbs(cert):  # serial, signature algorithm, issuer, validity, subject, ...
    f = items(items(items(cert)[0][1])[0][1])
    return f[1:] if f[0][0] == 0xA0 else f


def not_after(cert):
    tag, value, whole = items(tbs(cert)[3][1])[1]
    text = value.decode()
    text = ("19" if int(text[:2]) >= 50 else "20") + text if tag == 0x17 else text
    return calendar.timegm(time.strptime(text[:14], "%Y%m%d%H%M%S"))


issuer = tbs(signer[0])[2][2]  # and every certificate named as its issuer / 及其颁发者证书
print(min(not_after(c) for c in signer + [c for c in pool if tbs(c)[4][2] == issuer]))
PY
)
expiry() {  # when the TSA certificate of token $1 (the one it signed, and its issuer) expires
  openssl ts -reply -in "$1" -token_out | python3 -c "$ESSCERTID" "$TSA_CA" "@CHAIN@"; }
link() {  # $1 the token, $2 the file it time-stamps, $3 the hashes allowed for its imprint
  openssl ts -verify -data "$2" -in "$1" -CAfile "$TSA_CA"@UNTRUSTED@ -attime "$(gentime "$1")"
  openssl ts -reply -in "$1" -text | grep -E '^(Hash Algorithm|Time stamp|TSA):'
  algorithm=$(openssl ts -reply -in "$1" -text | sed -n 's/^Hash Algorithm: //p')
  case " $3 " in *" $algorithm "*) ;; *)
    echo "FAILED: $1 time-stamps a $algorithm digest, not one of: $3 / 摘要算法不被接受" >&2
    exit 1;; esac
}
roots=$(python3 -c 'import json, re; m = json.load(open("@MANIFEST@")); \
print(" ".join(sorted({r[2:] for r in \
(json.load(open(i["path"] + "/@PROOF@"))["root"] for i in m["items"]) \
if re.fullmatch("0x[0-9a-f]{64}", r)})))')
for root in $roots; do
  tsr="@TIMESTAMPS@/$root.tsr"; bin="@TIMESTAMPS@/$root.bin"
  if [ ! -f "$tsr" ]; then echo "root $root: no RFC 3161 timestamp"; continue; fi
  if [ "$(od -An -v -tx1 "$bin" | tr -d ' \\n')" != "$root" ]; then
    echo "FAILED: $bin is not the Merkle root $root" >&2; exit 1
  fi
  echo "$bin is the Merkle root: OK"
  link "$tsr" "$bin" sha256
  previous="$tsr"; n=1
  while [ -f "@TIMESTAMPS@/$root.renewal-$n.tsr" ]; do
    renewal="@TIMESTAMPS@/$root.renewal-$n.tsr"
    link "$renewal" "$previous" "sha256 sha384 sha512"
    at=$(gentime "$renewal"); before=$(gentime "$previous"); until=$(expiry "$previous")
    if [ "$at" -lt "$before" ]; then
      echo "FAILED: $renewal is dated before $previous, the token it renews" >&2; exit 1
    fi
    if [ "$at" -ge "$until" ]; then
      echo "FAILED: $renewal was made after the TSA certificate of $previous expired" >&2; exit 1
    fi
    echo "$renewal renews $previous before its TSA certificate expired: OK"
    previous="$renewal"; n=$((n + 1))
  done
  # RFC 4998: the LAST link must be valid now (an older one still valid does not help: a
  # newer link is how a weakened one is replaced). 最后一个续期令牌的证书必须当前有效。
  until=$(expiry "$previous")  # a failure here stops the script (set -e) / 失败即停止
  if [ "$until" -le "$(date +%s)" ]; then
    echo "FAILED: the TSA certificate of $previous, the last link, has expired and no renewal \
covers it: the timestamp no longer proves its time / 最后一环的 TSA 证书已过期且无续期" >&2; exit 1
  fi
  echo "root $root: the TSA certificate of $previous (the last link) is still valid: OK"
done'''

#: Second anchors (``anchor-<chain id>.json``, docs/bundle-format.md §4.3.1), checked offline
#: against the receipts they carry and the trust root's ``extra_chains``; then the times.
EXTRA_ANCHOR_SCRIPT = '''set -euo pipefail
test -f @MANIFEST@ || \
{ echo "FAILED: run this inside the unpacked folder (cd bundle)" >&2; exit 1; }
python3 - <<'PY'
@PRELUDE@
from datetime import timezone
from Crypto.Hash import keccak

doc, KEYS, fingerprint = trust_root()
TOPIC = "0x" + keccak.new(digest_bits=256, \
data=b"BatchAnchored(uint64,bytes32,uint32,bytes32)").hexdigest()
pins = {c["chain_id"]: c for c in doc.get("extra_chains", [])}
manifest = load("@MANIFEST@")
for item in manifest["items"]:
    d = item["path"]
    root = load(d + "/@PROOF@")["root"]
    primary = load(d + "/@ANCHOR@")
    times = [("chain " + str(primary["chain_id"]), primary["block_timestamp"])]
    for f in manifest["files"]:
        m = re.fullmatch(re.escape(d) + r"/anchor-([1-9][0-9]*)[.]json", f["path"])
        if m is None:
            continue
        chain_id, a = int(m.group(1)), load(f["path"])
        r = a["raw_receipt"]
        pin = pins.get(chain_id)
        if a["chain_id"] != chain_id or a["root"] != root:
            fail(f["path"] + ": another chain or another root than its name and the proof say")
        if pin is None:
            print(f["path"] + ": chain", chain_id, "is not pinned by the trust root: dates \
nothing")
            continue
        if a["contract"].lower() != pin["registry"]["address"].lower():
            fail(f["path"] + ": contract " + a["contract"] + " is not the pinned registry " + \
pin["registry"]["address"] + " of chain " + str(chain_id))
        if r.get("from", "").lower() not in {x.lower() for x in pin["anchoring_accounts"]}:
            fail(f["path"] + ": sent by " + str(r.get("from")) + ", not a pinned anchoring \
account")
        logs = [x for x in r["logs"] if x["address"].lower() == a["contract"].lower() \
and x["topics"][:3] == [TOPIC, "0x" + a["batch_id"].to_bytes(32, "big").hex(), root]]
        if r["status"] != "0x1" or r["to"].lower() != a["contract"].lower() or len(logs) != 1 \
or r["transactionHash"] != a["tx_hash"] or int(r["blockNumber"], 16) != a["block_number"] \
or r["blockHash"] != a["block_hash"]:
            fail(f["path"] + ": its transaction receipt does not record this anchor")
        print(f["path"] + ": OK, root anchored on chain", chain_id, "in the pinned registry;",
              "its block time", datetime.fromtimestamp(a["block_timestamp"], timezone.utc)
              .isoformat(), "is its claim until a node of that chain confirms it: dates nothing \
here")
    first = min(times, key=lambda t: t[1])
    print(d, "dated by", first[0] + ": no later than", \
datetime.fromtimestamp(first[1], timezone.utc).isoformat())
PY'''
