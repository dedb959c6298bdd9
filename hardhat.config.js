// Hardhat 2 configuration for the EvidenceRegistry contract and its tests.
//
// Offline by design: the compiler is the solcjs (wasm) build pinned in package.json
// (node_modules/solc/soljson.js); Hardhat never downloads a compiler or the compiler list.
//
// The compiler settings below must stay identical to SETTINGS in notary/chain/compile.py (the Python
// compile path that writes the committed artifact notary/chain/artifacts/EvidenceRegistry.json);
// tests/contracts/Artifact.test.js fails if that artifact ever differs from what Hardhat compiles here.

require("@nomicfoundation/hardhat-ethers");
require("@nomicfoundation/hardhat-chai-matchers");

const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = "0.8.30";

// Settings that affect the bytecode (and its metadata hash). Keep identical to SETTINGS in
// notary/chain/compile.py.
const SOLC_SETTINGS = {
  evmVersion: "prague",
  optimizer: { enabled: true, runs: 200 },
};

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }) => {
  if (solcVersion !== SOLC_VERSION) {
    throw new Error(`only solc ${SOLC_VERSION} (node_modules/solc) is available offline, not ${solcVersion}`);
  }
  const solc = require("solc");
  const longVersion = solc.version(); // e.g. "0.8.30+commit.73712a01.Emscripten.clang"
  if (!longVersion.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`node_modules/solc is ${longVersion}, expected ${SOLC_VERSION}`);
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion,
  };
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    // A copy: Hardhat adds outputSelection to the settings object it is given.
    compilers: [{ version: SOLC_VERSION, settings: structuredClone(SOLC_SETTINGS) }],
  },
  defaultNetwork: "hardhat",
  networks: {
    hardhat: {
      // Same fork as the compiler's evmVersion, so gas figures match what the contract was built for.
      hardfork: "prague",
    },
  },
  paths: {
    sources: "./contracts",
    tests: "./tests/contracts",
    cache: "./cache",
    artifacts: "./artifacts",
  },
  mocha: {
    timeout: 120000,
  },
};
