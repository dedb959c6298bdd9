"""``VERIFY.md``'s step for the transparency log's part (docs/bundle-format.md §4.8): the
checkpoint signed by the trust root's log key, every statement and custody event in it (each
leaf recomputed from its JWS), and the cosignatures of the witnesses the trust root names.
Standard Python only, with the Ed25519 of ``cryptography`` (which ``jwcrypto`` installs)."""

from __future__ import annotations

from notary.bundles.guide.template import block, script
from notary.core.bundle import LOG_CHECKPOINT_PATH, LOG_NAME, BundleFacts

__all__ = ["log_section"]

LOG_SCRIPT = '''set -euo pipefail
test -f @MANIFEST@ || \\
{ echo "FAILED: run this inside the unpacked folder (cd bundle)" >&2; exit 1; }
python3 - <<'PY'
@PRELUDE@
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
doc, KEYS, fingerprint = trust_root()
LOG = doc.get("log")
if LOG is None:
    fail("the trust root names no transparency log: its checkpoint's key is unknown")


def vkey(text):  # c2sp.org/signed-note: name+hex8(key id)+base64(type || public key)
    name, key_id, raw = text.split("+", 2)
    raw = base64.b64decode(raw)
    return name, int(key_id, 16), Ed25519PublicKey.from_public_bytes(raw[1:])


def h(data):
    return hashlib.sha256(data).digest()


def leaf(kind, token):  # "notary-log-v1" 0x00 type SHA-256(JWS), hashed as an RFC 9162 leaf
    return h(b"\\x00notary-log-v1\\x00" + bytes([kind]) + h(token.encode("ascii")))


def included(value, index, size, proof, root):  # RFC 9162 2.1.3.2
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            value = h(b"\\x01" + p + value)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            value = h(b"\\x01" + value + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and value == root


raw = open("@LOG_CHECKPOINT@", "rb").read().decode()
split = raw.rfind("\\n\\n")
body, lines = raw[:split + 1].encode(), raw[split + 2:-1].split("\\n")
sigs = {}
for line in lines:
    dash, name, b64 = line.split(" ")
    data = base64.b64decode(b64)
    sigs[(name, int.from_bytes(data[:4], "big"))] = data[4:]
origin, size, root = body.decode().split("\\n")[:3]
size, root = int(size), base64.b64decode(root)
name, key_id, key = vkey(LOG["vkey"])
if origin != LOG["origin"] or (name, key_id) not in sigs:
    fail("@LOG_CHECKPOINT@ is not a checkpoint of the trust root's log " + LOG["origin"])
try:
    key.verify(sigs[(name, key_id)], body)
except Exception:
    fail("@LOG_CHECKPOINT@ is not signed by the trust root's log key")
print("checkpoint: OK, size", size, "of log", origin, "signed by the trust root's log key")
for item in load("@MANIFEST@")["items"]:
    d = item["path"]
    proofs = load(d + "/@LOG_NAME@")
    hashes = lambda p: [base64.b64decode(x) for x in p["proof"]]
    statement = open(d + "/@STATEMENT@", "rb").read().decode("ascii")
    s = proofs["statement"]
    if not included(leaf(1, statement), s["index"], size, hashes(s), root):
        fail(d + ": its statement is not in the log's checkpoint")
    custody = {p["seq"]: p for p in proofs["custody"]}
    events = open(d + "/@CUSTODY@").read().split("\\n")[:-1] \\
        if os.path.exists(d + "/@CUSTODY@") else []
    later = []
    for token in events:
        part = token.split(".")[1]
        seq = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["seq"]
        p = custody.get(seq)
        if p is None:
            fail(d + ": custody event " + str(seq) + " has no inclusion proof")
        if p.get("after_checkpoint"):
            later.append(seq)
        elif later or not included(leaf(2, token), p["index"], size, hashes(p), root):
            fail(d + ": custody event " + str(seq) + " is not in the log's checkpoint")
    print(d, "log: OK, statement and", len(events) - len(later), "custody event(s) included" +
          (", events " + str(later) + " logged after the checkpoint" if later else ""))
cosigned = []
for w in LOG["witnesses"]:
    name, key_id, key = vkey(w["vkey"])
    sig = sigs.get((name, key_id))
    if sig is None:
        continue
    stamp = int.from_bytes(sig[:8], "big")
    try:
        key.verify(sig[8:], b"cosignature/v1\\ntime " + str(stamp).encode() + b"\\n" + body)
    except Exception:
        fail("the cosignature of witness " + name + " does not verify")
    cosigned.append(name)
need = max(LOG["witness_threshold"], 1)
if len(cosigned) < need:
    message = ("cosigned by " + str(len(cosigned)) + " of the trust root's witnesses " +
               str(cosigned) + ", fewer than " + str(need) + ": neutrality not established")
    if LOG["witness_threshold"]:
        fail(message)
    print("NOTE:", message)
else:
    print("witnesses: OK, cosigned by", ", ".join(cosigned))
PY'''


def log_section(facts: BundleFacts) -> list[str]:
    """The step, when the bundle carries the log's part."""
    if facts.log_checkpoint is None:
        return []
    return block([
        "## 透明日志与见证人 / The transparency log and its witnesses",
        "",
        ("每份声明和每个保管事件都是该部署只增不减的透明日志（RFC 9162）中的一片叶子。"
         f"`{LOG_CHECKPOINT_PATH}` 是日志的一个签名检查点（c2sp.org/tlog-checkpoint），附有见证人的"
         f"联署；`items/NNN/{LOG_NAME}` 是该项声明和保管事件在其中的包含证明。本步骤核对：检查点由"
         "信任根所列的日志密钥签名；每片叶子都由包内 JWS 重新计算并被证明包含在检查点中；"
         "信任根所列见证人的联署（cosignature/v1）不少于其要求的数目。见证人由运营方以外的机构运行，"
         "只联署延续其已见历史的检查点：这证明日志没有向不同的人展示两套历史。"),
        "",
        ("Every statement and custody event is a leaf of the deployment's append-only "
         f"transparency log (RFC 9162). `{LOG_CHECKPOINT_PATH}` is a signed checkpoint of it "
         "(c2sp.org/tlog-checkpoint) with its witnesses' cosignatures; "
         f"`items/NNN/{LOG_NAME}` holds the inclusion proofs of the item's statement and custody "
         "events. This checks that the checkpoint is signed by the log key the trust root names, "
         "that every leaf, recomputed from the bundle's JWS, is in it, and that at least as many "
         "of the trust root's witnesses as it requires cosigned it (cosignature/v1). Witnesses "
         "are run by others than the operator and cosign only a checkpoint that extends what "
         "they saw: the log did not show two histories. `notary witness monitor --bundle "
         "BUNDLE` compares the checkpoint with the witnesses' own."),
        "",
    ], script(LOG_SCRIPT, LOG_CHECKPOINT=LOG_CHECKPOINT_PATH, LOG_NAME=LOG_NAME))
