"""Cross-check notary.core.merkle against the reference, @openzeppelin/merkle-tree, run by
Node (tests/node/oz_tree.mjs), and check that tests/vectors/merkle.json is exactly what
tests/node/make_vectors.mjs generates.

Marked `node` (it starts Node processes); a missing `node` is a failure, not a skip.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from notary.core.merkle import (
    LEAF_ENCODING,
    MerkleTree,
    from_hex32,
    leaf_hash,
    to_hex32,
    verify_proof,
)

pytestmark = pytest.mark.node

REPO = Path(__file__).resolve().parents[2]
SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 100]


def _node(script: str, stdin: str = "") -> str:
    node = shutil.which("node")
    assert node is not None, "node is required for the OpenZeppelin cross-check"
    done = subprocess.run(
        [node, str(REPO / "tests" / "node" / script)],
        input=stdin, capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _oz(trees: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = json.loads(_node("oz_tree.mjs", json.dumps({"trees": trees})))
    result: list[dict[str, Any]] = out["trees"]
    return result


def _notary_values(n: int, seed: int) -> list[list[Any]]:
    rng = random.Random(seed)
    return [
        [rng.choice([1, 2]), "0x" + rng.randbytes(32).hex(), "0x" + rng.randbytes(32).hex()]
        for _ in range(n)
    ]


def _py_values(values: list[Any], encoding: list[str]) -> list[Any]:
    out: list[Any] = []
    for typ, v in zip(encoding, values, strict=True):
        if typ == "bytes32":
            out.append(from_hex32(v))
        elif typ.startswith("uint"):
            out.append(int(v))
        else:
            out.append(v)
    return out


def _compare(values: list[list[Any]], encoding: list[str], oz: dict[str, Any]) -> None:
    leaves = [leaf_hash(_py_values(v, encoding), encoding) for v in values]
    assert [to_hex32(x) for x in leaves] == oz["leafHashes"]
    tree = MerkleTree.build(leaves)
    assert to_hex32(tree.root) == oz["root"]
    n = len(values)
    for i, leaf in enumerate(leaves):
        sorted_index = 2 * n - 2 - oz["treeIndices"][i]
        assert tree.leaf_at(sorted_index) == leaf
        assert [to_hex32(p) for p in tree.proof_at(sorted_index)] == oz["proofs"][i]
        assert [to_hex32(p) for p in tree.proof_for(leaf)] == oz["lookupProofs"][i]
        verify_proof(tree.root, leaf, tree.proof_at(sorted_index))


def test_roots_and_every_proof_match_openzeppelin() -> None:
    trees = [{"values": _notary_values(n, seed=n)} for n in SIZES]
    results = _oz(trees)
    assert len(results) == len(SIZES)
    for tree, oz in zip(trees, results, strict=True):
        _compare(tree["values"], list(LEAF_ENCODING), oz)


def test_duplicate_values_match_openzeppelin() -> None:
    base = _notary_values(4, seed=99)
    values = [base[0], base[1], base[0], base[2], base[0], base[3], base[1]]
    (oz,) = _oz([{"values": values}])
    _compare(values, list(LEAF_ENCODING), oz)


def test_other_static_encodings_match_openzeppelin() -> None:
    encoding = ["address", "uint256", "bytes32", "uint64", "uint8"]
    rng = random.Random(7)
    values = [
        [
            "0x" + rng.randbytes(20).hex(),
            str(rng.getrandbits(256)),
            "0x" + rng.randbytes(32).hex(),
            str(rng.getrandbits(64)),
            str(rng.getrandbits(8)),
        ]
        for _ in range(9)
    ]
    (oz,) = _oz([{"encoding": encoding, "values": values}])
    _compare(values, encoding, oz)


def test_committed_vectors_are_what_the_generator_produces() -> None:
    committed = (REPO / "tests" / "vectors" / "merkle.json").read_text("utf-8")
    assert _node("make_vectors.mjs") == committed
