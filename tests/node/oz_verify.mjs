// Verify one inclusion proof with @openzeppelin/merkle-tree's own static verifier, as a
// third party would. Run from the repository root:
//   echo '{"root":"0x..","encoding":["uint8","bytes32","bytes32"],"value":[1,"0x..","0x.."],"proof":["0x.."]}' \
//     | node tests/node/oz_verify.mjs
// Prints {"valid": true|false, "leaf": "0x.."}.
import { readFileSync } from "node:fs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const input = JSON.parse(readFileSync(0, "utf8"));
const valid = StandardMerkleTree.verify(input.root, input.encoding, input.value, input.proof);
const leaf = StandardMerkleTree.of([input.value], input.encoding).leafHash(input.value);
process.stdout.write(JSON.stringify({ valid, leaf }) + "\n");
