// Build OpenZeppelin StandardMerkleTrees and print roots, leaf hashes and proofs, so the
// Python tests can compare notary.core.merkle with the reference implementation.
//
// Run from the repository root (node resolves ./node_modules):
//   node tests/node/oz_tree.mjs < input.json
//
// Input (stdin), either one tree:
//   {"encoding": ["uint8", "bytes32", "bytes32"], "values": [[1, "0x..", "0x.."], ...]}
// or several:
//   {"trees": [{"encoding": [...], "values": [...]}, ...]}
// "encoding" defaults to ["uint8", "bytes32", "bytes32"] (notary's leaf encoding).
//
// Output (stdout), per tree, in input order of the values:
//   {"root": "0x..", "leafHashes": ["0x..", ...], "proofs": [["0x..", ...], ...],
//    "lookupProofs": [...], "treeIndices": [...]}
// "proofs[i]" is getProof(i) (by value index); "lookupProofs[i]" is getProof(value), which
// for duplicated values proves the copy OpenZeppelin's hash lookup finds.
import { readFileSync } from "node:fs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const DEFAULT_ENCODING = ["uint8", "bytes32", "bytes32"];

function build({ encoding = DEFAULT_ENCODING, values }) {
  const tree = StandardMerkleTree.of(values, encoding);
  const dump = tree.dump();
  return {
    root: tree.root,
    leafHashes: dump.values.map(({ treeIndex }) => dump.tree[treeIndex]),
    proofs: values.map((_, i) => tree.getProof(i)),
    lookupProofs: values.map((v) => tree.getProof(v)),
    treeIndices: dump.values.map(({ treeIndex }) => treeIndex),
  };
}

const input = JSON.parse(readFileSync(0, "utf8"));
const output = Array.isArray(input.trees) ? { trees: input.trees.map(build) } : build(input);
process.stdout.write(JSON.stringify(output) + "\n");
