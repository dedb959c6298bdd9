// The committed artifact notary/chain/artifacts/EvidenceRegistry.json (written by
// `python -m notary.chain.compile`, read by the Python runtime) must be exactly what Hardhat compiles
// from contracts/EvidenceRegistry.sol with the settings in hardhat.config.js.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { expect } = require("chai");
const hre = require("hardhat");

const ROOT = path.join(__dirname, "..", "..");
const ARTIFACT = path.join(ROOT, "notary", "chain", "artifacts", "EvidenceRegistry.json");
const SOURCE = path.join(ROOT, "contracts", "EvidenceRegistry.sol");
const FIX = "regenerate it with: .venv/bin/python -m notary.chain.compile";

describe("committed artifact notary/chain/artifacts/EvidenceRegistry.json", function () {
  let committed, hardhat, buildInfo;

  before(async function () {
    expect(fs.existsSync(ARTIFACT), `${ARTIFACT} is missing; ${FIX}`).to.equal(true);
    committed = JSON.parse(fs.readFileSync(ARTIFACT, "utf8"));
    hardhat = await hre.artifacts.readArtifact("EvidenceRegistry");
    buildInfo = await hre.artifacts.getBuildInfo("contracts/EvidenceRegistry.sol:EvidenceRegistry");
  });

  it("is for the current source", function () {
    const sha = crypto.createHash("sha256").update(fs.readFileSync(SOURCE)).digest("hex");
    expect(committed.sourceSha256, `source changed since the artifact was written; ${FIX}`).to.equal(sha);
    expect(committed.contractName).to.equal("EvidenceRegistry");
  });

  it("has the same bytecode (metadata hash included) and ABI as Hardhat's build", function () {
    expect(committed.deployedBytecode, `deployedBytecode differs; ${FIX}`).to.equal(hardhat.deployedBytecode);
    expect(committed.bytecode, `bytecode differs; ${FIX}`).to.equal(hardhat.bytecode);
    expect(committed.abi, `ABI differs; ${FIX}`).to.deep.equal(hardhat.abi);
  });

  it("records the compiler and the settings Hardhat used", function () {
    const { outputSelection, ...settings } = buildInfo.input.settings;
    expect(committed.compiler.settings).to.deep.equal(settings);
    expect(buildInfo.solcLongVersion.startsWith(`${committed.compiler.version}.`)).to.equal(true);
    const metadata = JSON.parse(buildInfo.output.contracts["contracts/EvidenceRegistry.sol"].EvidenceRegistry.metadata);
    expect(metadata.compiler.version).to.equal(committed.compiler.version);
    expect(metadata.settings.remappings).to.deep.equal([]);
  });

  it("is written canonically (sorted keys, indent 2, trailing newline)", function () {
    const sortKeys = (v) =>
      Array.isArray(v)
        ? v.map(sortKeys)
        : v !== null && typeof v === "object"
          ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
          : v;
    expect(fs.readFileSync(ARTIFACT, "utf8")).to.equal(`${JSON.stringify(sortKeys(committed), null, 2)}\n`);
  });
});
