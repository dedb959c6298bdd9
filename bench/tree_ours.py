"""Child process of the tree benchmark: notary's Merkle tree over leaves read from a file.

    python -m bench.tree_ours LEAVES.bin [--verify]

LEAVES.bin holds 64 bytes per leaf (file SHA-256, statement digest). Prints JSON with the time
to hash the leaves, build the tree, and produce the proof of every leaf (and, with --verify,
to check every proof against the root, as OpenZeppelin's getProof does), the root and the
proof sizes, and its own peak memory.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from notary.core.merkle import MerkleTree, root_from_proof, statement_leaf


def _peak_rss() -> int:
    """This process's peak RSS (``VmHWM``: per address space, so it starts at exec and does not
    include the parent's memory, unlike ``ru_maxrss``)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    raw = Path(sys.argv[1]).read_bytes()
    verify = "--verify" in sys.argv
    n = len(raw) // 64
    values = [(raw[64 * i: 64 * i + 32], raw[64 * i + 32: 64 * i + 64]) for i in range(n)]
    del raw
    t0 = time.perf_counter()
    leaves = [statement_leaf(digest, sha) for sha, digest in values]
    t1 = time.perf_counter()
    tree = MerkleTree.build(leaves)
    t2 = time.perf_counter()
    elements = 0
    longest = 0
    root = tree.root
    for i in range(n):
        proof = tree.proof_at(i)
        elements += len(proof)
        longest = max(longest, len(proof))
        if verify and root_from_proof(tree.leaf_at(i), proof) != root:
            raise SystemExit(f"proof {i} does not verify")
    t3 = time.perf_counter()
    print(json.dumps({"peak_rss_bytes": _peak_rss(), "leaves_ms": (t1 - t0) * 1e3, "build_ms": (t2 - t1) * 1e3,
                      "proofs_ms": (t3 - t2) * 1e3, "root": "0x" + root.hex(),
                      "proof_elements": elements, "longest_proof": longest}))


if __name__ == "__main__":
    main()
