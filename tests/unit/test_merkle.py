"""notary.core.merkle: the committed OpenZeppelin-generated vectors, input checks before
hashing, the ABI encoding, and speed. (The live cross-check with @openzeppelin/merkle-tree
is in test_merkle_oz.py.)"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from notary.core.errors import InputError, ProofError, RootMismatchError
from notary.core.merkle import (
    LEAF_ENCODING,
    MAX_PROOF_LENGTH,
    LeafType,
    MerkleTree,
    abi_encode_static,
    from_hex32,
    hash_pair,
    keccak256,
    leaf_hash,
    root_from_proof,
    statement_leaf,
    to_hex32,
    verify_proof,
)

pytestmark = pytest.mark.unit

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "merkle.json").read_text("utf-8")
)
CASES = {c["name"]: c for c in VECTORS["cases"]}


def _values(raw: list[Any]) -> list[Any]:
    return [v if isinstance(v, int) else from_hex32(v) for v in raw]


def _rand_leaves(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(32) for _ in range(n)]


# --- shared vectors --------------------------------------------------------------------


def test_vector_file_shape() -> None:
    assert VECTORS["encoding"] == list(LEAF_ENCODING)
    assert len(CASES) == len(VECTORS["cases"]), "case names must be unique"
    assert any(c["valid"] for c in CASES.values()) and any(not c["valid"] for c in CASES.values())


@pytest.mark.parametrize("name", sorted(CASES))
def test_vector(name: str) -> None:
    case = CASES[name]
    leaf = from_hex32(case["leaf"])
    assert leaf_hash(_values(case["values"]), VECTORS["encoding"]) == leaf
    root = from_hex32(case["root"])
    proof = [from_hex32(p) for p in case["proof"]]
    if case["valid"]:
        verify_proof(root, leaf, proof)
        assert root_from_proof(leaf, proof) == root
    else:
        with pytest.raises(RootMismatchError) as err:
            verify_proof(root, leaf, proof)
        assert err.value.expected_root == root
        assert err.value.computed_root == root_from_proof(leaf, proof) != root
        assert err.value.code == "proof_invalid"
        assert err.value.details["reason"] == "root_mismatch"


def test_vector_trees_rebuilt_give_the_same_root_and_proofs() -> None:
    trees: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, case in CASES.items():
        if case["valid"] and name.startswith("tree-"):
            trees[name.split("/")[0]].append(case)
    assert set(trees) == {"tree-1", "tree-2", "tree-3", "tree-5", "tree-8"}
    for cases in trees.values():
        tree = MerkleTree.build([from_hex32(c["leaf"]) for c in cases])
        for c in cases:
            assert to_hex32(tree.root) == c["root"]
            assert [to_hex32(p) for p in tree.proof_for(from_hex32(c["leaf"]))] == c["proof"]


def test_statement_leaf_is_the_standard_leaf_of_the_notary_encoding() -> None:
    record, subject = hashlib.sha256(b"statement").digest(), hashlib.sha256(b"file").digest()
    assert statement_leaf(record, subject) == leaf_hash([1, subject, record], LEAF_ENCODING)
    custody = statement_leaf(record, subject, LeafType.CUSTODY_EVENT)
    assert custody == leaf_hash([2, subject, record], LEAF_ENCODING)
    assert custody != statement_leaf(record, subject)
    encoded = abi_encode_static(LEAF_ENCODING, [1, subject, record])
    assert encoded == bytes(31) + b"\x01" + subject + record
    assert statement_leaf(record, subject) == keccak256(keccak256(encoded))


# --- primitives ------------------------------------------------------------------------


def test_keccak256_is_ethereum_keccak_not_sha3() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert keccak256(b"") != hashlib.sha3_256(b"").digest()


def test_hash_pair_is_sorted() -> None:
    a, b = sorted(_rand_leaves(2, 1))
    assert hash_pair(a, b) == hash_pair(b, a) == keccak256(a + b)
    assert hash_pair(a, a) == keccak256(a + a)


def test_abi_encoding_of_static_types() -> None:
    address = "0x52908400098527886E0F7030069857D2E4169EE7"  # EIP-55 test vector
    encoded = abi_encode_static(
        ["uint8", "uint256", "address", "bytes32"], [255, 2**256 - 1, address, bytes(32)]
    )
    assert encoded == (
        (255).to_bytes(32, "big") + b"\xff" * 32
        + bytes(12) + bytes.fromhex(address[2:]) + bytes(32)
    )
    assert abi_encode_static(["address"], [address.lower()]) == abi_encode_static(
        ["address"], [bytes.fromhex(address[2:])]
    )


@pytest.mark.parametrize(
    ("types", "values"),
    [
        (["uint8"], [256]),
        (["uint8"], [-1]),
        (["uint8"], [True]),
        (["uint8"], ["1"]),
        (["uint7"], [1]),
        (["bytes32"], [bytes(31)]),
        (["bytes32"], ["0x" + "00" * 32]),
        (["string"], ["x"]),
        (["address"], ["0x52908400098527886e0F7030069857D2E4169EE7"]),  # bad checksum
        (["address"], [bytes(19)]),
        (["uint8", "bytes32"], [1]),
    ],
)
def test_abi_encoding_rejects(types: list[str], values: list[Any]) -> None:
    with pytest.raises(InputError) as err:
        abi_encode_static(types, values)
    assert err.value.code == "abi_invalid"


def test_hex32_helpers_are_strict() -> None:
    value = bytes(range(32))
    assert from_hex32(to_hex32(value)) == value
    assert from_hex32("0x" + value.hex().upper()) == value
    for bad in [value.hex(), "0X" + value.hex(), "0x" + value.hex()[:-1], "0x" + value.hex() + "0",
                " 0x" + value.hex(), "0x" + value.hex()[:-1] + "z"]:
        with pytest.raises(InputError) as err:
            from_hex32(bad)
        assert err.value.code == "hex32_invalid"
    with pytest.raises(InputError):
        to_hex32(bytes(31))


# --- root_from_proof / verify_proof input checks ---------------------------------------


def test_inputs_are_checked_before_hashing() -> None:
    leaf, sibling = _rand_leaves(2, 2)
    cases: list[tuple[Any, Any, str]] = [
        (leaf[:31], [sibling], "leaf_invalid"),
        ("0x" + leaf.hex(), [sibling], "leaf_invalid"),
        (leaf, [sibling, sibling + b"\x00"], "proof_element_invalid"),
        (leaf, [sibling.hex()], "proof_element_invalid"),
        (leaf, sibling, "proof_invalid"),
        (leaf, [sibling] * (MAX_PROOF_LENGTH + 1), "proof_too_long"),
    ]
    for bad_leaf, bad_proof, reason in cases:
        with pytest.raises(ProofError) as err:
            root_from_proof(bad_leaf, bad_proof)
        assert err.value.reason == reason
    with pytest.raises(ProofError) as err:
        root_from_proof(leaf, [sibling, bytes(33)])
    assert err.value.details["index"] == 1
    with pytest.raises(ProofError) as err:
        verify_proof(bytes(31), leaf, [sibling])
    assert err.value.reason == "root_invalid"
    assert len(root_from_proof(leaf, [sibling] * MAX_PROOF_LENGTH)) == 32


def test_root_from_proof_is_separate_from_comparison() -> None:
    leaf, sibling = _rand_leaves(2, 3)
    assert root_from_proof(leaf, []) == leaf
    assert root_from_proof(leaf, [sibling]) == hash_pair(leaf, sibling)
    verify_proof(hash_pair(leaf, sibling), leaf, [sibling])


# --- MerkleTree ------------------------------------------------------------------------


def test_single_leaf_tree() -> None:
    (leaf,) = _rand_leaves(1, 4)
    tree = MerkleTree.build([leaf])
    assert tree.root == leaf
    assert tree.proof_at(0) == [] == tree.proof_for(leaf)
    assert len(tree) == 1


@pytest.mark.parametrize("n", [*range(1, 34), 100, 257])
def test_every_proof_verifies_and_layout_is_openzeppelins(n: int) -> None:
    leaves = _rand_leaves(n, n)
    tree = MerkleTree.build(leaves)
    assert tree.leaves == sorted(leaves)
    depth_max = (n - 1).bit_length()
    for i, leaf in enumerate(tree.leaves):
        proof = tree.proof_at(i)
        assert tree.leaf_at(i) == leaf and tree.index_of(leaf) == i
        verify_proof(tree.root, leaf, proof)
        assert len(proof) <= depth_max
    # The root as OpenZeppelin's core.js computes it, written out independently.
    nodes: list[bytes] = [b""] * (2 * n - 1)
    for i, leaf in enumerate(sorted(leaves)):
        nodes[len(nodes) - 1 - i] = leaf
    for i in range(len(nodes) - 1 - n, -1, -1):
        nodes[i] = hash_pair(nodes[2 * i + 1], nodes[2 * i + 2])
    assert tree.root == nodes[0]


def test_input_order_does_not_matter() -> None:
    leaves = _rand_leaves(20, 5)
    shuffled = list(leaves)
    random.Random(6).shuffle(shuffled)
    assert MerkleTree.build(leaves).root == MerkleTree.build(shuffled).root


def test_duplicate_leaves_as_openzeppelin() -> None:
    a, b, c = sorted(_rand_leaves(3, 7))
    tree = MerkleTree.build([b, a, b, c, b])
    assert tree.leaves == [a, b, b, b, c]
    for i in range(5):
        verify_proof(tree.root, tree.leaf_at(i), tree.proof_at(i))
    # OpenZeppelin's hash lookup keeps the last copy in sorted order.
    assert tree.index_of(b) == 3
    assert tree.proof_for(b) == tree.proof_at(3)


def test_build_and_lookup_errors() -> None:
    with pytest.raises(InputError) as err:
        MerkleTree.build([])
    assert err.value.code == "leaves_invalid"
    with pytest.raises(InputError) as err:
        MerkleTree.build([bytes(32), bytes(31)])
    assert err.value.details["index"] == 1
    tree = MerkleTree.build(_rand_leaves(3, 8))
    with pytest.raises(InputError) as err:
        tree.proof_for(bytes(32))
    assert err.value.code == "leaf_not_in_tree"
    for bad in [-1, 3, True]:
        with pytest.raises(InputError) as err:
            tree.proof_at(bad)
        assert err.value.code == "leaf_index_invalid"


def test_build_and_all_proofs_are_fast() -> None:
    # 65,539 leaves (just past a power of two); a million take about 15 times as long.
    n = (1 << 16) + 3
    leaves = _rand_leaves(n, 9)
    start = time.perf_counter()
    tree = MerkleTree.build(leaves)
    proofs = [tree.proof_at(i) for i in range(n)]
    elapsed = time.perf_counter() - start
    assert len(proofs) == n and len(proofs[-1]) in (16, 17)
    verify_proof(tree.root, tree.leaf_at(n - 1), proofs[-1])
    assert elapsed < 5.0, f"{elapsed:.2f} s for {n} leaves"
