"""Second anchors in the formats (issue 19): the trust root's optional ``extra_chains`` and
the rule that the earliest valid attestation dates the evidence."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest

from notary.core.bundle.attest import Attested, dating
from notary.core.trustroot import (
    ExtraChainPin,
    RegistryPin,
    TrustRootError,
    sign_trust_root,
    verify_trust_root,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "trust-root"
_spec = importlib.util.spec_from_file_location("trust_root_vectors", VECTORS / "make_vectors.py")
assert _spec is not None and _spec.loader is not None
GEN = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(GEN)

PIN = ExtraChainPin(
    chain_id=777001, genesis_hash="0x" + "ab" * 32,
    registry=RegistryPin(address="0x5FbDB2315678afecb367f032d93F642f64180aa3",
                         code_keccak256="0x" + "cd" * 32, version="2"),
    anchoring_accounts=GEN.ROOT.anchoring_accounts)


def test_extra_chains_round_trip_and_the_old_document_is_unchanged() -> None:
    signed = sign_trust_root(replace(GEN.ROOT, extra_chains=(PIN,)), GEN.CURRENT)
    verified = verify_trust_root(signed)
    assert verified.root.extra_chain(777001) == PIN
    assert verified.root.extra_chain(GEN.ROOT.chain_id) is None
    # without second anchors the member is absent: the frozen v1 vector is what it was
    assert b"extra_chains" not in sign_trust_root(GEN.ROOT, GEN.CURRENT)
    assert sign_trust_root(GEN.ROOT, GEN.CURRENT) == (VECTORS / "valid.json").read_bytes()


@pytest.mark.parametrize("chains", [
    (replace(PIN, chain_id=GEN.ROOT.chain_id),),          # the primary chain again
    (PIN, PIN),                                            # a chain twice
    (replace(PIN, anchoring_accounts=()),),                # nobody anchors there
])
def test_extra_chains_are_validated_like_the_primary(chains: tuple[ExtraChainPin, ...]) -> None:
    with pytest.raises(TrustRootError):
        sign_trust_root(replace(GEN.ROOT, extra_chains=chains), GEN.CURRENT)


def test_the_earliest_valid_attestation_dates_and_an_invalid_one_never_does() -> None:
    primary = Attested("chain", "2026-12-07T10:00:05.000000Z", True, "items[0].anchor_record",
                       31337)
    tsa = Attested("rfc3161", "2026-12-07T10:00:03.000000Z", True, "items[0].rfc3161_timestamp")
    second = Attested("extra_chain", "2026-12-07T10:00:01.000000Z", True,
                      "items[0].extra_anchor_777001", 777001)
    forged = Attested("extra_chain", "2020-01-01T00:00:00.000000Z", False,
                      "items[0].extra_anchor_777002", 777002)
    assert dating([primary, tsa, second, forged]) == second.to_json()
    assert dating([primary, tsa, forged]) == tsa.to_json()
    assert dating([forged]) is None
    # a block time no chain node confirmed is the bundle's own claim: it dates nothing
    claimed = Attested("extra_chain", "2019-01-01T00:00:00.000000Z", True,
                       "items[0].extra_anchor_777003", 777003, confirmed=False)
    assert dating([primary, tsa, second, claimed]) == second.to_json()
    assert dating([claimed]) is None
