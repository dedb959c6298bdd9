"""The trust root format (notary.core.trustroot) against its golden vectors and hostile input."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from notary.core.signing import SigningKey
from notary.core.trustroot import (
    MAX_TRUST_ROOT_BYTES,
    TrustRootError,
    checksum_address,
    format_fingerprint,
    kid_thumbprint,
    parse_trust_root,
    sign_trust_root,
    verify_trust_root,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "trust-root"
MANIFEST = json.loads((VECTORS / "vectors.json").read_text())


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("trust_root_vectors", VECTORS / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def outcome(data: bytes, pin: str | None) -> str:
    try:
        verify_trust_root(data, pin)
    except TrustRootError as exc:
        return exc.code
    return "valid"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_vector(name: str) -> None:
    expected = MANIFEST[name]
    data = (VECTORS / name).read_bytes()
    assert outcome(data, expected["pinned_fingerprint"]) == expected["expect"]
    assert outcome(data, None) == expected["expect_unpinned"]


def test_every_vector_file_is_in_the_manifest() -> None:
    files = {p.name for p in VECTORS.glob("*.json")} - {"vectors.json"}
    assert files == set(MANIFEST)


def test_valid_vector_is_what_the_code_signs_today() -> None:
    """Format v1 is frozen: the same content and key give the same bytes and fingerprint."""
    valid = (VECTORS / "valid.json").read_bytes()
    assert sign_trust_root(GEN.ROOT, GEN.CURRENT) == valid
    verified = verify_trust_root(valid, MANIFEST["valid.json"]["fingerprint"])
    assert verified.fingerprint == GEN.ROOT.fingerprint == MANIFEST["valid.json"]["fingerprint"]
    assert verified.signed_by == GEN.CURRENT.kid
    assert verified.root == GEN.ROOT
    unsigned = {k: v for k, v in json.loads(valid).items() if k != "signature"}
    from notary.core.statement import canonical_json
    digest = hashlib.sha256(canonical_json(unsigned)).hexdigest()[:32]
    assert verified.fingerprint == "-".join(digest[i:i + 4] for i in range(0, 32, 4))


def test_the_pin_is_what_tells_a_stranger_apart() -> None:
    """A stranger's own, well-formed trust root verifies by itself: without the operator's
    fingerprint nothing says whose it is."""
    forged = sign_trust_root(replace(GEN.ROOT, signing_keys=(
        replace(GEN.ROOT.signing_keys[1], jwk=GEN.public(GEN.MALLORY)),)), GEN.MALLORY)
    assert outcome(forged, None) == "valid"
    assert outcome(forged, MANIFEST["valid.json"]["fingerprint"]) == \
        "trust_root_fingerprint_mismatch"


def test_only_a_current_key_signs() -> None:
    with pytest.raises(TrustRootError) as err:
        sign_trust_root(GEN.ROOT, GEN.OLD)
    assert err.value.details["field"] == "signature"


def test_fingerprint_spellings() -> None:
    fp = MANIFEST["valid.json"]["fingerprint"]
    assert format_fingerprint(fp.upper().replace("-", " ")) == fp
    assert format_fingerprint(fp.replace("-", "")) == fp
    for bad in ("", "xyz", fp[:-1], fp + "0"):
        with pytest.raises(TrustRootError) as err:
            format_fingerprint(bad)
        assert err.value.code == "fingerprint_invalid"
    with pytest.raises(TrustRootError):
        verify_trust_root((VECTORS / "valid.json").read_bytes(), "not a fingerprint")


def test_kid_thumbprint_is_the_rfc7638_sha256() -> None:
    key = SigningKey.from_seed(b"\x07" * 32)
    jwk = key.public_jwk()
    members = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]},
                         separators=(",", ":"), sort_keys=True).encode()
    assert kid_thumbprint(key.kid) == hashlib.sha256(members).digest()
    assert base64.urlsafe_b64encode(kid_thumbprint(key.kid)).rstrip(b"=").decode() == key.kid
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 43 characters carry 258 bits: the last two must be zero in the one canonical spelling.
    non_canonical = key.kid[:-1] + alphabet[alphabet.index(key.kid[-1]) | 1]
    for bad in ("", "abc", key.kid + "A", "+" * 43, non_canonical):
        with pytest.raises(TrustRootError) as err:
            kid_thumbprint(bad)
        assert err.value.code == "kid_invalid"


def test_checksum_addresses_follow_eip55() -> None:
    # The EIP-55 examples.
    for example in ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"):
        assert checksum_address(example.lower()) == example


@pytest.mark.parametrize("data", [
    b"", b"[]", b"null", b"\xff\xfe{}", b'{"a":1.5}', b"[" * 100000, b'{"media_type":NaN}',
    "{\ufeff}".encode(),
])
def test_hostile_input_is_refused_with_our_error(data: bytes) -> None:
    with pytest.raises(TrustRootError):
        parse_trust_root(data)


def test_size_limit_comes_first() -> None:
    with pytest.raises(TrustRootError) as err:
        parse_trust_root(b" " * (MAX_TRUST_ROOT_BYTES + 1))
    assert err.value.code == "trust_root_too_large"


def test_errors_name_the_field() -> None:
    doc = json.loads((VECTORS / "valid.json").read_bytes())
    doc["operator"]["country"] = "China"
    with pytest.raises(TrustRootError) as err:
        parse_trust_root(GEN.resign(doc, GEN.CURRENT))
    assert err.value.details["field"] == "operator.country"
    doc = json.loads((VECTORS / "valid.json").read_bytes())
    doc["signing_keys"].reverse()
    with pytest.raises(TrustRootError) as err:
        parse_trust_root(GEN.resign(doc, GEN.CURRENT))
    assert err.value.details["field"] == "signing_keys"


def test_deep_nesting_is_refused_not_a_crash() -> None:
    """web3 (py_ecc) raises the recursion limit to 100000 on import; the stdlib decoder then
    overflows the C stack on ~65000 nested brackets and the process dies (SIGSEGV) instead of
    raising. Every strict parse (trust roots, statements, manifests) refuses the depth first;
    run in a thread, like a request, in a child process so a regression fails the test
    instead of killing the test run."""
    import subprocess
    import sys

    code = (
        "import sys, threading, web3\n"
        "assert sys.getrecursionlimit() >= 100000\n"
        "from notary.core.errors import NotaryError\n"
        "from notary.core.statement import parse_strict_json\n"
        "from notary.core.trustroot import parse_trust_root\n"
        "out = []\n"
        "def run():\n"
        "    for parse in (lambda d: parse_strict_json(d, max_bytes=1 << 20), parse_trust_root):\n"
        "        try:\n"
        "            parse(b'[' * 200000)\n"
        "        except NotaryError as exc:\n"
        "            out.append(exc.code)\n"
        "t = threading.Thread(target=run); t.start(); t.join()\n"
        "print(out)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['json_too_deep', 'trust_root_invalid']"


def test_a_log_with_its_witnesses_round_trips_and_a_threshold_above_them_is_refused() -> None:
    """The optional ``log`` member (issue 19): the log's vkey named by its origin, witnesses'
    cosignature keys sorted by name, a threshold up to their number. Roots without it (the
    vectors above) verify as before; with it, the fingerprint is another one."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from notary.core.note import COSIGNATURE, ED25519, Signer
    from notary.core.trustroot import LogPin

    def vkey(name: str, kind: int) -> str:
        return Signer(name, kind, Ed25519PrivateKey.generate()).verifier.vkey

    witnesses = tuple(sorted((n, vkey(n, COSIGNATURE)) for n in ("b.test/w", "a.test/w")))
    pin = LogPin("notary.test/log", vkey("notary.test/log", ED25519), witnesses, 2)
    signed = sign_trust_root(replace(GEN.ROOT, log=pin), GEN.CURRENT)
    verified = verify_trust_root(signed)
    assert verified.root.log == pin and verified.fingerprint != GEN.ROOT.fingerprint
    for bad, field in [
        (replace(pin, witness_threshold=3), "log.witness_threshold"),
        (replace(pin, witnesses=witnesses[::-1]), "log.witnesses"),
        (replace(pin, vkey=vkey("other.test/log", ED25519)), "log.vkey"),
        (replace(pin, witnesses=(("a.test/w", vkey("a.test/w", ED25519)),)),
         "log.witnesses[0].vkey"),
    ]:
        with pytest.raises(TrustRootError) as err:
            sign_trust_root(replace(GEN.ROOT, log=bad), GEN.CURRENT)
        assert err.value.details["field"] == field
