"""Generate tests/vectors/call.json: a statement carrying a call record (issue 16 #5), valid
and tampered, and the number commitment it holds.

Run from the repository root:

    PYTHONPATH=. .venv/bin/python tests/vectors/make_call_vectors.py > tests/vectors/call.json

The output is committed and must never change for format v1 (tests/unit/test_callrecord.py
checks the code against it byte for byte). The key and the salts are derived from public
labels: test values, not secrets.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from notary.core.callrecord import commit_number
from notary.core.jws import b64url_encode
from notary.core.merkle import statement_leaf, to_hex32
from notary.core.signing import SigningKey, sign_statement
from notary.core.statement import Statement
from tests.vectors.make_statement_vectors import FULL, KEY_LABEL

CALLER = "+862150501234"
CALLEE = "+8613800138000"


def _salt(label: str) -> bytes:
    return hashlib.sha256(f"notary call vector salt: {label}".encode("ascii")).digest()


def _commitment(number: str, label: str) -> dict[str, str]:
    return {"alg": "hmac-sha256", "value": commit_number(number, _salt(label))}


CALL: dict[str, Any] = {
    "started_at": "2026-11-28T09:30:00+08:00",
    "ended_at": "2026-11-28T09:34:12+08:00",
    "timezone": "Asia/Shanghai",
    "direction": "outbound",
    "agent_id": "工号 1024",
    "campaign": "2026-11 逾期 M1 提醒",
    "caller": _commitment(CALLER, "caller"),
    "callee": _commitment(CALLEE, "callee"),
}

WITH_CALL: dict[str, Any] = {
    # The recording of make_statement_vectors.FULL, filed by an API key, with its call.
    **{k: FULL[k] for k in ("schema", "evidence_id", "case_id", "case_seq", "kind",
                            "media_type", "size", "sha256", "file_name")},
    "evidence_id": "ev-0101",
    "received_at": "2026-11-29T12:00:00Z",
    "submitter": "apikey:76a891f7fa09",
    "call": CALL,
}


def _text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _rejects() -> list[dict[str, Any]]:
    def call(**changes: Any) -> str:
        doc = dict(CALL)
        for k, v in changes.items():
            if v is None:
                doc.pop(k, None)
            else:
                doc[k] = v
        return _text({**WITH_CALL, "call": doc})

    cases = [
        ("call-on-a-notice", "A call record on an item of kind 'notice'.",
         _text({**WITH_CALL, "kind": "notice"}), "call"),
        ("ended-before-started", "'ended_at' is a minute before 'started_at'.",
         call(ended_at="2026-11-28T09:29:00+08:00"), "call.ended_at"),
        ("longer-than-a-day", "The call lasts 24 hours and one second.",
         call(ended_at="2026-11-29T09:30:01+08:00"), "call.ended_at"),
        ("unknown-time-zone", "'timezone' is not an IANA name.",
         call(timezone="Beijing Time"), "call.timezone"),
        ("path-as-time-zone", "'timezone' is a path out of the zone database.",
         call(timezone="../../etc/passwd"), "call.timezone"),
        ("unknown-direction", "'direction' is 'missed'.", call(direction="missed"),
         "call.direction"),
        ("missing-callee", "'callee' is removed.", call(callee=None), "call.callee"),
        ("readable-number", "'callee' is the number itself, not a commitment.",
         call(callee=CALLEE), "call.callee"),
        ("uppercase-commitment", "The callee commitment in upper-case hex.",
         call(callee={"alg": "hmac-sha256", "value": CALL["callee"]["value"].upper()}),
         "call.callee.value"),
        ("unknown-commitment-alg", "The caller commitment says 'sha256' (unsalted).",
         call(caller={"alg": "sha256", "value": CALL["caller"]["value"]}), "call.caller.alg"),
        ("unknown-call-field", "An extra field 'number' in the call record.",
         call(number=CALLEE), "call.number"),
        ("newline-in-agent-id", "'agent_id' contains a line feed.",
         call(agent_id="工号 1024\n主管"), "call.agent_id"),
        ("time-without-offset", "'started_at' has no offset.",
         call(started_at="2026-11-28T09:30:00"), "call.started_at"),
    ]
    return [{"name": n, "description": d, "text": t, "code": "statement_invalid", "field": f}
            for n, d, t, f in cases]


def main() -> None:
    key = SigningKey.from_seed(hashlib.sha256(KEY_LABEL.encode("ascii")).digest())
    statement = Statement.from_json(WITH_CALL)
    canonical = statement.canonical_bytes()
    jws = sign_statement(statement, key)
    header, _payload, signature = jws.split(".")
    altered = {**WITH_CALL, "call": {**CALL, "callee": _commitment("+8613900139000", "callee")}}
    altered_bytes = Statement.from_json(altered).canonical_bytes()
    vectors = {
        "description": "A statement (notary.statement/v1) with the optional call record of "
        "issue 16: canonical bytes, SHA-256, Merkle leaf and JWS; the same JWS with another "
        "callee commitment put in (the signature fails); the commitments' numbers and salts; "
        "and rejected call records. Generated by tests/vectors/make_call_vectors.py; must "
        "never change.",
        "key": {"seed": f"SHA-256 of the ASCII string {KEY_LABEL!r}",
                "public_jwk": key.public_jwk()},
        "commitments": [
            {"party": "caller", "number": CALLER, "salt": _salt("caller").hex(),
             "value": CALL["caller"]["value"]},
            {"party": "callee", "number": CALLEE, "salt": _salt("callee").hex(),
             "value": CALL["callee"]["value"]},
        ],
        "statement": {
            "name": "with-call",
            "json": WITH_CALL,
            "canonical_text": canonical.decode("utf-8"),
            "sha256": statement.digest_hex(),
            "leaf": to_hex32(statement_leaf(statement.digest(), bytes.fromhex(statement.sha256))),
            "jws": jws,
        },
        "tampered": {
            "name": "callee-replaced",
            "description": "The signed statement with the callee commitment replaced by "
            "another number's; header and signature kept.",
            "jws": f"{header}.{b64url_encode(altered_bytes)}.{signature}",
        },
        "rejects": _rejects(),
    }
    sys.stdout.write(json.dumps(vectors, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
