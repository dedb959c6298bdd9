"""A collector's own key: submissions signed at capture time are verified and recorded so."""

from __future__ import annotations

import hashlib
import json

import pytest

from notary.core.signing import SigningKey
from notary.service.apikeys import create_key
from tests.support import LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]


def submit(http, data: bytes, signature: str | None):  # type: ignore[no-untyped-def]
    meta = {"case_id": "SIG-1", "kind": "call_recording"}
    if signature is not None:
        meta["submitter_signature"] = signature
    return http.post("/v1/evidence", files={"metadata": (None, json.dumps(meta)),
                                             "file": ("call.wav", data, "audio/wav")})


def test_signed_at_capture_by_a_registered_key(server: LiveServer) -> None:
    _row, token = create_key(server.service.engine, "collector")
    http = server.client(token)
    phone = SigningKey.generate()  # the collector's device key
    data = b"RIFF recording bytes"
    sha = hashlib.sha256(data).hexdigest()
    # before registering, a signature is kept but recorded as unverified
    first = submit(http, data, phone.sign(sha.encode(), "JWT"))
    assert first.status_code == 201
    registered = http.post("/v1/submitter-keys", json={"jwk": {
        k: v for k, v in phone.public_jwk().items() if k in ("kty", "crv", "x")}})
    assert registered.status_code == 201 and registered.json()["kid"] == phone.kid
    ok = submit(http, data, phone.sign(sha.encode(), "JWT"))
    assert ok.status_code == 201, ok.text
    custody = http.get(f"/v1/evidence/{ok.json()['id']}/custody").json()
    assert custody["events"][0]["event"]["detail"]["submitter_signature"] == f"verified:{phone.kid}"
    custody = http.get(f"/v1/evidence/{first.json()['id']}/custody").json()
    assert custody["events"][0]["event"]["detail"]["submitter_signature"] == "unverified"
    # once registered: unsigned, wrongly signed, or signed over another file -> 422
    other = SigningKey.generate()
    for signature in (None, other.sign(sha.encode(), "JWT"),
                      phone.sign(hashlib.sha256(b"other").hexdigest().encode(), "JWT")):
        bad = submit(http, data, signature)
        assert bad.status_code == 422 and bad.json()["code"] == "submitter_signature_invalid"
    private = http.post("/v1/submitter-keys", json={"jwk": {"kty": "OKP", "crv": "Ed25519",
                                                            "x": "AAAA", "d": "BBBB"}})
    assert private.status_code == 422
