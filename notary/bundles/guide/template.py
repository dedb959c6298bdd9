"""How values enter ``VERIFY.md``: a value someone chose as inert Markdown (:func:`md`), and
the scripts' placeholders (``@NAME@``) filled with the bundle format's names, with the Python
prelude every step that needs keys shares (strict JSON, the trust root checked by its
fingerprint, JWS checks with keys from that trust root only)."""

from __future__ import annotations

import re

from notary.core.bundle import (
    ANCHOR_NAME,
    BUNDLE_MEDIA_TYPE,
    BUNDLE_V1_MEDIA_TYPE,
    CUSTODY_NAME,
    DELETION_JSON_NAME,
    DELETION_NAME,
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
)
from notary.core.custody import CUSTODY_MEDIA_TYPE
from notary.core.declaration import CERTIFICATION_SIGNATURE_PATH
from notary.core.deletion import DELETION_MEDIA_TYPE
from notary.core.signing import RECEIPT_MEDIA_TYPE
from notary.core.statement import STATEMENT_MEDIA_TYPE
from notary.core.trustroot import TRUST_ROOT_MEDIA_TYPE

__all__ = ["block", "md", "script"]


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


def sm3_file(path):  # None when this Python's OpenSSL has no SM3
    try:
        digest = hashlib.new("sm3")
    except ValueError:
        return None
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def script(template: str, **extra: str) -> str:
    values = dict(_FORMAT, PRELUDE=_fill(_PRELUDE, **_FORMAT), **extra)
    return _fill(template.replace("@PRELUDE@", values["PRELUDE"]), **values)


def block(lines: list[str], script: str) -> list[str]:
    return [*lines, "```sh", script, "```", ""]
