"""The forgeries of issue 14's "Why", each built here with real parts (a second Ed25519 key,
a second EvidenceRegistry deployed on the same chain by a second deployment), verified as a
judge's expert would: with the genuine deployment's trust root (the bytes of its well-known
URL) each fails, naming the part that is not the deployment's; without a trust root none is
"valid": at best the issuer is not established (exit 5).

Main's verifier before the pinning work answered "valid" to every one of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notary.core.bundle import KEYS_PATH, KeyPeriod, key_history, parse_key_history
from notary.core.signing import SigningKey
from notary.core.trustroot import TrustRootKey, sign_trust_root
from notary.core.validate import format_rfc3339_utc
from tests.pinning.conftest import (
    FORGED_AGREEMENT,
    Deployment,
    answer,
    assert_not_established,
    assert_refused,
    cli_verify,
    dead_node,
    describe,
    failed,
    verify,
)
from tests.pinning.forge import (
    TRUST_ROOT_PATH,
    forge_item,
    kid_of,
    members,
    resign_everything,
    seal,
    statement_of,
)

pytestmark = [pytest.mark.chain]

#: The forger's own Ed25519 key (for the forgeries made from a genuine bundle).
FORGER = SigningKey.from_seed(bytes(range(32)))


def forger_trust_root(genuine: Deployment) -> bytes:
    """A trust root a forger signs: the genuine chain and registry, the genuine operator's
    name, but the forger's key. It verifies (it is validly signed by a key it lists); only
    its fingerprint gives it away, which is why a bundled trust root is never trusted."""
    root = genuine.root.root
    key = TrustRootKey(jwk={k: FORGER.public_jwk()[k] for k in ("kty", "crv", "x", "kid")},
                       not_before="2020-01-01T00:00:00Z")
    return sign_trust_root(replace(root, signing_keys=(key,)), FORGER)


@pytest.fixture(scope="module")
def resigned(genuine: Deployment) -> bytes:
    """Forgery 2: the genuine case bundle with keys/jwks.json replaced by the forger's key
    and every JWS (statements, receipts, custody events, manifest) re-signed with it. The
    anchors are the genuine ones: the statements' bytes did not change."""
    return resign_everything(genuine.case_bundle, FORGER, trust_root=forger_trust_root(genuine))


@pytest.fixture(scope="module")
def resigned_shortened(genuine: Deployment) -> bytes:
    """Forgery 2b: the same, with the case's last item and every custody event after the
    second of each item dropped, so that the case looks complete without them."""
    return resign_everything(
        genuine.case_bundle, FORGER,
        keep=lambda path: not path.startswith("items/003/"),
        custody_keep=lambda path, seq: seq <= 2)


@pytest.fixture(scope="module")
def spliced(genuine: Deployment, attacker: Deployment) -> bytes:
    """Forgery 3: the genuine case's first two items byte for byte (statements, receipts,
    proofs, anchors, custody, originals, certificates), the attacker's key added to
    keys/jwks.json as if the deployment had rotated to it, and a forged agreement as the
    third entry of the case, linked to the genuine second one, signed by the attacker's key
    and anchored in the attacker's registry (on the same chain) by the attacker's account."""
    files = members(genuine.case_bundle)
    second = statement_of(files, "items/002")
    genuine_set, periods = parse_key_history(files[KEYS_PATH])
    [(genuine_kid, period)] = periods.items()
    # "Rotated" just now: the genuine key valid until then, the attacker's from then on.
    rotated = format_rfc3339_utc(datetime.now(UTC) - timedelta(seconds=2))
    key = attacker.server.service.signing_key
    forged = forge_item(second, content=FORGED_AGREEMENT, file_name="agreement-2026-11-28.pdf",
                        key=key, registry=attacker.registry, case_seq=3,
                        prev_statement=second.digest_hex())
    kept = {p: d for p, d in files.items() if not p.startswith("items/003/")}
    kept.update(forged.documents)
    kept[forged.original[0]] = forged.original[1]
    kept[KEYS_PATH] = key_history([
        (genuine_set["keys"][0], KeyPeriod(genuine_kid, period.valid_from, rotated)),
        (key.public_jwk(), KeyPeriod(key.kid, rotated)),
    ])
    kept.pop(TRUST_ROOT_PATH, None)
    assert kid_of(kept["items/001/statement.jws"]) == genuine_kid
    return seal(kept, key, created_at=format_rfc3339_utc(datetime.now(UTC)))


def forgeries(genuine: Deployment, attacker: Deployment, request: pytest.FixtureRequest
              ) -> dict[str, bytes]:
    return {
        "own-key-own-registry": attacker.case_bundle,
        "own-key-own-registry-item": attacker.item_bundle,
        "resigned": request.getfixturevalue("resigned"),
        "resigned-shortened": request.getfixturevalue("resigned_shortened"),
        "spliced": request.getfixturevalue("spliced"),
    }


#: What each forgery must be refused for when pinned: words a failed check names.
PARTS = {
    "own-key-own-registry": ("keys", "registry"),
    "own-key-own-registry-item": ("keys", "registry"),
    "resigned": ("keys",),
    "resigned-shortened": ("keys",),
    "spliced": ("keys", "registry"),
}


# -- the forgeries are internally consistent: only pinning can tell -------------------------


@pytest.mark.parametrize("name", sorted(PARTS))
def test_each_forgery_is_internally_consistent(name: str, genuine: Deployment,
                                               attacker: Deployment,
                                               request: pytest.FixtureRequest) -> None:
    """Without a trust root nothing fails (the forgery is as good as its maker could make
    it), yet the answer is "issuer not established", never "valid"."""
    report = verify(forgeries(genuine, attacker, request)[name], rpc=genuine.chain_url)
    assert report["result"] == "not_established", describe(report)
    assert not failed(report), describe(report)
    assert_not_established(report)
    assert answer(report, "existence_time")["status"] == "pass", describe(report)


@pytest.mark.parametrize("name", sorted(PARTS))
def test_pinned_each_forgery_fails_naming_the_part(name: str, genuine: Deployment,
                                                   attacker: Deployment,
                                                   request: pytest.FixtureRequest) -> None:
    report = verify(forgeries(genuine, attacker, request)[name], trust_root=genuine.trust_root,
                    rpc=genuine.chain_url)
    assert_refused(report, *PARTS[name])
    issuer = answer(report, "issuer")
    assert issuer["trust_root_fingerprint"] == genuine.root.fingerprint


def test_forger_key_is_named(genuine: Deployment, resigned: bytes) -> None:
    report = verify(resigned, trust_root=genuine.trust_root, rpc=genuine.chain_url)
    bad = assert_refused(report, "keys")
    assert any(FORGER.kid in c["reason"] for c in bad), describe(report)
    # The bundled trust root is the forger's, and reported as such, never used.
    issuer = answer(report, "issuer")
    assert issuer["bundled_trust_root_fingerprint"] not in (None, genuine.root.fingerprint)


def test_spliced_items_are_told_apart(genuine: Deployment, spliced: bytes) -> None:
    """The genuine entries of the spliced case still check out; the forged one is named."""
    report = verify(spliced, trust_root=genuine.trust_root, rpc=genuine.chain_url)
    bad = assert_refused(report, "keys", "registry")
    names = {c["name"] for c in bad}
    assert any(n.startswith("items[2].") for n in names), describe(report)
    assert not any(n.startswith(("items[0].", "items[1].")) for n in names), describe(report)


def test_attacker_bundle_names_the_other_registry(genuine: Deployment,
                                                  attacker: Deployment) -> None:
    report = verify(attacker.case_bundle, trust_root=genuine.trust_root, rpc=genuine.chain_url)
    bad = assert_refused(report, "keys", "registry")
    theirs = attacker.registry.address.lower()
    assert any(theirs in c["reason"].lower() for c in bad), describe(report)
    assert any(attacker.server.service.signing_key.kid in c["reason"] for c in bad), (
        describe(report))


# -- 4. offline, and a node that does not answer ---------------------------------------------


@pytest.mark.parametrize("name", sorted(PARTS))
def test_made_up_bundles_offline_are_never_valid(name: str, genuine: Deployment,
                                                 attacker: Deployment,
                                                 request: pytest.FixtureRequest) -> None:
    data = forgeries(genuine, attacker, request)[name]
    unpinned = verify(data)
    assert unpinned["result"] == "not_established", describe(unpinned)
    assert answer(unpinned, "existence_time")["status"] == "unknown", describe(unpinned)
    pinned = verify(data, trust_root=genuine.trust_root)
    assert pinned["result"] == "invalid", describe(pinned)
    assert any("keys" in c["name"] or "keys" in c["reason"] for c in failed(pinned)), (
        describe(pinned))


def test_genuine_bundle_offline_is_unknown_not_valid(genuine: Deployment) -> None:
    """Offline, even the genuine bundle pinned to its own trust root is not "valid": when
    it was anchored, and that its keys are registered, is on chain."""
    report = verify(genuine.case_bundle, trust_root=genuine.trust_root)
    assert report["result"] == "unknown", describe(report)
    assert answer(report, "existence_time")["status"] == "unknown"
    assert answer(report, "integrity")["status"] == "pass"


def test_a_node_that_does_not_answer_makes_the_time_unknown(genuine: Deployment,
                                                           attacker: Deployment) -> None:
    node = dead_node()
    pinned = verify(genuine.case_bundle, trust_root=genuine.trust_root, rpc=node)
    assert pinned["result"] == "unknown", describe(pinned)
    assert answer(pinned, "existence_time")["status"] == "unknown", describe(pinned)
    assert answer(pinned, "existence_time")["time"] is None
    assert not failed(pinned), describe(pinned)
    unpinned = verify(genuine.case_bundle, rpc=node)
    assert unpinned["result"] == "not_established", describe(unpinned)
    assert answer(unpinned, "existence_time")["status"] == "unknown", describe(unpinned)
    forged = verify(attacker.case_bundle, trust_root=genuine.trust_root, rpc=node)
    assert forged["result"] == "invalid", describe(forged)


# -- the same through `notary verify` ----------------------------------------------------


def _cli_cases(genuine: Deployment, attacker: Deployment,
               request: pytest.FixtureRequest) -> list[tuple[str, bytes, dict[str, Any]]]:
    every = forgeries(genuine, attacker, request)
    return [(n, every[n], {}) for n in ("own-key-own-registry", "resigned", "spliced")]


def test_cli_exit_codes_for_forgeries(genuine: Deployment, attacker: Deployment,
                                      request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = genuine.server.url + "/.well-known/notary-trust-root.json"
    for i, (name, data, _) in enumerate(_cli_cases(genuine, attacker, request)):
        # Pinned by the document's bytes, or (once) by the well-known URL itself.
        code, report = cli_verify(tmp_path, data, trust_root=url if i == 0 else
                                  genuine.trust_root, rpc=genuine.chain_url)
        assert code == 1, (name, describe(report))
        assert_refused(report, *PARTS[name])
        # Without a trust root: its own exit code, online or (once) offline.
        code, report = cli_verify(tmp_path, data, rpc=None if i == 0 else genuine.chain_url)
        assert code == 5, (name, describe(report))
        assert report["result"] == "not_established"
    code, report = cli_verify(tmp_path, attacker.case_bundle, trust_root=genuine.trust_root,
                              rpc=dead_node())
    assert code == 1, describe(report)
    code, report = cli_verify(tmp_path, genuine.case_bundle, trust_root=genuine.trust_root,
                              rpc=dead_node())
    assert code == 1 and report["result"] == "unknown", describe(report)


def test_service_endpoint_refuses_a_bundle_that_is_not_ours(genuine: Deployment,
                                                           attacker: Deployment,
                                                           resigned: bytes) -> None:
    """POST /v1/verify checks against this deployment's own trust root (issue 14 item 6):
    a bundle with a key or registry that is not ours is not "notarised by this service"."""
    http = genuine.server.client()
    for data, part in ((attacker.case_bundle, "registry"), (resigned, "keys")):
        resp = http.post("/v1/verify", files={"bundle": ("b.zip", data, "application/zip")})
        assert resp.status_code == 200, resp.text
        report = resp.json()
        assert report["result"] == "invalid", describe(report)
        assert any(part in c["name"].lower() or part in c["reason"].lower()
                   for c in failed(report)), describe(report)
    ours = http.post("/v1/verify", files={"bundle": ("b.zip", genuine.case_bundle,
                                                     "application/zip")})
    assert ours.status_code == 200 and ours.json()["result"] == "valid", ours.text


def test_only_the_fingerprint_tells_two_deployments_with_the_same_names_apart(
        genuine: Deployment, attacker: Deployment) -> None:
    """The attacker's bundle is valid against the attacker's own trust root, which claims the
    genuine operator's name and registration number (a trust root's identity fields are its
    signer's claims). What differs, and what the answer carries for a court to compare with
    the fingerprint the operator filed, is the fingerprint."""
    report = verify(attacker.case_bundle, trust_root=attacker.trust_root, rpc=genuine.chain_url)
    assert report["result"] == "valid", describe(report)
    issuer = answer(report, "issuer")
    assert issuer["operator"] == answer(
        verify(genuine.case_bundle, trust_root=genuine.trust_root, rpc=genuine.chain_url),
        "issuer")["operator"]
    assert issuer["trust_root_fingerprint"] == attacker.root.fingerprint
    assert attacker.root.fingerprint != genuine.root.fingerprint
    for lang in ("en", "zh"):
        assert attacker.root.fingerprint in issuer["reason"][lang], issuer["reason"]
