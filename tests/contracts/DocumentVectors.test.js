// The contract against the document vectors of tests/vectors/ (made by
// tests/vectors/make_document_vectors.py): the Merkle root of the vector bundle, the leaves of its
// two statements and the leaves of every custody event are what EvidenceRegistry computes and
// accepts. Run with `npx hardhat test` (offline).
"use strict";

const fs = require("fs");
const path = require("path");
const { expect } = require("chai");
const { ethers } = require("hardhat");

const VECTORS = path.join(__dirname, "..", "vectors");
const ENCODING = ["uint8", "bytes32", "bytes32"];

const read = (name) => JSON.parse(fs.readFileSync(path.join(VECTORS, name), "utf8"));

/** The leaf hash notary uses: keccak256(bytes.concat(keccak256(abi.encode(values)))). */
function leafOf(values) {
  return ethers.keccak256(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(ENCODING, values)));
}

async function deploy() {
  const [admin, notary] = await ethers.getSigners();
  const registry = await (await ethers.getContractFactory("EvidenceRegistry")).deploy(admin.address, notary.address);
  await registry.waitForDeployment();
  return { registry, notary };
}

async function anchor(registry, notary, root, leafCount) {
  const [headRoot] = await registry.head();
  return (await registry.connect(notary).anchor(root, leafCount, headRoot)).wait();
}

describe("tests/vectors (document vectors)", function () {
  it("bundle/vectors.json: the statements' leaves and proofs verify against the anchored root", async function () {
    const { registry, notary } = await deploy();
    const { merkle } = read(path.join("bundle", "vectors.json"));
    const receipt = await anchor(registry, notary, merkle.root, merkle.leaves.length);
    // The anchor.json of the bundle carries this event: BatchAnchored(batchId, root, 2, 0).
    const event = receipt.logs.map((l) => registry.interface.parseLog(l)).find((e) => e && e.name === "BatchAnchored");
    expect(event.args.root).to.equal(merkle.root);
    expect(event.args.leafCount).to.equal(BigInt(merkle.leaves.length));
    merkle.leaves.forEach((leaf, i) => expect(leafOf(merkle.leaf_values[i]), `leaf ${i}`).to.equal(leaf));
    for (const [i, leaf] of merkle.leaves.entries()) {
      expect(await registry.verifyInclusion(merkle.root, merkle.proofs[i], leaf), `item ${i}`).to.equal(true);
      expect(await registry.verifyInclusion(merkle.root, merkle.proofs[i], merkle.leaves[1 - i])).to.equal(false);
    }
  });

  it("custody.json: each event's leaf is (2, file SHA-256, event SHA-256), verified once anchored", async function () {
    const { registry, notary } = await deploy();
    const custody = read("custody.json");
    const leaves = [];
    for (const [evidenceId, events] of Object.entries(custody.events)) {
      const file = "0x" + custody.statements[evidenceId].file_sha256;
      for (const e of events) {
        expect(leafOf([2, file, "0x" + e.sha256]), e.name).to.equal(e.leaf);
        expect(ethers.sha256(ethers.toUtf8Bytes(e.canonical_text)), e.name).to.equal("0x" + e.sha256);
        leaves.push(e.leaf);
      }
    }
    // One leaf is its own root: anchor each and verify it with an empty proof.
    for (const leaf of leaves.slice(0, 3)) {
      await anchor(registry, notary, leaf, 1);
      expect(await registry.verifyInclusion(leaf, [], leaf)).to.equal(true);
    }
  });
});
