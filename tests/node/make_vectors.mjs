// Generate tests/vectors/merkle.json with OpenZeppelin's StandardMerkleTree (the reference
// implementation), so notary's Python code and the EvidenceRegistry contract tests are both
// checked against it.
//
// Run from the repository root:  node tests/node/make_vectors.mjs > tests/vectors/merkle.json
//
// Values are derived deterministically (SHA-256 of labels), so re-running gives the same
// file byte for byte. Each case: {"name", "description", "values", "leaf", "proof", "root",
// "valid"}; "leaf" is always the standard leaf hash of "values", so a verifier may start
// from either. Tampered cases are named for the tampering.
import { createHash } from "node:crypto";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const ENCODING = ["uint8", "bytes32", "bytes32"];
const STATEMENT = 1;
const CUSTODY_EVENT = 2;

const sha256 = (label) => "0x" + createHash("sha256").update(label, "utf8").digest("hex");
const leafOf = (values) => StandardMerkleTree.of([values], ENCODING).root;

// Tree with `n` leaves: leaf i is a statement about file i, except every fourth one, which
// is a custody event about the same file as the leaf before it (as real batches mix them).
function valuesFor(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    if (i % 4 === 3) {
      out.push([CUSTODY_EVENT, sha256(`tree-${n}/file-${i - 1}`), sha256(`tree-${n}/custody-${i}`)]);
    } else {
      out.push([STATEMENT, sha256(`tree-${n}/file-${i}`), sha256(`tree-${n}/statement-${i}`)]);
    }
  }
  return out;
}

const cases = [];
function add(name, description, values, proof, root, valid) {
  const leaf = leafOf(values);
  const verified = StandardMerkleTree.verify(root, ENCODING, values, proof);
  if (verified !== valid) {
    throw new Error(`case ${name}: OpenZeppelin says ${verified}, expected ${valid}`);
  }
  cases.push({ name, description, values, leaf, proof, root, valid });
}

const trees = {};
for (const n of [1, 2, 3, 5, 8]) {
  const values = valuesFor(n);
  const tree = StandardMerkleTree.of(values, ENCODING);
  trees[n] = { values, tree };
  values.forEach((v, i) => {
    add(`tree-${n}/leaf-${i}`, `Leaf ${i} of a ${n}-leaf tree, with its proof.`, v, tree.getProof(i), tree.root, true);
  });
}

// Tampered cases, all against leaf 2 of the 5-leaf tree (proof of length 3) unless noted.
const { values: v5, tree: t5 } = trees[5];
const base = v5[2];
const proof = t5.getProof(2);
const root = t5.root;
const flipBit = (hex, byteIndex, bit) => {
  const bytes = Buffer.from(hex.slice(2), "hex");
  bytes[byteIndex] ^= 1 << bit;
  return "0x" + bytes.toString("hex");
};

add("wrong-leaf", "The record digest (third value) is changed; proof and root are the original ones.",
  [base[0], base[1], sha256("another statement")], proof, root, false);
add("wrong-leaf-type", "The leaf type is 2 (custody event) instead of 1 (statement).",
  [CUSTODY_EVENT, base[1], base[2]], proof, root, false);
add("wrong-subject", "The file SHA-256 (second value) is changed.",
  [base[0], sha256("another file"), base[2]], proof, root, false);
add("swapped-subject-and-record", "The file SHA-256 and the record digest are swapped.",
  [base[0], base[2], base[1]], proof, root, false);
add("flipped-proof[0]-bit-@3", "Bit 3 (value 0x08) of the first byte of proof[0] is flipped.",
  base, [flipBit(proof[0], 0, 3), ...proof.slice(1)], root, false);
add("flipped-proof[2]-bit-@0-of-byte-31", "The lowest bit of the last byte of proof[2] is flipped.",
  base, [...proof.slice(0, 2), flipBit(proof[2], 31, 0)], root, false);
add("truncated-proof", "The last proof element is removed.", base, proof.slice(0, -1), root, false);
add("empty-proof", "The proof is empty although the tree has 5 leaves.", base, [], root, false);
add("extra-proof-element", "An extra element (SHA-256 of 'extra') is appended to the proof.",
  base, [...proof, sha256("extra")], root, false);
add("duplicated-proof-element", "proof[0] is repeated at the end of the proof.",
  base, [...proof, proof[0]], root, false);
add("swapped-proof-order", "proof[0] and proof[1] are swapped.",
  base, [proof[1], proof[0], ...proof.slice(2)], root, false);
add("proof-of-other-leaf", "Leaf 2 with the proof of leaf 0 of the same tree.",
  base, t5.getProof(0), root, false);
add("wrong-root", "The root of the 8-leaf tree instead of the 5-leaf tree.", base, proof, trees[8].tree.root, false);
add("flipped-root-bit-@7", "Bit 7 (value 0x80) of the first byte of the root is flipped.",
  base, proof, flipBit(root, 0, 7), false);
add("single-leaf-tree/wrong-root", "A one-leaf tree's leaf checked against another tree's root.",
  trees[1].values[0], [], trees[2].tree.root, false);
add("single-leaf-tree/extra-proof-element", "A one-leaf tree's leaf with a non-empty proof.",
  trees[1].values[0], [sha256("extra")], trees[1].tree.root, false);

const out = {
  encoding: ENCODING,
  generator: "tests/node/make_vectors.mjs with @openzeppelin/merkle-tree 1.0.8 (StandardMerkleTree)",
  cases,
};
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
