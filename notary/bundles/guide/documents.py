"""The scripts of the steps that check the bundle's own documents offline: the archive before
it is unpacked (step 0), the trust root by its fingerprint (1), keys, signatures and files (2),
the custody logs (3) and the deletion certificates of shredded items."""

from __future__ import annotations

__all__ = ["ARCHIVE_SCRIPT", "CUSTODY_SCRIPT", "DELETION_SCRIPT", "SIGNATURE_SCRIPT",
           "TRUST_ROOT_SCRIPT"]


ARCHIVE_SCRIPT = '''set -euo pipefail
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

TRUST_ROOT_SCRIPT = '''set -euo pipefail
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

SIGNATURE_SCRIPT = '''set -euo pipefail
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
        if s.get("sm3"):
            sm3 = sm3_file(item["original"])
            if sm3 is None:
                print(item["original"] + ": SM3 not checked here (this Python has no SM3); "
                      "openssl dgst -sm3 must print", s["sm3"])
            elif sm3 != s["sm3"]:
                fail(item["original"] + ": its SM3 is not the one its signed statement records")
            else:
                print(item["original"] + ": OK, SM3", s["sm3"], "as its signed statement records")
    elif s.get("deposit") == "hash_only":
        print(d + ": hash-only deposit, 本服务从未见过该文件 / the file was never seen by this "
              "service (not checked by it); your copy of", shown(repr(s["file_name"])),
              "must have SHA-256", s["sha256"], "and", s["size"], "bytes (sha256sum FILE)")
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

CUSTODY_SCRIPT = '''set -euo pipefail
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


DELETION_SCRIPT = '''set -euo pipefail
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
