"""notary.core.tlog against the transparency-dev/merkle proof vectors (every inclusion and
consistency case, happy or tampered), and our proof generation against the same trees."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest

from notary.core import tlog

pytestmark = pytest.mark.unit

VECTORS = Path(__file__).parent / "tlog"
# transparency-dev's test leaves (testonly.LeafInputs) and the roots of each prefix
LEAVES = [bytes.fromhex(h) for h in
          ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
           "606162636465666768696a6b6c6d6e6f")]
ROOTS = ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]


def _b(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def _cases(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def test_roots_of_every_prefix() -> None:
    hashes = [tlog.leaf_hash(leaf) for leaf in LEAVES]
    assert [tlog.root(hashes[:n]).hex() for n in range(9)] == ROOTS


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_vector(path: Path) -> None:
    v: dict[str, Any] = json.loads(path.read_text())
    proof = [_b(p) for p in v["proof"] or []]

    def check() -> None:
        tlog.verify_inclusion(_b(v["leafHash"]), v["leafIdx"], v["treeSize"], proof,
                              _b(v["root"]))
    if v["wantErr"]:
        with pytest.raises(tlog.ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("path", _cases("consistency"),
                         ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_vector(path: Path) -> None:
    v: dict[str, Any] = json.loads(path.read_text())
    proof = [_b(p) for p in v["proof"] or []]

    def check() -> None:
        tlog.verify_consistency(v["size1"], v["size2"], _b(v["root1"]), _b(v["root2"]), proof)
    if v["wantErr"]:
        with pytest.raises(tlog.ProofError):
            check()
    else:
        check()


def test_the_vectors_are_all_here() -> None:
    assert len(_cases("inclusion")) == 98 and len(_cases("consistency")) == 98


def test_generated_proofs_are_the_vectors_happy_paths() -> None:
    hashes = [tlog.leaf_hash(leaf) for leaf in LEAVES]
    seen = 0
    for path in _cases("inclusion"):
        v = json.loads(path.read_text())
        if path.stem == "happy-path":
            n = v["treeSize"]
            assert tlog.inclusion_proof(v["leafIdx"], hashes[:n]) == \
                [_b(p) for p in v["proof"] or []]
            seen += 1
    for path in _cases("consistency"):
        v = json.loads(path.read_text())
        if path.stem == "happy-path" and v["size1"]:
            assert tlog.consistency_proof(v["size1"], hashes[:v["size2"]]) == \
                [_b(p) for p in v["proof"] or []]
            seen += 1
    assert seen >= 8


@pytest.mark.parametrize("seed", range(4))
def test_every_proof_of_random_trees_verifies_and_a_removed_entry_fails(seed: int) -> None:
    rng = random.Random(seed)
    hashes = [tlog.leaf_hash(rng.randbytes(8)) for _ in range(rng.randint(1, 70))]
    n = len(hashes)
    top = tlog.root(hashes)
    for i in range(n):
        tlog.verify_inclusion(hashes[i], i, n, tlog.inclusion_proof(i, hashes), top)
    for m in range(1, n + 1):
        proof = tlog.consistency_proof(m, hashes)
        tlog.verify_consistency(m, n, tlog.root(hashes[:m]), top, proof)
        if m < n:
            # a log that dropped entry 0 and re-grew to the same size cannot prove consistency
            forged = hashes[1:] + [tlog.leaf_hash(b"filler")]
            with pytest.raises(tlog.ProofError):
                tlog.verify_consistency(m, n, tlog.root(hashes[:m]), tlog.root(forged),
                                        proof)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 70, 1025])
def test_the_batch_of_proofs_a_bundle_takes_is_each_entrys_own_proof(n: int) -> None:
    """``inclusion_proofs_of``: one pass over the leaves for many entries (a case bundle)."""
    hashes = [tlog.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    wanted = sorted({0, n - 1, n // 2, n // 3})
    proofs = tlog.inclusion_proofs_of(wanted, hashes)
    assert sorted(proofs) == wanted
    for i in wanted:
        assert proofs[i] == tlog.inclusion_proof(i, hashes)
    with pytest.raises(tlog.ProofError):
        tlog.inclusion_proofs_of([n], hashes)
