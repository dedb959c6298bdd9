// Hardhat tests for contracts/EvidenceRegistry.sol. Run with `npx hardhat test` (offline).
"use strict";

const fs = require("fs");
const path = require("path");
const { expect } = require("chai");
const { ethers, network } = require("hardhat");
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");

const LEAF_ENCODING = ["uint8", "bytes32", "bytes32"];
const ZERO = ethers.ZeroHash;
// MERKLE_VECTORS overrides the path, to try another vector file; the suite uses the shared one.
const VECTORS_PATH = process.env.MERKLE_VECTORS || path.join(__dirname, "..", "vectors", "merkle.json");
const GAS_TARGET = 60000n;

/** Deterministic pseudo-random bytes32 from a label. */
const h = (label) => ethers.keccak256(ethers.toUtf8Bytes(label));

/** The leaf hash notary uses: keccak256(bytes.concat(keccak256(abi.encode(values)))). */
function leafOf(values, encoding = LEAF_ENCODING) {
  return ethers.keccak256(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(encoding, values)));
}

/** `count` leaf values (leafType, evidenceSha256, recordDigest) derived from `label`. */
function makeValues(label, count) {
  return Array.from({ length: count }, (_, i) => [i % 3, h(`${label}/evidence/${i}`), h(`${label}/record/${i}`)]);
}

/** Flips bit `bit` (0 = least significant) of a bytes32 hex string. */
function flipBit(hex, bit) {
  return ethers.toBeHex(BigInt(hex) ^ (1n << BigInt(bit)), 32);
}

/** Intrinsic calldata gas (EIP-2028): 4 per zero byte, 16 per non-zero byte. */
function calldataGas(data) {
  let gas = 0n;
  for (const byte of ethers.getBytes(data)) gas += byte === 0 ? 4n : 16n;
  return gas;
}

async function deploy() {
  const [admin, notary, other, notary2] = await ethers.getSigners();
  const factory = await ethers.getContractFactory("EvidenceRegistry");
  const registry = await factory.deploy(admin.address, notary.address);
  await registry.waitForDeployment();
  return { registry, factory, admin, notary, other, notary2 };
}

/** Anchors `root` on top of the current head; returns the receipt. */
async function anchorOnHead(registry, signer, root, leafCount) {
  const [headRoot] = await registry.head();
  const tx = await registry.connect(signer).anchor(root, leafCount, headRoot);
  return tx.wait();
}

describe("EvidenceRegistry", function () {
  let registry, factory, admin, notary, other, notary2, NOTARY_ROLE, DEFAULT_ADMIN_ROLE;

  beforeEach(async function () {
    ({ registry, factory, admin, notary, other, notary2 } = await deploy());
    NOTARY_ROLE = await registry.NOTARY_ROLE();
    DEFAULT_ADMIN_ROLE = await registry.DEFAULT_ADMIN_ROLE();
  });

  describe("deployment and roles", function () {
    it("grants DEFAULT_ADMIN_ROLE and KEY_ADMIN_ROLE to admin and NOTARY_ROLE to notary, nothing else", async function () {
      expect(NOTARY_ROLE).to.equal(ethers.id("NOTARY_ROLE"));
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await registry.hasRole(NOTARY_ROLE, notary.address)).to.equal(true);
      expect(await registry.hasRole(NOTARY_ROLE, admin.address)).to.equal(false);
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, notary.address)).to.equal(false);
      expect(await registry.getRoleAdmin(NOTARY_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await registry.hasRole(ethers.id("KEY_ADMIN_ROLE"), admin.address)).to.equal(true);
      expect(await registry.hasRole(ethers.id("KEY_ADMIN_ROLE"), notary.address)).to.equal(false);
      expect(await registry.getRoleAdmin(ethers.id("KEY_ADMIN_ROLE"))).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await registry.head()).to.deep.equal([ZERO, 0n]);
      expect(await registry.version()).to.equal("2");
    });

    it("rejects a zero admin or a zero notary", async function () {
      await expect(factory.deploy(ethers.ZeroAddress, notary.address))
        .to.be.revertedWithCustomError(factory, "EvidenceRegistryInvalidAdmin")
        .withArgs(ethers.ZeroAddress);
      await expect(factory.deploy(admin.address, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, "EvidenceRegistryInvalidNotary")
        .withArgs(ethers.ZeroAddress);
    });

    it("lets only NOTARY_ROLE anchor (not even the admin)", async function () {
      for (const signer of [other, admin]) {
        await expect(registry.connect(signer).anchor(h("r"), 1, ZERO))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(signer.address, NOTARY_ROLE);
      }
    });

    it("lets the admin grant and revoke NOTARY_ROLE", async function () {
      await expect(registry.connect(admin).grantRole(NOTARY_ROLE, notary2.address))
        .to.emit(registry, "RoleGranted")
        .withArgs(NOTARY_ROLE, notary2.address, admin.address);
      await expect(registry.connect(notary2).anchor(h("a"), 1, ZERO)).to.emit(registry, "BatchAnchored");

      await expect(registry.connect(admin).revokeRole(NOTARY_ROLE, notary2.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(NOTARY_ROLE, notary2.address, admin.address);
      await expect(registry.connect(notary2).anchor(h("b"), 1, h("a")))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(notary2.address, NOTARY_ROLE);
    });

    it("does not let a non-admin grant or revoke NOTARY_ROLE", async function () {
      for (const signer of [other, notary]) {
        await expect(registry.connect(signer).grantRole(NOTARY_ROLE, other.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(signer.address, DEFAULT_ADMIN_ROLE);
        await expect(registry.connect(signer).revokeRole(NOTARY_ROLE, notary.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(signer.address, DEFAULT_ADMIN_ROLE);
      }
    });

    it("supports ERC-165 for IAccessControl", async function () {
      expect(await registry.supportsInterface("0x7965db0b")).to.equal(true); // IAccessControl
      expect(await registry.supportsInterface("0x01ffc9a7")).to.equal(true); // IERC165
      expect(await registry.supportsInterface("0xffffffff")).to.equal(false);
    });
  });

  describe("anchor errors", function () {
    it("EvidenceRegistryZeroRoot", async function () {
      await expect(registry.connect(notary).anchor(ZERO, 1, ZERO)).to.be.revertedWithCustomError(
        registry,
        "EvidenceRegistryZeroRoot",
      );
      // Checked first.
      await expect(registry.connect(notary).anchor(ZERO, 0, h("x"))).to.be.revertedWithCustomError(
        registry,
        "EvidenceRegistryZeroRoot",
      );
    });

    it("EvidenceRegistryZeroLeafCount", async function () {
      await expect(registry.connect(notary).anchor(h("r"), 0, ZERO)).to.be.revertedWithCustomError(
        registry,
        "EvidenceRegistryZeroLeafCount",
      );
      await expect(registry.connect(notary).anchor(h("r"), 0, h("x"))).to.be.revertedWithCustomError(
        registry,
        "EvidenceRegistryZeroLeafCount",
      );
    });

    it("EvidenceRegistryRootAlreadyAnchored(root, batchId), also when the root is not the head", async function () {
      await anchorOnHead(registry, notary, h("r1"), 3);
      // Re-anchoring the head root with the head as expected previous root.
      await expect(registry.connect(notary).anchor(h("r1"), 3, h("r1")))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryRootAlreadyAnchored")
        .withArgs(h("r1"), 1n);
      // A retry after a lost receipt (stale expected head) reports the existing batch, not a stale head.
      await expect(registry.connect(notary).anchor(h("r1"), 3, ZERO))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryRootAlreadyAnchored")
        .withArgs(h("r1"), 1n);
      await anchorOnHead(registry, notary, h("r2"), 3);
      await expect(registry.connect(notary).anchor(h("r1"), 9, h("r2")))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryRootAlreadyAnchored")
        .withArgs(h("r1"), 1n);
    });

    it("EvidenceRegistryStaleHead(expected, actual), before and after the first batch", async function () {
      await expect(registry.connect(notary).anchor(h("r1"), 1, h("bogus")))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryStaleHead")
        .withArgs(h("bogus"), ZERO);
      await anchorOnHead(registry, notary, h("r1"), 1);
      await expect(registry.connect(notary).anchor(h("r2"), 1, ZERO))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryStaleHead")
        .withArgs(ZERO, h("r1"));
      await anchorOnHead(registry, notary, h("r2"), 1);
      await expect(registry.connect(notary).anchor(h("r3"), 1, h("r1")))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryStaleHead")
        .withArgs(h("r1"), h("r2"));
    });

    it("lets only one of two workers extend the same head, even within one block", async function () {
      await registry.connect(admin).grantRole(NOTARY_ROLE, notary2.address);
      await anchorOnHead(registry, notary, h("base"), 1);
      const [headRoot] = await registry.head();

      await network.provider.send("evm_setAutomine", [false]);
      try {
        const gasLimit = 200000; // no estimateGas: it would see the other pending transaction
        const tx1 = await registry.connect(notary).anchor(h("w1"), 1, headRoot, { gasLimit });
        const tx2 = await registry.connect(notary2).anchor(h("w2"), 1, headRoot, { gasLimit });
        await network.provider.send("evm_mine", []);
        const r1 = await ethers.provider.getTransactionReceipt(tx1.hash);
        const r2 = await ethers.provider.getTransactionReceipt(tx2.hash);
        expect(r1.blockNumber).to.equal(r2.blockNumber);
        expect([r1.status, r2.status].sort()).to.deep.equal([0, 1]);
        const winner = r1.status === 1 ? h("w1") : h("w2");
        const loser = r1.status === 1 ? h("w2") : h("w1");
        expect(await registry.head()).to.deep.equal([winner, 2n]);
        expect(await registry.isAnchored(loser)).to.equal(false);
        // What the losing worker sees when it retries from the old head.
        await expect(registry.connect(notary2).anchor.staticCall(loser, 1, headRoot))
          .to.be.revertedWithCustomError(registry, "EvidenceRegistryStaleHead")
          .withArgs(headRoot, winner);
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
    });
  });

  describe("anchoring, events and views", function () {
    it("chains previousRoot across 3 batches and records batch id, block, timestamp and leaf count", async function () {
      const roots = [h("b1"), h("b2"), h("b3")];
      const counts = [1, 1000, 2 ** 32 - 1];
      let previous = ZERO;
      for (let i = 0; i < 3; i++) {
        const id = BigInt(i + 1);
        expect(await registry.connect(notary).anchor.staticCall(roots[i], counts[i], previous)).to.equal(id);
        const tx = registry.connect(notary).anchor(roots[i], counts[i], previous);
        await expect(tx).to.emit(registry, "BatchAnchored").withArgs(id, roots[i], counts[i], previous);
        const receipt = await (await tx).wait();
        const block = await ethers.provider.getBlock(receipt.blockNumber);

        // Exactly one log, with batchId and root as topics.
        expect(receipt.logs).to.have.length(1);
        const log = receipt.logs[0];
        expect(log.topics).to.deep.equal([
          registry.interface.getEvent("BatchAnchored").topicHash,
          ethers.toBeHex(id, 32),
          roots[i],
        ]);
        expect(log.data).to.equal(
          ethers.AbiCoder.defaultAbiCoder().encode(["uint32", "bytes32"], [counts[i], previous]),
        );

        expect(await registry.batchOf(roots[i])).to.deep.equal([
          id,
          BigInt(receipt.blockNumber),
          BigInt(block.timestamp),
          BigInt(counts[i]),
        ]);
        expect(await registry.isAnchored(roots[i])).to.equal(true);
        expect(await registry.head()).to.deep.equal([roots[i], id]);
        previous = roots[i];
      }
      // Earlier batches are unchanged.
      expect((await registry.batchOf(roots[0]))[0]).to.equal(1n);
      expect((await registry.batchOf(roots[1]))[0]).to.equal(2n);

      // The chain can be walked back from the head through the event log alone.
      const events = await registry.queryFilter(registry.filters.BatchAnchored());
      const byRoot = new Map(events.map((e) => [e.args.root, e.args]));
      const walked = [];
      for (let r = (await registry.head())[0]; r !== ZERO; r = byRoot.get(r).previousRoot) walked.push(r);
      expect(walked).to.deep.equal([...roots].reverse());
    });

    it("reports zeros for an unknown root", async function () {
      expect(await registry.batchOf(h("unknown"))).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await registry.batchOf(ZERO)).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await registry.isAnchored(h("unknown"))).to.equal(false);
      expect(await registry.isAnchored(ZERO)).to.equal(false);
      await anchorOnHead(registry, notary, h("r1"), 5);
      expect(await registry.batchOf(h("unknown"))).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await registry.isAnchored(ZERO)).to.equal(false);
    });

    it("packs a batch in one slot: batchId | blockNumber << 64 | timestamp << 128 | leafCount << 192", async function () {
      const receipt = await anchorOnHead(registry, notary, h("packed"), 123456);
      const block = await ethers.provider.getBlock(receipt.blockNumber);
      // Layout: slot 0 = AccessControl._roles, slot 1 = _batches, slot 2 = _headRoot.
      const key = ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [h("packed"), 1]);
      const slot = BigInt(ethers.keccak256(key));
      const addr = await registry.getAddress();
      const word = BigInt(await ethers.provider.getStorage(addr, slot));
      const mask64 = (1n << 64n) - 1n;
      expect(word & mask64).to.equal(1n);
      expect((word >> 64n) & mask64).to.equal(BigInt(receipt.blockNumber));
      expect((word >> 128n) & mask64).to.equal(BigInt(block.timestamp));
      expect(word >> 192n).to.equal(123456n);
      expect(BigInt(await ethers.provider.getStorage(addr, slot + 1n))).to.equal(0n);
      expect(await ethers.provider.getStorage(addr, 2)).to.equal(h("packed"));
    });
  });

  describe("statement-signing keys", function () {
    let KEY_ADMIN_ROLE;
    const kid = h("key/1");

    beforeEach(async function () {
      KEY_ADMIN_ROLE = await registry.KEY_ADMIN_ROLE();
    });

    it("registers a key with its block time and number, in one slot read by one call", async function () {
      expect(await registry.signingKeyOf(kid)).to.deep.equal([0n, 0n, 0n, 0n]);
      const tx = await registry.connect(admin).registerSigningKey(kid);
      const receipt = await tx.wait();
      const block = await ethers.provider.getBlock(receipt.blockNumber);
      await expect(tx).to.emit(registry, "SigningKeyRegistered").withArgs(kid, block.timestamp);
      expect(receipt.logs.length).to.equal(1);
      expect(receipt.logs[0].topics[0]).to.equal(ethers.id("SigningKeyRegistered(bytes32,uint64)"));
      expect(receipt.logs[0].topics[1]).to.equal(kid);
      expect(await registry.signingKeyOf(kid)).to.deep.equal([BigInt(block.timestamp), BigInt(receipt.blockNumber), 0n, 0n]);
    });

    it("retires a key for good: it cannot be retired twice nor registered again", async function () {
      const reg = await (await registry.connect(admin).registerSigningKey(kid)).wait();
      const regBlock = await ethers.provider.getBlock(reg.blockNumber);
      await network.provider.send("evm_increaseTime", [3600]);
      const tx = await registry.connect(admin).retireSigningKey(kid);
      const receipt = await tx.wait();
      const block = await ethers.provider.getBlock(receipt.blockNumber);
      await expect(tx).to.emit(registry, "SigningKeyRetired").withArgs(kid, block.timestamp);
      expect(block.timestamp).to.be.greaterThan(regBlock.timestamp + 3599);
      expect(await registry.signingKeyOf(kid)).to.deep.equal([
        BigInt(regBlock.timestamp), BigInt(reg.blockNumber), BigInt(block.timestamp), BigInt(receipt.blockNumber),
      ]);
      await expect(registry.connect(admin).retireSigningKey(kid))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistrySigningKeyRetired")
        .withArgs(kid, receipt.blockNumber);
      await expect(registry.connect(admin).registerSigningKey(kid))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistrySigningKeyRetired")
        .withArgs(kid, receipt.blockNumber);
    });

    it("refuses a second registration, the zero thumbprint and retiring an unknown key", async function () {
      const reg = await (await registry.connect(admin).registerSigningKey(kid)).wait();
      await expect(registry.connect(admin).registerSigningKey(kid))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistrySigningKeyAlreadyRegistered")
        .withArgs(kid, reg.blockNumber);
      await expect(registry.connect(admin).registerSigningKey(ZERO))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryZeroThumbprint");
      await expect(registry.connect(admin).retireSigningKey(ZERO))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistryZeroThumbprint");
      await expect(registry.connect(admin).retireSigningKey(h("key/unknown")))
        .to.be.revertedWithCustomError(registry, "EvidenceRegistrySigningKeyNotRegistered")
        .withArgs(h("key/unknown"));
    });

    it("lets only KEY_ADMIN_ROLE write keys (not the notary), and the admin can delegate it", async function () {
      for (const signer of [other, notary]) {
        await expect(registry.connect(signer).registerSigningKey(kid))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(signer.address, KEY_ADMIN_ROLE);
      }
      await registry.connect(admin).registerSigningKey(kid);
      await expect(registry.connect(notary).retireSigningKey(kid))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(notary.address, KEY_ADMIN_ROLE);
      await registry.connect(admin).grantRole(KEY_ADMIN_ROLE, notary.address);
      await expect(registry.connect(notary).registerSigningKey(h("key/2"))).to.emit(registry, "SigningKeyRegistered");
      // Holding KEY_ADMIN_ROLE does not make one an admin: it cannot appoint notaries.
      await expect(registry.connect(notary).grantRole(NOTARY_ROLE, other.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(notary.address, DEFAULT_ADMIN_ROLE);
    });

    it("keeps keys apart from batches: registering changes no anchor state", async function () {
      await anchorOnHead(registry, notary, h("k/a"), 2);
      await registry.connect(admin).registerSigningKey(h("k/a"));
      expect(await registry.head()).to.deep.equal([h("k/a"), 1n]);
      expect((await registry.batchOf(h("k/a")))[0]).to.equal(1n);
      await anchorOnHead(registry, notary, h("k/b"), 1);
      expect(await registry.head()).to.deep.equal([h("k/b"), 2n]);
    });
  });

  describe("gas", function () {
    it(`costs under ${GAS_TARGET} gas per anchor after the first, whatever the leaf count`, async function () {
      const first = await anchorOnHead(registry, notary, h("g0"), 1);
      const firstTx = await ethers.provider.getTransaction(first.hash);
      const rows = [["first anchor", 1, first.gasUsed, first.gasUsed - 21000n - calldataGas(firstTx.data)]];
      const executionGas = [];
      for (const leafCount of [1, 1000, 100000]) {
        const receipt = await anchorOnHead(registry, notary, h(`g/${leafCount}`), leafCount);
        const tx = await ethers.provider.getTransaction(receipt.hash);
        // gasUsed = 21000 + calldata + execution (the EIP-7623 floor is far below this).
        const execution = receipt.gasUsed - 21000n - calldataGas(tx.data);
        executionGas.push(execution);
        rows.push([`subsequent anchor`, leafCount, receipt.gasUsed, execution]);
        expect(receipt.gasUsed).to.be.lessThan(GAS_TARGET);
      }
      console.log("      anchor gas (hardfork prague):");
      for (const [what, leafCount, total, execution] of rows) {
        console.log(`        ${what.padEnd(18)} leafCount=${String(leafCount).padEnd(6)} gasUsed=${total} (execution ${execution})`);
      }
      // Only the calldata bytes of leafCount differ (16 gas per non-zero byte instead of 4); the
      // execution cost is identical.
      expect(executionGas[1]).to.equal(executionGas[0]);
      expect(executionGas[2]).to.equal(executionGas[0]);
    });
  });

  describe("verifyInclusion with StandardMerkleTree proofs", function () {
    const SIZES = [1, 2, 3, 4, 5, 7, 8, 13, 33];

    it("accepts every leaf's proof and rejects wrong leaves, flipped bits, truncated or extended proofs", async function () {
      this.timeout(300000);
      for (const size of SIZES) {
        const values = makeValues(`tree${size}`, size);
        const tree = StandardMerkleTree.of(values, LEAF_ENCODING);
        const root = tree.root;
        await anchorOnHead(registry, notary, root, size);
        expect(await registry.isAnchored(root)).to.equal(true);

        for (const [i, v] of tree.entries()) {
          const leaf = leafOf(v);
          expect(tree.leafHash(v)).to.equal(leaf);
          const proof = tree.getProof(i);
          const where = `size ${size}, leaf ${i}`;
          expect(await registry.verifyInclusion(root, proof, leaf), where).to.equal(true);

          // Wrong leaf: another record's values, and a single flipped bit.
          const otherValues = [v[0], v[1], h(`not/${size}/${i}`)];
          expect(await registry.verifyInclusion(root, proof, leafOf(otherValues)), `${where} other values`).to.equal(false);
          expect(await registry.verifyInclusion(root, proof, flipBit(leaf, (i * 7) % 256)), `${where} leaf bit`).to.equal(false);

          for (let j = 0; j < proof.length; j++) {
            const flipped = [...proof];
            flipped[j] = flipBit(proof[j], (i + j * 31) % 256);
            expect(await registry.verifyInclusion(root, flipped, leaf), `${where} proof[${j}] bit`).to.equal(false);
          }
          if (proof.length > 0) {
            expect(await registry.verifyInclusion(root, proof.slice(0, -1), leaf), `${where} truncated`).to.equal(false);
            expect(await registry.verifyInclusion(root, proof.slice(1), leaf), `${where} first dropped`).to.equal(false);
          }
          expect(await registry.verifyInclusion(root, [...proof, h("extra")], leaf), `${where} extended`).to.equal(false);
        }
      }
    });

    it("rejects valid Merkle proofs against a root that is not anchored", async function () {
      const anchored = StandardMerkleTree.of(makeValues("anchored", 4), LEAF_ENCODING);
      await anchorOnHead(registry, notary, anchored.root, 4);
      const tree = StandardMerkleTree.of(makeValues("unanchored", 6), LEAF_ENCODING);
      for (const [i, v] of tree.entries()) {
        const proof = tree.getProof(i);
        expect(StandardMerkleTree.verify(tree.root, LEAF_ENCODING, v, proof)).to.equal(true);
        expect(await registry.verifyInclusion(tree.root, proof, leafOf(v))).to.equal(false);
        // Nor against another, anchored root.
        expect(await registry.verifyInclusion(anchored.root, proof, leafOf(v))).to.equal(false);
      }
      // The zero root is never anchored.
      expect(await registry.verifyInclusion(ZERO, [], ZERO)).to.equal(false);
    });

    it("cannot tell a leaf from an inner node, which is why verifiers must hash the values themselves", async function () {
      const tree = StandardMerkleTree.of(makeValues("inner", 4), LEAF_ENCODING);
      await anchorOnHead(registry, notary, tree.root, 4);
      // The root itself with an empty proof, and an inner node with the upper half of a proof.
      expect(await registry.verifyInclusion(tree.root, [], tree.root)).to.equal(true);
      const dump = tree.dump();
      const proof = tree.getProof(0);
      // tree[1] and tree[2] are the root's children; the sibling at the top of any 4-leaf proof is one of them.
      const top = proof[proof.length - 1];
      const innerNode = dump.tree[1] === top ? dump.tree[2] : dump.tree[1];
      expect(await registry.verifyInclusion(tree.root, [top], innerNode)).to.equal(true);
    });
  });

  describe("tests/vectors/merkle.json", function () {
    it("agrees with every vector: verifyInclusion(root, proof, leaf) == valid", async function () {
      this.timeout(300000);
      if (!fs.existsSync(VECTORS_PATH)) {
        throw new Error(`${VECTORS_PATH} is missing: it holds the shared Merkle test vectors and must exist`);
      }
      const vectors = parseVectors(fs.readFileSync(VECTORS_PATH, "utf8"));

      const roots = [...new Set(vectors.cases.map((c) => c.root.toLowerCase()))].filter((r) => r !== ZERO);
      for (const root of roots) await anchorOnHead(registry, notary, root, 1);

      for (const c of vectors.cases) {
        if (c.valid) {
          expect(leafOf(c.values, vectors.encoding).toLowerCase(), `${c.name}: leaf is not the hash of its values`).to.equal(
            c.leaf.toLowerCase(),
          );
        }
        expect(await registry.verifyInclusion(c.root, c.proof, c.leaf), c.name).to.equal(c.valid);
      }
      console.log(`      ${vectors.cases.length} vector cases, ${roots.length} distinct roots`);
    });
  });
});

/** Parses and checks the shape of tests/vectors/merkle.json; throws a precise error if malformed. */
function parseVectors(text) {
  const fail = (msg) => {
    throw new Error(`${VECTORS_PATH} is malformed: ${msg}`);
  };
  let data;
  try {
    data = JSON.parse(text);
  } catch (e) {
    fail(`not JSON (${e.message})`);
  }
  const isBytes32 = (x) => typeof x === "string" && /^0x[0-9a-fA-F]{64}$/.test(x);
  if (data === null || typeof data !== "object") fail("top level is not an object");
  if (!Array.isArray(data.encoding) || data.encoding.length === 0 || !data.encoding.every((t) => typeof t === "string")) {
    fail('"encoding" must be a non-empty array of ABI type strings');
  }
  for (const t of data.encoding) {
    try {
      ethers.ParamType.from(t);
    } catch (e) {
      fail(`"encoding" has an invalid ABI type ${JSON.stringify(t)}`);
    }
  }
  if (!Array.isArray(data.cases) || data.cases.length === 0) fail('"cases" must be a non-empty array');
  data.cases.forEach((c, i) => {
    const where = `cases[${i}]${c && typeof c.name === "string" ? ` (${c.name})` : ""}`;
    if (c === null || typeof c !== "object") fail(`${where} is not an object`);
    if (typeof c.name !== "string" || c.name === "") fail(`${where}.name must be a non-empty string`);
    if (!Array.isArray(c.values) || c.values.length !== data.encoding.length) {
      fail(`${where}.values must be an array of ${data.encoding.length} values`);
    }
    if (!isBytes32(c.leaf)) fail(`${where}.leaf must be 0x-prefixed 32-byte hex`);
    if (!isBytes32(c.root)) fail(`${where}.root must be 0x-prefixed 32-byte hex`);
    if (!Array.isArray(c.proof) || !c.proof.every(isBytes32)) fail(`${where}.proof must be an array of 0x-prefixed 32-byte hex`);
    if (typeof c.valid !== "boolean") fail(`${where}.valid must be true or false`);
  });
  return data;
}
