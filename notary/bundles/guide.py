"""``VERIFY.md``: how an independent expert checks every claim of one bundle with standard
tools alone, in Chinese and English.

The expert trusts nothing the bundle says about itself. Two things come from outside: the
trust root's **fingerprint** that the operator filed with the court (it names the operator,
the chain, the registry, the anchoring accounts and the signing keys), and a **chain node the
expert chooses** (``RPC``). Every key, registry address and hash the steps use is read from
the trust root, from the signed documents after their signatures verified, or from the chain:
no value a step compares against is written into ``VERIFY.md`` itself, so the steps are the
same for every bundle and a forger's edited copy gains nothing.

Every shell block is a script of its own (``set -euo pipefail``): it prints ``OK`` lines or
stops at the first failure with ``FAILED: ...`` and a non-zero exit status. Block 0 lists the
archive and refuses it (links, duplicate names, ``..``, absolute names, names outside the
manifest) before anything is extracted, then unpacks it; the others run inside the unpacked
folder, in order. The tools are ``sha256sum``/``openssl``, Python 3 with ``jwcrypto`` and
``pycryptodome`` (their real PyPI names; the PyPI name ``notary`` is an unrelated project)
and ``curl`` for JSON-RPC. ``tests/bundle/test_verify_guide.py`` runs the blocks against a
real chain node, on a genuine bundle and on forgeries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from notary.bundles.declaration import in_chinese
from notary.core.bundle import (
    ANCHOR_NAME,
    BUNDLE_MEDIA_TYPE,
    BUNDLE_V1_MEDIA_TYPE,
    CUSTODY_NAME,
    DELETION_JSON_NAME,
    DELETION_NAME,
    GUIDE_PATH,
    KEYS_PATH,
    MANIFEST_MEDIA_TYPE,
    MANIFEST_PATH,
    MANIFEST_SIGNATURE_PATH,
    MAX_MANIFEST_BYTES,
    MIMETYPE_PATH,
    PROOF_NAME,
    RECEIPT_NAME,
    STATEMENT_JSON_NAME,
    STATEMENT_NAME,
    TRUST_ROOT_PATH,
    BundleFacts,
)
from notary.core.custody import CUSTODY_MEDIA_TYPE
from notary.core.declaration import (
    CERTIFICATION_DIR,
    CERTIFICATION_EN_PATH,
    CERTIFICATION_MEDIA_TYPE,
    CERTIFICATION_PATH,
    CERTIFICATION_PDF_PATH,
    CERTIFICATION_SIGNATURE_PATH,
    CERTIFICATION_ZH_PATH,
    QualifiedPerson,
)
from notary.core.deletion import DELETION_MEDIA_TYPE
from notary.core.errors import NotaryError
from notary.core.merkle import keccak256
from notary.core.signing import RECEIPT_MEDIA_TYPE
from notary.core.statement import STATEMENT_MEDIA_TYPE
from notary.core.timestamp import TIMESTAMPS_DIR, TSA_CHAIN_PATH
from notary.core.trustroot import TRUST_ROOT_MEDIA_TYPE, TrustRoot, verify_trust_root

__all__ = ["batch_of_calldata", "guide_blocks", "md", "render_guide",
           "verify_inclusion_calldata"]

_VERIFY_INCLUSION = "0x" + keccak256(b"verifyInclusion(bytes32,bytes32[],bytes32)")[:4].hex()
_BATCH_OF = "0x" + keccak256(b"batchOf(bytes32)")[:4].hex()
_SIGNING_KEY_OF = "0x" + keccak256(b"signingKeyOf(bytes32)")[:4].hex()


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
    """A value chosen by a submitter, certifier or operator (file name, case id, name...) as
    inert Markdown text: ``<``, ``>`` and ``&`` as entities (so never raw HTML), every other
    ASCII punctuation backslash-escaped (no links, emphasis, code or table cells), line breaks
    as spaces. What a reader sees is the value itself."""
    text = re.sub(r"[\r\n\t\u2028\u2029]", " ", str(value))
    return _MD_SPECIAL.sub(lambda m: _MD_ENTITIES.get(m.group(), "\\" + m.group()), text)


def _fill(template: str, **values: str) -> str:
    """``template`` with each ``@NAME@`` replaced (scripts keep their braces and ``$``)."""
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    leftover = re.search(r"@[A-Z_]+@", template)
    if leftover is not None:  # pragma: no cover - a programming error in this module
        raise ValueError(f"unfilled {leftover.group()} in a VERIFY.md script")
    return template


_FORMAT = {
    "MANIFEST": MANIFEST_PATH, "MANIFEST_JWS": MANIFEST_SIGNATURE_PATH, "KEYS": KEYS_PATH,
    "TRUST_ROOT_PATH": TRUST_ROOT_PATH, "MIMETYPE": MIMETYPE_PATH,
    "STATEMENT": STATEMENT_NAME, "STATEMENT_JSON": STATEMENT_JSON_NAME,
    "RECEIPT": RECEIPT_NAME, "PROOF": PROOF_NAME, "ANCHOR": ANCHOR_NAME,
    "CUSTODY": CUSTODY_NAME, "DELETION": DELETION_NAME, "DELETION_JSON": DELETION_JSON_NAME,
    "CERT_SIG": CERTIFICATION_SIGNATURE_PATH,
    "TRUST_ROOT_TYP": TRUST_ROOT_MEDIA_TYPE, "MANIFEST_TYP": MANIFEST_MEDIA_TYPE,
    "STATEMENT_TYP": STATEMENT_MEDIA_TYPE, "RECEIPT_TYP": RECEIPT_MEDIA_TYPE,
    "CUSTODY_TYP": CUSTODY_MEDIA_TYPE, "DELETION_TYP": DELETION_MEDIA_TYPE,
    "BUNDLE_TYP": BUNDLE_MEDIA_TYPE, "BUNDLE_V1_TYP": BUNDLE_V1_MEDIA_TYPE,
    "MAX_MANIFEST": str(MAX_MANIFEST_BYTES),
}

# In the scripts below, a line that ends in a backslash is continued by the Python string
# literal: the script in VERIFY.md gets the one long line (read as shell or Python, it means the
# same).

#: Shared by every Python step that needs keys: strict JSON, the trust root read and checked
#: (canonical form, the fingerprint filed with the court, its own signature by its current
#: key), and a JWS check that takes keys only from that trust root.
_PRELUDE = '''import base64, hashlib, json, os, re, sys
from datetime import datetime
from jwcrypto import jwk, jws


def fail(message):
    sys.exit("FAILED: " + message)


def unexpected(kind, error, trace):  # a malformed document: say so, exit 1, no traceback
    print("FAILED: a document is malformed (" + kind.__name__ + ": " + str(error) + ")",
          file=sys.stderr)


sys.excepthook = unexpected


def strict(pairs):
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise ValueError("a member appears twice")
    return dict(pairs)


def no_float(text):
    raise ValueError("a number with a fraction or exponent: " + text)


def load(where, data=None):
    try:
        raw = open(where, "rb").read() if data is None else data
        return json.loads(raw, object_pairs_hook=strict, parse_float=no_float,
                          parse_constant=no_float)
    except (OSError, ValueError) as exc:
        fail(where + ": not readable strict JSON (" + str(exc) + ")")


def canonical(value):  # RFC 8785 for documents of strings, integers, booleans and ASCII names
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def shown(value):  # a value someone chose, printed without control characters
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


def sha256_file(path):
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


COMPACT = re.compile(r"[A-Za-z0-9_-]+[.][A-Za-z0-9_-]*[.][A-Za-z0-9_-]+")


def signed(token, typ, keys, where, detached=None):
    """The payload of a compact EdDSA JWS whose key is one of ``keys`` (the trust root's)."""
    token = token.strip()
    if not COMPACT.fullmatch(token):
        fail(where + " is not a compact JWS")
    try:
        part = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)),
                            object_pairs_hook=strict)
    except ValueError:
        fail(where + ": its JWS header is not JSON")
    if set(header) != {"alg", "kid", "typ"} or header["alg"] != "EdDSA" or header["typ"] != typ:
        fail(where + ": not an EdDSA JWS of type " + typ + " (header " + repr(header) + ")")
    kid = header["kid"]
    if kid not in keys:
        fail(where + " is signed by key " + str(kid) + ", which is not in the trust root: "
             "it was not signed by this operator")
    obj = jws.JWS()
    try:
        obj.deserialize(token)
        obj.verify(keys[kid]["public"], alg="EdDSA", detached_payload=detached)
    except Exception as exc:
        fail(where + ": the signature does not verify with key " + kid + " (" +
             type(exc).__name__ + ")")
    return kid, (detached if detached is not None else obj.payload)


def in_period(keys, kid, moment, where):
    key, at = keys[kid], when(moment)
    if at < when(key["not_before"]) or ("not_after" in key and at >= when(key["not_after"])):
        fail(where + " was signed at " + moment + ", outside the period of key " + kid +
             " in the trust root (" + key["not_before"] + " to " +
             key.get("not_after", "now") + ")")


def trust_root():
    wanted = re.sub(r"[\\s-]", "", os.environ.get("TRUST_ROOT_FINGERPRINT", "")).lower()
    if not re.fullmatch(r"[0-9a-f]{32}", wanted):
        fail("set TRUST_ROOT_FINGERPRINT to the trust-root fingerprint the operator filed "
             "with the court (32 hex digits, e.g. 3f2a-9c1b-...)")
    path = os.environ.get("TRUST_ROOT") or "@TRUST_ROOT_PATH@"
    if not os.path.isfile(path):
        fail("there is no trust root at " + path + ": this bundle alone cannot establish who "
             "issued it. Get the operator's trust root (the document whose fingerprint was "
             "filed with the court) and set TRUST_ROOT to that file")
    raw = open(path, "rb").read()
    doc = load(path, raw)
    if not isinstance(doc, dict) or doc.get("media_type") != "@TRUST_ROOT_TYP@":
        fail(path + " is not a notary trust root (@TRUST_ROOT_TYP@)")
    if canonical(doc) != raw:
        fail(path + " is not in its canonical form (RFC 8785)")
    unsigned = canonical({name: doc[name] for name in doc if name != "signature"})
    digest = hashlib.sha256(unsigned).hexdigest()[:32]
    fingerprint = "-".join(digest[i:i + 4] for i in range(0, 32, 4))
    if digest != wanted:
        fail("the trust root's fingerprint is " + fingerprint + ", not the one filed with the "
             "court (" + "-".join(wanted[i:i + 4] for i in range(0, 32, 4)) + "): it is "
             "another document, not this operator's")
    keys = {}
    for entry in doc["signing_keys"]:
        k = entry["jwk"]
        if (k.get("kty"), k.get("crv")) != ("OKP", "Ed25519"):
            fail(path + ": a signing key is not Ed25519")
        public = jwk.JWK(kty="OKP", crv="Ed25519", x=k["x"])
        if public.thumbprint() != k["kid"]:
            fail(path + ": key " + k["kid"] + " is not named by its RFC 7638 thumbprint")
        keys[k["kid"]] = dict(entry, public=public)
    current = {kid: key for kid, key in keys.items() if "not_after" not in key}
    if len(current) != 1:
        fail(path + " must have exactly one current signing key")
    signed(doc["signature"], "@TRUST_ROOT_TYP@", current, path + " (its signature)",
           detached=unsigned)
    return doc, keys, fingerprint

'''

_ARCHIVE_SCRIPT = '''set -euo pipefail
BUNDLE="${BUNDLE:?set BUNDLE to the bundle file (.zip)}"
python3 - "$BUNDLE" <<'PY'
import json, os, shutil, stat, sys, unicodedata, zipfile

def fail(message):
    sys.exit("FAILED: " + message)

def unexpected(kind, error, trace):  # a malformed archive: say so, exit 1, no traceback
    print("FAILED: the archive is malformed (" + kind.__name__ + ": " + str(error) + ")",
          file=sys.stderr)

sys.excepthook = unexpected
UNLISTED = {"@MANIFEST@", "@MANIFEST_JWS@", "@CERT_SIG@"}
try:
    archive = zipfile.ZipFile(sys.argv[1])
except (OSError, zipfile.BadZipFile) as exc:
    fail(sys.argv[1] + " is not a readable ZIP archive (" + str(exc) + ")")
members = archive.infolist()
names, folded = set(), set()
for info in members:
    name = info.filename
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind not in (0, stat.S_IFREG):
        fail(repr(name) + " is not a regular file (a link, folder or device): refused")
    if not name or name.startswith("/") or "\\\\" in name or ":" in name or name.endswith("/"):
        fail(repr(name) + " is an absolute, drive or folder name: refused")
    if any(part in ("", ".", "..") for part in name.split("/")):
        fail(repr(name) + " has an empty, '.' or '..' part (it could leave the folder): refused")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        fail(repr(name) + " holds a control character: refused")
    key = unicodedata.normalize("NFC", name).casefold()
    if name in names or key in folded:
        fail(repr(name) + " appears twice (or twice but for case): refused")
    names.add(name)
    folded.add(key)
if not members or members[0].filename != "@MIMETYPE@" or archive.read("@MIMETYPE@") not in (
        b"@BUNDLE_TYP@", b"@BUNDLE_V1_TYP@"):
    fail("the first member is not @MIMETYPE@ naming a notary bundle: not a notary bundle")
if "@MANIFEST@" not in names or archive.getinfo("@MANIFEST@").file_size > @MAX_MANIFEST@:
    fail("the archive has no @MANIFEST@ (or one too large)")
try:
    listed = {f["path"]: f["size"] for f in json.loads(archive.read("@MANIFEST@"))["files"]}
except (ValueError, KeyError, TypeError) as exc:
    fail("@MANIFEST@ is not a manifest (" + str(exc) + ")")
for info in members:
    if info.filename in UNLISTED:
        continue
    if info.filename not in listed:
        fail(info.filename + " is in the archive but not in @MANIFEST@: refused")
    if info.file_size != listed[info.filename]:
        fail(info.filename + " declares " + str(info.file_size) + " bytes, the manifest " +
             str(listed[info.filename]))
missing = sorted(set(listed) - names)
if missing:
    fail("files of @MANIFEST@ are missing from the archive: " + ", ".join(missing))
total = sum(info.file_size for info in members)
target = "bundle"
if os.path.exists(target):
    fail("./" + target + " exists already: unpack into a fresh folder")
if shutil.disk_usage(".").free < total:
    fail("not enough disk space for " + str(total) + " bytes")
for info in members:
    print("  %12d  %s" % (info.file_size, info.filename))
print("archive: OK,", len(members), "regular files,", total, \
"bytes, every name safe and in the manifest")
os.mkdir(target)
for info in members:
    path = os.path.join(target, *info.filename.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with archive.open(info) as src, open(path, "xb") as dst:  # size and CRC checked by zipfile
        shutil.copyfileobj(src, dst)
print("unpacked into ./" + target + ": now cd " + target)
PY'''

_TRUST_ROOT_SCRIPT = '''set -euo pipefail
python3 - <<'PY'
@PRELUDE@
doc, KEYS, fingerprint = trust_root()
print("trust root: OK, fingerprint", fingerprint, \
"(the one filed with the court), its signature verifies")
op = doc["operator"]
print("  operator / 运营者:", shown(op["name"]), "|", shown(op.get("registration", "-")), "|",
      shown(op.get("country", "-")))
print("  public URL:", shown(doc["public_url"]), "| development / 开发部署:", doc["development"])
print("  chain id:", doc["chain"]["chain_id"], "| genesis:", doc["chain"]["genesis_hash"])
reg = doc["registry"]
print("  registry:", reg["address"], "v" + reg["version"], "code keccak-256", reg["code_keccak256"],
      "deployed in block", reg.get("deployment_block", "?"))
for previous in doc.get("previous_registries", []):
    print("  previous registry:", previous["address"], "until block", \
previous.get("until_block", "-"))
print("  anchoring accounts:", ", ".join(doc["anchoring_accounts"]))
for kid, key in KEYS.items():
    print("  signing key", kid, "from", key["not_before"], "to", key.get("not_after", "now"),
          "| registered in block", key.get("registered_block", "-"))
if doc["development"]:
    print("WARNING: this trust root is a development deployment's: not evidence for anyone else")
PY'''

_SIGNATURE_SCRIPT = '''set -euo pipefail
test -f @MANIFEST@ || \
{ echo "FAILED: run this inside the unpacked folder (cd bundle)" >&2; exit 1; }
python3 - <<'PY'
@PRELUDE@
doc, KEYS, fingerprint = trust_root()
UNLISTED = {"@MANIFEST@", "@MANIFEST_JWS@", "@CERT_SIG@"}
for k in load("@KEYS@")["keys"]:
    kid = k.get("kid")
    if kid not in KEYS or k.get("x") != KEYS[kid]["jwk"]["x"]:
        fail("@KEYS@ lists key " + str(kid) + ", which is not in the trust root " + fingerprint +
             ": not a key of this operator")
    print("key", kid, "of @KEYS@ is in the trust root: OK")
manifest_bytes = open("@MANIFEST@", "rb").read()
manifest = load("@MANIFEST@", manifest_bytes)
kid, payload = signed(open("@MANIFEST_JWS@").read(), "@MANIFEST_TYP@", KEYS, "@MANIFEST_JWS@")
if payload != manifest_bytes:
    fail("@MANIFEST@ is not the document @MANIFEST_JWS@ signs: it was changed")
in_period(KEYS, kid, manifest["created_at"], "@MANIFEST_JWS@")
print("@MANIFEST_JWS@: OK, signed by key", kid, "at", manifest["created_at"])
listed = {f["path"]: f for f in manifest["files"]}
for path in sorted(listed):
    if os.path.islink(path) or not os.path.isfile(path):
        fail(path + " is listed in the manifest but is not a regular file here")
    if sha256_file(path) != (listed[path]["sha256"], listed[path]["size"]):
        fail(path + ": its SHA-256 or size is not the one @MANIFEST@ records")
for top, folders, files in os.walk("."):
    for name in folders + files:
        path = os.path.relpath(os.path.join(top, name), ".").replace(os.sep, "/")
        if os.path.islink(path):
            fail(path + " is a link: refused")
        if name in files and path not in listed and path not in UNLISTED:
            fail(path + " is not in @MANIFEST@: a file was added")
print("manifest files: OK,", len(listed), "files match their SHA-256 and size; no other file")
previous = None
for item in manifest["items"]:
    d = item["path"]
    kid, statement = signed(open(d + "/@STATEMENT@").read(), "@STATEMENT_TYP@", KEYS,
                            d + "/@STATEMENT@")
    if open(d + "/@STATEMENT_JSON@", "rb").read() != statement:
        fail(d + "/@STATEMENT_JSON@ is not the statement " + d + "/@STATEMENT@ signs")
    s = load(d + "/@STATEMENT@", statement)
    in_period(KEYS, kid, s["received_at"], d + "/@STATEMENT@")
    digest = hashlib.sha256(statement).hexdigest()
    rkid, receipt = signed(open(d + "/@RECEIPT@").read(), "@RECEIPT_TYP@", KEYS, d + "/@RECEIPT@")
    r = load(d + "/@RECEIPT@", receipt)
    in_period(KEYS, rkid, r["issued_at"], d + "/@RECEIPT@")
    if r["statement_sha256"] != digest or r["evidence_id"] != s["evidence_id"]:
        fail(d + "/@RECEIPT@ is a receipt for another statement")
    if (s["evidence_id"], s["case_seq"], s["case_id"]) != (
            item["evidence_id"], item["case_seq"], manifest["case_id"]):
        fail(d + ": the statement is not the manifest's item (evidence id, case or number)")
    if manifest["scope"] == "case":
        if s["case_seq"] != (previous["case_seq"] + 1 if previous else 1) or \\
                s.get("prev_statement") != (previous["digest"] if previous else None):
            fail(d + ": the case sequence is broken (an item is missing, added or reordered)")
    previous = {"case_seq": s["case_seq"], "digest": digest}
    if item.get("original"):
        if sha256_file(item["original"]) != (s["sha256"], s["size"]):
            fail(item["original"] + ": its SHA-256 is not the one its signed statement records")
        print(item["original"] + ": OK, SHA-256", s["sha256"], "as its signed statement records")
    elif item.get("shredded"):
        print(d + ": content shredded (see the deletion step); signed SHA-256", s["sha256"])
    else:
        print(d + ": no original in this bundle; your copy of", shown(repr(s["file_name"])),
              "must have SHA-256", s["sha256"], "and", s["size"], "bytes (sha256sum FILE)")
    who = s["submitter"] + (" (" + s["submitter_name"] + ")" if s.get("submitter_name") else "")
    print(d, "statement, receipt, key period, case link: OK;", shown(repr(s["file_name"])),
          s["kind"], "received", s["received_at"], "from", shown(who),
          "for " + shown(s["tenant_name"]) if s.get("tenant_name") else "",
          "| statement SHA-256", digest, "| key", kid)
PY'''

_CUSTODY_SCRIPT = '''set -euo pipefail
test -f @MANIFEST@ || \
{ echo "FAILED: run this inside the unpacked folder (cd bundle)" >&2; exit 1; }
python3 - <<'PY'
@PRELUDE@
doc, KEYS, fingerprint = trust_root()
for item in load("@MANIFEST@")["items"]:
    d = item["path"]
    path = d + "/@CUSTODY@"
    if not os.path.exists(path):
        print(d + ": this bundle carries no custody log for it (custody not shown)")
        continue
    statement = open(d + "/@STATEMENT_JSON@", "rb").read()
    lines = open(path, "rb").read().decode("ascii").split("\\n")
    if lines[-1] != "" or len(lines) < 2:
        fail(path + " must be one signed event per line, each ending with a line break")
    previous, acts = None, []
    for seq, line in enumerate(lines[:-1], start=1):
        where = path + " line " + str(seq)
        kid, payload = signed(line, "@CUSTODY_TYP@", KEYS, where)
        event = load(where, payload)
        if canonical(event) != payload:
            fail(where + " is not in canonical form")
        if event["evidence_id"] != item["evidence_id"]:
            fail(where + " is about another item")
        if event["seq"] != seq:
            fail(where + " carries number " + str(event["seq"]) + \
": an event is missing or reordered")
        if event.get("prev_event") != previous:
            fail(where + \
" does not link to the event before it: one was removed, inserted or changed")
        if seq == 1 and (event["act"] != "registered" or event.get("detail", {}).get(
                "statement_sha256") != hashlib.sha256(statement).hexdigest()):
            fail(where + " does not register this item's statement")
        in_period(KEYS, kid, event["at"], where)
        previous = hashlib.sha256(payload).hexdigest()
        acts.append(str(seq) + " " + event["act"] + " " + event["at"] + " by " + \
shown(event["actor"]))
    print(d, "custody:", "OK,", len(acts), \
"events signed by the trust root's keys and linked in order")
    for act in acts:
        print("   ", act)
PY'''

_MERKLE_SCRIPT = '''set -euo pipefail
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

_CHAIN_SCRIPT = '''set -euo pipefail
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

_DELETION_SCRIPT = '''set -euo pipefail
test -f @MANIFEST@ || \
{ echo "FAILED: run this inside the unpacked folder (cd bundle)" >&2; exit 1; }
python3 - <<'PY'
@PRELUDE@
doc, KEYS, fingerprint = trust_root()
for item in load("@MANIFEST@")["items"]:
    if not item.get("shredded"):
        continue
    d = item["path"]
    kid, body = signed(open(d + "/@DELETION@").read(), "@DELETION_TYP@", KEYS, d + "/@DELETION@")
    if body != open(d + "/@DELETION_JSON@", "rb").read():
        fail(d + "/@DELETION_JSON@ is not what " + d + "/@DELETION@ signs")
    cert = load(d + "/@DELETION@", body)
    in_period(KEYS, kid, cert["shredded_at"], d + "/@DELETION@")
    statement = open(d + "/@STATEMENT_JSON@", "rb").read()
    if cert["statement_sha256"] != hashlib.sha256(statement).hexdigest() or \\
            cert["file_sha256"] != json.loads(statement)["sha256"]:
        fail(d + ": the deletion certificate is about another statement")
    events = open(d + "/@CUSTODY@").read().split()
    _, event = signed(events[cert["custody_event_seq"] - 1], "@CUSTODY_TYP@", KEYS, \
d + "/@CUSTODY@")
    if json.loads(event)["act"] != "shredded" or \\
            hashlib.sha256(event).hexdigest() != cert["custody_event_sha256"]:
        fail(d + ": the deletion certificate does not match the custody log's 'shredded' event")
    print(d, "deletion certificate: OK; shredded at", cert["shredded_at"], "-", \
shown(cert["reason"]))
PY'''

_TIMESTAMP_SCRIPT = '''set -euo pipefail
test -f @MANIFEST@ || \
{ echo "FAILED: run this inside the unpacked folder (cd bundle)" >&2; exit 1; }
TSA_CA="${TSA_CA:?set TSA_CA to the TSA root certificate (PEM), obtained from the TSA}"
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
  openssl ts -verify -data "$bin" -in "$tsr" -CAfile "$TSA_CA"@UNTRUSTED@
  openssl ts -reply -in "$tsr" -text | grep -E '^(Hash Algorithm|Time stamp|TSA):'
done'''


def _script(template: str, **extra: str) -> str:
    values = dict(_FORMAT, PRELUDE=_fill(_PRELUDE, **_FORMAT), **extra)
    return _fill(template.replace("@PRELUDE@", values["PRELUDE"]), **values)


def _block(lines: list[str], script: str) -> list[str]:
    return [*lines, "```sh", script, "```", ""]


# -- the document ---------------------------------------------------------------------------


def _trust_root(document: bytes | None) -> TrustRoot | None:
    if document is None:
        return None
    try:
        return verify_trust_root(document).root
    except NotaryError as exc:  # pragma: no cover - the exporter only passes its own
        raise ValueError(f"the exporter's trust root does not verify: {exc.message}") from exc


def _notice(root: TrustRoot | None, facts: BundleFacts, local_chain: bool) -> list[str]:
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


def _about(root: TrustRoot | None, fingerprint: str | None, facts: BundleFacts) -> list[str]:
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


def _tools() -> list[str]:
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


def _contents(facts: BundleFacts) -> list[str]:
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
        "",
        "| 证据 / item | 类型 / kind | 文件名 / file name | 收到时间 (UTC) / received |",
        "|---|---|---|---|",
    ]
    for item in facts.items:
        s = item.statement
        out.append(f"| {item.directory} ({item.evidence_id}) | {s.kind.value} | "
                   f"{md(s.file_name)} | {s.received_at} |")
    out.append("")
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


def _timestamp_section(facts: BundleFacts) -> list[str]:
    if not any(item.timestamp is not None for item in facts.items):
        return []
    untrusted = f" -untrusted {TSA_CHAIN_PATH}" if facts.tsa_chain is not None else ""
    return _block([
        "## RFC 3161 时间戳 / RFC 3161 timestamps",
        "",
        ("时间戳机构（TSA）按 RFC 3161 签署证明：默克尔根 32 个字节的 SHA-256 "
         "在其签署时间（genTime）已经存在——这是独立于区块链的时间证明。"
         f"`{TIMESTAMPS_DIR}/<根>.tsr` 是 TSA 的完整应答 (DER)，`{TIMESTAMPS_DIR}/<根>.bin` 是根的 "
         "32 个字节。请从 TSA 本身获取其根证书 (PEM)，并把 `TSA_CA` 设为该文件；包内 "
         f"`{TSA_CHAIN_PATH}` 中的证书只用于构建证书链，不能替代可信根。若 TSA 证书届时已过期，"
         "请加上 `-attime <genTime 的 Unix 秒数>`，按签署时间核验。"),
        "",
        ("A time-stamping authority (TSA) signed, under RFC 3161, that the SHA-256 of the Merkle "
         "root's 32 bytes existed at its time (genTime): evidence of time independent of the "
         f"chain. `{TIMESTAMPS_DIR}/<root>.tsr` is the TSA's whole answer (DER), "
         f"`{TIMESTAMPS_DIR}/<root>.bin` the root's 32 bytes. Get the TSA's root certificate "
         f"(PEM) from the TSA itself and set `TSA_CA` to that file; the certificates in "
         f"`{TSA_CHAIN_PATH}` only help build the chain and are no trust root. Once the TSA's "
         "certificate has expired, add `-attime <genTime in Unix seconds>` to check it as of "
         "its signing time."),
        "",
    ], _script(_TIMESTAMP_SCRIPT, TIMESTAMPS=TIMESTAMPS_DIR, UNTRUSTED=untrusted))


def _shredded_section(facts: BundleFacts) -> list[str]:
    shredded = [item for item in facts.items if item.shredded]
    if not shredded:
        return []
    dirs = ", ".join(item.directory for item in shredded)
    return _block([
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
    ], _script(_DELETION_SCRIPT))


_CERTIFICATION_SCRIPT = f'''set -euo pipefail
if [ -f {CERTIFICATION_SIGNATURE_PATH} ]; then
python3 - <<'PY'
import json, sys
from jwcrypto import jwk, jws

def fail(message):
    sys.exit("FAILED: " + message)

data = open("{CERTIFICATION_PATH}", "rb").read()
person = json.loads(data)["qualified_person"]
key = jwk.JWK(**person["public_key"])
if not key.thumbprint() == person["key_thumbprint"] == KID:
    fail("not the key the certification names")
token = jws.JWS()
token.deserialize(open("{CERTIFICATION_SIGNATURE_PATH}").read().strip())
header = token.jose_header
if header["alg"] != "EdDSA" or header["kid"] != KID \
or header["typ"] != "{CERTIFICATION_MEDIA_TYPE}":
    fail("not a certification signature by that key")
try:
    token.verify(key, alg="EdDSA", detached_payload=data)
except Exception as exc:
    fail("{CERTIFICATION_SIGNATURE_PATH} does not verify (" + type(exc).__name__ + ")")
print("{CERTIFICATION_SIGNATURE_PATH}: OK, signed by", person["name"], "at", header["signed_at"])
PY
else
echo "certification: not signed by the qualified person (sign with: notary certify sign)"
fi'''

_CERTIFICATION_OPENSSL = f'''set -euo pipefail
if [ -f {CERTIFICATION_SIGNATURE_PATH} ]; then
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
    name_zh, organisation_zh, title_zh = (md(in_chinese(p, field))
                                          for field in ("name", "organisation", "title"))
    out = [
        "## 法庭认证 / Court certification",
        "",
        (f"`{CERTIFICATION_DIR}/` 中是供说明人{name_zh}（{organisation_zh}，{title_zh}）签署的法庭"
         f"认证：`{CERTIFICATION_PATH}` 载明各项记录的事实（哈希值、接收时间、声明摘要、链上锚定、"
         f"保管事件数）、说明人及两份声明的全文；`{CERTIFICATION_EN_PATH}` 为英文认证（FRE "
         f"902(11)、902(14)，28 U.S.C. § 1746），`{CERTIFICATION_ZH_PATH}` 为中文电子数据存证情况"
         f"说明，`{CERTIFICATION_PDF_PATH}` 为可打印签字的双语文本。它们都列在 `{MANIFEST_PATH}` "
         "中（第 2 步已核对）；`notary verify` 另核对认证所载事实与本证据包各项一致。"),
        "",
        (f"`{CERTIFICATION_DIR}/` holds a court certification for {name} ({title}, "
         f"{organisation}) to sign: `{CERTIFICATION_PATH}` states the records' facts (hash "
         "values, receipt times, statement digests, anchors, custody event counts), the "
         f"qualified person and the full text of both declarations; `{CERTIFICATION_EN_PATH}` is "
         "the certification in English (FRE 902(11), 902(14), 28 U.S.C. § 1746), "
         f"`{CERTIFICATION_ZH_PATH}` the 存证说明 in Chinese, `{CERTIFICATION_PDF_PATH}` both, "
         f"printable for a signature by hand. All are listed in `{MANIFEST_PATH}` (checked in "
         "step 2); `notary verify` also checks that the certification's facts are this "
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
         f"受签名的清单保护）对 `{CERTIFICATION_PATH}` 作分离式 JWS 签名（RFC 7515 附录 F："
         f"`header..signature`），存为 `{CERTIFICATION_SIGNATURE_PATH}`（`notary certify sign`）。"
         f"该文件在证据包生成之后加入，因此不在 `{MANIFEST_PATH}` 中，须单独核验：把 "
         f"`BASE64URL({CERTIFICATION_PATH})` 放回两点之间即为被签名的内容。下面先用 jwcrypto "
         "核验，再用 `openssl pkeyutl -verify -rawin`（OpenSSL 3）核验同一签名输入。"),
        "",
        (f"The qualified person may sign `{CERTIFICATION_PATH}` with their Ed25519 key (RFC 7638 "
         f"thumbprint `{kid}`, named in `{CERTIFICATION_PATH}` and so covered by the signed "
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


def render_guide(facts: BundleFacts, *, local_chain: bool = False,
                 certifier: QualifiedPerson | None = None) -> bytes:
    """The bundle's ``VERIFY.md`` (UTF-8).

    ``facts.trust_root`` is the signed trust-root document the bundle carries
    (``keys/trust-root.json``; None when the exporting service has no chain: the guide then
    says the issuer cannot be established by the bundle); ``local_chain`` says the anchors are
    on a local development chain nobody else can query (the embedded chain, or a development
    chain id); ``certifier`` the qualified person when the bundle carries a court
    certification. The steps take no node from the bundle: the expert's own ``RPC`` is always
    asked for."""
    trust_root = facts.trust_root
    root = _trust_root(trust_root)
    fingerprint = verify_trust_root(trust_root).fingerprint if trust_root is not None else None
    lines = [
        "# 如何核验本证据包 / How to verify this proof bundle",
        "",
        *_notice(root, facts, local_chain),
        *_about(root, fingerprint, facts),
        *_tools(),
        *_contents(facts),
    ]
    lines += _block([
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
    ], _script(_ARCHIVE_SCRIPT))
    lines += ["```text", "cd bundle", "```", ""]
    lines += _block([
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
    ], _script(_TRUST_ROOT_SCRIPT))
    lines += _block([
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
    ], _script(_SIGNATURE_SCRIPT))
    lines += _block([
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
    ], _script(_CUSTODY_SCRIPT))
    lines += _block([
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
    ], _script(_MERKLE_SCRIPT))
    lines += _block([
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
    ], _script(_CHAIN_SCRIPT, SIGNING_KEY_OF=_SIGNING_KEY_OF, BATCH_OF=_BATCH_OF,
               VERIFY_INCLUSION=_VERIFY_INCLUSION))
    lines += _shredded_section(facts) + _timestamp_section(facts)
    lines += _certification_section(certifier)
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
