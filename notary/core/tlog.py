"""The append-only log's Merkle tree (RFC 9162 section 2.1, as RFC 6962 and transparency-dev).

Why a second tree beside the OpenZeppelin batch tree: a batch tree proves that an item is in
one batch; a log tree over every entry ever appended proves, between any two of its
checkpoints, that nothing was removed or rewritten (a consistency proof), which is what a
witness checks before it cosigns. Leaves are hashed ``SHA-256(0x00 || entry)`` and nodes
``SHA-256(0x01 || left || right)``; proofs and their verification follow RFC 9162's
algorithms, and the transparency-dev/merkle vectors pass (tests/vectors/test_tlog.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify, or a request no proof exists for."""


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one log entry."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, bottom-up: the root of a tree of ``len(leaves)`` entries."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # Complete subtrees pair up left to right; an odd last node is carried up unchanged,
    # which yields the same root as the RFC's split at the largest power of two.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of entry ``index`` in the tree of ``leaves``."""
    if not 0 <= index < len(leaves):
        raise ProofError(f"entry {index} is not in a tree of {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return inclusion_proof(index, leaves[:k]) + [root(leaves[k:])]
    return inclusion_proof(index - k, leaves[k:]) + [root(leaves[:k])]


def inclusion_proofs(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every entry's audit path, as :func:`inclusion_proof` gives each, in O(n log n) (a
    whole recording's segments: one proof each would be O(n²))."""
    return _paths(leaves)[0] if leaves else []


def inclusion_proofs_of(indices: Iterable[int], leaves: Sequence[bytes]) -> dict[int, list[bytes]]:
    """The audit paths of some entries (``indices``) of one tree, from one pass over its
    leaves: every complete subtree's hash is computed once, then each path is O(log n). A
    bundle of 10,000 items asks for tens of thousands of paths in a log of millions of
    entries; :func:`inclusion_proof` would read the whole log for each."""
    n = len(leaves)
    wanted = sorted(set(indices))
    if wanted and not 0 <= wanted[0] <= wanted[-1] < n:
        raise ProofError(f"an entry asked for is not in a tree of {n}")
    levels = [list(leaves)]  # levels[h][j]: the hash of leaves [j * 2^h, (j + 1) * 2^h)
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    memo: dict[tuple[int, int], bytes] = {}

    def mth(start: int, end: int) -> bytes:
        size = end - start
        if size & (size - 1) == 0 and start % size == 0:  # a complete, aligned subtree
            h = size.bit_length() - 1
            return levels[h][start >> h]
        if (start, end) not in memo:
            k = _split(size)
            memo[start, end] = node_hash(mth(start, start + k), mth(start + k, end))
        return memo[start, end]

    out = {}
    for m in wanted:
        path, start, end = [], 0, n
        while end - start > 1:
            k = _split(end - start)
            if m < start + k:
                path.append(mth(start + k, end))
                end = start + k
            else:
                path.append(mth(start, start + k))
                start += k
        out[m] = path[::-1]
    return out


def _paths(leaves: Sequence[bytes]) -> tuple[list[list[bytes]], bytes]:
    """(every entry's path, the root) of the tree of ``leaves`` (not empty)."""
    if len(leaves) == 1:
        return [[]], leaves[0]
    k = _split(len(leaves))
    left, left_root = _paths(leaves[:k])
    right, right_root = _paths(leaves[k:])
    return ([p + [right_root] for p in left] + [p + [left_root] for p in right],
            node_hash(left_root, right_root))


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): the tree of the first ``old_size`` entries is a prefix of this one."""
    if not 0 < old_size <= len(leaves):
        raise ProofError(f"no consistency proof from {old_size} to {len(leaves)} entries")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], complete) + [root(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [root(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     expected_root: bytes) -> None:
    """RFC 9162 2.1.3.2; raises ProofError unless ``leaf`` is entry ``index`` of the tree of
    ``size`` entries whose root is ``expected_root``."""
    if not 0 <= index < size:
        raise ProofError(f"entry {index} is not in a tree of {size}")
    if len(leaf) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("a hash of the proof is not 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    if r != expected_root:
        raise ProofError("the proof leads to another root")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """RFC 9162 2.1.4.2; raises ProofError unless the tree of ``old_size`` entries with
    ``old_root`` is a prefix of the tree of ``new_size`` entries with ``new_root``."""
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("a hash of the proof is not 32 bytes")
    if old_size == 0 or old_size > new_size:
        raise ProofError(f"no consistency proof exists from {old_size} to {new_size} entries")
    if old_size == new_size:
        if proof:
            raise ProofError("trees of the same size need an empty proof")
        if old_root != new_root:
            raise ProofError("two different roots for the same size: the log forked")
        return
    if not proof:
        raise ProofError("the proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof is longer than the trees are deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is shorter than the trees are deep")
    if fr != old_root:
        raise ProofError("the proof does not lead to the old root: an entry was changed or "
                         "removed")
    if sr != new_root:
        raise ProofError("the proof does not lead to the new root")
