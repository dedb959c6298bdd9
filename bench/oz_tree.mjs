// Benchmark reference: OpenZeppelin's StandardMerkleTree over the same leaves as notary.
//   node bench/oz_tree.mjs VALUES.json
// VALUES.json: [[1, "0x<64 hex>", "0x<64 hex>"], ...] (notary's leaf encoding).
// Prints {"of_ms", "proofs_ms", "root", "proof_elements", "peak_rss_bytes"}: the time to build the tree
// (StandardMerkleTree.of, which hashes every leaf) and to produce getProof(i) for every i.
import { readFileSync } from "node:fs";

// Peak RSS of this process (VmHWM: per address space, starts at exec).
function peakRss() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}
import { performance } from "node:perf_hooks";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const values = JSON.parse(readFileSync(process.argv[2], "utf8"));
const t0 = performance.now();
const tree = StandardMerkleTree.of(values, ["uint8", "bytes32", "bytes32"]);
const t1 = performance.now();
let elements = 0;
for (let i = 0; i < values.length; i++) elements += tree.getProof(i).length;
const t2 = performance.now();
process.stdout.write(JSON.stringify({ of_ms: t1 - t0, proofs_ms: t2 - t1, root: tree.root,
                                      proof_elements: elements, peak_rss_bytes: peakRss() }) + "\n");
