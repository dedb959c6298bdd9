"""Generate tests/vectors/statement.json: golden statements (canonical bytes, digest, leaf,
JWS) and malformed statements named for the attack or mistake they reproduce.

Run from the repository root:

    .venv/bin/python tests/vectors/make_statement_vectors.py > tests/vectors/statement.json

The output is committed and must never change for format v1: tests/unit/test_vectors.py
checks the code against it byte for byte. The signing key is derived from a public label;
it is a test key, not a secret.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from notary.core.merkle import statement_leaf, to_hex32
from notary.core.signing import SigningKey, sign_receipt, sign_statement
from notary.core.statement import Statement

KEY_LABEL = "notary test vector key #1 (public, never use for real evidence)"

FULL: dict[str, Any] = {
    "schema": "notary.statement/v1",
    "evidence_id": "ev-0001",
    "case_id": "HX-2026-1128-ZW",
    "case_seq": 1,
    "kind": "call_recording",
    "media_type": "audio/wav",
    "size": 904590,
    "sha256": "4d6208e96eb02056320928483a3d57837e343f9e74a2858e2117143d63b05e77",
    "file_name": "call-2026-11-28-0930.wav",
    "captured_at": "2026-11-28T09:30:00+08:00",
    "received_at": "2026-11-29T12:00:00.123456Z",
    "submitter": "collector:agent-17",
    "content_address": "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    "description": "催收电话录音 / collection call.\nRecording notice given at 00:00:03.",
    "parties": [
        {"role": "collector", "name": "Agent 17"},
        {"role": "debtor", "name": "王伟"},
    ],
}


def _second(first: Statement) -> dict[str, Any]:
    return {
        "schema": "notary.statement/v1",
        "evidence_id": "ev-0002",
        "case_id": "HX-2026-1128-ZW",
        "case_seq": 2,
        "prev_statement": first.digest_hex(),
        "kind": "notice",
        "media_type": "application/pdf",
        "size": 28530,
        "sha256": "1c2b41b671ab348153f4d6ad91817fa1fef06f3e5ddb26b4a605009e64de33fb",
        "file_name": "notice-2026-11-28.pdf",
        "received_at": "2026-11-29T12:00:01Z",
        "submitter": "collector:agent-17",
    }


def _with_identity(second: Statement) -> dict[str, Any]:
    """A statement with the optional identity fields (issue 14): the tenant's legal name and
    the name of the API key that submitted it, both as the tenant stated them."""
    return {
        "schema": "notary.statement/v1",
        "evidence_id": "ev-0003",
        "case_id": "HX-2026-1128-ZW",
        "case_seq": 3,
        "prev_statement": second.digest_hex(),
        "kind": "agreement",
        "media_type": "application/pdf",
        "size": 41210,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "file_name": "repayment-agreement.pdf",
        "received_at": "2026-11-29T12:00:02Z",
        "submitter": "apikey:76a891f7fa09",
        "tenant_name": "华信资产管理有限公司",
        "submitter_name": "催收员 工号 1024",
    }


def _hash_only(third: Statement) -> dict[str, Any]:
    """A hash-only deposit (issue 16): the depositor sent the SHA-256 and size of a file the
    service never saw; no content address, since nothing is stored."""
    return {
        "schema": "notary.statement/v1",
        "evidence_id": "ev-0004",
        "case_id": "HX-2026-1128-ZW",
        "case_seq": 4,
        "prev_statement": third.digest_hex(),
        "kind": "other",
        "media_type": "application/pdf",
        "size": 120334,
        "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "file_name": "ledger-2026-11.pdf",
        "received_at": "2026-11-29T12:00:03Z",
        "submitter": "apikey:76a891f7fa09",
        "deposit": "hash_only",
    }


def _with_sm3() -> dict[str, Any]:
    """A statement of a deployment that records SM3 beside SHA-256 (issue 19, NOTARY_SM3):
    the file is the three bytes ``abc``, whose SM3 is the example of GB/T 32905 appendix A."""
    return {
        "schema": "notary.statement/v1",
        "evidence_id": "ev-0005",
        "case_id": "HX-2026-1201-SM",
        "case_seq": 1,
        "kind": "notice",
        "media_type": "text/plain",
        "size": 3,
        "sha256": hashlib.sha256(b"abc").hexdigest(),
        "sm3": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
        "file_name": "abc.txt",
        "received_at": "2026-12-01T08:00:00Z",
        "submitter": "apikey:76a891f7fa09",
        "content_address": "bafkreif2pall7dybz7vecqka3zo24irdwabwdi4wc55jznaq75q7eaavvu",
    }


def _golden(name: str, fields: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    statement = Statement.from_json(fields)
    canonical = statement.canonical_bytes()
    return {
        "name": name,
        "json": fields,
        "canonical_text": canonical.decode("utf-8"),
        "canonical_hex": canonical.hex(),
        "sha256": statement.digest_hex(),
        "leaf": to_hex32(statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))),
        "jws": sign_statement(statement, key),
    }


def _text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _rejects(first: Statement) -> list[dict[str, Any]]:
    good = first.to_json()
    canonical = first.canonical_bytes().decode("utf-8")

    def variant(**changes: Any) -> str:
        obj = dict(good)
        for k, v in changes.items():
            if v is _DROP:
                obj.pop(k, None)
            else:
                obj[k] = v
        return _text(obj)

    second = _second(first)
    cases: list[dict[str, Any]] = [
        ("unknown-field", "An extra field 'amount' is added.",
         variant(amount="5200.00"), "statement_invalid", "amount"),
        ("missing-required-field", "'sha256' is removed.",
         variant(sha256=_DROP), "statement_invalid", "sha256"),
        ("null-instead-of-absent", "'description' is null instead of omitted.",
         variant(description=None), "statement_invalid", "description"),
        ("non-canonical-key-order", "Keys are not sorted.",
         json.dumps(dict(reversed(list(good.items()))), ensure_ascii=False,
                    separators=(",", ":")), "statement_not_canonical", None),
        ("non-canonical-whitespace", "A space after every colon and comma.",
         json.dumps(good, ensure_ascii=False, sort_keys=True), "statement_not_canonical", None),
        ("non-canonical-escaped-unicode", "Non-ASCII characters written as \\u escapes.",
         json.dumps(good, ensure_ascii=True, sort_keys=True, separators=(",", ":")),
         "statement_not_canonical", None),
        ("trailing-newline", "A newline after the object.",
         canonical + "\n", "statement_not_canonical", None),
        ("trailing-garbage", "A second JSON value after the object.",
         canonical + "{}", "statement_not_canonical", None),
        ("leading-bom", "A UTF-8 byte order mark before the object.",
         "\ufeff" + canonical, "json_invalid", None),
        ("duplicate-key", "'size' appears twice; parsers disagree on which one counts.",
         canonical[:-1] + ',"size":1}', "json_invalid", None),
        ("float-size", "'size' written as 904590.0.",
         canonical.replace('"size":904590', '"size":904590.0'), "json_invalid", None),
        ("bool-as-integer", "'case_seq' is true.",
         variant(case_seq=True), "statement_invalid", "case_seq"),
        ("size-beyond-2^53", "'size' is 2**53, not exactly representable as a JSON number.",
         variant(size=2**53), "statement_invalid", "size"),
        ("negative-size", "'size' is -1.", variant(size=-1), "statement_invalid", "size"),
        ("wrong-schema", "'schema' is a future version.",
         variant(schema="notary.statement/v2"), "statement_invalid", "schema"),
        ("unknown-kind", "'kind' is not one of the v1 kinds.",
         variant(kind="voicemail"), "statement_invalid", "kind"),
        ("uppercase-sha256", "'sha256' in upper-case hex (two spellings of one digest).",
         variant(sha256=good["sha256"].upper()), "statement_invalid", "sha256"),
        ("short-sha256", "'sha256' has 63 hex digits.",
         variant(sha256=good["sha256"][:-1]), "statement_invalid", "sha256"),
        ("control-character-in-case-id", "'case_id' contains a carriage return.",
         variant(case_id="HX-2026\r-1128-ZW"), "statement_invalid", "case_id"),
        ("trailing-space-in-case-id", "'case_id' ends with a space.",
         variant(case_id="HX-2026-1128-ZW "), "statement_invalid", "case_id"),
        ("bidi-override-in-file-name",
         ("U+202E RIGHT-TO-LEFT OVERRIDE after 'call' makes 'call<U+202E>vaw.exe' display "
          "as 'callexe.wav'."),
         variant(file_name="call\u202evaw.exe"), "statement_invalid", "file_name"),
        ("path-traversal-in-file-name", "'file_name' is '../../etc/passwd'.",
         variant(file_name="../../etc/passwd"), "statement_invalid", "file_name"),
        ("backslash-in-file-name", "'file_name' contains a Windows path separator.",
         variant(file_name="C:\\calls\\a.wav"), "statement_invalid", "file_name"),
        ("lone-surrogate-in-file-name", "'file_name' contains the escape \\ud800 (not Unicode).",
         canonical.replace('"call-2026', '"\\ud800call-2026'), "statement_invalid", "file_name"),
        ("case-seq-zero", "'case_seq' is 0 (sequences start at 1).",
         variant(case_seq=0), "statement_invalid", "case_seq"),
        ("prev-statement-on-first", "'prev_statement' present although case_seq is 1.",
         variant(prev_statement=first.digest_hex()), "statement_invalid", "prev_statement"),
        ("missing-prev-statement", "case_seq 2 without 'prev_statement'.",
         _text({k: v for k, v in second.items() if k != "prev_statement"}),
         "statement_invalid", "prev_statement"),
        ("received-at-not-utc", "'received_at' has a +08:00 offset instead of Z.",
         variant(received_at="2026-11-29T20:00:00+08:00"), "statement_invalid", "received_at"),
        ("impossible-date", "'captured_at' is 30 February.",
         variant(captured_at="2026-02-30T09:30:00Z"), "statement_invalid", "captured_at"),
        ("not-an-object", "A JSON array instead of an object.",
         "[]", "statement_invalid", None),
    ]
    out = []
    for name, description, text, code, field in cases:
        case: dict[str, Any] = {"name": name, "description": description, "text": text,
                                "code": code}
        if field is not None:
            case["field"] = field
        out.append(case)
    out.append({
        "name": "invalid-utf8", "description": "A byte 0xff inside a string.",
        "hex": canonical.encode("utf-8").replace(b"Agent 17", b"Agent \xff7").hex(),
        "code": "json_invalid",
    })
    # Added with the identity fields; the rejects above are unchanged.
    identity = _with_identity(Statement.from_json(second))
    for name, description, changes, field in [
        ("null-tenant-name", "'tenant_name' is null instead of omitted.",
         {"tenant_name": None}, "tenant_name"),
        ("empty-submitter-name", "'submitter_name' is the empty string (omit it instead).",
         {"submitter_name": ""}, "submitter_name"),
        ("trailing-space-in-tenant-name", ("'tenant_name' ends with a space (two spellings of "
          "one name)."), {"tenant_name": identity["tenant_name"] + " "}, "tenant_name"),
        ("control-character-in-submitter-name", ("'submitter_name' contains a line feed (a "
          "second line on a certificate)."), {"submitter_name": "工号 1024\n审核通过"},
         "submitter_name"),
        ("bidi-override-in-tenant-name", ("U+202E in 'tenant_name' reorders the name as "
          "displayed."), {"tenant_name": "华信\u202e司公限有"}, "tenant_name"),
    ]:
        out.append({"name": name, "description": description,
                    "text": _text({**identity, **changes}), "code": "statement_invalid",
                    "field": field})
    # Added with hash-only deposits; the rejects above are unchanged.
    third = Statement.from_json(_with_identity(Statement.from_json(second)))
    hash_only = _hash_only(third)
    for name, description, changes, field in [
        ("unknown-deposit", "'deposit' is not 'hash_only'.", {"deposit": "partial"},
         "deposit"),
        ("hash-only-with-content-address", ("A hash-only statement names a content address, "
          "as if the file were stored."),
         {"content_address": FULL["content_address"]}, "content_address"),
    ]:
        out.append({"name": name, "description": description,
                    "text": _text({**hash_only, **changes}), "code": "statement_invalid",
                    "field": field})
    # Added with SM3 (issue 19); the rejects above are unchanged.
    for name, description, base, changes, field in [
        ("sm3-upper-case", "'sm3' in upper-case hex (two spellings of one digest).",
         _with_sm3(), {"sm3": _with_sm3()["sm3"].upper()}, "sm3"),
        ("sm3-short", "'sm3' is 31 bytes.", _with_sm3(), {"sm3": "66" * 31}, "sm3"),
        ("hash-only-with-sm3", ("A hash-only statement records an SM3 the service never "
          "computed (it never saw the file)."), hash_only, {"sm3": _with_sm3()["sm3"]}, "sm3"),
    ]:
        out.append({"name": name, "description": description,
                    "text": _text({**base, **changes}), "code": "statement_invalid",
                    "field": field})
    return out


_DROP = object()


def main() -> None:
    key = SigningKey.from_seed(hashlib.sha256(KEY_LABEL.encode("ascii")).digest())
    first = Statement.from_json(FULL)
    vectors = {
        "description": "Statement format v1 (notary.statement/v1): golden statements with "
        "their RFC 8785 canonical bytes, SHA-256, Merkle leaf and JWS; and rejected inputs. "
        "Generated by tests/vectors/make_statement_vectors.py; must never change.",
        "key": {
            "seed": f"SHA-256 of the ASCII string {KEY_LABEL!r}",
            "public_jwk": key.public_jwk(),
        },
        "statements": [
            _golden("full", FULL, key),
            _golden("second-in-case", _second(first), key),
            _golden("with-identity", _with_identity(Statement.from_json(_second(first))), key),
            _golden("hash-only", _hash_only(Statement.from_json(_with_identity(
                Statement.from_json(_second(first))))), key),
            _golden("with-sm3", _with_sm3(), key),
        ],
        "receipt": {
            "payload": {
                "schema": "notary.receipt/v1",
                "evidence_id": "ev-0001",
                "statement_sha256": first.digest_hex(),
                "anchor_deadline": "2026-11-30T12:00:00Z",
                "issued_at": "2026-11-29T12:00:00.200000Z",
            },
            "jws": sign_receipt(first.digest_hex(), "ev-0001", "2026-11-30T12:00:00Z",
                                "2026-11-29T12:00:00.200000Z", key),
        },
        "rejects": _rejects(first),
    }
    text = json.dumps(vectors, ensure_ascii=False, indent=2) + "\n"
    # Keep non-ASCII text readable, but write invisible or direction-changing characters as
    # JSON escapes so the file displays as what it is (inside strings only, so still valid).
    for char in "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e" \
                "\u2066\u2067\u2068\u2069":
        text = text.replace(char, f"\\u{ord(char):04x}")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
