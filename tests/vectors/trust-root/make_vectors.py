"""Generate tests/vectors/trust-root/: a golden trust root and tampered copies, each file named
for the tampering, and ``vectors.json`` saying what a verifier must answer for each.

Run from the repository root:

    .venv/bin/python tests/vectors/trust-root/make_vectors.py

The files are committed and must never change for trust root v1: tests/unit/test_trustroot.py
checks the code against them byte for byte. The keys are derived from public labels; they are
test keys, not secrets.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from notary.core.signing import SigningKey, sign_detached
from notary.core.statement import canonical_json
from notary.core.trustroot import (
    TRUST_ROOT_MEDIA_TYPE,
    Operator,
    PreviousRegistry,
    RegistryPin,
    TrustRoot,
    TrustRootKey,
    anchoring_accounts,
    checksum_address,
    sign_trust_root,
)

HERE = Path(__file__).resolve().parent


def key(label: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(label.encode()).digest())


OLD = key("notary trust-root vector key #1 (public, retired)")
CURRENT = key("notary trust-root vector key #2 (public, current)")
MALLORY = key("somebody else's key (public)")


def public(k: SigningKey) -> dict[str, str]:
    return {m: k.public_jwk()[m] for m in ("kty", "crv", "x", "kid")}


ROOT = TrustRoot(
    issued_at="2026-12-03T08:00:00.000000Z",
    development=False,
    public_url="https://notary.example.cn",
    operator=Operator(name="上海某某数据科技有限公司", registration="91310000MA1FL0000X",
                      country="CN", url="https://www.example.cn"),
    chain_id=8453,
    genesis_hash="0x" + hashlib.sha256(b"genesis").hexdigest(),
    registry=RegistryPin(address=checksum_address("0x" + hashlib.sha256(b"registry v2")
                                                  .hexdigest()[:40]),
                         code_keccak256="0x" + hashlib.sha256(b"code v2").hexdigest(),
                         version="2", deployment_block=21000000,
                         deployment_block_hash="0x" + hashlib.sha256(b"block").hexdigest()),
    anchoring_accounts=anchoring_accounts(["0x" + hashlib.sha256(b"notary 1").hexdigest()[:40],
                                           "0x" + hashlib.sha256(b"notary 2").hexdigest()[:40]]),
    signing_keys=(
        TrustRootKey(public(OLD), "2026-01-05T09:00:00.000000Z", "2026-06-30T00:00:00.000000Z",
                     registered_block=21000003, retired_block=21500000),
        TrustRootKey(public(CURRENT), "2026-06-30T00:00:00.000000Z",
                     registered_block=21499990),
    ),
    previous_registries=(PreviousRegistry(
        chain_id=8453,
        address=checksum_address("0x" + hashlib.sha256(b"registry v1").hexdigest()[:40]),
        code_keccak256="0x" + hashlib.sha256(b"code v1").hexdigest(), version="1",
        until_block=21000000),),
)


def resign(doc: dict[str, Any], signer: SigningKey) -> bytes:
    """``doc`` with a fresh signature by ``signer`` over its unsigned canonical bytes."""
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    return canonical_json({**unsigned, "signature": sign_detached(
        canonical_json(unsigned), TRUST_ROOT_MEDIA_TYPE, signer)})


def main() -> None:
    valid = sign_trust_root(ROOT, CURRENT)
    doc = json.loads(valid)
    cases: dict[str, tuple[bytes, str]] = {}

    edited = json.loads(valid)
    edited["operator"]["name"] = "某某诈骗公司"
    cases["operator-name-changed"] = (canonical_json(edited), "trust_root_signature_invalid")

    edited = json.loads(valid)
    edited["registry"]["address"] = checksum_address("0x" + "66" * 20)
    cases["registry-address-changed"] = (canonical_json(edited), "trust_root_signature_invalid")

    edited = json.loads(valid)
    edited["signing_keys"][1]["jwk"] = public(MALLORY)
    cases["current-key-swapped-and-resigned"] = (resign(edited, MALLORY),
                                                 "trust_root_fingerprint_mismatch")

    cases["signed-by-the-retired-key"] = (resign(doc, OLD), "trust_root_signature_invalid")

    edited = json.loads(valid)
    edited["signing_keys"][1].pop("registered_block")
    edited["signing_keys"][1]["not_after"] = "2026-12-01T00:00:00.000000Z"
    cases["no-current-key"] = (resign(edited, CURRENT), "trust_root_invalid")

    edited = json.loads(valid)
    edited["rpc_url"] = "https://attacker.example"
    cases["unknown-member-added"] = (resign(edited, CURRENT), "trust_root_invalid")

    edited = json.loads(valid)
    edited["media_type"] = "application/vnd.notary.trust-root.v2+json"
    cases["other-version"] = (resign(edited, CURRENT), "trust_root_invalid")

    edited = json.loads(valid)
    edited["anchoring_accounts"] = [a.lower() for a in edited["anchoring_accounts"]]
    cases["address-not-checksummed"] = (resign(edited, CURRENT), "trust_root_invalid")

    cases["pretty-printed"] = (json.dumps(doc, indent=2, ensure_ascii=False).encode(),
                               "trust_root_not_canonical")
    cases["trailing-newline"] = (valid + b"\n", "trust_root_not_canonical")
    cases["duplicate-member"] = (valid.replace(b'{"anchoring_accounts"',
                                               b'{"development":true,"anchoring_accounts"', 1),
                                 "trust_root_invalid")
    cases["too-large"] = (valid[:-1] + b',"x":"' + b"a" * (256 * 1024) + b'"}',
                          "trust_root_too_large")

    fingerprint = ROOT.fingerprint
    (HERE / "valid.json").write_bytes(valid)
    manifest: dict[str, Any] = {
        "valid.json": {"fingerprint": fingerprint, "signed_by": CURRENT.kid, "expect": "valid",
                       "expect_unpinned": "valid", "pinned_fingerprint": fingerprint},
    }
    for name, (data, code) in cases.items():
        (HERE / f"{name}.json").write_bytes(data)
        # Unpinned, a document re-signed by a stranger is self-consistent: only the pin (the
        # fingerprint the operator filed) tells it from the deployment's own.
        unpinned = "valid" if code == "trust_root_fingerprint_mismatch" else code
        manifest[f"{name}.json"] = {"expect": code, "expect_unpinned": unpinned,
                                    "pinned_fingerprint": fingerprint}
    (HERE / "vectors.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
